package scan

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

var sharedLogs = []string{
	"data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl",
	"data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl",
	"data/sysmon/omerbenamram-evtx/sysmon.jsonl",
}

func sharedArgs(t *testing.T, args ...string) []string {
	for _, rel := range sharedLogs {
		args = append(args, shared.Path(t, rel))
	}
	return args
}

// jsonlByDetection parses jsonl output into each detection's rows (objects, in output order).
func jsonlByDetection(t *testing.T, out string) map[string][]map[string]any {
	t.Helper()
	m := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		d, ok := obj["detection"].(string)
		if !ok || d == "" {
			t.Fatalf("row without a detection key: %s", line)
		}
		m[d] = append(m[d], obj)
	}
	return m
}

// TestESCUAllOnePass: every runnable detection of the snapshot in one pass over the shared logs gives, for
// each detection, exactly the rows of a scan of that detection alone.
func TestESCUAllOnePass(t *testing.T) {
	checkout := shared.Path(t, "data/escu/security_content")
	out, errOut, code := runScan(t, sharedArgs(t, "--escu", checkout, "--detection", "all", "--format", "jsonl", "--annotate")...)
	if code != ExitClean {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	all := jsonlByDetection(t, out)
	if len(all) < 30 {
		t.Fatalf("only %d detections fire on the shared logs", len(all))
	}
	stems := make([]string, 0, len(all))
	for s := range all {
		stems = append(stems, s)
	}
	sort.Strings(stems)
	// Each firing detection alone, in batches (a comma list is one pass too; each batch differs from "all").
	for i := 0; i < len(stems); i += 25 {
		batch := stems[i:min(i+25, len(stems))]
		one, errOut, code := runScan(t, sharedArgs(t, "--escu", checkout, "--detection", strings.Join(batch, ","), "--format", "jsonl", "--annotate")...)
		if code != ExitClean {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		got := jsonlByDetection(t, one)
		for _, s := range batch {
			a, _ := json.Marshal(all[s])
			b, _ := json.Marshal(got[s])
			if string(a) != string(b) {
				t.Errorf("%s: all-at-once and alone differ:\n%s\n%s", s, a, b)
			}
		}
	}
	// Annotations come from each detection's own fields.
	for _, s := range stems {
		for _, row := range all[s] {
			if _, ok := row["risk_message"]; !ok {
				t.Fatalf("%s: no risk_message", s)
			}
			if _, ok := row["risk_score"].(string); !ok {
				t.Fatalf("%s: no risk_score", s)
			}
		}
	}
}

// TestESCUFillNull: the checkout's security_content_summariesonly sets fillnull_value=null, so matched records
// with an empty by-field are kept with "null" (and none is reported as left out).
func TestESCUFillNull(t *testing.T) {
	checkout := shared.Path(t, "data/escu/security_content")
	out, errOut, code := runScan(t, sharedArgs(t, "--escu", checkout, "--detection", "all", "--format", "jsonl")...)
	if code != ExitClean {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "left out because a by-field was empty") {
		t.Errorf("records were dropped although the macro sets fillnull_value: %s", errOut)
	}
	filled, dets := 0, map[string]bool{}
	for d, rows := range jsonlByDetection(t, out) {
		for _, row := range rows {
			for _, v := range row {
				if v == "null" {
					filled++
					dets[d] = true
					break
				}
			}
		}
	}
	t.Logf("%d rows in %d detections hold a filled null", filled, len(dets))
	if filled == 0 {
		t.Error("no row holds the fill value null")
	}
	// The user's --fillnull-value wins over the macro's.
	out2, _, _ := runScan(t, sharedArgs(t, "--escu", checkout, "--detection", "all", "--format", "jsonl", "--fillnull-value", "NA")...)
	if strings.Contains(out2, `"null"`) || !strings.Contains(out2, `"NA"`) {
		t.Error("--fillnull-value NA did not replace the macro's value")
	}
}

// TestESCUSelection: --story, comma lists, and the errors for a detection that does not run or does not exist.
func TestESCUSelection(t *testing.T) {
	checkout := shared.Path(t, "data/escu/security_content")
	log := shared.Path(t, "data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl")
	out, errOut, code := runScan(t, "--escu", checkout, "--story", "Suspicious Regsvcs Regasm Activity", "--format", "csv", "--quiet", log)
	if code != ExitClean {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if rows := csvRows(t, out); len(rows) < 1 || rows[0][0] != "detection" {
		t.Fatalf("want a detection column, got %q", out)
	}
	_, errOut, code = runScan(t, "--escu", checkout, "--detection", "detect_regasm_with_network_connection", log)
	if code != ExitErrors || !strings.Contains(errOut, "no Endpoint.Processes tstats detection") {
		t.Errorf("a raw sysmon search: exit %d, %s", code, errOut)
	}
	_, errOut, code = runScan(t, "--escu", checkout, "--detection", "no_such_detection", log)
	if code != ExitErrors || !strings.Contains(errOut, "no_such_detection") {
		t.Errorf("unknown detection: exit %d, %s", code, errOut)
	}
	_, errOut, code = runScan(t, "--story", "Anything", log)
	if code != ExitErrors || !strings.Contains(errOut, "--story needs --escu") {
		t.Errorf("--story without --escu: exit %d, %s", code, errOut)
	}
}

// TestDetectionColumnEveryFormat: with several detections every format names each row's detection first.
func TestDetectionColumnEveryFormat(t *testing.T) {
	checkout := shared.Path(t, "data/escu/security_content")
	log := shared.Path(t, "data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl")
	dets := "system_user_discovery_with_whoami,processes_launching_netsh"
	for _, f := range []string{"table", "csv", "json", "jsonl"} {
		out, errOut, code := runScan(t, "--escu", checkout, "--detection", dets, "--format", f, "--quiet", log)
		if code != ExitClean {
			t.Fatalf("%s: exit %d: %s", f, code, errOut)
		}
		switch f {
		case "table":
			if !strings.HasPrefix(out, "detection ") || !strings.Contains(out, "\nprocesses_launching_netsh ") {
				t.Errorf("table: %q", out[:min(len(out), 300)])
			}
		case "csv":
			rows := csvRows(t, out)
			var seen []string
			for _, r := range rows[1:] {
				if !slices.Contains(seen, r[0]) {
					seen = append(seen, r[0])
				}
			}
			if rows[0][0] != "detection" || !slices.Equal(seen, strings.Split(dets, ",")) {
				t.Errorf("csv: header %q, detections %q", rows[0], seen)
			}
		case "json":
			var arr []map[string]any
			if err := json.Unmarshal([]byte(out), &arr); err != nil || len(arr) == 0 || arr[0]["detection"] == nil {
				t.Errorf("json: %v %q", err, out[:min(len(out), 300)])
			}
		case "jsonl":
			if m := jsonlByDetection(t, out); len(m) != 2 {
				t.Errorf("jsonl: %d detections", len(m))
			}
		}
	}
}
