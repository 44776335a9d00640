package command

import (
	"fmt"
	"strconv"
	"strings"

	"regasmdetect/src/engine"
	"regasmdetect/src/escu"
	"regasmdetect/src/tstats"
)

// Name is the command's name in SPL and in commands.conf.
const Name = "regasmdetect"

// Phase says which half of Splunk's map/reduce a process plays.
type Phase int

const (
	// Reduce is the default phase: on the search head, merge map partials (or raw records) into the result.
	Reduce Phase = iota
	// Map runs on the indexers through the command's own streaming_preop: filter and pre-aggregate.
	Map
)

// Options are the SPL options of one invocation, as the user (or the streaming_preop) wrote them.
type Options struct {
	Detection     string
	FillNull      bool
	FillNullValue string
	Annotate      bool
	Phase         Phase
	// Search is the id of the search whose reduce phase the map phase's partials are for: the search head's
	// sid, set only by the command's own streaming_preop (option sid). The partial rows carry it, and the reduce
	// phase takes no row without it for a partial.
	Search            string
	MaxMemMB          int   // the reduce phase's memory budget in MB (max_mem_usage_mb)
	SummariesOnly     *bool // accepted, no effect on records that are already searched
	AllowOldSummaries *bool // accepted, no effect
}

// Engine returns the engine options.
func (o *Options) Engine() engine.Options {
	return engine.Options{FillNull: o.FillNull, FillNullValue: o.FillNullValue, Annotate: o.Annotate}
}

// ParseOptions reads searchinfo.args: tokens of the form name=value, quotes already removed by splunkd.
func ParseOptions(args []string) (*Options, error) {
	o := &Options{Detection: escu.Default, MaxMemMB: DefaultMaxMemMB}
	seen := map[string]bool{}
	for _, arg := range args {
		name, value, ok := strings.Cut(arg, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("unexpected argument %q: options are name=value (%s)", arg, usage)
		}
		if seen[name] {
			return nil, fmt.Errorf("option %s given twice", name)
		}
		seen[name] = true
		switch name {
		case "detection":
			if err := lookupDetection(value); err != nil {
				return nil, fmt.Errorf("option detection=%q: %w", value, err)
			}
			o.Detection = value
		case "fillnull_value":
			if value == "" {
				return nil, fmt.Errorf("option fillnull_value needs a non-empty value")
			}
			o.FillNull, o.FillNullValue = true, value
		case "annotate":
			b, err := parseBool(name, value)
			if err != nil {
				return nil, err
			}
			o.Annotate = b
		case "summariesonly":
			b, err := parseBool(name, value)
			if err != nil {
				return nil, err
			}
			o.SummariesOnly = &b
		case "allow_old_summaries":
			b, err := parseBool(name, value)
			if err != nil {
				return nil, err
			}
			o.AllowOldSummaries = &b
		case "max_mem_usage_mb":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > maxMaxMemMB {
				return nil, fmt.Errorf("option max_mem_usage_mb=%q: want a whole number of MB from 1 to %d (0, no bound, is not accepted)", value, maxMaxMemMB)
			}
			o.MaxMemMB = n
		case "sid":
			if value == "" {
				return nil, fmt.Errorf("option sid needs a non-empty value")
			}
			o.Search = value
		case "phase":
			switch value {
			case "map":
				o.Phase = Map
			case "reduce":
				o.Phase = Reduce
			default:
				return nil, fmt.Errorf("option phase=%q: want map (set only by the command's own streaming_preop)", value)
			}
		default:
			return nil, fmt.Errorf("unknown option %q (%s)", name, usage)
		}
	}
	if o.Phase == Map && o.Search == "" {
		return nil, fmt.Errorf("option phase=map needs sid (both are set only by the command's own streaming_preop)")
	}
	if o.Phase == Reduce && o.Search != "" {
		return nil, fmt.Errorf("option sid is for phase=map only (set by the command's own streaming_preop)")
	}
	return o, nil
}

const usage = "usage: regasmdetect [detection=NAME] [fillnull_value=STRING] [summariesonly=BOOL] [allow_old_summaries=BOOL] [annotate=BOOL] [max_mem_usage_mb=MB]"

// parseBool reads a boolean option with tstats.ParseBool (Splunk's spellings true/false, t/f, yes/no, y/n,
// 1/0, in any case) and names the option when the value is none of them.
func parseBool(name, value string) (bool, error) {
	b, err := tstats.ParseBool(value)
	if err != nil {
		return false, fmt.Errorf("option %s=%q: want a boolean (true or false)", name, value)
	}
	return b, nil
}

// Preop returns the streaming_preop: the SPL Splunk runs on the indexers before this command, namely the command
// itself in its map phase with the user's options and the search head's sid, which the partial rows carry back.
// Values are always quoted, with \ and " escaped as SPL reads them.
func (o *Options) Preop(sid string) string {
	var b strings.Builder
	b.WriteString(Name)
	b.WriteString(" phase=map")
	quoted := func(name, v string) {
		b.WriteString(" " + name + "=\"")
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' || v[i] == '"' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		}
		b.WriteString(`"`)
	}
	quoted("sid", sid)
	quoted("detection", o.Detection)
	if o.FillNull {
		quoted("fillnull_value", o.FillNullValue)
	}
	if o.Annotate {
		b.WriteString(" annotate=true")
	}
	if o.SummariesOnly != nil {
		fmt.Fprintf(&b, " summariesonly=%t", *o.SummariesOnly)
	}
	if o.AllowOldSummaries != nil {
		fmt.Fprintf(&b, " allow_old_summaries=%t", *o.AllowOldSummaries)
	}
	return b.String()
}
