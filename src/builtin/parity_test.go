package builtin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"regasmdetect/src/builtin"
	"regasmdetect/src/builtin/bundle"
	"regasmdetect/src/catalog"
	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
	"regasmdetect/src/internal/splunkdtest"
	"regasmdetect/src/scan"
	"regasmdetect/src/spl"
	"regasmdetect/src/sysmon"
)

var logs = []string{
	"data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl",
	"data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl",
	"data/sysmon/omerbenamram-evtx/sysmon.jsonl",
}

// TestBundleRoundTrip: a bundle of every runnable detection of the snapshot compiles, sorted by stem, with the
// checkout's searches, and its Go source is written.
func TestBundleRoundTrip(t *testing.T) {
	cat, err := catalog.Load(shared.Path(t, "data/escu/security_content"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Make(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Detections) != len(cat.Runnable()) {
		t.Fatalf("bundle has %d detections, %d run", len(b.Detections), len(cat.Runnable()))
	}
	src, err := bundle.GoSource(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(src, []byte("// Code generated")) {
		t.Fatalf("generated file starts %q", src[:40])
	}
	ds, err := b.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		e := cat.Entry(d.Stem)
		if i > 0 && ds[i-1].Stem >= d.Stem {
			t.Errorf("%s after %s", d.Stem, ds[i-1].Stem)
		}
		if e == nil || d.Search != e.Search || d.Source.Source != "builtin:"+e.Detection.Source || d.Source.Name != e.Detection.Name {
			t.Errorf("%s: the bundle's detection differs from the checkout's", d.Stem)
		}
	}
	if _, err := bundle.Make(cat, []string{"detect_regasm_with_no_command_line_arguments_x"}); err == nil {
		t.Error("an unknown stem was accepted")
	}
}

// TestScanCommandParity builds the search command with every runnable detection of the snapshot built in,
// feeds the shared Sysmon logs' process records to it through the splunkd emulator (as a data-model search
// sends them: Processes.<field> and _time) once per detection, runs the rest of the detection's search over
// its output, and compares with the rows `regasmdetect scan --escu ... --detection all` prints for the same
// logs. Every detection of the scanner's output must be compared.
func TestScanCommandParity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs it once per detection")
	}
	checkout := shared.Path(t, "data/escu/security_content")
	cat, err := catalog.Load(checkout)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Make(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	pkgDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	ov, err := bundle.Overlay(b, tmp, pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, "regasmdetect")
	build := exec.Command("go", "build", "-overlay", ov, "-o", bin, "regasmdetect/src/cmd/regasmdetect-splunk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// The scanner's rows, per detection.
	args := []string{"--escu", checkout, "--detection", "all", "--format", "jsonl", "--tz", "UTC", "--quiet"}
	var procs []cim.Process
	for _, rel := range logs {
		p := shared.Path(t, rel)
		args = append(args, p)
		in, err := sysmon.Open(p, sysmon.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			var pr cim.Process
			err := in.Events.Next(&pr)
			if err == io.EOF {
				break
			}
			if err == nil {
				procs = append(procs, pr)
			}
		}
		in.Close()
	}
	var out, errb bytes.Buffer
	if code := scan.Main(args, strings.NewReader(""), &out, &errb); code != scan.ExitClean {
		t.Fatalf("scan: exit %d: %s", code, errb.String())
	}
	want := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		d := row["detection"].(string)
		delete(row, "detection")
		if _, ok := row["error"]; ok {
			row = map[string]any{"error": "pipeline error"}
		}
		want[d] = append(want[d], canonical(row))
	}

	records := splunkdtest.FromProcesses(procs)
	all, err := builtin.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Fatal("the test binary itself has built-in detections")
	}
	var mu sync.Mutex
	fired, compared, sampled := 0, 0, 0
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for stem := range work {
				got, err := commandRows(bin, cat.Entry(stem), records)
				mu.Lock()
				compared++
				if err != nil {
					t.Errorf("%s: %v", stem, err)
				} else if hasError(got) || hasError(want[stem]) {
					// A pipeline that fails at run time (an SPL construct the spl package refuses only when it
					// meets the data, such as a PCRE regular expression built from a lookup value) is reported,
					// not compared: which rows reach the failing command is not part of the parity.
					t.Logf("%s: the detection's SPL fails at run time (command: %v, scan: %v); not compared", stem, hasError(got), hasError(want[stem]))
					sampled--
				} else if g, w := strings.Join(got, "\n"), strings.Join(want[stem], "\n"); g != w {
					t.Errorf("%s: command and scan differ\ncommand:\n%s\nscan:\n%s", stem, g, w)
				} else if len(got) > 0 {
					fired++
				}
				mu.Unlock()
			}
		}()
	}
	// Every third detection that fires and every twentieth that does not; all of them with
	// REGASMDETECT_PARITY=all (one process per detection: minutes on a small machine).
	everything := os.Getenv("REGASMDETECT_PARITY") == "all"
	firing := 0
	for i, it := range b.Detections {
		if len(want[it.Stem]) > 0 {
			firing++
		}
		if everything || (len(want[it.Stem]) > 0 && firing%3 == 1) || i%20 == 0 {
			work <- it.Stem
			if len(want[it.Stem]) > 0 {
				sampled++
			}
		}
	}
	close(work)
	wg.Wait()
	t.Logf("%d of %d detections compared, %d with rows; differences are reported above", compared, len(b.Detections), fired)
	if fired != sampled {
		t.Errorf("%d firing detections compared, %d equal with rows", sampled, fired)
	}
	if fired == 0 {
		t.Fatal("no detection fired")
	}
}

// commandRows runs `| regasmdetect detection=<stem>` over the records, then the rest of the detection's
// search over its output, and returns the rows in canonical JSON.
func commandRows(bin string, e *catalog.Entry, records *splunkdtest.Table) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := splunkdtest.Search(ctx, bin, []string{"detection=" + e.Stem}, records, splunkdtest.Plan{ChunkRows: []int{1000, 2739}})
	if err != nil {
		return nil, err
	}
	tab := &spl.Table{}
	if res.Table != nil {
		tab.Columns = res.Table.Fields
		for _, r := range res.Table.Rows {
			row := spl.Row{}
			for j, f := range res.Table.Fields {
				if len(r[j]) > 0 && !(len(r[j]) == 1 && r[j][0] == "") {
					row[f] = r[j]
				}
			}
			tab.Rows = append(tab.Rows, row)
		}
	}
	final := tab
	if p := e.Compiled.Pipeline(); p != nil {
		// Row by row, as the scanner renders (its pipelines without dedup keep each row beside its group).
		final = &spl.Table{}
		for _, r := range tab.Rows {
			one, err := p.Run(&spl.Table{Columns: tab.Columns, Rows: []spl.Row{r}}, spl.RunOptions{Location: time.UTC})
			if err != nil {
				// The scanner prints a failing pipeline as an error row; compare that it failed too.
				one = &spl.Table{Rows: []spl.Row{{"error": {"pipeline error"}}}}
			}
			final.Rows = append(final.Rows, one.Rows...)
		}
	}
	var out []string
	for _, r := range final.Rows {
		m := map[string]any{}
		for k, v := range r {
			switch len(v) {
			case 0:
			case 1:
				m[k] = v[0]
			default:
				m[k] = v
			}
		}
		out = append(out, canonical(m))
	}
	return out, nil
}

func hasError(rows []string) bool {
	for _, r := range rows {
		if strings.Contains(r, `"error":"pipeline error"`) {
			return true
		}
	}
	return false
}

// canonical renders a row as JSON with sorted keys and without null values.
func canonical(row map[string]any) string {
	for k, v := range row {
		if v == nil {
			delete(row, k)
		}
		if a, ok := v.([]any); ok {
			s := make([]string, len(a))
			for i := range a {
				s[i], _ = a[i].(string)
			}
			row[k] = s
		}
	}
	j, _ := json.Marshal(row)
	return string(j)
}
