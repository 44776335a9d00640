package sysmon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"regasmdetect/src/cim"
	"regasmdetect/src/internal/shared"
)

// items drains r into a comparable transcript: each record's fields, position and time, each error's text,
// then the stats.
func items(t testing.TB, r Reader) string {
	var sb strings.Builder
	var p cim.Process
	for i := 0; ; i++ {
		if i > 10_000_000 {
			t.Fatal("reader does not end")
		}
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(&sb, "error %v\n", err)
			var re *RecordError
			if !errors.As(err, &re) {
				break
			}
			continue
		}
		fmt.Fprintf(&sb, "record %s:%d %v/%v", p.Source, p.Record, p.Time, p.HasTime)
		for _, v := range p.Values {
			fmt.Fprintf(&sb, " %q", v)
		}
		sb.WriteByte('\n')
	}
	fmt.Fprintf(&sb, "stats %+v\n", r.Stats())
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
	return sb.String()
}

func sequential(data []byte, format Format) Reader {
	if format == XML {
		return NewXMLReader(bytes.NewReader(data), "in")
	}
	return NewJSONReader(bytes.NewReader(data), "in")
}

// checkParallel compares the parallel reader with the sequential one on data, at several block sizes and
// worker counts.
func checkParallel(t *testing.T, name string, data []byte, format Format, blocks []int) {
	t.Helper()
	want := items(t, sequential(data, format))
	for _, block := range blocks {
		// No worker: Next parses every block itself.
		for _, workers := range []int{0, 1, 3} {
			got := items(t, newParallelReader(bytes.NewReader(data), format, "in", workers, block))
			if got != want {
				t.Errorf("%s, block %d, %d workers: differs from the sequential reader\n%s", name, block, workers, firstDiff(want, got))
			}
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  sequential: %.300s\n  parallel:   %.300s", i+1, x, y)
		}
	}
	return ""
}

// TestParallelMatchesSequential: on every text fixture, every shared text log and hand-made edge cases, the
// parallel reader gives the sequential reader's records, errors and counts, item for item.
func TestParallelMatchesSequential(t *testing.T) {
	for _, f := range syntheticFiles {
		if strings.HasSuffix(f.name, ".gz") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		checkParallel(t, f.name, data, f.format, []int{1, 100, 700, 4096})
	}
	long := strings.Repeat("x", MaxLine+10)
	ev := `<Event xmlns='x'><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><Computer>h</Computer></System><EventData><Data Name='Image'>C:\a\b.exe</Data></EventData></Event>`
	js := `{"System":{"Provider":"Microsoft-Windows-Sysmon","EventID":"1","Computer":"h"},"EventData":{"Image":"C:\\a\\b.exe"}}`
	for name, c := range map[string]struct {
		format Format
		data   string
	}{
		"xml stray and truncated":  {XML, "\xef\xbb\xbf" + ev + "\nnot xml\nmore\n<Event><System>\n" + ev + "\n<Event><System><EventID>1\n\n" + ev + ev + "\n</Events>\n" + ev},
		"xml truncated at the end": {XML, ev + "\n" + ev + "\n<Event><System>"},
		"xml long line":            {XML, ev + "\n" + long + "\n" + ev + "\n"},
		"xml crlf":                 {XML, ev + "\r\n" + ev + "\r\n"},
		"xml bom after line 1":     {XML, ev + "\n\xef\xbb\xbf" + ev + "\n" + ev + "\n"},
		"json bom after line 1":    {JSON, js + "\n\xef\xbb\xbf" + js + "\n" + js + "\n"},
		"json bad and blank":       {JSON, "\xef\xbb\xbf" + js + "\n\n  \n{oops\n[1]\n" + js + "\r\n" + js},
		"json long line":           {JSON, js + "\n" + long + "\n" + js + "\n"},
		"json long last line":      {JSON, js + "\n" + long},
		"empty":                    {JSON, ""},
	} {
		checkParallel(t, name, []byte(c.data), c.format, []int{1, 50, 300, 1 << 20})
	}
	for _, rel := range []struct {
		rel    string
		format Format
	}{
		{"data/sysmon/evtx-attack-samples/ALL_sysmon_events.xml.log", XML},
		{"data/sysmon/evtx-attack-samples/ALL_sysmon_events.jsonl", JSON},
		{"data/sysmon/otrf/otrf_all_sysmon_eid1.jsonl", JSON},
		{"data/sysmon/omerbenamram-evtx/sysmon.xml.log", XML},
	} {
		data, err := os.ReadFile(shared.Path(t, rel.rel))
		if err != nil {
			t.Fatal(err)
		}
		checkParallel(t, filepath.Base(rel.rel), data, rel.format, []int{64 << 10, 1 << 20})
	}
}

// TestParallelReadError: a read error after some blocks is reported as the sequential reader reports it.
func TestParallelReadError(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "synthetic_regasm_children.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	mk := func() io.Reader { return io.MultiReader(bytes.NewReader(data), errReader{boom}) }
	want := items(t, NewJSONReader(mk(), "in"))
	got := items(t, newParallelReader(mk(), JSON, "in", 2, 100))
	if got != want || !strings.Contains(got, "disk on fire") {
		t.Errorf("read error:\n%s", firstDiff(want, got))
	}
}

func FuzzParallel(f *testing.F) {
	for _, n := range []string{"synthetic_regasm_children.xml.log", "synthetic_regasm_children.jsonl", "synthetic_regasm_children.pretty.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(300), true, uint8(2))
		f.Add(b, uint16(1), false, uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, block uint16, xml bool, workers uint8) {
		format := JSON
		if xml {
			format = XML
		}
		want := items(t, sequential(data, format))
		got := items(t, newParallelReader(bytes.NewReader(data), format, "in", int(workers%3), int(block)+1))
		if got != want {
			t.Fatalf("block %d, %d workers: differs\n%s", int(block)+1, workers%3, firstDiff(want, got))
		}
	})
}

// TestParallelTailAfterReuse: a batch whose block Next parsed before a worker took it comes back for later
// blocks, and may come back as the tail (the rest read sequentially after a line longer than MaxLine) while a
// worker still holds it from its first turn: that worker must not parse the tail. Repeated, since it is a
// matter of timing; one core (GOMAXPROCS=1) lets Next run ahead of the worker, so that batches come back to it.
func TestParallelTailAfterReuse(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	js := `{"System":{"Provider":"Microsoft-Windows-Sysmon","EventID":"1","Computer":"h"},"EventData":{"Image":"C:\\a\\b.exe"}}` + "\n"
	data := []byte(strings.Repeat(js, 200) + strings.Repeat("x", MaxLine+10) + "\n" + js)
	want := items(t, sequential(data, JSON))
	for i := 0; i < 40; i++ {
		if got := items(t, newParallelReader(bytes.NewReader(data), JSON, "in", 2, 64)); got != want {
			t.Fatalf("run %d differs\n%s", i, firstDiff(want, got))
		}
	}
}
