// Package scan is `regasmdetect scan`: the detection engine of the search command run offline over Sysmon logs
// (XmlWinEventLog lines, pretty XML, JSON lines, EVTX, gzip-compressed or not) and CSV exported from Splunk with
// Endpoint.Processes fields. It prints the rows the SPL search would return for the same events, with times as
// `security_content_ctime` renders them, and can send them to Splunk.
package scan

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
)

// Exit statuses.
const (
	ExitClean    = 0 // no input error (and, with --fail-on-detect, no detection)
	ExitDetected = 1 // --fail-on-detect and at least one row
	ExitErrors   = 2 // usage, input or export errors (the rest was still scanned and printed)
)

// Config is what the flags say.
type Config struct {
	Paths      []string
	Detections []string
	// DetectionSpec is --detection as given ("all", or a comma list); ESCU is --escu (a security_content
	// checkout, "" for the embedded detections); Story is --story.
	DetectionSpec string
	ESCU          string
	Story         string
	InputFormat   string
	// MaxDecompressed caps the bytes decompressed from each gzip input (--max-decompressed).
	MaxDecompressed int64
	Format          string
	FillNull        bool
	FillValue       string
	Annotate        bool
	Location        *time.Location
	FailOnHit       bool
	Progress        string // auto, always, never
	Quiet           bool
	Export          ExportConfig
}

// Main runs the scan subcommand and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return MainContext(context.Background(), args, stdin, stdout, stderr)
}

// MainContext is Main under ctx: when ctx ends (the program passes a context that SIGINT and SIGTERM cancel),
// the scan stops between files and the export stops sending; the account of every event is still printed and
// the exit status is ExitErrors.
func MainContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitClean
	}
	if err != nil {
		fmt.Fprintf(stderr, "regasmdetect scan: %v\n", err)
		return ExitErrors
	}
	receivers, err := newReceivers(cfg, stderr) // token, URL and CA checked before the scan
	if err != nil {
		fmt.Fprintf(stderr, "regasmdetect scan: %v\n", err)
		return ExitErrors
	}
	s, err := newScanner(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "regasmdetect scan: %v\n", err)
		return ExitErrors
	}
	s.scanAll(ctx, stdin)
	interrupted := ctx.Err() != nil
	if interrupted {
		fmt.Fprintf(stderr, "regasmdetect scan: interrupted (%v): the scan stopped early, its rows are incomplete\n", context.Cause(ctx))
	}
	results := s.results()
	if err := write(stdout, cfg, results); err != nil {
		fmt.Fprintf(stderr, "regasmdetect scan: write output: %v\n", err)
		return ExitErrors
	}
	exportFailed := false
	if len(receivers) > 0 {
		if err := exportResults(ctx, cfg, receivers, results, stderr); err != nil {
			fmt.Fprintf(stderr, "regasmdetect scan: %v\n", err)
			exportFailed = true
		}
	}
	s.summary()
	switch {
	case s.inputErrors > 0 || exportFailed || interrupted:
		return ExitErrors
	case cfg.FailOnHit && hits(cfg, results) > 0:
		return ExitDetected
	}
	return ExitClean
}

func parseFlags(args []string, stderr io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("regasmdetect scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &Config{}
	detection := fs.String("detection", escu.Default, "detection(s) to run: file stems, comma-separated, or \"all\" (embedded, or of --escu)")
	fs.StringVar(&cfg.ESCU, "escu", "", "run the Endpoint.Processes tstats detections of this security_content checkout (detections/, macros/, lookups/)")
	fs.StringVar(&cfg.Story, "story", "", "with --escu: run the runnable detections of this analytic story")
	fs.StringVar(&cfg.InputFormat, "input-format", "auto", "input format: auto, xml, json, evtx, csv")
	maxGz := fs.String("max-decompressed", "16GiB", "largest size a gzip input may decompress to (bytes, or with KiB, MiB, GiB); a larger one is an error")
	fs.StringVar(&cfg.Format, "format", "table", "output format: table, csv, json, jsonl")
	fill := fs.String("fillnull-value", "", "keep records with an empty by-field, with this value in it (as tstats fillnull_value)")
	fs.BoolVar(&cfg.Annotate, "annotate", false, "add parent_process_name, risk_score, risk_message and mitre_attack_id to each row")
	tz := fs.String("tz", "UTC", "time zone of firstTime/lastTime: UTC, Local, or an IANA name such as Europe/Berlin")
	fs.BoolVar(&cfg.FailOnHit, "fail-on-detect", false, "exit with status 1 when any detection row is found")
	fs.StringVar(&cfg.Progress, "progress", "auto", "progress line on stderr: auto (when stderr is a terminal and the input is large), always, never")
	fs.BoolVar(&cfg.Quiet, "quiet", false, "print no summary on stderr (errors are still reported)")
	cfg.Export.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: regasmdetect scan [flags] PATH...

Runs ESCU detections over Sysmon process-creation events (EventID 1) in files and folders (walked
recursively; links to files are followed, links to folders reported and not followed; FIFOs and devices in a
folder reported and not read): Splunk XmlWinEventLog lines or pretty XML, JSON lines (EVTX-rendered, OTRF/nxlog flat,
winlogbeat), binary .evtx, CSV exported from Splunk with Endpoint.Processes fields; any of them gzip-compressed.
PATH "-" reads standard input. Prints the rows the Splunk search returns for the same events.

Exit status: 0 clean; 1 detections found with --fail-on-detect; 2 input or export errors (the rest is still
scanned and printed).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg.Paths = fs.Args()
	if len(cfg.Paths) == 0 {
		fs.Usage()
		return nil, errors.New("no PATH given")
	}
	cfg.DetectionSpec = strings.TrimSpace(*detection)
	if cfg.DetectionSpec != "all" {
		for _, d := range strings.Split(*detection, ",") {
			if d = strings.TrimSpace(d); d != "" {
				if cfg.ESCU == "" {
					if _, err := escu.Lookup(d); err != nil {
						return nil, fmt.Errorf("--detection: %w", err)
					}
				}
				cfg.Detections = append(cfg.Detections, d)
			}
		}
		if len(cfg.Detections) == 0 {
			return nil, errors.New("--detection names no detection")
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "fillnull-value" {
			cfg.FillNull = true
		}
	})
	cfg.FillValue = *fill
	if cfg.FillNull && cfg.FillValue == "" {
		return nil, errors.New("--fillnull-value needs a non-empty value")
	}
	switch cfg.Format {
	case "table", "csv", "json", "jsonl":
	default:
		return nil, fmt.Errorf("--format %q: want table, csv, json or jsonl", cfg.Format)
	}
	switch cfg.Progress {
	case "auto", "always", "never":
	default:
		return nil, fmt.Errorf("--progress %q: want auto, always or never", cfg.Progress)
	}
	var err error
	if cfg.MaxDecompressed, err = parseSize(*maxGz); err != nil {
		return nil, fmt.Errorf("--max-decompressed: %w", err)
	}
	loc, err := loadLocation(*tz)
	if err != nil {
		return nil, fmt.Errorf("--tz %q: %w", *tz, err)
	}
	cfg.Location = loc
	if err := cfg.Export.check(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseSize reads a byte count: digits, optionally followed by KiB, MiB, GiB or TiB (powers of 1024).
func parseSize(s string) (int64, error) {
	num, shift := s, 0
	for i, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if strings.HasSuffix(s, u) {
			num, shift = strings.TrimSpace(strings.TrimSuffix(s, u)), 10*(i+1)
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q: want a positive byte count such as 1048576, 512MiB or 16GiB", s)
	}
	return n << shift, nil
}

func loadLocation(name string) (*time.Location, error) {
	switch strings.ToLower(name) {
	case "utc", "":
		return time.UTC, nil
	case "local":
		return time.Local, nil
	}
	return time.LoadLocation(name)
}

// CTime renders epoch seconds as `security_content_ctime` does: convert timeformat="%Y-%m-%dT%H:%M:%S", which
// drops the fraction of the second.
func CTime(t float64, loc *time.Location) string {
	sec := int64(t)
	if float64(sec) > t { // floor for times before 1970
		sec--
	}
	return time.Unix(sec, 0).In(loc).Format("2006-01-02T15:04:05")
}

// result is one detection's rows.
type result struct {
	det  *engine.Detection
	stem string // the detection's file stem, for the detection column
	opts engine.Options
	rows []engine.Row
}

// hits counts the output rows (after each detection's SPL pipeline).
func hits(cfg *Config, rs []result) int {
	return len(render(cfg, rs).rows)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return term(f)
}
