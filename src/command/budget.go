package command

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"

	"regasmdetect/src/engine"
)

// DefaultMaxMemMB is the reduce phase's default memory budget in MB: limits.conf's max_mem_usage_mb default,
// which bounds Splunk's own stats the same way ("Memory and stats search performance", Splunk Search Manual:
// "The stats command processor spills data from RAM to disk when the amount of RAM that the batch is estimated
// to use exceeds max_mem_usage_mb. [...] Its default setting is 200 MB").
const DefaultMaxMemMB = 200

// budgetUnit is the unit of max_mem_usage_mb: 1 MB as Splunk counts it (2^20 bytes). Tests make it smaller.
var budgetUnit int64 = 1 << 20

// maxMaxMemMB bounds the option: 1 TiB.
const maxMaxMemMB = 1 << 20

// spill holds the sorted runs the reduce phase wrote to disk when its groups outgrew the budget. It is shared
// by the session and the parallel reader's workers.
type spill struct {
	dispatchDir string // the search's dispatch folder (spillBase), looked at on the first spill

	keepUp bool      // tell the garbage collector to keep up on the first spill
	gcOnce sync.Once // done that

	mu   sync.Mutex
	dir  string     // made on the first spill
	runs []spillRun // in the order written
	made int        // run files made, for their names
}

// spillRun is a run file and its index.
type spillRun struct {
	path  string
	index *engine.RunIndex
}

// spillBase returns the folder spill files go under: the search's dispatch folder when it exists (splunkd
// removes it with the search's artifacts), else the system's temp folder.
func spillBase(dispatchDir string) string {
	if dispatchDir != "" {
		if st, err := os.Stat(dispatchDir); err == nil && st.IsDir() {
			return dispatchDir
		}
	}
	return os.TempDir()
}

// write writes agg's groups as one sorted run and drops them from memory. Workers write their runs at the same
// time: the lock is held only to name the file.
func (sp *spill) write(agg *engine.Aggregator) error {
	if sp.keepUp {
		sp.gcOnce.Do(func() {
			// The groups fill the budget: from now on the garbage collector lets garbage grow to a quarter of
			// the live heap, not all of it (or up to the memory limit), so that the process stays near the
			// budget. The heap holds few pointers: a collection is cheap.
			debug.SetGCPercent(25)
		})
	}
	path, err := sp.newRun()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("memory budget: %w", err)
	}
	x, err := agg.WriteRun(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("memory budget: spill to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("memory budget: spill to %s: %w", path, err)
	}
	sp.mu.Lock()
	sp.runs = append(sp.runs, spillRun{path, x})
	sp.mu.Unlock()
	return nil
}

// newRun names the file of a new run, making the spill folder on first use.
func (sp *spill) newRun() (string, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.dir == "" {
		dir, err := os.MkdirTemp(spillBase(sp.dispatchDir), "regasmdetect-spill-")
		if err != nil {
			return "", fmt.Errorf("memory budget: cannot make a spill folder: %w", err)
		}
		sp.dir = dir
	}
	sp.made++
	return filepath.Join(sp.dir, "run-"+strconv.Itoa(sp.made)), nil
}

// spilled reports whether any run was written.
func (sp *spill) spilled() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return len(sp.runs) > 0
}

// maxOpenRuns is how many runs are merged at once; beyond it, runs are first compacted in batches so that the
// number of open files stays bounded.
const maxOpenRuns = 64

// compact merges runs in batches of maxOpenRuns until at most maxOpenRuns are left.
func (sp *spill) compact(agg *engine.Aggregator) error {
	for len(sp.runs) > maxOpenRuns {
		batch := sp.runs[:maxOpenRuns]
		files, err := openAll(batch)
		if err != nil {
			return err
		}
		rs := make([]io.Reader, len(files))
		for i, f := range files {
			rs[i] = f
		}
		path := filepath.Join(sp.dir, "run-"+strconv.Itoa(sp.made+1))
		sp.made++
		var x *engine.RunIndex
		out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			x, err = agg.CompactRuns(rs, out)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			return fmt.Errorf("memory budget: %w", err)
		}
		for _, r := range batch {
			os.Remove(r.path)
		}
		sp.runs = append(sp.runs[maxOpenRuns:], spillRun{path, x})
	}
	return nil
}

func openAll(runs []spillRun) ([]*os.File, error) {
	var files []*os.File
	for _, r := range runs {
		f, err := os.Open(r.path)
		if err != nil {
			for _, g := range files {
				g.Close()
			}
			return nil, fmt.Errorf("memory budget: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

// open opens every run for reading, compacting them first when there are many, and returns them with their
// indexes. The caller closes them.
func (sp *spill) open(agg *engine.Aggregator) ([]*os.File, []*engine.RunIndex, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := sp.compact(agg); err != nil {
		return nil, nil, err
	}
	files, err := openAll(sp.runs)
	if err != nil {
		return nil, nil, err
	}
	idx := make([]*engine.RunIndex, len(sp.runs))
	for i, r := range sp.runs {
		idx[i] = r.index
	}
	return files, idx, nil
}

// cleanup removes the spill folder and everything in it.
func (sp *spill) cleanup() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.dir != "" {
		os.RemoveAll(sp.dir)
		sp.dir, sp.runs = "", nil
	}
}

// budget is how the reduce phase's memory limit is shared: the session's aggregator gets half, and the
// parallel reader's workers share the other half.
func (s *session) sessionLimit() int64 { return s.limit / 2 }

func (s *session) workerLimit(workers int) int64 { return s.limit / 2 / int64(workers) }

// checkBudget spills agg when it holds more than limit bytes (reduce phase only).
func (s *session) checkBudget(agg *engine.Aggregator, limit int64) error {
	if s.spill == nil || agg.Mem() <= limit {
		return nil
	}
	return s.spill.write(agg)
}
