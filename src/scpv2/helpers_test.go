package scpv2

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// chunkSummary is what walk learns about one chunk.
type chunkSummary struct {
	Meta      string
	BodyLen   int64
	Header    []string
	Rows      int
	NLValues  int    // values holding a newline
	RowsHash  uint64 // FNV-1a over every field of every data row
	BadFields int    // rows whose field count differs from the header (never expected: Next errors)
}

// walk reads a whole stream with a Reader and a CSVReader and summarises every chunk. It returns the
// summaries of the chunks read and the error that ended the stream (nil for a clean io.EOF).
func walk(r io.Reader) ([]chunkSummary, error) {
	rd := NewReader(r)
	cr := NewCSVReader(nil)
	var out []chunkSummary
	for {
		meta, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		s := chunkSummary{Meta: string(meta), BodyLen: rd.BodyLen()}
		if rd.BodyLen() > 0 {
			cr.Reset(rd.Body())
			h, err := cr.Header()
			if err != nil && err != io.EOF {
				return append(out, s), err
			}
			s.Header = append([]string(nil), h...)
			hash := fnv.New64a()
			for {
				row, err := cr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return append(out, s), err
				}
				s.Rows++
				if len(row) != len(h) {
					s.BadFields++
				}
				for _, f := range row {
					hash.Write(f)
					hash.Write([]byte{0})
					if bytes.IndexByte(f, '\n') >= 0 {
						s.NLValues++
					}
				}
			}
			s.RowsHash = hash.Sum64()
		}
		out = append(out, s)
	}
}

// readShared returns the bytes of a shared file, gunzipped when its name ends in .gz.
func readShared(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// splunkQuote writes v as splunkd does: quoted unless it is non-empty and only [A-Za-z0-9].
func splunkQuote(dst []byte, v string) []byte {
	bare := v != ""
	for i := 0; i < len(v) && bare; i++ {
		c := v[i]
		bare = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if bare {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	dst = append(dst, strings.ReplaceAll(v, `"`, `""`)...)
	return append(dst, '"')
}

// splunkBody generates a body shaped like what splunkd sends for Endpoint.Processes records: n rows, every
// field followed by its __mv_ twin, Splunk's quoting, LF line ends, about 500 bytes per row, 1 % of the rows
// with a multivalue field (a quoted value spanning two lines).
func splunkBody(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	fields := []string{"_time", "dest", "user", "parent_process", "parent_process_name", "process_name",
		"process", "process_id", "parent_process_id", "process_path", "process_guid", "vendor_product",
		"process_hash", "process_current_directory"}
	var b []byte
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = splunkQuote(b, f)
	}
	for _, f := range fields {
		b = append(b, ',')
		b = splunkQuote(b, "__mv_"+f)
	}
	b = append(b, '\n')
	users := []string{`CORP\müller`, `CORP\o'brien`, `NT AUTHORITY\SYSTEM`, `CORP\j.doe`}
	parents := []string{`"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\RegAsm.exe" /U payload.dll`,
		`C:\Windows\explorer.exe`, `"C:\Program Files\Office\WINWORD.EXE" /n "C:\Users\x\a, b.docx"`}
	vals := make([]string, len(fields))
	mvs := make([]string, len(fields))
	for r := 0; r < n; r++ {
		pid := rng.IntN(60000)
		vals[0] = fmt.Sprintf("%d.%03d", 1599171244+r, rng.IntN(1000))
		vals[1] = fmt.Sprintf("WIN-HOST-%03d.corp.example.com", rng.IntN(500))
		vals[2] = users[rng.IntN(len(users))]
		vals[3] = parents[rng.IntN(len(parents))]
		vals[4] = "RegAsm.exe"
		vals[5] = "rundll32.exe"
		vals[6] = fmt.Sprintf(`rundll32.exe "C:\Users\Public\lib%d.dll",EntryPoint {%d} & echo "done"`, rng.IntN(99), pid)
		vals[7] = strconv.Itoa(pid)
		vals[8] = strconv.Itoa(rng.IntN(60000))
		vals[9] = `C:\Windows\System32\rundll32.exe`
		vals[10] = fmt.Sprintf("{%08x-1b2c-5f6e-0a00-%012x}", rng.Uint32(), rng.Uint64()&0xffffffffffff)
		vals[11] = "Microsoft Windows"
		vals[12] = fmt.Sprintf("MD5=%016X%016X,SHA256=%016X%016X%016X%016X,IMPHASH=%016X%016X",
			rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
		vals[13] = `C:\Users\Public\Documents\`
		for i := range mvs {
			mvs[i] = ""
		}
		if r%100 == 7 {
			vals[2] = "CORP\\a$b\nCORP\\c"
			mvs[2] = string(AppendMV(nil, []string{"CORP\\a$b", "CORP\\c"}))
		}
		for i, v := range vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = splunkQuote(b, v)
		}
		for _, v := range mvs {
			b = append(b, ',')
			if v != "" {
				b = splunkQuote(b, v)
			}
		}
		b = append(b, '\n')
	}
	return b
}

// isUnexpectedEOF reports whether err is an *Error wrapping io.ErrUnexpectedEOF.
func isUnexpectedEOF(err error) bool {
	var e *Error
	return errors.As(err, &e) && errors.Is(err, io.ErrUnexpectedEOF)
}
