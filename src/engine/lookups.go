package engine

import (
	"fmt"
	"strconv"
	"strings"

	"regasmdetect/src/escu"
	"regasmdetect/src/spl"
)

// checkoutLookups adapts a checkout's CSV lookups to spl.LookupSource.
type checkoutLookups struct{ c *escu.Checkout }

// CheckoutLookups returns the checkout's CSV lookups as an spl.LookupSource, for Env.Lookups. Match types other
// than WILDCARD are refused when a search uses the lookup.
func CheckoutLookups(c *escu.Checkout) spl.LookupSource { return checkoutLookups{c} }

func (s checkoutLookups) LookupTable(name string) (*spl.LookupTable, error) {
	l, err := s.c.CSVLookup(name)
	if err != nil {
		return nil, err
	}
	if other := l.OtherMatchTypes(); len(other) > 0 {
		return nil, fmt.Errorf("lookup %q: unsupported match_type %s", name, strings.Join(other, ","))
	}
	t := &spl.LookupTable{Name: l.Name, Header: l.Header, Rows: l.Rows, CaseSensitive: l.CaseSensitive(),
		Wildcard: map[string]bool{}, MaxMatches: 100}
	for _, f := range l.WildcardFields() {
		t.Wildcard[f] = true
	}
	if v := strings.TrimSpace(l.MinMatches); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("lookup %q: min_matches %q is not a count", name, v)
		}
		t.MinMatches = n
	}
	if v := strings.TrimSpace(l.MaxMatches); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, fmt.Errorf("lookup %q: max_matches %q is not 1-1000", name, v)
		}
		t.MaxMatches = n
	}
	if l.DefaultMatch != "" {
		t.DefaultMatch, t.HasDefault = l.DefaultMatch, true
	}
	return t, nil
}
