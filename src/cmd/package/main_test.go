package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteTgzReproducible(t *testing.T) {
	files := []entry{
		{name: "linux_x86_64/bin/regasmdetect", data: []byte("\x7fELF"), mode: 0o755},
		{name: "default/app.conf", data: []byte("[ui]\n"), mode: 0o644},
		{name: "README.md", data: []byte("# x\n"), mode: 0o644},
	}
	mtime := time.Unix(1613088000, 0)
	var a, b bytes.Buffer
	if err := writeTgz(&a, files, mtime); err != nil {
		t.Fatal(err)
	}
	// Same files in another order: same bytes.
	if err := writeTgz(&b, []entry{files[2], files[0], files[1]}, mtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("entry order of the input changes the package")
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+" "+strings.TrimPrefix(os.FileMode(h.Mode).String(), "-"))
	}
	want := []string{
		"regasmdetect/ rwxr-xr-x",
		"regasmdetect/README.md rw-r--r--",
		"regasmdetect/default/ rwxr-xr-x",
		"regasmdetect/default/app.conf rw-r--r--",
		"regasmdetect/linux_x86_64/ rwxr-xr-x",
		"regasmdetect/linux_x86_64/bin/ rwxr-xr-x",
		"regasmdetect/linux_x86_64/bin/regasmdetect rwxr-xr-x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := writeTgz(io.Discard, []entry{files[0], files[0]}, mtime); err == nil {
		t.Error("duplicate entry: no error")
	}
}

func TestModTime(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1613088000")
	got, err := modTime(t.TempDir())
	if err != nil || got.Unix() != 1613088000 {
		t.Errorf("modTime = %v, %v", got, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := modTime(t.TempDir()); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: err = %v", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	// Outside a git repository: the epoch.
	if got, err := modTime(t.TempDir()); err != nil || got.Unix() != 0 {
		t.Errorf("no git: modTime = %v, %v", got, err)
	}
}

func TestVersionChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("default/app.conf", "[launcher]\nversion = 1.2.3\n[id]\nname = regasmdetect\nversion = 1.2.3\n")
	write("app/app.manifest", `{"info": {"id": {"name": "regasmdetect", "version": "1.2.3"}}}`)
	if v, err := appVersion(dir); err != nil || v != "1.2.3" {
		t.Fatalf("appVersion = %q, %v", v, err)
	}
	if err := checkManifest(dir, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(t.Context(), Options{Root: dir, Out: t.TempDir(), Version: "2.0.0"}); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("-version 2.0.0 against app.conf 1.2.3: err = %v", err)
	}
	if err := checkManifest(dir, "1.2.4"); err == nil {
		t.Error("manifest version mismatch: no error")
	}
	write("default/app.conf", "[launcher]\nversion = 1.2.3\n[id]\nversion = 1.2.4\n")
	if _, err := appVersion(dir); err == nil {
		t.Error("[id] version mismatch: no error")
	}
}

func TestLayout(t *testing.T) {
	want := map[string][]string{
		"": {"darwin_x86_64/bin/regasmdetect", "linux_aarch64/bin/regasmdetect", "linux_x86_64/bin/regasmdetect",
			"windows_x86_64/bin/regasmdetect.exe", "windows_x86_64/bin/regasmdetect"},
		"-cloud": {"linux_aarch64/bin/regasmdetect", "linux_x86_64/libexec/regasmdetect"},
	}
	for _, v := range Variants {
		var got []string
		for _, b := range v.Binaries {
			got = append(got, b.Path)
			if !strings.HasSuffix(b.Path, "/"+b.Platform.Exe()) && b.Platform.GOOS != "windows" {
				t.Errorf("%s: %s is not named %s", v.FileName("1.0.0"), b.Path, b.Platform.Exe())
			}
		}
		if strings.Join(got, " ") != strings.Join(want[v.Suffix], " ") {
			t.Errorf("%s: binaries %q, want %q", v.FileName("1.0.0"), got, want[v.Suffix])
		}
	}
	if got := Windows.Binary(); got != "windows_x86_64/bin/regasmdetect.exe" {
		t.Errorf("Windows.Binary() = %q", got)
	}
}

func TestSourceURL(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "app", "README.md"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# Binary File Declaration\n\nSource code: <https://example.org/x/regasmdetect>\n")
	if u, err := SourceURL(dir); err != nil || u != "https://example.org/x/regasmdetect" {
		t.Errorf("SourceURL = %q, %v", u, err)
	}
	for _, bad := range []string{"no url\n", "Source code: <http://plain.example>\n",
		"Source code: <https://a.example>\nSource code: <https://b.example>\n"} {
		write(bad)
		if _, err := SourceURL(dir); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
