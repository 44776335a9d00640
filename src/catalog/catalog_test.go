package catalog

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"regasmdetect/src/internal/shared"
)

var loadShared = sync.OnceValues(func() (*Catalog, error) {
	return Load(sharedDir)
})

var sharedDir string

func sharedCatalog(t *testing.T) *Catalog {
	t.Helper()
	sharedDir = shared.Path(t, "data/escu/security_content")
	cat, err := loadShared()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestSharedCounts pins the counts of the snapshot (commit b13b314): 557 Endpoint.Processes tstats
// detections, 523 of them production, and the target of at least 421 production detections that run.
func TestSharedCounts(t *testing.T) {
	cat := sharedCatalog(t)
	s := cat.Summary()
	if s.All != 557 || s.Production != 523 {
		t.Errorf("all %d production %d, want 557 and 523", s.All, s.Production)
	}
	if s.ProductionRuns < 421 {
		t.Errorf("%d production detections run, want at least 421", s.ProductionRuns)
	}
	t.Logf("all %d (%d run), production %d (%d run)", s.All, s.AllRuns, s.Production, s.ProductionRuns)
	e := cat.Entry("detect_regasm_spawning_a_process")
	if e == nil || !e.Runs() {
		t.Fatalf("the regasm detection does not run: %+v", e)
	}
}

func TestMain(t *testing.T) {
	dir := shared.Path(t, "data/escu/security_content")
	var out, errb bytes.Buffer
	if code := Main([]string{"list", "--escu", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "detect_regasm_spawning_a_process\tproduction\truns\n") ||
		!strings.Contains(out.String(), "Endpoint.Processes tstats detections: 557,") {
		t.Errorf("output lacks the regasm line or the summary:\n%s", out.String()[:min(2000, out.Len())])
	}
	for _, args := range [][]string{nil, {"list"}, {"list", "--escu"}, {"other"}, {"list", "--escu", dir, "extra"}} {
		if code := Main(args, &out, &errb); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
	}
	if code := Main([]string{"list", "--escu", t.TempDir()}, &out, &errb); code != 1 {
		t.Errorf("an empty directory: exit %d, want 1", code)
	}
}
