package scan

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
