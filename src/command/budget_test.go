package command

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/internal/splunkdtest"
)

// TestBudgetSameRows: with a budget small enough to spill every few groups, in line and in parallel, the reply
// is byte for byte the one of the default budget, and the spill folder is made in the dispatch folder and
// removed at the end.
func TestBudgetSameRows(t *testing.T) {
	saved := budgetUnit
	defer func() { budgetUnit = saved }()
	for seed := uint64(1); seed <= 3; seed++ {
		tab := tricky(seed, 3000)
		bodies := [][]byte{tab.EncodeCSV(tab.Rows[:1000]), nil, tab.EncodeCSV(tab.Rows[1000:])}
		for _, args := range [][]string{nil, {"annotate=t", "fillnull_value=NULL"}} {
			for _, parallel := range []bool{false, true} {
				budgetUnit = 1 << 20
				want, code := runWith(t, streamOf(args, bodies...), parallel)
				if code != 0 || !strings.Contains(want, "WKS") {
					t.Fatalf("default budget: exit %d\n%s", code, want)
				}
				dispatch := t.TempDir()
				p := splunkdtest.Process{Args: append([]string{"max_mem_usage_mb=1"}, args...), DispatchDir: dispatch}
				stream := splunkdtest.Chunk(p.GetInfoRequest(), nil)
				for i, b := range bodies {
					stream = append(stream, splunkdtest.Chunk(splunkdtest.ExecuteMeta(i == len(bodies)-1), b)...)
				}
				budgetUnit = 2 << 10 // max_mem_usage_mb=1 is 2 KiB: a few groups
				spills := spillsSeen(t, dispatch, func() {
					got, code := runWith(t, stream, parallel)
					if code != 0 || got != want {
						t.Errorf("seed %d %v parallel=%v: 2 KiB budget gives (exit %d)\n%.600s\nwant\n%.600s", seed, args, parallel, code, got, want)
					}
				})
				if !spills {
					t.Errorf("seed %d %v parallel=%v: nothing was spilled under the dispatch folder", seed, args, parallel)
				}
				if left, _ := os.ReadDir(dispatch); len(left) != 0 {
					t.Errorf("the spill folder was left behind: %v", left)
				}
			}
		}
	}
}

// spillsSeen runs f while watching dir for a spill folder.
func spillsSeen(t *testing.T, dir string, f func()) bool {
	t.Helper()
	done := make(chan struct{})
	seen := make(chan bool, 1)
	go func() {
		found := false
		for {
			if es, _ := os.ReadDir(dir); len(es) > 0 && strings.HasPrefix(es[0].Name(), "regasmdetect-spill-") {
				found = true
			}
			select {
			case <-done:
				seen <- found
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	return <-seen
}

// TestBudgetOption: max_mem_usage_mb takes a whole number of MB from 1; 0 (no bound) is refused.
func TestBudgetOption(t *testing.T) {
	for _, v := range []string{"0", "-1", "x", "1.5", "9999999999"} {
		if _, err := ParseOptions([]string{"max_mem_usage_mb=" + v}); err == nil {
			t.Errorf("max_mem_usage_mb=%s accepted", v)
		}
	}
	o, err := ParseOptions(nil)
	if err != nil || o.MaxMemMB != DefaultMaxMemMB {
		t.Errorf("default %d (%v), want %d", o.MaxMemMB, err, DefaultMaxMemMB)
	}
	o, err = ParseOptions([]string{"max_mem_usage_mb=64"})
	if err != nil || o.MaxMemMB != 64 {
		t.Errorf("max_mem_usage_mb=64 gives %d (%v)", o.MaxMemMB, err)
	}
}

// TestMapCombiner: the map phase answers with partials only at the end, or earlier when they outgrow half the
// budget; either way every record is counted once.
func TestMapCombiner(t *testing.T) {
	saved := budgetUnit
	defer func() { budgetUnit = saved }()
	tab := tricky(9, 3000)
	bodies := [][]byte{tab.EncodeCSV(tab.Rows[:1000]), tab.EncodeCSV(tab.Rows[1000:2000]), tab.EncodeCSV(tab.Rows[2000:])}
	for _, unit := range []int64{1 << 20, 1 << 10} {
		budgetUnit = unit
		out, code := runWith(t, streamOf([]string{"phase=map", "sid=s1", "max_mem_usage_mb=1"}, bodies...), false)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		replies, err := splunkdtest.ParseReplies([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		nonEmpty, records := 0, 0
		for _, rep := range replies[1:] {
			if len(rep.Body) == 0 {
				continue
			}
			nonEmpty++
			part, err := splunkdtest.DecodeCSV(rep.Body)
			if err != nil {
				t.Fatal(err)
			}
			col := slices.Index(part.Fields, "regasmdetect_records")
			for _, r := range part.Rows {
				if len(r[col]) == 1 {
					n, _ := strconv.Atoi(r[col][0])
					records += n
				}
			}
		}
		wantNonEmpty := 1
		if unit < 1<<20 {
			wantNonEmpty = 3
		}
		if nonEmpty != wantNonEmpty || records != 3000 {
			t.Errorf("budget unit %d: %d replies with partials (want %d), %d records counted (want 3000)", unit, nonEmpty, wantNonEmpty, records)
		}
	}
}
