package scpv2

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"regasmdetect/src/internal/readahead"
	"regasmdetect/src/internal/shared"
)

// TestReaderRecordings reads real splunkd recordings chunk by chunk and parses every body.
func TestReaderRecordings(t *testing.T) {
	tests := []struct {
		path      string
		actions   []string // action of each chunk, "" for replies
		rows      []int    // data rows per chunk
		nlValues  int      // values with an embedded newline, all chunks
		bodyLen   map[int]int64
		wantErr   string // substring of the final error; "" for a clean end
		errChunk  int
		truncated bool
	}{
		{
			path:    "data/scpv2/splunk-8.0.3/multibyte_input.gz",
			actions: []string{"getinfo", "execute", "execute", "execute", "execute", "execute", "execute", "execute", "execute", "execute"},
			rows:    []int{0, 6638, 5861, 1, 6574, 5926, 6412, 6088, 1741, 1441},
			bodyLen: map[int]int64{1: 172638, 2: 152436, 3: 76, 9: 37516},
		},
		{
			path:    "data/scpv2/splunk-6.3/sum.map.input.gz",
			actions: []string{"getinfo", "execute"},
			rows:    []int{0, 50000},
			bodyLen: map[int]int64{1: 16109782},
		},
		{
			path:    "data/scpv2/splunk-6.3/sum.reduce.input",
			actions: []string{"getinfo", "execute"},
			rows:    []int{0, 1},
			bodyLen: map[int]int64{1: 36},
		},
		{
			path:     "data/scpv2/splunk-6.3/countmatches.input",
			actions:  []string{"getinfo", "execute"},
			rows:     []int{0, 500},
			nlValues: 48,
			bodyLen:  map[int]int64{1: 48108},
		},
		{
			path:      "data/scpv2/splunk-6.3/generatehello.input",
			actions:   []string{"getinfo", "execute"},
			rows:      []int{0, 0},
			wantErr:   "chunk 2 at byte 788: body: stream ended with 150 of 150 bytes missing: unexpected EOF",
			errChunk:  2,
			truncated: true,
		},
		{
			path:     "data/scpv2/splunk-6.3/pypygeneratetext.input",
			actions:  []string{"getinfo"},
			rows:     []int{0},
			wantErr:  `chunk 2 at byte 828: header: expected ` + "`chunked 1.0,<metadata length>,<body length>\\n`" + `, found "\n"`,
			errChunk: 2,
		},
		{
			path:     "data/scpv2/splunk-6.3/record_writer.four_chunks.output",
			actions:  []string{"", "", "", ""},
			rows:     []int{10, 10, 10, 1},
			nlValues: 44,
		},
		{
			path:     "data/scpv2/splunk-6.3/record_writer.one_chunk.output",
			actions:  []string{""},
			rows:     []int{31},
			nlValues: 41,
		},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			data := readShared(t, shared.Path(t, tc.path))
			got, err := walk(bytes.NewReader(data))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				var fe *Error
				if !errors.As(err, &fe) || fe.Chunk != tc.errChunk {
					t.Fatalf("error %v: want an *Error for chunk %d", err, tc.errChunk)
				}
				if tc.truncated != errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("errors.Is(err, io.ErrUnexpectedEOF) = %v, want %v", !tc.truncated, tc.truncated)
				}
			}
			if len(got) != len(tc.actions) {
				t.Fatalf("read %d chunks, want %d", len(got), len(tc.actions))
			}
			total, nl := 0, 0
			for i, c := range got {
				if tc.actions[i] != "" {
					req, err := ParseRequest([]byte(c.Meta))
					if err != nil {
						t.Fatalf("chunk %d: %v", i+1, err)
					}
					if req.Action != tc.actions[i] {
						t.Errorf("chunk %d: action %q, want %q", i+1, req.Action, tc.actions[i])
					}
				}
				if c.Rows != tc.rows[i] {
					t.Errorf("chunk %d: %d rows, want %d", i+1, c.Rows, tc.rows[i])
				}
				if c.BadFields != 0 {
					t.Errorf("chunk %d: %d rows with a field count unlike the header", i+1, c.BadFields)
				}
				if want, ok := tc.bodyLen[i]; ok && c.BodyLen != want {
					t.Errorf("chunk %d: body length %d, want %d", i+1, c.BodyLen, want)
				}
				total += c.Rows
				nl += c.NLValues
			}
			if nl != tc.nlValues {
				t.Errorf("%d values with a newline, want %d", nl, tc.nlValues)
			}
			t.Logf("%d chunks, %d rows", len(got), total)
		})
	}
}

// TestReaderMultibyteValues checks that every row of multibyte_input keeps U+0E17 intact and that the 40,682
// rows all carry the header's field count.
func TestReaderMultibyteValues(t *testing.T) {
	data := readShared(t, shared.Path(t, "data/scpv2/splunk-8.0.3/multibyte_input.gz"))
	rd := NewReader(bytes.NewReader(data))
	cr := NewCSVReader(nil)
	rows := 0
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rd.BodyLen() == 0 {
			continue
		}
		cr.Reset(rd.Body())
		h, err := cr.Header()
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"_time", "teststring", "__mv__time", "__mv_teststring"}; !reflect.DeepEqual(h, want) {
			t.Fatalf("header %q, want %q", h, want)
		}
		for {
			row, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chunk %d: %v", rd.Chunk(), err)
			}
			rows++
			if string(row[1]) != "\u0e17t" {
				t.Fatalf("chunk %d row %d: teststring %q, want %q", rd.Chunk(), cr.Row(), row[1], "\u0e17t")
			}
		}
	}
	if rows != 40682 {
		t.Fatalf("%d rows, want 40682", rows)
	}
}

// TestReaderShortReads reads the recordings through iotest.OneByteReader, iotest.DataErrReader and the
// readahead package and expects exactly the same chunks, rows and errors as with whole reads.
func TestReaderShortReads(t *testing.T) {
	paths := []string{
		"data/scpv2/splunk-8.0.3/multibyte_input.gz",
		"data/scpv2/splunk-6.3/countmatches.input",
		"data/scpv2/splunk-6.3/generatehello.input",
		"data/scpv2/splunk-6.3/pypygeneratetext.input",
		"data/scpv2/splunk-6.3/record_writer.four_chunks.output",
		"data/scpv2/sdk-reference/fail_warn_mv.input",
	}
	wrappers := map[string]func(io.Reader) io.Reader{
		"OneByteReader": iotest.OneByteReader,
		"DataErrReader": iotest.DataErrReader,
		"HalfReader":    iotest.HalfReader,
		"readahead":     func(r io.Reader) io.Reader { return readahead.New(r, 4096, 3) },
	}
	for _, p := range paths {
		data := readShared(t, shared.Path(t, p))
		want, wantErr := walk(bytes.NewReader(data))
		for name, wrap := range wrappers {
			t.Run(filepath.Base(p)+"/"+name, func(t *testing.T) {
				got, err := walk(wrap(bytes.NewReader(data)))
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("chunks differ from whole reads:\n got %+v\nwant %+v", summaryHead(got), summaryHead(want))
				}
				if errString(err) != errString(wantErr) {
					t.Fatalf("error %q, want %q", errString(err), errString(wantErr))
				}
			})
		}
	}
}

func summaryHead(s []chunkSummary) []chunkSummary {
	out := make([]chunkSummary, len(s))
	for i, c := range s {
		c.Meta = c.Meta[:min(len(c.Meta), 60)]
		out[i] = c
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestReaderSDKReference reads every synthetic SDK input: framing exact, getinfo then execute requests.
func TestReaderSDKReference(t *testing.T) {
	dir := filepath.Dir(shared.Path(t, "data/scpv2/sdk-reference/sum.reduce.sdk.output"))
	inputs, err := filepath.Glob(filepath.Join(dir, "*.input"))
	if err != nil || len(inputs) < 6 {
		t.Fatalf("found %d sdk-reference inputs (%v), want at least 6", len(inputs), err)
	}
	for _, p := range inputs {
		t.Run(filepath.Base(p), func(t *testing.T) {
			got, err := walk(bytes.NewReader(readShared(t, p)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < 2 {
				t.Fatalf("%d chunks, want getinfo and at least one execute", len(got))
			}
			for i, c := range got {
				req, err := ParseRequest([]byte(c.Meta))
				if err != nil {
					t.Fatalf("chunk %d: %v", i+1, err)
				}
				want := "execute"
				if i == 0 {
					want = "getinfo"
					if req.SearchInfo == nil || req.SearchInfo.SplunkVersion != "9.1.2" {
						t.Errorf("getinfo searchinfo = %+v, want splunk_version 9.1.2", req.SearchInfo)
					}
				}
				if req.Action != want {
					t.Errorf("chunk %d: action %q, want %q", i+1, req.Action, want)
				}
				if i == len(got)-1 && !req.Finished {
					t.Errorf("last chunk not finished")
				}
			}
		})
	}
}

// TestReaderHeader covers the header grammar: what the SDK tolerates is accepted, the rest rejected with the
// offending bytes quoted.
func TestReaderHeader(t *testing.T) {
	tests := []struct {
		in      string
		m, b    int64
		wantErr string
	}{
		{in: "chunked 1.0,2,3\n{}abc", m: 2, b: 3},
		{in: "chunked 1.0,2,3\r\n{}abc", m: 2, b: 3},
		{in: "chunked  1.0 , 2 ,\t3 \r\n{}abc", m: 2, b: 3},
		{in: "chunked\t1.0,0,0\n", m: 0, b: 0},
		{in: "chunked 1.0,002,0\n{}", m: 2, b: 0},
		{in: "chunked 1.0,2,3\n\n{}ab", m: 2, b: 3}, // the extra newline is metadata here
		{in: "chunked 2.0,2,3\n{}abc", wantErr: `found "chunked 2.0,2,3\n"`},
		{in: "chunked1.0,2,3\n", wantErr: `found "chunked1.0,2,3\n"`},
		{in: "Chunked 1.0,2,3\n", wantErr: `found "Chunked 1.0,2,3\n"`},
		{in: "chunked 1.0,-2,3\n", wantErr: `found "chunked 1.0,-2,3\n"`},
		{in: "chunked 1.0,2,3,4\n", wantErr: `found "chunked 1.0,2,3,4\n"`},
		{in: "chunked 1.0,2\n", wantErr: `found "chunked 1.0,2\n"`},
		{in: "chunked 1.0,abc,12\n", wantErr: `found "chunked 1.0,abc,12\n"`},
		{in: "chunked 1.0,2,3\r\r\n{}abc", m: 2, b: 3},
		{in: "chunked 1.0,2,3\rx\n", wantErr: `found "chunked 1.0,2,3\rx\n"`},
		{in: "chunked 1.0,1234567890123456789,0\n", wantErr: `found "chunked 1.0,1234567890123456789,0\n"`},
		{in: "chunked 1.0,8388609,0\n", wantErr: "metadata length 8388609 exceeds the limit of 8388608 bytes"},
		{in: "chunked 1.0,0,1073741825\n", wantErr: "body length 1073741825 exceeds the limit of 1073741824 bytes"},
		{in: "chunked 1.0," + strings.Repeat(" ", 200) + "1,1\n", wantErr: `within 128 bytes, found "chunked 1.0,          `},
		{in: "\n", wantErr: `found "\n"`},
		{in: "{\"action\":\"getinfo\"}\n", wantErr: `found "{\"action\":\"getinfo\"}\n"`},
	}
	for _, tc := range tests {
		t.Run(tc.in[:min(len(tc.in), 24)], func(t *testing.T) {
			rd := NewReader(strings.NewReader(tc.in))
			meta, err := rd.Next()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "scpv2: chunk 1 at byte 0: header: ") {
					t.Errorf("error %q does not name chunk 1 at byte 0", err)
				}
				if _, err2 := rd.Next(); err2 != err {
					t.Errorf("second Next returned %v, want the same error", err2)
				}
				if tooLarge := strings.Contains(tc.wantErr, "exceeds the limit"); errors.Is(err, ErrTooLarge) != tooLarge {
					t.Errorf("errors.Is(%v, ErrTooLarge) = %v, want %v", err, !tooLarge, tooLarge)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(meta)) != tc.m || rd.BodyLen() != tc.b {
				t.Fatalf("lengths %d,%d, want %d,%d", len(meta), rd.BodyLen(), tc.m, tc.b)
			}
			body, err := io.ReadAll(rd.Body())
			if err != nil || int64(len(body)) != tc.b {
				t.Fatalf("body %q, %v: want %d bytes", body, err, tc.b)
			}
			if _, err := rd.Next(); err != io.EOF {
				t.Fatalf("after the chunk: %v, want io.EOF", err)
			}
		})
	}
}

// TestReaderEOF checks where the stream may end: cleanly only between chunks.
func TestReaderEOF(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		drain   bool // skip the body and let Next discard it
		wantErr string
	}{
		{name: "empty", in: ""},
		{name: "after chunk", in: "chunked 1.0,2,0\n{}"},
		{name: "in header", in: "chunked 1.0,2", wantErr: `chunk 1 at byte 0: header: stream ended after "chunked 1.0,2": unexpected EOF`},
		{name: "in metadata", in: "chunked 1.0,5,0\n{}", wantErr: "chunk 1 at byte 0: metadata: got 2 of 5 bytes: unexpected EOF"},
		{name: "in body read", in: "chunked 1.0,2,10\n{}abc", wantErr: "chunk 1 at byte 0: body: stream ended with 7 of 10 bytes missing: unexpected EOF"},
		{name: "in body drained", in: "chunked 1.0,2,10\n{}abc", drain: true, wantErr: "chunk 1 at byte 0: body: stream ended with 7 of 10 bytes missing: unexpected EOF"},
		{name: "second chunk", in: "chunked 1.0,2,1\n{}xchunked 1.0,2,1\n{}", wantErr: "chunk 2 at byte 19: body: stream ended with 1 of 1 bytes missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(tc.in))
			var err error
			for err == nil {
				_, err = rd.Next()
				if err == nil && !tc.drain {
					_, err = io.Copy(io.Discard, rd.Body())
				}
			}
			if tc.wantErr == "" {
				if err != io.EOF {
					t.Fatalf("error %v, want io.EOF", err)
				}
				return
			}
			if err == io.EOF || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
			if !isUnexpectedEOF(err) {
				t.Fatalf("error %v is not an *Error wrapping io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// TestReaderPositions checks Chunk, Offset and that unread bodies are skipped.
func TestReaderPositions(t *testing.T) {
	in := "chunked 1.0,2,3\n{}abcchunked 1.0,4,0\n{\"\"}chunked 1.0,0,2\nxy"
	rd := NewReader(strings.NewReader(in))
	want := []struct {
		chunk  int
		offset int64
		meta   string
	}{{1, 0, "{}"}, {2, 21, `{""}`}, {3, 41, ""}}
	for _, w := range want {
		meta, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rd.Chunk() != w.chunk || rd.Offset() != w.offset || string(meta) != w.meta {
			t.Errorf("chunk %d at %d meta %q, want %d at %d meta %q", rd.Chunk(), rd.Offset(), meta, w.chunk, w.offset, w.meta)
		}
	}
	if b, _ := io.ReadAll(rd.Body()); string(b) != "xy" {
		t.Errorf("last body %q, want %q", b, "xy")
	}
	if _, err := rd.Next(); err != io.EOF || rd.Chunk() != 3 {
		t.Errorf("Next = %v with Chunk %d, want io.EOF with Chunk 3", err, rd.Chunk())
	}
}

// TestReaderReadError checks that a failing reader is reported with the chunk.
func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("chunked 1.0,2,10\n{}abc"), iotest.ErrReader(boom))
	rd := NewReader(r)
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(rd.Body())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "chunk 1 at byte 0: body: read failed with 7 of 10 bytes missing: boom") {
		t.Fatalf("error %v, want the read error with the chunk", err)
	}
	if _, err2 := rd.Next(); err2 != err {
		t.Fatalf("Next after a body error: %v, want %v", err2, err)
	}
}

// TestReaderTimeout reads through iotest.TimeoutReader: the second read fails while Next skips the first
// chunk's body, and the error names that chunk and the missing bytes.
func TestReaderTimeout(t *testing.T) {
	n := readBufSize + 10
	in := "chunked 1.0,2," + strconv.Itoa(n) + "\n{}" + strings.Repeat("x", n)
	rd := NewReader(iotest.TimeoutReader(strings.NewReader(in)))
	_, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	_, err = rd.Next()
	if !errors.Is(err, iotest.ErrTimeout) || !strings.Contains(err.Error(), "chunk 1 at byte 0: body: read failed with 33 of 262154 bytes missing") {
		t.Fatalf("error %v, want a timeout naming chunk 1", err)
	}
}
