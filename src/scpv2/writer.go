package scpv2

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Reply is the metadata of a reply chunk. Empty fields are omitted. For a getinfo reply set Type (and
// RequiredFields, StreamingPreop); for an execute reply set Finished to the request's value. A terminal error
// is Finished = true with Error set.
type Reply struct {
	Type           string     `json:"type,omitempty"`
	RequiredFields []string   `json:"required_fields,omitempty"`
	StreamingPreop string     `json:"streaming_preop,omitempty"`
	Finished       *bool      `json:"finished,omitempty"`
	Error          string     `json:"error,omitempty"`
	Inspector      *Inspector `json:"inspector,omitempty"`
}

// Inspector carries non-terminal messages shown in Splunk Web. An Inspector without messages is left out of
// the reply, as the SDK does.
type Inspector struct {
	// Messages are [LEVEL, TEXT] pairs; LEVEL is upper case: DEBUG, INFO, WARN, ERROR or FATAL.
	Messages [][2]string `json:"messages,omitempty"`
}

// Writer writes SCPv2 chunks: one chunk per call, flushed before the call returns.
type Writer struct {
	bw    *bufio.Writer
	meta  []byte
	hdr   []byte
	chunk int
}

// NewWriter returns a Writer writing chunks to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteReply encodes r as compact JSON (without HTML escaping) and writes it with body as one chunk.
func (w *Writer) WriteReply(r *Reply, body []byte) error {
	meta, err := w.encode(r)
	if err != nil {
		return err
	}
	return w.WriteRaw(meta, body)
}

// WriteReplyFrom is WriteReply with a body of n bytes read from body, for bodies too large to hold in memory.
// Reading fewer than n bytes is an error, and the chunk is then cut short: the stream cannot be used further.
func (w *Writer) WriteReplyFrom(r *Reply, body io.Reader, n int64) error {
	meta, err := w.encode(r)
	if err != nil {
		return err
	}
	w.writeHeader(meta, n)
	w.bw.Write(meta)
	var copied int64
	if wt, ok := body.(io.WriterTo); ok {
		// Large pieces go straight to the underlying writer, past the buffer.
		lw := &limitWriter{w: w.bw, n: n}
		copied, err = wt.WriteTo(lw)
		if err == nil && lw.over {
			err = fmt.Errorf("body longer than %d bytes", n)
		}
	} else {
		copied, err = io.Copy(w.bw, io.LimitReader(body, n))
	}
	if err == nil && copied < n {
		err = fmt.Errorf("body ended after %d of %d bytes", copied, n)
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("scpv2: write chunk %d (%d + %d bytes): %w", w.chunk, len(meta), n, err)
	}
	return nil
}

func (w *Writer) encode(r *Reply) ([]byte, error) {
	if r == nil {
		return nil, errors.New("scpv2: write reply: nil reply")
	}
	w.meta = appendReply(w.meta[:0], r) // wirejson.go
	return w.meta, nil
}

func (w *Writer) writeHeader(meta []byte, bodyLen int64) {
	w.chunk++
	w.hdr = append(w.hdr[:0], "chunked 1.0,"...)
	w.hdr = strconv.AppendInt(w.hdr, int64(len(meta)), 10)
	w.hdr = append(w.hdr, ',')
	w.hdr = strconv.AppendInt(w.hdr, bodyLen, 10)
	w.hdr = append(w.hdr, '\n')
	w.bw.Write(w.hdr)
}

// WriteRaw writes `chunked 1.0,<len(meta)>,<len(body)>\n`, meta and body as one chunk and flushes. meta is
// written as given.
func (w *Writer) WriteRaw(meta, body []byte) error {
	w.writeHeader(meta, int64(len(body)))
	w.bw.Write(meta)
	w.bw.Write(body)
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("scpv2: write chunk %d (%d + %d bytes): %w", w.chunk, len(meta), len(body), err)
	}
	return nil
}

// limitWriter writes at most n bytes to w; it reports the rest as written and remembers that there was more.
type limitWriter struct {
	w    io.Writer
	n    int64
	over bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	all := len(p)
	if int64(len(p)) > l.n {
		p, l.over = p[:l.n], true
	}
	k, err := l.w.Write(p)
	l.n -= int64(k)
	if err == nil && k < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return k, err
	}
	return all, nil
}
