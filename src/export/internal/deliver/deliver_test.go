package deliver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"regasmdetect/src/export"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		want   Class
	}{
		{200, Success}, {204, Success}, {400, Permanent}, {401, Refused}, {403, Refused}, {404, Permanent},
		{408, Retry}, {413, Permanent}, {429, Retry}, {500, Retry}, {503, Retry}, {504, Retry},
		{300, Redirect}, {301, Redirect}, {302, Redirect}, {303, Redirect}, {304, Redirect}, {307, Redirect}, {308, Redirect},
	}
	for _, tc := range tests {
		if got := Classify(tc.status); got != tc.want {
			t.Errorf("Classify(%d) = %d, want %d", tc.status, got, tc.want)
		}
	}
}

// TestDoOutcomes: what one batch becomes for each kind of reply, and how many attempts it costs.
func TestDoOutcomes(t *testing.T) {
	p := Policy{Timeout: time.Second, MaxRetries: 3, Backoff: export.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}
	tests := []struct {
		name     string
		reply    Reply
		want     Kind
		attempts int
	}{
		{"2xx with the success reply", Reply{Status: 200}, Sent, 1},
		{"2xx without it", Reply{Status: 200, Err: export.ErrUnconfirmed}, Uncertain, 1},
		{"redirect", Reply{Status: 307, Err: &export.RedirectError{StatusCode: 307, Location: "http://x/"}}, Failed, 1},
		{"refused", Reply{Status: 403}, Failed, 1},
		{"busy", Reply{Status: 503}, Failed, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := p.Do(context.Background(), "b", func(context.Context) (Reply, error) { return tc.reply, nil })
			if o.Kind != tc.want || o.Attempts != tc.attempts || (tc.want != Sent) != (o.Err != nil) {
				t.Fatalf("outcome %+v, want kind %d after %d attempts", o, tc.want, tc.attempts)
			}
			if tc.reply.Err != nil && !errors.Is(o.Err, tc.reply.Err) {
				t.Fatalf("error %v does not wrap %v", o.Err, tc.reply.Err)
			}
		})
	}
}

// TestDoDeadline: a wait that would pass the context's deadline is not begun, and a cause set on the context
// (a signal, an export deadline) is named in the error.
func TestDoDeadline(t *testing.T) {
	p := Policy{Timeout: time.Second, MaxRetries: 3, Backoff: export.Backoff{Initial: time.Minute, Max: time.Minute}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	o := p.Do(ctx, "b", func(context.Context) (Reply, error) { return Reply{Status: 503, RetryAfter: 30 * time.Second}, nil })
	if o.Kind != Failed || o.Attempts != 1 || time.Since(start) > 5*time.Second || !strings.Contains(o.Err.Error(), "would pass the deadline") {
		t.Fatalf("outcome %+v after %v", o, time.Since(start))
	}
	why := errors.New("terminated signal received")
	cctx, ccancel := context.WithCancelCause(context.Background())
	ccancel(why)
	o = p.Do(cctx, "b", func(context.Context) (Reply, error) { t.Fatal("sent after cancellation"); return Reply{}, nil })
	if o.Kind != Failed || !errors.Is(o.Err, why) {
		t.Fatalf("outcome %+v", o)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-3", 0}, {"7", 7 * time.Second}, {" 2 ", 2 * time.Second}, {"soon", 0},
		{"99999999", MaxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := ParseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestJitter(t *testing.T) {
	b := export.Backoff{Initial: 500 * time.Millisecond, Max: 30 * time.Second}
	for attempt, full := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		for range 50 {
			d := Jitter(b, attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	if d := Jitter(export.Backoff{}, 3); d != 0 {
		t.Fatalf("zero backoff waits %v", d)
	}
}

func TestDoStopsOnPermanentAndCountsAttempts(t *testing.T) {
	p := Policy{Timeout: time.Second, MaxRetries: 3, Backoff: export.Backoff{Initial: time.Microsecond, Max: time.Microsecond}}
	statuses := []int{503, 429, 400, 200}
	calls := 0
	o := p.Do(context.Background(), "test", func(context.Context) (Reply, error) {
		s := statuses[calls]
		calls++
		return Reply{Status: s}, nil
	})
	if o.Kind != Failed || o.Attempts != 3 || calls != 3 || o.Status != 400 {
		t.Fatalf("outcome %+v after %d calls", o, calls)
	}
	var he *export.HTTPError
	if !errors.As(o.Err, &he) || he.StatusCode != 400 {
		t.Fatalf("error %v does not carry the status", o.Err)
	}
}

func TestDoUnwrittenTransportErrorIsRetried(t *testing.T) {
	p := Policy{Timeout: time.Second, MaxRetries: 2, Backoff: export.Backoff{Initial: time.Microsecond, Max: time.Microsecond}}
	boom := errors.New("dial tcp: connection refused")
	calls := 0
	o := p.Do(context.Background(), "test", func(context.Context) (Reply, error) {
		calls++
		return Reply{}, boom
	})
	if o.Kind != Failed || calls != 3 || !errors.Is(o.Err, boom) {
		t.Fatalf("outcome %+v after %d calls", o, calls)
	}
}

func TestTally(t *testing.T) {
	var r export.Result
	Tally(&r, 0, 3, Outcome{Kind: Sent})
	Tally(&r, 3, 5, Outcome{Kind: Uncertain})
	Tally(&r, 5, 6, Outcome{Kind: Failed, Err: errors.New("x")})
	Fail(&r, 6, 7, nil)
	if !r.Complete(7) || r.Sent != 3 || len(r.Uncertain) != 2 || len(r.Failed) != 2 || r.Failed[1].Err == nil || r.Uncertain[1].Err == nil {
		t.Fatalf("result %+v", r)
	}
	if got := Span("hec", 2, 100, 200); got != "hec: batch 2 (events 100-199)" {
		t.Fatal(got)
	}
}

func TestScrubAndLocation(t *testing.T) {
	const tok = "s3cr3t-t0ken"
	if err := Scrub(errors.New("dial: refused"), tok); err.Error() != "dial: refused" {
		t.Fatal(err)
	}
	if err := Scrub(errors.New("bad header Splunk "+tok), tok); err.Error() != "bad header Splunk <token>" {
		t.Fatal(err)
	}
	if Scrub(nil, tok) != nil {
		t.Fatal("nil error scrubbed into one")
	}
	for _, tc := range []struct{ raw, want string }{
		{"", ""},
		{"/login", "/login"},
		{"https://u:pw@h:8088/" + tok + "?q=" + tok, "https://u:xxxxx@h:8088/<token>?q=<token>"},
		{"http://h/" + strings.Repeat("a", 250), "http://h/" + strings.Repeat("a", 191) + "..."},
		{"%zz not a URL " + tok, "%zz not a URL <token>"},
	} {
		if got := Location(tc.raw, tok); got != tc.want {
			t.Errorf("Location(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}
