package engine

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"regasmdetect/src/escu"
	"regasmdetect/src/tstats"
)

// naive is a deliberately simple reference aggregator: strings, maps, regular expressions.
type naive struct {
	search   *tstats.Search
	by       []string
	ann      []string
	opts     Options
	groups   map[string]*naiveGroup
	stats    Stats
	patterns map[string]*regexp.Regexp
}

type naiveGroup struct {
	key         []string
	count       uint64
	first, last float64
	hasTime     bool
	ann         []map[string]bool
}

func newNaive(s *tstats.Search, ann []string, o Options) *naive {
	return &naive{search: s, by: s.ByFields(), ann: ann, opts: o, groups: map[string]*naiveGroup{}, patterns: map[string]*regexp.Regexp{}}
}

func (n *naive) match(pat, v string) bool {
	re, ok := n.patterns[pat]
	if !ok {
		parts := strings.Split(pat, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re = regexp.MustCompile("(?is)^" + strings.Join(parts, ".*") + "$")
		n.patterns[pat] = re
	}
	return re.MatchString(v)
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (n *naive) eval(e tstats.Expr, rec map[string][]string) bool {
	switch e := e.(type) {
	case nil:
		return true
	case *tstats.Compare:
		vals := nonEmpty(rec[tstats.StripPrefix(e.Field)])
		if e.Op == tstats.OpNe {
			for _, v := range vals {
				if !n.match(e.Values[0].Text, v) {
					return true
				}
			}
			return false
		}
		for _, v := range vals {
			for _, p := range e.Values {
				if n.match(p.Text, v) {
					return true
				}
			}
		}
		return false
	case *tstats.Not:
		return !n.eval(e.X, rec)
	case *tstats.And:
		for _, t := range e.Terms {
			if !n.eval(t, rec) {
				return false
			}
		}
		return true
	case *tstats.Or:
		for _, t := range e.Terms {
			if n.eval(t, rec) {
				return true
			}
		}
		return false
	}
	panic("unknown expression")
}

func (n *naive) add(rec map[string][]string, timeText string) {
	n.stats.Records++
	if !n.eval(n.search.Where, rec) {
		return
	}
	n.stats.Matched++
	combos := [][]string{nil}
	for _, f := range n.by {
		vals := nonEmpty(rec[f])
		if len(vals) == 0 {
			if !n.opts.FillNull {
				n.stats.NullDropped++
				return
			}
			vals = []string{n.opts.FillNullValue}
		}
		var next [][]string
		for _, c := range combos {
			for _, v := range vals {
				next = append(next, append(slices.Clone(c), v))
			}
		}
		combos = next
	}
	seen := map[string]bool{}
	t, err := strconv.ParseFloat(timeText, 64)
	hasTime := err == nil && regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`).MatchString(timeText)
	for _, key := range combos {
		k := strings.Join(key, "\x00")
		g := n.groups[k]
		if g == nil {
			g = &naiveGroup{key: key, ann: make([]map[string]bool, len(n.ann))}
			for i := range g.ann {
				g.ann[i] = map[string]bool{}
			}
			n.groups[k] = g
		}
		if !seen[k] {
			seen[k] = true
			g.count++
			if hasTime {
				if !g.hasTime || t < g.first {
					g.first = t
				}
				if !g.hasTime || t > g.last {
					g.last = t
				}
				g.hasTime = true
			}
		}
		if n.opts.Annotate {
			for i, f := range n.ann {
				var positive []string
				tstats.Walk(n.search.Where, func(c *tstats.Compare, negated bool) {
					if !negated && c.Op != tstats.OpNe && tstats.StripPrefix(c.Field) == f {
						for _, v := range c.Values {
							positive = append(positive, v.Text)
						}
					}
				})
				for _, v := range nonEmpty(rec[f]) {
					ok := len(positive) == 0
					for _, p := range positive {
						ok = ok || n.match(p, v)
					}
					if ok {
						g.ann[i][v] = true
					}
				}
			}
		}
	}
}

func (n *naive) rows() []Row {
	var rows []Row
	for _, g := range n.groups {
		r := Row{Key: g.key, Count: g.count, HasTime: g.hasTime}
		if g.hasTime {
			r.First, r.Last = g.first, g.last
		}
		if n.opts.Annotate {
			r.Annotations = make([][]string, len(n.ann))
			for i, set := range g.ann {
				for v := range set {
					r.Annotations[i] = append(r.Annotations[i], v)
				}
				sort.Strings(r.Annotations[i])
			}
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		for k := range rows[i].Key {
			if rows[i].Key[k] != rows[j].Key[k] {
				return rows[i].Key[k] < rows[j].Key[k]
			}
		}
		return false
	})
	return rows
}

type randRecord struct {
	fields map[string][]string
	time   string
}

var pools = map[string][]string{
	"parent_process_name": {"regasm.exe", "RegAsm.exe", "REGASM.EXE", "regasm.exe.bak", "xregasm.exe", "RegAsm.ex", "regasm", "cmd.exe", "RegSvcs.exe", "regsvcs.exe"},
	"process_name":        {"conhost.exe", "Conhost.EXE", "cmd.exe", "powershell.exe", "notepad.exe"},
}

// defaultPool has values that are prefixes of others and values with the bytes the key encoding escapes (0x00)
// or uses (0xFF), so that the group order is checked where the encoding could get it wrong.
var defaultPool = []string{"h1", "H1", "h2", "ü", "Ü", "x y", "", "h", "h\x00", "h\x00\x00x", "h\xff", "\xff\x00"}
var timePool = []string{"1599171244", "1599171244.277", "1e9", "-5", "abc", "", "2020-09-03T12:00:00", "1599171245.5", "NaN", "0x10", "+7", ".5"}

func randomRecord(rng *rand.Rand, fields []string, nullRate float64) randRecord {
	r := randRecord{fields: map[string][]string{}, time: timePool[rng.IntN(len(timePool))]}
	for _, f := range fields {
		if rng.Float64() < nullRate {
			continue
		}
		pool := pools[f]
		if pool == nil {
			pool = defaultPool
		}
		n := 1
		if rng.IntN(10) == 0 {
			n = 2 + rng.IntN(2)
		}
		for range n {
			v := pool[rng.IntN(len(pool))]
			if f != "parent_process_name" && f != "process_name" && rng.IntN(4) == 0 {
				v = strings.ToUpper(v)
			}
			r.fields[f] = append(r.fields[f], v)
		}
	}
	return r
}

func feed(c *Detection, r *Record, x randRecord) {
	r.Reset()
	for f, vs := range x.fields {
		for _, v := range vs {
			r.Add(c.Slot(f), []byte(v))
		}
	}
	r.SetTime([]byte(x.time))
}

func rowsToPartials(rows []Row) []Partial {
	out := make([]Partial, len(rows))
	for i, row := range rows {
		p := Partial{Count: row.Count, First: row.First, Last: row.Last, HasTime: row.HasTime}
		for _, k := range row.Key {
			p.Key = append(p.Key, []byte(k))
		}
		for _, vs := range row.Annotations {
			var bs [][]byte
			for _, v := range vs {
				bs = append(bs, []byte(v))
			}
			p.Annotations = append(p.Annotations, bs)
		}
		out[i] = p
	}
	return out
}

// TestAgainstReference splits random records between simulated indexers and chunks, aggregates each chunk
// on its own (map), merges the partials with some raw records (reduce), and compares with the naive
// aggregator over all records.
func TestAgainstReference(t *testing.T) {
	seed, err := escu.Lookup(escu.Default)
	if err != nil {
		t.Fatal(err)
	}
	dets := []*escu.Detection{
		seed,
		loadShared(t, "data/escu/detections/detect_regasm_spawning_a_process.v6.2024-09-30.yml"),
		loadShared(t, "data/escu/detections/detect_regasm_spawning_a_process.v10.2025-02-10.yml"),
	}
	optsList := []Options{{}, {FillNull: true, FillNullValue: "null"}, {Annotate: true}, {Annotate: true, FillNull: true, FillNullValue: ""}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, d := range dets {
		c, err := Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		nullRate := 0.1
		if len(c.ByFields()) > 10 {
			nullRate = 0.02
		}
		for _, o := range optsList {
			for round := range 10 {
				recs := make([]randRecord, 300+rng.IntN(400))
				for i := range recs {
					recs[i] = randomRecord(rng, c.Fields(), nullRate)
				}
				ref := newNaive(c.Search(), c.AnnotateFields(), o)
				for _, x := range recs {
					ref.add(x.fields, x.time)
				}
				reduce := c.NewAggregator(o)
				mapper := c.NewAggregator(o)
				r := c.NewRecord()
				rest := recs
				for len(rest) > 0 {
					n := min(len(rest), 1+rng.IntN(80))
					chunk := rest[:n]
					rest = rest[n:]
					if rng.IntN(5) == 0 { // raw records straight to the reduce phase
						for _, x := range chunk {
							feed(c, r, x)
							reduce.Add(r)
						}
						continue
					}
					mapper.Reset()
					for _, x := range chunk {
						feed(c, r, x)
						mapper.Add(r)
					}
					if rng.IntN(2) == 0 { // in process, as the parallel reader's workers
						if err := reduce.Merge(mapper); err != nil {
							t.Fatal(err)
						}
						continue
					}
					for _, p := range rowsToPartials(mapper.Rows()) { // over the wire, as a map phase
						if err := reduce.AddPartial(&p); err != nil {
							t.Fatal(err)
						}
					}
					if err := reduce.AddStats(mapper.Stats()); err != nil {
						t.Fatal(err)
					}
				}
				got, want := reduce.Rows(), ref.rows()
				if len(got) == 0 && len(want) == 0 {
					got, want = nil, nil
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %+v round %d: %d rows, want %d\nfirst got  %+v\nfirst want %+v",
						d.Source, o, round, len(got), len(want), first(got), first(want))
				}
				if reduce.Stats() != ref.stats {
					t.Fatalf("%s %+v round %d: stats %+v, want %+v", d.Source, o, round, reduce.Stats(), ref.stats)
				}
				if len(want) == 0 {
					t.Fatalf("%s %+v round %d: no rows; the random records never match", d.Source, o, round)
				}
			}
		}
	}
}

func first(rows []Row) any {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}
