package engine

import "io"

// MergeRuns is how the tests read spilled runs back (the command uses NewMerger itself): it merges the runs
// written by WriteRun (of this aggregator or of others of the same detection and options) with the groups still
// in memory, and calls emit with each row in key order: the rows Rows would return had every group stayed in
// memory. Groups of equal key are combined as Merge does. The row passed to
// emit is valid only during the call. The in-memory groups are dropped.
func (a *Aggregator) MergeRuns(runs []io.Reader, emit func(*Row) error) error {
	defer a.dropGroups()
	m, err := a.NewMerger(runs)
	if err != nil {
		return err
	}
	defer m.Close()
	for {
		row, err := m.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := emit(row); err != nil {
			return err
		}
	}
}
