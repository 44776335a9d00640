// Command package builds the installable Splunk app, dist/regasmdetect-<version>.tgz, reproducibly:
//
//	go run ./src/cmd/package [-version V] [-out dist]
//
// It cross-compiles ./src/cmd/regasmdetect for every platform the app ships (CGO_ENABLED=0, -trimpath,
// -buildvcs=false, -ldflags "-s -w -buildid= -X main.version=V"), lays the app out as
//
//	regasmdetect/app.manifest, README.md, default/*, metadata/*, static/* (if present),
//	regasmdetect/<PLATFORM>/bin/regasmdetect[.exe]
//
// and writes a gzip-compressed tar with entries sorted by name, directories 0755, binaries 0755, every other
// file 0644, owner and group 0 without names, one fixed modification time, and a gzip header without name or
// time. The modification time is SOURCE_DATE_EPOCH when set, else the committer time of the last git commit,
// else the Unix epoch; so the same sources give the same bytes. It prints the path of the package.
//
// The version defaults to [launcher] version of default/app.conf; the tool refuses a -version that differs
// from default/app.conf or app/app.manifest, since Splunk and AppInspect read the version from those files.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"regasmdetect/src/splunkconf"
)

// AppName is the app's folder name, [package] id and [id] name.
const AppName = "regasmdetect"

// Platform is one binary of the package.
type Platform struct {
	// Dir is the Splunk platform directory ("linux_x86_64").
	Dir string
	// GOOS and GOARCH select the Go target.
	GOOS, GOARCH string
}

// Platforms are the binaries the app ships. linux_aarch64 is not in the platform list of Splunk 9.2's
// commands.conf.spec; it is shipped for ARM indexers (Splunk Cloud's indexer tier), see docs/app.md.
var Platforms = []Platform{
	{"darwin_x86_64", "darwin", "amd64"},
	{"linux_aarch64", "linux", "arm64"},
	{"linux_x86_64", "linux", "amd64"},
	{"windows_x86_64", "windows", "amd64"},
}

// Binary returns the executable's path inside the app folder ("linux_x86_64/bin/regasmdetect").
func (p Platform) Binary() string {
	name := AppName
	if p.GOOS == "windows" {
		name += ".exe"
	}
	return p.Dir + "/bin/" + name
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("package", flag.ContinueOnError)
	flags.SetOutput(stderr)
	version := flags.String("version", "", "app version (default: [launcher] version of default/app.conf)")
	out := flags.String("out", "dist", "directory to write the package into")
	root := flags.String("root", ".", "project root (holds go.mod, default/, metadata/, app/)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./src/cmd/package [-version V] [-out DIR] [-root DIR]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() != 0 {
		flags.Usage()
		return 2
	}
	p, err := Build(*root, *out, *version)
	if err != nil {
		fmt.Fprintf(stderr, "package: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, p)
	return 0
}

// entry is one file of the package: its path under the app folder, contents and mode.
type entry struct {
	name string
	data []byte
	mode int64
}

// Build compiles the binaries, assembles the app and writes <out>/regasmdetect-<version>.tgz. It returns the
// path of the package.
func Build(root, out, version string) (string, error) {
	confVersion, err := appVersion(root)
	if err != nil {
		return "", err
	}
	if version == "" {
		version = confVersion
	}
	if version != confVersion {
		return "", fmt.Errorf("version %q differs from %q in default/app.conf: change the app files first", version, confVersion)
	}
	if err := checkManifest(root, version); err != nil {
		return "", err
	}
	mtime, err := modTime(root)
	if err != nil {
		return "", err
	}
	files, err := appFiles(root)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "regasmdetect-package-")
	if err != nil {
		return "", fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, p := range Platforms {
		data, err := compile(root, tmp, p, version)
		if err != nil {
			return "", err
		}
		files = append(files, entry{name: p.Binary(), data: data, mode: 0o755})
	}
	var buf bytes.Buffer
	if err := writeTgz(&buf, files, mtime); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("output directory: %w", err)
	}
	dst := filepath.Join(out, AppName+"-"+version+".tgz")
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("write package: %w", err)
	}
	return dst, nil
}

// appVersion reads [launcher] version of default/app.conf and checks that [id] version agrees.
func appVersion(root string) (string, error) {
	f, err := splunkconf.ParseFile(filepath.Join(root, "default", "app.conf"))
	if err != nil {
		return "", err
	}
	v, ok := f.Lookup("launcher", "version")
	if !ok || v == "" {
		return "", fmt.Errorf("default/app.conf: no [launcher] version")
	}
	if id, ok := f.Lookup("id", "version"); ok && id != v {
		return "", fmt.Errorf("default/app.conf: [id] version %q differs from [launcher] version %q", id, v)
	}
	return v, nil
}

func checkManifest(root, version string) error {
	data, err := os.ReadFile(filepath.Join(root, "app", "app.manifest"))
	if err != nil {
		return fmt.Errorf("app manifest: %w", err)
	}
	var m struct {
		Info struct {
			ID struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"id"`
		} `json:"info"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("app/app.manifest: %w", err)
	}
	if m.Info.ID.Name != AppName || m.Info.ID.Version != version {
		return fmt.Errorf("app/app.manifest: info.id is %s %s, want %s %s", m.Info.ID.Name, m.Info.ID.Version, AppName, version)
	}
	return nil
}

// modTime is the time stamped on every entry: SOURCE_DATE_EPOCH, else the last commit, else the epoch.
func modTime(root string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	cmd := exec.Command("git", "log", "-1", "--format=%ct")
	cmd.Dir = root
	if b, err := cmd.Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= 0 {
			return time.Unix(n, 0).UTC(), nil
		}
	}
	return time.Unix(0, 0).UTC(), nil
}

// appFiles collects the non-binary files: default/, metadata/, static/ (optional) as they are, and
// app/README.md and app/app.manifest at the app's top level. Hidden files are left out; a local/ directory
// or local.meta never enters the package because only these sources are read.
func appFiles(root string) ([]entry, error) {
	var files []entry
	for _, dir := range []string{"default", "metadata", "static"} {
		base := filepath.Join(root, dir)
		if _, err := os.Stat(base); errors.Is(err, fs.ErrNotExist) && dir == "static" {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != base {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s: not a regular file", p)
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, entry{name: filepath.ToSlash(rel), data: data, mode: 0o644})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("collect %s/: %w", dir, err)
		}
	}
	for src, dst := range map[string]string{"app/README.md": "README.md", "app/app.manifest": "app.manifest"} {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(src)))
		if err != nil {
			return nil, fmt.Errorf("collect %s: %w", src, err)
		}
		files = append(files, entry{name: dst, data: data, mode: 0o644})
	}
	return files, nil
}

// compile cross-compiles the command for one platform and returns the executable's bytes.
func compile(root, tmp string, p Platform, version string) ([]byte, error) {
	exe := filepath.Join(tmp, p.Dir, path.Base(p.Binary()))
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid= -X main.version="+version,
		"-o", exe, "./src/cmd/regasmdetect")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.GOOS, "GOARCH="+p.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build %s (%s/%s): %w\n%s", p.Dir, p.GOOS, p.GOARCH, err, stderr.String())
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", p.Dir, err)
	}
	return data, nil
}

// writeTgz writes the files under AppName/ as a reproducible .tgz: every directory gets its own entry, all
// entries sorted by name.
func writeTgz(w io.Writer, files []entry, mtime time.Time) error {
	all := map[string]entry{}
	for _, f := range files {
		name := AppName + "/" + f.name
		if _, dup := all[name]; dup {
			return fmt.Errorf("package: %s twice", name)
		}
		all[name] = entry{name: name, data: f.data, mode: f.mode}
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			all[dir+"/"] = entry{name: dir + "/", mode: 0o755}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)

	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	tw := tar.NewWriter(zw)
	for _, n := range names {
		e := all[n]
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if strings.HasSuffix(n, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", n, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("tar %s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	return nil
}
