package catalog

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Main runs "regasmdetect escu SUBCOMMAND": "list --escu DIR [--all]" prints every Endpoint.Processes tstats
// detection of the checkout with its status (runs, or unsupported: the reason) and a summary with the count
// per cause. It returns the exit status: 0, or 2 for a usage error, 1 when the checkout cannot be read.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(stderr, "usage: regasmdetect escu list --escu DIR")
		return 2
	}
	fs := flag.NewFlagSet("escu list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("escu", "", "a splunk/security_content checkout (detections/, macros/, lookups/)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: regasmdetect escu list --escu DIR")
		return 2
	}
	cat, err := Load(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "regasmdetect: %v\n", err)
		return 1
	}
	List(stdout, cat)
	return 0
}

// List writes one line per detection ("<stem>\t<status>\truns" or "...\tunsupported: <reason>") and the
// summary.
func List(w io.Writer, cat *Catalog) {
	for i := range cat.Entries {
		e := &cat.Entries[i]
		status := "runs"
		if !e.Runs() {
			status = "unsupported: " + oneLine(e.Err.Error())
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", e.Stem, e.Detection.Status, status)
	}
	s := cat.Summary()
	fmt.Fprintf(w, "\nEndpoint.Processes tstats detections: %d, %d run, %d unsupported\n", s.All, s.AllRuns, s.All-s.AllRuns)
	fmt.Fprintf(w, "production: %d, %d run, %d unsupported\n", s.Production, s.ProductionRuns, s.Production-s.ProductionRuns)
	if len(s.Causes) > 0 {
		fmt.Fprintf(w, "\nunsupported, per cause (production / all):\n")
		type kv struct {
			cause  string
			all, p int
		}
		var rows []kv
		for c, n := range s.Causes {
			rows = append(rows, kv{c, n, s.ProductionCauses[c]})
		}
		slices.SortFunc(rows, func(a, b kv) int {
			if a.all != b.all {
				return b.all - a.all
			}
			return strings.Compare(a.cause, b.cause)
		})
		for _, r := range rows {
			fmt.Fprintf(w, "%5d %5d  %s\n", r.p, r.all, r.cause)
		}
	}
	if n := len(cat.Checkout.Broken); n > 0 {
		fmt.Fprintf(w, "\ndetection files that did not parse: %d\n", n)
		for _, b := range cat.Checkout.Broken {
			fmt.Fprintf(w, "  %s\n", oneLine(b.Error()))
		}
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
