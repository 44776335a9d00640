package scpv2

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

// averageage is the getinfo request of a real Splunk 8.2.1 session (protocol.md §3.3), session key shortened.
const averageage = `{"action":"getinfo","preview":false,"streaming_command_will_restart":false,"searchinfo":{"args":[],"raw_args":[],"dispatch_dir":"C:\\Program Files\\Splunk\\var\\run\\splunk\\dispatch\\1629787541.119","sid":"1629787541.119","app":"CustomSearchCommandExamples","owner":"admin","username":"admin","session_key":"CwWqSECRET","splunkd_uri":"https://127.0.0.1:8089","splunk_version":"8.2.1","search":"search%20index%3Dbeetles%20%7C%20averageage%20%7C%20head%20100%20%7C%20export%20add_timestamp%3Df%20add_offset%3Dt%20segmentation%3Draw","command":"averageage","maxresultrows":50000,"earliest_time":"0","latest_time":"0"}}`

func TestParseRequestGetinfo(t *testing.T) {
	req, err := ParseRequest([]byte(averageage))
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{Action: "getinfo", SearchInfo: &SearchInfo{
		Args: []string{}, RawArgs: []string{},
		DispatchDir: `C:\Program Files\Splunk\var\run\splunk\dispatch\1629787541.119`, SID: "1629787541.119",
		App: "CustomSearchCommandExamples", Owner: "admin", Username: "admin", SplunkdURI: "https://127.0.0.1:8089",
		SplunkVersion: "8.2.1",
		Search:        "search%20index%3Dbeetles%20%7C%20averageage%20%7C%20head%20100%20%7C%20export%20add_timestamp%3Df%20add_offset%3Dt%20segmentation%3Draw",
		Command:       "averageage", MaxResultRows: 50000, EarliestTime: "0", LatestTime: "0",
	}}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got %+v\nwant %+v", req.SearchInfo, want.SearchInfo)
	}
	if got := req.SearchInfo.DecodedSearch(); got != "search index=beetles | averageage | head 100 | export add_timestamp=f add_offset=t segmentation=raw" {
		t.Errorf("DecodedSearch = %q", got)
	}
	if s := fmt.Sprintf("%#v %#v", *req, *req.SearchInfo); strings.Contains(s, "SECRET") {
		t.Errorf("the session key was kept: %s", s)
	}
}

// TestParseRequestRecordings decodes the getinfo of every recording; the session key is never kept.
func TestParseRequestRecordings(t *testing.T) {
	tests := []struct {
		path     string
		args     []string
		rawArgs  []string
		earliest string
		version  string
		search   string // prefix of DecodedSearch
	}{
		{"data/scpv2/splunk-8.0.3/multibyte_input.gz", []string{}, []string{}, "1599084000.0", "8.0.3", "search index=_internal"},
		{"data/scpv2/splunk-6.3/countmatches.input", []string{"fieldname=word_count", `pattern=\w+`, "text"},
			[]string{"fieldname=word_count", `pattern="\w+"`, "text"}, "0", "20150522", `| inputlookup tweets | countmatches fieldname=word_count pattern="\w+" text`},
		{"data/scpv2/splunk-6.3/pypygeneratetext.input", []string{"count=1000", "text=Hello World!"},
			[]string{"count=1000", `text="Hello World!"`}, "0", "20150522", "pypygeneratehello  count=1000 record=t"},
		{"data/scpv2/splunk-6.3/sum.map.input.gz", []string{"total=total", "value1", "phase=map"},
			[]string{`total="total"`, "value1", "phase=map"}, "0", "20150522", "| inputlookup"},
	}
	for _, tc := range tests {
		data := readShared(t, shared.Path(t, tc.path))
		meta, err := NewReader(bytes.NewReader(data)).Next()
		if err != nil {
			t.Fatal(err)
		}
		key := sessionKey(t, meta)
		req, err := ParseRequest(meta)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		si := req.SearchInfo
		if req.Action != "getinfo" || si == nil {
			t.Fatalf("%s: %+v", tc.path, req)
		}
		if !reflect.DeepEqual(si.Args, tc.args) || !reflect.DeepEqual(si.RawArgs, tc.rawArgs) {
			t.Errorf("%s: args %q raw %q, want %q %q", tc.path, si.Args, si.RawArgs, tc.args, tc.rawArgs)
		}
		if si.EarliestTime != tc.earliest || si.SplunkVersion != tc.version {
			t.Errorf("%s: earliest %q version %q, want %q %q", tc.path, si.EarliestTime, si.SplunkVersion, tc.earliest, tc.version)
		}
		if !strings.HasPrefix(si.DecodedSearch(), tc.search) {
			t.Errorf("%s: search %q, want prefix %q", tc.path, si.DecodedSearch(), tc.search)
		}
		if s := fmt.Sprintf("%#v %#v", *req, *si); strings.Contains(s, key) {
			t.Errorf("%s: the session key was kept", tc.path)
		}
	}
}

// sessionKey finds the session_key value in raw metadata (for the leak check only).
func sessionKey(t *testing.T, meta []byte) string {
	t.Helper()
	i := bytes.Index(meta, []byte(`"session_key": "`))
	n := len(`"session_key": "`)
	if i < 0 {
		i = bytes.Index(meta, []byte(`"session_key":"`))
		n--
	}
	if i < 0 {
		t.Fatal("no session_key in the recording")
	}
	rest := meta[i+n:]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

func TestParseRequestLenient(t *testing.T) {
	tests := []struct {
		in   string
		want Request
		si   *SearchInfo
	}{
		{in: `{"action":"execute","finished":true}`, want: Request{Action: "execute", Finished: true}},
		{in: `{"action":"execute"}`, want: Request{Action: "execute"}},
		{in: ` {"action":"execute","finished":false,"new_key":{"x":[1,2]}} `, want: Request{Action: "execute"}},
		{in: `{"action":"getinfo","preview":true,"streaming_command_will_restart":true,"searchinfo":{"earliest_time":1627333200,"latest_time":null,"maxresultrows":"100","splunkd_port":8089}}`,
			want: Request{Action: "getinfo", Preview: true, StreamingCommandWillRestart: true},
			si:   &SearchInfo{EarliestTime: "1627333200", MaxResultRows: 100}},
		{in: `{"action":"getinfo","searchinfo":{"earliest_time":"1.5e9","maxresultrows":50000.0}}`,
			want: Request{Action: "getinfo"}, si: &SearchInfo{EarliestTime: "1.5e9", MaxResultRows: 50000}},
	}
	for _, tc := range tests {
		req, err := ParseRequest([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		tc.want.SearchInfo = tc.si
		if !reflect.DeepEqual(*req, tc.want) {
			t.Errorf("%s: got %+v (%+v), want %+v (%+v)", tc.in, *req, req.SearchInfo, tc.want, tc.si)
		}
	}
}

func TestParseRequestErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "request metadata is empty"},
		{"  \n", "request metadata is empty"},
		{"null", `expected a JSON object, found "null"`},
		{`["action"]`, `expected a JSON object, found "[\"action\"]"`},
		{`{"action":"execute"`, "unexpected end of JSON input"},
		{`{"action":"execute"} x`, "invalid character 'x' after top-level value"},
		{`{"action":"execute","finished":"yes"}`, "cannot unmarshal string into Go struct field wireRequest.finished of type bool"},
		{`{"action":1}`, "cannot unmarshal number into Go struct field wireRequest.action of type string"},
		{`{"searchinfo":{"args":"x"}}`, "cannot unmarshal string into Go struct field wireSearchInfo.searchinfo.args of type []string"},
		{`{"searchinfo":{"earliest_time":{}}}`, "expected a string or a number, found \"{}\""},
		{`{"searchinfo":{"maxresultrows":"lots"}}`, `expected a non-negative integer, found "\"lots\""`},
		{`{"searchinfo":{"maxresultrows":1.5}}`, `expected a non-negative integer, found "1.5"`},
		{"{\"action\":\"get\xffinfo\"}", "not valid UTF-8 (first bad byte at offset 14)"},
		{`{"searchinfo":{"session_key":"SECRETKEY","args":7}}`, "searchinfo.args"},
	}
	for _, tc := range tests {
		_, err := ParseRequest([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "scpv2: request metadata") {
			t.Errorf("%q: error %v, want it to contain %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRETKEY") {
			t.Errorf("%q: error leaks the session key: %v", tc.in, err)
		}
	}
}

func TestDecodedSearch(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a%20b+c", "a b+c"},
		{"%7c%7C", "||"},
		{"100%", "100%"},
		{"%zz%2", "%zz%2"},
		{"%E0%B8%97t", "\u0e17t"},
		{"%FF", "\uFFFD"},
		{"%EF%BC%A1", "Ａ"},
	}
	for _, tc := range tests {
		if got := (&SearchInfo{Search: tc.in}).DecodedSearch(); got != tc.want {
			t.Errorf("DecodedSearch(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestParseRequestAfterReader checks that the metadata slice from Reader can be parsed and then reused.
func TestParseRequestAfterReader(t *testing.T) {
	rd := NewReader(strings.NewReader("chunked 1.0,36,0\n{\"action\":\"execute\",\"finished\":true}chunked 1.0,37,0\n{\"action\":\"execute\",\"finished\":false}"))
	for _, want := range []bool{true, false} {
		meta, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		req, err := ParseRequest(meta)
		if err != nil || req.Finished != want {
			t.Fatalf("got %+v, %v; want finished=%v", req, err, want)
		}
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatal(err)
	}
}
