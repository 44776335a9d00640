package engine

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzMatch compares the wildcard matcher with a regular expression built from the same pattern
// ((?is)^...$, which folds case as strings.EqualFold does) on valid UTF-8 values.
func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"regasm.exe", "RegAsm.exe"}, {"reg*.exe", "regsvcs.EXE"}, {"*asm*", "xREGASMx"}, {"a*a", "a"},
		{"kelvin", "\u212Aelvin"}, {"*s", "clas\u017F"}, {"*", ""}, {"a**b", "ab"}, {"ß*", "SS"}, {"x*y*z", "xyyz"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, val string) {
		p := compilePattern(pat)
		got := p.match([]byte(val))
		parts := strings.Split(pat, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re, err := regexp.Compile("(?is)^" + strings.Join(parts, ".*") + "$")
		if err != nil || !utf8Valid(pat) || !utf8Valid(val) {
			return // regexp replaces invalid bytes by U+FFFD; only the absence of a panic is checked
		}
		if want := val != "" && re.MatchString(val); got != want {
			t.Fatalf("match(%q, %q) = %v, want %v", pat, val, got, want)
		}
	})
}

func utf8Valid(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s && !strings.ContainsRune(s, '\uFFFD')
}
