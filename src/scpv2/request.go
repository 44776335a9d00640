package scpv2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Request is the decoded metadata of a request chunk sent by splunkd: `getinfo` (with SearchInfo) or
// `execute` (with Finished).
type Request struct {
	Action                      string
	Finished                    bool // absent means false
	Preview                     bool
	StreamingCommandWillRestart bool
	SearchInfo                  *SearchInfo // nil when the request has no searchinfo (execute requests)
}

// SearchInfo is the `searchinfo` object of a getinfo request. The splunkd session key it carries on the wire
// is deliberately not decoded: it never reaches memory owned by this package or its callers.
type SearchInfo struct {
	Args          []string // options after SPL tokenising, quotes removed
	RawArgs       []string // the same tokens with their quoting kept
	DispatchDir   string
	SID           string
	App           string
	Owner         string
	Username      string
	SplunkdURI    string
	SplunkVersion string
	Search        string // the whole search, percent-encoded as on the wire; see DecodedSearch
	Command       string
	MaxResultRows int
	// EarliestTime and LatestTime are the search's time bounds as sent: splunkd sends strings ("0" means
	// unbounded); a number (as in SDK-rewritten recordings) is kept as its JSON text, e.g. "1599084000.0".
	EarliestTime string
	LatestTime   string
}

// wireRequest mirrors the JSON; unknown keys (session_key among them) are skipped by encoding/json.
type wireRequest struct {
	Action                      string          `json:"action"`
	Finished                    bool            `json:"finished"`
	Preview                     bool            `json:"preview"`
	StreamingCommandWillRestart bool            `json:"streaming_command_will_restart"`
	SearchInfo                  *wireSearchInfo `json:"searchinfo"`
}

type wireSearchInfo struct {
	Args          []string `json:"args"`
	RawArgs       []string `json:"raw_args"`
	DispatchDir   string   `json:"dispatch_dir"`
	SID           string   `json:"sid"`
	App           string   `json:"app"`
	Owner         string   `json:"owner"`
	Username      string   `json:"username"`
	SplunkdURI    string   `json:"splunkd_uri"`
	SplunkVersion string   `json:"splunk_version"`
	Search        string   `json:"search"`
	Command       string   `json:"command"`
	MaxResultRows flexInt  `json:"maxresultrows"`
	EarliestTime  flexTime `json:"earliest_time"`
	LatestTime    flexTime `json:"latest_time"`
}

// flexTime accepts a JSON string, a number (kept as its literal text) or null.
type flexTime string

func (t *flexTime) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = flexTime(s)
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*t = flexTime(b)
	default:
		return errors.New("expected a string or a number, found " + quote(b))
	}
	return nil
}

// flexInt accepts an integral JSON number (also written with a zero fraction, "50000.0"), a string holding
// one, or null.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != float64(int64(f)) || f < 0 || f > 1<<53 {
		return errors.New("expected a non-negative integer, found " + quote(b))
	}
	*n = flexInt(f)
	return nil
}

// ParseRequest decodes the metadata of a request chunk. Unknown keys are ignored; a missing `finished` is
// false; `earliest_time` and `latest_time` may be strings or numbers. Metadata that is empty, not valid UTF-8,
// not one JSON object, or holds a known key with the wrong type is an error naming the problem.
func ParseRequest(meta []byte) (*Request, error) {
	trimmed := bytes.TrimLeft(meta, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("scpv2: request metadata is empty, expected a JSON object")
	}
	if !utf8.Valid(meta) {
		return nil, fmt.Errorf("scpv2: request metadata is not valid UTF-8 (first bad byte at offset %d)", invalidUTF8At(meta))
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("scpv2: request metadata: expected a JSON object, found %s", quote(trimmed))
	}
	var w wireRequest
	if !decodeWire(meta, &w) { // wirejson.go: what splunkd sends, without reflection
		w = wireRequest{}
		if err := json.Unmarshal(meta, &w); err != nil {
			return nil, fmt.Errorf("scpv2: request metadata: %w", err)
		}
	}
	req := &Request{
		Action:                      w.Action,
		Finished:                    w.Finished,
		Preview:                     w.Preview,
		StreamingCommandWillRestart: w.StreamingCommandWillRestart,
	}
	if si := w.SearchInfo; si != nil {
		req.SearchInfo = &SearchInfo{
			Args: si.Args, RawArgs: si.RawArgs, DispatchDir: si.DispatchDir, SID: si.SID, App: si.App,
			Owner: si.Owner, Username: si.Username, SplunkdURI: si.SplunkdURI, SplunkVersion: si.SplunkVersion,
			Search: si.Search, Command: si.Command, MaxResultRows: int(si.MaxResultRows),
			EarliestTime: string(si.EarliestTime), LatestTime: string(si.LatestTime),
		}
	}
	return req, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// DecodedSearch returns Search percent-decoded the way the Python SDK decodes it (urllib's unquote): every
// valid `%XX` becomes its byte, malformed escapes are kept as they are, `+` stays `+`, and byte sequences that
// are not UTF-8 become U+FFFD.
func (s *SearchInfo) DecodedSearch() string {
	in := s.Search
	if strings.IndexByte(in, '%') < 0 {
		return strings.ToValidUTF8(in, "\uFFFD")
	}
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		if in[i] == '%' && i+2 < len(in) && isHex(in[i+1]) && isHex(in[i+2]) {
			out = append(out, unhex(in[i+1])<<4|unhex(in[i+2]))
			i += 2
			continue
		}
		out = append(out, in[i])
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
