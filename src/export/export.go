// Package export defines what the scanner hands to an exporter (findings as [Event] values) and what it gets
// back ([Result]: every event is accounted for as sent, failed or uncertain). The exporters live in the
// sub-packages: [regasmdetect/src/export/hec] (Splunk HTTP Event Collector, the way into Splunk Enterprise and
// Splunk Cloud Platform) and [regasmdetect/src/export/scs] (Splunk Cloud Services ingest, a closed platform).
//
// Tokens are never taken from a command-line flag value: use [TokenFromEnv] or [TokenFromFile]. No error of
// this package or of the exporters ever contains a token.
package export

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Default metadata applied by the exporters when neither the event nor the exporter configuration sets one.
const (
	// DefaultSource is the source of exported findings.
	DefaultSource = "regasmdetect"
	// DefaultSourcetype is the sourcetype of exported findings.
	DefaultSourcetype = "regasmdetect:alert"
)

// Event is one finding to export.
type Event struct {
	// Time is the event time in epoch seconds; 0 (or a non-finite or negative value) means unknown, and the
	// receiver then uses its own clock.
	Time float64
	// Host is the row's dest.
	Host string
	// Source, Sourcetype and Index override the exporter's configuration when non-empty.
	Source, Sourcetype, Index string
	// Fields is the ordered list of the finding's fields. Names should be unique.
	Fields []Field
}

// Field is one named field of an [Event]. One value is exported as a JSON string, several as a JSON array
// (a Splunk multivalue field), none at all as the field being absent.
type Field struct {
	Name   string
	Values []string
}

// Result says what happened to every event given to [Exporter.Export]: for n events,
// Sent + len(Failed) + len(Uncertain) == n, and each index appears at most once.
type Result struct {
	// Sent counts the events the receiver accepted (and, with indexer acknowledgement, confirmed indexed).
	Sent int
	// Failed lists the events that were certainly not accepted, each with the reason.
	Failed []Failure
	// Uncertain lists the events that were sent but whose outcome is unknown (for example a timeout after the
	// request was written, or a success status without the receiver's success reply), each with the reason.
	// Sending them again could duplicate them.
	Uncertain []Failure
}

// Failure is an event that was not sent for certain: its index in the slice given to Export and why.
type Failure struct {
	Index int
	Err   error
}

// Exporter sends events somewhere. Export returns a Result that accounts for every event, and a non-nil error
// exactly when some event was not sent (failed or uncertain); the error wraps the first failure's cause, so
// errors.Is(err, context.Canceled) reports a cancelled export.
type Exporter interface {
	Export(ctx context.Context, events []Event) (Result, error)
}

// Complete reports whether the result accounts for exactly n events.
func (r Result) Complete(n int) bool {
	return r.Sent+len(r.Failed)+len(r.Uncertain) == n
}

// Err summarises a result: nil when nothing failed and nothing is uncertain, else an error that starts with
// prefix, counts the failed and uncertain events and wraps the first failure's cause and the first uncertain
// event's reason.
func (r Result) Err(prefix string) error {
	if len(r.Failed) == 0 && len(r.Uncertain) == 0 {
		return nil
	}
	head := fmt.Sprintf("%s: %d sent, %d failed, %d uncertain", prefix, r.Sent, len(r.Failed), len(r.Uncertain))
	var errs []error
	if len(r.Failed) > 0 {
		f := r.Failed[0]
		errs = append(errs, fmt.Errorf("first failure: event %d: %w", f.Index, orNotSent(f.Err)))
	}
	if len(r.Uncertain) > 0 {
		u := r.Uncertain[0]
		errs = append(errs, fmt.Errorf("first uncertain (may have been received): event %d: %w", u.Index, orNotSent(u.Err)))
	}
	if len(errs) == 1 {
		return fmt.Errorf("%s; %w", head, errs[0])
	}
	return fmt.Errorf("%s; %w; %w", head, errs[0], errs[1])
}

func orNotSent(err error) error {
	if err == nil {
		return errors.New("no reason given")
	}
	return err
}

// Backoff is the wait between attempts: Initial doubled at each retry up to Max, with jitter (a uniformly
// random wait between half and all of that). A Retry-After from the receiver replaces it.
type Backoff struct {
	Initial, Max time.Duration
}

// ErrUnconfirmed is wrapped by the error of a batch that got a success status (2xx) without the receiver's
// well-formed success reply (an HTML page, an empty or cut-short body, another JSON document). The receiver may
// or may not have taken the events: they are reported uncertain, never sent.
var ErrUnconfirmed = errors.New("success status without a well-formed success reply")

// RedirectError is a 3xx reply. The exporters never follow a redirect: the request carries the token, and
// following it would send the token and the events wherever Location points (in clear text for an http://
// one); a 301, 302 or 303 would also turn the POST into a GET without the events.
type RedirectError struct {
	StatusCode int
	// Location is the target the receiver named, with any password redacted; "" when it named none.
	Location string
}

// Error names the status and the Location, for example `HTTP 307: redirect to http://h:8088/x not followed`.
func (e *RedirectError) Error() string {
	loc := "(no Location)"
	if e.Location != "" {
		loc = strconv.Quote(e.Location)
	}
	return fmt.Sprintf("HTTP %d: redirect to %s not followed (requests carry the token; give the receiver's own URL)", e.StatusCode, loc)
}

// HTTPError is a response that was not a success: the HTTP status, the receiver's own code (-1 when it gave
// none; for HEC the "code" of its JSON reply) and its text. It never holds a token.
type HTTPError struct {
	StatusCode int
	Code       int
	Text       string
}

// Error renders the status, the receiver's text and code, for example `HTTP 403: Invalid token (code 4)`.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.Text != "" {
		b.WriteString(": ")
		b.WriteString(e.Text)
	}
	if e.Code >= 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	return b.String()
}
