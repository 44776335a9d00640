package scan

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/internal/evtxcraft"
	"regasmdetect/src/internal/shared"
	"regasmdetect/src/sample"
)

// TestCraftedEVTX: an EVTX chunk crafted with a template argument count of 0xFFFFFFFF and valid checksums, plain
// and gzipped, beside a file with detections: the crafted record is one error naming the file, the record and
// the chunk, bounded in memory and time; every other record of it and every row of the other file still come
// out, and the exit status is 2.
func TestCraftedEVTX(t *testing.T) {
	b, err := os.ReadFile(shared.Path(t, "data/sysmon/omerbenamram-evtx/sysmon.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	crafted, err := evtxcraft.TemplateCount(b, 0, 0xFFFFFFFF)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := writeSample(t, dir, "good.xml.log", sample.Sysmon)
	want, summary, code := runScan(t, "--format", "csv", good)
	if code != ExitClean || strings.Count(want, "\n") < 2 {
		t.Fatalf("the sample alone: exit %d, %q", code, want)
	}
	n, _ := strconv.Atoi(creations(t, summary))
	wantCreations := strconv.Itoa(n + 226) // all 227 of sysmon.evtx but the crafted one
	for _, name := range []string{"crafted.evtx", "crafted.evtx.gz"} {
		data := crafted
		if strings.HasSuffix(name, ".gz") {
			data = gzipBytes(t, crafted)
		}
		sub := filepath.Join(dir, strings.ReplaceAll(name, ".", "_"))
		os.Mkdir(sub, 0o755)
		bad := writeSample(t, sub, "a_"+name, data)
		writeSample(t, sub, "b_good.xml.log", sample.Sysmon)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		out, errs, code := runScan(t, "--format", "csv", sub)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if code != ExitErrors {
			t.Errorf("%s: exit %d, want %d", name, code, ExitErrors)
		}
		if out != want {
			t.Errorf("%s: rows %q, want the sample's %q", name, out, want)
		}
		if msg := bad + ": record 1742: chunk 0 at offset 4096, byte 1748: template argument count 4294967295 exceeds"; !strings.Contains(errs, msg) {
			t.Errorf("%s: stderr %q, want %q", name, errs, msg)
		}
		if !strings.Contains(errs, " 1 errors") || creations(t, errs) != wantCreations {
			t.Errorf("%s: summary %q", name, errs)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 || elapsed > 20*time.Second {
			t.Errorf("%s: %d MiB allocated, %v", name, alloc>>20, elapsed)
		}
		t.Logf("%s: exit %d in %v, %d MiB allocated: %s", name, code, elapsed, (after.TotalAlloc-before.TotalAlloc)>>20, strings.TrimSpace(errs))
	}
}
