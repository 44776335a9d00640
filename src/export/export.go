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
	// Uncertain lists the indexes of events that were sent but whose outcome is unknown (for example a
	// timeout after the request was written). Sending them again could duplicate them.
	Uncertain []int
}

// Failure is an event that was not accepted: its index in the slice given to Export and why.
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
// prefix, counts the failed and uncertain events and wraps the first failure's cause.
func (r Result) Err(prefix string) error {
	if len(r.Failed) == 0 && len(r.Uncertain) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(prefix)
	fmt.Fprintf(&b, ": %d sent, %d failed, %d uncertain", r.Sent, len(r.Failed), len(r.Uncertain))
	if len(r.Uncertain) > 0 {
		fmt.Fprintf(&b, " (uncertain: may have been received; first is event %d)", r.Uncertain[0])
	}
	if len(r.Failed) == 0 {
		return errors.New(b.String())
	}
	f := r.Failed[0]
	return fmt.Errorf("%s; first failure: event %d: %w", b.String(), f.Index, f.Err)
}

// Backoff is the wait between attempts: Initial doubled at each retry up to Max, with jitter (a uniformly
// random wait between half and all of that). A Retry-After from the receiver replaces it.
type Backoff struct {
	Initial, Max time.Duration
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
