// Package testevents builds export events for the exporters' tests: [Make] writes them from a fixed table of
// process-creation findings (no outside data needed), [Load] reads them from a real Sysmon log of the shared
// reference material. Each event carries a "seq" field holding its index, so that a test receiver can tell
// exactly which events it got.
package testevents

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/export"
	"regasmdetect/src/internal/shared"
)

// Source is the shared Sysmon log that Load reads.
const Source = "data/sysmon/evtx-attack-samples/subset_regasm_regsvcs_mentions.jsonl"

// row is one synthetic process-creation finding. The strings carry what a real command line can: quotes,
// backslashes, spaces, non-ASCII letters, a tab, U+2028, characters outside the BMP.
type row struct {
	host, user, parent, image, cmdline string
	hashes                             []string
}

var rows = []row{
	{"WKS-FIN-07.corp.example", `CORP\alice`, `C:\Windows\Explorer.EXE`,
		`C:\Windows\Microsoft.NET\Framework64\v4.0.30319\RegAsm.exe`,
		`"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\RegAsm.exe" /U C:\Users\alice\AppData\Local\Temp\x.dll`,
		[]string{"SHA1=0A1B2C3D4E5F60718293A4B5C6D7E8F901234567", "MD5=00112233445566778899AABBCCDDEEFF"}},
	{"srv-db-02", `NT AUTHORITY\SYSTEM`, `C:\Windows\System32\cmd.exe /c "regasm.exe a.dll"`,
		`C:\Windows\System32\rundll32.exe`, "rundll32.exe shell32.dll,Control_RunDLL \t\u00e9t\u00e9\u2028",
		[]string{"SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", "IMPHASH=00000000000000000000000000000000"}},
	{"LAPTOP-ÜBER-01", `CORP\björn`, `"C:\Program Files\App\app.exe" --flag=<&>`,
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		`powershell.exe -enc SQBFAFgA -c "Write-Host '𝄞 \"quoted\" \\share\path'"`,
		[]string{"SHA1=FFEEDDCCBBAA99887766554433221100FFEEDDCC", "MD5=0123456789ABCDEF0123456789ABCDEF", "IMPHASH=ABCDEF0123456789ABCDEF0123456789"}},
}

// base is the time of the first synthetic event: 2024-01-02T03:04:05.678Z in epoch seconds.
const base = 1704164645.678

// Make returns n synthetic events shaped like detection rows (dest, user, parent_process, process_name,
// process, process_id, parent_process_id, a multivalue hashes field, and seq), cycling through a fixed table,
// with times 1.5 s apart. It needs no outside data.
func Make(n int) []export.Event {
	out := make([]export.Event, n)
	for i := range out {
		r := rows[i%len(rows)]
		image := strings.ReplaceAll(r.image, `\`, "/")
		out[i] = export.Event{
			Time: base + 1.5*float64(i),
			Host: r.host,
			Fields: []export.Field{
				{Name: "dest", Values: []string{r.host}},
				{Name: "user", Values: []string{r.user}},
				{Name: "parent_process", Values: []string{r.parent}},
				{Name: "process_name", Values: []string{path.Base(image)}},
				{Name: "process", Values: []string{r.cmdline}},
				{Name: "process_id", Values: []string{strconv.Itoa(4000 + 4*i)}},
				{Name: "parent_process_id", Values: []string{fmt.Sprint(1000 + i%7)}},
				{Name: "hashes", Values: r.hashes},
				{Name: "seq", Values: []string{strconv.Itoa(i)}},
			},
		}
	}
	return out
}

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

// Indexes returns the event indexes of failures, in order.
func Indexes(fs []export.Failure) []int {
	out := make([]int, len(fs))
	for i, f := range fs {
		out[i] = f.Index
	}
	return out
}

// Check asserts what every export must hold, for n events: each is sent, failed or uncertain (both with a
// reason) exactly once; the error is nil exactly when all were sent; neither the error nor any failure shows secret.
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
		if u.Index < 0 || u.Index >= n || state[u.Index] != 0 {
			tb.Fatalf("uncertain index %d out of range or repeated", u.Index)
		}
		state[u.Index] = 'U'
		if u.Err == nil || strings.Contains(u.Err.Error(), secret) {
			tb.Fatalf("uncertain event %d: %v (no reason, or shows the secret)", u.Index, u.Err)
		}
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
