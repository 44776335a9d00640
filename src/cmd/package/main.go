// Command package builds the installable Splunk app reproducibly, in two variants:
//
//	go run ./src/cmd/package [-version V] [-out dist]
//
//	dist/regasmdetect-<version>.tgz        Splunk Enterprise: Linux x86-64 and aarch64, Windows x86-64, macOS
//	dist/regasmdetect-<version>-cloud.tgz  Splunk Cloud Platform: Linux x86-64 and aarch64, vetted layout
//
// It cross-compiles the app's build of the command (./src/cmd/regasmdetect-splunk: the protocol path only) for
// every platform once (CGO_ENABLED=0, -trimpath, -buildvcs=false, -ldflags "-s -w -buildid= -X main.version=V
// -X main.source=URL"), lays each variant out as
//
//	regasmdetect/app.manifest, README.md, default/*, metadata/*, static/* (if present)
//	regasmdetect/bin/regasmdetect                 the POSIX launcher (from bin/regasmdetect)
//	regasmdetect/<PLATFORM>/bin/regasmdetect[.exe] the builds (Variants says which, and where)
//
// and writes gzip-compressed tars with entries sorted by name, directories 0755, binaries and the launcher
// 0755, every other file 0644, owner and group 0 without names, one fixed modification time, and a gzip header
// without name or time. The modification time is SOURCE_DATE_EPOCH when set, else the committer time of the
// last git commit, else the Unix epoch; so the same sources give the same bytes. It prints the packages' paths.
//
// The version defaults to [launcher] version of default/app.conf; the tool refuses a -version that differs
// from default/app.conf or app/app.manifest, since Splunk and AppInspect read the version from those files.
// The source URL comes from the one "Source code:" line of app/README.md's Binary File Declaration.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"regasmdetect/src/splunkconf"
)

// AppName is the app's folder name, [package] id and [id] name.
const AppName = "regasmdetect"

// MainPackage is the search command build that ships in the app: the protocol path only (no scanner, no
// exporters, no net/http); it is installed under the name regasmdetect[.exe].
const MainPackage = "./src/cmd/regasmdetect-splunk"

// Launcher is the POSIX launcher at bin/regasmdetect (in the repository and in both packages): splunkd runs it
// when it finds no build in its own platform folder; it runs the build for the machine it is on.
const Launcher = "bin/regasmdetect"

// Platform is one Go target the app ships.
type Platform struct {
	// Dir is the platform folder ("linux_x86_64"), named as commands.conf.spec names <PLATFORM>.
	Dir string
	// GOOS and GOARCH select the Go target.
	GOOS, GOARCH string
}

// Exe is the executable's file name on the platform.
func (p Platform) Exe() string {
	if p.GOOS == "windows" {
		return AppName + ".exe"
	}
	return AppName
}

// Binary returns the executable's usual path inside the app folder ("linux_x86_64/bin/regasmdetect").
func (p Platform) Binary() string { return p.Dir + "/bin/" + p.Exe() }

// The targets. linux_aarch64 is not in the platform list of Splunk 9.2's commands.conf.spec: splunkd on ARM
// reaches it through the launcher in bin/ (or directly, if its platform folder has that name); docs/app.md.
var (
	Darwin  = Platform{"darwin_x86_64", "darwin", "amd64"}
	LinuxA  = Platform{"linux_aarch64", "linux", "arm64"}
	LinuxX  = Platform{"linux_x86_64", "linux", "amd64"}
	Windows = Platform{"windows_x86_64", "windows", "amd64"}
)

// Platforms are every target compiled by the tool.
var Platforms = []Platform{Darwin, LinuxA, LinuxX, Windows}

// Placement puts one platform's build at a path inside the app folder.
type Placement struct {
	Platform Platform
	Path     string
}

// Variant is one package the tool writes.
type Variant struct {
	// Suffix follows the version in the file name: "" (regasmdetect-1.0.0.tgz) or "-cloud".
	Suffix string
	// Binaries are the builds the package carries and where.
	Binaries []Placement
}

// Variants are the packages: one for Splunk Enterprise on every platform, and one for Splunk Cloud Platform,
// which carries only Linux builds and keeps every x86-64 build out of the folders AppInspect's
// check_idx_binary_compatibility resolves a command in (bin/, linux_x86(_64)/bin, windows_x86(_64)/bin,
// darwin_x86(_64)/bin): there an x86-64 ELF file fails Cloud vetting. Both have bin/regasmdetect, the launcher.
// The layout and why: docs/app.md, "Where splunkd finds the command".
var Variants = []Variant{
	{Suffix: "", Binaries: []Placement{
		{Darwin, Darwin.Binary()},
		{LinuxA, LinuxA.Binary()},
		{LinuxX, LinuxX.Binary()},
		{Windows, Windows.Binary()},
		// filename = regasmdetect names the file exactly; Windows gets it under that name too, so that
		// splunkd on Windows finds a build in windows_x86_64/bin whether or not it appends ".exe", and never
		// falls through to the POSIX launcher in bin/.
		{Windows, Windows.Dir + "/bin/" + AppName},
	}},
	{Suffix: "-cloud", Binaries: []Placement{
		{LinuxA, LinuxA.Binary()},
		{LinuxX, LinuxX.Dir + "/libexec/" + AppName},
	}},
}

// FileName is the package's file name for a version.
func (v Variant) FileName(version string) string { return AppName + "-" + version + v.Suffix + ".tgz" }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("package", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var o Options
	flags.StringVar(&o.Version, "version", "", "app version (default: [launcher] version of default/app.conf)")
	flags.StringVar(&o.Out, "out", "dist", "directory to write the packages into")
	flags.StringVar(&o.Root, "root", ".", "project root (holds go.mod, default/, metadata/, app/, bin/)")
	flags.StringVar(&o.ESCU, "escu", "", "build the Endpoint.Processes detections of this security_content checkout into the binaries\n(| regasmdetect detection=<stem>), each with a disabled correlation search in savedsearches.conf")
	flags.StringVar(&o.Detections, "detections", "", "with -escu: the file stems to build in, comma-separated (default: every detection that runs)")
	host := flags.Bool("host", false, "build for this machine only, into the project's own platform folder (make build), so that a\ncheckout linked into $SPLUNK_HOME/etc/apps runs; write no package")
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
	build := Build
	if *host {
		build = BuildHost
	}
	paths, err := build(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "package: %v\n", err)
		return 1
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return 0
}

// Options say what to package and where.
type Options struct {
	Root    string // project root
	Out     string // output directory
	Version string // "" = default/app.conf's

	ESCU       string // a security_content checkout whose detections the binaries embed ("" = none)
	Detections string // with ESCU: comma-separated file stems ("" = every detection that runs)
}

// entry is one file of the package: its path under the app folder, contents and mode.
type entry struct {
	name string
	data []byte
	mode int64
}

// Build compiles the binaries once per platform, assembles every variant and writes
// <out>/regasmdetect-<version>[-cloud].tgz. It returns the paths of the packages.
func Build(ctx context.Context, o Options) ([]string, error) {
	root := o.Root
	if root == "" {
		root = "."
	}
	confVersion, err := appVersion(root)
	if err != nil {
		return nil, err
	}
	version := o.Version
	if version == "" {
		version = confVersion
	}
	if version != confVersion {
		return nil, fmt.Errorf("version %q differs from %q in default/app.conf: change the app files first", version, confVersion)
	}
	if err := checkManifest(root, version); err != nil {
		return nil, err
	}
	source, err := SourceURL(root)
	if err != nil {
		return nil, err
	}
	mtime, err := modTime(root)
	if err != nil {
		return nil, err
	}
	files, err := appFiles(root)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "regasmdetect-package-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	extra, err := withBuiltins(ctx, o, root, tmp, files)
	if err != nil {
		return nil, err
	}
	builds := map[Platform][]byte{}
	for _, p := range Platforms {
		data, err := compile(ctx, root, tmp, p, version, source, extra...)
		if err != nil {
			return nil, err
		}
		builds[p] = data
	}
	out := o.Out
	if out == "" {
		out = "dist"
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	var paths []string
	for _, v := range Variants {
		all := append([]entry(nil), files...)
		for _, b := range v.Binaries {
			all = append(all, entry{name: b.Path, data: builds[b.Platform], mode: 0o755})
		}
		var buf bytes.Buffer
		if err := writeTgz(&buf, all, mtime); err != nil {
			return nil, err
		}
		dst := filepath.Join(out, v.FileName(version))
		if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("write package: %w", err)
		}
		paths = append(paths, dst)
	}
	return paths, nil
}

// HostPlatform is the platform folder whose build runs on this machine: macOS on Apple silicon runs the
// x86-64 build through Rosetta 2, as it does in the package.
func HostPlatform(goos, goarch string) (Platform, bool) {
	for _, p := range Platforms {
		if p.GOOS == goos && (p.GOARCH == goarch || goos == "darwin") {
			return p, true
		}
	}
	return Platform{}, false
}

// BuildHost compiles the app's build for this machine into the project itself, where the Splunk Enterprise
// package has it (linux_x86_64/bin/regasmdetect on this kind of machine; both Windows names on Windows), so that
// the checkout, linked into $SPLUNK_HOME/etc/apps/regasmdetect, is a working app. It returns the paths written.
func BuildHost(ctx context.Context, o Options) ([]string, error) {
	root := o.Root
	if root == "" {
		root = "."
	}
	p, ok := HostPlatform(runtime.GOOS, runtime.GOARCH)
	if !ok {
		return nil, fmt.Errorf("the app has no build for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	version, err := appVersion(root)
	if err != nil {
		return nil, err
	}
	source, err := SourceURL(root)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "regasmdetect-build-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	data, err := compile(ctx, root, tmp, p, version, source)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, b := range Variants[0].Binaries {
		if b.Platform != p {
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(b.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		// Write beside and rename, so that a splunkd running the old build is never handed a partial file.
		if err := os.WriteFile(dst+".new", data, 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(dst+".new", dst); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(dst)
		if err != nil {
			return nil, err
		}
		paths = append(paths, abs)
	}
	return paths, nil
}

// sourceRE finds the source URL in the app README's Binary File Declaration: the one place it is set.
var sourceRE = regexp.MustCompile(`(?m)^Source code: <(https://[^\s>]+)>$`)

// SourceURL returns the URL of the source code the binaries are built from, as app/README.md declares it on
// its one "Source code: <https://...>" line. The packaging tool stamps it into the binaries
// (`regasmdetect version` prints it), so the declaration and the binaries cannot disagree.
func SourceURL(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "app", "README.md"))
	if err != nil {
		return "", fmt.Errorf("app README: %w", err)
	}
	m := sourceRE.FindAllSubmatch(data, -1)
	if len(m) != 1 {
		return "", fmt.Errorf("app/README.md: want exactly one line \"Source code: <https://...>\" in the Binary File Declaration, found %d", len(m))
	}
	return string(m[0][1]), nil
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
	launcher, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(Launcher)))
	if err != nil {
		return nil, fmt.Errorf("collect the launcher: %w", err)
	}
	if !bytes.HasPrefix(launcher, []byte("#!/bin/sh\n")) {
		return nil, fmt.Errorf("%s: not a POSIX shell script (#!/bin/sh)", Launcher)
	}
	files = append(files, entry{name: Launcher, data: launcher, mode: 0o755})
	return files, nil
}

// compile cross-compiles the app's build of the command for one platform and returns the executable's bytes.
func compile(ctx context.Context, root, tmp string, p Platform, version, source string, extra ...string) ([]byte, error) {
	exe := filepath.Join(tmp, p.Dir, p.Exe())
	args := []string{"build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid= -X main.version=" + version + " -X main.source=" + source}
	args = append(args, extra...)
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", exe, MainPackage)...)
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
