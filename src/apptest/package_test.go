package apptest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"regasmdetect/src/sample"
	"regasmdetect/src/splunkd"
)

// buildPackage runs the packaging tool into out and returns the package's bytes.
func buildPackage(t *testing.T, out string) []byte {
	t.Helper()
	cmd := exec.Command(goTool(t), "run", "./src/cmd/package", "-out", out)
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1613088000")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("package: %v\n%s", err, stderr.String())
	}
	p := strings.TrimSpace(stdout.String())
	if filepath.Dir(p) != out || !strings.HasPrefix(filepath.Base(p), "regasmdetect-") || !strings.HasSuffix(p, ".tgz") {
		t.Fatalf("package printed %q, want %s/regasmdetect-<version>.tgz", p, out)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the app for four platforms")
	}
	version, _ := conf(t, "default/app.conf").Lookup("launcher", "version")
	first := buildPackage(t, t.TempDir())
	second := buildPackage(t, t.TempDir())
	if !bytes.Equal(first, second) {
		t.Fatal("two builds of the same source differ")
	}

	// gzip header without name, comment or time.
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, comment %q, mtime %v", zr.Name, zr.Comment, zr.ModTime)
	}

	wantFiles := map[string]int64{
		"regasmdetect/README.md":                           0o644,
		"regasmdetect/app.manifest":                        0o644,
		"regasmdetect/default/app.conf":                    0o644,
		"regasmdetect/default/commands.conf":               0o644,
		"regasmdetect/default/macros.conf":                 0o644,
		"regasmdetect/default/savedsearches.conf":          0o644,
		"regasmdetect/default/searchbnf.conf":              0o644,
		"regasmdetect/metadata/default.meta":               0o644,
		"regasmdetect/linux_x86_64/bin/regasmdetect":       0o755,
		"regasmdetect/linux_aarch64/bin/regasmdetect":      0o755,
		"regasmdetect/darwin_x86_64/bin/regasmdetect":      0o755,
		"regasmdetect/windows_x86_64/bin/regasmdetect.exe": 0o755,
	}
	dir := t.TempDir()
	tr := tar.NewReader(zr)
	var names []string
	contents := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d/%d %q/%q, want 0/0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if h.ModTime.Unix() != 1613088000 {
			t.Errorf("%s: mtime %v, want SOURCE_DATE_EPOCH", h.Name, h.ModTime)
		}
		if !strings.HasPrefix(h.Name, "regasmdetect/") || strings.Contains(h.Name, "..") || strings.ContainsAny(h.Name, " \\") {
			t.Errorf("entry name %q", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if h.Mode != 0o755 {
				t.Errorf("%s: mode %o, want 755", h.Name, h.Mode)
			}
		case tar.TypeReg:
			want, ok := wantFiles[h.Name]
			if !ok {
				t.Errorf("unexpected file %s", h.Name)
			} else if h.Mode != want {
				t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
			}
			delete(wantFiles, h.Name)
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			contents[h.Name] = data
			p := filepath.Join(dir, filepath.FromSlash(h.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, os.FileMode(h.Mode)); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("%s: entry type %c", h.Name, h.Typeflag)
		}
	}
	for n := range wantFiles {
		t.Errorf("package lacks %s", n)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries are not sorted: %q", names)
	}
	for _, p := range []string{"README.md", "app.manifest"} {
		want, err := os.ReadFile(filepath.Join(root(t), "app", p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(contents["regasmdetect/"+p], want) {
			t.Errorf("%s in the package differs from app/%s", p, p)
		}
	}
	magic := map[string]string{
		"regasmdetect/linux_x86_64/bin/regasmdetect":       "\x7fELF",
		"regasmdetect/linux_aarch64/bin/regasmdetect":      "\x7fELF",
		"regasmdetect/windows_x86_64/bin/regasmdetect.exe": "MZ",
		"regasmdetect/darwin_x86_64/bin/regasmdetect":      "\xcf\xfa\xed\xfe",
	}
	for n, m := range magic {
		if !bytes.HasPrefix(contents[n], []byte(m)) {
			t.Errorf("%s is not a %q executable", n, m)
		}
	}

	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("cannot run the linux_x86_64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	out, err := exec.Command(filepath.Join(dir, "regasmdetect", "linux_x86_64", "bin", "regasmdetect"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("regasmdetect version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "regasmdetect "+version) {
		t.Errorf("regasmdetect version printed %q, want regasmdetect %s ...", out, version)
	}

	// The packaged binary as splunkd runs it: the bundled sample across three simulated indexers, with the
	// options the shipped twin search passes.
	ps, err := sample.Processes()
	if err != nil {
		t.Fatal(err)
	}
	packaged := filepath.Join(dir, "regasmdetect", "linux_x86_64", "bin", "regasmdetect")
	args := []string{"detection=detect_regasm_spawning_a_process", "annotate=true", "summariesonly=false", "allow_old_summaries=true", "fillnull_value=null"}
	res, err := splunkd.Search(context.Background(), packaged, args, splunkd.FromProcesses(ps), splunkd.Plan{Indexers: 3, ChunkRows: []int{2}, Awkward: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Table.Rows); n != 5 {
		t.Errorf("the packaged binary returned %d rows for the sample, want 5", n)
	}
	if len(res.Reduce.Stderr) != 0 {
		t.Errorf("stderr: %q", res.Reduce.Stderr)
	}
}
