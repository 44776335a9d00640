// Package readahead reads a stream ahead of its consumer on another goroutine, so that waiting for input (a
// pipe from splunkd) overlaps with parsing on a second core.
package readahead

import (
	"errors"
	"io"
	"sync"
)

// Defaults used when New is given a non-positive block size or depth.
const (
	DefaultBlockSize = 256 << 10
	DefaultDepth     = 4
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("readahead: read after Close")

type block struct {
	buf []byte // the whole block, handed back for reuse
	n   int
	err error
}

type reader struct {
	full      chan block
	free      chan []byte
	done      chan struct{}
	closeOnce sync.Once
	cur       block
	off       int
	err       error // sticky, delivered after all data
}

// New returns a reader of r that reads ahead on its own goroutine into a ring of depth blocks of blockSize
// bytes (DefaultBlockSize and DefaultDepth when not positive). Each Read of r fills at most one block; blocks
// are handed over a channel in order, and r's error (io.EOF included) is returned by Read after all the data
// that came before it, then on every later Read.
//
// The returned reader is for one consumer goroutine. Close stops the read-ahead goroutine and makes later
// Reads return ErrClosed; it does not close r. A goroutine blocked inside r.Read (for example on a pipe with
// no writer activity) cannot be interrupted: it exits when that Read returns, and whatever it read is dropped.
// Close does not wait for it.
func New(r io.Reader, blockSize, depth int) io.ReadCloser {
	if blockSize <= 0 {
		blockSize = DefaultBlockSize
	}
	if depth <= 0 {
		depth = DefaultDepth
	}
	ra := &reader{
		full: make(chan block, depth),
		free: make(chan []byte, depth),
		done: make(chan struct{}),
	}
	for i := 0; i < depth; i++ {
		ra.free <- make([]byte, blockSize)
	}
	go ra.loop(r)
	return ra
}

// loop reads r into free blocks until an error or Close.
func (ra *reader) loop(r io.Reader) {
	empty := 0
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := r.Read(buf)
		if n == 0 && err == nil {
			empty++
			if empty < 100 {
				ra.free <- buf // cannot block: we took it from free
				continue
			}
			err = io.ErrNoProgress
		}
		empty = 0
		select {
		case ra.full <- block{buf: buf, n: n, err: err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read copies read-ahead data into p.
func (ra *reader) Read(p []byte) (int, error) {
	select {
	case <-ra.done:
		return 0, ErrClosed
	default:
	}
	for {
		if ra.off < ra.cur.n {
			n := copy(p, ra.cur.buf[ra.off:ra.cur.n])
			ra.off += n
			return n, nil
		}
		if ra.cur.buf != nil {
			if ra.cur.err != nil {
				ra.err = ra.cur.err
			}
			ra.free <- ra.cur.buf // cannot block: depth blocks in all
			ra.cur = block{}
			ra.off = 0
		}
		if ra.err != nil {
			return 0, ra.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		select {
		case ra.cur = <-ra.full:
		case <-ra.done:
			ra.err = ErrClosed
		}
	}
}

// Close stops the read-ahead goroutine. It always returns nil.
func (ra *reader) Close() error {
	ra.closeOnce.Do(func() { close(ra.done) })
	return nil
}
