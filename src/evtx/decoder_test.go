package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/internal/evtxcraft"
	"regasmdetect/src/internal/shared"
)

// decodeImage reads every record of an EVTX file image; it returns the rendered records and every error, in
// order (chunk errors and record errors alike).
func decodeImage(t testing.TB, b []byte) ([]decoded, []error) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, []error{err}
	}
	d := NewDecoder()
	buf := make([]byte, ChunkSize)
	var out []decoded
	var errs []error
	for {
		_, _, err := rd.Next(buf)
		if err == io.EOF {
			return out, errs
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := d.Reset(buf); err != nil {
			if !errors.Is(err, ErrNoChunk) {
				errs = append(errs, err)
			}
			continue
		}
		for {
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, render(rec))
		}
	}
}

func TestSyntheticChunk(t *testing.T) {
	got, errs := decodeImage(t, fileImage(syntheticChunk()))
	if len(errs) != 0 || len(got) != 3 {
		t.Fatalf("%d records, errors %v", len(got), errs)
	}
	time := string(AppendFiletime(nil, 132_080_211_556_992_938))
	if time != "2019-07-19T14:45:55.699293800Z" {
		t.Errorf("FILETIME rendered %s", time)
	}
	wantSystem := map[string]string{"Provider": "Microsoft-Windows-Sysmon", "EventID": "1", "TimeCreated": time,
		"EventRecordID": "42", "Channel": "Microsoft-Windows-Sysmon&/Operational", "Computer": "HOST-1",
		"SecurityUserID": "S-1-5-18"}
	for i, img := range []string{`C:\Windows\Microsoft.NET\Framework\v4.0.30319\RegAsm.exe`, `C:\x\child.exe`, "Ünïcödé 😀"} {
		g := got[i]
		if g.id != uint64(100+i) {
			t.Errorf("record %d: id %d", i, g.id)
		}
		for k, v := range wantSystem {
			if g.system[k] != v {
				t.Errorf("record %d: %s = %q, want %q", g.id, k, g.system[k], v)
			}
		}
		wantData := map[string]string{"Image": img, "ParentImage": `C:\p\parent.exe`, "CommandLine": img + " /u",
			"ProcessId":   string(rune('0'+4+0)) + "00" + string(rune('0'+i)),
			"ProcessGuid": "{747F3D96-1234-5678-9ABC-DEF001020304}", "LogonId": "0x00000000000003e7"}
		if len(g.data) != len(wantData) || g.ndata != len(wantData) {
			t.Errorf("record %d: data %v", g.id, g.data)
		}
		for k, v := range wantData {
			if g.data[k] != v {
				t.Errorf("record %d: Data %s = %q, want %q", g.id, k, g.data[k], v)
			}
		}
	}
}

func TestValues(t *testing.T) {
	le16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	tests := []struct {
		typ  byte
		data []byte
		want string
		err  bool
	}{
		{0x00, nil, "", false},
		{0x01, utf16le("a€😀"), "a€😀", false},
		{0x01, []byte{0x00, 0xd8, 'a', 0}, "\uFFFDa", false}, // unpaired surrogate
		{0x01, append(utf16le("ab"), 0, 0, 'c', 0), "ab", false},
		{0x02, []byte("caf\xe9\x00rest"), "café", false},
		{0x03, []byte{0xff}, "-1", false},
		{0x04, []byte{0xff}, "255", false},
		{0x05, le16(0xffff), "-1", false},
		{0x06, le16(65535), "65535", false},
		{0x07, le32(0xfffffffe), "-2", false},
		{0x08, le32(4000000000), "4000000000", false},
		{0x09, le64(1 << 63), "-9223372036854775808", false},
		{0x0a, le64(1<<64 - 1), "18446744073709551615", false},
		{0x0b, le32(0x3fc00000), "1.5", false},
		{0x0c, le64(0x3ff8000000000000), "1.5", false},
		{0x0d, le32(1), "true", false},
		{0x0d, le32(0), "false", false},
		{0x0e, []byte{0xde, 0xad, 0x01}, "DEAD01", false},
		{0x0f, []byte{0x96, 0x3d, 0x7f, 0x74, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4}, "{747F3D96-1234-5678-9ABC-DEF001020304}", false},
		{0x10, le32(0x1000), "0x00001000", false},
		{0x10, le64(0x1000), "0x0000000000001000", false},
		{0x11, le64(0), "1601-01-01T00:00:00.000000000Z", false},
		{0x12, []byte{0xe3, 7, 7, 0, 5, 0, 19, 0, 14, 0, 45, 0, 55, 0, 0xbb, 2}, "2019-07-19T14:45:55.699Z", false},
		{0x13, []byte{1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0}, "S-1-5-32-544", false},
		{0x14, le32(0x1000), "0x00001000", false},
		{0x15, le64(0x3e7), "0x00000000000003e7", false},
		{0x81, append(append(utf16le("a"), 0, 0), utf16le("bc")...), "a, bc", false},
		{0x82, []byte("x\x00y\x00"), "x, y", false},
		{0x88, append(le32(1), le32(2)...), "1, 2", false},
		{0x8f, make([]byte, 16), "{00000000-0000-0000-0000-000000000000}", false},
		{0x07, []byte{1, 2, 3}, "", true},
		{0x13, []byte{1, 5, 0, 0, 0, 0, 0, 5}, "", true},
		{0x88, []byte{1, 2, 3}, "", true},
		{0x20, []byte{1}, "", true},
		{0x90, le32(1), "", true},
	}
	for _, tt := range tests {
		got, err := appendValue(nil, tt.typ, tt.data)
		if (err != nil) != tt.err || !tt.err && string(got) != tt.want {
			t.Errorf("type 0x%02x % x: %q, %v; want %q (error %v)", tt.typ, tt.data, got, err, tt.want, tt.err)
		}
	}
}

// craftedChunks returns the synthetic chunk and, when the shared data is there, the first chunk of a real file.
func craftedSources(t *testing.T) map[string][]byte {
	m := map[string][]byte{"synthetic": fileImage(syntheticChunk())}
	if root := shared.Root(); root != "" {
		b, err := os.ReadFile(root + "/data/sysmon/omerbenamram-evtx/sysmon.evtx")
		if err != nil {
			t.Fatal(err)
		}
		m["sysmon.evtx"] = b
	}
	return m
}

// TestCraftedTemplateCount: a template argument count of 0xFFFFFFFF with both checksums fixed is one bad record,
// found before anything is allocated for it, and the other records of the chunk still come out.
func TestCraftedTemplateCount(t *testing.T) {
	for name, b := range craftedSources(t) {
		t.Run(name, func(t *testing.T) {
			good, errs := decodeImage(t, b)
			if len(errs) != 0 {
				t.Fatal(errs)
			}
			bad, err := evtxcraft.TemplateCount(b, 0, 0xFFFFFFFF)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			got, errs := decodeImage(t, bad)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), "template argument count 4294967295 exceeds") {
				t.Fatalf("errors %v", errs)
			}
			var e *Error
			if !errors.As(errs[0], &e) || e.Record != good[0].id {
				t.Errorf("error %v: want record %d", errs[0], good[0].id)
			}
			if len(got) != len(good)-1 {
				t.Errorf("%d records, want %d", len(got), len(good)-1)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("%d bytes allocated", alloc)
			}
			t.Logf("%s: %v, %d KiB allocated for %d records", name, elapsed, (after.TotalAlloc-before.TotalAlloc)>>10, len(got))
		})
	}
}

func TestFileHeader(t *testing.T) {
	img := fileImage(syntheticChunk())
	if _, err := NewReader(bytes.NewReader([]byte("ElfFilx\x00rest"))); !errors.Is(err, ErrNotEVTX) {
		t.Errorf("bad magic: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(nil)); !errors.Is(err, ErrNotEVTX) {
		t.Errorf("empty: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(img[:100])); err == nil || !strings.Contains(err.Error(), "100 of 128") {
		t.Errorf("short header: %v", err)
	}
	v := bytes.Clone(img)
	v[38] = 4
	if _, err := NewReader(bytes.NewReader(v)); err == nil || !strings.Contains(err.Error(), "version 4.1") {
		t.Errorf("version: %v", err)
	}
	r, err := NewReader(bytes.NewReader(img))
	if err != nil || !r.Header().ChecksumOK || r.Header().Chunks != 1 {
		t.Errorf("header %+v, %v", r.Header(), err)
	}
	v = bytes.Clone(img)
	v[42] = 7 // a stale chunk count: the checksum no longer matches, the chunks are still read
	got, errs := decodeImage(t, v)
	if len(got) != 3 || len(errs) != 0 {
		t.Errorf("stale header: %d records, %v", len(got), errs)
	}
	if r, _ := NewReader(bytes.NewReader(v)); r.Header().ChecksumOK {
		t.Error("checksum mismatch not seen")
	}
}

// TestTruncated cuts a two-chunk file everywhere that matters.
func TestTruncated(t *testing.T) {
	img := fileImage(syntheticChunk(), syntheticChunk())
	for _, n := range []int{128, 4095, 4096, 4096 + 1, 4096 + 600, 4096 + ChunkSize - 1, 4096 + ChunkSize, 4096 + ChunkSize + 10} {
		got, errs := decodeImage(t, img[:n])
		wantRecs, wantErrs := 0, 0
		if n >= 4096+ChunkSize {
			wantRecs = 3
		}
		if n%ChunkSize != 4096 && n > 4096 {
			wantErrs = 1
		}
		if len(got) != wantRecs || len(errs) != wantErrs {
			t.Errorf("cut at %d: %d records, errors %v; want %d, %d", n, len(got), errs, wantRecs, wantErrs)
		}
		for _, e := range errs {
			if !errors.Is(e, ErrTruncated) {
				t.Errorf("cut at %d: %v", n, e)
			}
		}
	}
	// A short last piece of zeros is unused space, not a truncation.
	z := append(bytes.Clone(img[:4096+ChunkSize]), make([]byte, 300)...)
	if got, errs := decodeImage(t, z); len(got) != 3 || len(errs) != 0 {
		t.Errorf("zero tail: %d records, %v", len(got), errs)
	}
}

func TestChunkChecks(t *testing.T) {
	c := syntheticChunk()
	free := int(binary.LittleEndian.Uint32(c[48:]))
	tests := []struct {
		name  string
		edit  func(c []byte)
		fix   bool // recompute the checksums after the edit
		want  string
		nrecs int
	}{
		{"header byte", func(c []byte) { c[10] ^= 1 }, false, "header checksum", 0},
		{"record byte", func(c []byte) { c[free-10] ^= 1 }, false, "event records checksum", 0},
		{"no signature", func(c []byte) { c[0] = 'X' }, false, "", 0},
		{"free offset", func(c []byte) { binary.LittleEndian.PutUint32(c[48:], ChunkSize+1) }, true, "free space offset", 0},
		{"record numbers", func(c []byte) { binary.LittleEndian.PutUint64(c[16:], 1) }, true, "record numbers", 0},
		{"record signature", func(c []byte) { c[512] = 0x2b }, true, "no event record signature", 0},
		{"record size", func(c []byte) { binary.LittleEndian.PutUint32(c[516:], 0xFFFFFF00) }, true, "event record size", 0},
		{"record size copy", func(c []byte) {
			n := binary.LittleEndian.Uint32(c[516:])
			c[512+int(n)-4] ^= 1
		}, true, "its copy", 0},
		{"too few records", func(c []byte) { binary.LittleEndian.PutUint64(c[16:], binary.LittleEndian.Uint64(c[16:])+1) }, true, "the chunk header says 4", 3},
	}
	for _, tt := range tests {
		b := bytes.Clone(c)
		tt.edit(b)
		if tt.fix {
			evtxcraft.FixChecksums(b)
		}
		got, errs := decodeImage(t, fileImage(b))
		if tt.want == "" {
			if len(errs) != 0 || len(got) != 0 {
				t.Errorf("%s: %d records, %v", tt.name, len(got), errs)
			}
			continue
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) || len(got) != tt.nrecs {
			t.Errorf("%s: %d records, errors %v; want %q", tt.name, len(got), errs, tt.want)
		}
	}
}

// TestMalformedBinaryXML: each damage inside a record's binary XML is one bad record, with its identifier; the
// other records of the chunk come out.
func TestMalformedBinaryXML(t *testing.T) {
	type build func(w *chunkWriter)
	deep := func(n int) build {
		return func(w *chunkWriter) {
			for i := 0; i < n; i++ {
				w.open("E", false)
				w.closeStart()
			}
			for i := 0; i < n; i++ {
				w.end()
			}
		}
	}
	tests := []struct {
		name string
		body build
		want string
	}{
		{"unknown token", func(w *chunkWriter) { w.u8(0x1f) }, "unknown binary XML token 0x1f"},
		{"name offset", func(w *chunkWriter) { w.u8(0x01); w.u16(0xffff); w.u32(0); w.u32(0xfff0) }, "name"},
		{"name forward", func(w *chunkWriter) { w.u8(0x01); w.u16(0xffff); w.u32(0); w.u32(uint32(w.p + 40)) }, "name"},
		{"substitution outside a template", func(w *chunkWriter) { w.subst(0, 1, false) }, "substitution of value 0"},
		{"substitution index", func(w *chunkWriter) {
			w.template("t1", func() { w.open("A", false); w.closeStart(); w.subst(5, 1, false); w.end() }, []tv{{1, utf16le("x")}})
		}, "substitution of value 5, the template instance has 1"},
		{"value size", func(w *chunkWriter) {
			w.template("t2", func() { w.open("A", false); w.closeStart(); w.end() }, nil)
			binary.LittleEndian.PutUint32(w.c[w.p-4:], 1) // one value
			w.u16(0xfff0)
			w.u8(1)
			w.u8(0)
		}, "template value 0 of 65520 bytes"},
		{"definition offset forward", func(w *chunkWriter) { w.u8(0x0c); w.u8(1); w.u32(0); w.u32(0xff00) }, "template definition offset"},
		{"definition size", func(w *chunkWriter) {
			w.u8(0x0c)
			w.u8(1)
			w.u32(0)
			w.u32(uint32(w.p + 4))
			w.u32(0)
			w.raw(make([]byte, 16))
			w.u32(0x7fffffff)
		}, "template definition of 2147483647 bytes"},
		{"elements too deep", deep(maxElementDepth + 1), "elements nested more than 64 deep"},
		{"end tag outside an element", func(w *chunkWriter) { w.end() }, "end tag outside"},
		{"attribute outside an element", func(w *chunkWriter) { w.attr("x", false) }, "attribute outside"},
		{"value type", func(w *chunkWriter) { w.u8(0x05); w.u8(0x08); w.u16(0) }, "value text of type 0x08"},
		{"value text past the end", func(w *chunkWriter) { w.u8(0x05); w.u8(0x01); w.u16(0xffff) }, "bytes needed"},
		{"self-nesting template", func(w *chunkWriter) {
			var body func()
			body = func() { w.template("self", body, nil) }
			w.template("self", body, nil)
		}, "nested more than 16 deep"},
		{"exponential template", func(w *chunkWriter) {
			// Each level instantiates the one below four times: 4^16 walks without a token budget.
			for i := 0; i < 15; i++ {
				lower := "lvl" + string(rune('a'+i))
				upper := "lvl" + string(rune('a'+i+1))
				if i == 0 {
					w.template(lower, func() { w.open("A", false); w.closeEmpty() }, nil)
				}
				w.template(upper, func() {
					for j := 0; j < 4; j++ {
						w.template(lower, nil, nil)
					}
				}, nil)
			}
		}, "more than 131072 binary XML tokens"},
		{"binary XML value nested", func(w *chunkWriter) {
			inner := []byte{0x0f, 1, 1, 0, 0x0d, 0, 0, 0x21, 0x00} // a substitution of value 0 outside any template
			w.template("bx", func() { w.open("A", false); w.closeStart(); w.subst(0, 0x21, false); w.end() }, []tv{{0x21, inner}})
		}, "substitution of value 0, the template instance has 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newChunkWriter()
			body := sysmonBody(w)
			w.record(1, func() { w.template("sysmon", body, sysmonValues("P", "a", "b", "c", 1)) })
			w.record(2, func() { tt.body(w) })
			w.record(3, func() { w.template("sysmon", body, sysmonValues("P", "a", "b", "c", 3)) })
			start := time.Now()
			got, errs := decodeImage(t, fileImage(w.bytes()))
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("errors %v, want %q", errs, tt.want)
			}
			var e *Error
			if !errors.As(errs[0], &e) || e.Record != 2 {
				t.Errorf("error %v not for record 2", errs[0])
			}
			if len(got) != 2 || got[0].id != 1 || got[1].id != 3 {
				t.Errorf("records %v", got)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestNoAllocation: decoding a chunk again allocates nothing once the decoder's buffers have grown.
func TestNoAllocation(t *testing.T) {
	c := syntheticChunk()
	d := NewDecoder()
	run := func() {
		if _, err := d.Reset(c); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				return
			}
		}
	}
	run()
	// Reset clears the per-chunk caches, so the names and templates are cached anew: map inserts into
	// already-grown maps do not allocate.
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per chunk", n)
	}
}

// TestBinaryXMLValue: an EventData whose Data elements come as binary XML in a substitution value.
func TestBinaryXMLValue(t *testing.T) {
	seeds := seedChunks()
	c := make([]byte, ChunkSize)
	copy(c, seeds[1])
	got, errs := decodeImage(t, fileImage(c))
	if len(errs) != 0 || len(got) != 2 {
		t.Fatalf("%d records, errors %v", len(got), errs)
	}
	if got[1].data["Image"] != "v" || got[1].ndata != 1 {
		t.Errorf("data %v", got[1].data)
	}
}
