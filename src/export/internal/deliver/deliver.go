// Package deliver holds what the HEC and SCS exporters share: the retry policy of one batch (per-attempt
// timeout, exponential backoff with jitter, Retry-After, which statuses are retried), the detection of a
// request that may have reached the receiver, and the bookkeeping that accounts for every event.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"regasmdetect/src/export"
)

// MaxRetryAfter caps the wait a receiver may ask for with Retry-After.
const MaxRetryAfter = 5 * time.Minute

// Policy is how one batch is attempted.
type Policy struct {
	// Timeout bounds each attempt (request written, response headers and body read).
	Timeout time.Duration
	// MaxRetries is the number of attempts after the first; 0 means none.
	MaxRetries int
	// Backoff is the wait between attempts when the receiver gives no Retry-After.
	Backoff export.Backoff
}

// Reply is what one attempt got back from the receiver.
type Reply struct {
	// Status is the HTTP status code.
	Status int
	// RetryAfter is the receiver's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Err describes a reply that is not a success: for a non-2xx status typically an *export.HTTPError or an
	// *export.RedirectError; with a 2xx status, why the body is not the receiver's well-formed success reply
	// (wrapping export.ErrUnconfirmed), which makes the batch Uncertain. nil on success.
	Err error
}

// Kind is the fate of a batch.
type Kind int

// The fates of a batch.
const (
	Sent Kind = iota
	Failed
	Uncertain
)

// Outcome is the fate of a batch after all its attempts.
type Outcome struct {
	Kind Kind
	// Err says why the batch failed or is uncertain.
	Err error
	// Status is the last HTTP status received, 0 when none.
	Status int
	// Refused is set when the receiver refused the credentials (401, 403): later batches would fail alike.
	Refused bool
	// Attempts is the number of requests made.
	Attempts int
}

// Do attempts one batch. send must make exactly one HTTP request with the context it is given (which carries
// the attempt's timeout and a trace that sees whether the request was written) and return the reply, or an
// error when no response arrived. A batch is retried on 408, 429, 5xx and on errors where the request was not
// written; it is never retried once a request may have reached the receiver without a reply (Uncertain), nor
// after another 4xx (Failed). what names the batch in errors, e.g. "hec: batch 2 (events 100-199)".
func (p Policy) Do(ctx context.Context, what string, send func(context.Context) (Reply, error)) Outcome {
	var out Outcome
	var lastErr error
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			err := context.Cause(ctx)
			out.Kind, out.Err = Failed, fmt.Errorf("%s: not sent: %w", what, err)
			if lastErr != nil {
				out.Err = fmt.Errorf("%s: not sent: %w (after: %v)", what, err, lastErr)
			}
			return out
		}
		var wrote atomic.Bool
		actx, cancel := context.WithTimeout(ctx, p.Timeout)
		actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
			WroteRequest: func(info httptrace.WroteRequestInfo) {
				if info.Err == nil {
					wrote.Store(true)
				}
			},
		})
		out.Attempts++
		reply, err := send(actx)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil {
			if timedOut {
				err = fmt.Errorf("no response within %v: %w", p.Timeout, err)
			} else if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
				err = fmt.Errorf("%w (%w)", err, cause) // say why: a deadline, a signal
			}
			if wrote.Load() {
				out.Kind = Uncertain
				out.Err = fmt.Errorf("%s: attempt %d: request written, outcome unknown: %w", what, attempt+1, err)
				return out
			}
			lastErr = fmt.Errorf("%s: attempt %d: %w", what, attempt+1, err)
			if ctx.Err() != nil {
				out.Kind, out.Err = Failed, lastErr
				return out
			}
		} else {
			out.Status = reply.Status
			switch Classify(reply.Status) {
			case Success:
				if reply.Err != nil { // a success status without the receiver's success reply
					out.Kind = Uncertain
					out.Err = fmt.Errorf("%s: attempt %d: outcome unknown: %w", what, attempt+1, reply.Err)
					return out
				}
				out.Kind, out.Err = Sent, nil
				return out
			case Redirect:
				out.Kind = Failed
				out.Err = fmt.Errorf("%s: %w", what, replyErr(reply))
				return out
			case Refused:
				out.Kind, out.Refused = Failed, true
				out.Err = fmt.Errorf("%s: %w", what, replyErr(reply))
				return out
			case Permanent:
				out.Kind = Failed
				out.Err = fmt.Errorf("%s: %w", what, replyErr(reply))
				return out
			}
			lastErr = fmt.Errorf("%s: attempt %d: %w", what, attempt+1, replyErr(reply))
		}
		if attempt >= p.MaxRetries {
			out.Kind = Failed
			out.Err = fmt.Errorf("%w (gave up after %d attempts)", lastErr, attempt+1)
			return out
		}
		wait := p.delay(attempt, reply.RetryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			out.Kind = Failed
			out.Err = fmt.Errorf("%w; not retried: the wait of %v would pass the deadline (%v left)", lastErr,
				wait.Round(time.Millisecond), max(time.Until(dl), 0).Round(time.Millisecond))
			return out
		}
		if err := sleep(ctx, wait); err != nil {
			out.Kind = Failed
			out.Err = fmt.Errorf("%s: not retried: %w (after: %v)", what, err, lastErr)
			return out
		}
	}
}

func replyErr(r Reply) error {
	if r.Err != nil {
		return r.Err
	}
	return &export.HTTPError{StatusCode: r.Status, Code: -1, Text: http.StatusText(r.Status)}
}

// Class is how a status is treated.
type Class int

// The classes of HTTP statuses.
const (
	Success   Class = iota // 2xx: sent if the reply is the receiver's well-formed success, else uncertain
	Retry                  // 408, 429, 5xx: the receiver did not take the data; try again
	Refused                // 401, 403: the credentials are refused
	Permanent              // any other status: the data or the request is wrong; do not retry
	Redirect               // 3xx: never followed (the request carries the token); the batch fails
)

// Classify returns the class of an HTTP status. A 3xx is Redirect: the exporters' clients never follow one.
// HEC answers 400 for invalid data (codes 5, 6, 7, 10-16),
// 401/403 for token problems (codes 1-4), 503 when busy (codes 9, 18-20) and 500 for an internal error (8).
func Classify(status int) Class {
	switch {
	case status >= 200 && status < 300:
		return Success
	case status >= 300 && status < 400:
		return Redirect
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Refused
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return Retry
	}
	return Permanent
}

func (p Policy) delay(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, MaxRetryAfter)
	}
	return Jitter(p.Backoff, attempt)
}

// Jitter returns the wait before retry number attempt+1: Initial·2^attempt capped at Max, then a uniformly
// random duration between half of it and all of it.
func Jitter(b export.Backoff, attempt int) time.Duration {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 1 {
		return max(d, 0)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3). It returns 0
// when the value is absent, malformed or in the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// Tally records the outcome of the batch of events [from, to) in r.
func Tally(r *export.Result, from, to int, o Outcome) {
	switch o.Kind {
	case Sent:
		r.Sent += to - from
	case Uncertain:
		err := o.Err
		if err == nil {
			err = errors.New("outcome unknown")
		}
		for i := from; i < to; i++ {
			r.Uncertain = append(r.Uncertain, export.Failure{Index: i, Err: err})
		}
	default:
		Fail(r, from, to, o.Err)
	}
}

// Fail records the events [from, to) as failed with err.
func Fail(r *export.Result, from, to int, err error) {
	if err == nil {
		err = errors.New("not sent")
	}
	for i := from; i < to; i++ {
		r.Failed = append(r.Failed, export.Failure{Index: i, Err: err})
	}
}

// Span names a batch in errors: "batch 2 (events 100-199)", or "batch 3 (event 200)".
func Span(prefix string, n, from, to int) string {
	if to-from == 1 {
		return fmt.Sprintf("%s: batch %d (event %d)", prefix, n, from)
	}
	return fmt.Sprintf("%s: batch %d (events %d-%d)", prefix, n, from, to-1)
}

// Scrub returns err, or when its text contains secret (net/http puts no header in its errors, but a custom
// transport or a hostile reply might) an error with the same text where secret is replaced by "<token>".
func Scrub(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "<token>"))
}

// Location renders a redirect target for an error: a password redacted, secret (should a receiver echo it)
// replaced by "<token>", at most 200 bytes.
func Location(raw, secret string) string {
	if raw == "" {
		return ""
	}
	s := raw
	if u, err := url.Parse(raw); err == nil {
		s = u.Redacted()
	}
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "<token>")
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
