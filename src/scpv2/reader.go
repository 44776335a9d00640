// Package scpv2 implements the wire format of Splunk's chunked search-command protocol, version 2 (SCPv2):
// chunk framing in both directions, the JSON metadata of requests and replies, and the CSV bodies with their
// `__mv_` multivalue columns. It knows nothing about what a command does with the records.
//
// A chunk is `chunked 1.0,<metadata bytes>,<body bytes>\n`, then that many bytes of JSON, then that many bytes
// of CSV, with nothing in between. [Reader] reads chunks and exposes each body as a stream; [Writer] writes
// them. [CSVReader] parses a body without copying, [CSVWriter] builds one.
package scpv2

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits on the declared lengths of an incoming chunk. A header that declares more is rejected before anything
// is allocated or read.
//
// splunkd sends a few hundred bytes of metadata (the getinfo request is the largest, under 2 KiB with every
// searchinfo key) and bodies of at most maxresultrows (50,000) rows: the largest recorded body is 16,109,782
// bytes (50,000 rows of 48 columns). MaxMetadataLen leaves room for very long search strings (percent-encoded
// searches of several hundred kilobytes have been seen in the wild) while keeping one chunk's metadata buffer
// small. MaxBodyLen is 64 times the largest recording; the body is streamed, never held in memory, so the
// limit protects against a corrupt length rather than against memory use.
const (
	MaxMetadataLen = 8 << 20 // 8 MiB
	MaxBodyLen     = 1 << 30 // 1 GiB
)

// maxHeaderLen bounds the header line. splunkd writes at most 38 bytes (`chunked 1.0,` and two 10-digit
// lengths); the SDK's tolerated spaces leave plenty of room in 128.
const maxHeaderLen = 128

// readBufSize is the size of the buffered reader under a Reader: large enough that a CSV body is pulled from
// the pipe in big reads.
const readBufSize = 256 << 10

// ErrTooLarge is wrapped by the *Error of a chunk header that declares more metadata or body than
// MaxMetadataLen or MaxBodyLen (as http2's ErrFrameTooLarge).
var ErrTooLarge = errors.New("scpv2: chunk too large")

// Error is the error returned for every framing failure: a malformed or oversized header, a truncated chunk,
// or a failure of the underlying reader. It names the chunk (1-based) and the byte offset of its header.
type Error struct {
	Chunk  int   // 1-based number of the chunk being read
	Offset int64 // byte offset of that chunk's header in the stream
	Msg    string
	// Err is the cause: io.ErrUnexpectedEOF, the underlying reader's error, ErrTooLarge, or nil. A cause is
	// appended to the message; ErrTooLarge is not, the message says it.
	Err error
}

// Error formats the error as "scpv2: chunk 3 at byte 1042: <msg>: <cause>".
func (e *Error) Error() string {
	s := "scpv2: chunk " + strconv.Itoa(e.Chunk) + " at byte " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
	if e.Err != nil && e.Err != ErrTooLarge {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Reader reads SCPv2 chunks from a stream. The metadata of each chunk is read whole into a reused buffer; the
// body is not read into memory but exposed by [Reader.Body] as a stream of exactly the declared length.
//
// The header must be `chunked 1.0,<m>,<b>` followed by a newline. Like the Python SDK, Reader tolerates
// spaces or tabs after `chunked` and around the commas, and spaces, tabs or a carriage return before the
// newline; anything else is an error quoting the offending bytes. After the first error every call fails with
// the same error: the stream cannot be resynchronised.
type Reader struct {
	br     *bufio.Reader
	pos    int64 // bytes consumed from br
	chunk  int
	offset int64
	meta   []byte
	body   bodyReader
	err    error // sticky
	hdr    [maxHeaderLen]byte
}

// NewReader returns a Reader reading chunks from r.
func NewReader(r io.Reader) *Reader {
	rd := &Reader{br: bufio.NewReaderSize(r, readBufSize)}
	rd.body.r = rd
	return rd
}

// Chunk returns the 1-based number of the current chunk (the one whose header Next read last, or is reading).
func (r *Reader) Chunk() int { return r.chunk }

// Offset returns the byte offset of the current chunk's header in the stream.
func (r *Reader) Offset() int64 { return r.offset }

// BodyLen returns the declared body length of the current chunk.
func (r *Reader) BodyLen() int64 { return r.body.n }

// Body returns the current chunk's body: a reader of exactly [Reader.BodyLen] bytes. When the stream ends
// before the body does, reading returns an *[Error] wrapping io.ErrUnexpectedEOF that names the chunk and how
// many bytes are missing. The reader is valid until the next call to Next.
func (r *Reader) Body() io.Reader { return &r.body }

// Next reads the next chunk's header and metadata, after discarding whatever the caller left unread of the
// previous chunk's body. The returned metadata is valid until the next call to Next.
//
// Next returns io.EOF only when the stream ends cleanly before the first byte of a header. The end of the
// stream anywhere inside a chunk (header, metadata or body) is an *[Error] wrapping io.ErrUnexpectedEOF.
func (r *Reader) Next() (meta []byte, err error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.body.drain(); err != nil {
		r.err = err
		return nil, err
	}
	r.chunk++
	r.offset = r.pos
	r.body.n, r.body.left = 0, 0
	m, b, err := r.readHeader()
	if err != nil {
		if err == io.EOF {
			r.chunk--
		}
		r.err = err
		return nil, err
	}
	if cap(r.meta) < int(m) {
		r.meta = make([]byte, m)
	}
	r.meta = r.meta[:m]
	n, err := io.ReadFull(r.br, r.meta)
	r.pos += int64(n)
	if err != nil {
		r.err = r.fail(fmt.Sprintf("metadata: got %d of %d bytes", n, m), unexpected(err))
		return nil, r.err
	}
	r.body.n, r.body.left = b, b
	return r.meta, nil
}

// readHeader reads and parses the header line, returning the two declared lengths.
func (r *Reader) readHeader() (m, b int64, err error) {
	line := r.hdr[:0]
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(line) == 0 {
				return 0, 0, io.EOF
			}
			return 0, 0, r.fail("header: stream ended after "+quote(line), unexpected(err))
		}
		r.pos++
		line = append(line, c)
		if c == '\n' {
			break
		}
		if len(line) == maxHeaderLen {
			return 0, 0, r.fail("header: expected `chunked 1.0,<metadata length>,<body length>\\n` within "+
				strconv.Itoa(maxHeaderLen)+" bytes, found "+quote(line), nil)
		}
	}
	m, b, ok := parseHeader(line)
	if !ok {
		return 0, 0, r.fail("header: expected `chunked 1.0,<metadata length>,<body length>\\n`, found "+quote(line), nil)
	}
	if m > MaxMetadataLen {
		return 0, 0, r.fail(fmt.Sprintf("header: metadata length %d exceeds the limit of %d bytes", m, MaxMetadataLen), ErrTooLarge)
	}
	if b > MaxBodyLen {
		return 0, 0, r.fail(fmt.Sprintf("header: body length %d exceeds the limit of %d bytes", b, int64(MaxBodyLen)), ErrTooLarge)
	}
	return m, b, nil
}

// parseHeader parses `chunked[ \t]+1.0[ \t]*,[ \t]*<digits>[ \t]*,[ \t]*<digits>[ \t\r]*\n`. A length with
// more than 18 digits is rejected (it cannot be within the limits anyway and would overflow).
func parseHeader(line []byte) (m, b int64, ok bool) {
	const prefix = "chunked"
	if len(line) < len(prefix) || string(line[:len(prefix)]) != prefix {
		return 0, 0, false
	}
	i := len(prefix)
	j := skipSpace(line, i)
	if j == i || len(line)-j < 3 || string(line[j:j+3]) != "1.0" {
		return 0, 0, false
	}
	i = j + 3
	for k := 0; k < 2; k++ {
		i = skipSpace(line, i)
		if i == len(line) || line[i] != ',' {
			return 0, 0, false
		}
		i = skipSpace(line, i+1)
		start := i
		var v int64
		for i < len(line) && line[i] >= '0' && line[i] <= '9' {
			v = v*10 + int64(line[i]-'0')
			i++
		}
		if i == start || i-start > 18 {
			return 0, 0, false
		}
		if k == 0 {
			m = v
		} else {
			b = v
		}
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
		i++
	}
	if i != len(line)-1 || line[i] != '\n' {
		return 0, 0, false
	}
	return m, b, true
}

func skipSpace(line []byte, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}

// fail builds an *Error for the current chunk.
func (r *Reader) fail(msg string, err error) error {
	return &Error{Chunk: r.chunk, Offset: r.offset, Msg: msg, Err: err}
}

// unexpected turns io.EOF into io.ErrUnexpectedEOF: inside a chunk the end of the stream is never clean.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// quote renders up to 40 bytes of b as a Go-quoted string, marking truncation.
func quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// bodyReader streams the body of the current chunk.
type bodyReader struct {
	r    *Reader
	n    int64 // declared length
	left int64 // bytes not yet read
	err  error // sticky truncation or read error
}

// Read reads from the body, never past its declared end.
func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.br.Read(p)
	b.left -= int64(n)
	b.r.pos += int64(n)
	if err != nil {
		if n > 0 && err == io.EOF {
			// bufio reports EOF on a later call; deliver the data first.
			return n, nil
		}
		b.err = b.truncated(err)
		return n, b.err
	}
	return n, nil
}

// truncated describes a read failure inside the body.
func (b *bodyReader) truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return b.r.fail(fmt.Sprintf("body: stream ended with %d of %d bytes missing", b.left, b.n), io.ErrUnexpectedEOF)
	}
	return b.r.fail(fmt.Sprintf("body: read failed with %d of %d bytes missing", b.left, b.n), err)
}

// drain discards the unread rest of the body.
func (b *bodyReader) drain() error {
	if b.err != nil {
		return b.err
	}
	for b.left > 0 {
		step := b.left
		if step > 1<<30 {
			step = 1 << 30
		}
		n, err := b.r.br.Discard(int(step))
		b.left -= int64(n)
		b.r.pos += int64(n)
		if err != nil {
			b.err = b.truncated(err)
			return b.err
		}
	}
	return nil
}
