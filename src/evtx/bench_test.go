package evtx

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"regasmdetect/src/internal/shared"
)

// BenchmarkDecode decodes every chunk of a shared EVTX file on one goroutine: the decoder's own speed.
func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile(shared.Path(b, "data/sysmon/evtx-attack-samples/PanacheSysmon_vs_AtomicRedTeam01.evtx"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	d := NewDecoder()
	buf := make([]byte, ChunkSize)
	var events int64
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, _, err := rd.Next(buf)
			if err == io.EOF {
				break
			}
			if _, err := d.Reset(buf); err != nil {
				if errors.Is(err, ErrNoChunk) {
					continue
				}
				b.Fatal(err)
			}
			for {
				_, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				events++
			}
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
