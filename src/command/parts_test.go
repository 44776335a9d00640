package command

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestResultInParts: a spilled result of thousands of groups, merged in parts of a few hundred groups on
// every core (parts rendered ahead into buffers, or in their turn when longer than partBufferMax), in line and
// in parallel, with and without annotate, is byte for byte the reply of the default budget, where nothing spills
// and the result is a single part.
func TestResultInParts(t *testing.T) {
	savedUnit, savedPer, savedHook, savedMax := budgetUnit, groupsPerPart, testHookParts, partBufferMax
	defer func() {
		budgetUnit, groupsPerPart, testHookParts, partBufferMax = savedUnit, savedPer, savedHook, savedMax
	}()
	tab := tricky(11, 9000)
	for i, rec := range tab.Rows { // most records their own group: the process gets a number
		if i%5 != 0 && len(rec[6]) == 1 {
			rec[6] = []string{rec[6][0] + " #" + strconv.Itoa(i)}
		}
	}
	bodies := [][]byte{tab.EncodeCSV(tab.Rows[:4000]), nil, tab.EncodeCSV(tab.Rows[4000:])}
	var parts int
	testHookParts = func(n int) { parts = n }
	cores := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(cores)
	for _, args := range [][]string{nil, {"annotate=t", "fillnull_value=NULL"}} {
		for _, parallel := range []bool{false, true} {
			budgetUnit, groupsPerPart, parts = 1<<20, savedPer, 0
			want, code := runWith(t, streamOf(args, bodies...), parallel)
			if code != 0 || strings.Count(want, " #") < 2000 || parts != 0 {
				t.Fatalf("default budget: exit %d, %d parts\n%.300s", code, parts, want)
			}
			for _, per := range []int{1, 300, 700} {
				for x, procs := range []int{0, 1, 4} { // the machine's cores, one, more than it has
					// Parts held in buffers; parts longer than 20 KB, or every part, rendered in their turn.
					partBufferMax = []int64{savedMax, 20 << 10, 0}[x]
					// max_mem_usage_mb=1 is 256 KiB: runs of hundreds of groups, each with several restart points.
					budgetUnit, groupsPerPart, parts = 256<<10, per, 0
					if procs == 0 {
						procs = cores
					}
					runtime.GOMAXPROCS(procs)
					got, code := runWith(t, streamOf(append([]string{"max_mem_usage_mb=1"}, args...), bodies...), parallel)
					if code != 0 || got != want {
						t.Errorf("%v parallel=%v, %d groups per part, GOMAXPROCS %d: (exit %d)\n%.600s\nwant\n%.600s", args, parallel, per, runtime.GOMAXPROCS(0), code, got, want)
					}
					if parts < 2 {
						t.Errorf("%v parallel=%v, %d groups per part: merged in %d parts", args, parallel, per, parts)
					}
				}
			}
		}
	}
}
