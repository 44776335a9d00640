package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"regasmdetect/src/internal/splunkdtest"
)

// emulate runs whole searches through the splunkd emulator, the map phase on n simulated indexers with the
// records split unevenly (indexer k gets a share proportional to 1/(k+1)), and reports what reaches the search
// head and what its reduce process costs, as the number of records and the number of groups vary.
func emulate(bin, list string) error {
	var counts []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("-indexers %q: want indexer counts", list)
		}
		counts = append(counts, n)
	}
	fmt.Println("indexers  records  groups  max/min share  partial rows to SH  bytes to SH  SH reduce CPU  map CPU (sum)  rows")
	for _, n := range counts {
		for _, c := range []struct{ records, groups int }{{50_000, 1_000}, {200_000, 1_000}, {200_000, 4_000}} {
			recs := records(c.records, c.groups)
			plan := splunkdtest.Plan{Indexers: n, Uneven: true, Seed: 5, ChunkRows: []int{10_000}}
			res, err := splunkdtest.Search(context.Background(), bin, nil, recs, plan)
			if err != nil {
				return fmt.Errorf("%d indexers: %w", n, err)
			}
			var mapCPU time.Duration
			lo, hi := int64(-1), int64(0)
			for _, m := range res.Maps {
				mapCPU += m.CPU
				hi = max(hi, m.BodyIn)
				if lo < 0 || m.BodyIn < lo {
					lo = m.BodyIn
				}
			}
			if len(res.Table.Rows) != c.groups {
				return fmt.Errorf("%d indexers, %d records: %d rows, want %d", n, c.records, len(res.Table.Rows), c.groups)
			}
			fmt.Printf("%8d %8d %7d %14.1f %19d %12d %13.3fs %13.3fs %5d\n", n, c.records, c.groups, float64(hi)/float64(max(lo, 1)),
				res.Partial, res.Reduce.BodyIn, res.Reduce.CPU.Seconds(), mapCPU.Seconds(), len(res.Table.Rows))
		}
	}
	return nil
}

// records builds n detection records falling into g groups (and as many non-matching records).
func records(n, g int) *splunkdtest.Table {
	fields := []string{"_time", "Processes.parent_process_name", "Processes.dest", "Processes.user", "Processes.parent_process",
		"Processes.process_name", "Processes.process", "Processes.process_id", "Processes.parent_process_id"}
	rows := make([][]string, 0, n)
	for i := 0; i < n; i++ {
		parent := "RegAsm.exe"
		if i%2 == 1 {
			parent = "explorer.exe"
		}
		k := (i / 2) % g
		rows = append(rows, []string{strconv.Itoa(1700000000 + i), parent, "WKS-" + strconv.Itoa(k%500) + ".corp.example", `CORP\jdoe`,
			`"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\RegAsm.exe" /U "C:\Users\Public\a,b.dll"`, "cmd.exe",
			`cmd.exe /c "echo ` + strconv.Itoa(k) + `"`, "1000", "500"})
	}
	return splunkdtest.Single(fields, rows)
}
