// Package scs exports findings to Splunk Cloud Services (SCS) ingest, POST /<tenant>/ingest/v1beta2/events,
// through github.com/splunk/splunk-cloud-sdk-go v1.11.1.
//
// SCS is a closed platform (its public beta closed in 2020) distinct from Splunk Enterprise and Splunk Cloud
// Platform, which are reached through HEC (package regasmdetect/src/export/hec). This package is an export
// format for whoever still runs an SCS tenant, not a Splunk integration.
//
// Of the SDK only services.NewClient and ingest.Service.PostEvents are used. Its BatchEventsSender is never
// used: it drops the event at the end of every flushed batch and prints errors to stdout. Batching (at most
// 500 events and 1,000,000 bytes per request), retries with backoff (429, 5xx, errors before the request was
// written), the per-request timeout and cancellation are done here: the SDK has no context.Context, so a
// transport installed in the SDK client carries each attempt's context and records the HTTP status and
// Retry-After of the reply.
//
// A batch counts as sent only on a 2xx status with the service's well-formed success reply (see
// [ParseResponse]); any other body after a 2xx makes it Uncertain. Redirects are never followed (the request
// carries the bearer token): a 3xx fails the batch, naming the Location. Importing the SDK registers glog's flags (-v, -log_dir, ...) on flag.CommandLine;
// the program parses private flag.FlagSets, so they never show. Nothing on the protocol path imports this
// package (a test asserts it).
package scs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/splunk/splunk-cloud-sdk-go/services"
	"github.com/splunk/splunk-cloud-sdk-go/services/ingest"
	"github.com/splunk/splunk-cloud-sdk-go/util"

	"regasmdetect/src/export"
	"regasmdetect/src/export/internal/deliver"
)

// Limits and defaults. MaxBatchEvents and MaxBatchBytes are the ingest service's documented request limits
// (500 events, about 1,040,000 bytes; this package keeps a margin).
const (
	MaxBatchEvents     = 500
	MaxBatchBytes      = 1_000_000
	DefaultTimeout     = 30 * time.Second
	DefaultMaxRetries  = 5
	DefaultBackoffInit = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

// The fields Config shares with hec.Config are declared in each rather than in an embedded struct, which would
// break keyed literals (scs.Config{Token: ...}) and split each type's documentation.

// Config configures an [Exporter]. Zero values take the defaults.
type Config struct {
	// Tenant is the SCS tenant (required): letters, digits, '-' and '_'.
	Tenant string
	// Host is the SCS root domain (default "scp.splunk.com"; requests go to api.<Host>). OverrideHost is a
	// host[:port] used as is. At most one of them may be set.
	Host, OverrideHost string
	// Scheme is "https" (default) or "http".
	Scheme string
	// Token is the bearer access token (required); never printed.
	Token string
	// Index (sent as the "index" attribute), Source and Sourcetype apply to events that do not set their own.
	// Source and Sourcetype default to export.DefaultSource and export.DefaultSourcetype.
	Index, Source, Sourcetype string
	// BatchEvents (at most MaxBatchEvents) and BatchBytes (at most MaxBatchBytes) bound a request; 0 means the
	// maximum. An event larger than BatchBytes is sent alone.
	BatchEvents, BatchBytes int
	// Timeout bounds each request.
	Timeout time.Duration
	// MaxRetries is the number of retries of a batch after its first attempt; negative means none.
	MaxRetries int
	// Backoff is the wait between attempts when the service gives no Retry-After.
	Backoff export.Backoff
	// Transport is the base HTTP transport (default: a clone of http.DefaultTransport).
	Transport http.RoundTripper
}

// Exporter sends events to SCS ingest. It is safe for concurrent use.
type Exporter struct {
	cfg         Config
	meta        [3]string // source, sourcetype, index
	batchEvents int
	batchBytes  int
	policy      deliver.Policy
	base        http.RoundTripper
}

var _ export.Exporter = (*Exporter)(nil)

// New validates cfg and returns an Exporter. Errors name the setting at fault and never contain the token.
func New(cfg Config) (*Exporter, error) {
	if err := validTenant(cfg.Tenant); err != nil {
		return nil, err
	}
	if cfg.Host != "" && cfg.OverrideHost != "" {
		return nil, errors.New("scs: Host and OverrideHost are exclusive")
	}
	for _, h := range []string{cfg.Host, cfg.OverrideHost} {
		if strings.ContainsAny(h, "/?#@ \t\r\n") {
			return nil, fmt.Errorf("scs: host %q must be a host[:port], not a URL", h)
		}
	}
	switch cfg.Scheme {
	case "", "https", "http":
	default:
		return nil, fmt.Errorf("scs: Scheme %q must be https or http", cfg.Scheme)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("scs: token: %w", export.ErrNoToken)
	}
	if err := export.CheckToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("scs: %w", err)
	}
	if cfg.BatchEvents < 0 || cfg.BatchEvents > MaxBatchEvents {
		return nil, fmt.Errorf("scs: BatchEvents %d not within 0..%d", cfg.BatchEvents, MaxBatchEvents)
	}
	if cfg.BatchBytes < 0 || cfg.BatchBytes > MaxBatchBytes {
		return nil, fmt.Errorf("scs: BatchBytes %d not within 0..%d", cfg.BatchBytes, MaxBatchBytes)
	}
	if cfg.Timeout < 0 || cfg.Backoff.Initial < 0 || cfg.Backoff.Max < 0 {
		return nil, errors.New("scs: Timeout and Backoff must not be negative")
	}
	e := &Exporter{
		cfg:         cfg,
		meta:        [3]string{orDefault(cfg.Source, export.DefaultSource), orDefault(cfg.Sourcetype, export.DefaultSourcetype), cfg.Index},
		batchEvents: orDefault(cfg.BatchEvents, MaxBatchEvents),
		batchBytes:  orDefault(cfg.BatchBytes, MaxBatchBytes),
		policy: deliver.Policy{
			Timeout:    orDefault(cfg.Timeout, DefaultTimeout),
			MaxRetries: max(orDefault(cfg.MaxRetries, DefaultMaxRetries), 0),
			Backoff: export.Backoff{
				Initial: orDefault(cfg.Backoff.Initial, DefaultBackoffInit),
				Max:     orDefault(cfg.Backoff.Max, DefaultBackoffMax),
			},
		},
		base: cfg.Transport,
	}
	if e.policy.Backoff.Initial > e.policy.Backoff.Max {
		return nil, fmt.Errorf("scs: Backoff.Initial %v exceeds Backoff.Max %v", e.policy.Backoff.Initial, e.policy.Backoff.Max)
	}
	if e.base == nil {
		e.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	if _, _, err := e.client(); err != nil {
		return nil, err
	}
	return e, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// validTenant refuses what would change the request path: the SDK does not validate the tenant.
func validTenant(t string) error {
	if t == "" {
		return errors.New("scs: Tenant is required")
	}
	if len(t) > 128 {
		return fmt.Errorf("scs: Tenant is %d bytes long", len(t))
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("scs: Tenant %q: byte %d (%q) is not a letter, digit, '-' or '_'", t, i, c)
		}
	}
	return nil
}

// client builds an SDK client whose transport is an attemptTransport over e.base, without the SDK's own
// retries. Building one is cheap and makes no request.
func (e *Exporter) client() (*ingest.Service, *attemptTransport, error) {
	tr := &attemptTransport{base: e.base}
	c, err := services.NewClient(&services.Config{
		Token:        e.cfg.Token,
		Tenant:       e.cfg.Tenant,
		Host:         e.cfg.Host,
		OverrideHost: e.cfg.OverrideHost,
		Scheme:       e.cfg.Scheme,
		Timeout:      2 * e.policy.Timeout, // the attempt's context ends first
		RoundTripper: tr,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("scs: client: %w", err)
	}
	return ingest.NewService(c), tr, nil
}

// maxReply bounds how much of a reply body is kept.
const maxReply = 64 << 10

// attemptTransport gives each request the context of the current attempt (the SDK has none), records the
// status, Retry-After, Location and body of the reply, which the SDK does not return, and keeps the SDK's
// http.Client from following a redirect: it removes the Location of a 3xx (net/http then returns the reply as
// it is) and refuses a second request within one attempt.
type attemptTransport struct {
	base http.RoundTripper

	mu  sync.Mutex
	ctx context.Context
	got seen
}

// seen is what the transport saw of one attempt.
type seen struct {
	requests int
	status   int
	retry    time.Duration
	location string
	body     *recordBody
}

// start begins an attempt under ctx.
func (t *attemptTransport) start(ctx context.Context) {
	t.mu.Lock()
	t.ctx, t.got = ctx, seen{}
	t.mu.Unlock()
}

// finish ends the attempt and returns what it saw.
func (t *attemptTransport) finish() seen {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ctx = nil
	return t.got
}

// RoundTrip sends req under the current attempt's context.
func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	ctx := t.ctx
	t.got.requests++
	n := t.got.requests
	t.mu.Unlock()
	if n > 1 {
		return nil, fmt.Errorf("scs: a second request within one attempt (to %s) refused: redirects are not followed", req.URL.Redacted())
	}
	if ctx != nil {
		req = req.WithContext(ctx)
	}
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		rb := &recordBody{rc: resp.Body}
		resp.Body = rb
		t.mu.Lock()
		t.got.status = resp.StatusCode
		t.got.retry = deliver.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		t.got.body = rb
		if deliver.Classify(resp.StatusCode) == deliver.Redirect {
			t.got.location = resp.Header.Get("Location")
			resp.Header.Del("Location")
		}
		t.mu.Unlock()
	}
	return resp, err
}

// recordBody keeps the first maxReply bytes of a reply body and whether reading it failed (a body cut short);
// Close reads what the SDK left unread (up to 1 MiB) before closing, so that a cut is seen either way.
type recordBody struct {
	rc   io.ReadCloser
	mu   sync.Mutex
	kept []byte
	err  error
}

func (b *recordBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	if room := maxReply - len(b.kept); room > 0 {
		b.kept = append(b.kept, p[:min(n, room)]...)
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	return n, err
}

func (b *recordBody) Close() error {
	_, _ = io.Copy(io.Discard, io.LimitReader(readerFunc(b.Read), 1<<20))
	return b.rc.Close()
}

// result returns the kept bytes, their total being at most maxReply, and the read error.
func (b *recordBody) result() ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.kept, b.err
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// Export sends events in batches and accounts for every one of them; what is retried is as for HEC: see
// regasmdetect/src/export/hec. The error is non-nil exactly when some event was not sent.
func (e *Exporter) Export(ctx context.Context, events []export.Event) (export.Result, error) {
	var res export.Result
	svc, tr, err := e.client()
	if err != nil {
		deliver.Fail(&res, 0, len(events), err)
		return res, res.Err("scs: export")
	}
	prefix := "scs: export to tenant " + e.cfg.Tenant
	batch := make([]ingest.Event, 0, min(e.batchEvents, len(events)))
	size, start, n := 2, 0, 0
	var refused error
	flush := func(end int) {
		n++
		what := deliver.Span("scs", n, start, end)
		if refused != nil {
			deliver.Fail(&res, start, end, fmt.Errorf("%s: not sent after the token was refused: %w", what, refused))
		} else {
			o := e.policy.Do(ctx, what, func(actx context.Context) (deliver.Reply, error) {
				tr.start(actx)
				_, err := svc.PostEvents(batch)
				got := tr.finish()
				if got.status == 0 {
					if err == nil {
						err = errors.New("no response")
					}
					return deliver.Reply{}, deliver.Scrub(err, e.cfg.Token)
				}
				return deliver.Reply{Status: got.status, RetryAfter: got.retry, Err: replyErr(got, err, e.cfg.Token)}, nil
			})
			if o.Refused {
				refused = o.Err
			}
			deliver.Tally(&res, start, end, o)
		}
		// The SDK marshals the batch into its own buffer: the slice may be reused.
		clear(batch)
		batch, size, start = batch[:0], 2, end
	}
	for i := range events {
		ev := e.convert(&events[i])
		b, err := json.Marshal(ev)
		if err != nil { // cannot happen with strings only; never lose the event silently
			if start < i {
				flush(i)
			}
			deliver.Fail(&res, i, i+1, fmt.Errorf("scs: event %d: %w", i, err))
			start = i + 1
			continue
		}
		if len(batch) > 0 && (len(batch) >= e.batchEvents || size+1+len(b) > e.batchBytes) {
			flush(i)
		}
		if len(batch) > 0 {
			size++
		}
		size += len(b)
		batch = append(batch, ev)
	}
	if len(batch) > 0 {
		flush(len(events))
	}
	return res, res.Err(prefix)
}

// convert maps an export.Event to the ingest model: Body is the fields as a JSON object (one value a string,
// several an array), Timestamp is in epoch milliseconds, the index is the "index" attribute.
func (e *Exporter) convert(ev *export.Event) ingest.Event {
	body := make(map[string]any, len(ev.Fields))
	for _, f := range ev.Fields {
		switch len(f.Values) {
		case 0:
		case 1:
			body[f.Name] = f.Values[0]
		default:
			body[f.Name] = f.Values
		}
	}
	out := ingest.Event{Body: body}
	if ev.Host != "" {
		out.Host = &ev.Host
	}
	src, st, idx := orDefault(ev.Source, e.meta[0]), orDefault(ev.Sourcetype, e.meta[1]), orDefault(ev.Index, e.meta[2])
	out.Source, out.Sourcetype = &src, &st
	if idx != "" {
		out.Attributes = map[string]any{"index": idx}
	}
	if t := ev.Time; t > 0 && t < math.MaxInt64/1000 {
		ms := int64(math.Round(t * 1000))
		out.Timestamp = &ms
	}
	return out
}

// replyErr says why a reply is not a success: for a 2xx, why the body is not the service's success reply
// (wrapping export.ErrUnconfirmed); for a 3xx, an export.RedirectError; else the SDK's error as an
// export.HTTPError. It is nil for a well-formed success.
func replyErr(got seen, err error, token string) error {
	status := got.status
	switch deliver.Classify(status) {
	case deliver.Success:
		body, readErr := got.body.result()
		switch {
		case readErr != nil:
			return fmt.Errorf("HTTP %d, reply cut short after %d bytes (%v): %w", status, len(body), deliver.Scrub(readErr, token), export.ErrUnconfirmed)
		case len(body) >= maxReply:
			return fmt.Errorf("HTTP %d, reply over %d bytes: %w", status, maxReply, export.ErrUnconfirmed)
		}
		r, perr := ParseResponse(body)
		switch {
		case perr != nil:
			return fmt.Errorf("HTTP %d, %v: %w", status, perr, export.ErrUnconfirmed)
		case !r.Success():
			return fmt.Errorf("HTTP %d with code %q (%q), not %q: %w", status, r.Code, r.Message, SuccessCode, export.ErrUnconfirmed)
		case err != nil: // the SDK could not read what ParseResponse accepted
			return fmt.Errorf("HTTP %d, the SDK: %v: %w", status, deliver.Scrub(err, token), export.ErrUnconfirmed)
		}
		return nil
	case deliver.Redirect:
		return &export.RedirectError{StatusCode: status, Location: deliver.Location(got.location, token)}
	}
	he := &export.HTTPError{StatusCode: status, Code: -1, Text: http.StatusText(status)}
	var ue *util.HTTPError
	if errors.As(err, &ue) {
		switch {
		case ue.Message != "" && ue.Code != "":
			he.Text = ue.Code + ": " + ue.Message
		case ue.Message != "":
			he.Text = ue.Message
		case ue.Code != "":
			he.Text = ue.Code
		}
	}
	he.Text = strings.ReplaceAll(he.Text, token, "<token>")
	return he
}
