package apptest

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"

	"regasmdetect/src/splunkconf"
)

// A re-implementation of the rules of the Splunk AppInspect checks that judge an app's executables for Splunk
// Cloud Platform, as splunk-appinspect's Python code states them (read for this purpose; nothing copied):
//
//   - check_idx_binary_compatibility (tags cloud, private_app, private_victoria, migration_victoria,
//     private_classic; checks/check_binary_files.py): the executables of every custom command that is not local,
//     plus transforms.conf external_cmd files under bin/, minus files a distsearch.conf [replicationDenylist] or
//     [replicationBlacklist] regex matches as "apps/<app>/<path>"; a file libmagic calls
//     application/x-executable or application/x-sharedlib whose description lacks "arm" fails.
//   - check_aarch64_compatibility (tags splunk_appinspect, aarch_64; not a Cloud tag): every such binary
//     anywhere in the app.
//   - how a command's executables are found (custom_commands.py, find_exes, with app.py's arch_bin_dirs): the
//     folders linux_x86/bin, linux_x86_64/bin, windows_x86/bin, windows_x86_64/bin, darwin_x86/bin,
//     darwin_x86_64/bin and bin, each walked recursively; extensions for chunked commands .py .pl .sh "" .js
//     in the Linux and macOS folders, .py .pl .cmd .bat .exe .js in the Windows folders, any (current code) or
//     all of those (older code) in bin/. The current code matches the whole file name against `filename` when
//     it is set (and, through str(None), the name "None" when it is not); older code matched the name without
//     its extension against the stanza name. Both are applied here, so that a layout passes either version.
//     A *.path pointer file is followed to the "SPLUNK_HOME/etc/apps/<app>/<path>" it names.
//   - the Binary File Declaration (check_for_binary_files_without_source_code) and the files Cloud vetting
//     refuses (hidden files, local/, local.meta, users/, compiled Python, symlinks, world-writable files).

// vetFile is one file of an app tree: its path under the app folder and its bytes.
type vetFile struct {
	data []byte
	mode int64
	link bool
}

// appTree is an unpacked app: paths relative to the app folder ("bin/regasmdetect").
type appTree map[string]vetFile

func (t appTree) names() []string {
	var out []string
	for n := range t {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// fileKind is what libmagic would say of a file, as far as these checks read it.
type fileKind struct {
	Format string // ELF, PE, Mach-O, script, text, data
	Arch   string // x86-64, aarch64, arm, 386, ... (executables only)
	Mime   string // libmagic's mime type
	// Binary and ARM are AppInspect's _check_binary_status: binary = mime application/x-executable or
	// application/x-sharedlib (ELF only: PE and Mach-O files have other mime types); arm = "arm" in the
	// description, which libmagic writes as "ARM aarch64" or "ARM".
	Binary, ARM bool
}

// Executable reports an ELF, PE or Mach-O file.
func (k fileKind) Executable() bool {
	return k.Format == "ELF" || k.Format == "PE" || k.Format == "Mach-O"
}

func (k fileKind) String() string {
	if k.Executable() {
		return k.Format + " " + k.Arch
	}
	return k.Format
}

func classify(data []byte) fileKind {
	switch {
	case bytes.HasPrefix(data, []byte(elf.ELFMAG)):
		k := fileKind{Format: "ELF", Arch: "unknown"}
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			return fileKind{Format: "data", Mime: "application/octet-stream"}
		}
		switch f.Machine {
		case elf.EM_X86_64:
			k.Arch = "x86-64"
		case elf.EM_AARCH64:
			k.Arch, k.ARM = "aarch64", true
		case elf.EM_ARM:
			k.Arch, k.ARM = "arm", true
		case elf.EM_386:
			k.Arch = "386"
		default:
			k.Arch = f.Machine.String()
		}
		switch f.Type {
		case elf.ET_EXEC:
			k.Mime, k.Binary = "application/x-executable", true
		case elf.ET_DYN:
			k.Mime, k.Binary = "application/x-sharedlib", true
		default:
			k.Mime = "application/x-object"
		}
		return k
	case bytes.HasPrefix(data, []byte("MZ")):
		f, err := pe.NewFile(bytes.NewReader(data))
		if err != nil {
			return fileKind{Format: "data", Mime: "application/octet-stream"}
		}
		k := fileKind{Format: "PE", Mime: "application/vnd.microsoft.portable-executable"}
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			k.Arch = "x86-64"
		case pe.IMAGE_FILE_MACHINE_ARM64:
			k.Arch = "aarch64"
		case pe.IMAGE_FILE_MACHINE_I386:
			k.Arch = "386"
		default:
			k.Arch = fmt.Sprintf("machine %#x", f.Machine)
		}
		return k
	case len(data) >= 4 && (bytes.Equal(data[:4], []byte{0xcf, 0xfa, 0xed, 0xfe}) || bytes.Equal(data[:4], []byte{0xce, 0xfa, 0xed, 0xfe})):
		f, err := macho.NewFile(bytes.NewReader(data))
		if err != nil {
			return fileKind{Format: "data", Mime: "application/octet-stream"}
		}
		k := fileKind{Format: "Mach-O", Mime: "application/x-mach-binary"}
		switch f.Cpu {
		case macho.CpuAmd64:
			k.Arch = "x86-64"
		case macho.CpuArm64:
			k.Arch = "aarch64"
		default:
			k.Arch = f.Cpu.String()
		}
		return k
	case bytes.HasPrefix(data, []byte("#!")):
		return fileKind{Format: "script", Mime: "text/x-shellscript"}
	case bytes.IndexByte(data, 0) < 0:
		return fileKind{Format: "text", Mime: "text/plain"}
	}
	return fileKind{Format: "data", Mime: "application/octet-stream"}
}

// vetResult is one line of the report.
type vetResult struct {
	Check  string
	Result string // "pass", "failure", "warning", "not_applicable", "note"
	File   string
	Detail string
}

func (r vetResult) String() string {
	s := fmt.Sprintf("%-36s %-14s", r.Check, r.Result)
	switch {
	case r.File != "" && r.Detail != "":
		s += " " + r.File + ": " + r.Detail
	case r.File != "":
		s += " " + r.File
	case r.Detail != "":
		s += " " + r.Detail
	}
	return s
}

// Folders AppInspect resolves a command's executables in (app.py arch_bin_dirs), with their extension lists.
var (
	v1Exes      = []string{".py", ".pl"}
	windowsExes = []string{".py", ".pl", ".cmd", ".bat", ".exe", ".js"}
	nixExes     = []string{".py", ".pl", ".sh", "", ".js"}
	archBinDirs = []struct {
		dir  string
		exts []string // nil: any extension
	}{
		{"linux_x86/bin", nixExes}, {"linux_x86_64/bin", nixExes},
		{"windows_x86/bin", windowsExes}, {"windows_x86_64/bin", windowsExes},
		{"darwin_x86/bin", nixExes}, {"darwin_x86_64/bin", nixExes},
		{"bin", nil},
	}
)

// commandExecutables returns the files AppInspect takes as the executables of the app's non-local commands,
// under the current and the older matching rule together.
func commandExecutables(tree appTree, app string) ([]string, error) {
	raw, ok := tree["default/commands.conf"]
	if !ok {
		return nil, nil
	}
	conf, err := splunkconf.Parse(raw.data)
	if err != nil {
		return nil, fmt.Errorf("default/commands.conf: %w", err)
	}
	found := map[string]bool{}
	for _, st := range conf.Stanzas {
		if st.Name == "default" {
			continue
		}
		// custom_commands.py keeps local as the raw string and skips the command when it is non-empty.
		if v, _ := st.Get("local"); v != "" {
			continue
		}
		chunked, _ := st.Get("chunked")
		v2 := chunked == "true"
		filename, hasFilename := st.Get("filename")
		for _, name := range tree.names() {
			dir, exts, ok := binDir(name)
			if !ok {
				continue
			}
			base := path.Base(name)
			ext := strings.ToLower(path.Ext(base))
			stem := strings.TrimSuffix(base, path.Ext(base))
			// Current code: extension lists only for chunked commands in the platform folders; bin/ any.
			currentExts := exts
			if !v2 {
				currentExts = nil
			}
			current := (currentExts == nil || contains(currentExts, ext)) &&
				((hasFilename && base == filename) || (!hasFilename && stem == "None"))
			// Older code: the stanza name against the name without extension; bin/ with the v1 list, or all
			// lists for chunked commands.
			olderExts := exts
			if dir == "bin" {
				olderExts = v1Exes
				if v2 {
					olderExts = append(append([]string{}, windowsExes...), nixExes...)
				}
			}
			older := contains(olderExts, ext) && stem == st.Name
			if current || older {
				found[name] = true
			}
		}
	}
	// *.path pointer files name the file they run.
	pointer := regexp.MustCompile(`SPLUNK_HOME/etc/apps/(\w+)/([\w./]+)`)
	for name := range found {
		if !strings.HasSuffix(name, ".path") {
			continue
		}
		delete(found, name)
		for _, line := range strings.Split(string(tree[name].data), "\n") {
			if m := pointer.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				if _, ok := tree[m[2]]; ok {
					found[m[2]] = true
				}
			}
		}
	}
	// transforms.conf external_cmd = <file> <args>: the file under bin/.
	if raw, ok := tree["default/transforms.conf"]; ok {
		conf, err := splunkconf.Parse(raw.data)
		if err != nil {
			return nil, fmt.Errorf("default/transforms.conf: %w", err)
		}
		for _, st := range conf.Stanzas {
			if v, ok := st.Get("external_cmd"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					if _, ok := tree["bin/"+f[0]]; ok {
						found["bin/"+f[0]] = true
					}
				}
			}
		}
	}
	// distsearch.conf denylists: files never replicated to the indexers are not judged.
	if raw, ok := tree["default/distsearch.conf"]; ok {
		conf, err := splunkconf.Parse(raw.data)
		if err != nil {
			return nil, fmt.Errorf("default/distsearch.conf: %w", err)
		}
		for _, section := range []string{"replicationDenylist", "replicationBlacklist"} {
			st := conf.Stanza(section)
			if st == nil {
				continue
			}
			for _, kv := range st.Settings {
				re, err := regexp.Compile(`^(?:` + kv.Value + `)`)
				if err != nil {
					continue // AppInspect logs a bad regex and goes on
				}
				for name := range found {
					if re.MatchString("apps/" + app + "/" + name) {
						delete(found, name)
					}
				}
			}
		}
	}
	var out []string
	for n := range found {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// binDir reports the AppInspect bin folder a path lies in (recursively) and its extension list.
func binDir(name string) (string, []string, bool) {
	for _, d := range archBinDirs {
		if strings.HasPrefix(name, d.dir+"/") {
			return d.dir, d.exts, true
		}
	}
	return "", nil, false
}

// vetApp runs the checks on an app tree. strictCloud adds what a Cloud package must also satisfy beyond
// AppInspect's letter: no executable of any format (PE and Mach-O included) that would not run on aarch64
// among the command's executables, and no Windows or macOS build at all.
func vetApp(tree appTree, app string, strictCloud bool) []vetResult {
	var res []vetResult
	add := func(check, result, file, detail string) {
		res = append(res, vetResult{check, result, file, detail})
	}
	const idx = "check_idx_binary_compatibility"
	exes, err := commandExecutables(tree, app)
	switch {
	case err != nil:
		add(idx, "error", "", err.Error())
	case len(exes) == 0:
		add(idx, "note", "", "no executable of a non-local command found")
	}
	for _, name := range exes {
		k := classify(tree[name].data)
		switch {
		case strings.HasSuffix(name, ".py") || k.Format == "text" && strings.Contains(string(tree[name].data), "import "):
			add(idx, "failure", name, "Python: this re-implementation does not follow imports; the app ships no Python")
		case k.Binary && !k.ARM:
			add(idx, "failure", name, k.String()+": incompatible with the ARM aarch64 architecture")
		case strictCloud && k.Executable() && k.Arch != "aarch64":
			add(idx, "failure", name, k.String()+" (AppInspect's libmagic test passes "+k.Mime+"; it would still not run on aarch64)")
		default:
			add(idx, "pass", name, k.String()+", "+k.Mime)
		}
	}

	const a64 = "check_aarch64_compatibility"
	for _, name := range tree.names() {
		k := classify(tree[name].data)
		if k.Binary && !k.ARM {
			add(a64, "failure", name, k.String()+" (tag aarch_64 only, not in Cloud vetting)")
		} else if k.Executable() {
			add(a64, "pass", name, k.String())
		}
	}

	const decl = "binary_file_declaration"
	readme := string(tree["README.md"].data)
	i := strings.Index(readme, "\n# Binary File Declaration\n")
	if i < 0 {
		add(decl, "failure", "README.md", `no "# Binary File Declaration" section`)
	} else {
		section := readme[i:]
		urls := regexp.MustCompile(`(?m)^Source code: <(https://[^\s>]+)>$`).FindAllStringSubmatch(section, -1)
		if len(urls) != 1 {
			add(decl, "failure", "README.md", fmt.Sprintf("want one \"Source code: <https://...>\" line, found %d", len(urls)))
		} else {
			add(decl, "pass", "README.md", "source "+urls[0][1])
		}
		for _, name := range tree.names() {
			k := classify(tree[name].data)
			if !k.Executable() && name != "bin/regasmdetect" {
				continue
			}
			if strings.Contains(section, "`"+name+"`") {
				add(decl, "pass", name, "declared")
			} else {
				add(decl, "failure", name, "not named in the Binary File Declaration")
			}
		}
	}

	const files = "prohibited_files"
	bad := 0
	for _, name := range tree.names() {
		f := tree[name]
		why := ""
		base := path.Base(name)
		switch {
		case f.link:
			why = "symbolic link (check_for_symlinks... Cloud refuses links)"
		case strings.HasPrefix(base, ".") || strings.Contains(name, "/."):
			why = "hidden file"
		case strings.HasPrefix(name, "local/") || name == "metadata/local.meta":
			why = "local configuration (check_that_local_does_not_exist, check_for_local_meta)"
		case strings.HasPrefix(name, "users/"):
			why = "users/ (check_that_users_does_not_exist)"
		case strings.HasSuffix(name, ".pyc") || strings.HasSuffix(name, ".pyo") || strings.Contains(name, "__pycache__"):
			why = "compiled Python (check_for_compiled_python)"
		case strings.Contains(name, "__MACOSX"):
			why = "macOS archive residue"
		case strings.ContainsAny(name, " \t"):
			why = "space in the name (check_filenames_for_spaces)"
		case f.mode&0o002 != 0:
			why = "world-writable"
		case strictCloud && (strings.HasPrefix(name, "windows_") || strings.HasPrefix(name, "darwin_") ||
			strings.HasSuffix(name, ".exe") || strings.HasSuffix(name, ".bat") || strings.HasSuffix(name, ".cmd") || strings.HasSuffix(name, ".dll")):
			why = "Windows or macOS component in the Cloud package (check_that_app_contains_any_windows_specific_components warns)"
		}
		if why != "" {
			bad++
			add(files, "failure", name, why)
		}
	}
	if bad == 0 {
		add(files, "pass", "", fmt.Sprintf("%d files, none prohibited", len(tree)))
	}
	return res
}

// failures returns the failing results of the named checks.
func failures(res []vetResult, checks ...string) []vetResult {
	var out []vetResult
	for _, r := range res {
		if (r.Result == "failure" || r.Result == "error") && contains(checks, r.Check) {
			out = append(out, r)
		}
	}
	return out
}

// TestVettingRules checks the re-implementation itself on small app trees, so that each rule can be seen to
// fail where AppInspect fails.
func TestVettingRules(t *testing.T) {
	elfX86, elfARM := fakeExecutable(t, "ELF x86-64"), fakeExecutable(t, "ELF aarch64")
	peX86 := fakeExecutable(t, "PE x86-64")
	chunked := []byte("[regasmdetect]\nchunked = true\nfilename = regasmdetect\n")
	readme := []byte("x\n# Binary File Declaration\n\nSource code: <https://example.org/r>\n\n`bin/regasmdetect` `linux_aarch64/bin/regasmdetect`\n")
	base := func() appTree {
		return appTree{
			"default/commands.conf":          {data: chunked, mode: 0o644},
			"README.md":                      {data: readme, mode: 0o644},
			"bin/regasmdetect":               {data: []byte("#!/bin/sh\nexec x\n"), mode: 0o755},
			"linux_aarch64/bin/regasmdetect": {data: elfARM, mode: 0o755},
		}
	}
	idxFailures := func(tree appTree, strict bool) []string {
		var out []string
		for _, r := range failures(vetApp(tree, "regasmdetect", strict), "check_idx_binary_compatibility") {
			out = append(out, r.File)
		}
		return out
	}
	tests := []struct {
		name   string
		change func(appTree)
		strict bool
		want   string // failing files, space-separated
	}{
		{"launcher and aarch64 build", func(appTree) {}, false, ""},
		{"x86-64 ELF in linux_x86_64/bin", func(a appTree) { a["linux_x86_64/bin/regasmdetect"] = vetFile{data: elfX86} }, false, "linux_x86_64/bin/regasmdetect"},
		{"x86-64 ELF in a subfolder of bin", func(a appTree) { a["bin/x/regasmdetect"] = vetFile{data: elfX86} }, false, "bin/x/regasmdetect"},
		{"x86-64 ELF outside the resolved folders", func(a appTree) { a["linux_x86_64/libexec/regasmdetect"] = vetFile{data: elfX86} }, false, ""},
		{"x86-64 ELF under another name", func(a appTree) { a["linux_x86_64/bin/other"] = vetFile{data: elfX86} }, false, ""},
		{"x86-64 ELF matched by the stanza name with an extension (older rule)", func(a appTree) { a["linux_x86_64/bin/regasmdetect.sh"] = vetFile{data: elfX86} }, false, "linux_x86_64/bin/regasmdetect.sh"},
		{"PE passes libmagic's test", func(a appTree) { a["windows_x86_64/bin/regasmdetect.exe"] = vetFile{data: peX86} }, false, ""},
		{"PE fails the strict Cloud rule", func(a appTree) { a["windows_x86_64/bin/regasmdetect.exe"] = vetFile{data: peX86} }, true, "windows_x86_64/bin/regasmdetect.exe"},
		{"local command is skipped", func(a appTree) {
			a["default/commands.conf"] = vetFile{data: []byte("[regasmdetect]\nchunked = true\nlocal = true\n")}
			a["linux_x86_64/bin/regasmdetect"] = vetFile{data: elfX86}
		}, false, ""},
		{"replication denylist removes a file", func(a appTree) {
			a["default/distsearch.conf"] = vetFile{data: []byte("[replicationDenylist]\nx = apps/regasmdetect/linux_x86_64/.*\n")}
			a["linux_x86_64/bin/regasmdetect"] = vetFile{data: elfX86}
		}, false, ""},
		{"path pointer is followed", func(a appTree) {
			a["default/commands.conf"] = vetFile{data: []byte("[regasmdetect]\nchunked = true\nfilename = regasmdetect.path\n")}
			a["bin/regasmdetect.path"] = vetFile{data: []byte("$SPLUNK_HOME/etc/apps/regasmdetect/lib/x\n")}
			a["lib/x"] = vetFile{data: elfX86}
		}, false, "lib/x"},
		{"transforms external_cmd", func(a appTree) {
			a["default/transforms.conf"] = vetFile{data: []byte("[lookup]\nexternal_cmd = look.bin arg\n")}
			a["bin/look.bin"] = vetFile{data: elfX86}
		}, false, "bin/look.bin"},
	}
	for _, tt := range tests {
		tree := base()
		tt.change(tree)
		if got := strings.Join(idxFailures(tree, tt.strict), " "); got != tt.want {
			t.Errorf("%s: failing %q, want %q", tt.name, got, tt.want)
		}
	}
	// The declaration must name every executable and carry one source line.
	tree := base()
	tree["darwin_x86_64/bin/regasmdetect"] = vetFile{data: fakeExecutable(t, "Mach-O x86-64")}
	if f := failures(vetApp(tree, "regasmdetect", false), "binary_file_declaration"); len(f) != 1 || f[0].File != "darwin_x86_64/bin/regasmdetect" {
		t.Errorf("undeclared Mach-O build: %v", f)
	}
	tree = base()
	tree["README.md"] = vetFile{data: []byte("# Binary File Declaration\n`bin/regasmdetect` `linux_aarch64/bin/regasmdetect`\n")}
	if f := failures(vetApp(tree, "regasmdetect", false), "binary_file_declaration"); len(f) != 1 || f[0].File != "README.md" {
		t.Errorf("no source line: %v", f)
	}
	for _, bad := range []string{"local/commands.conf", "metadata/local.meta", ".hidden", "bin/__pycache__/x.pyc", "users/admin/x.conf", "a b.txt"} {
		tree = base()
		tree[bad] = vetFile{data: []byte("x")}
		if f := failures(vetApp(tree, "regasmdetect", false), "prohibited_files"); len(f) != 1 || f[0].File != bad {
			t.Errorf("%s: %v", bad, f)
		}
	}
	// classify reads what libmagic reports.
	for kind, data := range map[string][]byte{"ELF x86-64": elfX86, "ELF aarch64": elfARM, "PE x86-64": peX86, "script": []byte("#!/bin/sh\n")} {
		if got := classify(data).String(); got != kind {
			t.Errorf("classify(%s) = %s", kind, got)
		}
	}
}
