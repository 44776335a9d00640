package scpv2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
)

// csvBufSize is the initial size of a CSVReader's buffer; it grows only for a row longer than the buffer.
const csvBufSize = 64 << 10

// Errors of malformed CSV, wrapped in a *ParseError that says where (test with errors.Is).
var (
	ErrBareQuote    = errors.New("bare quote in unquoted field")
	ErrTrailingText = errors.New("extra text after quoted field")
	ErrQuote        = errors.New("unterminated quoted field")
	ErrFieldCount   = errors.New("wrong number of fields")
	// ErrBareCR is a carriage return outside a quoted value that does not end a line: CR-only line ends (or a
	// stray CR), which splunkd never writes. Read as LF or as data, it would silently merge or mangle rows.
	ErrBareCR = errors.New("carriage return outside a quoted value (line ends must be LF or CRLF)")
)

// ParseError reports malformed CSV in a body: the 1-based row (the header is row 1; blank lines are not
// counted), the 1-based field number within the row, and what is wrong: one of the Err* values above, possibly
// wrapped with details.
type ParseError struct {
	Row, Column int
	Err         error
}

// Error formats the error as "csv row 12, field 3: bare quote in unquoted field".
func (e *ParseError) Error() string {
	return "csv row " + strconv.Itoa(e.Row) + ", field " + strconv.Itoa(e.Column) + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

// bom is the UTF-8 byte-order mark.
const bom = "\xEF\xBB\xBF"

// CSVReader reads a CSV body as splunkd writes it: RFC 4180 with `,` separators, `"` quoting and `""` for a
// quote inside a quoted value; LF or CRLF line ends (a CR before the LF that ends a row is dropped, CRs inside
// quoted values are kept; any other CR outside quotes is ErrBareCR); quoted values may span lines. A UTF-8
// byte-order mark at the start of the body is skipped (it would otherwise become part of the first column's
// name and hide `_time`). The first row is the header; every other row must
// have exactly as many fields. Blank lines are skipped, as Go's encoding/csv and the Python SDK do. Bytes are
// passed through unchanged: invalid UTF-8 is not an error here.
//
// Fields are views into an internal buffer, unescaped in place: they are valid until the next call to Next,
// Header or Reset. A well-formed row held whole in the buffer is read in one forward pass (scanRow); any other
// row (the first of the body, a blank line, a row cut by the end of the buffer or of the body, malformed CSV) is
// read by the general path, which finds the row by quote parity and then splits it (nextLine, split). Nothing
// is allocated per row.
type CSVReader struct {
	r        io.Reader
	buf      []byte
	start    int // first unconsumed byte
	end      int // end of valid data
	eof      bool
	err      error // sticky
	row      int
	header   []string
	hdrOK    bool
	fields   [][]byte
	quoted   []bool         // which fields were quoted, set by split only (for its errors)
	pairs    []int          // where the second quote of each "" is, in the row scanRow is reading
	escaped  []escapedValue // the quoted values holding those pairs
	own      []byte         // the reader's own buffer while buf is data given to ResetRows
	borrowed bool           // buf is data given to ResetRows
	started  bool           // the first line of the body was read (a byte-order mark is looked for there only)
}

// NewCSVReader returns a CSVReader reading the body r.
func NewCSVReader(r io.Reader) *CSVReader {
	return &CSVReader{r: r, buf: make([]byte, csvBufSize)}
}

// Reset makes c read the body r, keeping its buffers. The header of the previous body is forgotten.
func (c *CSVReader) Reset(r io.Reader) {
	if c.borrowed {
		c.buf, c.own, c.borrowed = c.own, nil, false
	}
	c.r = r
	c.start, c.end = 0, 0
	c.eof = false
	c.err = nil
	c.row = 0
	c.hdrOK = false
	c.started = false
	if c.buf == nil {
		c.buf = make([]byte, csvBufSize)
	}
}

// Row returns the 1-based number of the row last returned (the header is row 1).
func (c *CSVReader) Row() int { return c.row }

// Header reads the first row and returns it as strings. It returns io.EOF for an empty body (no row at all).
// Later calls return the same header. The slice must not be modified; it may be shared with the header of the
// previous body when the two are equal.
func (c *CSVReader) Header() ([]string, error) {
	if c.hdrOK {
		return c.header, nil
	}
	if c.err != nil {
		return nil, c.err
	}
	if err := c.readRow(); err != nil {
		c.err = err
		return nil, err
	}
	c.hdrOK = true
	if !c.sameHeader() {
		h := make([]string, len(c.fields))
		for i, f := range c.fields {
			h[i] = string(f)
		}
		c.header = h
	}
	return c.header, nil
}

func (c *CSVReader) sameHeader() bool {
	if len(c.header) != len(c.fields) {
		return false
	}
	for i, f := range c.fields {
		if c.header[i] != string(f) {
			return false
		}
	}
	return true
}

// Next returns the next data row, reading the header first if Header was not called. It returns io.EOF at the
// end of the body, a *ParseError for malformed CSV or a row whose field count differs from the header's, and
// the reader's error (wrapped, naming the row) when reading the body fails. After an error every call returns
// the same error.
func (c *CSVReader) Next() ([][]byte, error) {
	if !c.hdrOK {
		if _, err := c.Header(); err != nil {
			return nil, err
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	if err := c.readRow(); err != nil {
		c.err = err
		return nil, err
	}
	if len(c.fields) != len(c.header) {
		col := len(c.header) + 1 // the first extra field
		if len(c.fields) < len(c.header) {
			col = len(c.fields) + 1 // the first missing field
		}
		c.err = &ParseError{Row: c.row, Column: col,
			Err: fmt.Errorf("%w: row has %d fields, header has %d", ErrFieldCount, len(c.fields), len(c.header))}
		return nil, c.err
	}
	return c.fields, nil
}

// readRow finds the next non-blank row and splits it into c.fields.
func (c *CSVReader) readRow() error {
	for {
		if c.started && c.scanRow() {
			return nil
		}
		row, q, atEOF, err := c.nextLine()
		if err != nil {
			if err != io.EOF && !isFramingError(err) {
				err = fmt.Errorf("scpv2: csv row %d: read body: %w", c.row+1, err)
			}
			return err
		}
		if !c.started {
			c.started = true
			row = bytes.TrimPrefix(row, []byte(bom))
		}
		if len(row) == 0 {
			continue // blank line
		}
		c.row++
		if err := c.split(row, q, atEOF); err != nil {
			return err
		}
		if bytes.IndexByte(row, '\r') >= 0 {
			return c.bareCR()
		}
		return nil
	}
}

// scanRow reads the next row into c.fields in one forward pass when the row is well formed and held whole in the
// buffer, ended by LF or CRLF. It goes from value to value. A quoted value is crossed from quote to quote: the
// quote found either starts a "" pair (pairsFrom) or closes the value, which must then be followed by ',', LF
// or CRLF. An unquoted value (most are empty) ends at the first ',', '"', CR or LF, and must not end at a
// quote. Both searches look at eight bytes at a time (see has0) and are written out in the loop, so that the
// common path makes no call and keeps its state in registers; bytes.IndexByte would cost a call per value.
// Since a quote can then only open a value or come in a closed pair, the quotes before the LF that ends the
// row are even in number: it is the row end the general path finds by quote parity, and the fields are those
// split finds.
//
// scanRow reports false, having consumed and changed nothing, for any other row: a blank line, a quote in an
// unquoted value, text after a closing quote, a CR that ends no line outside quotes, and a row not ended by a
// line end within the buffer (cut by the end of the data read so far, or the last row of the body). The
// general path then reads that row, reading more when it needs to, and reports its errors. This is why the
// pairs are only noted during the pass and removed once the row is accepted (unescape).
func (c *CSVReader) scanRow() bool {
	buf := c.buf[:c.end]
	pos := c.start
	if pos == len(buf) || buf[pos] == '\n' || buf[pos] == '\r' {
		return false // the end of the data, a blank line, or a bare CR
	}
	fields := c.fields[:0]
	c.pairs, c.escaped = c.pairs[:0], c.escaped[:0]
	for {
		start, end := pos, pos // the value is buf[start:end]; pos moves to the byte after it
		switch buf[pos] {
		case ',': // an empty value
		case '"':
			start = pos + 1
			// indexQuote, written out
			for end = start; ; end += 8 {
				if end+8 > len(buf) {
					end = indexTail(buf, end, '"')
					break
				}
				if m := has0(binary.LittleEndian.Uint64(buf[end:]) ^ ('"' * ones)); m != 0 {
					end += bits.TrailingZeros64(m) >> 3
					break
				}
			}
			if end >= 0 && end+1 < len(buf) && buf[end+1] == '"' {
				end = c.pairsFrom(buf, start, end, len(fields))
			}
			if end < 0 || end+1 == len(buf) {
				return false // not closed before the end of the buffer, or what follows it is not there yet
			}
			pos = end + 1
		default:
			// the first ',', '"', CR or LF
			for end = pos; ; end += 8 {
				if end+8 > len(buf) {
					end = indexSpecialTail(buf, end)
					break
				}
				w := binary.LittleEndian.Uint64(buf[end:])
				if m := has0(w^(','*ones)) | has0(w^('"'*ones)) | has0(w^('\r'*ones)) | has0(w^('\n'*ones)); m != 0 {
					end += bits.TrailingZeros64(m) >> 3
					break
				}
			}
			if end < 0 || buf[end] == '"' {
				return false
			}
			pos = end
		}
		fields = append(fields, buf[start:end])
		if buf[pos] != ',' {
			break
		}
		if pos++; pos == len(buf) {
			return false
		}
	}
	switch {
	case buf[pos] == '\n':
		pos++
	case buf[pos] == '\r' && pos+1 < len(buf) && buf[pos+1] == '\n':
		pos += 2
	default:
		return false // text after a closing quote, or a bare CR
	}
	c.unescape(fields)
	c.fields = fields
	c.start = pos
	c.row++
	return true
}

// pairsFrom notes the "" pair at buf[q] and those after it in the quoted value of field number field, whose
// text starts at buf[start], and returns the index of the value's closing quote, or -1 when buf ends first.
func (c *CSVReader) pairsFrom(buf []byte, start, q, field int) int {
	for q >= 0 && q+1 < len(buf) && buf[q+1] == '"' {
		c.pairs = append(c.pairs, q+1)
		q = indexQuote(buf, q+2)
	}
	c.escaped = append(c.escaped, escapedValue{field, start, len(c.pairs)})
	return q
}

// escapedValue is a quoted value of the row scanRow is reading that holds "" pairs: its field number, where its
// text starts in the buffer, and the end of its pairs in c.pairs (they follow those of the values before it).
type escapedValue struct{ field, start, pairsEnd int }

// unescape removes the second quote of each "" pair noted by pairsFrom from the fields it is in, moving the
// rest of each such value left in place.
func (c *CSVReader) unescape(fields [][]byte) {
	p := 0
	for _, e := range c.escaped {
		f := fields[e.field]
		w := c.pairs[p] - e.start
		for ; p < e.pairsEnd; p++ {
			to := len(f)
			if p+1 < e.pairsEnd {
				to = c.pairs[p+1] - e.start
			}
			w += copy(f[w:], f[c.pairs[p]-e.start+1:to])
		}
		fields[e.field] = f[:w]
	}
}

// Bytes are looked at eight at a time, in a uint64 read little-endian (byte i of the buffer is byte i%8 of the
// word, from the lowest). has0 of a word sets the top bit of its first zero byte, and maybe of later bytes
// (a borrow runs on from a zero byte), which are not looked at: so the lowest bit set in has0(w ^ x*ones)
// marks the first byte x of the word, and bits.TrailingZeros64 of it, divided by 8, is its index.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

func has0(w uint64) uint64 { return (w - ones) &^ w & highs }

// indexQuote returns the index of the first '"' in b at or after i, or -1.
func indexQuote(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := has0(binary.LittleEndian.Uint64(b[i:]) ^ ('"' * ones)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return indexTail(b, i, '"')
}

// indexSpecialTail returns the index of the first ',', '"', CR or LF in b at or after i, or -1: the last
// bytes of the buffer, fewer than eight.
func indexSpecialTail(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c == ',' || c == '"' || c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

// indexTail returns the index of the first x in b at or after i, or -1.
func indexTail(b []byte, i int, x byte) int {
	if j := bytes.IndexByte(b[i:], x); j >= 0 {
		return i + j
	}
	return -1
}

// nextLine returns the bytes of the next row without its line end, the number of quotes in it, and whether it
// ended at the end of the body rather than at a newline. A newline ends the row when the number of quotes
// before it in the row is even: it is then outside any quoted value.
func (c *CSVReader) nextLine() (row []byte, quotes int, atEOF bool, err error) {
	scan, q := c.start, 0
	for {
		if i := bytes.IndexByte(c.buf[scan:c.end], '\n'); i >= 0 {
			nl := scan + i
			q += bytes.Count(c.buf[scan:nl], quoteByte)
			if q&1 == 0 {
				row = c.buf[c.start:nl]
				c.start = nl + 1
				if n := len(row); n > 0 && row[n-1] == '\r' {
					row = row[:n-1]
				}
				return row, q, false, nil
			}
			scan = nl + 1
			continue
		}
		q += bytes.Count(c.buf[scan:c.end], quoteByte)
		scan = c.end
		if c.eof {
			row = c.buf[c.start:c.end]
			c.start = c.end
			if len(row) == 0 {
				return nil, 0, true, io.EOF
			}
			if n := len(row); row[n-1] == '\r' {
				row = row[:n-1]
			}
			return row, q, true, nil
		}
		shift := c.start
		if err := c.fill(); err != nil {
			return nil, 0, false, err
		}
		scan -= shift
	}
}

var quoteByte = []byte{'"'}

// fill moves the unconsumed bytes to the front of the buffer, grows it when it is full, and reads more.
func (c *CSVReader) fill() error {
	if c.r == nil {
		return errors.New("no body to read: CSVReader used without NewCSVReader or Reset")
	}
	if c.start > 0 {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	if c.end == len(c.buf) {
		nb := make([]byte, 2*len(c.buf)+csvBufSize)
		copy(nb, c.buf[:c.end])
		c.buf = nb
	}
	for empty := 0; ; empty++ {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err == io.EOF {
			c.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if empty == 100 {
			return io.ErrNoProgress
		}
	}
}

// split splits a row into c.fields, unescaping quoted values in place. q is the row's number of quotes:
// when the quoted values do not account for all of them, an unquoted field holds a bare quote.
func (c *CSVReader) split(row []byte, q int, atEOF bool) error {
	c.fields = c.fields[:0]
	c.quoted = c.quoted[:0]
	used := 0
	i := 0
	for {
		if i < len(row) && row[i] == '"' {
			start := i + 1
			j, w := start, start
			for {
				k := bytes.IndexByte(row[j:], '"')
				if k < 0 {
					var err error = ErrQuote
					if atEOF {
						err = fmt.Errorf("%w at end of body", ErrQuote)
					}
					return c.fieldError(len(c.fields)+1, err)
				}
				k += j
				if w != j {
					copy(row[w:], row[j:k])
				}
				w += k - j
				used += 2
				if k+1 < len(row) && row[k+1] == '"' {
					row[w] = '"'
					w++
					j = k + 2
					continue
				}
				i = k + 1
				break
			}
			c.fields = append(c.fields, row[start:w])
			c.quoted = append(c.quoted, true)
			if i == len(row) {
				break
			}
			if row[i] != ',' {
				if row[i] == '\r' {
					return c.fieldError(len(c.fields), ErrBareCR)
				}
				return c.fieldError(len(c.fields), ErrTrailingText)
			}
			i++
			continue
		}
		if i < len(row) && row[i] == ',' {
			c.fields = append(c.fields, row[i:i])
			c.quoted = append(c.quoted, false)
			i++
			continue
		}
		k := bytes.IndexByte(row[i:], ',')
		c.quoted = append(c.quoted, false)
		if k < 0 {
			c.fields = append(c.fields, row[i:])
			break
		}
		c.fields = append(c.fields, row[i:i+k])
		i += k + 1
	}
	if used != q {
		return c.fieldError(len(c.fields)+1, nil)
	}
	return nil
}

// bareCR reports the first unquoted field of the row just split that holds a CR.
func (c *CSVReader) bareCR() error {
	for i, f := range c.fields {
		if !c.quoted[i] && bytes.IndexByte(f, '\r') >= 0 {
			return &ParseError{Row: c.row, Column: i + 1, Err: ErrBareCR}
		}
	}
	return nil
}

// fieldError reports err at field col, unless an earlier unquoted field holds a bare quote: that is the first
// error in the row and is reported instead. A nil err means only a bare quote can explain the failure.
func (c *CSVReader) fieldError(col int, err error) error {
	for i, f := range c.fields {
		if i+1 >= col && err != nil {
			break
		}
		if !c.quoted[i] && bytes.IndexByte(f, '"') >= 0 {
			col, err = i+1, ErrBareQuote
			break
		}
	}
	if err == nil {
		err = ErrBareQuote
	}
	return &ParseError{Row: c.row, Column: col, Err: err}
}

// isFramingError reports whether err is an *Error from the chunk Reader, which already names its chunk.
func isFramingError(err error) bool {
	var fe *Error
	return errors.As(err, &fe)
}

// ResetRows makes c read, in place, the data rows held whole in data: rows of a body whose header (row 1) was
// read elsewhere. Row numbers restart at 2 for the first row of data. c does not copy data, unescapes quoted
// values inside it, and keeps it until the next Reset or ResetRows; its own buffer is kept for a later Reset.
// This lets several readers parse row-aligned pieces of one large body in parallel.
func (c *CSVReader) ResetRows(data []byte, header []string) {
	if !c.borrowed {
		c.own, c.borrowed = c.buf, true
	}
	c.r = nil
	c.buf = data
	c.start, c.end = 0, len(data)
	c.eof = true
	c.err = nil
	c.row = 1
	c.header = header
	c.hdrOK = true
	c.started = true
}

// Buffered returns the bytes read from the body but not yet parsed, as bufio.Reader.Buffered and
// json.Decoder.Buffered do: after Header, the start of the data rows. The slice is valid until the next call
// to Next, Header or Reset.
func (c *CSVReader) Buffered() []byte { return c.buf[c.start:c.end] }

// RowsEnd returns the length of the longest prefix of b made of whole rows, each ended by a newline outside
// quotes, given that b starts at the start of a row: the place where b can be cut for ResetRows. It is 0 when b
// holds no whole row.
func RowsEnd(b []byte) int {
	q := bytes.Count(b, quoteByte)
	end := len(b)
	for {
		nl := bytes.LastIndexByte(b[:end], '\n')
		if nl < 0 {
			return 0
		}
		q -= bytes.Count(b[nl:end], quoteByte)
		if q&1 == 0 {
			return nl + 1
		}
		end = nl
	}
}

// HeaderSpan returns where the header row of a body starting at b lies: start is past the blank lines that
// precede it (a CSVReader skips them), end is past its line end, or -1 when b does not yet hold the whole row.
func HeaderSpan(b []byte) (start, end int) {
	if bytes.HasPrefix(b, []byte(bom)) {
		start = len(bom)
	}
	for start < len(b) && (b[start] == '\n' || b[start] == '\r' && start+1 < len(b) && b[start+1] == '\n') {
		start++
	}
	q := 0
	off := start
	for {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return start, -1
		}
		q += bytes.Count(b[off:off+i], quoteByte)
		if q&1 == 0 {
			return start, off + i + 1
		}
		off += i + 1
	}
}
