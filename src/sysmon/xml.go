package sysmon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"regasmdetect/src/cim"
)

// xmlReader reads Windows event XML: one <Event> per line as Splunk indexes XmlWinEventLog (single-quoted
// attributes, entities escaped), or pretty-printed events over several lines (double quotes, an optional
// <?xml?> declaration and <Events> wrapper). Several events on one line are fine too.
type xmlReader struct {
	lr      *lineReader
	source  string
	ev      *event
	stats   Stats
	line    []byte // current line, pos the unread part
	pos     int
	pending []byte // the event being assembled
	start   int64  // its first line
	inEvent bool
	stray   bool // inside text outside any event, already reported
	done    bool
	// general reads every event the general way (frame, copy, parse), without parseInLine: the reference
	// the one-line path is tested against.
	general bool
}

// NewXMLReader returns a Reader of Windows event XML from r; source names r in errors and records.
func NewXMLReader(r io.Reader, source string) Reader {
	return &xmlReader{lr: newLineReader(r), source: source, ev: newEvent()}
}

func (x *xmlReader) Stats() Stats { return x.stats }

func (x *xmlReader) resetBytes(b []byte, first bool) {
	x.lr.resetBytes(b, first)
	*x = xmlReader{lr: x.lr, source: x.source, ev: x.ev, pending: x.pending[:0], general: x.general}
}

func (x *xmlReader) lineCount() int64 { return x.lr.line }

// recordErr reports a bad event.
func (x *xmlReader) recordErr(line int64, err error) error {
	x.stats.Events++
	return x.strayErr(line, err)
}

// strayErr reports bad text that is not an event: counted as an error, not as an event.
func (x *xmlReader) strayErr(line int64, err error) error {
	x.stats.Errors++
	return &RecordError{Source: x.source, Record: line, Err: err}
}

// The two ways an event is cut short.
var (
	errTruncatedAtEOF   = errors.New("truncated event: end of input before </Event>")
	errTruncatedByStart = errors.New("truncated event: a new <Event> starts before </Event>")
)

var (
	eventStart = []byte("<Event")
	eventEnd   = []byte("</Event>")
)

// findStart returns the index of the next "<Event" start tag in b (not "<Events"), or -1.
func findStart(b []byte) int {
	off := 0
	for {
		i := bytes.Index(b[off:], eventStart)
		if i < 0 {
			return -1
		}
		j := off + i + len(eventStart)
		if j == len(b) || b[j] == '>' || b[j] == '/' || isSpace(b[j]) {
			return off + i
		}
		off = j
	}
}

// ignorable reports whether text outside events may be skipped: white space, declarations, comments and the
// <Events> wrapper.
func ignorable(b []byte) bool {
	b = trimSpace(b)
	return len(b) == 0 || bytes.HasPrefix(b, []byte("<?")) || bytes.HasPrefix(b, []byte("<!")) ||
		bytes.HasPrefix(b, []byte("<Events")) || bytes.HasPrefix(b, []byte("</Events"))
}

func (x *xmlReader) Next(p *cim.Process) error {
	for {
		if x.pos >= len(x.line) && x.line != nil && !x.inEvent {
			x.line = nil
		}
		if x.line == nil || x.pos >= len(x.line) {
			if x.done {
				return io.EOF
			}
			if x.line != nil && x.inEvent {
				x.pending = append(x.pending, '\n')
			}
			line, err := x.lr.next()
			if errors.Is(err, errLineTooLong) {
				x.inEvent, x.pending = false, x.pending[:0]
				x.line, x.pos = nil, 0
				return x.recordErr(x.lr.line, err)
			}
			if err == io.EOF {
				x.done = true
				if x.inEvent {
					x.inEvent = false
					return x.recordErr(x.start, errTruncatedAtEOF)
				}
				return io.EOF
			}
			if err != nil {
				return fmt.Errorf("sysmon: %s: line %d: %w", x.source, x.lr.line+1, err)
			}
			x.line, x.pos = line, 0
			if len(line) == 0 {
				x.line = []byte{} // an empty line still separates lines of a multi-line event
			}
			if x.inEvent {
				continue
			}
		}
		rest := x.line[x.pos:]
		if !x.inEvent {
			i := findStart(rest)
			// Text outside events: one error per run of stray lines.
			if i < 0 {
				x.pos = len(x.line)
				if !ignorable(rest) && !x.stray {
					x.stray = true
					return x.strayErr(x.lr.line, fmt.Errorf("text outside an <Event> element: %q", clip(trimSpace(rest))))
				}
				continue
			}
			if !ignorable(rest[:i]) && !x.stray {
				x.pos += i
				return x.strayErr(x.lr.line, fmt.Errorf("text outside an <Event> element: %q", clip(trimSpace(rest[:i]))))
			}
			x.stray = false
			x.pos += i
			rest = x.line[x.pos:]
			if len(rest) <= MaxLine && !x.general {
				// The common case, an event on one line, parsed in place.
				if n, ok := x.parseInLine(rest); ok {
					x.pos += n
					if x.take(p, x.lr.line) {
						return nil
					}
					continue
				}
			}
			x.inEvent, x.start = true, x.lr.line
			x.pending = x.pending[:0]
			// Keep "<Event" itself out of the next start search.
			x.pending = append(x.pending, rest[:len(eventStart)]...)
			x.pos += len(eventStart)
			rest = x.line[x.pos:]
		}
		end := bytes.Index(rest, eventEnd)
		next := findStart(rest)
		if next >= 0 && (end < 0 || next < end) {
			// Another event starts before this one ends: this one is truncated.
			x.pos += next
			x.inEvent = false
			return x.recordErr(x.start, errTruncatedByStart)
		}
		if len(x.pending)+len(rest) > MaxLine {
			x.inEvent = false
			x.pos = len(x.line)
			return x.recordErr(x.start, fmt.Errorf("event longer than %d bytes", MaxLine))
		}
		if end < 0 {
			x.pending = append(x.pending, rest...)
			x.pos = len(x.line)
			continue
		}
		x.pending = append(x.pending, rest[:end+len(eventEnd)]...)
		x.pos += end + len(eventEnd)
		x.inEvent = false
		x.stats.Events++
		x.ev.reset()
		if err := parseXMLEvent(x.pending, x.ev); err != nil {
			x.stats.Errors++
			return &RecordError{Source: x.source, Record: x.start, Err: err}
		}
		if x.take(p, x.start) {
			return nil
		}
	}
}

// take maps the event just parsed into p when it is a process creation (reporting true) and counts it.
func (x *xmlReader) take(p *cim.Process, line int64) bool {
	if !x.ev.isProcessCreation() {
		x.stats.Other++
		return false
	}
	Map(x.ev, p)
	p.Source, p.Record = x.source, line
	x.stats.ProcessCreations++
	return true
}

// parseInLine parses the event at the start of b (which starts with "<Event"), when the event is plain: it
// ends on this line and holds only elements, attributes and text (no comment, CDATA, processing instruction or
// declaration, no other <Event> start tag, and its end tag is exactly "</Event>"), and it is well-formed. Then
// every '<' in it opens a tag the parser reads, so the first "</Event>" in b is the event's end tag and no
// "<Event" comes before it: the event is the one Next would have framed, and parseXMLEvent would have read it
// the same. It returns the length of the event and true, with the event counted and its fields in x.ev; any
// other event gives false, and Next frames and parses it the general way, with the same errors as before.
func (x *xmlReader) parseInLine(b []byte) (int, bool) {
	x.ev.reset()
	st := xmlState{b: b, ev: x.ev, target: sNone, plain: true}
	n, err := st.parse()
	if err != nil {
		return 0, false
	}
	x.stats.Events++
	return n, true
}

// clip shortens b for a message.
func clip(b []byte) []byte {
	if len(b) > 60 {
		return append(b[:60:60], "..."...)
	}
	return b
}

// maxDepth bounds element nesting in one event.
const maxDepth = 64

// xmlState is the parser's context while walking one event.
type xmlState struct {
	b     []byte
	ev    *event
	names [maxDepth][2]int // name span of each open element
	depth int
	// where we are: element path kinds
	inSystem, inEventData bool
	target                slot // slot receiving text, or sNone
	// plain is the one-line mode of parseInLine: parse stops after the root's end tag and fails with
	// errNotPlain at what a plain event does not hold.
	plain bool
}

// errNotPlain stops the one-line mode: the event is read the general way.
var errNotPlain = errors.New("not a plain one-line event")

func xmlErr(b []byte, i int, format string, args ...any) error {
	return fmt.Errorf("XML at byte %d: %s", i, fmt.Sprintf(format, args...))
}

// parseXMLEvent parses one <Event> element and stores the kept fields in ev.
func parseXMLEvent(b []byte, ev *event) error {
	st := xmlState{b: b, ev: ev, target: sNone}
	_, err := st.parse()
	return err
}

// parse walks st.b from its start. In plain mode it returns after the root's end tag, with the bytes read.
func (st *xmlState) parse() (int, error) {
	b, ev := st.b, st.ev
	i := 0
	seenRoot := false
	for i < len(b) {
		c := b[i]
		if c != '<' {
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				j = len(b) - i
			}
			if st.depth == 0 {
				if len(trimSpace(b[i:i+j])) != 0 {
					return 0, xmlErr(b, i, "text after the root element")
				}
			} else if st.target >= 0 {
				if err := unescape(&ev.buf, b[i:i+j]); err != nil {
					return 0, xmlErr(b, i, "%v", err)
				}
			} else if err := unescape(nil, b[i:i+j]); err != nil {
				return 0, xmlErr(b, i, "%v", err)
			}
			i += j
			continue
		}
		var kind byte
		if i+1 < len(b) {
			kind = b[i+1]
		}
		switch {
		case kind == '/':
			n, err := st.endTag(i)
			if err != nil {
				return 0, err
			}
			i = n
			if st.plain && st.depth == 0 {
				return i, nil
			}
		case (kind == '!' || kind == '?') && st.plain:
			return 0, errNotPlain
		case kind == '!' && bytes.HasPrefix(b[i:], []byte("<!--")):
			j := bytes.Index(b[i+4:], []byte("-->"))
			if j < 0 {
				return 0, xmlErr(b, i, "unterminated comment")
			}
			i += 4 + j + 3
		case kind == '!' && bytes.HasPrefix(b[i:], []byte("<![CDATA[")):
			j := bytes.Index(b[i+9:], []byte("]]>"))
			if j < 0 {
				return 0, xmlErr(b, i, "unterminated CDATA section")
			}
			if st.depth == 0 {
				return 0, xmlErr(b, i, "CDATA outside the root element")
			}
			if st.target >= 0 {
				ev.buf = append(ev.buf, b[i+9:i+9+j]...)
			}
			i += 9 + j + 3
		case kind == '?':
			j := bytes.Index(b[i+2:], []byte("?>"))
			if j < 0 {
				return 0, xmlErr(b, i, "unterminated processing instruction")
			}
			i += 2 + j + 2
		case kind == '!':
			j := bytes.IndexByte(b[i:], '>')
			if j < 0 {
				return 0, xmlErr(b, i, "unterminated declaration")
			}
			i += j + 1
		default:
			if st.depth == 0 && seenRoot {
				return 0, xmlErr(b, i, "a second root element")
			}
			seenRoot = true
			n, err := st.startTag(i)
			if err != nil {
				return 0, err
			}
			i = n
		}
	}
	if st.plain {
		return 0, errNotPlain // the event goes on past this line
	}
	if !seenRoot {
		return 0, errors.New("XML: no element")
	}
	if st.depth != 0 {
		return 0, fmt.Errorf("XML: truncated: <%s> not closed", st.name(st.depth-1))
	}
	return i, nil
}

func (st *xmlState) name(d int) []byte { return st.b[st.names[d][0]:st.names[d][1]] }

// nameBytes marks the bytes a name is made of: ASCII letters, digits, '_', '-', '.', ':' and every byte of a
// multi-byte UTF-8 sequence.
var nameBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' ||
			c == '.' || c == ':' || c >= 0x80
	}
	return t
}()

// readName reads the name at i and returns its end and where its local part starts (after the first ':').
func (st *xmlState) readName(i int) (end, local int, err error) {
	j, local := i, i
	for j < len(st.b) && nameBytes[st.b[j]] {
		if st.b[j] == ':' && local == i {
			local = j + 1
		}
		j++
	}
	if j == i {
		return i, i, xmlErr(st.b, i, "expected a name")
	}
	return j, local, nil
}

func (st *xmlState) endTag(i int) (int, error) {
	b := st.b
	// The name is most often the open element's: compare it, else read it.
	j := -1
	if st.depth > 0 {
		open := st.name(st.depth - 1)
		if e := i + 2 + len(open); e <= len(b) && string(b[i+2:e]) == string(open) && (e == len(b) || !nameBytes[b[e]]) {
			j = e
		}
	}
	if j < 0 {
		var err error
		if j, _, err = st.readName(i + 2); err != nil {
			return 0, err
		}
	}
	k := j
	for k < len(b) && isSpace(b[k]) {
		k++
	}
	if k >= len(b) || b[k] != '>' {
		return 0, xmlErr(b, k, "expected '>' in end tag")
	}
	if st.depth == 0 {
		return 0, xmlErr(b, i, "end tag </%s> without a start tag", b[i+2:j])
	}
	st.depth--
	if string(st.name(st.depth)) != string(b[i+2:j]) {
		return 0, xmlErr(b, i, "end tag </%s> closes <%s>", b[i+2:j], st.name(st.depth))
	}
	if st.plain && st.depth == 0 && k != j {
		return 0, errNotPlain // "</Event >": not the "</Event>" the framing looks for
	}
	st.closed(b[i+2 : j])
	return k + 1, nil
}

// closed updates the context when the element named name (with its prefix) ends.
func (st *xmlState) closed(name []byte) {
	if st.target >= 0 {
		st.ev.end(st.target)
		st.target = sNone
	}
	if st.depth == 1 {
		switch string(localName(name)) {
		case "System":
			st.inSystem = false
		case "EventData":
			st.inEventData = false
		}
	}
}

// localName drops a namespace prefix.
func localName(n []byte) []byte {
	if i := bytes.IndexByte(n, ':'); i >= 0 {
		return n[i+1:]
	}
	return n
}

func (st *xmlState) startTag(i int) (int, error) {
	b := st.b
	j, local, err := st.readName(i + 1)
	if err != nil {
		return 0, err
	}
	if st.depth == maxDepth {
		return 0, xmlErr(b, i, "elements nested deeper than %d", maxDepth)
	}
	if st.plain && st.depth > 0 && string(b[i+1:j]) == "Event" {
		return 0, errNotPlain // the framing takes it for the start of the next event
	}
	name := b[local:j]
	if st.depth == 0 && string(name) != "Event" {
		return 0, xmlErr(b, i, "root element <%s>, want <Event>", b[i+1:j])
	}
	st.names[st.depth] = [2]int{i + 1, j}
	st.depth++
	// What this element means, from its name and depth (Event=1, System/EventData=2, their children=3).
	inSys := st.depth == 3 && st.inSystem
	inData := st.depth == 3 && st.inEventData && string(name) == "Data"
	switch {
	case st.depth == 2 && string(name) == "System":
		st.inSystem = true
	case st.depth == 2 && string(name) == "EventData":
		st.inEventData = true
	}
	textSlot := sNone
	if inSys {
		switch string(name) {
		case "EventID":
			textSlot = sEventID
		case "EventRecordID":
			textSlot = sRecordID
		case "Computer":
			textSlot = sComputer
		case "Channel":
			textSlot = sChannel
		}
	}
	// Attributes.
	k := j
	for {
		start := k
		for k < len(b) && isSpace(b[k]) {
			k++
		}
		if k >= len(b) {
			return 0, xmlErr(b, i, "unterminated start tag <%s>", b[i+1:j])
		}
		if b[k] == '>' || b[k] == '/' {
			break
		}
		if k == start {
			return 0, xmlErr(b, k, "expected white space before an attribute")
		}
		an, alocal, err := st.readName(k)
		if err != nil {
			return 0, err
		}
		attr := b[alocal:an]
		k = an
		for k < len(b) && isSpace(b[k]) {
			k++
		}
		if k >= len(b) || b[k] != '=' {
			return 0, xmlErr(b, k, "expected '=' after attribute %s", attr)
		}
		k++
		for k < len(b) && isSpace(b[k]) {
			k++
		}
		if k >= len(b) || (b[k] != '\'' && b[k] != '"') {
			return 0, xmlErr(b, k, "expected a quoted value for attribute %s", attr)
		}
		q := b[k]
		e := bytes.IndexByte(b[k+1:], q)
		if e < 0 {
			return 0, xmlErr(b, k, "unterminated value of attribute %s", attr)
		}
		val := b[k+1 : k+1+e]
		if bytes.IndexByte(val, '<') >= 0 {
			return 0, xmlErr(b, k, "'<' in the value of attribute %s", attr)
		}
		k += e + 2
		s := sNone
		switch {
		case inSys && string(name) == "Provider" && string(attr) == "Name":
			s = sProvider
		case inSys && string(name) == "TimeCreated" && string(attr) == "SystemTime":
			s = sTimeCreated
		case inSys && string(name) == "Security" && (string(attr) == "UserID" || string(attr) == "UserId"): // UserId: Sysmon for Linux
			s = sUserID
		case inData && string(attr) == "Name":
			// The Data element's name is decoded into a scratch area at the end of buf, then dropped.
			mark := len(st.ev.buf)
			if err := unescape(&st.ev.buf, val); err != nil {
				return 0, xmlErr(b, k, "%v", err)
			}
			textSlot = dataSlot(st.ev.buf[mark:])
			st.ev.buf = st.ev.buf[:mark]
			continue
		}
		if s >= 0 {
			st.ev.begin(s)
			if err := unescape(&st.ev.buf, val); err != nil {
				return 0, xmlErr(b, k, "%v", err)
			}
			st.ev.end(s)
		} else if err := unescape(nil, val); err != nil {
			return 0, xmlErr(b, k, "%v", err)
		}
	}
	selfClosing := b[k] == '/'
	if selfClosing {
		if k+1 >= len(b) || b[k+1] != '>' {
			return 0, xmlErr(b, k, "expected '>' after '/'")
		}
		k++
	}
	if textSlot >= 0 {
		st.ev.begin(textSlot) // present, possibly empty
		st.target = textSlot
	}
	if selfClosing {
		st.depth--
		st.closed(b[i+1 : j])
	}
	return k + 1, nil
}

// unescape decodes XML character and entity references in s, once, appending the result to *dst (or only
// checking s when dst is nil).
func unescape(dst *[]byte, s []byte) error {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '&')
		if i < 0 {
			if dst != nil {
				*dst = append(*dst, s...)
			}
			return nil
		}
		if dst != nil {
			*dst = append(*dst, s[:i]...)
		}
		s = s[i:]
		j := bytes.IndexByte(s, ';')
		if j < 0 || j > 12 {
			return errors.New("unterminated entity reference")
		}
		ent := s[1:j]
		var r rune
		switch string(ent) {
		case "amp":
			r = '&'
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "quot":
			r = '"'
		case "apos":
			r = '\''
		default:
			n, ok := charRef(ent)
			if !ok {
				return fmt.Errorf("unknown entity &%s;", ent)
			}
			r = n
		}
		if dst != nil {
			*dst = utf8.AppendRune(*dst, r)
		}
		s = s[j+1:]
	}
	return nil
}

// charRef decodes the inside of &#NNN; or &#xHHH;.
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	base, digits := 10, ent[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	if len(digits) == 0 {
		return 0, false
	}
	var n rune
	for _, c := range digits {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		n = n*rune(base) + d
		if n > utf8.MaxRune {
			return 0, false
		}
	}
	if n == 0 || !utf8.ValidRune(n) {
		return 0, false
	}
	return n, true
}
