package readahead

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"
)

func testData(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestReadAll reads through readahead with various sources, block sizes and depths and gets the same bytes.
func TestReadAll(t *testing.T) {
	data := testData(1 << 20)
	sources := map[string]func() io.Reader{
		"bytes":         func() io.Reader { return bytes.NewReader(data) },
		"OneByteReader": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:4096])) },
		"HalfReader":    func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"DataErrReader": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	}
	for name, src := range sources {
		for _, cfg := range [][2]int{{1, 1}, {7, 2}, {4096, 4}, {0, 0}} {
			r := New(src(), cfg[0], cfg[1])
			got, err := io.ReadAll(iotest.OneByteReader(r))
			if err != nil {
				t.Fatalf("%s %v: %v", name, cfg, err)
			}
			want := data
			if name == "OneByteReader" {
				want = data[:4096]
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s %v: %d bytes differ from the source's %d", name, cfg, len(got), len(want))
			}
			if _, err := r.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("%s %v: Read after EOF = %v, want io.EOF again", name, cfg, err)
			}
			r.Close()
		}
	}
}

// TestIOTestReader runs the standard reader checks.
func TestIOTestReader(t *testing.T) {
	data := testData(100000)
	if err := iotest.TestReader(New(bytes.NewReader(data), 1000, 3), data); err != nil {
		t.Fatal(err)
	}
}

// TestErrorAfterData checks that the source's error comes after all the data before it, then sticks.
func TestErrorAfterData(t *testing.T) {
	boom := errors.New("boom")
	data := testData(10000)
	r := New(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), 512, 2)
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes and %v, want %d bytes then boom", len(got), err, len(data))
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, boom) {
		t.Fatalf("second Read: %v, want boom", err)
	}
}

// TestTimeoutReader checks that iotest.TimeoutReader's error on its second read is delivered after the data
// of the first.
func TestTimeoutReader(t *testing.T) {
	data := testData(3000)
	r := New(iotest.TimeoutReader(bytes.NewReader(data)), 1000, 2)
	got, err := io.ReadAll(r)
	if !errors.Is(err, iotest.ErrTimeout) || !bytes.Equal(got, data[:1000]) {
		t.Fatalf("got %d bytes and %v, want 1000 bytes then a timeout", len(got), err)
	}
}

// TestPipe reads a pipe written in pieces, overlapping writes and reads.
func TestPipe(t *testing.T) {
	data := testData(200000)
	pr, pw := io.Pipe()
	go func() {
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+len(rest)%3001)
			pw.Write(rest[:n])
			rest = rest[n:]
		}
		pw.Close()
	}()
	r := New(pr, 4096, 3)
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
}

// TestClose checks that Close stops a goroutine waiting for a free block, and that Read then fails; a
// goroutine blocked in a pipe Read ends when the pipe does.
func TestClose(t *testing.T) {
	pr, pw := io.Pipe()
	r := New(pr, 16, 2)
	go pw.Write(testData(1000))
	buf := make([]byte, 4)
	if n, err := r.Read(buf); err != nil || n == 0 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := r.Read(buf); err != ErrClosed {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}
	done := make(chan struct{})
	go func() { pw.CloseWithError(errors.New("gone")); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("closing the pipe hung")
	}
}

// TestNoProgress checks that a source returning 0, nil forever ends with io.ErrNoProgress.
func TestNoProgress(t *testing.T) {
	r := New(zeroReader{}, 16, 2)
	if _, err := io.ReadAll(r); err != io.ErrNoProgress {
		t.Fatalf("error %v, want io.ErrNoProgress", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func BenchmarkReadahead(b *testing.B) {
	data := testData(16 << 20)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := New(bytes.NewReader(data), 256<<10, 4)
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		r.Close()
	}
}
