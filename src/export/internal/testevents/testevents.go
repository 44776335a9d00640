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

// Check asserts what every export must hold, for n events: each is sent, failed (with a reason) or uncertain
// exactly once; the error is nil exactly when all were sent; neither the error nor any failure shows secret.
// When accepted is not nil it gives how many times the receiver accepted event i: sent events exactly once,
// failed ones never, uncertain ones at most once.
func Check(tb testing.TB, n int, res export.Result, err error, secret string, accepted func(i int) int) {
	tb.Helper()
	if !res.Complete(n) {
		tb.Fatalf("result accounts for %d+%d+%d events, want %d", res.Sent, len(res.Failed), len(res.Uncertain), n)
	}
	state := make([]byte, n)
	for _, f := range res.Failed {
		if f.Index < 0 || f.Index >= n || state[f.Index] != 0 {
			tb.Fatalf("failed index %d out of range or repeated", f.Index)
		}
		state[f.Index] = 'F'
		if f.Err == nil || strings.Contains(f.Err.Error(), secret) {
			tb.Fatalf("failure of event %d: %v (no reason, or shows the secret)", f.Index, f.Err)
		}
	}
	for _, u := range res.Uncertain {
		if u < 0 || u >= n || state[u] != 0 {
			tb.Fatalf("uncertain index %d out of range or repeated", u)
		}
		state[u] = 'U'
	}
	if (err == nil) != (res.Sent == n) {
		tb.Fatalf("err = %v with %d of %d sent", err, res.Sent, n)
	}
	if err != nil && strings.Contains(err.Error(), secret) {
		tb.Fatalf("error shows the secret: %v", err)
	}
	if accepted == nil {
		return
	}
	for i, s := range state {
		got := accepted(i)
		switch {
		case s == 0 && got != 1:
			tb.Errorf("event %d reported sent, accepted %d times", i, got)
		case s == 'F' && got != 0:
			tb.Errorf("event %d reported failed, accepted %d times", i, got)
		case s == 'U' && got > 1:
			tb.Errorf("event %d uncertain, accepted %d times", i, got)
		}
	}
}
