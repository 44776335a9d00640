package deliver

import (
	"context"
	"errors"
	"net/http"
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
		{408, Retry}, {413, Permanent}, {429, Retry}, {500, Retry}, {503, Retry}, {504, Retry}, {302, Permanent},
	}
	for _, tc := range tests {
		if got := Classify(tc.status); got != tc.want {
			t.Errorf("Classify(%d) = %d, want %d", tc.status, got, tc.want)
		}
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
	if !r.Complete(7) || r.Sent != 3 || len(r.Uncertain) != 2 || len(r.Failed) != 2 || r.Failed[1].Err == nil {
		t.Fatalf("result %+v", r)
	}
	if got := Span("hec", 2, 100, 200); got != "hec: batch 2 (events 100-199)" {
		t.Fatal(got)
	}
}
