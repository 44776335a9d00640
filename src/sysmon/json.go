package sysmon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"regasmdetect/src/cim"
)

// jsonReader reads one JSON object per line in any of these shapes:
//   - {"System":{...},"EventData":{...}} with string values (our renderings of EVTX);
//   - evtx_dump: {"Event":{"#attributes":{...},"System":{"Provider":{"#attributes":{"Name":...}},"EventID":1,
//     "TimeCreated":{"#attributes":{"SystemTime":...}},...},"EventData":{...}}}, including EventData as
//     "Data":[{"#attributes":{"Name":...},"#text":...}] or [{"@Name":...,"#text":...}] and "@"-prefixed
//     attribute keys (xmltodict);
//   - Velocidex evtx: "EventID":{"Value":1}, "Provider":{"Name":...}, "TimeCreated":{"SystemTime":<epoch>};
//   - OTRF / nxlog flat objects: EventID as a number, Hostname, SourceName, @timestamp, fields at the top;
//     an EventData given as a JSON string (Azure WindowsEvent) is parsed as an object;
//   - winlogbeat: winlog.event_data.*, winlog.computer_name, winlog.provider_name, winlog.event_id,
//     winlog.record_id, winlog.user.identifier, @timestamp.
type jsonReader struct {
	lr     *lineReader
	source string
	ev     *event
	stats  Stats
	p      jsonParser
}

// NewJSONReader returns a Reader of JSON lines from r; source names r in errors and records.
func NewJSONReader(r io.Reader, source string) Reader {
	j := &jsonReader{lr: newLineReader(r), source: source, ev: newEvent()}
	j.p.ev = j.ev
	return j
}

func (j *jsonReader) Stats() Stats { return j.stats }

func (j *jsonReader) resetBytes(b []byte, first bool) {
	j.lr.resetBytes(b, first)
	j.stats = Stats{}
}

func (j *jsonReader) lineCount() int64 { return j.lr.line }

func (j *jsonReader) Next(p *cim.Process) error {
	for {
		line, err := j.lr.next()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return fmt.Errorf("sysmon: %s: line %d: %w", j.source, j.lr.line+1, err)
		}
		if err == nil {
			line = trimSpace(line)
			if len(line) == 0 {
				continue
			}
		}
		j.stats.Events++
		if err == nil {
			j.ev.reset()
			err = j.p.parseLine(line)
		}
		if err != nil {
			j.stats.Errors++
			return &RecordError{Source: j.source, Record: j.lr.line, Err: err}
		}
		ev := j.ev
		jsonTimeFallback(ev)
		if !ev.isProcessCreation() {
			j.stats.Other++
			continue
		}
		bracePrefix(ev, sProcessGUID)
		bracePrefix(ev, sParentProcessGUID)
		Map(ev, p)
		p.Source, p.Record = j.source, j.lr.line
		j.stats.ProcessCreations++
		return nil
	}
}

// jsonTimeFallback takes the event time from a flat TimeCreated that carries a zone, else from @timestamp, when
// there is no System/TimeCreated/@SystemTime.
func jsonTimeFallback(ev *event) {
	if ev.has(sTimeCreated) {
		return
	}
	if flat := ev.raw(sTimeFlat); hasZone(flat) {
		ev.span[sTimeCreated] = ev.span[sTimeFlat]
	} else if ev.has(sTimestamp) {
		ev.span[sTimeCreated] = ev.span[sTimestamp]
	}
}

// hasZone reports whether an RFC 3339-like time ends in a zone.
func hasZone(t []byte) bool {
	t = trimSpace(t)
	if len(t) < 20 {
		return false
	}
	if t[len(t)-1] == 'Z' {
		return true
	}
	return len(t) >= 25 && (t[len(t)-6] == '+' || t[len(t)-6] == '-') && t[len(t)-3] == ':'
}

// bracePrefix puts braces around a bare 36-character GUID (EVTX libraries render GUIDs without them; Windows
// and Splunk show them with).
func bracePrefix(ev *event, s slot) {
	v := ev.raw(s)
	if len(v) != 36 || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return
	}
	start := len(ev.buf)
	ev.buf = append(ev.buf, '{')
	ev.buf = append(ev.buf, v...) // v points into buf; append copies before any growth invalidates it
	ev.buf = append(ev.buf, '}')
	ev.span[s] = [2]int32{int32(start), int32(len(ev.buf))}
}

// jsonParser walks one JSON value with a path of keys, storing the leaves the mapping needs into ev.
type jsonParser struct {
	b       []byte
	i       int
	ev      *event
	path    [maxDepth][]byte // keys of the enclosing objects, transparent ones left out
	n       int
	depth   int
	scratch []byte // decoded keys
	inner   []byte // an EventData given as a string
}

func (p *jsonParser) errf(format string, args ...any) error {
	return fmt.Errorf("JSON at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) parseLine(b []byte) error {
	p.b, p.i, p.n, p.depth = b, 0, 0, 0
	p.skipWS()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		what := "empty"
		if p.i < len(p.b) {
			what = fmt.Sprintf("%q", p.b[p.i])
		}
		return p.errf("an event must be a JSON object, found %s", what)
	}
	if err := p.object(nil); err != nil {
		return err
	}
	p.skipWS()
	if p.i != len(p.b) {
		return p.errf("unexpected data after the object")
	}
	return nil
}

func (p *jsonParser) skipWS() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

// transparent keys wrap a value without naming it.
func transparent(k []byte) bool {
	switch string(k) {
	case "#attributes", "#text", "Value", "value", "Event", "winlog":
		return true
	}
	return false
}

// dataPair pairs the name and the value of one element of an EventData "Data" array.
type dataPair struct {
	slot       slot
	start, end int
}

// object parses an object at p.i. item is not nil for the elements of an EventData "Data" array (and their
// "#attributes" objects), whose name and value keys pair up.
func (p *jsonParser) object(item *dataPair) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf("nested deeper than %d", maxDepth)
	}
	p.i++ // '{'
	dataItem := item != nil
	p.skipWS()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return nil
	}
	for {
		p.skipWS()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return p.errf("expected a key")
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		p.skipWS()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return p.errf("expected ':' after key %q", key)
		}
		p.i++
		p.skipWS()
		handled := false
		if dataItem && p.i < len(p.b) {
			if handled, err = p.dataItemMember(item, trimAt(key)); err != nil {
				return err
			}
		}
		if !handled {
			if err := p.member(key); err != nil {
				return err
			}
		}
		more, err := p.separator('}', "object")
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	p.depth--
	return nil
}

// dataItemMember parses the member named name of an EventData "Data" element (or of its "#attributes") when it
// is one that pairs up: "#attributes", the name key or the value key. It reports whether it was.
func (p *jsonParser) dataItemMember(item *dataPair, name []byte) (bool, error) {
	switch string(name) {
	case "#attributes":
		if p.b[p.i] != '{' {
			return false, nil
		}
		return true, p.object(item)
	case "Name", "name":
		if p.b[p.i] != '"' {
			return true, p.skipValue()
		}
		mark := len(p.ev.buf)
		if err := p.str(&p.ev.buf); err != nil {
			return true, err
		}
		item.slot = dataSlot(p.ev.buf[mark:])
		p.ev.buf = p.ev.buf[:mark]
		return true, nil
	case "#text", "text", "Value", "value":
		if p.b[p.i] == '{' || p.b[p.i] == '[' {
			return true, p.skipValue()
		}
		start := len(p.ev.buf)
		null, err := p.scalar(&p.ev.buf)
		if err != nil {
			return true, err
		}
		if !null {
			item.start, item.end = start, len(p.ev.buf)
		}
		return true, nil
	}
	return false, nil
}

// separator reads what follows a member or an element: ',' (more follows) or the closing byte (the end).
func (p *jsonParser) separator(closing byte, what string) (more bool, err error) {
	p.skipWS()
	if p.i >= len(p.b) {
		return false, p.errf("unterminated %s", what)
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return true, nil
	case closing:
		p.i++
		return false, nil
	}
	return false, p.errf("expected ',' or '%c'", closing)
}

// key reads an object key; the returned bytes are valid until the next key.
func (p *jsonParser) key() ([]byte, error) {
	// Fast path: no escapes.
	j := p.i + 1
	for j < len(p.b) && p.b[j] != '"' && p.b[j] != '\\' && p.b[j] >= 0x20 {
		j++
	}
	if j < len(p.b) && p.b[j] == '"' {
		k := p.b[p.i+1 : j]
		p.i = j + 1
		return k, nil
	}
	p.scratch = p.scratch[:0]
	if err := p.str(&p.scratch); err != nil {
		return nil, err
	}
	return p.scratch, nil
}

func trimAt(k []byte) []byte {
	if len(k) > 1 && k[0] == '@' && string(k) != "@timestamp" {
		return k[1:]
	}
	return k
}

// member parses the value of key in the current object.
func (p *jsonParser) member(key []byte) error {
	if p.i >= len(p.b) {
		return p.errf("expected a value after key %q", key)
	}
	key = trimAt(key)
	push := !transparent(key)
	if push {
		if p.n == maxDepth {
			return p.errf("nested deeper than %d", maxDepth)
		}
		p.path[p.n] = key
		p.n++
		defer func() { p.n-- }()
	}
	switch p.b[p.i] {
	case '{':
		return p.object(nil)
	case '[':
		return p.array(p.n > 0 && string(p.path[p.n-1]) == "Data" && p.inEventData(p.n-1))
	case '"':
		if p.n > 0 && string(p.path[p.n-1]) == "EventData" && p.i+1 < len(p.b) && p.b[p.i+1] == '{' {
			return p.stringObject()
		}
	}
	s := p.leafSlot()
	if s < 0 {
		return p.skipValue()
	}
	mark := len(p.ev.buf)
	null, err := p.scalar(&p.ev.buf)
	if err != nil {
		return err
	}
	if !null {
		p.ev.span[s] = [2]int32{int32(mark), int32(len(p.ev.buf))}
	} else {
		p.ev.buf = p.ev.buf[:mark]
	}
	return nil
}

// inEventData reports whether path[:k] ends in an EventData container.
func (p *jsonParser) inEventData(k int) bool {
	return k > 0 && isDataContainer(p.path[k-1])
}

func isDataContainer(k []byte) bool {
	return string(k) == "EventData" || string(k) == "event_data" || string(k) == "UserData"
}

// stringObject parses a string holding a JSON object (Azure WindowsEvent EventData) as the current member.
func (p *jsonParser) stringObject() error {
	p.inner = p.inner[:0]
	if err := p.str(&p.inner); err != nil {
		return err
	}
	outerB, outerI := p.b, p.i
	inner := append([]byte(nil), p.inner...) // p.inner may be reused by nested parsing
	p.b, p.i = inner, 0
	err := p.object(nil)
	if err == nil {
		p.skipWS()
		if p.i != len(p.b) {
			err = p.errf("unexpected data after the object")
		}
	}
	p.b, p.i = outerB, outerI
	if err != nil {
		return fmt.Errorf("EventData string: %w", err)
	}
	return nil
}

// leafSlot classifies the scalar at the current path.
func (p *jsonParser) leafSlot() slot {
	if p.n == 0 {
		return sNone
	}
	key := p.path[p.n-1]
	var parent []byte
	if p.n >= 2 {
		parent = p.path[p.n-2]
	}
	if p.n >= 2 && isDataContainer(parent) {
		return dataSlot(key)
	}
	switch string(parent) {
	case "Provider":
		if string(key) == "Name" {
			return sProvider
		}
		return sNone
	case "TimeCreated":
		if string(key) == "SystemTime" {
			return sTimeCreated
		}
		return sNone
	case "Security":
		if string(key) == "UserID" || string(key) == "UserId" { // UserId: Sysmon for Linux
			return sUserID
		}
		return sNone
	case "user":
		if p.n == 2 && string(key) == "identifier" { // winlog.user.identifier
			return sUserID
		}
		return sNone
	}
	if p.n > 2 {
		return sNone
	}
	switch string(key) {
	case "Provider", "SourceName", "provider_name", "ProviderName":
		return sProvider
	case "EventID", "event_id":
		return sEventID
	case "EventRecordID", "RecordNumber", "record_id":
		return sRecordID
	case "Computer", "Hostname", "computer_name":
		return sComputer
	case "SecurityUserID", "UserID":
		return sUserID
	case "Channel", "channel":
		return sChannel
	case "TimeCreated":
		if p.n == 2 { // System/TimeCreated as a string (our shape)
			return sTimeCreated
		}
		return sTimeFlat
	case "SystemTime":
		return sTimeCreated
	case "@timestamp":
		return sTimestamp
	}
	if p.n == 1 { // flat shapes: EventData fields at the top level
		return dataSlot(key)
	}
	return sNone
}

// array mirrors object's loop (depth bound, separators) for elements. Kept separate: an object's members
// feed the EventData name/value pairing (dataItemMember), an array's elements each start such a pair.
func (p *jsonParser) array(dataItems bool) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf("nested deeper than %d", maxDepth)
	}
	p.i++ // '['
	p.skipWS()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return nil
	}
	for {
		p.skipWS()
		if p.i >= len(p.b) {
			return p.errf("unterminated array")
		}
		var err error
		if dataItems && p.b[p.i] == '{' {
			item := dataPair{slot: sNone, start: -1}
			err = p.object(&item)
			if err == nil && item.slot >= 0 && item.start >= 0 {
				p.ev.span[item.slot] = [2]int32{int32(item.start), int32(item.end)}
			}
		} else {
			err = p.skipValue()
		}
		if err != nil {
			return err
		}
		more, err := p.separator(']', "array")
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	p.depth--
	return nil
}

// skipValue checks and skips any value.
func (p *jsonParser) skipValue() error {
	if p.i >= len(p.b) {
		return p.errf("expected a value")
	}
	switch p.b[p.i] {
	case '{':
		// Walk it with an empty-named path entry so nothing inside is kept.
		if p.n == maxDepth {
			return p.errf("nested deeper than %d", maxDepth)
		}
		p.path[p.n] = nil
		p.n++
		err := p.object(nil)
		p.n--
		return err
	case '[':
		return p.array(false)
	}
	_, err := p.scalar(nil)
	return err
}

// scalar reads a string, number, true, false or null, appending its text (strings decoded) to *dst when dst is
// not nil. null reports a JSON null.
func (p *jsonParser) scalar(dst *[]byte) (null bool, err error) {
	if p.i >= len(p.b) {
		return false, p.errf("expected a value")
	}
	c := p.b[p.i]
	switch {
	case c == '"':
		return false, p.str(dst)
	case c == '-' || c >= '0' && c <= '9':
		j := p.i
		if p.b[j] == '-' {
			j++
		}
		digits := j
		for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
			j++
		}
		if j == digits {
			return false, p.errf("bad number")
		}
		if j < len(p.b) && p.b[j] == '.' {
			j++
			f := j
			for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
				j++
			}
			if j == f {
				return false, p.errf("bad number")
			}
		}
		if j < len(p.b) && (p.b[j] == 'e' || p.b[j] == 'E') {
			j++
			if j < len(p.b) && (p.b[j] == '+' || p.b[j] == '-') {
				j++
			}
			f := j
			for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
				j++
			}
			if j == f {
				return false, p.errf("bad number")
			}
		}
		if dst != nil {
			*dst = append(*dst, p.b[p.i:j]...)
		}
		p.i = j
		return false, nil
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
			p.i += len(lit)
			if lit == "null" {
				return true, nil
			}
			if dst != nil {
				*dst = append(*dst, lit...)
			}
			return false, nil
		}
	}
	return false, p.errf("unexpected %q", c)
}

// str decodes the string at p.i, appending to *dst when dst is not nil.
func (p *jsonParser) str(dst *[]byte) error {
	p.i++ // '"'
	for {
		j := plainRun(p.b, p.i)
		if dst != nil {
			*dst = append(*dst, p.b[p.i:j]...)
		}
		p.i = j
		if j >= len(p.b) {
			return p.errf("unterminated string")
		}
		switch c := p.b[j]; {
		case c == '"':
			p.i++
			return nil
		case c < 0x20:
			return p.errf("control character in string")
		}
		// Backslash escape.
		if j+1 >= len(p.b) {
			return p.errf("unterminated string")
		}
		e := p.b[j+1]
		p.i = j + 2
		var r rune
		switch e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			u, ok := p.hex4(p.i)
			if !ok {
				return p.errf("bad \\u escape")
			}
			p.i += 4
			r = rune(u)
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
				if p.i+6 <= len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					if u2, ok := p.hex4(p.i + 2); ok {
						if d := utf16.DecodeRune(rune(u), rune(u2)); d != utf8.RuneError {
							r = d
							p.i += 6
						}
					}
				}
			}
		default:
			return p.errf("bad escape \\%c", e)
		}
		if dst != nil {
			*dst = utf8.AppendRune(*dst, r)
		}
	}
}

// plainRun returns the end of the run of bytes from b[i] that a JSON string holds as they are: the index of the
// first '"', '\\' or control character, or len(b). It tests eight bytes at a time while none of them is one.
func plainRun(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, bs := w^('"'*ones), w^('\\'*ones)
		// A zero byte in q or bs is a quote or a backslash; w-0x20… borrowing into a byte whose high bit w does
		// not have is a byte below 0x20. Each test is exact about whether there is such a byte, not where.
		if ((q-ones)&^q|(bs-ones)&^bs|(w-0x20*ones)&^w)&highs != 0 {
			break
		}
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	return i
}

func (p *jsonParser) hex4(i int) (uint16, bool) {
	if i+4 > len(p.b) {
		return 0, false
	}
	var v uint16
	for _, c := range p.b[i : i+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint16(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v |= uint16(c-'A') + 10
		default:
			return 0, false
		}
	}
	return v, true
}
