package sysmon

// Differential tests of the hand-written XML and JSON readers against encoding/xml and encoding/json: a
// reference reader built on the standard library decodes the same line, fills an event with the same field
// rules, and the two Endpoint.Processes records must be identical. The comparison benchmarks measure what the
// hand-written readers buy.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
)

// refXMLEvent is an <Event> as encoding/xml reads it, with the fields the mapping uses.
type refXMLEvent struct {
	XMLName xml.Name `xml:"Event"`
	System  struct {
		Provider struct {
			Name *string `xml:"Name,attr"`
		} `xml:"Provider"`
		EventID       *refText `xml:"EventID"`
		EventRecordID *refText `xml:"EventRecordID"`
		Computer      *refText `xml:"Computer"`
		Channel       *refText `xml:"Channel"`
		TimeCreated   struct {
			SystemTime *string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		Security struct {
			UserID *string `xml:"UserID,attr"`
			UserId *string `xml:"UserId,attr"` // Sysmon for Linux
		} `xml:"Security"`
	} `xml:"System"`
	EventData struct {
		Data []struct {
			Name  *string `xml:"Name,attr"`
			Text  string  `xml:",chardata"`
			Inner string  `xml:",innerxml"`
		} `xml:"Data"`
	} `xml:"EventData"`
}

type refText struct {
	Text  string `xml:",chardata"`
	Inner string `xml:",innerxml"`
}

// errRefSkip marks input that the reference does not judge (see the callers).
var errRefSkip = errors.New("outside the compared subset")

// refXML decodes one event with encoding/xml into ev. It skips (errRefSkip) kept elements holding child
// elements, whose text the two readers split differently, and input that is not valid UTF-8 (encoding/xml
// rejects it; the hand-written reader keeps the bytes).
func refXML(line []byte, ev *event) error {
	if !utf8.Valid(line) {
		return errRefSkip
	}
	if i := findStart(line); i >= 0 && findStart(line[i+len(eventStart):]) >= 0 {
		// An <Event> inside an <Event>: Windows never writes one, and the hand-written reader takes it for the
		// start of the next event (how it recovers from an event cut short), where XML nests it.
		return errRefSkip
	}
	var e refXMLEvent
	d := xml.NewDecoder(bytes.NewReader(line))
	d.Strict = true
	if err := d.Decode(&e); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errRefSkip // more after the event: the line reader splits it differently
	}
	ev.reset()
	setS := func(s slot, v *string) {
		if v != nil {
			ev.set(s, []byte(*v))
		}
	}
	setT := func(s slot, t *refText) error {
		if t == nil {
			return nil
		}
		if strings.Contains(stripNonElements(t.Inner), "<") {
			return errRefSkip
		}
		ev.set(s, []byte(t.Text))
		return nil
	}
	setS(sProvider, e.System.Provider.Name)
	for _, f := range []struct {
		s slot
		t *refText
	}{{sEventID, e.System.EventID}, {sRecordID, e.System.EventRecordID}, {sComputer, e.System.Computer}, {sChannel, e.System.Channel}} {
		if err := setT(f.s, f.t); err != nil {
			return err
		}
	}
	setS(sTimeCreated, e.System.TimeCreated.SystemTime)
	if u, l := e.System.Security.UserID, e.System.Security.UserId; u != nil && l != nil && *u != *l {
		return errRefSkip // both spellings: the hand-written reader keeps the last, encoding/xml loses the order
	}
	setS(sUserID, e.System.Security.UserID)
	setS(sUserID, e.System.Security.UserId)
	for _, dd := range e.EventData.Data {
		if dd.Name == nil {
			continue
		}
		s := dataSlot([]byte(*dd.Name))
		if s < 0 {
			continue
		}
		if strings.Contains(stripNonElements(dd.Inner), "<") {
			return errRefSkip
		}
		ev.set(s, []byte(dd.Text))
	}
	return nil
}

// stripNonElements removes comments and CDATA sections from raw inner XML, so that what is left holds '<' only
// for child elements.
func stripNonElements(s string) string {
	for _, d := range [][2]string{{"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?", "?>"}} {
		for {
			i := strings.Index(s, d[0])
			if i < 0 {
				break
			}
			j := strings.Index(s[i+len(d[0]):], d[1])
			if j < 0 {
				return s
			}
			s = s[:i] + s[i+len(d[0])+j+len(d[1]):]
		}
	}
	return s
}

// refJSON decodes one JSON line with encoding/json's tokenizer into ev, walking it in document order with the
// field rules of the hand-written reader (leafSlot, transparent keys, Data arrays, an EventData string). It
// skips input that is not valid UTF-8 (encoding/json replaces it; the hand-written reader keeps the bytes).
func refJSON(line []byte, ev *event) error {
	if !utf8.Valid(line) {
		return errRefSkip
	}
	ev.reset()
	w := &refWalker{p: jsonParser{ev: ev}}
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return errors.New("not an object")
	}
	if err := w.object(d, nil); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the object")
	}
	return nil
}

type refWalker struct {
	p     jsonParser // for its path and leafSlot
	depth int
}

// object walks the members of an object whose '{' was read. item is not nil inside an element of a Data array.
func (w *refWalker) object(d *json.Decoder, item *dataPair) error {
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxDepth {
		return errRefSkip // the hand-written reader bounds the depth
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		key := []byte(tok.(string))
		if item != nil {
			if handled, err := w.dataItemMember(d, item, trimAt(key)); handled || err != nil {
				if err != nil {
					return err
				}
				continue
			}
		}
		if err := w.member(d, key); err != nil {
			return err
		}
	}
	_, err := d.Token() // '}'
	return err
}

func (w *refWalker) dataItemMember(d *json.Decoder, item *dataPair, name []byte) (bool, error) {
	switch string(name) {
	case "#attributes", "Name", "name", "#text", "text", "Value", "value":
	default:
		return false, nil
	}
	tok, err := d.Token()
	if err != nil {
		return true, err
	}
	switch string(name) {
	case "#attributes":
		if tok == json.Delim('{') {
			return true, w.object(d, item)
		}
		// Not an object: an ordinary member, whose value was read.
		return true, w.memberValue(d, name, tok)
	case "Name", "name":
		if s, ok := tok.(string); ok {
			item.slot = dataSlot([]byte(s))
			return true, nil
		}
		return true, w.skip(d, tok)
	}
	if tok == json.Delim('{') || tok == json.Delim('[') {
		return true, w.skip(d, tok)
	}
	if v, ok := scalarText(tok); ok {
		start := len(w.p.ev.buf)
		w.p.ev.buf = append(w.p.ev.buf, v...)
		item.start, item.end = start, len(w.p.ev.buf)
	}
	return true, nil
}

func (w *refWalker) member(d *json.Decoder, key []byte) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	return w.memberValue(d, key, tok)
}

// memberValue handles the value tok (its first token) of the member key.
func (w *refWalker) memberValue(d *json.Decoder, key []byte, tok json.Token) error {
	p := &w.p
	key = trimAt(key)
	if !transparent(key) {
		if p.n == maxDepth {
			return errRefSkip
		}
		p.path[p.n] = append([]byte(nil), key...)
		p.n++
		defer func() { p.n-- }()
	}
	switch tok {
	case json.Delim('{'):
		return w.object(d, nil)
	case json.Delim('['):
		return w.array(d, p.n > 0 && string(p.path[p.n-1]) == "Data" && p.inEventData(p.n-1))
	}
	if s, ok := tok.(string); ok && p.n > 0 && string(p.path[p.n-1]) == "EventData" && strings.HasPrefix(s, "{") {
		inner := json.NewDecoder(strings.NewReader(s))
		inner.UseNumber()
		if t, err := inner.Token(); err != nil || t != json.Delim('{') {
			return fmt.Errorf("EventData string: %v", err)
		}
		if err := w.object(inner, nil); err != nil {
			return err
		}
		if _, err := inner.Token(); err != io.EOF {
			return errors.New("EventData string: data after the object")
		}
		return nil
	}
	s := p.leafSlot()
	if s < 0 {
		return nil
	}
	if v, ok := scalarText(tok); ok {
		p.ev.set(s, v)
	}
	return nil
}

func (w *refWalker) array(d *json.Decoder, dataItems bool) error {
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxDepth {
		return errRefSkip
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		if dataItems && tok == json.Delim('{') {
			item := dataPair{slot: sNone, start: -1}
			if err := w.object(d, &item); err != nil {
				return err
			}
			if item.slot >= 0 && item.start >= 0 {
				w.p.ev.span[item.slot] = [2]int32{int32(item.start), int32(item.end)}
			}
			continue
		}
		if err := w.skip(d, tok); err != nil {
			return err
		}
	}
	_, err := d.Token() // ']'
	return err
}

// skip skips the rest of a value whose first token is tok.
func (w *refWalker) skip(d *json.Decoder, tok json.Token) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxDepth {
		return errRefSkip
	}
	for d.More() {
		if tok == json.Delim('{') {
			if _, err := d.Token(); err != nil { // key
				return err
			}
		}
		t, err := d.Token()
		if err != nil {
			return err
		}
		if err := w.skip(d, t); err != nil {
			return err
		}
	}
	_, err := d.Token()
	return err
}

// scalarText is the text the hand-written reader keeps for a scalar: strings decoded, numbers as written,
// booleans as true/false; null is no value.
func scalarText(tok json.Token) ([]byte, bool) {
	switch v := tok.(type) {
	case string:
		return []byte(v), true
	case json.Number:
		return []byte(v), true
	case bool:
		return []byte(fmt.Sprint(v)), true
	}
	return nil, false
}

// compareLine reads line with the hand-written reader and with ref, and reports a difference. Both must agree
// on well-formed events: the same process record, or both not a process creation. Input the reference rejects
// may be accepted by the hand-written reader (it is more lenient, for example with leading zeros in numbers),
// but input the reference accepts must never be rejected.
func compareLine(line []byte, format Format, ref func([]byte, *event) error) error {
	var rd Reader
	if format == XML {
		rd = NewXMLReader(bytes.NewReader(line), "f")
	} else {
		rd = NewJSONReader(bytes.NewReader(line), "f")
	}
	var got cim.Process
	gerr := rd.Next(&got)
	gotProc := gerr == nil
	if gerr != nil && gerr != io.EOF {
		var re *RecordError
		if !errors.As(gerr, &re) {
			return fmt.Errorf("reader error: %v", gerr)
		}
	}
	ev := newEvent()
	rerr := ref(line, ev)
	if errors.Is(rerr, errRefSkip) {
		return nil
	}
	if rerr != nil {
		return nil // lenient: see above
	}
	var want cim.Process
	wantProc := finishEvent(ev, format, &want)
	if gerr != nil && gerr != io.EOF {
		return fmt.Errorf("the reference accepts the line, the reader rejects it: %v", gerr)
	}
	if gotProc != wantProc {
		return fmt.Errorf("process creation: reader %v, reference %v", gotProc, wantProc)
	}
	if gotProc && (!sameValues(&got, &want) || got.Time != want.Time || got.HasTime != want.HasTime) {
		return fmt.Errorf("records differ:\n%s", diff(want, got))
	}
	return nil
}

// finishEvent applies what the readers do after parsing: the JSON time fallbacks, the process-creation test,
// GUID braces and Map.
func finishEvent(ev *event, format Format, p *cim.Process) bool {
	if format == JSON {
		jsonTimeFallback(ev)
	}
	if !ev.isProcessCreation() {
		return false
	}
	bracePrefix(ev, sProcessGUID)
	bracePrefix(ev, sParentProcessGUID)
	Map(ev, p)
	return true
}

// sharedLines returns the lines of the shared logs of one format.
func sharedLines(t testing.TB, format Format) [][]byte {
	var rels []string
	if format == XML {
		rels = []string{"data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log", "data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.xml.log", "data/sysmon/omerbenamram-evtx/sysmon.xml.log"}
	} else {
		rels = []string{"data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl", "data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl", "data/sysmon/omerbenamram-evtx/sysmon.jsonl"}
	}
	var out [][]byte
	for _, rel := range rels {
		f, err := os.Open(shared.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, MaxLine)
		for sc.Scan() {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
		f.Close()
	}
	return out
}

// TestDifferentialShared: every line of the shared XML and JSON logs gives the same record through the
// hand-written readers and through encoding/xml and encoding/json.
func TestDifferentialShared(t *testing.T) {
	for _, c := range []struct {
		format Format
		ref    func([]byte, *event) error
	}{{XML, refXML}, {JSON, refJSON}} {
		lines := sharedLines(t, c.format)
		compared, procs := 0, 0
		for i, line := range lines {
			if err := compareLine(line, c.format, c.ref); err != nil {
				t.Errorf("%v line %d: %v", c.format, i+1, err)
			}
			ev := newEvent()
			if c.ref(line, ev) == nil {
				compared++
				var p cim.Process
				if finishEvent(ev, c.format, &p) {
					procs++
				}
			}
		}
		t.Logf("%v: %d lines, %d compared, %d process creations, 0 differences expected", c.format, len(lines), compared, procs)
		if procs < 1000 {
			t.Errorf("%v: only %d process creations compared", c.format, procs)
		}
	}
}

func FuzzXMLDifferential(f *testing.F) {
	fixtureLines(f, "synthetic_regasm_children.xml.log", 20)
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\r\n") || bytes.HasPrefix(line, []byte("\xef\xbb\xbf")) {
			return // one line, as the line reader hands it over
		}
		if err := compareLine(line, XML, refXML); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	})
}

func FuzzJSONDifferential(f *testing.F) {
	for _, n := range []string{"synthetic_regasm_children.jsonl", "synthetic_regasm_children.evtx_dump.jsonl", "synthetic_regasm_children.otrf.jsonl"} {
		fixtureLines(f, n, 6)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\r\n") || bytes.HasPrefix(line, []byte("\xef\xbb\xbf")) {
			return
		}
		if err := compareLine(line, JSON, refJSON); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	})
}

// BenchmarkReaderVsStdlib compares the hand-written readers with the encoding/xml and encoding/json references
// on the same shared lines, each through the mapping to a process record.
func BenchmarkReaderVsStdlib(b *testing.B) {
	for _, c := range []struct {
		name   string
		format Format
		ref    func([]byte, *event) error
	}{{"xml", XML, refXML}, {"json", JSON, refJSON}} {
		lines := sharedLines(b, c.format)
		var all []byte
		for _, l := range lines {
			all = append(append(all, l...), '\n')
		}
		b.Run(c.name+"/handwritten", func(b *testing.B) {
			b.SetBytes(int64(len(all)))
			b.ReportAllocs()
			for b.Loop() {
				var p cim.Process
				rd := NewXMLReader(bytes.NewReader(all), "b")
				if c.format == JSON {
					rd = NewJSONReader(bytes.NewReader(all), "b")
				}
				for {
					if err := rd.Next(&p); err == io.EOF {
						break
					}
				}
			}
		})
		b.Run(c.name+"/stdlib", func(b *testing.B) {
			b.SetBytes(int64(len(all)))
			b.ReportAllocs()
			ev := newEvent()
			var p cim.Process
			for b.Loop() {
				for _, l := range lines {
					if c.ref(l, ev) == nil {
						finishEvent(ev, c.format, &p)
					}
				}
			}
		})
	}
}
