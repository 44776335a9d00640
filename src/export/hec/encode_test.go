package hec

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"regasmdetect/src/export"
	"regasmdetect/src/export/internal/testevents"
	"regasmdetect/src/internal/jsonstr"
)

func TestAppendEventExact(t *testing.T) {
	m := &meta{source: "regasmdetect", sourcetype: "regasmdetect:alert", index: "main"}
	tests := []struct {
		name string
		ev   export.Event
		want string
	}{
		{"full", export.Event{Time: 1599171244.277, Host: "WIN-01", Fields: []export.Field{
			{Name: "dest", Values: []string{"WIN-01"}},
			{Name: "process", Values: []string{`C:\Windows\regasm.exe "a"`}},
			{Name: "parent_process_name", Values: []string{"RegAsm.exe", "regasm.exe"}},
			{Name: "empty", Values: nil},
			{Name: "blank", Values: []string{""}},
		}}, `{"time":1599171244.277,"host":"WIN-01","source":"regasmdetect","sourcetype":"regasmdetect:alert","index":"main","event":{"dest":"WIN-01","process":"C:\\Windows\\regasm.exe \"a\"","parent_process_name":["RegAsm.exe","regasm.exe"],"blank":""}}` + "\n"},
		{"unknown time, event overrides", export.Event{Source: "s", Sourcetype: "st", Index: "idx"},
			`{"source":"s","sourcetype":"st","index":"idx","event":{}}` + "\n"},
		{"whole seconds", export.Event{Time: 1704164645, Host: "h"},
			`{"time":1704164645,"host":"h","source":"regasmdetect","sourcetype":"regasmdetect:alert","index":"main","event":{}}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendEvent(nil, &tc.ev, m)); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestAppendStringMatchesEncodingJSON compares the escaper with encoding/json (HTML escaping off) on hostile
// strings and the synthetic events; TestAppendStringRealLog does the same on a real Sysmon log.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain", "quote\" backslash\\ slash/", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
		"bad \xff utf8 \xc3", "\u2028\u2029", "ŧ€𝄞", "<&>"}
	checkAppendString(t, append(inputs, fieldValues(testevents.Make(13))...))
}

func TestAppendStringRealLog(t *testing.T) {
	checkAppendString(t, fieldValues(testevents.Load(t, 13)))
}

func fieldValues(events []export.Event) []string {
	var out []string
	for _, ev := range events {
		for _, f := range ev.Fields {
			out = append(out, f.Values...)
		}
	}
	return out
}

func checkAppendString(t *testing.T, inputs []string) {
	t.Helper()
	for _, s := range inputs {
		want := jsonString(t, s)
		if got := string(jsonstr.Append(nil, s)); got != want {
			t.Errorf("jsonstr.Append(%q) = %s, want %s", s, got, want)
		}
	}
}

func jsonString(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendEventIsValidJSON(t *testing.T) {
	m := &meta{source: "regasmdetect", sourcetype: "regasmdetect:alert"}
	for i, ev := range testevents.Make(13) {
		b := appendEvent(nil, &ev, m)
		var got struct {
			Time  float64
			Host  string
			Event map[string]any
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, b)
		}
		if got.Time != ev.Time || got.Host != ev.Host || got.Event["process"] != ev.Fields[4].Values[0] {
			t.Fatalf("event %d round-trips to %+v", i, got)
		}
		if hs, ok := got.Event["hashes"].([]any); !ok || len(hs) != len(ev.Fields[7].Values) {
			t.Fatalf("event %d: multivalue hashes became %v", i, got.Event["hashes"])
		}
	}
}

func TestAppendEventAllocs(t *testing.T) {
	events := testevents.Make(13)
	m := &meta{source: "regasmdetect", sourcetype: "regasmdetect:alert"}
	buf := make([]byte, 0, 64<<10)
	allocs := testing.AllocsPerRun(100, func() {
		buf = buf[:0]
		for i := range events {
			buf = appendEvent(buf, &events[i], m)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 13 events, want 0", allocs)
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	events := testevents.Make(13)
	m := &meta{source: "regasmdetect", sourcetype: "regasmdetect:alert"}
	buf := make([]byte, 0, 64<<10)
	n := 0
	for i := range events {
		n += len(appendEvent(nil, &events[i], m))
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range events {
			buf = appendEvent(buf, &events[i], m)
		}
	}
}
