// Package testevents builds export events from a real Sysmon log of the shared reference material, for the
// exporters' tests. Each event carries a "seq" field holding its index, so that a test receiver can tell
// exactly which events it got.
package testevents

import (
	"bufio"
	"encoding/json"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/export"
	"regasmdetect/src/internal/shared"
)

// Source is the shared Sysmon log the events come from.
const Source = "data/sysmon/evtx-attack-samples/subset_regasm_regsvcs_mentions.jsonl"

// Load returns n events, cycling through the process-creation records of Source, shaped like detection rows
// (dest, user, parent_process, process_name, process, process_id, parent_process_id, a multivalue hashes
// field, and seq). It skips the test when the shared material is absent.
func Load(tb testing.TB, n int) []export.Event {
	tb.Helper()
	f, err := os.Open(shared.Path(tb, Source))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var base []export.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			System struct {
				EventID  string
				Computer string
			}
			EventData map[string]string
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			tb.Fatalf("%s: %v", Source, err)
		}
		if rec.System.EventID != "1" {
			continue
		}
		d := rec.EventData
		ev := export.Event{Host: rec.System.Computer}
		if t, err := time.Parse("2006-01-02 15:04:05.000", d["UtcTime"]); err == nil {
			ev.Time = float64(t.UnixMilli()) / 1000
		}
		image := strings.ReplaceAll(d["Image"], `\`, "/")
		ev.Fields = []export.Field{
			{Name: "dest", Values: []string{rec.System.Computer}},
			{Name: "user", Values: []string{d["User"]}},
			{Name: "parent_process", Values: []string{d["ParentCommandLine"]}},
			{Name: "process_name", Values: []string{path.Base(image)}},
			{Name: "process", Values: []string{d["CommandLine"]}},
			{Name: "process_id", Values: []string{d["ProcessId"]}},
			{Name: "parent_process_id", Values: []string{d["ParentProcessId"]}},
			{Name: "hashes", Values: strings.Split(d["Hashes"], ",")},
		}
		base = append(base, ev)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", Source, err)
	}
	if len(base) == 0 {
		tb.Fatalf("%s: no process-creation record", Source)
	}
	out := make([]export.Event, n)
	for i := range out {
		ev := base[i%len(base)]
		ev.Fields = append(ev.Fields[:len(ev.Fields):len(ev.Fields)], export.Field{Name: "seq", Values: []string{strconv.Itoa(i)}})
		out[i] = ev
	}
	return out
}
