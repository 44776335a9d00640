// Package hec exports findings to the Splunk HTTP Event Collector (POST /services/collector/event), the way
// into Splunk Enterprise and Splunk Cloud Platform.
//
// Events are sent as HEC JSON objects concatenated in batches of at most [Config.BatchEvents] events and
// [Config.BatchBytes] bytes. A batch is retried on 408, 429, 5xx and on connection errors that happened before
// the request was written, honouring Retry-After; never on 400 (invalid data) nor 401/403 (token refused,
// which also fails every later batch without sending it). A batch whose request may have reached HEC without
// an answer (a timeout after the request was written, a connection closed before the reply) is not retried,
// since that could index it twice: its events are reported Uncertain. With [Config.UseAck], a batch counts as
// sent only once HEC confirms it indexed; unconfirmed batches are Uncertain.
//
// A batch counts as sent only on HEC's well-formed success reply, `{"text":"Success","code":0}` (code 0; with
// UseAck also an "ackId"): a 2xx status with an HTML, empty, cut-short or other body makes the batch Uncertain,
// since HEC may or may not have taken it. Redirects are never followed (the request carries the token): a
// 3xx fails the batch, naming the Location. Plain http:// URLs are refused unless [Config.AllowHTTP] is set.
package hec

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"regasmdetect/src/export"
	"regasmdetect/src/export/internal/deliver"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultBatchEvents = 100
	DefaultBatchBytes  = 1 << 20
	DefaultTimeout     = 30 * time.Second
	DefaultMaxRetries  = 5
	DefaultBackoffInit = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultAckTimeout  = 2 * time.Minute
	DefaultAckInterval = 2 * time.Second
	// EventPath is the endpoint appended to a URL given without a path.
	EventPath = "/services/collector/event"
)

// maxReply bounds how much of a reply body is read.
const maxReply = 64 << 10

// ErrPlainHTTP is returned by [New] for an http:// URL without [Config.AllowHTTP]: the token and the events
// would travel in clear text.
var ErrPlainHTTP = errors.New("plain http sends the token and the events in clear text")

// Config configures an [Exporter]. Zero values take the defaults above.
type Config struct {
	// URL is the HEC address: "https://host:8088" (EventPath is then appended) or a full URL with its path,
	// e.g. "https://host:8088/services/collector/event". Splunk Cloud Platform:
	// "https://http-inputs-<stack>.splunkcloud.com" (port 443). Credentials and a query are refused; so is
	// http:// unless AllowHTTP is set.
	URL string
	// AllowHTTP accepts an http:// URL (a HEC with SSL disabled). The token and the events then travel in
	// clear text: only behind an explicit choice of the user, who should be warned.
	AllowHTTP bool
	// Token is the HEC token, sent as "Authorization: Splunk <token>". Required; never printed.
	Token string
	// Index, Source and Sourcetype apply to events that do not set their own. Source and Sourcetype default
	// to export.DefaultSource and export.DefaultSourcetype; an empty Index leaves the token's default index.
	Index, Source, Sourcetype string
	// BatchEvents and BatchBytes bound a request. An event larger than BatchBytes is sent alone.
	BatchEvents, BatchBytes int
	// Timeout bounds each request.
	Timeout time.Duration
	// MaxRetries is the number of retries of a batch after its first attempt; negative means none.
	MaxRetries int
	// Backoff is the wait between attempts (exponential with jitter) when HEC gives no Retry-After.
	Backoff export.Backoff
	// InsecureSkipVerify disables TLS certificate verification. Only for a test instance with a self-signed
	// certificate, behind an explicit flag; prefer CACert.
	InsecureSkipVerify bool
	// CACert is the path of a PEM file of CA certificates to trust in place of the system pool.
	CACert string
	// HTTPClient, when set, is used with its redirect policy replaced (redirects are never followed);
	// InsecureSkipVerify and CACert must then be unset. Its own Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// UseAck turns indexer acknowledgement on: every request carries the X-Splunk-Request-Channel header and
	// batches are confirmed through /services/collector/ack. The token must have acknowledgement enabled.
	UseAck bool
	// Channel is the channel GUID for UseAck; empty generates a random one.
	Channel string
	// AckTimeout bounds the wait for acknowledgements after the last batch; AckInterval is the poll period.
	AckTimeout, AckInterval time.Duration
}

// Exporter sends events to HEC. It is safe for concurrent use.
type Exporter struct {
	url, ackURL string
	auth        string
	channel     string
	meta        meta
	batchEvents int
	batchBytes  int
	policy      deliver.Policy
	client      *http.Client
	ack         bool
	ackTimeout  time.Duration
	ackInterval time.Duration
}

var _ export.Exporter = (*Exporter)(nil)

// New validates cfg, applies the defaults and returns an Exporter. Errors name the setting at fault and never
// contain the token.
func New(cfg Config) (*Exporter, error) {
	u, err := eventURL(cfg.URL, cfg.AllowHTTP)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("hec: token: %w", export.ErrNoToken)
	}
	if err := export.CheckToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("hec: %w", err)
	}
	e := &Exporter{
		url:         u.String(),
		auth:        "Splunk " + cfg.Token,
		meta:        meta{source: cfg.Source, sourcetype: cfg.Sourcetype, index: cfg.Index},
		batchEvents: orDefault(cfg.BatchEvents, DefaultBatchEvents),
		batchBytes:  orDefault(cfg.BatchBytes, DefaultBatchBytes),
		ack:         cfg.UseAck,
		ackTimeout:  orDefault(cfg.AckTimeout, DefaultAckTimeout),
		ackInterval: orDefault(cfg.AckInterval, DefaultAckInterval),
		policy: deliver.Policy{
			Timeout:    orDefault(cfg.Timeout, DefaultTimeout),
			MaxRetries: orDefault(cfg.MaxRetries, DefaultMaxRetries),
			Backoff: export.Backoff{
				Initial: orDefault(cfg.Backoff.Initial, DefaultBackoffInit),
				Max:     orDefault(cfg.Backoff.Max, DefaultBackoffMax),
			},
		},
	}
	if e.meta.source == "" {
		e.meta.source = export.DefaultSource
	}
	if e.meta.sourcetype == "" {
		e.meta.sourcetype = export.DefaultSourcetype
	}
	if cfg.MaxRetries < 0 {
		e.policy.MaxRetries = 0
	}
	switch {
	case cfg.BatchEvents < 0:
		return nil, fmt.Errorf("hec: BatchEvents %d is negative", cfg.BatchEvents)
	case cfg.BatchBytes < 0:
		return nil, fmt.Errorf("hec: BatchBytes %d is negative", cfg.BatchBytes)
	case cfg.Timeout < 0 || cfg.Backoff.Initial < 0 || cfg.Backoff.Max < 0 || cfg.AckTimeout < 0 || cfg.AckInterval < 0:
		return nil, errors.New("hec: Timeout, Backoff, AckTimeout and AckInterval must not be negative")
	case e.policy.Backoff.Initial > e.policy.Backoff.Max:
		return nil, fmt.Errorf("hec: Backoff.Initial %v exceeds Backoff.Max %v", e.policy.Backoff.Initial, e.policy.Backoff.Max)
	}
	if e.client, err = httpClient(cfg); err != nil {
		return nil, err
	}
	if cfg.UseAck {
		if e.ackURL, err = ackURL(u); err != nil {
			return nil, err
		}
		e.channel = cfg.Channel
		if e.channel == "" {
			e.channel = NewChannel()
		} else if err := export.CheckToken(e.channel); err != nil {
			return nil, fmt.Errorf("hec: Channel: %w", err)
		}
	}
	return e, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// eventURL validates the configured URL and appends EventPath when it has no path.
func eventURL(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("hec: URL is required (e.g. https://splunk.example.com:8088)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("hec: URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("hec: URL %q: scheme must be https or http", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("hec: URL %q: no host", u.Redacted())
	}
	if u.Scheme == "http" && !allowHTTP {
		return nil, fmt.Errorf("hec: URL %q: %w; use https", u.Redacted(), ErrPlainHTTP)
	}
	if u.User != nil {
		return nil, fmt.Errorf("hec: URL %q: credentials in the URL are refused; use the token", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		u.RawQuery, u.Fragment = "", "" // may hold a token: never print it
		return nil, fmt.Errorf("hec: URL %q: a query or fragment is refused", u.Redacted())
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = EventPath
	}
	return u, nil
}

// ackURL derives /services/collector/ack from the event URL.
func ackURL(u *url.URL) (string, error) {
	const base = "/services/collector"
	i := strings.LastIndex(u.Path, base)
	if i < 0 {
		return "", fmt.Errorf("hec: UseAck: URL path %q has no %s to derive the ack endpoint from", u.Path, base)
	}
	a := *u
	a.Path = u.Path[:i+len(base)] + "/ack"
	return a.String(), nil
}

func httpClient(cfg Config) (*http.Client, error) {
	if cfg.HTTPClient != nil {
		if cfg.InsecureSkipVerify || cfg.CACert != "" {
			return nil, errors.New("hec: HTTPClient excludes InsecureSkipVerify and CACert; configure its transport")
		}
		c := *cfg.HTTPClient
		c.CheckRedirect = noRedirect
		return &c, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.InsecureSkipVerify || cfg.CACert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
		if cfg.CACert != "" {
			pem, err := os.ReadFile(cfg.CACert)
			if err != nil {
				return nil, fmt.Errorf("hec: CACert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("hec: CACert %s: no PEM certificate found", cfg.CACert)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}, nil
}

// noRedirect makes the client return a 3xx reply as it is, never following it: the request carries the
// token, which a redirect would hand to another address (in clear text for an http:// one), and a 301, 302
// or 303 would turn the POST into a GET without the events, whose 200 would look like a delivery.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewChannel returns a random channel GUID (a version 4 UUID from crypto/rand).
func NewChannel() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hx = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hx[c>>4], hx[c&0xf])
	}
	return string(out)
}

// URL returns the event endpoint the exporter posts to.
func (e *Exporter) URL() string { return e.url }

// PlainHTTP reports whether the exporter posts over plain http (Config.AllowHTTP with an http:// URL): the
// token and the events then travel in clear text, which the caller should say.
func (e *Exporter) PlainHTTP() bool { return strings.HasPrefix(e.url, "http://") }

// Channel returns the acknowledgement channel, "" without UseAck.
func (e *Exporter) Channel() string { return e.channel }

// pending is a batch accepted by HEC, waiting for its acknowledgement.
type pending struct {
	ack      int64
	from, to int
}

// Export sends events in batches and accounts for every one of them in the Result; see the package comment
// for what is retried. The error is non-nil exactly when some event was not sent.
func (e *Exporter) Export(ctx context.Context, events []export.Event) (export.Result, error) {
	var res export.Result
	var acks []pending
	buf := make([]byte, 0, min(e.batchBytes+e.batchBytes/8, 256<<10))
	start, batch := 0, 0
	refused := error(nil)
	flush := func(end, mark int) {
		batch++
		o, ackID, recorded := e.sendBatch(ctx, deliver.Span("hec", batch, start, end), buf[:mark], start, end, &res)
		switch {
		case recorded:
		case o.Kind == deliver.Sent && e.ack && ackID >= 0:
			acks = append(acks, pending{ack: ackID, from: start, to: end}) // counted once acknowledged
		default:
			deliver.Tally(&res, start, end, o)
		}
		if o.Refused {
			refused = o.Err
		}
		if o.Kind != deliver.Sent || o.Attempts > 1 {
			// The transport may still hold the body of a failed request: do not overwrite it.
			fresh := make([]byte, len(buf)-mark, cap(buf))
			copy(fresh, buf[mark:])
			buf = fresh
		} else {
			buf = buf[:copy(buf, buf[mark:])]
		}
		start = end
	}
	for i := range events {
		if refused != nil {
			break
		}
		mark := len(buf)
		buf = appendEvent(buf, &events[i], &e.meta)
		if i > start && (i-start >= e.batchEvents || len(buf) > e.batchBytes) {
			flush(i, mark)
		}
	}
	if start < len(events) {
		if refused != nil { // the events from start on, encoded or not, were never sent
			deliver.Fail(&res, start, len(events), fmt.Errorf("hec: not sent after the token was refused: %w", refused))
		} else {
			flush(len(events), len(buf))
		}
	}
	if len(acks) > 0 {
		e.awaitAcks(ctx, acks, &res)
	}
	return res, res.Err("hec: export to " + e.url)
}

// sendBatch posts one batch. With a 400 that names the first invalid event k of the batch, the events before
// k may have been accepted: they are recorded Uncertain here and the rest Failed, and recorded is true so that
// the caller records nothing more.
func (e *Exporter) sendBatch(ctx context.Context, what string, body []byte, from, to int, res *export.Result) (o deliver.Outcome, ackID int64, recorded bool) {
	var last Response
	o = e.policy.Do(ctx, what, func(actx context.Context) (deliver.Reply, error) {
		req, err := http.NewRequestWithContext(actx, http.MethodPost, e.url, bytes.NewReader(body))
		if err != nil {
			return deliver.Reply{}, fmt.Errorf("request: %w", err)
		}
		req.Header.Set("Authorization", e.auth)
		req.Header.Set("Content-Type", "application/json")
		if e.channel != "" {
			req.Header.Set("X-Splunk-Request-Channel", e.channel)
		}
		var rep deliver.Reply
		rep, last, err = e.do(req)
		return rep, err
	})
	if o.Kind == deliver.Failed && o.Status == http.StatusBadRequest && last.InvalidEventNumber > 0 &&
		last.InvalidEventNumber < to-from {
		k := from + last.InvalidEventNumber
		why := fmt.Errorf("%s: HEC refused event %d of the batch; the events before it may have been indexed: %w",
			what, last.InvalidEventNumber, o.Err)
		for i := from; i < k; i++ {
			res.Uncertain = append(res.Uncertain, export.Failure{Index: i, Err: why})
		}
		deliver.Fail(res, k, to, o.Err)
		recorded = true
	}
	return o, last.AckID, recorded
}

// do makes one request and reads HEC's reply.
func (e *Exporter) do(req *http.Request) (deliver.Reply, Response, error) {
	resp, err := e.client.Do(req)
	if err != nil {
		return deliver.Reply{}, Response{Code: -1, InvalidEventNumber: -1, AckID: -1}, deliver.Scrub(err, e.auth[len("Splunk "):])
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	r, perr := ParseResponse(body)
	rep := deliver.Reply{Status: resp.StatusCode, RetryAfter: deliver.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	switch deliver.Classify(resp.StatusCode) {
	case deliver.Success:
		rep.Err = e.checkSuccess(resp.StatusCode, body, rerr, r, perr)
	case deliver.Redirect:
		rep.Err = &export.RedirectError{StatusCode: resp.StatusCode, Location: deliver.Location(resp.Header.Get("Location"), e.auth[len("Splunk "):])}
	default:
		he := &export.HTTPError{StatusCode: resp.StatusCode, Code: r.Code, Text: r.Text}
		if perr != nil {
			he.Text = http.StatusText(resp.StatusCode)
		}
		if r.InvalidEventNumber >= 0 {
			he.Text += fmt.Sprintf(" (invalid-event-number %d)", r.InvalidEventNumber)
		}
		rep.Err = he
	}
	return rep, r, nil
}

// checkSuccess returns nil when a 2xx reply is HEC's well-formed success: a complete JSON object with "code"
// 0 (and, with acknowledgement, an "ackId"). Otherwise the error, wrapping export.ErrUnconfirmed, says what
// was wrong; the batch is then uncertain, since HEC may or may not have taken it.
func (e *Exporter) checkSuccess(status int, body []byte, readErr error, r Response, parseErr error) error {
	switch {
	case readErr != nil:
		return fmt.Errorf("HTTP %d, reply cut short after %d bytes (%v): %w", status, len(body), readErr, export.ErrUnconfirmed)
	case len(body) >= maxReply:
		return fmt.Errorf("HTTP %d, reply over %d bytes: %w", status, maxReply, export.ErrUnconfirmed)
	case parseErr != nil:
		return fmt.Errorf("HTTP %d, %v: %w", status, parseErr, export.ErrUnconfirmed)
	case r.Code != 0:
		return fmt.Errorf("HTTP %d with HEC code %d (%q), not 0: %w", status, r.Code, r.Text, export.ErrUnconfirmed)
	case e.ack && r.AckID < 0:
		return fmt.Errorf("HTTP %d without an ackId (is indexer acknowledgement enabled for the token?): %w", status, export.ErrUnconfirmed)
	}
	return nil
}
