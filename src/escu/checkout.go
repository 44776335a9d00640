package escu

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"regasmdetect/src/splunkconf"
)

// Checkout is the content of a splunk/security_content checkout: detections/**/*.yml, macros/*.yml and
// lookups/*.yml with their CSV files. It is read once by escuyaml.LoadCheckout and is immutable afterwards, so it
// is safe to share between goroutines.
type Checkout struct {
	// Dir is the checkout's root directory as given to escuyaml.LoadCheckout.
	Dir string
	// Detections are the detection files that parsed, sorted by file stem.
	Detections []*Detection
	// Broken are the detection files that did not parse, with the reason, sorted by path.
	Broken []FileError
	// Macros maps the stanza name ("name", or "name(N)" for N arguments) to its definition.
	Macros map[string]splunkconf.Macro
	// Lookups maps a lookup name to its definition; CSV lookups carry their table.
	Lookups map[string]*LookupTable

	byStem map[string]*Detection
}

// FileError is a file of the checkout that could not be read, and why.
type FileError struct {
	Path string // relative to the checkout root, with '/' separators
	Err  error
}

func (e FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// LookupTable is an ESCU lookup file (lookups/<name>.yml) and, for a CSV lookup, its table.
type LookupTable struct {
	Name               string `yaml:"name"`
	Filename           string `yaml:"filename"`
	MatchType          string `yaml:"match_type"`           // "WILDCARD(f),CIDR(g)", empty for exact matches
	CaseSensitiveMatch string `yaml:"case_sensitive_match"` // "true"/"false"; Splunk's default is true
	DefaultMatch       string `yaml:"default_match"`
	MinMatches         string `yaml:"min_matches"`
	MaxMatches         string `yaml:"max_matches"`
	Description        string `yaml:"description"`

	// Header and Rows are the CSV table (nil for a lookup without a CSV file, such as a KV store collection
	// or a model). Rows have exactly len(Header) cells.
	Header []string   `yaml:"-"`
	Rows   [][]string `yaml:"-"`
}

// CaseSensitive reports the lookup's case_sensitive_match: true unless set to a false value (transforms.conf.spec:
// "case_sensitive_match = <boolean> ... Default: true").
func (l *LookupTable) CaseSensitive() bool {
	switch strings.ToLower(strings.TrimSpace(l.CaseSensitiveMatch)) {
	case "false", "f", "0", "no", "n":
		return false
	}
	return true
}

// WildcardFields returns the fields named WILDCARD(f) in match_type.
func (l *LookupTable) WildcardFields() []string {
	return matchTypeFields(l.MatchType, "WILDCARD")
}

// OtherMatchTypes returns match types other than WILDCARD (CIDR(f) ...), which are not supported.
func (l *LookupTable) OtherMatchTypes() []string {
	var out []string
	for _, part := range strings.Split(l.MatchType, ",") {
		part = strings.TrimSpace(part)
		if part != "" && !strings.HasPrefix(strings.ToUpper(part), "WILDCARD(") {
			out = append(out, part)
		}
	}
	return out
}

func matchTypeFields(mt, kind string) []string {
	var out []string
	for _, part := range strings.Split(mt, ",") {
		part = strings.TrimSpace(part)
		if len(part) > len(kind)+2 && strings.EqualFold(part[:len(kind)+1], kind+"(") && strings.HasSuffix(part, ")") {
			out = append(out, strings.TrimSpace(part[len(kind)+1:len(part)-1]))
		}
	}
	return out
}

// cimMacros are the macros a checkout uses but does not define because Splunk_SA_CIM does (contentctl ignores
// them on purpose). Definitions from the Common Information Model add-on's macros.conf.
var cimMacros = map[string]splunkconf.Macro{
	"drop_dm_object_name(1)": {Args: []string{"object"}, Definition: `rename "$object$.*" as *`, Where: "Splunk_SA_CIM [drop_dm_object_name(1)]"},
	"add_dm_object_name(1)":  {Args: []string{"object"}, Definition: `rename * as "$object$.*"`, Where: "Splunk_SA_CIM [add_dm_object_name(1)]"},
}

// DefaultFilter is the definition contentctl generates for a detection's filter macro when the checkout does
// not define one.
const DefaultFilter = "search *"

// AddDetection adds d, read from the checkout file whose stem is fileStem, to Detections (the caller sorts them by
// FileStem when done). A file stem already taken is an error naming the detection that has it. A loader
// (escuyaml.LoadCheckout) calls it while it builds the checkout; a loaded checkout is not modified.
func (c *Checkout) AddDetection(d *Detection, fileStem string) error {
	if prev, dup := c.byStem[fileStem]; dup {
		return fmt.Errorf("file stem %q also used by %s", fileStem, prev.Source)
	}
	if c.byStem == nil {
		c.byStem = map[string]*Detection{}
	}
	c.byStem[fileStem] = d
	d.fileStem = fileStem
	c.Detections = append(c.Detections, d)
	return nil
}

// Detection returns the detection whose file stem is stem (the display name is accepted too). An unknown name
// is an error wrapping ErrUnknown.
func (c *Checkout) Detection(stem string) (*Detection, error) {
	if d, ok := c.byStem[stem]; ok {
		return d, nil
	}
	want := strings.TrimSpace(stem)
	if d, ok := c.byStem[stemOf(want)]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("escu: checkout %s: %w %q", c.Dir, ErrUnknown, stem)
}

func stemOf(name string) string { return stem(name) }

// Macro implements splunkconf.MacroSource: the checkout's macros, then the Splunk_SA_CIM macros ESCU relies
// on (drop_dm_object_name(1), add_dm_object_name(1)).
func (c *Checkout) Macro(stanza string) (splunkconf.Macro, bool, error) {
	if m, ok := c.Macros[stanza]; ok {
		return m, true, nil
	}
	if m, ok := cimMacros[stanza]; ok {
		return m, true, nil
	}
	return splunkconf.Macro{}, false, nil
}

type detectionMacros struct {
	c      *Checkout
	filter string
}

func (s detectionMacros) Macro(stanza string) (splunkconf.Macro, bool, error) {
	if m, ok, err := s.c.Macro(stanza); ok || err != nil {
		return m, ok, err
	}
	if stanza == s.filter {
		return splunkconf.Macro{Definition: DefaultFilter, Where: "the default filter macro " + stanza}, true, nil
	}
	return splunkconf.Macro{}, false, nil
}

// Expand expands every macro of search as Splunk does (splunkconf.ExpandWith) with the checkout's macros, the
// Splunk_SA_CIM ones, and the detection's own filter macro `<detectionStem>_filter`, which is "search *" unless
// the checkout defines it (contentctl generates that default). detectionStem may be empty for a search that
// belongs to no detection.
func (c *Checkout) Expand(search, detectionStem string) (string, error) {
	src := detectionMacros{c: c}
	if detectionStem != "" {
		src.filter = detectionStem + "_filter"
	}
	out, err := splunkconf.ExpandWith(search, src)
	if err != nil {
		return "", fmt.Errorf("escu: %w", err)
	}
	return out, nil
}

// ExpandBuiltin expands search with the macros the embedded detections use, as ESCU defines them today
// (security_content_summariesonly with fillnull_value=null, security_content_ctime), the Splunk_SA_CIM ones and
// the detection's default filter macro. It serves embedded detections, which come without a checkout.
func ExpandBuiltin(search, detectionStem string) (string, error) {
	return builtinCheckout.Expand(search, detectionStem)
}

var builtinCheckout = &Checkout{Dir: "(built-in macros)", Macros: map[string]splunkconf.Macro{
	"security_content_summariesonly": {Definition: "summariesonly=`summariesonly_config` allow_old_summaries=`oldsummaries_config` fillnull_value=`fillnull_config`", Where: "built-in security_content_summariesonly"},
	"summariesonly_config":           {Definition: `"false"`, Where: "built-in summariesonly_config"},
	"oldsummaries_config":            {Definition: `"true"`, Where: "built-in oldsummaries_config"},
	"fillnull_config":                {Definition: `"null"`, Where: "built-in fillnull_config"},
	"security_content_ctime(1)":      {Args: []string{"field"}, Definition: `convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)`, Where: "built-in security_content_ctime(1)"},
}}

// tstatsFrom is compiled on first use: the search command's build never calls Datamodel.
var tstatsFrom = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?is)^\s*\|\s*tstats\b.*?\bfrom\s+datamodel\s*=\s*"?([A-Za-z0-9_.]+)"?`)
})

// Datamodel returns the data model and dataset a search starting with "| tstats" reads ("Endpoint.Processes"),
// from its first "from datamodel=", or "" when the search is not a tstats search.
func Datamodel(search string) string {
	m := tstatsFrom().FindStringSubmatch(search)
	if m == nil {
		return ""
	}
	return m[1]
}

// IsEndpointProcessesTstats reports whether the detection's search starts with "| tstats" and reads
// datamodel=Endpoint.Processes.
func (d *Detection) IsEndpointProcessesTstats() bool {
	return Datamodel(d.Search) == "Endpoint.Processes"
}

// EndpointProcesses returns the checkout's detections whose search is a tstats search over Endpoint.Processes,
// sorted by file stem.
func (c *Checkout) EndpointProcesses() []*Detection {
	var out []*Detection
	for _, d := range c.Detections {
		if d.IsEndpointProcessesTstats() {
			out = append(out, d)
		}
	}
	return out
}

// FileStem returns the stem of the file the detection was read from ("detections/endpoint/x.yml" -> "x"), or
// Stem() for a detection not read from a checkout.
func (d *Detection) FileStem() string {
	if d.fileStem != "" {
		return d.fileStem
	}
	return d.Stem()
}

var errNoLookup = errors.New("lookup not defined")

// CSVLookup returns the CSV table of the named lookup. A lookup that the checkout does not define, or that has
// no CSV file, is an error.
func (c *Checkout) CSVLookup(name string) (*LookupTable, error) {
	l, ok := c.Lookups[name]
	if !ok {
		return nil, fmt.Errorf("escu: %w: %q", errNoLookup, name)
	}
	if l.Header == nil {
		return nil, fmt.Errorf("escu: lookup %q has no CSV file (filename %q)", name, l.Filename)
	}
	return l, nil
}
