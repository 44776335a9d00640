package scpv2

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"regasmdetect/src/internal/shared"
)

// sameAsJSON checks decodeWire against json.Unmarshal on meta: when decodeWire decodes, json.Unmarshal must
// accept meta and give the same value. It returns whether decodeWire decoded.
func sameAsJSON(t *testing.T, meta []byte) bool {
	t.Helper()
	var fast wireRequest
	if !decodeWire(meta, &fast) {
		return false
	}
	var std wireRequest
	if err := json.Unmarshal(meta, &std); err != nil {
		t.Fatalf("decodeWire accepted %q, encoding/json refuses it: %v", meta, err)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("decodeWire(%q) =\n%#v\n%#v\nencoding/json =\n%#v\n%#v", meta, fast, fast.SearchInfo, std, std.SearchInfo)
	}
	return true
}

// TestDecodeWire: what splunkd and the SDKs send takes the fast path and decodes as encoding/json decodes it;
// what the fast path leaves to encoding/json is decoded by it, with the same result through ParseRequest.
func TestDecodeWire(t *testing.T) {
	fast := []string{
		`{"action":"getinfo","preview":false,"streaming_command_will_restart":false,"searchinfo":{"args":["detection=x","annotate=t"],"raw_args":["detection=\"x\""],"dispatch_dir":"C:\\Program Files\\Splunk\\var\\run\\splunk\\dispatch\\1.2","sid":"1.2","app":"search","owner":"admin","username":"admin","session_key":"k","splunkd_uri":"https://127.0.0.1:8089","splunk_version":"9.2.1","search":"%7C%20regasmdetect","command":"regasmdetect","maxresultrows":50000,"earliest_time":"0","latest_time":"1700000000.000"}}`,
		`{"action":"execute","finished":true}`,
		` { "action" : "execute" , "finished" : false , "unknown" : {"a":[1,-2.5e+3,true,null,"x\"y"],"b":{}} } `,
		`{"searchinfo":{"args":[],"raw_args":null,"maxresultrows":"50000.0","earliest_time":1599084000.0,"latest_time":null}}`,
		`{"searchinfo":null,"action":null,"finished":null}`,
		`{"searchinfo":{"args":["a",null,"b\/c\b\f\n\r\t"]}}`,
		`{}`,
	}
	for _, m := range fast {
		if !sameAsJSON(t, []byte(m)) {
			t.Errorf("left to encoding/json: %s", m)
		}
	}
	slow := []string{
		`{"action":"get\u0069nfo"}`,                // a \u escape
		`{"Action":"getinfo"}`,                     // a field matched only when case is ignored
		`{"action":"getinfo","action":"execute"}`,  // a duplicate key
		`{"searchinfo":{"sid":"a","SID":"b"}}`,     // the same in searchinfo
		`{"finished":"true"}`,                      // a value of another type
		`{"searchinfo":{"maxresultrows":-1}}`,      // refused by flexInt
		`{"action":"x"} {"action":"y"}`,            // two values
		`{"action":"x",}`,                          // a trailing comma
		`{"unknown":[1,]}`,                         // the same in a skipped value
		`{"unknown":01}`,                           // a leading zero
		`{"unknown":tru}`,                          // a broken literal
		"{\"action\":\"a\tb\"}",                    // a control character in a string
		`{"action":"x"`,                            // cut short
		`{"searchinfo":{"args":"detection=x"}}`,    // a string for an array
		`{"unknown":` + deep(maxWireDepth+2) + `}`, // nested deeper than skip follows
	}
	for _, m := range slow {
		if sameAsJSON(t, []byte(m)) {
			t.Errorf("decoded on the fast path: %s", m)
		}
		// ParseRequest gives what encoding/json alone gives.
		var std wireRequest
		errStd := json.Unmarshal([]byte(m), &std)
		req, err := ParseRequest([]byte(m))
		if (err == nil) != (errStd == nil) {
			t.Errorf("%s: ParseRequest error %v, encoding/json error %v", m, err, errStd)
		} else if err == nil && req.Action != std.Action {
			t.Errorf("%s: action %q, encoding/json %q", m, req.Action, std.Action)
		}
	}
}

func deep(n int) string {
	return string(bytes.Repeat([]byte("["), n)) + string(bytes.Repeat([]byte("]"), n))
}

// TestDecodeWireRecordings: every request of the shared recordings of splunkd and of the SDK's reference runs
// takes the fast path.
func TestDecodeWireRecordings(t *testing.T) {
	root := shared.Path(t, "data/scpv2")
	paths, err := filepath.Glob(filepath.Join(root, "*", "*.input"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no recordings in %s: %v", root, err)
	}
	n := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rd := NewReader(bytes.NewReader(data))
		for {
			meta, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil { // generatehello.input ends inside a body; its requests before that count
				t.Logf("%s: %v", p, err)
				break
			}
			if !sameAsJSON(t, meta) {
				t.Errorf("%s, chunk %d: left to encoding/json: %.200s", p, rd.Chunk(), meta)
			}
			n++
		}
	}
	t.Logf("%d requests of %d recordings", n, len(paths))
}

// FuzzDecodeWire: whatever decodeWire decodes, encoding/json decodes to the same value. (ParseRequest refuses
// metadata that is not valid UTF-8 before either runs.)
func FuzzDecodeWire(f *testing.F) {
	f.Add([]byte(`{"action":"getinfo","searchinfo":{"args":["a"],"maxresultrows":"50000.0","earliest_time":1.5,"x":[{}]}}`))
	f.Add([]byte(`{"action":"execute","finished":true,"Finished":false}`))
	addSharedSeeds(f, 16<<10, "data/scpv2/sdk-reference/*.input", "data/scpv2/splunk-6.3/*.input")
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		sameAsJSON(t, data)
	})
}

// jsonReply is the reply's metadata as encoding/json writes it without HTML escaping, an Inspector without
// messages left out: what Writer wrote before appendReply.
func jsonReply(t *testing.T, r Reply) string {
	t.Helper()
	if r.Inspector != nil && len(r.Inspector.Messages) == 0 {
		r.Inspector = nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&r); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestAppendReply: the replies the command writes, and strings with every kind of escape, come out as
// encoding/json writes them.
func TestAppendReply(t *testing.T) {
	yes, no := true, false
	odd := "a\"b\\c\b\f\n\r\t\x00\x1f\x7f<>&é\u2028\u2029\xff\xc3 end"
	replies := []Reply{
		{},
		{Type: "streaming"},
		{Type: "reporting", RequiredFields: []string{"Processes.dest", "_time"}, StreamingPreop: `regasmdetect phase=map sid="1.2" detection="x"`},
		{Finished: &no},
		{Finished: &yes, Error: odd, Inspector: &Inspector{Messages: [][2]string{{"ERROR", odd}}}},
		{Finished: &yes, Inspector: &Inspector{}},
		{Finished: &yes, Inspector: &Inspector{Messages: [][2]string{{"WARN", "a"}, {"INFO", ""}}}},
		{Type: odd, RequiredFields: []string{}, StreamingPreop: odd},
		{RequiredFields: []string{"", odd}},
	}
	for _, r := range replies {
		if got, want := string(appendReply(nil, &r)), jsonReply(t, r); got != want {
			t.Errorf("appendReply = %s\nencoding/json   %s", got, want)
		}
	}
}

// FuzzAppendReply: any reply's metadata is written as encoding/json writes it.
func FuzzAppendReply(f *testing.F) {
	f.Add("reporting", "Processes.dest", "regasmdetect phase=map", "", "WARN", "", byte(0))
	f.Add("", "", "", "boom \"x\" \\ \n\u2028", "ERROR", "boom \xff", byte(2))
	f.Fuzz(func(t *testing.T, typ, field, preop, errText, level, text string, flags byte) {
		r := Reply{Type: typ, StreamingPreop: preop, Error: errText}
		if field != "" || flags&8 != 0 {
			r.RequiredFields = []string{field, typ}
		}
		if flags&3 != 0 {
			fin := flags&1 != 0
			r.Finished = &fin
		}
		if flags&4 != 0 {
			r.Inspector = &Inspector{}
			if level != "" || text != "" {
				r.Inspector.Messages = [][2]string{{level, text}, {text, level}}
			}
		}
		if got, want := string(appendReply(nil, &r)), jsonReply(t, r); got != want {
			t.Fatalf("appendReply = %q\nencoding/json   %q", got, want)
		}
	})
}
