package apptest

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The AppInspect checks of escu.md §8 that can be decided from the source tree; the package-level ones (modes,
// layout) are in package_test.go.

const appName = "regasmdetect"

var versionRE = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

type manifest struct {
	SchemaVersion string `json:"schemaVersion"`
	Info          struct {
		Title string `json:"title"`
		ID    struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"id"`
		Description  string `json:"description"`
		ReleaseNotes struct {
			Text string `json:"text"`
		} `json:"releaseNotes"`
	} `json:"info"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), "app", "app.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("app.manifest: %v", err)
	}
	return m
}

func TestAppIdentity(t *testing.T) {
	app := conf(t, "default/app.conf")
	m := readManifest(t)
	get := func(stanza, key string) string {
		v, ok := app.Lookup(stanza, key)
		if !ok {
			t.Errorf("app.conf lacks [%s] %s", stanza, key)
		}
		return v
	}
	// check_for_valid_package_id, check_that_app_name_config_is_valid: id = folder = [id] name = manifest.
	for what, v := range map[string]string{
		"[package] id": get("package", "id"), "[id] name": get("id", "name"), "app.manifest info.id.name": m.Info.ID.Name,
	} {
		if v != appName {
			t.Errorf("%s = %q, want %q", what, v, appName)
		}
	}
	if !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._]*[A-Za-z0-9_]$`).MatchString(appName) {
		t.Errorf("app name %q is not a valid package id", appName)
	}
	// check_app_version: Major.Minor.Revision, the same everywhere.
	v := get("launcher", "version")
	if !versionRE.MatchString(v) {
		t.Errorf("[launcher] version %q is not Major.Minor.Revision", v)
	}
	if id := get("id", "version"); id != v || m.Info.ID.Version != v {
		t.Errorf("versions differ: [launcher] %q, [id] %q, manifest %q", v, id, m.Info.ID.Version)
	}
	// [install] build: a positive integer.
	if n, err := strconv.Atoi(get("install", "build")); err != nil || n < 1 {
		t.Errorf("[install] build is not a positive integer")
	}
	// check_that_setup_has_not_been_performed.
	if get("install", "is_configured") != "false" {
		t.Error("[install] is_configured must be false")
	}
	// check_no_install_source_checksum.
	for _, k := range []string{"install_source_checksum", "install_source_local_checksum"} {
		if _, ok := app.Lookup("install", k); ok {
			t.Errorf("[install] %s must not be set by the app", k)
		}
	}
	// [ui] label 5-80 characters, no "Splunk For" prefix; description at most 200 characters.
	label := get("ui", "label")
	if n := len(label); n < 5 || n > 80 || strings.HasPrefix(strings.ToLower(label), "splunk for") {
		t.Errorf("[ui] label %q: want 5-80 characters, no Splunk For prefix", label)
	}
	if d := get("launcher", "description"); len(d) > 200 || d == "" {
		t.Errorf("[launcher] description has %d characters, want 1-200", len(d))
	}
	if m.Info.Description != get("launcher", "description") {
		t.Error("app.manifest description differs from [launcher] description")
	}
	// check_for_invalid_app_names: no "Splunk App for" naming.
	if strings.Contains(strings.ToLower(label+m.Info.Title), "splunk") {
		t.Errorf("label %q / title %q must not use the Splunk name", label, m.Info.Title)
	}
	// A visible app needs a view; this app ships none.
	if vis := get("ui", "is_visible"); vis != "false" {
		if _, err := os.Stat(filepath.Join(root(t), "default", "data", "ui", "views")); err != nil {
			t.Errorf("[ui] is_visible = %s without a view", vis)
		}
	}
	if m.SchemaVersion == "" || m.Info.ReleaseNotes.Text != "./README.md" {
		t.Errorf("manifest schemaVersion %q, releaseNotes.text %q", m.SchemaVersion, m.Info.ReleaseNotes.Text)
	}
}

func TestDefaultMetaAccess(t *testing.T) {
	meta := conf(t, "metadata/default.meta")
	app := meta.Stanza("")
	if app == nil {
		t.Fatalf("default.meta has no [] stanza: %q", meta.Names())
	}
	if v, _ := app.Get("export"); v != "system" {
		t.Errorf("[] export = %q, want system", v)
	}
	accessRE := regexp.MustCompile(`^read : \[ ([^\]]*) \], write : \[ ([^\]]*) \]$`)
	for _, st := range meta.Stanzas {
		a, ok := st.Get("access")
		if !ok {
			if st.Name == "" {
				t.Error("[] has no access")
			}
			continue
		}
		m := accessRE.FindStringSubmatch(a)
		if m == nil {
			t.Errorf("[%s] access %q: unexpected form", st.Name, a)
			continue
		}
		// check_meta_default_write_access: write roles present, not *; sc_admin for Splunk Cloud.
		write := strings.Split(m[2], ", ")
		if strings.Contains(m[2], "*") || !contains(write, "admin") || !contains(write, "sc_admin") {
			t.Errorf("[%s] write roles %q: want admin and sc_admin, never *", st.Name, m[2])
		}
		if m[1] != "*" {
			t.Errorf("[%s] read roles %q, want *", st.Name, m[1])
		}
	}
	for _, name := range []string{"commands", "macros"} {
		st := meta.Stanza(name)
		if st == nil {
			t.Errorf("default.meta has no [%s]", name)
			continue
		}
		if v, _ := st.Get("export"); v != "system" {
			t.Errorf("[%s] export = %q, want system", name, v)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestAppTreeRules(t *testing.T) {
	r := root(t)
	// check_that_local_does_not_exist, check_that_users_does_not_exist, check_for_local_meta.
	for _, p := range []string{"local", "users", "metadata/local.meta", "default/local"} {
		if _, err := os.Stat(filepath.Join(r, p)); err == nil {
			t.Errorf("%s must not exist in the app", p)
		}
	}
	// check_filenames_for_spaces, check_metadata_white_list, static/ allow list.
	staticOK := regexp.MustCompile(`\.(png|svg|css|txt|md|jpg|jpeg|gif|ico)$`)
	for _, dir := range []string{"default", "metadata", "app", "static"} {
		base := filepath.Join(r, dir)
		if _, err := os.Stat(base); err != nil {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(r, p)
			if strings.ContainsAny(d.Name(), " \t") {
				t.Errorf("%s: space in name", rel)
			}
			if d.IsDir() {
				return nil
			}
			switch {
			case dir == "metadata" && filepath.Ext(p) != ".meta":
				t.Errorf("%s: only .meta files belong in metadata/", rel)
			case dir == "default" && filepath.Ext(p) != ".conf":
				t.Errorf("%s: unexpected file in default/", rel)
			case dir == "static" && !staticOK.MatchString(p):
				t.Errorf("%s: file type not allowed in static/", rel)
			}
			if info, err := d.Info(); err == nil && info.Mode().Perm()&0o002 != 0 {
				t.Errorf("%s: world-writable", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadmeDeclaresBinaries(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root(t), "app", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n# Binary File Declaration\n")
	if i < 0 {
		t.Fatal(`app/README.md has no "# Binary File Declaration" section`)
	}
	section := text[i:]
	for _, b := range []string{"bin/regasmdetect", "linux_x86_64/bin/regasmdetect", "linux_x86_64/libexec/regasmdetect", "linux_aarch64/bin/regasmdetect",
		"windows_x86_64/bin/regasmdetect.exe", "windows_x86_64/bin/regasmdetect", "darwin_x86_64/bin/regasmdetect", "src/cmd/regasmdetect-splunk", "go run ./src/cmd/package"} {
		if !strings.Contains(section, b) {
			t.Errorf("binary file declaration does not name %q", b)
		}
	}
	if v, _ := conf(t, "default/app.conf").Lookup("launcher", "version"); !strings.Contains(text, "Version "+v+".") {
		t.Errorf("README does not state version %s", v)
	}
}
