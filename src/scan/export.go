package scan

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"regasmdetect/src/export"
	"regasmdetect/src/export/hec"
)

// DefaultExportTimeout bounds the whole export phase (every receiver, every batch, its retries and Retry-After
// waits, the wait for indexer acknowledgements) unless --export-timeout says otherwise.
const DefaultExportTimeout = 5 * time.Minute

// ExportConfig says where findings go besides standard output. Tokens come from an environment variable or a
// file, never from a flag value (flags land in shell history and process listings).
type ExportConfig struct {
	HECURL        string
	HECTokenEnv   string
	HECTokenFile  string
	HECIndex      string
	HECSourcetype string
	HECCACert     string
	HECInsecure   bool
	HECPlainHTTP  bool
	HECAck        bool
	// Timeout bounds the whole export phase.
	Timeout time.Duration

	SCS scsConfig
}

func (e *ExportConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&e.HECURL, "hec", "", "send the rows to Splunk HTTP Event Collector at this URL (https://host:8088, or https://http-inputs-<stack>.splunkcloud.com)")
	fs.StringVar(&e.HECTokenEnv, "hec-token-env", "REGASMDETECT_HEC_TOKEN", "environment variable that holds the HEC token")
	fs.StringVar(&e.HECTokenFile, "hec-token-file", "", "file that holds the HEC token (instead of the environment variable)")
	fs.StringVar(&e.HECIndex, "hec-index", "", "index for the HEC events (default: the token's default index)")
	fs.StringVar(&e.HECSourcetype, "hec-sourcetype", export.DefaultSourcetype, "sourcetype of the HEC events")
	fs.StringVar(&e.HECCACert, "hec-ca", "", "PEM file of CA certificates to trust for the HEC endpoint")
	fs.BoolVar(&e.HECInsecure, "hec-insecure", false, "do not verify the HEC endpoint's TLS certificate (test instances only)")
	fs.BoolVar(&e.HECPlainHTTP, "hec-insecure-http", false, "allow an http:// HEC URL: the token and the rows travel in clear text (HEC with SSL disabled)")
	fs.DurationVar(&e.Timeout, "export-timeout", DefaultExportTimeout, "deadline for the whole export (all receivers, retries and Retry-After waits, acknowledgements)")
	fs.BoolVar(&e.HECAck, "hec-ack", false, "wait for indexer acknowledgement of every batch (the token must have it enabled)")
	e.SCS.register(fs)
}

func (e *ExportConfig) check() error {
	if e.HECURL == "" && (e.HECTokenFile != "" || e.HECIndex != "" || e.HECCACert != "" || e.HECInsecure || e.HECPlainHTTP || e.HECAck) {
		return errors.New("--hec-* flags need --hec URL")
	}
	if e.Timeout <= 0 {
		return fmt.Errorf("--export-timeout %v: want a positive duration such as 90s or 10m", e.Timeout)
	}
	return e.SCS.check()
}

// readToken reads a token from the file when one is named, else from the environment variable; a warning about
// the file (readable by others) goes to stderr.
func readToken(file, env string, stderr io.Writer) (string, error) {
	if file != "" {
		tok, warning, err := export.TokenFromFile(file)
		if warning != "" {
			fmt.Fprintf(stderr, "regasmdetect scan: %s\n", warning)
		}
		return tok, err
	}
	return export.TokenFromEnv(env)
}

// events turns the rendered rows into export events: every column as a field, plus the detection's name,
// its ESCU search name, risk score and MITRE ids. _time is the group's lastTime; host its dest.
func events(cfg *Config, results []result) []export.Event {
	var out []export.Event
	annotate := *cfg
	annotate.Format = "json"
	annotate.ESCU = "" // the detection field is added below, not as a column
	for _, r := range results {
		t := render(&annotate, []result{r})
		src := r.det.Source()
		destCol := -1
		for j, h := range t.header {
			if h == "dest" {
				destCol = j
			}
		}
		for i, cells := range t.rows {
			ev := export.Event{}
			if last := t.times[i]; !math.IsNaN(last) {
				ev.Time = last
			}
			if destCol >= 0 && len(cells[destCol]) > 0 {
				ev.Host = cells[destCol][0]
			}
			ev.Fields = append(ev.Fields,
				export.Field{Name: "detection", Values: []string{r.stem}},
				export.Field{Name: "search_name", Values: []string{"ESCU - " + src.Name + " - Rule"}},
			)
			for j, h := range t.header {
				ev.Fields = append(ev.Fields, export.Field{Name: h, Values: cells[j]})
			}
			if !cfg.Annotate {
				ev.Fields = append(ev.Fields,
					export.Field{Name: "risk_score", Values: []string{strconv.Itoa(src.RiskScore())}},
					export.Field{Name: "mitre_attack_id", Values: src.MitreIDs()},
				)
			}
			out = append(out, ev)
		}
	}
	return out
}

// receiver is one configured export target.
type receiver struct {
	name string // "HEC", "SCS"
	x    export.Exporter
}

// newReceivers builds the configured exporters before anything is scanned, so that a missing or malformed
// token, URL or CA file stops the run at once instead of after the whole scan. It makes no request. With
// --hec-insecure-http and an http:// URL it warns on stderr that the token travels in clear text.
func newReceivers(cfg *Config, stderr io.Writer) ([]receiver, error) {
	var out []receiver
	if e := &cfg.Export; e.HECURL != "" {
		tok, err := readToken(e.HECTokenFile, e.HECTokenEnv, stderr)
		if err != nil {
			return nil, fmt.Errorf("HEC: %w", err)
		}
		x, err := hec.New(hec.Config{
			URL: e.HECURL, AllowHTTP: e.HECPlainHTTP, Token: tok, Index: e.HECIndex,
			Sourcetype: e.HECSourcetype, CACert: e.HECCACert,
			InsecureSkipVerify: e.HECInsecure, UseAck: e.HECAck,
		})
		if errors.Is(err, hec.ErrPlainHTTP) {
			return nil, fmt.Errorf("HEC: %w (or pass --hec-insecure-http to send in clear text anyway)", err)
		}
		if err != nil {
			return nil, fmt.Errorf("HEC: %w", err)
		}
		if x.PlainHTTP() {
			fmt.Fprintf(stderr, "regasmdetect scan: warning: --hec-insecure-http: the HEC token and the rows go to %s in clear text\n", x.URL())
		}
		out = append(out, receiver{"HEC", x})
	}
	if cfg.Export.SCS.enabled() {
		x, err := cfg.Export.SCS.exporter(stderr)
		if err != nil {
			return nil, fmt.Errorf("SCS: %w", err)
		}
		out = append(out, receiver{"SCS", x})
	}
	return out, nil
}

// exportResults sends the rows to every receiver, one after the other, within cfg.Export.Timeout, and reports
// on stderr what was delivered, what failed and what is uncertain. When ctx ends (SIGINT, SIGTERM) sending
// stops and the account of every event is still printed. It returns an error when anything was not delivered
// for certain.
func exportResults(ctx context.Context, cfg *Config, to []receiver, results []result, stderr io.Writer) error {
	evs := events(cfg, results)
	d := cfg.Export.Timeout
	if d <= 0 {
		d = DefaultExportTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d,
		fmt.Errorf("export deadline of %v passed (--export-timeout): %w", d, context.DeadlineExceeded))
	defer cancel()
	var errs []error
	for _, r := range to {
		errs = append(errs, deliver(ctx, r.name, r.x, evs, stderr))
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "regasmdetect scan: export stopped: %v\n", context.Cause(ctx))
	}
	return errors.Join(errs...)
}

func deliver(ctx context.Context, name string, x export.Exporter, evs []export.Event, stderr io.Writer) error {
	res, err := x.Export(ctx, evs)
	fmt.Fprintf(stderr, "regasmdetect scan: %s: %d of %d events delivered, %d failed, %d uncertain\n",
		name, res.Sent, len(evs), len(res.Failed), len(res.Uncertain))
	for _, f := range res.Failed {
		fmt.Fprintf(stderr, "regasmdetect scan: %s: event %d not delivered: %v\n", name, f.Index+1, f.Err)
	}
	for _, u := range res.Uncertain {
		fmt.Fprintf(stderr, "regasmdetect scan: %s: event %d may or may not have been indexed: %v\n", name, u.Index+1, u.Err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return res.Err(name)
}
