package apptest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"regasmdetect/src/internal/splunkdtest"
	"regasmdetect/src/sample"
	"regasmdetect/src/splunkconf"
)

// The packages themselves are checked where they are built: `make package` (and .ci/run) builds them and runs
// TestPackages with REGASMDETECT_PACKAGES pointing at the output folder. Cross-compiling four platforms takes
// minutes on a small machine and does not belong in the default `go test ./...`; what can be checked cheaply on
// the host (the lean build, command resolution, a linked checkout) is checked by the default tests below.

// packagesEnv names the folder of built packages (make package sets it to dist).
const packagesEnv = "REGASMDETECT_PACKAGES"

// layouts are the builds each package carries, by file-name suffix, as src/cmd/package writes them.
var layouts = map[string][]string{
	"": {"darwin_x86_64/bin/regasmdetect", "linux_aarch64/bin/regasmdetect", "linux_x86_64/bin/regasmdetect",
		"windows_x86_64/bin/regasmdetect", "windows_x86_64/bin/regasmdetect.exe"},
	"-cloud": {"linux_aarch64/bin/regasmdetect", "linux_x86_64/libexec/regasmdetect"},
}

// sourceFiles are the app's files besides the builds, by path in the package and in the repository.
var sourceFiles = map[string]string{
	"README.md":                  "app/README.md",
	"app.manifest":               "app/app.manifest",
	"bin/regasmdetect":           "bin/regasmdetect",
	"default/app.conf":           "default/app.conf",
	"default/commands.conf":      "default/commands.conf",
	"default/macros.conf":        "default/macros.conf",
	"default/savedsearches.conf": "default/savedsearches.conf",
	"default/searchbnf.conf":     "default/searchbnf.conf",
	"metadata/default.meta":      "metadata/default.meta",
}

// readPackage reads a package into a tree, checking the archive rules on the way.
func readPackage(t *testing.T, data []byte) appTree {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, comment %q, mtime %v", zr.Name, zr.Comment, zr.ModTime)
	}
	tree := appTree{}
	tr := tar.NewReader(zr)
	var names []string
	var mtime int64 = -1
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
		if mtime == -1 {
			mtime = h.ModTime.Unix()
		} else if h.ModTime.Unix() != mtime {
			t.Errorf("%s: mtime %v differs from the first entry's", h.Name, h.ModTime)
		}
		if !strings.HasPrefix(h.Name, appName+"/") || strings.Contains(h.Name, "..") || strings.ContainsAny(h.Name, " \\") {
			t.Errorf("entry name %q", h.Name)
		}
		rel := strings.TrimPrefix(h.Name, appName+"/")
		switch h.Typeflag {
		case tar.TypeDir:
			if h.Mode != 0o755 {
				t.Errorf("%s: mode %o, want 755", h.Name, h.Mode)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			tree[rel] = vetFile{data: b, mode: h.Mode}
		case tar.TypeSymlink, tar.TypeLink:
			tree[rel] = vetFile{link: true, mode: h.Mode}
		default:
			t.Errorf("%s: entry type %c", h.Name, h.Typeflag)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries are not sorted: %q", names)
	}
	return tree
}

// TestPackages checks every package in $REGASMDETECT_PACKAGES: contents, modes, builds (lean, right
// architecture), AppInspect's Cloud rules (the report is logged: go test -v), where splunkd finds the command
// on every platform, and a search through the host's build as splunkd runs it.
func TestPackages(t *testing.T) {
	dir := os.Getenv(packagesEnv)
	if dir == "" {
		t.Skipf("%s is not set: make package builds the packages and runs this test on them", packagesEnv)
	}
	version, _ := conf(t, "default/app.conf").Lookup("launcher", "version")
	found := 0
	for suffix, builds := range layouts {
		name := appName + "-" + version + suffix + ".tgz"
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%v (make package writes both packages)", err)
			}
			found++
			tree := readPackage(t, data)
			checkPackage(t, tree, suffix, builds, version)
		})
	}
	if found != len(layouts) {
		t.Errorf("%d of %d packages found in %s", found, len(layouts), dir)
	}
}

// checkPackage checks one package's contents, builds, AppInspect's rules and command resolution, and runs a
// search through it (and one per detection a package built with ESCU=DIR carries).
func checkPackage(t *testing.T, tree appTree, suffix string, builds []string, version string) {
	var builtins []string // stems of the detections built in (make package ESCU=DIR)
	want := map[string]bool{}
	for p := range sourceFiles {
		want[p] = true
	}
	for _, b := range builds {
		want[b] = true
	}
	for _, n := range tree.names() {
		if !want[n] {
			t.Errorf("unexpected file %s", n)
		}
		delete(want, n)
	}
	for n := range want {
		t.Errorf("package lacks %s", n)
	}
	for p, src := range sourceFiles {
		b, err := os.ReadFile(filepath.Join(root(t), filepath.FromSlash(src)))
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := tree[p]; ok && !bytes.Equal(f.data, b) {
			if p != "default/savedsearches.conf" {
				t.Errorf("%s in the package differs from %s", p, src)
			} else {
				builtins = builtinSearches(t, f.data, b)
			}
		}
		mode := int64(0o644)
		if p == "bin/regasmdetect" {
			mode = 0o755
		}
		if f, ok := tree[p]; ok && f.mode != mode {
			t.Errorf("%s: mode %o, want %o", p, f.mode, mode)
		}
	}
	for _, b := range builds {
		f := tree[b]
		if f.mode != 0o755 {
			t.Errorf("%s: mode %o, want 755", b, f.mode)
		}
		k := classify(f.data)
		if want := buildKind(b); k.String() != want {
			t.Errorf("%s is %s, want %s", b, k, want)
		}
		checkLean(t, b, f.data)
	}
	if suffix == "" {
		// The Windows build is the same file under both names.
		if w := tree["windows_x86_64/bin/regasmdetect.exe"].data; w != nil && !bytes.Equal(w, tree["windows_x86_64/bin/regasmdetect"].data) {
			t.Error("windows_x86_64/bin/regasmdetect and regasmdetect.exe differ")
		}
	}

	// AppInspect's rules. The Cloud package must pass them as coded and strictly; the Splunk Enterprise package
	// must pass all but the indexer-architecture check, which its x86-64 Linux build in linux_x86_64/bin fails
	// by design (that package is not for Splunk Cloud Platform).
	cloud := suffix == "-cloud"
	res := vetApp(tree, appName, cloud)
	var report strings.Builder
	for _, r := range res {
		fmt.Fprintln(&report, r)
	}
	t.Logf("AppInspect rules on %s-%s%s.tgz:\n%s", appName, version, suffix, report.String())
	bad := failures(res, "check_idx_binary_compatibility", "binary_file_declaration", "prohibited_files")
	if cloud {
		for _, r := range bad {
			t.Errorf("Cloud package: %s", r)
		}
	} else {
		for _, r := range bad {
			if r.Check == "check_idx_binary_compatibility" && r.File == "linux_x86_64/bin/regasmdetect" {
				continue
			}
			t.Errorf("Enterprise package: %s", r)
		}
		if len(failures(res, "check_idx_binary_compatibility")) != 1 {
			t.Errorf("Enterprise package: want exactly the x86-64 Linux build to fail the indexer check, got %v", failures(res, "check_idx_binary_compatibility"))
		}
	}

	checkResolution(t, tree, suffix)

	// Unpacked as an app, and as splunkd's knowledge bundle puts it on a search peer.
	base := t.TempDir()
	for _, where := range []string{"etc/apps", "var/run/searchpeers/sh1-1700000000/apps"} {
		appDir := filepath.Join(base, filepath.FromSlash(where), appName)
		writeTree(t, tree, appDir)
		runInstalled(t, appDir, version, builtins)
		builtins = nil // each built-in detection is searched once, in the first place
	}
}

// builtinPrefix starts the search of the correlation search a package build writes for each built-in detection.
const builtinPrefix = "| datamodel Endpoint Processes search | regasmdetect detection="

// builtinSearches checks a package's savedsearches.conf that differs from the repository's: a package built
// with ESCU=DIR (src/cmd/appgen -escu) keeps every byte of the repository's file and appends one disabled
// correlation search per built-in detection. It returns the detections' stems.
func builtinSearches(t *testing.T, pkg, src []byte) []string {
	t.Helper()
	rest, ok := bytes.CutPrefix(pkg, src)
	if !ok {
		t.Error("default/savedsearches.conf in the package does not start with default/savedsearches.conf")
		return nil
	}
	f, err := splunkconf.Parse(rest)
	if err != nil {
		t.Errorf("default/savedsearches.conf in the package: the added stanzas: %v", err)
		return nil
	}
	var stems []string
	for _, s := range f.Stanzas {
		if s.Name == splunkconf.DefaultStanza && len(s.Settings) == 0 {
			continue
		}
		search, _ := s.Get("search")
		disabled, _ := s.Get("disabled")
		stem, _, _ := strings.Cut(strings.TrimPrefix(search, builtinPrefix), " ")
		switch {
		case !strings.HasPrefix(s.Name, "regasmdetect - ") || !strings.HasSuffix(s.Name, " - Rule"):
			t.Errorf("default/savedsearches.conf in the package: added stanza [%s] is not a built-in detection's", s.Name)
		case disabled != "true" && disabled != "1":
			t.Errorf("[%s]: disabled = %q, want a disabled search", s.Name, disabled)
		case !strings.HasPrefix(search, builtinPrefix) || stem == "":
			t.Errorf("[%s]: search %q does not start with %q", s.Name, search, builtinPrefix)
		default:
			stems = append(stems, stem)
		}
	}
	if len(stems) == 0 {
		t.Error("default/savedsearches.conf in the package differs from the repository's and adds no built-in detection")
	}
	return stems
}

// buildKind is the executable format and architecture a build path must hold.
func buildKind(p string) string {
	switch {
	case strings.HasPrefix(p, "linux_x86_64/"):
		return "ELF x86-64"
	case strings.HasPrefix(p, "linux_aarch64/"):
		return "ELF aarch64"
	case strings.HasPrefix(p, "windows_x86_64/"):
		return "PE x86-64"
	case strings.HasPrefix(p, "darwin_x86_64/"):
		return "Mach-O x86-64"
	}
	return "?"
}

// leanForbidden are function-name prefixes the app's build must not contain: Go keeps every function's name in
// its pclntab even in a stripped binary, each after a NUL byte. Its detections are Go values, so it decodes no
// YAML (gopkg.in/yaml.v3, escuyaml) and reads no checkout (catalog, bundle) when it starts.
var leanForbidden = []string{
	"net.", "net/http.", "crypto/tls.", "os/exec.", "github.com/", "golang.org/x/net", "golang.org/x/term", "golang.org/x/crypto", "www.velocidex.com/",
	"gopkg.in/yaml", "regasmdetect/src/escu/escuyaml.", "regasmdetect/src/catalog.", "regasmdetect/src/builtin/bundle.",
	"regasmdetect/src/scan.", "regasmdetect/src/sysmon.", "regasmdetect/src/export",
}

// leanModules are the modules the app's build may link: the system calls that size the standard-input pipe.
var leanModules = map[string]bool{"golang.org/x/sys": true}

// checkLean checks a build of the search command: the app's main package, no module but leanModules, none of the forbidden packages' functions. (With -trimpath the build info does not record
// -ldflags; the version is checked by running the host's build.)
func checkLean(t *testing.T, name string, data []byte) {
	t.Helper()
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: build info: %v", name, err)
		return
	}
	if bi.Path != "regasmdetect/src/cmd/regasmdetect-splunk" {
		t.Errorf("%s: main package %s, want regasmdetect/src/cmd/regasmdetect-splunk", name, bi.Path)
	}
	for _, d := range bi.Deps {
		if !leanModules[d.Path] {
			t.Errorf("%s links module %s %s", name, d.Path, d.Version)
		}
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("%s: build settings %v, want CGO_ENABLED=0 and -trimpath", name, settings)
	}
	if !bytes.Contains(data, []byte("\x00regasmdetect/src/command.")) {
		t.Errorf("%s: no function of regasmdetect/src/command found: the symbol test cannot see this binary's names", name)
	}
	for _, p := range leanForbidden {
		if n := bytes.Count(data, []byte("\x00"+p)); n > 0 {
			t.Errorf("%s links %d functions of %s", name, n, strings.TrimSuffix(p, "."))
		}
	}
}

func writeTree(t *testing.T, tree appTree, dir string) {
	t.Helper()
	for _, n := range tree.names() {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, tree[n].data, os.FileMode(tree[n].mode)); err != nil {
			t.Fatal(err)
		}
	}
}

// runInstalled resolves the command in an installed app as splunkd on this machine would and runs a search
// through it: the sample across three simulated indexers, with the options the shipped search passes.
func runInstalled(t *testing.T, appDir, version string, builtins []string) {
	t.Helper()
	h, ok := thisHost()
	if !ok {
		t.Logf("no host description for %s/%s: not run", runtime.GOOS, runtime.GOARCH)
		return
	}
	for _, r := range []reading{specReading, noPlatformFolder} {
		exe, err := resolve(appDir, "regasmdetect", h, r)
		if err != nil {
			t.Errorf("%s, %s: %v", h.name, r.name, err)
			continue
		}
		if version != "" {
			out, err := command(t, exe, "version").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "regasmdetect "+version+" ") || !strings.Contains(string(out), "source code: https://") {
				t.Errorf("%s version: %q, %v", exe, out, err)
			}
		}
		searchSample(t, exe)
		for _, stem := range builtins {
			searchBuiltin(t, exe, stem)
		}
		builtins = nil
	}
}

// searchBuiltin runs the sample through a command executable with a built-in detection, as the package's
// correlation search does: the executable must carry the detection and run it without error.
func searchBuiltin(t *testing.T, exe, stem string) {
	t.Helper()
	ps, err := sample.Processes()
	if err != nil {
		t.Fatal(err)
	}
	res, err := splunkdtest.Search(t.Context(), exe, []string{"detection=" + stem}, splunkdtest.FromProcesses(ps), splunkdtest.Plan{Indexers: 1})
	if err != nil {
		t.Errorf("%s detection=%s: %v", exe, stem, err)
		return
	}
	if len(res.Reduce.Stderr) != 0 {
		t.Errorf("%s detection=%s: stderr %q", exe, stem, res.Reduce.Stderr)
	}
	t.Logf("built-in detection %s: %d rows for the sample", stem, len(res.Table.Rows))
}

// searchSample runs the sample through a command executable as splunkd does and checks the rows.
func searchSample(t *testing.T, exe string) {
	t.Helper()
	ps, err := sample.Processes()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"detection=detect_regasm_spawning_a_process", "annotate=true", "summariesonly=false", "allow_old_summaries=true", "fillnull_value=null"}
	res, err := splunkdtest.Search(t.Context(), exe, args, splunkdtest.FromProcesses(ps), splunkdtest.Plan{Indexers: 3, ChunkRows: []int{2}, Awkward: true, Seed: 1})
	if err != nil {
		t.Errorf("%s: %v", exe, err)
		return
	}
	if n := len(res.Table.Rows); n != 5 {
		t.Errorf("%s returned %d rows for the sample, want 5", exe, n)
	}
	if len(res.Reduce.Stderr) != 0 {
		t.Errorf("%s: stderr %q", exe, res.Reduce.Stderr)
	}
}

// host is a splunkd: its OS, the <PLATFORM> folder name it uses ("" when the spec lists none for it) and what
// `uname -sm` prints there.
type host struct {
	name, goos, platform, uname string
	want                        string // the build it must end up running: buildKind's form
}

var hosts = []host{
	{"Linux x86-64", "linux", "linux_x86_64", "Linux x86_64", "ELF x86-64"},
	{"Linux aarch64 with platform folder linux_aarch64", "linux", "linux_aarch64", "Linux aarch64", "ELF aarch64"},
	{"Linux aarch64 without a platform folder", "linux", "", "Linux aarch64", "ELF aarch64"},
	{"macOS x86-64", "darwin", "darwin_x86_64", "Darwin x86_64", "Mach-O x86-64"},
	{"macOS arm64 without a platform folder", "darwin", "", "Darwin arm64", "Mach-O x86-64"},
	{"Windows x86-64", "windows", "windows_x86_64", "", "PE x86-64"},
}

// thisHost describes the machine the tests run on.
func thisHost() (host, bool) {
	for _, h := range hosts {
		if h.goos != runtime.GOOS {
			continue
		}
		arch := map[string]string{"amd64": "x86-64", "arm64": "aarch64"}[runtime.GOARCH]
		if strings.HasSuffix(h.want, arch) && h.platform != "" {
			return h, true
		}
	}
	return host{}, false
}

// reading is one way to read commands.conf.spec's search for an executable given `filename`.
type reading struct {
	name string
	// platform: look in <app>/<PLATFORM>/bin first (the spec: "the 'filename' is looked for first in the
	// $SPLUNK_HOME/etc/apps/MY_APP/<PLATFORM>/bin directory before searching the
	// $SPLUNK_HOME/etc/apps/MY_APP/bin directory"); exe: Windows appends ".exe" to a name without one.
	platform, exe bool
}

var (
	specReading      = reading{name: "<PLATFORM>/bin then bin, name as given", platform: true}
	exeReading       = reading{name: "<PLATFORM>/bin then bin, .exe appended on Windows", platform: true, exe: true}
	noPlatformFolder = reading{name: "no platform folder for this machine: bin only"}
)

// resolve returns the file splunkd runs for a command with this filename under the reading.
func resolve(appDir, filename string, h host, r reading) (string, error) {
	names := []string{filename}
	if r.exe && h.goos == "windows" && path.Ext(filename) == "" {
		names = []string{filename + ".exe"}
	}
	var dirs []string
	if r.platform && h.platform != "" {
		dirs = append(dirs, filepath.Join(appDir, h.platform, "bin"))
	}
	dirs = append(dirs, filepath.Join(appDir, "bin"))
	for _, d := range dirs {
		for _, n := range names {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("no %s in %s", strings.Join(names, " or "), strings.Join(dirs, ", "))
}

// checkResolution follows, for every host and reading, the file splunkd would run, through the launcher when
// that is what it finds, to the build that ends up running, and checks that build's format and architecture.
// The launcher really runs (with a uname that prints the host's answer); the builds are replaced by scripts
// that print their own path, since a foreign build cannot run here.
func checkResolution(t *testing.T, tree appTree, suffix string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the launcher is a POSIX shell script")
	}
	fake := appTree{}
	for _, n := range tree.names() {
		f := tree[n]
		if classify(f.data).Executable() {
			f = vetFile{data: []byte("#!/bin/sh\necho " + n + "\n"), mode: 0o755}
		}
		fake[n] = f
	}
	appDir := filepath.Join(t.TempDir(), appName)
	writeTree(t, fake, appDir)
	filename, _ := conf(t, "default/commands.conf").Lookup("regasmdetect", "filename")
	for _, h := range hosts {
		if suffix == "-cloud" && h.goos != "linux" {
			continue // Splunk Cloud Platform runs Linux only
		}
		for _, r := range []reading{specReading, exeReading, noPlatformFolder} {
			if r == noPlatformFolder && h.goos == "windows" {
				continue // contrary to the spec's words for filename; docs/app.md
			}
			exe, err := resolve(appDir, filename, h, r)
			if err != nil {
				t.Errorf("%s, %s: %v", h.name, r.name, err)
				continue
			}
			rel, _ := filepath.Rel(appDir, exe)
			rel = filepath.ToSlash(rel)
			ran := rel
			if rel == "bin/regasmdetect" {
				if h.goos == "windows" {
					t.Errorf("%s, %s: resolves to the POSIX launcher", h.name, r.name)
					continue
				}
				ran = runLauncher(t, exe, h.uname)
			}
			if got := buildKind(ran); tree[ran].data == nil || got != h.want || classify(tree[ran].data).String() != h.want {
				t.Errorf("%s, %s: runs %q (%s), want a %s build", h.name, r.name, ran, classify(tree[ran].data), h.want)
				continue
			}
			t.Logf("%-48s %-52s %s -> %s", h.name, r.name, rel, ran)
		}
	}
}

// runLauncher runs the launcher with `uname -sm` answering as the host and returns what it executed.
func runLauncher(t *testing.T, launcher, uname string) string {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "uname"), []byte("#!/bin/sh\necho '"+uname+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := command(t, launcher)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("launcher as %q: %v\n%s", uname, err, stderr.String())
		return ""
	}
	return strings.TrimSpace(string(out))
}

// TestCommandResolution runs the resolution check on the layouts the packages use, built from the
// repository's own launcher and commands.conf, so that the default tests cover it without cross-compiling.
func TestCommandResolution(t *testing.T) {
	for suffix, builds := range layouts {
		t.Run("layout"+suffix, func(t *testing.T) {
			tree := appTree{}
			for p, src := range sourceFiles {
				b, err := os.ReadFile(filepath.Join(root(t), filepath.FromSlash(src)))
				if err != nil {
					t.Fatal(err)
				}
				tree[p] = vetFile{data: b, mode: 0o644}
			}
			tree["bin/regasmdetect"] = vetFile{data: tree["bin/regasmdetect"].data, mode: 0o755}
			for _, b := range builds {
				tree[b] = vetFile{data: fakeExecutable(t, buildKind(b)), mode: 0o755}
			}
			checkResolution(t, tree, suffix)
		})
	}
}

// TestLauncherRefusesUnknownMachines: a machine the app has no build for gets a clear message and status 127.
func TestLauncherRefusesUnknownMachines(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the launcher is a POSIX shell script")
	}
	appDir := filepath.Join(t.TempDir(), appName)
	data, err := os.ReadFile(filepath.Join(root(t), "bin", "regasmdetect"))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, appTree{"bin/regasmdetect": {data: data, mode: 0o755}}, appDir)
	for _, uname := range []string{"SunOS sun4v", "Linux x86_64", "Linux riscv64"} {
		bin := t.TempDir()
		if err := os.WriteFile(filepath.Join(bin, "uname"), []byte("#!/bin/sh\necho '"+uname+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := command(t, filepath.Join(appDir, "bin", "regasmdetect"))
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		code := -1
		if cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		if err == nil || code != 127 || len(out) != 0 || !strings.Contains(stderr.String(), "no build of the search command for "+uname) {
			t.Errorf("%s: status %d, stdout %q, stderr %q", uname, code, out, stderr.String())
		}
	}
}

// fakeExecutable returns a minimal valid executable header of the kind ("ELF x86-64", "PE x86-64", ...), enough
// for the format tests.
func fakeExecutable(t *testing.T, kind string) []byte {
	t.Helper()
	switch kind {
	case "ELF x86-64", "ELF aarch64", "ELF arm":
		machine := map[string]uint16{"ELF x86-64": 62, "ELF aarch64": 183, "ELF arm": 40}[kind]
		h := make([]byte, 64)
		copy(h, "\x7fELF\x02\x01\x01")
		h[16] = 2 // ET_EXEC
		h[18], h[19] = byte(machine), byte(machine>>8)
		h[20] = 1 // EV_CURRENT
		h[52] = 64
		return h
	case "PE x86-64":
		h := make([]byte, 512) // debug/pe reads past the headers
		copy(h, "MZ")
		h[0x3c] = 0x40
		copy(h[0x40:], "PE\x00\x00")
		h[0x44], h[0x45] = 0x64, 0x86 // IMAGE_FILE_MACHINE_AMD64
		return h
	case "Mach-O x86-64":
		h := make([]byte, 32)
		copy(h, []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0, 2, 0, 0, 0})
		return h
	}
	t.Fatalf("no fake executable for %q", kind)
	return nil
}

// TestAppBuild builds the app's build of the command for this machine, as the packaging tool does for every
// platform, and checks that it is lean (build info and symbols) and runs a search.
func TestAppBuild(t *testing.T) {
	exe := leanBuild(t)
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	checkLean(t, "host build", data)
	out, err := command(t, exe, "scan", "x").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "make build") {
		t.Errorf("scan in the app's build: %v, %q; want a pointer to the command-line build", err, out)
	}
	searchSample(t, exe)
}

// TestCheckoutLinkedIntoSplunk: after `make build` (which runs `go run ./src/cmd/package -host`), a checkout
// linked into $SPLUNK_HOME/etc/apps/regasmdetect is a working app on this machine, whether splunkd looks in
// its platform folder or only in bin/. The checkout here is a folder of links to the repository's own files
// (so nothing is written into the repository), built the way `make build` builds.
func TestCheckoutLinkedIntoSplunk(t *testing.T) {
	h, ok := thisHost()
	if !ok || runtime.GOOS == "windows" {
		t.Skipf("no POSIX host description for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	checkout := filepath.Join(t.TempDir(), "checkout")
	if err := os.Mkdir(checkout, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", "build", "dist", "linux_x86_64", "linux_aarch64", "darwin_x86_64", "windows_x86_64":
			continue
		case "bin":
			// A real folder, as in a checkout: the launcher finds the builds through bin/..
			data, err := os.ReadFile(filepath.Join(root(t), "bin", "regasmdetect"))
			if err != nil {
				t.Fatal(err)
			}
			writeTree(t, appTree{"bin/regasmdetect": {data: data, mode: 0o755}}, checkout)
			continue
		}
		if err := os.Symlink(filepath.Join(root(t), e.Name()), filepath.Join(checkout, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	cmd := command(t, goTool(t), "run", "./src/cmd/package", "-host")
	cmd.Dir = checkout
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("package -host: %v\n%s", err, out)
	}
	want := filepath.Join(checkout, h.platform, "bin", "regasmdetect")
	if strings.TrimSpace(string(out)) != want {
		t.Errorf("package -host wrote %q, want %s", out, want)
	}
	splunkHome := t.TempDir()
	apps := filepath.Join(splunkHome, "etc", "apps")
	if err := os.MkdirAll(apps, 0o755); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(apps, appName)
	if err := os.Symlink(checkout, linked); err != nil {
		t.Fatal(err)
	}
	version, _ := conf(t, "default/app.conf").Lookup("launcher", "version")
	runInstalled(t, linked, version, nil)

	// The build outputs are ignored by git.
	if _, err := os.Stat(filepath.Join(root(t), ".git")); err == nil {
		for _, p := range []string{"linux_x86_64/bin/regasmdetect", "linux_aarch64/bin/regasmdetect", "darwin_x86_64/bin/regasmdetect",
			"windows_x86_64/bin/regasmdetect.exe", "windows_x86_64/bin/regasmdetect", "bin/regasmdetect.new", "build/regasmdetect", "dist/x.tgz"} {
			c := command(t, "git", "check-ignore", "-q", "--no-index", p)
			c.Dir = root(t)
			if err := c.Run(); err != nil {
				t.Errorf("git does not ignore %s: %v", p, err)
			}
		}
		c := command(t, "git", "check-ignore", "-q", "--no-index", "bin/regasmdetect")
		c.Dir = root(t)
		if err := c.Run(); err == nil {
			t.Error("git ignores bin/regasmdetect, the launcher")
		}
	}
}
