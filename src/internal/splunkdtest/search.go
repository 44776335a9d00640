package splunkdtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Plan says how the emulator distributes records, as a Splunk deployment would.
type Plan struct {
	// Indexers is the number of simulated indexers. 0 runs no map phase: the raw records go straight to the
	// search head's process, as in a search that Splunk does not distribute.
	Indexers int
	// ChunkRows gives the number of rows of each successive execute chunk (cycled). Empty: 50,000.
	ChunkRows []int
	// Seed, when non-zero, splits the records between indexers at random (else round-robin) and interleaves the
	// indexers' partials at random before the reduce.
	Seed uint64
	// Awkward adds what splunkd also sends: an empty body first, and a header-only body as the final request.
	Awkward bool
	// DispatchDir is the search head's searchinfo.dispatch_dir (default: a folder that does not exist).
	DispatchDir string
	// Uneven gives indexer k a share of the records proportional to 1/(k+1) (at random, with Seed), as data
	// is rarely spread evenly; else the split is even.
	Uneven bool
}

// Result is what a whole search produced.
type Result struct {
	Table   *Table        // the final rows, multivalue fields folded
	Reduce  *Transcript   // the search head's process
	Maps    []*Transcript // one per indexer
	Preop   string        // the streaming_preop the reduce process asked for
	Partial int           // partial rows that travelled from the indexers to the search head
}

// Search runs `| regasmdetect <args>` over the records the way Splunk does: the search head's process is asked
// for getinfo; its streaming_preop runs on every indexer over that indexer's share of the records; the partials
// (projected to the reduce's required_fields) go to the search head's process, whose reply to the final request
// is the result.
func Search(ctx context.Context, binary string, args []string, records *Table, plan Plan) (*Result, error) {
	res := &Result{}
	search := "| " + strings.Join(append([]string{"regasmdetect"}, args...), " ")
	reduce, err := Start(ctx, Process{Binary: binary, Args: args, Search: search, DispatchDir: plan.DispatchDir})
	if err != nil {
		if reduce != nil {
			res.Reduce, _ = reduce.Close()
		}
		return res, err
	}
	gi := reduce.GetInfo()
	if e := gi.Error(); e != "" {
		res.Reduce, _ = reduce.Close()
		return res, fmt.Errorf("getinfo error: %s", e)
	}
	required := stringsOf(gi.Meta["required_fields"])
	preop, _ := gi.Meta["streaming_preop"].(string)
	res.Preop = preop

	input := records
	if plan.Indexers > 0 && preop != "" {
		partials, err := runMaps(ctx, binary, preop, records, plan, res)
		if err != nil {
			res.Reduce, _ = reduce.Close()
			return res, err
		}
		input = partials
		res.Partial = len(partials.Rows)
	}
	if len(required) > 0 {
		input = input.Project(required)
	}
	final, err := feed(reduce, input, plan)
	t, cerr := reduce.Close()
	res.Reduce = t
	if err != nil {
		return res, fmt.Errorf("search head: %w", err)
	}
	if cerr != nil {
		return res, fmt.Errorf("search head: %w", cerr)
	}
	if t.ExitCode != 0 {
		return res, fmt.Errorf("search head: exit status %d", t.ExitCode)
	}
	if e := final.Error(); e != "" {
		return res, fmt.Errorf("search head: %s", e)
	}
	res.Table, err = DecodeCSV(final.Body)
	return res, err
}

// runMaps plays every indexer and gathers their partial rows into one table.
func runMaps(ctx context.Context, binary, preop string, records *Table, plan Plan, res *Result) (*Table, error) {
	tokens, raw, err := Tokenize(preop)
	if err != nil {
		return nil, fmt.Errorf("streaming_preop %q: %w", preop, err)
	}
	if len(tokens) == 0 || tokens[0] != "regasmdetect" {
		return nil, fmt.Errorf("streaming_preop %q does not run regasmdetect", preop)
	}
	var rng *rand.Rand
	if plan.Seed != 0 {
		rng = rand.New(rand.NewPCG(plan.Seed, plan.Seed^0x9e3779b97f4a7c15))
	}
	shares := make([]*Table, plan.Indexers)
	for i := range shares {
		shares[i] = &Table{Fields: records.Fields}
	}
	var cum []float64 // cumulative weights for Uneven
	if plan.Uneven {
		total := 0.0
		for k := 0; k < plan.Indexers; k++ {
			total += 1 / float64(k+1)
			cum = append(cum, total)
		}
		if rng == nil {
			rng = rand.New(rand.NewPCG(1, 2))
		}
	}
	for i, r := range records.Rows {
		k := i % plan.Indexers
		switch {
		case plan.Uneven:
			x := rng.Float64() * cum[len(cum)-1]
			for k = 0; k < len(cum)-1 && x > cum[k]; k++ {
			}
		case rng != nil:
			k = rng.IntN(plan.Indexers)
		}
		shares[k].Rows = append(shares[k].Rows, r)
	}
	var partials []*Table
	for i, share := range shares {
		s, err := Start(ctx, Process{Binary: binary, Args: tokens[1:], RawArgs: raw[1:], Search: "litsearch " + preop,
			SID: "remote_sh1_" + DefaultSID})
		if err != nil {
			if s != nil {
				t, _ := s.Close()
				res.Maps = append(res.Maps, t)
			}
			return nil, fmt.Errorf("indexer %d: %w", i+1, err)
		}
		if e := s.GetInfo().Error(); e != "" {
			t, _ := s.Close()
			res.Maps = append(res.Maps, t)
			return nil, fmt.Errorf("indexer %d: getinfo error: %s", i+1, e)
		}
		_, err = feed(s, share, plan)
		t, cerr := s.Close()
		res.Maps = append(res.Maps, t)
		if err == nil {
			err = cerr
		}
		if err == nil && t.ExitCode != 0 {
			err = fmt.Errorf("exit status %d", t.ExitCode)
		}
		if err != nil {
			return nil, fmt.Errorf("indexer %d: %w", i+1, err)
		}
		for _, rep := range t.Replies {
			part, err := DecodeCSV(rep.Body)
			if err != nil {
				return nil, fmt.Errorf("indexer %d: partial body: %w", i+1, err)
			}
			if len(part.Rows) > 0 {
				partials = append(partials, part)
			}
		}
	}
	merged := union(partials)
	if rng != nil {
		rng.Shuffle(len(merged.Rows), func(i, j int) { merged.Rows[i], merged.Rows[j] = merged.Rows[j], merged.Rows[i] })
	}
	return merged, nil
}

// feed sends a table in execute chunks and returns the reply to the final request.
func feed(s *Session, t *Table, plan Plan) (Reply, error) {
	sizes := plan.ChunkRows
	if len(sizes) == 0 {
		sizes = []int{50000}
	}
	if plan.Awkward {
		if rep, err := s.Execute(nil, false); err != nil || rep.Error() != "" {
			return rep, replyErr(rep, err)
		}
	}
	next, k := 0, 0
	for {
		n := sizes[k%len(sizes)]
		k++
		end := min(next+n, len(t.Rows))
		last := end == len(t.Rows) && !plan.Awkward
		rep, err := s.Execute(t.EncodeCSV(t.Rows[next:end]), last)
		if err != nil || rep.Error() != "" {
			return rep, replyErr(rep, err)
		}
		next = end
		if last {
			return rep, nil
		}
		if next == len(t.Rows) {
			break
		}
	}
	// Header-only final request.
	rep, err := s.Execute(t.EncodeCSV(nil), true)
	return rep, replyErr(rep, err)
}

func replyErr(rep Reply, err error) error {
	if err != nil {
		return err
	}
	if e := rep.Error(); e != "" {
		return fmt.Errorf("command error: %s", e)
	}
	return nil
}

// union stacks tables whose fields may differ, as Splunk merges results with different columns.
func union(ts []*Table) *Table {
	out := &Table{}
	pos := map[string]int{}
	for _, t := range ts {
		for _, f := range t.Fields {
			if _, ok := pos[f]; !ok {
				pos[f] = len(out.Fields)
				out.Fields = append(out.Fields, f)
			}
		}
	}
	for _, t := range ts {
		for _, r := range t.Rows {
			rec := make([][]string, len(out.Fields))
			for j, f := range t.Fields {
				rec[pos[f]] = r[j]
			}
			out.Rows = append(out.Rows, rec)
		}
	}
	return out
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Tokenize splits SPL arguments the way splunkd fills searchinfo.args and raw_args: on spaces outside double
// quotes; in args the quotes are removed and \" and \\ unescaped, raw_args keep the token as written.
func Tokenize(spl string) (args, raw []string, err error) {
	var cur, rawCur strings.Builder
	in, any := false, false
	flush := func() {
		if any {
			args = append(args, cur.String())
			raw = append(raw, rawCur.String())
		}
		cur.Reset()
		rawCur.Reset()
		any = false
	}
	for i := 0; i < len(spl); i++ {
		c := spl[i]
		switch {
		case in && c == '\\' && i+1 < len(spl) && (spl[i+1] == '"' || spl[i+1] == '\\'):
			cur.WriteByte(spl[i+1])
			rawCur.WriteString(spl[i : i+2])
			i++
		case c == '"':
			in = !in
			rawCur.WriteByte(c)
			any = true
		case !in && (c == ' ' || c == '\t' || c == '\n'):
			flush()
		default:
			cur.WriteByte(c)
			rawCur.WriteByte(c)
			any = true
		}
	}
	if in {
		return nil, nil, fmt.Errorf("unterminated quote")
	}
	flush()
	return args, raw, nil
}
