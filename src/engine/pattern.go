package engine

// Pattern is one filter value compiled exactly as the detection filter compiles it: whole-value,
// case-insensitive under simple Unicode case folding, '*' matching any run of characters. It lets a caller
// that evaluates many detections at once (src/detectset) keep the filter's matching rules without copying them.
type Pattern struct{ p pattern }

// CompilePattern compiles a filter value (the unescaped text of a tstats value).
func CompilePattern(v string) Pattern { return Pattern{compilePattern(v)} }

// Match reports whether v matches, as the filter's field=value does for one value. An empty v never matches.
// It allocates nothing.
func (p *Pattern) Match(v []byte) bool { return p.p.match(v) }

// IsASCII reports whether b holds only ASCII bytes, the condition under which the patterns' fast byte-wise
// case folding applies.
func IsASCII(b []byte) bool { return isASCII(b) }
