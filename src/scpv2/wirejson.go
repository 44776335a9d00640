package scpv2

import (
	"bytes"
	"strconv"

	"regasmdetect/src/internal/jsonstr"
)

// decodeWire decodes request metadata of the shape splunkd sends into w without encoding/json, whose
// reflection over wireRequest costs a process that answers one getinfo (a probe, every search's first exchange)
// more than the rest of that exchange. It reports false for anything it does not decode exactly as
// json.Unmarshal would: a value of another type than its field's, a duplicate key, a key that names a field
// only when case is ignored, a \u escape, a control character, invalid JSON. ParseRequest then decodes with
// encoding/json, which gives the same result or the error; FuzzDecodeWire holds the two to the same result.
func decodeWire(meta []byte, w *wireRequest) bool {
	d := wireDecoder{b: meta}
	var seen [len(requestKeys)]bool
	ok := d.object(func(key []byte) bool {
		i, ok := keyIndex(requestKeys[:], key, seen[:])
		switch {
		case !ok:
			return false
		case i < 0:
			return d.skip(0)
		}
		switch requestKeys[i] {
		case "action":
			return d.stringInto(&w.Action)
		case "finished":
			return d.boolInto(&w.Finished)
		case "preview":
			return d.boolInto(&w.Preview)
		case "streaming_command_will_restart":
			return d.boolInto(&w.StreamingCommandWillRestart)
		default: // searchinfo
			if d.literal("null") {
				w.SearchInfo = nil
				return true
			}
			w.SearchInfo = &wireSearchInfo{}
			return d.searchInfo(w.SearchInfo)
		}
	})
	d.space()
	return ok && d.i == len(d.b)
}

// requestKeys and searchInfoKeys are the JSON names of wireRequest's and wireSearchInfo's fields.
var (
	requestKeys    = [...]string{"action", "finished", "preview", "streaming_command_will_restart", "searchinfo"}
	searchInfoKeys = [...]string{"args", "raw_args", "dispatch_dir", "sid", "app", "owner", "username", "splunkd_uri",
		"splunk_version", "search", "command", "maxresultrows", "earliest_time", "latest_time"}
)

// keyIndex returns the index of key in keys and marks it seen, or -1 for a key that names no field. ok is false
// for a key seen before or one that matches a field only when case is ignored (encoding/json matches it; its
// rules for that are not repeated here).
func keyIndex(keys []string, key []byte, seen []bool) (i int, ok bool) {
	for i, k := range keys {
		if string(key) == k {
			if seen[i] {
				return 0, false
			}
			seen[i] = true
			return i, true
		}
	}
	for _, k := range keys {
		if bytes.EqualFold(key, []byte(k)) {
			return 0, false
		}
	}
	return -1, true
}

func (d *wireDecoder) searchInfo(si *wireSearchInfo) bool {
	var seen [len(searchInfoKeys)]bool
	return d.object(func(key []byte) bool {
		i, ok := keyIndex(searchInfoKeys[:], key, seen[:])
		switch {
		case !ok:
			return false
		case i < 0:
			return d.skip(0)
		}
		switch searchInfoKeys[i] {
		case "args":
			return d.stringsInto(&si.Args)
		case "raw_args":
			return d.stringsInto(&si.RawArgs)
		case "dispatch_dir":
			return d.stringInto(&si.DispatchDir)
		case "sid":
			return d.stringInto(&si.SID)
		case "app":
			return d.stringInto(&si.App)
		case "owner":
			return d.stringInto(&si.Owner)
		case "username":
			return d.stringInto(&si.Username)
		case "splunkd_uri":
			return d.stringInto(&si.SplunkdURI)
		case "splunk_version":
			return d.stringInto(&si.SplunkVersion)
		case "search":
			return d.stringInto(&si.Search)
		case "command":
			return d.stringInto(&si.Command)
		case "maxresultrows":
			raw, ok := d.raw()
			return ok && si.MaxResultRows.UnmarshalJSON(raw) == nil
		case "earliest_time":
			return d.timeInto(&si.EarliestTime)
		default: // latest_time
			return d.timeInto(&si.LatestTime)
		}
	})
}

// timeInto reads a flexTime: a string as stringInto does (flexTime.UnmarshalJSON would hand it to
// encoding/json), anything else through flexTime.UnmarshalJSON.
func (d *wireDecoder) timeInto(t *flexTime) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '"' {
		s, ok := d.str()
		*t = flexTime(s)
		return ok
	}
	raw, ok := d.raw()
	return ok && t.UnmarshalJSON(raw) == nil
}

// wireDecoder reads JSON from b at i. Every method reports false where it stops understanding the input.
type wireDecoder struct {
	b []byte
	i int
}

func (d *wireDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming it if so.
func (d *wireDecoder) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// literal consumes the literal word (true, false, null) if it comes next.
func (d *wireDecoder) literal(word string) bool {
	d.space()
	if len(d.b)-d.i >= len(word) && string(d.b[d.i:d.i+len(word)]) == word {
		d.i += len(word)
		return true
	}
	return false
}

// object reads an object, calling member with each key; member reads the value.
func (d *wireDecoder) object(member func(key []byte) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		d.space()
		key, ok := d.strBytes()
		if !ok || !d.next(':') || !member(key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// str reads a string whose escapes are all one of \" \\ \/ \b \f \n \r \t.
func (d *wireDecoder) str() (string, bool) {
	b, ok := d.strBytes()
	return string(b), ok
}

// strBytes is str returning the string's bytes: a slice of the input when it has no escape, so that a key
// costs no allocation.
func (d *wireDecoder) strBytes() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	d.i++
	start := d.i
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return nil, false
		default:
			d.i++
		}
	}
	return nil, false
}

// escaped finishes a string that has an escape at d.i and started at start.
func (d *wireDecoder) escaped(start int) ([]byte, bool) {
	buf := append([]byte(nil), d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return buf, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			buf = append(buf, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return nil, false
		}
		switch e := d.b[d.i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		default: // \u and invalid escapes
			return nil, false
		}
		d.i += 2
	}
	return nil, false
}

// stringInto reads a string into s; null leaves s as it is, as encoding/json does.
func (d *wireDecoder) stringInto(s *string) bool {
	if d.literal("null") {
		return true
	}
	d.space()
	v, ok := d.str()
	if ok {
		*s = v
	}
	return ok
}

// boolInto reads true or false into b; null leaves b as it is.
func (d *wireDecoder) boolInto(b *bool) bool {
	switch {
	case d.literal("true"):
		*b = true
	case d.literal("false"):
		*b = false
	case d.literal("null"):
	default:
		return false
	}
	return true
}

// stringsInto reads an array of strings (a null element is "") into *ss; null sets *ss to nil.
func (d *wireDecoder) stringsInto(ss *[]string) bool {
	if d.literal("null") {
		*ss = nil
		return true
	}
	if !d.next('[') {
		return false
	}
	out := []string{}
	if d.next(']') {
		*ss = out
		return true
	}
	for {
		var s string
		if !d.stringInto(&s) {
			return false
		}
		out = append(out, s)
		if d.next(']') {
			*ss = out
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// raw reads any value and returns its text, as encoding/json hands it to an UnmarshalJSON method.
func (d *wireDecoder) raw() ([]byte, bool) {
	d.space()
	start := d.i
	if !d.skip(0) {
		return nil, false
	}
	return d.b[start:d.i], true
}

// maxWireDepth bounds the nesting skip follows; deeper input is left to encoding/json.
const maxWireDepth = 64

// skip reads any JSON value, checking its syntax.
func (d *wireDecoder) skip(depth int) bool {
	if depth > maxWireDepth {
		return false
	}
	d.space()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(func([]byte) bool { return d.skip(depth + 1) })
	case c == '[':
		d.i++
		if d.next(']') {
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			if d.next(']') {
				return true
			}
			if !d.next(',') {
				return false
			}
		}
	case c == '"':
		_, ok := d.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.literal("true") || d.literal("false") || d.literal("null")
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *wireDecoder) number() bool {
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.digits() == 0:
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return false
		}
	}
	return true
}

func (d *wireDecoder) digits() int {
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// appendReply appends r as JSON, byte for byte as encoding/json writes it without HTML escaping (fields in
// declaration order, empty ones omitted; an Inspector without messages is left out), without its reflection.
// FuzzAppendReply holds the two to the same bytes.
func appendReply(b []byte, r *Reply) []byte {
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if r.Type != "" {
		key("type")
		b = jsonstr.Append(b, r.Type)
	}
	if len(r.RequiredFields) > 0 {
		key("required_fields")
		b = append(b, '[')
		for i, f := range r.RequiredFields {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, f)
		}
		b = append(b, ']')
	}
	if r.StreamingPreop != "" {
		key("streaming_preop")
		b = jsonstr.Append(b, r.StreamingPreop)
	}
	if r.Finished != nil {
		key("finished")
		b = strconv.AppendBool(b, *r.Finished)
	}
	if r.Error != "" {
		key("error")
		b = jsonstr.Append(b, r.Error)
	}
	if r.Inspector != nil && len(r.Inspector.Messages) > 0 {
		key("inspector")
		b = append(b, `{"messages":[`...)
		for i, m := range r.Inspector.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = jsonstr.Append(b, m[0])
			b = append(b, ',')
			b = jsonstr.Append(b, m[1])
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	return append(b, '}')
}
