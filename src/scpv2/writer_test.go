package scpv2

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"regasmdetect/src/internal/shared"
)

func boolPtr(b bool) *bool { return &b }

// TestWriterSDKMultibyte reproduces the SDK's test_process_scpv2 chunk byte for byte: lengths count bytes.
func TestWriterSDKMultibyte(t *testing.T) {
	var body CSVWriter
	body.WriteRow([]string{"test", "__mv_test"})
	body.WriteRow([]string{"data", ""})
	body.WriteRow([]string{"测试", ""})
	var out bytes.Buffer
	if err := NewWriter(&out).WriteReply(&Reply{Finished: boolPtr(true)}, body.Bytes()); err != nil {
		t.Fatal(err)
	}
	want := "chunked 1.0,17,32\n{\"finished\":true}test,__mv_test\r\ndata,\r\n测试,\r\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

// TestWriterSDKReference compares with the SDK's real reply to sum.reduce.input: the execute reply byte for
// byte, the getinfo reply as JSON (the SDK writes streaming_preop before type).
func TestWriterSDKReference(t *testing.T) {
	ref := readShared(t, shared.Path(t, "data/scpv2/sdk-reference/sum.reduce.sdk.output"))
	var out bytes.Buffer
	w := NewWriter(&out)
	if err := w.WriteReply(&Reply{Type: "reporting", StreamingPreop: `sum phase="map" total="total" value1`}, nil); err != nil {
		t.Fatal(err)
	}
	getinfoLen := out.Len()
	var body CSVWriter
	body.WriteRow([]string{"total", "__mv_total"})
	body.WriteRow([]string{"2147943.07811", ""})
	if err := w.WriteReply(&Reply{Finished: boolPtr(true)}, body.Bytes()); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(ref, out.Bytes()[getinfoLen:]) {
		t.Fatalf("execute reply %q is not the end of the SDK's %q", out.Bytes()[getinfoLen:], ref)
	}
	if !bytes.HasPrefix(ref, out.Bytes()[:len("chunked 1.0,81,0\n")]) {
		t.Fatalf("getinfo header %q differs from the SDK's", out.Bytes()[:18])
	}
	got, want := readMetas(t, out.Bytes()), readMetas(t, ref)
	for i := range want {
		var g, w any
		if json.Unmarshal([]byte(got[i]), &g) != nil || json.Unmarshal([]byte(want[i]), &w) != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("chunk %d metadata %s, want %s", i+1, got[i], want[i])
		}
	}
}

func readMetas(t *testing.T, stream []byte) []string {
	t.Helper()
	chunks, err := walk(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range chunks {
		out = append(out, c.Meta)
	}
	return out
}

// TestWriterReplies checks the JSON of replies: field order, omitted empty fields, no HTML escaping, empty
// inspectors dropped.
func TestWriterReplies(t *testing.T) {
	tests := []struct {
		reply Reply
		want  string
	}{
		{Reply{Finished: boolPtr(false)}, `{"finished":false}`},
		{Reply{Type: "streaming"}, `{"type":"streaming"}`},
		{Reply{Type: "reporting", RequiredFields: []string{"Processes.dest", "_time"}, StreamingPreop: "regasmdetect phase=map"},
			`{"type":"reporting","required_fields":["Processes.dest","_time"],"streaming_preop":"regasmdetect phase=map"}`},
		{Reply{Finished: boolPtr(true), Error: `bad option "x<y>&z"`, Inspector: &Inspector{Messages: [][2]string{{"ERROR", "bad option"}}}},
			`{"finished":true,"error":"bad option \"x<y>&z\"","inspector":{"messages":[["ERROR","bad option"]]}}`},
		{Reply{Finished: boolPtr(true), Inspector: &Inspector{}}, `{"finished":true}`},
		{Reply{}, `{}`},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		if err := NewWriter(&out).WriteReply(&tc.reply, []byte("x\r\n")); err != nil {
			t.Fatal(err)
		}
		rd := NewReader(&out)
		meta, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(meta) != tc.want {
			t.Errorf("metadata %s, want %s", meta, tc.want)
		}
		if body, err := io.ReadAll(rd.Body()); err != nil || string(body) != "x\r\n" {
			t.Errorf("body %q, %v", body, err)
		}
	}
}

// TestWriterRoundTrip writes chunks with WriteRaw and WriteReply and reads them back.
func TestWriterRoundTrip(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	bodies := [][]byte{nil, []byte("a\n"), bytes.Repeat([]byte("ทt,\n"), 100000), {}}
	for i, b := range bodies {
		var err error
		if i%2 == 0 {
			err = w.WriteRaw([]byte(`{"i":`+string(rune('0'+i))+`}`), b)
		} else {
			err = w.WriteReply(&Reply{Finished: boolPtr(i == len(bodies)-1)}, b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	w.WriteRaw(nil, nil)
	rd := NewReader(&out)
	for i, b := range bodies {
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rd.Body())
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("chunk %d: body of %d bytes, %v; want %d bytes", i+1, len(got), err, len(b))
		}
	}
	if meta, err := rd.Next(); err != nil || len(meta) != 0 || rd.BodyLen() != 0 {
		t.Fatalf("empty chunk: %q, %d, %v", meta, rd.BodyLen(), err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after the last chunk: %v, want io.EOF", err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("broken pipe")
	}
	f.n--
	return len(p), nil
}

// TestWriterErrors checks that write failures name the chunk and a nil reply is refused.
func TestWriterErrors(t *testing.T) {
	w := NewWriter(&failWriter{n: 1})
	if err := w.WriteRaw([]byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	err := w.WriteReply(&Reply{Finished: boolPtr(true)}, []byte("abc"))
	if err == nil || !strings.Contains(err.Error(), "scpv2: write chunk 2 (17 + 3 bytes): broken pipe") {
		t.Fatalf("error %v, want it to name chunk 2", err)
	}
	if err := w.WriteReply(nil, nil); err == nil {
		t.Fatal("nil reply accepted")
	}
}

// pieces is a body that writes itself in pieces (io.WriterTo), as a result merged in parts does.
type pieces [][]byte

func (p pieces) Read([]byte) (int, error) { return 0, errors.New("read, not WriteTo") }

func (p pieces) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, b := range p {
		k, err := w.Write(b)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestWriteReplyFrom: a body read from a reader or written by itself gives the same chunk, and a body shorter
// or longer than the length given is an error.
func TestWriteReplyFrom(t *testing.T) {
	full := "a,b\r\n1,2\r\n"
	for _, tc := range []struct {
		name string
		body io.Reader
		n    int64
		err  string
	}{
		{"reader", strings.NewReader(full), int64(len(full)), ""},
		{"writer to", pieces{[]byte("a,b\r\n"), []byte("1,2"), []byte("\r\n")}, int64(len(full)), ""},
		{"reader short", strings.NewReader(full[:4]), int64(len(full)), "body ended after 4 of 10 bytes"},
		{"writer to short", pieces{[]byte("a,b\r\n")}, int64(len(full)), "body ended after 5 of 10 bytes"},
		{"writer to long", pieces{[]byte(full), []byte("x")}, int64(len(full)), "body longer than 10 bytes"},
	} {
		var out bytes.Buffer
		err := NewWriter(&out).WriteReplyFrom(&Reply{Finished: boolPtr(true)}, tc.body, tc.n)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if want := "chunked 1.0,17,10\n{\"finished\":true}" + full; err != nil || out.String() != want {
			t.Errorf("%s: %q (%v), want %q", tc.name, out.String(), err, want)
		}
	}
}
