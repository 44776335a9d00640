// Command demo is the README's first command: it builds regasmdetect, runs it the way splunkd does on the
// bundled Sysmon sample (mapped to Endpoint.Processes records), once on a search head alone and once across
// three simulated indexers with the command's own map phase, and then runs the offline scanner on the same
// file. All three print the same rows.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"regasmdetect/src/sample"
	"regasmdetect/src/scan"
	"regasmdetect/src/splunkd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "regasmdetect-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "regasmdetect")
	fmt.Println("== go build -o regasmdetect ./src/cmd/regasmdetect")
	build := exec.Command("go", "build", "-o", bin, "./src/cmd/regasmdetect")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	logPath := filepath.Join(dir, sample.Name)
	if err := os.WriteFile(logPath, sample.Sysmon, 0o644); err != nil {
		return err
	}
	records, err := readSample()
	if err != nil {
		return err
	}
	ctx := context.Background()
	spl := "| regasmdetect `security_content_summariesonly` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)`"
	// `security_content_summariesonly` as the app (and current ESCU) defines it.
	args := []string{"summariesonly=false", "allow_old_summaries=true", "fillnull_value=null"}
	fmt.Printf("\n== %d Sysmon process creations from the bundled sample, sent as Endpoint.Processes records\n", len(records.Rows))

	for _, plan := range []struct {
		title string
		plan  splunkd.Plan
	}{
		{"search head only (no map phase), chunks of 4 rows", splunkd.Plan{ChunkRows: []int{4}}},
		{"3 indexers running the streaming_preop, chunks of 1 and 3 rows, empty and header-only requests", splunkd.Plan{Indexers: 3, ChunkRows: []int{1, 3}, Awkward: true, Seed: 7}},
		{"detection=detect_regsvcs_spawning_a_process, 2 indexers", splunkd.Plan{Indexers: 2, Seed: 3}},
	} {
		args := args
		if strings.Contains(plan.title, "detection=") {
			args = append([]string{"detection=detect_regsvcs_spawning_a_process"}, args...)
		}
		res, err := splunkd.Search(ctx, bin, args, records, plan.plan)
		if err != nil {
			return fmt.Errorf("%s: %w", plan.title, err)
		}
		fmt.Printf("\n== splunkd emulator: %s\n   %s\n", plan.title, strings.Replace(spl, "regasmdetect", strings.Join(append([]string{"regasmdetect"}, args[:len(args)-3]...), " "), 1))
		if res.Preop != "" && plan.plan.Indexers > 0 {
			fmt.Printf("   streaming_preop: %s (%d partial rows reached the search head)\n", res.Preop, res.Partial)
		}
		printTable(res.Table)
	}

	fmt.Printf("\n== regasmdetect scan --detection all --fillnull-value null %s\n", sample.Name)
	scanCmd := exec.Command(bin, "scan", "--detection", "all", "--fillnull-value", "null", logPath)
	scanCmd.Stdout, scanCmd.Stderr = os.Stdout, os.Stdout
	if err := scanCmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return err
		}
		return fmt.Errorf("scan exited with status %d", ee.ExitCode())
	}
	return nil
}

// readSample maps the bundled Sysmon log to the records splunkd would send.
func readSample() (*splunkd.Table, error) {
	ps, err := sample.Processes()
	if err != nil {
		return nil, err
	}
	return splunkd.FromProcesses(ps), nil
}

// printTable shows the command's rows with firstTime and lastTime rendered as the ctime macro does.
func printTable(t *splunkd.Table) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Fields, "\t"))
	for _, r := range t.Strings() {
		for j, f := range t.Fields {
			if (f == "firstTime" || f == "lastTime") && r[j] != "" {
				var sec float64
				if _, err := fmt.Sscan(r[j], &sec); err == nil {
					r[j] = scan.CTime(sec, time.UTC)
				}
			}
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
