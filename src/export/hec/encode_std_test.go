package hec

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"regasmdetect/src/export"
	"regasmdetect/src/export/internal/testevents"
)

// This file keeps the measured alternative to the hand-written encoder: the same bytes written with
// encoding/json (HTML escaping off, fields in row order). BenchmarkEncoder compares the two; docs/export.md
// records the numbers and the decision.

// stdEvent is the HEC event object as encoding/json writes it.
type stdEvent struct {
	Time       float64   `json:"time,omitempty"`
	Host       string    `json:"host,omitempty"`
	Source     string    `json:"source,omitempty"`
	Sourcetype string    `json:"sourcetype,omitempty"`
	Index      string    `json:"index,omitempty"`
	Event      stdFields `json:"event"`
}

// stdFields writes the fields as one JSON object in row order (a map would sort them).
type stdFields []export.Field

func (fs stdFields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	first := true
	for _, f := range fs {
		if len(f.Values) == 0 {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		if err := enc.Encode(f.Name); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		var v any = f.Values
		if len(f.Values) == 1 {
			v = f.Values[0]
		}
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// appendEventStd is appendEvent written with encoding/json.
func appendEventStd(dst []byte, ev *export.Event, m *meta) []byte {
	w := stdEvent{Host: ev.Host, Source: or(ev.Source, m.source), Sourcetype: or(ev.Sourcetype, m.sourcetype),
		Index: or(ev.Index, m.index), Event: ev.Fields}
	if t := ev.Time; t > 0 && !math.IsInf(t, 0) {
		w.Time = t
	}
	b := bytes.NewBuffer(dst)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		panic(err) // strings and finite floats only
	}
	return b.Bytes()
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestEncodersAgree: both encoders write the same bytes, so the comparison is of equals.
func TestEncodersAgree(t *testing.T) {
	m := &meta{source: "regasmdetect", sourcetype: "regasmdetect:alert", index: "main"}
	events := testevents.Make(13)
	events = append(events, export.Event{Time: 1e-3, Fields: []export.Field{{Name: "<&>", Values: []string{"\x00\u2028\xff", ""}}, {Name: "none"}}},
		export.Event{Time: math.Inf(1), Source: "s", Index: "i"})
	for i := range events {
		if got, want := string(appendEvent(nil, &events[i], m)), string(appendEventStd(nil, &events[i], m)); got != want {
			t.Errorf("event %d:\nhand %s\nstd  %s", i, got, want)
		}
	}
}

// BenchmarkEncoder encodes 13 detection-row events per iteration with each encoder.
func BenchmarkEncoder(b *testing.B) {
	events := testevents.Make(13)
	m := &meta{source: "regasmdetect", sourcetype: "regasmdetect:alert"}
	n := 0
	for i := range events {
		n += len(appendEvent(nil, &events[i], m))
	}
	for _, enc := range []struct {
		name string
		f    func([]byte, *export.Event, *meta) []byte
	}{{"hand", appendEvent}, {"encoding-json", appendEventStd}} {
		b.Run(enc.name, func(b *testing.B) {
			buf := make([]byte, 0, 64<<10)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:0]
				for i := range events {
					buf = enc.f(buf, &events[i], m)
				}
			}
		})
	}
}

// FuzzAppendEvent: the hand-written encoder writes the same bytes as encoding/json for any event, and they
// decode to the event's fields.
func FuzzAppendEvent(f *testing.F) {
	f.Add(1704164645.678, "WKS-01", "process", `C:\x.exe "a"`, "b", "")
	f.Add(0.0, "", "<&>", "\x00\u2028\xff", "", "idx")
	f.Add(math.Inf(1), "h", "", "", "x", "i")
	f.Fuzz(func(t *testing.T, tm float64, host, name, v1, v2, index string) {
		ev := export.Event{Time: tm, Host: host, Index: index, Fields: []export.Field{
			{Name: name, Values: []string{v1}}, {Name: "mv", Values: []string{v1, v2}}, {Name: "none"}}}
		m := &meta{source: "regasmdetect", sourcetype: "regasmdetect:alert"}
		if math.IsNaN(tm) || tm > 0 && !math.IsInf(tm, 0) && (tm < 1e-6 || tm >= 1e21) {
			// encoding/json writes exponents outside [1e-6, 1e21); HEC times are epoch seconds, never there
			t.Skip()
		}
		got, want := appendEvent(nil, &ev, m), appendEventStd(nil, &ev, m)
		if !bytes.Equal(got, want) {
			t.Fatalf("hand %s\nstd  %s", got, want)
		}
		if !json.Valid(got) {
			t.Fatalf("invalid JSON %s", got)
		}
	})
}
