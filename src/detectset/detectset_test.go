package detectset

import (
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"regasmdetect/src/catalog"
	"regasmdetect/src/cim"
	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
	"regasmdetect/src/internal/shared"
	"regasmdetect/src/sysmon"
)

// handSearches are filters of every shape the pre-test distinguishes: pinned terms (single, IN, OR of
// comparisons on two fields), substrings, prefix/suffix and multi-segment wildcards, NOT, !=, non-ASCII and
// case-folding literals, and an unpinned filter.
var handSearches = []string{
	`Processes.parent_process_name=regasm.exe NOT (Processes.process_name IN ("conhost.exe"))`,
	`(Processes.process_name=rundll32.exe OR Processes.original_file_name=RUNDLL32.EXE) Processes.process="*,#*"`,
	`Processes.process_name IN ("cmd.exe", "powershell.exe") Processes.process IN ("*-enc*", "*/c echo*", "*whoami")`,
	`Processes.process="*\\Windows\\Temp\\*" OR Processes.process_path="C:\\Users\\*\\AppData\\*.exe"`,
	`Processes.process="*a*b*c*" Processes.process!="*zzz*"`,
	`Processes.process_name="ſvchost.exe" OR Processes.process_name="\u212aeyboard.exe"`,
	`Processes.process_name=svchost.exe Processes.parent_process_name!=services.exe`,
	`NOT Processes.user=SYSTEM Processes.process_name IN ("net.exe", "net1.exe") Processes.process="* user *"`,
	`Processes.process="*"`,
	`Processes.process_name="Ünïcode.exe" Processes.process="*ÄÖ*"`,
	`Processes.parent_process_name=winword.exe OR Processes.parent_process_name=excel.exe OR Processes.process_name=mshta.exe`,
	`Processes.process_name=""`,
}

func handDetections(tb testing.TB) []*engine.Detection {
	tb.Helper()
	var out []*engine.Detection
	for i, w := range handSearches {
		name := fmt.Sprintf("Hand %d", i)
		d := &escu.Detection{
			Name: name,
			Search: "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime " +
				"from datamodel=Endpoint.Processes where " + w + " by Processes.dest Processes.user Processes.process_name " +
				"Processes.process | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)`",
			Tags: escu.Tags{Message: "$parent_process_name$ started $process_name$ on $dest$", RiskScore: 50},
		}
		c, err := engine.Compile(d)
		if err != nil {
			tb.Fatalf("hand search %d: %v", i, err)
		}
		out = append(out, c)
	}
	return out
}

// checkoutDetections returns every Endpoint.Processes detection of the shared security_content snapshot
// that runs (compiled from its expanded search), plus the embedded ones.
func checkoutDetections(tb testing.TB) []*engine.Detection {
	tb.Helper()
	cat, err := catalog.Load(shared.Path(tb, "data/escu/security_content"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []*engine.Detection
	for _, e := range cat.Runnable() {
		out = append(out, e.Compiled)
	}
	for _, d := range escu.Embedded() {
		c, err := engine.Compile(d)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) < 400 {
		tb.Fatalf("only %d detections run", len(out))
	}
	return out
}

// sysmonFiles are the shared real logs, one rendering of each.
var sysmonFiles = []string{
	"data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl",
	"data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl",
	"data/sysmon/omerbenamram-evtx/sysmon.jsonl",
}

func readProcesses(tb testing.TB) []cim.Process {
	tb.Helper()
	var out []cim.Process
	for _, rel := range sysmonFiles {
		in, err := sysmon.Open(shared.Path(tb, rel), sysmon.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		for {
			var p cim.Process
			err := in.Events.Next(&p)
			if err == io.EOF {
				break
			}
			if err != nil {
				continue
			}
			out = append(out, p)
		}
		in.Close()
	}
	return out
}

// separate runs each detection on its own, as the scanner did before one pass: the reference.
type separate struct {
	dets []*engine.Detection
	aggs []*engine.Aggregator
	recs []*engine.Record
}

func newSeparate(dets []*engine.Detection, o engine.Options) *separate {
	s := &separate{dets: dets}
	for _, d := range dets {
		s.aggs = append(s.aggs, d.NewAggregator(o))
		s.recs = append(s.recs, d.NewRecord())
	}
	return s
}

func (s *separate) add(get func(field string) []string, t string) {
	for i, d := range s.dets {
		r := s.recs[i]
		r.Reset()
		for slot, f := range d.Fields() {
			for _, v := range get(f) {
				r.Add(slot, []byte(v))
			}
		}
		r.SetTime([]byte(t))
		s.aggs[i].Add(r)
	}
}

// compare checks that every detection has the same rows and counters both ways.
func compare(t *testing.T, set *Set, run *Runner, ref *separate) (rows int) {
	t.Helper()
	run.Flush()
	for i := range ref.dets {
		want, got := ref.aggs[i].Rows(), run.Aggregator(i).Rows()
		if !reflect.DeepEqual(want, got) {
			t.Errorf("detection %s: one pass gives %d rows, separately %d\n got %+v\nwant %+v",
				set.Detection(i).Source().Stem(), len(got), len(want), got, want)
		}
		if ws, gs := ref.aggs[i].Stats(), run.Aggregator(i).Stats(); ws != gs {
			t.Errorf("detection %s: stats %+v, separately %+v", set.Detection(i).Source().Stem(), gs, ws)
		}
		rows += len(want)
	}
	return rows
}

// TestSharedLogs runs every compilable detection of the snapshot over the shared real logs both ways.
func TestSharedLogs(t *testing.T) {
	dets := checkoutDetections(t)
	procs := readProcesses(t)
	set, err := New(dets)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d detections, %d indexed; %d records", set.Len(), set.Indexed(), len(procs))
	for _, o := range []engine.Options{{FillNull: true, FillNullValue: "null", Annotate: true}} {
		run, err := set.NewRunner([]engine.Options{o})
		if err != nil {
			t.Fatal(err)
		}
		ref := newSeparate(dets, o)
		rec := set.NewRecord()
		matched := 0
		for i := range procs {
			p := &procs[i]
			ts := strconv.FormatFloat(p.Time, 'f', -1, 64)
			ref.add(func(f string) []string {
				if cf, ok := cim.FieldByName(f); ok && len(p.Values[cf]) > 0 {
					return []string{string(p.Values[cf])}
				}
				return nil
			}, ts)
			rec.Reset()
			for sl, f := range set.Fields() {
				if cf, ok := cim.FieldByName(f); ok {
					rec.Add(sl, p.Values[cf])
				}
			}
			rec.SetTime([]byte(ts))
			matched += run.Add(rec)
		}
		rows := compare(t, set, run, ref)
		t.Logf("options %+v: %d matches, %d rows", o, matched, rows)
		if rows == 0 {
			t.Fatal("no detection fired on the shared logs")
		}
	}
}

// fragments seed the random records with the literals of the hand searches and near misses.
var fragments = []string{
	"regasm.exe", "RegAsm.exe", "conhost.exe", "rundll32.exe", "RUNDLL32.EXE", ",#", "cmd.exe", "powershell.exe",
	"-enc", "-ENC", "/c echo", "whoami", "\\Windows\\Temp\\", "C:\\Users\\", "\\AppData\\", ".exe", "a", "b", "c",
	"zzz", "svchost.exe", "ſvchost.exe", "SVCHOST.EXE", "\u212aeyboard.exe", "keyboard.exe", "services.exe", "SYSTEM",
	"net.exe", "net1.exe", " user ", "Ünïcode.exe", "üNÏCODE.EXE", "ÄÖ", "äö", "winword.exe", "excel.exe",
	"mshta.exe", "\xff", "\xc3", "x", " ", "*",
}

var randFields = []string{"dest", "user", "process_name", "process", "parent_process_name", "original_file_name", "process_path"}

// randomRecord builds a record of 0-2 values per field from fragments.
func randomRecord(rng *rand.Rand) map[string][]string {
	m := map[string][]string{}
	for _, f := range randFields {
		n := rng.IntN(4)
		if n == 3 {
			n = 1
		}
		for j := 0; j < n; j++ {
			var b strings.Builder
			for k := rng.IntN(4); k >= 0; k-- {
				b.WriteString(fragments[rng.IntN(len(fragments))])
			}
			m[f] = append(m[f], b.String())
		}
	}
	return m
}

func feedBoth(set *Set, run *Runner, ref *separate, rec *Record, m map[string][]string, ts string) {
	ref.add(func(f string) []string { return m[f] }, ts)
	rec.Reset()
	for sl, f := range set.Fields() {
		for _, v := range m[f] {
			rec.Add(sl, []byte(v))
		}
	}
	rec.SetTime([]byte(ts))
	run.Add(rec)
}

// TestRandomDifferential compares one pass with separate runs on random records built from the literals.
func TestRandomDifferential(t *testing.T) {
	dets := handDetections(t)
	set, err := New(dets)
	if err != nil {
		t.Fatal(err)
	}
	if set.Indexed() == 0 {
		t.Fatal("no hand detection is indexed")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	o := engine.Options{Annotate: true}
	run, _ := set.NewRunner([]engine.Options{o})
	ref := newSeparate(dets, o)
	rec := set.NewRecord()
	for i := 0; i < 20000; i++ {
		feedBoth(set, run, ref, rec, randomRecord(rng), strconv.Itoa(1700000000+i))
	}
	if rows := compare(t, set, run, ref); rows == 0 {
		t.Fatal("random records matched nothing")
	}
}

// FuzzDifferential: any record, one pass and separate runs agree.
func FuzzDifferential(f *testing.F) {
	f.Add("regasm.exe", "cmd.exe", "cmd.exe /c echo hi", "C:\\Users\\a\\AppData\\x.exe", "RUNDLL32.EXE")
	f.Add("ſvchost.exe", "\u212aeyboard.exe", "xaybzc", "\xff", "services.exe")
	f.Add("WinWord.exe", "net.exe", " user ", "", "SYSTEM")
	dets := handDetections(f)
	set, err := New(dets)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, parent, name, process, path, ofn string) {
		o := engine.Options{Annotate: true, FillNull: true, FillNullValue: "null"}
		run, _ := set.NewRunner([]engine.Options{o})
		ref := newSeparate(dets, o)
		rec := set.NewRecord()
		m := map[string][]string{
			"parent_process_name": {parent}, "process_name": {name}, "process": {process, name},
			"process_path": {path}, "original_file_name": {ofn}, "user": {parent}, "dest": {"host"},
		}
		feedBoth(set, run, ref, rec, m, "1700000000")
		compare(t, set, run, ref)
	})
}

// TestAutomaton checks the automaton against strings.Contains on ASCII text, case-insensitively.
func TestAutomaton(t *testing.T) {
	lits := []string{"he", "she", "his", "hers", "ERS", "a", "\\temp\\", "-enc", "x"}
	ids := make([]int32, len(lits))
	for i := range ids {
		ids[i] = int32(i)
	}
	a := newAutomaton(lits, ids)
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := "heisrHEISR\\tmp-ncaxX "
	hits := make([]uint32, len(lits))
	for n := uint32(1); n < 5000; n++ {
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		a.run(b, hits, n, nil)
		for i, l := range lits {
			want := strings.Contains(strings.ToLower(string(b)), strings.ToLower(l))
			if got := hits[i] == n; got != want {
				t.Fatalf("%q in %q: got %v, want %v", l, b, got, want)
			}
		}
	}
}
