package scpv2

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"regasmdetect/src/internal/shared"
)

// readAllCSV parses a whole body with CSVReader: header first, then the rows, values copied to strings.
func readAllCSV(r io.Reader) ([][]string, error) {
	c := NewCSVReader(r)
	h, err := c.Header()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := [][]string{append([]string(nil), h...)}
	for {
		row, err := c.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		rec := make([]string, len(row))
		for i, f := range row {
			rec[i] = string(f)
		}
		out = append(out, rec)
	}
}

// readAllStdlib parses a body with encoding/csv (field count fixed by the first record, as CSVReader does)
// Unlike CSVReader it turns CRLF inside quoted values into LF: compare with normCRLF of CSVReader records.
func readAllStdlib(body []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(body))
	recs, err := r.ReadAll()
	return recs, err
}

func normCRLF(recs [][]string) [][]string {
	if len(recs) == 0 {
		return nil
	}
	out := make([][]string, len(recs))
	for i, rec := range recs {
		out[i] = make([]string, len(rec))
		for j, v := range rec {
			out[i][j] = strings.ReplaceAll(v, "\r\n", "\n")
		}
	}
	return out
}

// randomBody writes random records with random quoting: values with commas, quotes, CR, LF, multibyte and
// $ characters; optional quotes on values that do not need them; LF or CRLF line ends; with or without a
// final line end.
func randomBody(rng *rand.Rand) ([]byte, [][]string) {
	alphabet := []string{"a", "b", "Z", "0", " ", ",", `"`, "\n", "\r\n", "\r", "ท", "测试", "$", ";", "é", "\t"}
	cols := 1 + rng.IntN(6)
	rows := 1 + rng.IntN(8)
	crlf := rng.IntN(2) == 0
	var recs [][]string
	var b []byte
	for r := 0; r < rows; r++ {
		rec := make([]string, cols)
		for c := range rec {
			var sb strings.Builder
			for n := rng.IntN(6); n > 0; n-- {
				sb.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			rec[c] = sb.String()
		}
		recs = append(recs, rec)
		for c, v := range rec {
			if c > 0 {
				b = append(b, ',')
			}
			need := strings.ContainsAny(v, ",\"\r\n") || (cols == 1 && v == "")
			if need || rng.IntN(3) == 0 {
				b = append(b, '"')
				b = append(b, strings.ReplaceAll(v, `"`, `""`)...)
				b = append(b, '"')
			} else {
				b = append(b, v...)
			}
		}
		if r < rows-1 || rng.IntN(2) == 0 {
			if crlf {
				b = append(b, '\r', '\n')
			} else {
				b = append(b, '\n')
			}
		}
	}
	return b, recs
}

// TestCSVReaderRandomVsStdlib compares CSVReader with encoding/csv and with the generator's records on random
// bodies, reading whole and through iotest.OneByteReader.
func TestCSVReaderRandomVsStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		body, want := randomBody(rng)
		std, err := readAllStdlib(body)
		if err != nil {
			t.Fatalf("case %d: encoding/csv: %v on %q", i, err, body)
		}
		got, err := readAllCSV(bytes.NewReader(append([]byte(nil), body...)))
		if err != nil {
			t.Fatalf("case %d: %v on %q", i, err, body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: body %q\n got %q\nwant %q", i, body, got, want)
		}
		if !reflect.DeepEqual(normCRLF(got), std) {
			t.Fatalf("case %d: body %q\n got %q\n std %q", i, body, got, std)
		}
		short, err := readAllCSV(iotest.OneByteReader(bytes.NewReader(append([]byte(nil), body...))))
		if err != nil || !reflect.DeepEqual(short, got) {
			t.Fatalf("case %d: one-byte reads gave %q, %v; want %q", i, short, err, got)
		}
	}
}

// TestCSVReaderRecordingsVsStdlib parses every body of the recordings with encoding/csv too.
func TestCSVReaderRecordingsVsStdlib(t *testing.T) {
	for _, p := range []string{
		"data/scpv2/splunk-8.0.3/multibyte_input.gz",
		"data/scpv2/splunk-6.3/countmatches.input",
		"data/scpv2/splunk-6.3/sum.map.input.gz",
		"data/scpv2/splunk-6.3/record_writer.four_chunks.output",
		"data/scpv2/splunk-6.3/record_writer.one_chunk.output",
		"data/scpv2/sdk-reference/fail_warn_mv.input",
	} {
		data := readShared(t, shared.Path(t, p))
		rd := NewReader(bytes.NewReader(data))
		bodies := 0
		for {
			_, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			body, err := io.ReadAll(rd.Body())
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if len(body) == 0 {
				continue
			}
			bodies++
			std, err := readAllStdlib(body)
			if err != nil {
				t.Fatalf("%s chunk %d: encoding/csv: %v", p, rd.Chunk(), err)
			}
			got, err := readAllCSV(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s chunk %d: %v", p, rd.Chunk(), err)
			}
			if !reflect.DeepEqual(normCRLF(got), std) {
				t.Fatalf("%s chunk %d: records differ from encoding/csv", p, rd.Chunk())
			}
			if bytes.Contains(body, []byte("\r\n")) != strings.Contains(p, "record_writer") {
				t.Errorf("%s chunk %d: CRLF presence unexpected", p, rd.Chunk())
			}
		}
		if bodies == 0 {
			t.Errorf("%s: no body read", p)
		}
	}
}

// TestCSVReaderInvalidUTF8 checks that bytes which are not UTF-8 pass through unchanged.
func TestCSVReaderInvalidUTF8(t *testing.T) {
	body := []byte("a,b\r\n\"x\xff\xfe,\",\xc3\r\n")
	got, err := readAllCSV(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b"}, {"x\xff\xfe,", "\xc3"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestCSVReaderErrors checks malformed bodies: row and field are named, nothing is dropped or padded.
func TestCSVReaderErrors(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		rowsOK   int // data rows returned before the error
		row, col int
		msg      string
	}{
		{"bare quote", "a,b\nx,y\"z\n", 0, 2, 2, "bare quote in unquoted field"},
		{"bare quote first field", "a,b\nx\"y,z\n", 0, 2, 1, "bare quote in unquoted field"},
		{"bare quote before quoted", "a,b,c\n1,2,3\nx\"y,\"q\",z\n", 1, 3, 1, "bare quote in unquoted field"},
		{"bare quote spans lines", "a,b\nx\"y,z\nm,n\n", 0, 2, 1, "bare quote in unquoted field"},
		{"extra text", "a,b\n\"x\"y,z\n", 0, 2, 1, "extra text after quoted field"},
		{"extra text second", "a,b\nx,\"y\" \n", 0, 2, 2, "extra text after quoted field"},
		{"unterminated", "a,b\n1,2\nx,\"y\n", 1, 3, 2, "unterminated quoted field at end of body"},
		{"unterminated header", "\"a,b\n", 0, 1, 1, "unterminated quoted field at end of body"},
		{"too few", "a,b,c,d,e,f,g\n1,2,3,4,5\n", 0, 2, 6, "wrong number of fields: row has 5 fields, header has 7"},
		{"too many", "a,b\n1,2\n1,2,3\n", 1, 3, 3, "wrong number of fields: row has 3 fields, header has 2"},
		{"empty field count", "a,b\n\"\"\n", 0, 2, 2, "wrong number of fields: row has 1 fields, header has 2"},
		{"crlf too few", "a,b\r\n1\r\n", 0, 2, 2, "wrong number of fields: row has 1 fields, header has 2"},
		{"cr-only line ends", "a,b\r1,2\r3,4\r", 0, 1, 2, ErrBareCR.Error()},
		{"cr-only line ends, quoted", "\"a\",\"b\"\r\"1\",\"2\"\r", 0, 1, 2, ErrBareCR.Error()},
		{"stray cr in a value", "a,b\n1,x\ry\n", 0, 2, 2, ErrBareCR.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCSVReader(strings.NewReader(tc.body))
			if _, err := c.Header(); err != nil && tc.row != 1 {
				t.Fatalf("header: %v", err)
			}
			ok := 0
			var err error
			for {
				if _, err = c.Next(); err != nil {
					break
				}
				ok++
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if pe.Row != tc.row || pe.Column != tc.col || pe.Err.Error() != tc.msg || ok != tc.rowsOK {
				t.Fatalf("got %d rows then row %d field %d %q; want %d rows then row %d field %d %q",
					ok, pe.Row, pe.Column, pe.Err, tc.rowsOK, tc.row, tc.col, tc.msg)
			}
			if _, err2 := c.Next(); err2 != err {
				t.Errorf("Next after an error: %v, want the same error", err2)
			}
		})
	}
}

// TestCSVReaderSentinels: every malformation is one of the package's sentinel errors, found with errors.Is.
func TestCSVReaderSentinels(t *testing.T) {
	for body, want := range map[string]error{
		"a,b\nx,y\"z\n":   ErrBareQuote,
		"a,b\n\"x\"y,z\n": ErrTrailingText,
		"a,b\nx,\"y\n":    ErrQuote,
		"a,b\n1\n":        ErrFieldCount,
		"a,b\r1,2\r":      ErrBareCR,
	} {
		_, err := readAllCSV(strings.NewReader(body))
		if !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", body, err, want)
		}
	}
}

// TestCSVReaderBOM: a UTF-8 byte-order mark at the start of the body is skipped, so the first column is
// "_time" and not "\uFEFF_time"; anywhere else it is data.
func TestCSVReaderBOM(t *testing.T) {
	for _, body := range []string{"\xEF\xBB\xBF_time,x\n1,\xEF\xBB\xBFy\n", "\xEF\xBB\xBF\"_time\",\"x\"\r\n1,\xEF\xBB\xBFy\r\n", "\xEF\xBB\xBF\n\n_time,x\n1,\xEF\xBB\xBFy\n"} {
		got, err := readAllCSV(strings.NewReader(body))
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		want := [][]string{{"_time", "x"}, {"1", "\xEF\xBB\xBFy"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", body, got, want)
		}
		start, end := HeaderSpan([]byte(body))
		if h := strings.TrimRight(body[start:end], "\r\n"); h != "_time,x" && h != `"_time","x"` {
			t.Errorf("%q: HeaderSpan gives %q", body, h)
		}
	}
}

// TestCSVReaderBuffered: after the header, Buffered holds the data rows read so far, unparsed.
func TestCSVReaderBuffered(t *testing.T) {
	c := NewCSVReader(strings.NewReader("a,b\n1,2\n3,4\n"))
	if _, err := c.Header(); err != nil {
		t.Fatal(err)
	}
	if got := string(c.Buffered()); got != "1,2\n3,4\n" {
		t.Errorf("Buffered() = %q", got)
	}
	if _, err := c.Next(); err != nil {
		t.Fatal(err)
	}
	if got := string(c.Buffered()); got != "3,4\n" {
		t.Errorf("Buffered() after a row = %q", got)
	}
}

// TestCSVReaderShapes covers empty, header-only, blank-line, long-row and reuse cases.
func TestCSVReaderShapes(t *testing.T) {
	long := strings.Repeat("x\"y,", 100000) // 400 KB quoted value, larger than the buffer
	tests := []struct {
		name string
		body string
		want [][]string
	}{
		{"empty", "", nil},
		{"blank lines only", "\n\r\n\n", nil},
		{"header only", "age,\"_chunked_idx\",\"__mv_age\",\"__mv__chunked_idx\"\n", [][]string{{"age", "_chunked_idx", "__mv_age", "__mv__chunked_idx"}}},
		{"header only no newline", "a,b", [][]string{{"a", "b"}}},
		{"blank lines skipped", "a,b\n\n1,2\r\n\r\n3,4\n\n", [][]string{{"a", "b"}, {"1", "2"}, {"3", "4"}}},
		{"trailing comma", "a,b\n1,\n,\n", [][]string{{"a", "b"}, {"1", ""}, {"", ""}}},
		{"quoted empty single", "a\n\"\"\n", [][]string{{"a"}, {""}}},
		{"multivalue", "a,\"__mv_a\"\n\"x\ny\",\"$x$;$y$\"\n2,\n", [][]string{{"a", "__mv_a"}, {"x\ny", "$x$;$y$"}, {"2", ""}}},
		{"crlf inside quotes kept", "a\r\n\"x\r\ny\"\r\n", [][]string{{"a"}, {"x\r\ny"}}},
		{"cr at eof dropped", "a\r\nb\r", [][]string{{"a"}, {"b"}}},
		{"long row", "a,b\n\"" + strings.ReplaceAll(long, `"`, `""`) + "\",2\n", [][]string{{"a", "b"}, {long, "2"}}},
		{"escapes", "a\n\"\"\"\"\"\"\n\"x\"\"\"\n", [][]string{{"a"}, {`""`}, {`x"`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAllCSV(strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCSVReaderRowNumbers checks Row and that Next reads the header when Header was not called.
func TestCSVReaderRowNumbers(t *testing.T) {
	c := NewCSVReader(strings.NewReader("h\n1\n\n2\n"))
	for want := 2; want <= 3; want++ {
		if _, err := c.Next(); err != nil {
			t.Fatal(err)
		}
		if c.Row() != want {
			t.Fatalf("Row() = %d, want %d", c.Row(), want)
		}
	}
	if _, err := c.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
	if h, err := c.Header(); err != nil || !reflect.DeepEqual(h, []string{"h"}) {
		t.Fatalf("Header = %q, %v", h, err)
	}
}

// TestCSVReaderTruncatedBody checks that a truncated chunk body surfaces as the framing error.
func TestCSVReaderTruncatedBody(t *testing.T) {
	rd := NewReader(strings.NewReader("chunked 1.0,2,100\n{}a,b\n1,2\n3,"))
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	c := NewCSVReader(rd.Body())
	var err error
	rows := 0
	for err == nil {
		if _, err = c.Next(); err == nil {
			rows++
		}
	}
	if rows != 1 || !isUnexpectedEOF(err) || !strings.Contains(err.Error(), "chunk 1 at byte 0: body: stream ended with 90 of 100 bytes missing") {
		t.Fatalf("%d rows then %v; want 1 row then the truncation error", rows, err)
	}
}

// TestCSVReaderNoAllocs checks that reading rows allocates nothing once the reader is warm: the header is
// reused when it repeats, as it does in every chunk of a stream.
func TestCSVReaderNoAllocs(t *testing.T) {
	body := splunkBody(2000, 3)
	br := bytes.NewReader(body)
	c := NewCSVReader(br)
	read := func() {
		br.Reset(body)
		c.Reset(br)
		for {
			if _, err := c.Next(); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				return
			}
		}
	}
	read()
	if n := testing.AllocsPerRun(5, read); n != 0 {
		t.Fatalf("%.1f allocations per body of 2,000 rows, want 0", n)
	}
}

// TestCSVWriterRoundTrip writes random rows and reads them back.
func TestCSVWriterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var w CSVWriter
	for i := 0; i < 500; i++ {
		_, recs := randomBody(rng)
		w.Reset()
		for _, rec := range recs {
			w.WriteRow(rec)
		}
		got, err := readAllCSV(bytes.NewReader(append([]byte(nil), w.Bytes()...)))
		if err != nil || !reflect.DeepEqual(got, recs) {
			t.Fatalf("case %d: %q read back as %q, %v", i, w.Bytes(), got, err)
		}
		std, err := readAllStdlib(w.Bytes())
		if err != nil || !reflect.DeepEqual(std, normCRLF(recs)) {
			t.Fatalf("case %d: encoding/csv read %q as %q, %v", i, w.Bytes(), std, err)
		}
	}
}

// TestCSVWriterRowBytes: WriteRowBytes writes what WriteRow writes for the same values.
func TestCSVWriterRowBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 300; i++ {
		_, recs := randomBody(rng)
		recs = append(recs, []string{""}, nil, []string{"", ""}, []string{`a "b"`, "c,d", "e\nf", "g\rh", " i "})
		var ws, wb CSVWriter
		for _, rec := range recs {
			ws.WriteRow(rec)
			bs := make([][]byte, len(rec))
			for j, v := range rec {
				bs[j] = []byte(v)
			}
			n := wb.Len()
			wb.WriteRowBytes(bs)
			if got := RowLenBytes(bs); got != wb.Len()-n {
				t.Fatalf("case %d: RowLenBytes(%q) = %d, WriteRowBytes wrote %d bytes", i, bs, got, wb.Len()-n)
			}
		}
		if !bytes.Equal(ws.Bytes(), wb.Bytes()) {
			t.Fatalf("case %d: WriteRowBytes wrote %q, WriteRow %q", i, wb.Bytes(), ws.Bytes())
		}
	}
	// Rows whose columns repeat the previous row's values, or not, the caller changing its values after each
	// call: WriteRowBytes keeps nothing of them.
	pool := []string{"", "a", `"q"`, "x,y", "a\r\nb", "same", "longer value, with a comma"}
	var ws, wb CSVWriter
	for i := 0; i < 5000; i++ {
		rec := make([]string, 1+rng.IntN(4))
		bs := make([][]byte, len(rec))
		for j := range rec {
			rec[j] = pool[rng.IntN(len(pool))]
			bs[j] = []byte(rec[j])
		}
		ws.WriteRow(rec)
		n := wb.Len()
		wb.WriteRowBytes(bs)
		if got := RowLenBytes(bs); got != wb.Len()-n {
			t.Fatalf("row %d %q: RowLenBytes %d, WriteRowBytes wrote %d bytes", i, rec, got, wb.Len()-n)
		}
		for j := range bs {
			// the caller may change its values after the call
			for k := range bs[j] {
				bs[j][k] = '!'
			}
		}
		if !bytes.Equal(ws.Bytes(), wb.Bytes()) {
			t.Fatalf("row %d %q: WriteRowBytes wrote\n%q\nWriteRow\n%q", i, rec, wb.Bytes(), ws.Bytes())
		}
	}
	var w CSVWriter
	row := [][]byte{bytes.Repeat([]byte(`a "quoted", long value `), 4), []byte("plain value longer than thirty-two bytes")}
	if n := testing.AllocsPerRun(100, func() { w.Reset(); w.WriteRowBytes(row) }); n != 0 {
		t.Errorf("WriteRowBytes: %v allocations per row, want 0", n)
	}
}

// TestCSVWriterBytes checks the exact bytes: minimal quoting, CRLF, a lone empty field quoted.
func TestCSVWriterBytes(t *testing.T) {
	var w CSVWriter
	w.WriteRow([]string{"test", "__mv_test"})
	w.WriteRow([]string{"data", ""})
	w.WriteRow([]string{"测试", ""})
	w.WriteRow([]string{`a "b"`, "c,d", "e\nf", "g\rh", " i "})
	w.WriteRow([]string{""})
	w.WriteRow(nil)
	want := "test,__mv_test\r\ndata,\r\n测试,\r\n\"a \"\"b\"\"\",\"c,d\",\"e\nf\",\"g\rh\", i \r\n\"\"\r\n\r\n"
	if string(w.Bytes()) != want {
		t.Fatalf("got %q, want %q", w.Bytes(), want)
	}
	if w.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", w.Len(), len(want))
	}
	w.Reset()
	if w.Len() != 0 {
		t.Fatalf("Len() after Reset = %d", w.Len())
	}
}

// TestCSVReaderZeroValue checks that a CSVReader without a body returns an error instead of panicking, and
// works after Reset.
func TestCSVReaderZeroValue(t *testing.T) {
	var c CSVReader
	if _, err := c.Next(); err == nil || !strings.Contains(err.Error(), "scpv2: csv row 1: read body: no body to read") {
		t.Fatalf("Next on a zero CSVReader: %v", err)
	}
	c.Reset(strings.NewReader("a\n1\n"))
	if row, err := c.Next(); err != nil || string(row[0]) != "1" {
		t.Fatalf("after Reset: %q, %v", row, err)
	}
}

// TestNeedsQuote: each special byte is found at every position of values up to 24 bytes long, and no other
// byte (those that differ from one in a single bit included) is taken for one.
func TestNeedsQuote(t *testing.T) {
	for n := 1; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				v := bytes.Repeat([]byte{'a'}, n)
				v[pos] = byte(c)
				want := c == ',' || c == '"' || c == '\r' || c == '\n'
				if NeedsQuote(v) != want || NeedsQuote(string(v)) != want {
					t.Fatalf("NeedsQuote(%q) = %v, want %v", v, !want, want)
				}
			}
		}
	}
}

// TestCSVWriterRowAfter checks WriteRowAfter and RowLenAfter against WriteRow: a row split anywhere into
// fields already written (by WriteRowBytes, cut before the next field) and the fields that follow.
func TestCSVWriterRowAfter(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pool := []string{"", "a", `"q"`, "x,y", "a\r\nb", "\x00", "same", "longer value, with a comma"}
	for i := 0; i < 5000; i++ {
		rec := make([]string, 1+rng.IntN(5))
		bs := make([][]byte, len(rec))
		for j := range rec {
			rec[j] = pool[rng.IntN(len(pool))]
			bs[j] = []byte(rec[j])
		}
		var want CSVWriter
		want.WriteRow(rec)
		for n := 0; n <= len(rec); n++ {
			// pre: the first n fields as WriteRowBytes writes them before a further field
			var p CSVWriter
			p.WriteRowBytes(append(append([][]byte{}, bs[:n]...), []byte("z")))
			pre := p.Bytes()[:p.Len()-len("z\r\n")]
			if n > 0 {
				pre = pre[:len(pre)-1]
			}
			var w CSVWriter
			w.WriteRowAfter(pre, n, bs[n:])
			if !bytes.Equal(w.Bytes(), want.Bytes()) {
				t.Fatalf("row %q after %d fields %q: wrote %q, WriteRow %q", rec, n, pre, w.Bytes(), want.Bytes())
			}
			if got := RowLenAfter(len(pre), n, bs[n:]); got != w.Len() {
				t.Fatalf("row %q after %d fields: RowLenAfter %d, WriteRowAfter wrote %d bytes", rec, n, got, w.Len())
			}
		}
	}
}
