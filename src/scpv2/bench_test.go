package scpv2

import (
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"sync"
	"testing"
)

// benchBody is a ~25 MB body of 50,000 Splunk-quoted rows with __mv_ twins, as splunkd sends at
// maxresultrows.
var benchBodyOnce = sync.OnceValue(func() []byte { return splunkBody(50000, 42) })

// BenchmarkCSVReader reads the body row by row: fields are views, nothing is allocated per row.
func BenchmarkCSVReader(b *testing.B) {
	benchBody := benchBodyOnce()
	br := bytes.NewReader(benchBody)
	c := NewCSVReader(br)
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		br.Reset(benchBody)
		c.Reset(br)
		rows = countRows(b, c)
	}
	if rows != 50000 {
		b.Fatalf("%d rows, want 50000", rows)
	}
	b.ReportMetric(float64(len(benchBody))/50000, "B/row")
}

// BenchmarkCSVReaderRows reads the same rows in place with ResetRows, in blocks of about 1 MiB cut with RowsEnd,
// as the command's parallel workers do. Each block is first copied afresh, since its rows are unescaped in
// place: that copy is part of the time.
func BenchmarkCSVReaderRows(b *testing.B) {
	benchBody := benchBodyOnce()
	c := NewCSVReader(bytes.NewReader(benchBody))
	header, err := c.Header()
	if err != nil {
		b.Fatal(err)
	}
	_, hdrEnd := HeaderSpan(benchBody)
	var blocks [][]byte
	for rest := benchBody[hdrEnd:]; len(rest) > 0; {
		n := RowsEnd(rest[:min(len(rest), 1<<20)])
		blocks, rest = append(blocks, rest[:n]), rest[n:]
	}
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(benchBody) - hdrEnd))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		rows = 0
		for _, block := range blocks {
			c.ResetRows(data[:copy(data, block)], header)
			rows += countRows(b, c)
		}
	}
	if rows != 50000 {
		b.Fatalf("%d rows, want 50000", rows)
	}
}

// BenchmarkCSVReaderStdlib is encoding/csv on the same body with ReuseRecord, for comparison.
func BenchmarkCSVReaderStdlib(b *testing.B) {
	benchBody := benchBodyOnce()
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(benchBody))
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// BenchmarkReaderBody frames a stream of ten 2.5 MB chunks and streams every body out.
func BenchmarkReaderBody(b *testing.B) {
	benchBody := benchBodyOnce()
	var stream bytes.Buffer
	w := NewWriter(&stream)
	part := benchBody[:len(benchBody)/10]
	for i := 0; i < 10; i++ {
		meta := `{"action":"execute","finished":` + strconv.FormatBool(i == 9) + `}`
		if err := w.WriteRaw([]byte(meta), part); err != nil {
			b.Fatal(err)
		}
	}
	data := stream.Bytes()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd := NewReader(bytes.NewReader(data))
		for {
			if _, err := rd.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			body := rd.Body()
			for {
				if _, err := body.Read(buf); err != nil {
					break
				}
			}
		}
	}
}

// BenchmarkStream frames and parses a stream of ten 5,000-row chunks end to end: Reader + CSVReader.
func BenchmarkStream(b *testing.B) {
	var stream bytes.Buffer
	w := NewWriter(&stream)
	for i := 0; i < 10; i++ {
		body := splunkBody(5000, uint64(i))
		meta := `{"action":"execute","finished":` + strconv.FormatBool(i == 9) + `}`
		if err := w.WriteRaw([]byte(meta), body); err != nil {
			b.Fatal(err)
		}
	}
	data := stream.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	c := NewCSVReader(nil)
	for b.Loop() {
		rd := NewReader(bytes.NewReader(data))
		n := 0
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
			c.Reset(rd.Body())
			for {
				if _, err := c.Next(); err != nil {
					break
				}
				n++
			}
		}
		if n != 50000 {
			b.Fatalf("%d rows", n)
		}
	}
}

// countRows reads c to its end and returns the rows read.
func countRows(b *testing.B, c *CSVReader) int {
	rows := 0
	for {
		if _, err := c.Next(); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			return rows
		}
		rows++
	}
}
