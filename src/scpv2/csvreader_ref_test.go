package scpv2

// The CSV body reader as it was before rows were read in one forward pass: each row found with bytes.IndexByte
// and quote parity, then split field by field with bytes.IndexByte. It is kept, unchanged but for its names, as
// the reference that CSVReader must match byte for byte (fields, errors and row numbers): see
// TestCSVReaderSameAsReference and FuzzCSVReaderSameAsReference.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// refCSVReader reads a CSV body as splunkd writes it: RFC 4180 with `,` separators, `"` quoting and `""` for a
// quote inside a quoted value; LF or CRLF line ends (a CR before the LF that ends a row is dropped, CRs inside
// quoted values are kept; any other CR outside quotes is ErrBareCR); quoted values may span lines. A UTF-8
// byte-order mark at the start of the body is skipped (it would otherwise become part of the first column's
// name and hide `_time`). The first row is the header; every other row must
// have exactly as many fields. Blank lines are skipped, as Go's encoding/csv and the Python SDK do. Bytes are
// passed through unchanged: invalid UTF-8 is not an error here.
//
// Fields are views into an internal buffer, unescaped in place: they are valid until the next call to Next,
// Header or Reset. Rows are found with bytes.IndexByte and quote parity, fields split with bytes.IndexByte;
// nothing is allocated per row.
type refCSVReader struct {
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
	quoted   []bool
	own      []byte // the reader's own buffer while buf is data given to ResetRows
	borrowed bool   // buf is data given to ResetRows
	started  bool   // the first line of the body was read (a byte-order mark is looked for there only)
}

// newRefCSVReader returns a refCSVReader reading the body r.
func newRefCSVReader(r io.Reader) *refCSVReader {
	return &refCSVReader{r: r, buf: make([]byte, csvBufSize)}
}

// Reset makes c read the body r, keeping its buffers. The header of the previous body is forgotten.
func (c *refCSVReader) Reset(r io.Reader) {
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
func (c *refCSVReader) Row() int { return c.row }

// Header reads the first row and returns it as strings. It returns io.EOF for an empty body (no row at all).
// Later calls return the same header. The slice must not be modified; it may be shared with the header of the
// previous body when the two are equal.
func (c *refCSVReader) Header() ([]string, error) {
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

func (c *refCSVReader) sameHeader() bool {
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
func (c *refCSVReader) Next() ([][]byte, error) {
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
func (c *refCSVReader) readRow() error {
	for {
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

// nextLine returns the bytes of the next row without its line end, the number of quotes in it, and whether it
// ended at the end of the body rather than at a newline. A newline ends the row when the number of quotes
// before it in the row is even: it is then outside any quoted value.
func (c *refCSVReader) nextLine() (row []byte, quotes int, atEOF bool, err error) {
	scan, q := c.start, 0
	for {
		if i := bytes.IndexByte(c.buf[scan:c.end], '\n'); i >= 0 {
			nl := scan + i
			q += bytes.Count(c.buf[scan:nl], refQuoteByte)
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
		q += bytes.Count(c.buf[scan:c.end], refQuoteByte)
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

var refQuoteByte = []byte{'"'}

// fill moves the unconsumed bytes to the front of the buffer, grows it when it is full, and reads more.
func (c *refCSVReader) fill() error {
	if c.r == nil {
		return errors.New("no body to read: refCSVReader used without newRefCSVReader or Reset")
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
func (c *refCSVReader) split(row []byte, q int, atEOF bool) error {
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
func (c *refCSVReader) bareCR() error {
	for i, f := range c.fields {
		if !c.quoted[i] && bytes.IndexByte(f, '\r') >= 0 {
			return &ParseError{Row: c.row, Column: i + 1, Err: ErrBareCR}
		}
	}
	return nil
}

// fieldError reports err at field col, unless an earlier unquoted field holds a bare quote: that is the first
// error in the row and is reported instead. A nil err means only a bare quote can explain the failure.
func (c *refCSVReader) fieldError(col int, err error) error {
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

// ResetRows makes c read, in place, the data rows held whole in data: rows of a body whose header (row 1) was
// read elsewhere. Row numbers restart at 2 for the first row of data. c does not copy data, unescapes quoted
// values inside it, and keeps it until the next Reset or ResetRows; its own buffer is kept for a later Reset.
// This lets several readers parse row-aligned pieces of one large body in parallel.
func (c *refCSVReader) ResetRows(data []byte, header []string) {
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
func (c *refCSVReader) Buffered() []byte { return c.buf[c.start:c.end] }
