package scan

import (
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"time"
)

// evtxHeapLimit bounds the heap while an EVTX file is parsed. The EVTX library (velocidex/evtx v0.2.0) trusts
// the argument count of a binary XML template instance: a chunk crafted with valid checksums can make it
// allocate without bound. Chunk checksums stop accidental corruption before the library sees it; this guard
// turns the crafted case into a clear error and exit status 2 instead of the kernel's out-of-memory kill.
var evtxHeapLimit uint64 = 2 << 30

// guardHeap watches the heap until stop is called; past the limit it reports name and exits.
func guardHeap(name string, stderr io.Writer) (stop func()) {
	done := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(sample)
				if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > evtxHeapLimit {
					fmt.Fprintf(stderr, "regasmdetect scan: %s: the EVTX parser used more than %d MiB on a malformed chunk; stopping (the file is crafted or corrupt beyond its checksums)\n",
						name, evtxHeapLimit>>20)
					os.Exit(ExitErrors)
				}
			}
		}
	}()
	return func() { close(done) }
}
