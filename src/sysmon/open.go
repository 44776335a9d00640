package sysmon

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync/atomic"
)

// DefaultMaxDecompressed is the default cap on the bytes decompressed from one gzip input: 16 GiB. Windows caps
// an EVTX log at a few GiB and a text rendering of one is a few times larger, so a real input stays far below;
// a gzip bomb (gzip expands up to about 1000:1) stops at the cap with ErrTooLarge instead of running for hours.
const DefaultMaxDecompressed int64 = 16 << 30

// ErrTooLarge is returned (wrapped) when a gzip input decompresses to more than the cap.
var ErrTooLarge = errors.New("decompressed input larger than the cap")

// ErrNotRegular is returned (wrapped) by Open for a path that is a device, a socket or a folder: reading a
// device such as /dev/zero would never end.
var ErrNotRegular = errors.New("not a regular file, FIFO or link to one")

// headSize is how much of the (decompressed) content Detect sees.
const headSize = 4096

// Options say how an input is opened.
type Options struct {
	// Format is the input format; Auto detects it from the content.
	Format Format
	// MaxDecompressed caps the bytes decompressed from a gzip input; 0 means DefaultMaxDecompressed.
	MaxDecompressed int64
	// Count, when not nil, is increased by the bytes read from the input (before decompression).
	Count *atomic.Int64
}

// Input is one opened input: its format and a reader of its events. It is the one way every entry point
// (files, folders, standard input, tests) opens an input: gzip (magic 1f 8b) is decompressed as a stream under
// the cap, the format comes from the content unless given, and nothing is copied to a temporary file.
type Input struct {
	// Name names the input in errors and records.
	Name string
	// Format is the format read (never Auto).
	Format Format
	// Gzip reports whether the input was gzip-compressed.
	Gzip bool
	// Events reads the Sysmon events of an XML, JSON or EVTX input; nil for CSV.
	Events Reader
	// Text is the decompressed content of a CSV input, from its first byte; nil otherwise.
	Text *bufio.Reader

	closer io.Closer
}

// Close releases the input (the EVTX reader's workers, the file, the decompressor).
func (in *Input) Close() error {
	if c, ok := in.Events.(io.Closer); ok {
		c.Close()
	}
	if in.closer == nil {
		return nil
	}
	err := in.closer.Close()
	in.closer = nil
	return err
}

// Open opens the file at path. A path that is a device, a socket or a folder fails with ErrNotRegular; a FIFO
// (for example a shell's process substitution) is read as a stream.
func Open(path string, opt Options) (*Input, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if t := st.Mode().Type(); t != 0 && t != fs.ModeNamedPipe {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, KindOf(st.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	in, err := NewInput(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	in.closer = multiCloser{in.closer, f}
	return in, nil
}

// KindOf names the type of a file that is not a regular file, for messages: "folder", "FIFO", "device",
// "socket", "symbolic link" or "irregular file".
func KindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsRegular():
		return "file"
	}
	return "irregular file"
}

// NewInput reads the input r, named name in errors. When r is a regular, uncompressed *os.File holding EVTX,
// the EVTX reader reads it in place (io.ReaderAt); any other EVTX input (gzip, a pipe) is read as a stream, one
// chunk after the other. The caller closes r; Input.Close releases what NewInput added.
func NewInput(r io.Reader, name string, opt Options) (*Input, error) {
	max := opt.MaxDecompressed
	if max <= 0 {
		max = DefaultMaxDecompressed
	}
	in := &Input{Name: name, Format: opt.Format}
	raw := r
	if opt.Count != nil {
		raw = countingReader{r, opt.Count}
	}
	br := bufio.NewReaderSize(raw, 256<<10)
	content := br
	var under io.Reader = raw // what content reads from
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		in.Gzip = true
		in.closer = zr
		under = &capReader{r: zr, left: max, max: max}
		content = bufio.NewReaderSize(under, 256<<10)
	}
	if in.Format == Auto {
		head, err := content.Peek(headSize)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			in.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		in.Format = Detect(head)
	}
	switch in.Format {
	case XML, JSON:
		in.Events = newTextReader(content, under, in.Format, name)
	case CSV:
		in.Text = content
	case EVTX:
		var err error
		in.Events, err = openEVTX(r, in.Gzip, content, name, opt.Count)
		if err != nil {
			in.Close()
			return nil, err
		}
	default:
		in.Close()
		return nil, fmt.Errorf("%s: not a format regasmdetect reads (Sysmon XML, JSON lines, EVTX or Splunk CSV)", name)
	}
	return in, nil
}

// newTextReader returns the reader of an XML or JSON lines input r, which reads from under: on every core when
// there is more than one (the records, errors and counts are the sequential reader's; docs/sysmon-mapping.md),
// else sequential. The parallel reader reads into its blocks directly: the bytes r holds, then under.
func newTextReader(r *bufio.Reader, under io.Reader, format Format, name string) Reader {
	if runtime.GOMAXPROCS(0) > 1 {
		held, _ := r.Peek(r.Buffered())
		return NewParallelReader(io.MultiReader(bytes.NewReader(held), under), format, name, 0)
	}
	if format == XML {
		return NewXMLReader(r, name)
	}
	return NewJSONReader(r, name)
}

// openEVTX returns the EVTX reader of an input: in place for a regular uncompressed file, else as a stream.
func openEVTX(r io.Reader, gz bool, content io.Reader, name string, count *atomic.Int64) (Reader, error) {
	if f, ok := r.(*os.File); ok && !gz {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			var ra io.ReaderAt = f
			if count != nil {
				ra = countingReaderAt{f, count}
			}
			return NewEVTXReader(ra, st.Size(), name)
		}
	}
	// The EVTX reader reads the file header, then each chunk in order: a stream serves it without a copy.
	return NewEVTXStream(content, name)
}

// capReader fails with ErrTooLarge once more than max bytes would be read from r.
type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, err := c.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, c.max)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingReaderAt struct {
	r io.ReaderAt
	n *atomic.Int64
}

func (c countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var first error
	for _, c := range m {
		if c == nil {
			continue
		}
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
