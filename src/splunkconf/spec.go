package splunkconf

import (
	"fmt"
	"regexp"
	"strings"
)

// KeyPattern compiles a key or stanza template of a .spec file into an anchored regular expression: each
// "<placeholder>" matches one or more characters, a '*' in the template matches any run of characters, and
// everything else matches itself. For example "action.<action_name>.param.<param_name>" matches
// "action.notable.param.rule_title", and "command.arg.<N>" matches "command.arg.1".
func KeyPattern(template string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^`)
	rest := template
	for len(rest) > 0 {
		i := strings.IndexAny(rest, "<*")
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]))
		rest = rest[i:]
		if rest[0] == '*' {
			b.WriteString(`.*`)
			rest = rest[1:]
			continue
		}
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(`.+`)
		rest = rest[end+1:]
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("splunkconf: spec template %q: %w", clip(template), err)
	}
	return re, nil
}
