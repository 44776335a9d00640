package e2e

import (
	"context"
	"strings"
	"testing"

	"regasmdetect/src/splunkd"
)

// TestRejectedBodyIsDrained sends, in lock-step over real pipes, bodies whose header is rejected (a column
// named twice): the command must read the whole request before it answers, so that splunkd's write of the body
// never meets a closed pipe, for a body read in line and for one read by the parallel reader.
func TestRejectedBodyIsDrained(t *testing.T) {
	for _, size := range []int{512 << 10, 8 << 20} {
		var b strings.Builder
		b.WriteString("_time,Processes.dest,Processes.dest\n")
		for b.Len() < size {
			b.WriteString("1700000000,WKS-0001.corp.example,WKS-0001.corp.example\n")
		}
		s, err := splunkd.Start(context.Background(), splunkd.Process{Binary: bin})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.Execute([]byte(b.String()), true)
		tr, cerr := s.Close()
		if err != nil {
			t.Fatalf("%d-byte body: %v (splunkd could not write the request, or read no reply)", b.Len(), err)
		}
		if cerr != nil {
			t.Fatal(cerr)
		}
		clean(t, tr)
		if !strings.Contains(rep.Error(), `column "Processes.dest" twice`) || !rep.Finished() || tr.ExitCode != 1 {
			t.Errorf("%d-byte body: reply %s, exit %d", b.Len(), rep.Raw, tr.ExitCode)
		}
	}
}
