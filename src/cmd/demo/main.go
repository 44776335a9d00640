// Command demo is the README's first command. It builds regasmdetect into build/regasmdetect (where
// `make build` puts it, and where it stays), then runs the bundled Sysmon sample (mapped to Endpoint.Processes
// records) every way the project runs it: through the real binary as splunkd runs it on a search head alone,
// across three simulated indexers with the command's own map phase, and with the offline scanner on the log
// file. It checks that every way produced the same rows and says so (exit status 1 if not), shows the rows
// fitted to the terminal, explains the rows with a null by-field, and shows what Enterprise Security receives
// from the app's correlation search (annotate=true): the notable, the risk message and the risk and threat
// objects.
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"regasmdetect/src/escu"
	"regasmdetect/src/internal/splunkdtest"
	"regasmdetect/src/sample"
	"regasmdetect/src/scan"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// summariesonly is `security_content_summariesonly` as the app (and current ESCU) defines it.
var summariesonly = []string{"summariesonly=false", "allow_old_summaries=true", "fillnull_value=null"}

// way is one way of running a detection and the rows it produced (by-fields, count, times as ctime renders).
type way struct {
	name string
	rows [][]string
}

func run(ctx context.Context, out io.Writer) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run me from the project's root: go run ./src/cmd/demo")
	}
	width := terminalWidth()
	bin := filepath.Join("build", "regasmdetect")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	fmt.Fprintf(out, "== go build -trimpath -o %s ./src/cmd/regasmdetect\n", bin)
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./src/cmd/regasmdetect")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	ps, err := sample.Processes()
	if err != nil {
		return err
	}
	records := splunkdtest.FromProcesses(ps)
	logPath := filepath.Join("src", "sample", sample.Name)
	fmt.Fprintf(out, "\n%d Sysmon process creations from %s, sent to the command as Endpoint.Processes records.\n", len(records.Rows), logPath)

	scanned, err := scanRows(ctx, bin, logPath)
	if err != nil {
		return err
	}
	plans := []struct {
		name string
		plan splunkdtest.Plan
	}{
		{"splunkd, search head only (no map phase), chunks of 4 records", splunkdtest.Plan{ChunkRows: []int{4}}},
		{"splunkd, 3 indexers running the map phase (streaming_preop), chunks of 1 and 3, empty and header-only requests", splunkdtest.Plan{Indexers: 3, ChunkRows: []int{1, 3}, Awkward: true, Seed: 7}},
	}
	var fields []string
	allSame := true
	for _, d := range escu.Embedded() {
		args := append([]string{"detection=" + d.Stem()}, summariesonly...)
		fmt.Fprintf(out, "\n== %s: | regasmdetect detection=%s `security_content_summariesonly` | `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)`\n", d.Name, d.Stem())
		var ways []way
		for _, p := range plans {
			res, err := splunkdtest.Search(ctx, bin, args, records, p.plan)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", d.Stem(), p.name, err)
			}
			fields = res.Table.Fields
			ways = append(ways, way{p.name, ctimeRows(res.Table)})
		}
		ways = append(ways, way{"regasmdetect scan --detection all --fillnull-value null " + logPath, scanned[d.Stem()]})
		printTable(out, fields, ways[0].rows, width)
		if same := compare(out, ways); !same {
			allSame = false
		}
		explainNulls(out, fields, ways[0].rows)
	}

	if err := showES(ctx, out, bin, records, width); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nThe command-line build is at %s (left there; `make build` writes the same file): try\n  %s scan --help\n  %s scan --detection all %s\n", bin, bin, bin, logPath)
	if !allSame {
		return errors.New("the ways of running disagree (above)")
	}
	return nil
}

// scanRows runs the offline scanner on the log file and returns its rows per detection.
func scanRows(ctx context.Context, bin, logPath string) (map[string][][]string, error) {
	cmd := exec.CommandContext(ctx, bin, "scan", "--detection", "all", "--fillnull-value", "null", "--format", "csv", logPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scan: %w\n%s", err, stderr.String())
	}
	recs, err := csv.NewReader(&stdout).ReadAll()
	if err != nil || len(recs) == 0 || recs[0][0] != "detection" {
		return nil, fmt.Errorf("scan printed no CSV with a detection column: %v", err)
	}
	out := map[string][][]string{}
	for _, r := range recs[1:] {
		out[r[0]] = append(out[r[0]], r[1:])
	}
	return out, nil
}

// ctimeRows returns the table's rows with firstTime and lastTime as `security_content_ctime` renders them.
func ctimeRows(t *splunkdtest.Table) [][]string {
	rows := t.Strings()
	for _, r := range rows {
		for j, f := range t.Fields {
			if (f == "firstTime" || f == "lastTime") && r[j] != "" {
				if sec, err := strconv.ParseFloat(r[j], 64); err == nil {
					r[j] = scan.CTime(sec, time.UTC)
				}
			}
		}
	}
	return rows
}

// compare checks that every way produced the same rows (as sets: each way sorts by the by-fields) and says so.
func compare(out io.Writer, ways []way) bool {
	key := func(rows [][]string) []string {
		var ks []string
		for _, r := range rows {
			ks = append(ks, strings.Join(r, "\x1f"))
		}
		sort.Strings(ks)
		return ks
	}
	want := key(ways[0].rows)
	same := true
	for _, w := range ways[1:] {
		if strings.Join(key(w.rows), "\n") != strings.Join(want, "\n") {
			same = false
			fmt.Fprintf(out, "DIFFERENT: %s gave %d rows, %s gave %d:\n", w.name, len(w.rows), ways[0].name, len(ways[0].rows))
			for _, r := range w.rows {
				fmt.Fprintf(out, "  %q\n", r)
			}
		}
	}
	if same {
		fmt.Fprintf(out, "Checked: the same %d row(s), field for field, from each way of running:\n", len(want))
		for _, w := range ways {
			fmt.Fprintf(out, "  - %s\n", w.name)
		}
	}
	return same
}

// explainNulls says why a row carries the value null.
func explainNulls(out io.Writer, fields []string, rows [][]string) {
	for _, r := range rows {
		for j, v := range r {
			if v != "null" {
				continue
			}
			fmt.Fprintf(out, "A null %s (process %s on %s): the Sysmon event has no %s. tstats leaves such a record out, unless\n"+
				"fillnull_value is given; ESCU's `security_content_summariesonly` gives fillnull_value=null, so the record is\n"+
				"counted under the literal value \"null\", by tstats and by the command alike. Were it user or dest, the app's\n"+
				"searches would turn it back into an empty field before ES sees it, so that no risk event lands on \"null\".\n",
				fields[j], value(fields, r, "process_id"), value(fields, r, "dest"), fields[j])
		}
	}
}

func value(fields, row []string, name string) string {
	for j, f := range fields {
		if f == name {
			return row[j]
		}
	}
	return ""
}

// showES runs the app's correlation search for the default detection (annotate=true) across three indexers and
// shows, per result, what Enterprise Security writes: the notable and the risk events, with the message ES fills
// from the result checked against the command's own risk_message.
func showES(ctx context.Context, out io.Writer, bin string, records *splunkdtest.Table, width int) error {
	var d *escu.Detection
	for _, x := range escu.Embedded() {
		if x.Stem() == escu.Default {
			d = x
		}
	}
	args := append([]string{"detection=" + d.Stem(), "annotate=true"}, summariesonly...)
	fmt.Fprintf(out, "\n== What Enterprise Security receives from \"regasmdetect - %s - Rule\" (annotate=true)\n", d.Name)
	res, err := splunkdtest.Search(ctx, bin, args, records, splunkdtest.Plan{Indexers: 3, Seed: 11})
	if err != nil {
		return err
	}
	t := res.Table
	for i, r := range ctimeRows(t) {
		row := map[string]string{}
		for j, f := range t.Fields {
			row[f] = r[j]
		}
		// The shipped search's last stage: a fillnull placeholder in a risk object field becomes null.
		for _, ro := range d.RiskObjects() {
			if row[ro.Field] == "null" {
				delete(row, ro.Field)
			}
		}
		msg := fillTokens(d.RiskMessage(), row)
		check := "the same as the command's risk_message column"
		if msg != row["risk_message"] {
			check = fmt.Sprintf("DIFFERENT from the command's risk_message %q", row["risk_message"])
		}
		fmt.Fprintf(out, "-- result %d: notable \"%s\", severity %s, security domain %s\n", i+1, d.Name, d.Severity(), d.Tags.SecurityDomain)
		vertical(out, width, [][2]string{
			{"risk message", msg + " (" + check + ")"},
			{"risk objects", riskObjects(d, row)},
			{"threat objects", threatObjects(d, row)},
			{"process", row["process"]},
			{"count, first, last", row["count"] + ", " + row["firstTime"] + ", " + row["lastTime"]},
		})
	}
	return nil
}

func fillTokens(msg string, row map[string]string) string {
	for f, v := range row {
		msg = strings.ReplaceAll(msg, "$"+f+"$", strings.ReplaceAll(v, "\n", ", "))
	}
	return msg
}

func riskObjects(d *escu.Detection, row map[string]string) string {
	var parts []string
	for _, ro := range d.RiskObjects() {
		if v, ok := row[ro.Field]; ok && v != "" {
			parts = append(parts, fmt.Sprintf("%s=%s (%s, score %d)", ro.Field, v, ro.Type, ro.Score))
		} else {
			parts = append(parts, fmt.Sprintf("%s is null: no risk event", ro.Field))
		}
	}
	return strings.Join(parts, "; ")
}

func threatObjects(d *escu.Detection, row map[string]string) string {
	var parts []string
	for _, to := range d.ThreatObjects() {
		parts = append(parts, fmt.Sprintf("%s=%s (%s)", to.Field, strings.ReplaceAll(row[to.Field], "\n", ", "), to.Type))
	}
	return strings.Join(parts, "; ")
}

// vertical prints label: value lines, the values wrapped at the terminal width.
func vertical(out io.Writer, width int, kv [][2]string) {
	const indent = 22
	for _, p := range kv {
		lines := wrap(p[1], max(width-indent, 30))
		for i, l := range lines {
			label := ""
			if i == 0 {
				label = p[0]
			}
			fmt.Fprintf(out, "   %-*s%s\n", indent-3, label, l)
		}
	}
}

func wrap(s string, width int) []string {
	var lines []string
	for utf8.RuneCountInString(s) > width {
		cut := width
		rs := []rune(s)
		for i := width; i > width/2; i-- {
			if rs[i] == ' ' {
				cut = i
				break
			}
		}
		lines = append(lines, string(rs[:cut]))
		s = strings.TrimLeft(string(rs[cut:]), " ")
	}
	return append(lines, s)
}

// printTable prints rows fitted to the terminal: the widest columns are cut (with "…") until the row fits.
func printTable(out io.Writer, fields []string, rows [][]string, width int) {
	widths := make([]int, len(fields))
	for j, f := range fields {
		widths[j] = utf8.RuneCountInString(f)
		for _, r := range rows {
			widths[j] = max(widths[j], utf8.RuneCountInString(r[j]))
		}
	}
	total := func() int {
		n := 0
		for _, w := range widths {
			n += w + 2
		}
		return n
	}
	// Cut the widest column first, keeping whole time stamps (19 characters) as long as possible.
	for _, floor := range []int{19, 10} {
		for total() > width {
			widest := 0
			for j := range widths {
				if widths[j] > widths[widest] {
					widest = j
				}
			}
			if widths[widest] <= floor {
				break
			}
			widths[widest]--
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for j, c := range cells {
			c = strings.ReplaceAll(c, "\n", ",")
			if n := utf8.RuneCountInString(c); n > widths[j] {
				c = string([]rune(c)[:widths[j]-1]) + "…"
			}
			b.WriteString(c)
			if j < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(out, b.String())
	}
	line(fields)
	for _, r := range rows {
		line(r)
	}
}

// terminalWidth is the width of the terminal on standard output, else $COLUMNS, else 120.
func terminalWidth() int {
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w >= 40 {
		return w
	}
	if w, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && w >= 40 {
		return w
	}
	return 120
}
