package scan

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	xterm "golang.org/x/term"
)

// progressThreshold is the input size above which --progress=auto shows a progress line.
const progressThreshold = 32 << 20

func term(f *os.File) bool { return xterm.IsTerminal(int(f.Fd())) }

// progress prints one line on stderr, rewritten in place twice a second: bytes read, events per second,
// detections so far. It exists only when stderr is a terminal (or --progress=always); otherwise every method
// is a no-op.
type progress struct {
	s     *scanner
	w     io.Writer
	start time.Time
	done  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	shown bool
}

func startProgress(s *scanner, mode string) *progress {
	switch mode {
	case "never":
		return nil
	case "auto":
		if !isTerminal(s.stderr) || s.total < progressThreshold {
			return nil
		}
	}
	p := &progress{s: s, w: s.stderr, start: time.Now(), done: make(chan struct{})}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.print()
		}
	}
}

func (p *progress) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.start).Seconds()
	ev := p.s.events.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(ev) / el
	}
	read := float64(p.s.bytes.Load()) / (1 << 20)
	total := ""
	if p.s.total > 0 {
		total = fmt.Sprintf(" of %.1f", float64(p.s.total)/(1<<20))
	}
	fmt.Fprintf(p.w, "\r\x1b[K%.1f%s MiB read, %d events (%.0f/s), %d process creations, %d detections so far",
		read, total, ev, rate, p.s.creations.Load(), p.s.matched.Load())
	p.shown = true
}

// clear erases the progress line before another message is printed.
func (p *progress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
	p.clear()
}
