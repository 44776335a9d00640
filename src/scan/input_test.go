package scan

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"regasmdetect/src/internal/shared"
	"regasmdetect/src/sample"
)

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func creations(t *testing.T, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`(\d+) process creations`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary in %q", stderr)
	}
	return m[1]
}

// TestEVTXWithoutTemporaryFile: a gzipped EVTX file and an EVTX on standard input are read as streams, chunk by
// chunk: with $TMPDIR pointing nowhere they are still read whole.
func TestEVTXWithoutTemporaryFile(t *testing.T) {
	raw, err := os.ReadFile(shared.Path(t, "data/sysmon/evtx-attack-samples/panache_sysmon_vs_EDRTestingScript.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gz := writeSample(t, dir, "log.evtx.gz", gzipBytes(t, raw))
	t.Setenv("TMPDIR", filepath.Join(dir, "missing"))
	_, errs, code := runScan(t, "--format", "csv", gz)
	if code != ExitClean || creations(t, errs) != "96" {
		t.Errorf("gzipped EVTX: exit %d: %s", code, errs)
	}
	var out, errb bytes.Buffer
	code = Main([]string{"--format", "csv", "-"}, bytes.NewReader(raw), &out, &errb)
	if code != ExitClean || creations(t, errb.String()) != "96" {
		t.Errorf("EVTX on standard input: exit %d: %s", code, errb.String())
	}
}

// TestDecompressedCap: a gzip input that decompresses beyond --max-decompressed is an error naming the file and
// the cap, text and EVTX alike; under the cap it is read whole.
func TestDecompressedCap(t *testing.T) {
	dir := t.TempDir()
	var text bytes.Buffer
	for text.Len() < 3<<20 {
		text.Write(sample.Sysmon)
	}
	xmlGz := writeSample(t, dir, "big.xml.log.gz", gzipBytes(t, text.Bytes()))
	// An EVTX file header followed by 8 MiB of zeros: a small gzip, a large output.
	raw, err := os.ReadFile(shared.Path(t, "data/sysmon/omerbenamram-evtx/sysmon.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	bomb := append(append([]byte(nil), raw[:4096]...), make([]byte, 8<<20)...)
	evtxGz := writeSample(t, dir, "bomb.evtx.gz", gzipBytes(t, bomb))
	for _, p := range []string{xmlGz, evtxGz} {
		_, errs, code := runScan(t, "--max-decompressed", "1MiB", p)
		if code != ExitErrors || !strings.Contains(errs, filepath.Base(p)) || !strings.Contains(errs, "decompressed input larger than the cap (1048576 bytes)") {
			t.Errorf("%s over the cap: exit %d: %s", filepath.Base(p), code, errs)
		}
		if _, errs, code := runScan(t, "--max-decompressed", "16MiB", p); code != ExitClean {
			t.Errorf("%s under the cap: exit %d: %s", filepath.Base(p), code, errs)
		}
	}
	for _, bad := range []string{"0", "-1", "1XB", "9999999999TiB"} {
		if _, errs, code := runScan(t, "--max-decompressed", bad, xmlGz); code != ExitErrors || !strings.Contains(errs, "--max-decompressed") {
			t.Errorf("--max-decompressed %s: exit %d: %s", bad, code, errs)
		}
	}
}

// TestFolderLinksAndSpecialFiles: inside a scanned folder, a symbolic link to a file is followed; a link to a
// folder (a loop risk), a broken link and a FIFO are each reported by name, and the FIFO is never opened (no
// writer: opening it would block forever).
func TestFolderLinksAndSpecialFiles(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	writeSample(t, dir, "a.xml.log", sample.Sysmon)
	target := writeSample(t, outside, "b.xml.log", sample.Sysmon)
	for _, l := range []struct{ target, name string }{{target, "link-to-file.xml.log"}, {outside, "link-to-folder"}, {filepath.Join(outside, "gone"), "broken-link"}, {dir, "loop"}} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runWithin(t, 20*time.Second, nil, "--format", "csv", dir)
	if code != ExitErrors {
		t.Errorf("exit %d, want %d (the FIFO and the broken link are inputs not read)", code, ExitErrors)
	}
	for _, want := range []string{
		"2 files, 24 events, 22 process creations",
		"link-to-folder: symbolic link to a folder, not followed",
		"loop: symbolic link to a folder, not followed",
		"broken-link: ",
		"fifo: skipped: a FIFO inside a folder is not read",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// TestDeviceAndFIFOPaths: a device named on the command line is refused at once (reading /dev/zero would never
// end); a FIFO named on the command line, as a shell's process substitution gives, is read as a stream.
func TestDeviceAndFIFOPaths(t *testing.T) {
	for _, format := range []string{"auto", "json"} {
		_, errs, code := runWithin(t, 20*time.Second, nil, "--input-format", format, "/dev/zero")
		if code != ExitErrors || !strings.Contains(errs, "/dev/zero: not a regular file, FIFO or link to one (device)") {
			t.Errorf("/dev/zero as %s: exit %d: %s", format, code, errs)
		}
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(sample.Sysmon)
		f.Close()
	}()
	_, errs, code := runWithin(t, 20*time.Second, nil, "--format", "csv", fifo)
	if code != ExitClean || creations(t, errs) != "11" {
		t.Errorf("FIFO: exit %d: %s", code, errs)
	}
}

// TestInvalidUTF8Warning: a matching record whose values are not valid UTF-8 is kept byte for byte (as Splunk
// groups bytes) and reported: how many, in which file, the first line.
func TestInvalidUTF8Warning(t *testing.T) {
	dir := t.TempDir()
	latin1 := bytes.Replace(sample.Sysmon, []byte("m\xc3\xbcller"), []byte("m\xfcller"), -1)
	p := writeSample(t, dir, "latin1.xml.log", latin1)
	_, errs, code := runScan(t, "--format", "csv", p)
	if code != ExitClean {
		t.Errorf("exit %d: %s", code, errs)
	}
	if want := "warning: " + p + ": 1 matching record holds invalid UTF-8 (first at line 11)"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs)
	}
	csvPath := writeSample(t, dir, "latin1.csv", []byte("_time,dest,user,parent_process_name,parent_process,process_name,process,process_id,parent_process_id\n1,a,b,c,c,d,d,1,2\n2,h,m\xfcller,RegAsm.exe,regasm.exe x,x.exe,x.exe,3,4\n"))
	_, errs, _ = runScan(t, "--format", "csv", csvPath)
	if want := "warning: " + csvPath + ": 1 matching record holds invalid UTF-8 (first at line 3)"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs)
	}
	if _, errs, _ := runScan(t, "--format", "csv", writeSample(t, dir, "ok.xml.log", sample.Sysmon)); strings.Contains(errs, "UTF-8") {
		t.Errorf("valid input warned: %s", errs)
	}
}

// runWithin runs the scanner and fails the test if it has not returned within d.
func runWithin(t *testing.T, d time.Duration, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	type res struct {
		out, err string
		code     int
	}
	done := make(chan res, 1)
	go func() {
		var out, errb bytes.Buffer
		c := Main(args, stdin, &out, &errb)
		done <- res{out.String(), errb.String(), c}
	}()
	select {
	case r := <-done:
		return r.out, r.err, r.code
	case <-time.After(d):
		t.Fatalf("scan %v still running after %v", args, d)
	}
	return "", "", 0
}
