package scs

import (
	"os/exec"
	"strings"
	"testing"
)

const sdk = "github.com/splunk/splunk-cloud-sdk-go"

// goListDeps returns the transitive imports of pkg, or ok=false when the package does not exist (yet).
func goListDeps(t *testing.T, pkg string) (deps []string, ok bool) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-e", "-f", "{{if .Error}}ERR {{.Error}}{{else}}{{.Dir}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	if s := strings.TrimSpace(string(out)); strings.HasPrefix(s, "ERR ") || s == "" {
		return nil, false
	}
	out, err = exec.Command(goBin, "list", "-e", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out)), true
}

// TestProtocolPathDoesNotImportSDK asserts that the search command's packages, and the HEC exporter, never
// depend on splunk-cloud-sdk-go, directly or not: the SDK prints to stdout (which is the chunk stream in
// protocol mode), registers glog flags and adds 1.6 MB.
func TestProtocolPathDoesNotImportSDK(t *testing.T) {
	if deps, ok := goListDeps(t, "regasmdetect/src/export/scs"); !ok || !contains(deps, sdk+"/services/ingest") {
		t.Fatalf("the check is blind: scs itself should show the SDK among its dependencies")
	}
	for _, pkg := range []string{
		"regasmdetect/src/scpv2",
		"regasmdetect/src/engine",
		"regasmdetect/src/cim",
		"regasmdetect/src/tstats",
		"regasmdetect/src/escu",
		"regasmdetect/src/command",
		"regasmdetect/src/export",
		"regasmdetect/src/export/hec",
	} {
		t.Run(pkg, func(t *testing.T) {
			deps, ok := goListDeps(t, pkg)
			if !ok {
				t.Skipf("%s does not exist yet", pkg)
			}
			for _, d := range deps {
				if strings.HasPrefix(d, sdk) || d == "github.com/golang/glog" {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
