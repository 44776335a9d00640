package splunkconf

import (
	"fmt"
	"strconv"
	"strings"
)

// maxMacroDepth bounds nested expansion, so a macro that (indirectly) calls itself is an error, not a hang.
const maxMacroDepth = 32

// MacroCall is one backquoted macro call in a search string, such as `security_content_ctime(firstTime)`.
type MacroCall struct {
	// Name is the macro name without arguments.
	Name string
	// Args are the arguments as written, trimmed of surrounding white space (quotes are kept, as Splunk
	// substitutes them verbatim).
	Args []string
	// Start and End are the byte offsets of the opening backquote and just after the closing one.
	Start, End int
}

// StanzaName returns the macros.conf stanza that defines the call: the name alone without arguments, else
// "name(N)" for N arguments.
func (c MacroCall) StanzaName() string {
	if len(c.Args) == 0 {
		return c.Name
	}
	return c.Name + "(" + strconv.Itoa(len(c.Args)) + ")"
}

// FindMacros returns the macro calls of search in order. Backquotes inside double-quoted strings are not macro
// calls (Splunk does not expand macros in quoted values). Errors name the byte offset.
func FindMacros(search string) ([]MacroCall, error) {
	calls, err := findMacros(search)
	if err != nil {
		return nil, fmt.Errorf("splunkconf: %w", err)
	}
	return calls, nil
}

func findMacros(search string) ([]MacroCall, error) {
	var calls []MacroCall
	inQuote := false
	for i := 0; i < len(search); i++ {
		switch c := search[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '`':
			j := strings.IndexByte(search[i+1:], '`')
			if j < 0 {
				return nil, fmt.Errorf("macro call at byte %d: no closing backquote", i)
			}
			end := i + 1 + j + 1
			call, err := parseCall(search[i+1 : end-1])
			if err != nil {
				return nil, fmt.Errorf("macro call %q at byte %d: %w", clip(search[i:end]), i, err)
			}
			call.Start, call.End = i, end
			calls = append(calls, call)
			i = end - 1
		}
	}
	return calls, nil
}

func parseCall(text string) (MacroCall, error) {
	text = strings.TrimSpace(text)
	open := strings.IndexByte(text, '(')
	if open < 0 {
		if !validMacroName(text) {
			return MacroCall{}, fmt.Errorf("invalid macro name %q", clip(text))
		}
		return MacroCall{Name: text}, nil
	}
	name := strings.TrimSpace(text[:open])
	if !validMacroName(name) {
		return MacroCall{}, fmt.Errorf("invalid macro name %q", clip(name))
	}
	if !strings.HasSuffix(text, ")") {
		return MacroCall{}, fmt.Errorf("argument list of %s does not end with ')'", name)
	}
	args, err := splitArgs(text[open+1 : len(text)-1])
	if err != nil {
		return MacroCall{}, fmt.Errorf("arguments of %s: %w", name, err)
	}
	return MacroCall{Name: name, Args: args}, nil
}

// splitArgs splits on commas outside double quotes and parentheses.
func splitArgs(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty argument list")
	}
	var args []string
	depth, inQuote, from := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' at byte %d", i)
			}
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[from:i]))
			from = i + 1
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quoted argument")
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '('")
	}
	return append(args, strings.TrimSpace(s[from:])), nil
}

func validMacroName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// Macro is one macro definition, as a macros.conf stanza or an ESCU macro YAML file holds it.
type Macro struct {
	// Args are the argument names, in order; their number is the N of the stanza name "name(N)".
	Args []string
	// Definition is the text the call expands to, with each "$arg$" replaced by the argument.
	Definition string
	// IsEval marks an eval-based definition (iseval = true), which is not supported.
	IsEval bool
	// Where names the definition in errors ("[name(1)] (line 3)", "macros/name.yml").
	Where string
}

// MacroSource finds the definition of a macro by its stanza name: "name" without arguments, "name(N)" with N.
// ok is false when the source has no such macro; err reports a malformed definition.
type MacroSource interface {
	Macro(stanza string) (m Macro, ok bool, err error)
}

// Macro implements MacroSource for a macros.conf: the stanza, its "args" and "definition" keys and
// "iseval".
func (f *File) Macro(stanza string) (Macro, bool, error) {
	st := f.Stanza(stanza)
	if st == nil {
		return Macro{}, false, nil
	}
	where := fmt.Sprintf("[%s] (line %d)", stanza, st.Line)
	def, ok := st.Get("definition")
	if !ok {
		return Macro{}, false, fmt.Errorf("macro %s has no definition", where)
	}
	names, err := st.macroArgs()
	if err != nil {
		return Macro{}, false, err
	}
	v, _ := st.Get("iseval")
	return Macro{Args: names, Definition: def, IsEval: isTrue(v), Where: where}, true, nil
}

// Expand returns search with every macro call replaced by its definition from f, a macros.conf, repeatedly
// until no call is left. See ExpandWith.
func (f *File) Expand(search string) (string, error) {
	return ExpandWith(search, f)
}

// ExpandWith returns search with every macro call replaced by its definition from src, repeatedly until no
// call is left, as Splunk expands search macros (macros.conf.spec, "[<STANZA_NAME>]" and "definition"):
// `name` uses the macro "name", `name(a, b)` uses "name(2)" (overloads by argument count are distinct
// macros); each "$arg$" in the definition is replaced by the argument as written, "globally in the string,
// even inside quotation marks", in one pass, so an argument's own "$x$" is not substituted again; macros inside
// double-quoted values are not expanded ("The Splunk platform does not expand macros when they are inside
// quoted values"). Arguments are split at commas outside double quotes and parentheses and trimmed of white
// space; their quotes are kept. Eval-based macros (iseval = true) are not supported. Errors name the macro and
// the chain of definitions it was found in.
func ExpandWith(search string, src MacroSource) (string, error) {
	out, err := expand(search, src, 0)
	if err != nil {
		return "", fmt.Errorf("splunkconf: expand macros: %w", err)
	}
	return out, nil
}

func expand(search string, src MacroSource, depth int) (string, error) {
	if depth > maxMacroDepth {
		return "", fmt.Errorf("macros nested more than %d deep (a macro calls itself?)", maxMacroDepth)
	}
	calls, err := findMacros(search)
	if err != nil {
		return "", err
	}
	if len(calls) == 0 {
		return search, nil
	}
	var b strings.Builder
	last := 0
	for _, call := range calls {
		def, err := definition(src, call)
		if err != nil {
			return "", err
		}
		def, err = expand(def, src, depth+1)
		if err != nil {
			return "", fmt.Errorf("in `%s`: %w", call.StanzaName(), err)
		}
		b.WriteString(search[last:call.Start])
		b.WriteString(def)
		last = call.End
	}
	b.WriteString(search[last:])
	return b.String(), nil
}

// definition returns the definition of one call with its arguments substituted.
func definition(src MacroSource, call MacroCall) (string, error) {
	name := call.StanzaName()
	m, ok, err := src.Macro(name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("macro `%s` is not defined (no stanza [%s])", name, name)
	}
	if m.IsEval {
		return "", fmt.Errorf("macro %s: iseval macros are not supported", m.Where)
	}
	if len(m.Args) != len(call.Args) {
		return "", fmt.Errorf("macro %s declares %d argument names, called with %d", m.Where, len(m.Args), len(call.Args))
	}
	if len(m.Args) == 0 {
		return m.Definition, nil
	}
	values := make(map[string]string, len(m.Args))
	for i, n := range m.Args {
		values[n] = call.Args[i]
	}
	return substitute(m.Definition, values), nil
}

// MacroArgs returns the argument names of a macros.conf stanza (its "args" key, comma separated), checking
// that they use only letters, digits, '_' and '-' and that their number matches the "(N)" of the stanza name.
func (s *Stanza) MacroArgs() ([]string, error) {
	names, err := s.macroArgs()
	if err != nil {
		return nil, fmt.Errorf("splunkconf: %w", err)
	}
	return names, nil
}

func (s *Stanza) macroArgs() ([]string, error) {
	want := 0
	if open := strings.LastIndexByte(s.Name, '('); open >= 0 && strings.HasSuffix(s.Name, ")") {
		n, err := strconv.Atoi(s.Name[open+1 : len(s.Name)-1])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("macro [%s] (line %d): bad argument count in the name", s.Name, s.Line)
		}
		want = n
	}
	raw, _ := s.Get("args")
	var names []string
	if strings.TrimSpace(raw) != "" {
		for _, n := range strings.Split(raw, ",") {
			n = strings.TrimSpace(n)
			if n == "" || strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
				return nil, fmt.Errorf("macro [%s] (line %d): invalid argument name %q", s.Name, s.Line, n)
			}
			names = append(names, n)
		}
	}
	if len(names) != want {
		return nil, fmt.Errorf("macro [%s] (line %d): %d argument names for %d arguments", s.Name, s.Line, len(names), want)
	}
	return names, nil
}

func substitute(def string, values map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(def, '$')
		if i < 0 {
			b.WriteString(def)
			return b.String()
		}
		j := strings.IndexByte(def[i+1:], '$')
		if j < 0 {
			b.WriteString(def)
			return b.String()
		}
		if v, ok := values[def[i+1:i+1+j]]; ok {
			b.WriteString(def[:i])
			b.WriteString(v)
			def = def[i+1+j+1:]
			continue
		}
		b.WriteString(def[:i+1])
		def = def[i+1:]
	}
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y":
		return true
	}
	return false
}
