package scan

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"

	"regasmdetect/src/export"
	"regasmdetect/src/export/hec"
)

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
	HECAck        bool

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
	fs.BoolVar(&e.HECAck, "hec-ack", false, "wait for indexer acknowledgement of every batch (the token must have it enabled)")
	e.SCS.register(fs)
}

func (e *ExportConfig) enabled() bool { return e.HECURL != "" || e.SCS.enabled() }

func (e *ExportConfig) check() error {
	if e.HECURL == "" && (e.HECTokenFile != "" || e.HECIndex != "" || e.HECCACert != "" || e.HECInsecure || e.HECAck) {
		return errors.New("--hec-* flags need --hec URL")
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

// exportResults sends the rows to every configured receiver and reports, on stderr, what was delivered,
// what failed and what is uncertain. It returns an error when anything was not delivered for certain.
func exportResults(ctx context.Context, cfg *Config, results []result, stderr io.Writer) error {
	evs := events(cfg, results)
	var errs []error
	if cfg.Export.HECURL != "" {
		tok, err := readToken(cfg.Export.HECTokenFile, cfg.Export.HECTokenEnv, stderr)
		if err != nil {
			return fmt.Errorf("HEC: %w", err)
		}
		x, err := hec.New(hec.Config{
			URL: cfg.Export.HECURL, Token: tok, Index: cfg.Export.HECIndex,
			Sourcetype: cfg.Export.HECSourcetype, CACert: cfg.Export.HECCACert,
			InsecureSkipVerify: cfg.Export.HECInsecure, UseAck: cfg.Export.HECAck,
		})
		if err != nil {
			return fmt.Errorf("HEC: %w", err)
		}
		errs = append(errs, deliver(ctx, "HEC", x, evs, stderr))
	}
	if cfg.Export.SCS.enabled() {
		x, err := cfg.Export.SCS.exporter(stderr)
		if err != nil {
			return fmt.Errorf("SCS: %w", err)
		}
		errs = append(errs, deliver(ctx, "SCS", x, evs, stderr))
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
	for _, i := range res.Uncertain {
		fmt.Fprintf(stderr, "regasmdetect scan: %s: event %d may or may not have been indexed (no answer after sending)\n", name, i+1)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return res.Err(name)
}
