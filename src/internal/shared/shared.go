// Package shared locates the read-only reference material (real splunkd recordings, ESCU content, Sysmon
// logs) that lives beside the project as ../shared. Tests use it in place: they skip when it is absent, except
// under CI (CI=true), where its absence is a failure.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the absolute path of the shared folder (the project's sibling "shared"), or "" when it is absent.
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <project>/src/internal/shared/shared.go
	project := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(file))))
	root := filepath.Join(filepath.Dir(project), "shared")
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return ""
	}
	return root
}

// Path returns the absolute path of rel (for example "data/scpv2/splunk-6.3/sum.reduce.input") inside the
// shared folder. When the folder or the file is missing the test is skipped, or fails when CI=true.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	root := Root()
	if root == "" {
		missing(tb, "the shared folder beside the project is absent")
		return ""
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		missing(tb, "shared file missing: "+rel)
		return ""
	}
	return p
}

func missing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (mandatory under CI=true)", why)
	}
	tb.Skip(why)
}

// Read returns the bytes of the shared file rel (see Path); the test fails when it cannot be read.
func Read(tb testing.TB, rel string) []byte {
	tb.Helper()
	data, err := os.ReadFile(Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
