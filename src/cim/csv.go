// CSV rows of Endpoint.Processes records: Bind maps a Splunk CSV header to a compiled detection's slots and a
// Feeder adds the rows to an aggregator. The search command reads its execute bodies this way, and the offline
// scanner reads Splunk CSV exports this way, so both paths apply the same field rules.
//
// Field rule (the contract): a record's field f is the column "Processes.f" when that column exists and is
// non-empty, else the column "f". A non-empty "__mv_<column>" twin carries the values of a multivalue field
// (`$a$;$b$`, "$$" for "$"); an empty twin means the plain column holds one value.
//
// The map phase of the command writes partial aggregates in the same CSV, distinguished by the columns named
// below. Only a binding made by [BindSearch] reads them, and only in rows whose PartialSearch column holds that
// search's id: such a row is a partial when its PartialCount column is non-empty, else the map phase's counters.
// Every other row is a raw record, whatever columns it has: a record cannot pose as a partial.

package cim

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"regasmdetect/src/engine"
	"regasmdetect/src/scpv2"
)

// Columns the map phase writes besides the by-fields and the annotation fields. They carry no leading
// underscore so that no Splunk command treats them as internal fields.
const (
	PartialCount       = "regasmdetect_count"
	PartialFirstTime   = "regasmdetect_first_time"
	PartialLastTime    = "regasmdetect_last_time"
	PartialRecords     = "regasmdetect_records"
	PartialMatched     = "regasmdetect_matched"
	PartialNullDropped = "regasmdetect_null_dropped"
	PartialTruncated   = "regasmdetect_truncated"
	// PartialSearch holds the search id the partial belongs to: the sid of the search head's process, which
	// the map phase is given in its options by the streaming_preop.
	PartialSearch = "regasmdetect_search"
)

// PartialColumns are the columns the map phase writes besides the by-fields and the annotation fields.
var PartialColumns = []string{PartialCount, PartialFirstTime, PartialLastTime, PartialRecords, PartialMatched,
	PartialNullDropped, PartialTruncated, PartialSearch}

const (
	mvPrefix = "__mv_"
	timeName = "_time"
)

// column is a pair of column indexes: the value column and its __mv_ twin (-1 when absent).
type column struct{ value, mv int }

func (c column) present() bool { return c.value >= 0 }

// Binding maps the columns of one CSV header to the slots of a compiled detection.
type Binding struct {
	det      *engine.Detection
	prefixed []column // per slot: Processes.f
	plain    []column // per slot: f
	time     column
	width    int

	// partial columns, read only in rows whose search column holds search
	search                                                   string
	searchCol                                                int
	count, first, last, records, matched, dropped, truncated int
	key                                                      []column // per by-field: plain column
	annotations                                              []column // per annotate field: plain column
}

// RequiredFields lists every column the reduce step reads: both forms of every field the detection uses,
// _time, and the columns of its own map phase. It is what the getinfo reply declares.
func RequiredFields(det *engine.Detection) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, f := range det.Fields() {
		add(DatasetPrefix + f)
		add(f)
	}
	add(timeName)
	for _, f := range det.ByFields() {
		add(f)
	}
	for _, f := range det.AnnotateFields() {
		add(f)
	}
	for _, c := range PartialColumns {
		add(c)
	}
	return out
}

// Bind resolves a CSV header of raw records against a detection: every row is a record, partial columns or
// not. A header that names the same column twice is an error: which of the two holds the field would be a
// guess.
func Bind(det *engine.Detection, header []string) (*Binding, error) {
	return BindSearch(det, header, "")
}

// BindSearch is Bind for the reduce phase of the search search (its sid): rows whose PartialSearch column
// holds search are the partials and counters of its map phase. An empty search reads no partials.
func BindSearch(det *engine.Detection, header []string, search string) (*Binding, error) {
	index := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := index[h]; dup {
			return nil, fmt.Errorf("header names column %q twice (columns %d and %d)", h, index[h]+1, i+1)
		}
		index[h] = i
	}
	col := func(name string) column {
		c := column{value: -1, mv: -1}
		if i, ok := index[name]; ok {
			c.value = i
			if j, ok := index[mvPrefix+name]; ok {
				c.mv = j
			}
		}
		return c
	}
	at := func(name string) int {
		if i, ok := index[name]; ok {
			return i
		}
		return -1
	}
	fields := det.Fields()
	b := &Binding{
		det:      det,
		prefixed: make([]column, len(fields)),
		plain:    make([]column, len(fields)),
		time:     col(timeName),
		width:    len(header),
		count:    at(PartialCount),
		first:    at(PartialFirstTime),
		last:     at(PartialLastTime),
		records:  at(PartialRecords),
		matched:  at(PartialMatched),
		dropped:  at(PartialNullDropped),

		truncated: at(PartialTruncated),
		search:    search,
		searchCol: -1,
	}
	if search != "" {
		b.searchCol = at(PartialSearch)
	}
	for i, f := range fields {
		b.prefixed[i] = col(DatasetPrefix + f)
		b.plain[i] = col(f)
	}
	for _, f := range det.ByFields() {
		b.key = append(b.key, col(f))
	}
	for _, f := range det.AnnotateFields() {
		b.annotations = append(b.annotations, col(f))
	}
	return b, nil
}

// Feeder turns bound rows into engine records and partials. It reuses its buffers: no allocation per row.
type Feeder struct {
	agg     *engine.Aggregator
	rec     *engine.Record
	partial engine.Partial
	values  [][]byte
	det     *engine.Detection
	// InvalidUTF8 counts rows whose used values are not valid UTF-8. Their bytes are kept as they are
	// (grouping is byte for byte); the caller reports the count.
	InvalidUTF8 uint64
}

// NewFeeder returns a feeder adding to agg.
func NewFeeder(det *engine.Detection, agg *engine.Aggregator) *Feeder {
	return &Feeder{agg: agg, rec: det.NewRecord(), det: det}
}

// Feed adds one row. row must have as many fields as the header that b was bound to.
func (f *Feeder) Feed(b *Binding, row [][]byte) error {
	if len(row) != b.width {
		return fmt.Errorf("row has %d fields, header has %d", len(row), b.width)
	}
	if b.searchCol >= 0 && string(row[b.searchCol]) == b.search {
		if b.count >= 0 && len(row[b.count]) > 0 {
			return f.feedPartial(b, row)
		}
		return f.feedStats(b, row)
	}
	rec := f.rec
	rec.Reset()
	for slot := range b.prefixed {
		c := b.column(slot, row)
		if !c.present() {
			continue
		}
		if c.mv >= 0 && len(row[c.mv]) > 0 {
			vals, err := scpv2.DecodeMV(f.values[:0], row[c.mv])
			if err != nil {
				return fmt.Errorf("column %d (multivalue twin): %w", c.mv+1, err)
			}
			f.values = vals
			for _, x := range vals {
				rec.Add(slot, x)
			}
			continue
		}
		if v := row[c.value]; len(v) > 0 {
			rec.Add(slot, v)
		}
	}
	if b.time.present() {
		rec.SetTime(row[b.time.value])
	}
	if f.agg.Add(rec) && !b.validUTF8(row) {
		// Only the values of matching records reach the output, so only they are checked.
		f.InvalidUTF8++
	}
	return nil
}

// column returns the column that holds slot's field in row: Processes.f when present and non-empty, else f.
func (b *Binding) column(slot int, row [][]byte) column {
	c := b.prefixed[slot]
	if !c.present() || (len(row[c.value]) == 0 && (c.mv < 0 || len(row[c.mv]) == 0)) {
		return b.plain[slot]
	}
	return c
}

// validUTF8 reports whether every value the detection reads from row is valid UTF-8.
func (b *Binding) validUTF8(row [][]byte) bool {
	for slot := range b.prefixed {
		c := b.column(slot, row)
		if !c.present() {
			continue
		}
		if !utf8.Valid(row[c.value]) || (c.mv >= 0 && !utf8.Valid(row[c.mv])) {
			return false
		}
	}
	return true
}

func (f *Feeder) feedPartial(b *Binding, row [][]byte) error {
	p := &f.partial
	p.Key = p.Key[:0]
	for i, c := range b.key {
		if !c.present() {
			return fmt.Errorf("partial row lacks by-field column %q", f.det.ByFields()[i])
		}
		p.Key = append(p.Key, row[c.value])
	}
	n, err := strconv.ParseUint(string(row[b.count]), 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("partial row: %s is %q, want a positive integer", PartialCount, row[b.count])
	}
	p.Count = n
	p.HasTime = false
	if b.first >= 0 && b.last >= 0 && len(row[b.first]) > 0 {
		first, err1 := strconv.ParseFloat(string(row[b.first]), 64)
		last, err2 := strconv.ParseFloat(string(row[b.last]), 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("partial row: times %q and %q are not numbers", row[b.first], row[b.last])
		}
		p.First, p.Last, p.HasTime = first, last, true
	}
	p.Annotations = p.Annotations[:0]
	for _, c := range b.annotations {
		var vals [][]byte
		if c.present() {
			if c.mv >= 0 && len(row[c.mv]) > 0 {
				var err error
				if vals, err = scpv2.DecodeMV(nil, row[c.mv]); err != nil {
					return fmt.Errorf("column %d (multivalue twin): %w", c.mv+1, err)
				}
			} else if len(row[c.value]) > 0 {
				vals = [][]byte{row[c.value]}
			}
		}
		p.Annotations = append(p.Annotations, vals)
	}
	return f.agg.AddPartial(p)
}

func (f *Feeder) feedStats(b *Binding, row [][]byte) error {
	var s engine.Stats
	var err error
	get := func(col int, name string) uint64 {
		if col < 0 || len(row[col]) == 0 || err != nil {
			return 0
		}
		n, e := strconv.ParseUint(string(row[col]), 10, 64)
		if e != nil {
			err = fmt.Errorf("partial counters: %s is %q, want an integer", name, row[col])
		}
		return n
	}
	s.Records = get(b.records, PartialRecords)
	s.Matched = get(b.matched, PartialMatched)
	s.NullDropped = get(b.dropped, PartialNullDropped)
	s.Truncated = get(b.truncated, PartialTruncated)
	if err != nil {
		return err
	}
	return f.agg.AddStats(s)
}
