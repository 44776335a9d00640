package scpv2

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/iotest"
)

// csvReading is what the CSV readers share: CSVReader and refCSVReader, the reference it must match.
type csvReading interface {
	Header() ([]string, error)
	Next() ([][]byte, error)
	Row() int
	Buffered() []byte
}

// csvTrace is everything a reader returned while reading one body: after each call, the fields (or the
// error, described by errSummary), Row() and Buffered().
type csvTrace []string

// traceCSV reads a body to its end or first error with r, calling Header first or not, and records each call.
// After an error it calls Next once more, which must return the same error.
func traceCSV(r csvReading, header bool) csvTrace {
	var tr csvTrace
	note := func(call string, fields []string, err error) {
		b := r.Buffered()
		tr = append(tr, fmt.Sprintf("%s %q err=%s row=%d buffered=%d bytes, crc %08x", call, fields, errSummary(err),
			r.Row(), len(b), crc32.ChecksumIEEE(b)))
	}
	if header {
		h, err := r.Header()
		note("Header", h, err)
		if err != nil {
			_, err = r.Next()
			note("Next", nil, err)
			return tr
		}
	}
	for {
		row, err := r.Next()
		fields := make([]string, len(row))
		for i, f := range row {
			fields[i] = string(f)
		}
		note("Next", fields, err)
		if err != nil {
			_, err = r.Next()
			note("Next", nil, err)
			return tr
		}
	}
}

// errSummary describes an error by its text, the sentinels it matches and its position.
func errSummary(err error) string {
	if err == nil {
		return "nil"
	}
	s := fmt.Sprintf("%q", err.Error())
	for _, target := range []error{ErrBareQuote, ErrTrailingText, ErrQuote, ErrFieldCount, ErrBareCR, io.EOF,
		io.ErrUnexpectedEOF, io.ErrNoProgress, errInjected} {
		if errors.Is(err, target) {
			s += fmt.Sprintf(" is(%v)", target)
		}
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		s += fmt.Sprintf(" at(%d,%d)", pe.Row, pe.Column)
	}
	return s
}

var errInjected = errors.New("injected read error")

// csvPair is the same input given to a CSVReader and to the reference, each with its own copy of the bytes.
type csvPair struct {
	name     string
	got, ref csvReading
}

// csvPairs returns the ways a body is read in the comparison: whole; one byte per Read; in reads of random
// sizes into a buffer that starts at 16 bytes (rows cut by the end of the buffer, the buffer grown); ending
// in a read error; the rows after the header in place with ResetRows; and, with readers used before, after
// Reset.
func csvPairs(body []byte, seed uint64) []csvPair {
	readers := func(name string, mk func(b []byte) io.Reader) csvPair {
		return csvPair{name, NewCSVReader(mk(bytes.Clone(body))), newRefCSVReader(mk(bytes.Clone(body)))}
	}
	pairs := []csvPair{
		readers("whole", func(b []byte) io.Reader { return bytes.NewReader(b) }),
		readers("one byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }),
		readers("read error", func(b []byte) io.Reader {
			return io.MultiReader(bytes.NewReader(b), iotest.ErrReader(errInjected))
		}),
	}
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
	pairs = append(pairs, csvPair{"small buffer",
		&CSVReader{r: &randomReads{bytes.Clone(body), rng()}, buf: make([]byte, 16)},
		&refCSVReader{r: &randomReads{bytes.Clone(body), rng()}, buf: make([]byte, 16)}})

	// The rows after the header, in place, with the header the reference reads.
	header := []string{"a", "b"}
	if h, err := newRefCSVReader(bytes.NewReader(body)).Header(); err == nil {
		header = h
	}
	rows := body
	if _, end := HeaderSpan(body); end >= 0 {
		rows = body[end:]
	}
	got, ref := NewCSVReader(nil), newRefCSVReader(nil)
	got.ResetRows(bytes.Clone(rows), header)
	ref.ResetRows(bytes.Clone(rows), header)
	pairs = append(pairs, csvPair{"ResetRows", got, ref})

	// Readers that read other bodies before, then Reset.
	got, ref = NewCSVReader(bytes.NewReader([]byte("x,y\n\"1\",2\n"))), newRefCSVReader(bytes.NewReader([]byte("x,y\n\"1\",2\n")))
	traceCSV(got, true)
	traceCSV(ref, true)
	got.ResetRows(bytes.Clone(rows), header)
	ref.ResetRows(bytes.Clone(rows), header)
	traceCSV(got, false)
	traceCSV(ref, false)
	got.Reset(bytes.NewReader(bytes.Clone(body)))
	ref.Reset(bytes.NewReader(bytes.Clone(body)))
	return append(pairs, csvPair{"after Reset", got, ref})
}

// randomReads returns data in reads of 1 to 200 bytes.
type randomReads struct {
	data []byte
	rng  *rand.Rand
}

func (r *randomReads) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+r.rng.IntN(200))], r.data)
	r.data = r.data[n:]
	return n, nil
}

// checkSameAsReference reads body every way csvPairs gives, with CSVReader and the reference, and requires the
// same fields, errors, row numbers and unparsed bytes after every call.
func checkSameAsReference(t *testing.T, body []byte, seed uint64) {
	t.Helper()
	for i, p := range csvPairs(body, seed) {
		header := (i+int(seed))%2 == 0 || p.name == "after Reset"
		if p.name == "ResetRows" {
			header = false
		}
		got, want := traceCSV(p.got, header), traceCSV(p.ref, header)
		if !reflect.DeepEqual(got, want) {
			for j := range min(len(got), len(want)) {
				if got[j] != want[j] {
					t.Fatalf("%s, body %q: call %d differs:\n got %s\nwant %s", p.name, body, j, got[j], want[j])
				}
			}
			t.Fatalf("%s, body %q: %d calls, reference %d", p.name, body, len(got), len(want))
		}
	}
}

// mutate changes a few bytes of b to CSV's special bytes (or others), inserts or deletes some: malformed
// bodies for every error path.
func mutate(rng *rand.Rand, b []byte) []byte {
	special := []byte{'"', ',', '\n', '\r', 'x', ' ', '"', '"'}
	b = bytes.Clone(b)
	for n := rng.IntN(4); n > 0 && len(b) > 0; n-- {
		i := rng.IntN(len(b))
		switch rng.IntN(3) {
		case 0:
			b[i] = special[rng.IntN(len(special))]
		case 1:
			b = append(b[:i], append([]byte{special[rng.IntN(len(special))]}, b[i:]...)...)
		default:
			b = append(b[:i], b[i+1:]...)
		}
	}
	return b
}

// TestCSVReaderSameAsReference compares CSVReader with the reference on random bodies, well formed and
// mutated, small and larger than the buffer, read in every way of csvPairs.
func TestCSVReaderSameAsReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		body, _ := randomBody(rng)
		if i%4 == 0 {
			body = append([]byte(bom), body...)
		}
		checkSameAsReference(t, body, uint64(i))
		checkSameAsReference(t, mutate(rng, body), uint64(i))
	}
	for seed := uint64(1); seed <= 3; seed++ {
		body := splunkBody(400, seed) // about 200 KB: rows cut by the end of the 64 KiB buffer
		checkSameAsReference(t, body, seed)
		checkSameAsReference(t, mutate(rng, body), seed)
	}
}

// FuzzCSVReaderSameAsReference: for any body, CSVReader returns what the reference returns, call by call.
func FuzzCSVReaderSameAsReference(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\r\n\"q\"\"uote\",\"c,d\"\r\n", "a,b\nx\"y,z\n", "a,b\n\"x\"y,z\n", "a,b\n1,x\ry\n",
		"a,b\r1,2\r", "\xEF\xBB\xBFa\n\n\"x\ny\"\n", "a\n\"\"\"\"\"\"\n\"x\"\"\"\n", "a,b\n1,\"2\n", "a,b\n1,2\r",
	} {
		f.Add([]byte(s), uint64(0))
	}
	f.Add(splunkBody(3, 1), uint64(1))
	f.Fuzz(func(t *testing.T, body []byte, seed uint64) {
		checkSameAsReference(t, body, seed)
	})
}

// TestIndexQuote checks the eight-bytes-at-a-time search against bytes.IndexByte from every offset of random
// buffers made of the bytes next to '"' (whose borrows could mark a wrong byte) and the other special bytes.
func TestIndexQuote(t *testing.T) {
	alphabet := []byte{'"', '!', '#', '"' | 0x80, 0x00, 0xff, ',', '\r', '\n', '-'}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 2000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		for i := 0; i <= len(b); i++ {
			want := bytes.IndexByte(b[i:], '"')
			if want >= 0 {
				want += i
			}
			if got := indexQuote(b, i); got != want {
				t.Fatalf("indexQuote(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}
