package scs

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"regasmdetect/src/export"
	"regasmdetect/src/export/internal/testevents"
)

const (
	testToken  = "eyJhbGciOi.scs-b3arer-s3cr3t.0000001"
	testTenant = "acme-sec"
)

type wireEvent struct {
	Body       map[string]any
	Attributes map[string]any
	Host       string
	Source     string
	Sourcetype string
	Timestamp  int64
}

// fakeSCS is a local ingest service: it checks path, bearer token and the JSON array body, records every
// request and answers according to script, which returns whether the events were accepted.
type fakeSCS struct {
	t      *testing.T
	srv    *httptest.Server
	script func(n int, w http.ResponseWriter, evs []wireEvent) bool

	mu       sync.Mutex
	requests [][]int
	bodies   []int
	events   map[int]wireEvent
	accepted map[int]int
}

func newFakeSCS(t *testing.T, script func(n int, w http.ResponseWriter, evs []wireEvent) bool) *fakeSCS {
	f := &fakeSCS{t: t, script: script, events: map[int]wireEvent{}, accepted: map[int]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// ok answers the ingest service's success reply.
func ok(w http.ResponseWriter) { reply(w, 200, `{"code":"SUCCESS","message":"Success"}`) }

func (f *fakeSCS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/"+testTenant+"/ingest/v1beta2/events" || r.Method != http.MethodPost {
		reply(w, 404, `{"code":"not_found","message":"no such path"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		reply(w, 401, `{"code":"unauthorized","message":"Error validating request"}`)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var evs []wireEvent
	if err := json.Unmarshal(body, &evs); err != nil {
		f.t.Errorf("fake SCS: body is not a JSON array of events: %v", err)
		reply(w, 400, `{"code":"invalid_json","message":"bad body"}`)
		return
	}
	var seqs []int
	f.mu.Lock()
	for _, ev := range evs {
		seq, err := strconv.Atoi(fmt.Sprint(ev.Body["seq"]))
		if err != nil {
			f.t.Errorf("fake SCS: event without seq: %v", ev.Body)
		}
		seqs = append(seqs, seq)
		f.events[seq] = ev
	}
	n := len(f.requests)
	f.requests = append(f.requests, seqs)
	f.bodies = append(f.bodies, len(body))
	f.mu.Unlock()
	if f.script(n, w, evs) {
		f.mu.Lock()
		for _, s := range seqs {
			f.accepted[s]++
		}
		f.mu.Unlock()
	}
}

func (f *fakeSCS) config() Config {
	return Config{
		Tenant:       testTenant,
		OverrideHost: strings.TrimPrefix(f.srv.URL, "http://"),
		Scheme:       "http",
		Token:        testToken,
		Timeout:      2 * time.Second,
		Backoff:      export.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond},
	}
}

func (f *fakeSCS) check(t *testing.T, n int, res export.Result, err error) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	testevents.Check(t, n, res, err, testToken, func(i int) int { return f.accepted[i] })
}

func (f *fakeSCS) numRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func always(n int, w http.ResponseWriter, evs []wireEvent) bool { ok(w); return true }

func TestWireFormat(t *testing.T) {
	events := testevents.Make(13)
	events[2].Index = "endpoint"
	events[3].Time = 0
	f := newFakeSCS(t, always)
	cfg := f.config()
	cfg.Index = "main"
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Export(context.Background(), events)
	f.check(t, len(events), res, err)
	for i, ev := range events {
		got := f.events[i]
		wantMs := int64(ev.Time*1000 + 0.5)
		if got.Timestamp != wantMs || got.Host != ev.Host || got.Source != export.DefaultSource ||
			got.Sourcetype != export.DefaultSourcetype {
			t.Errorf("event %d arrived as %+v (want timestamp %d ms)", i, got, wantMs)
		}
		wantIndex := "main"
		if i == 2 {
			wantIndex = "endpoint"
		}
		if got.Attributes["index"] != wantIndex {
			t.Errorf("event %d index attribute %v, want %s", i, got.Attributes, wantIndex)
		}
		if got.Body["process"] != ev.Fields[4].Values[0] {
			t.Errorf("event %d process %v", i, got.Body["process"])
		}
		if hs, ok := got.Body["hashes"].([]any); !ok || len(hs) != len(ev.Fields[7].Values) {
			t.Errorf("event %d multivalue hashes arrived as %v", i, got.Body["hashes"])
		}
	}
	if events[0].Time == 0 || f.events[3].Timestamp != 0 {
		t.Fatalf("unknown time must be omitted: %d", f.events[3].Timestamp)
	}
}

func TestBatching(t *testing.T) {
	tests := []struct {
		name        string
		n           int
		batchEvents int
		batchBytes  int
		wantSizes   string
	}{
		{"default 500 events per request", 1200, 0, 0, "[500 500 200]"},
		{"by count", 25, 10, 0, "[10 10 5]"},
		{"by bytes", 30, 0, 6000, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := testevents.Make(tc.n)
			f := newFakeSCS(t, always)
			cfg := f.config()
			cfg.BatchEvents, cfg.BatchBytes = tc.batchEvents, tc.batchBytes
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), events)
			f.check(t, len(events), res, err)
			var sizes []int
			next := 0
			for i, seqs := range f.requests {
				sizes = append(sizes, len(seqs))
				if tc.batchBytes > 0 && f.bodies[i] > tc.batchBytes {
					t.Errorf("request %d has %d bytes, over %d", i, f.bodies[i], tc.batchBytes)
				}
				for j, s := range seqs {
					if s != next+j {
						t.Fatalf("request %d carries %v, want events from %d in order", i, seqs, next)
					}
				}
				next += len(seqs)
			}
			if tc.wantSizes != "" && fmt.Sprint(sizes) != tc.wantSizes {
				t.Fatalf("request sizes %v, want %s", sizes, tc.wantSizes)
			}
			if tc.batchBytes > 0 && len(sizes) < 2 {
				t.Fatalf("one request for %d events under a %d-byte limit", tc.n, tc.batchBytes)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	type step func(w http.ResponseWriter)
	st := func(code int, body string) step { return func(w http.ResponseWriter) { reply(w, code, body) } }
	tests := []struct {
		name                    string
		steps                   []step
		batchEvents, maxRetries int
		sent, failed, requests  int
		wantErr                 string
	}{
		{name: "429 then 503 then 200 delivers once",
			steps: []step{st(429, `{"code":"too_many_requests","message":"slow down"}`), st(503, `oops`)},
			sent:  8, requests: 3},
		{name: "400 is not retried",
			steps:  []step{st(400, `{"code":"invalid_event","message":"event body too large"}`)},
			failed: 8, requests: 1, wantErr: "HTTP 400: invalid_event: event body too large"},
		{name: "401 fails every batch and sends one",
			steps:       []step{st(401, `{"code":"unauthorized","message":"Error validating request"}`)},
			batchEvents: 3, failed: 8, requests: 1, wantErr: "HTTP 401: unauthorized"},
		{name: "5xx beyond the retries",
			steps:      []step{st(502, ``), st(502, ``), st(502, ``)},
			maxRetries: 1, failed: 8, requests: 2, wantErr: "gave up after 2 attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := testevents.Make(8)
			f := newFakeSCS(t, func(n int, w http.ResponseWriter, evs []wireEvent) bool {
				if n < len(tc.steps) {
					tc.steps[n](w)
					return false
				}
				ok(w)
				return true
			})
			cfg := f.config()
			cfg.BatchEvents, cfg.MaxRetries = tc.batchEvents, tc.maxRetries
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), events)
			f.check(t, len(events), res, err)
			if res.Sent != tc.sent || len(res.Failed) != tc.failed || f.numRequests() != tc.requests {
				t.Fatalf("sent %d failed %d in %d requests, want %d %d %d (err %v)", res.Sent, len(res.Failed),
					f.numRequests(), tc.sent, tc.failed, tc.requests, err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	events := testevents.Make(2)
	f := newFakeSCS(t, func(n int, w http.ResponseWriter, evs []wireEvent) bool {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			reply(w, 429, `{"code":"too_many_requests"}`)
			return false
		}
		ok(w)
		return true
	})
	e, _ := New(f.config())
	start := time.Now()
	res, err := e.Export(context.Background(), events)
	f.check(t, len(events), res, err)
	if time.Since(start) < time.Second || f.numRequests() != 2 {
		t.Fatalf("retried after %v in %d requests; Retry-After asked 1s", time.Since(start), f.numRequests())
	}
}

func TestHangingServerIsUncertain(t *testing.T) {
	events := testevents.Make(4)
	release := make(chan struct{})
	f := newFakeSCS(t, func(n int, w http.ResponseWriter, evs []wireEvent) bool { <-release; return false })
	t.Cleanup(func() { close(release) })
	cfg := f.config()
	cfg.Timeout = 150 * time.Millisecond
	e, _ := New(cfg)
	res, err := e.Export(context.Background(), events)
	f.check(t, len(events), res, err)
	if len(res.Uncertain) != 4 || f.numRequests() != 1 {
		t.Fatalf("uncertain %v after %d requests", res.Uncertain, f.numRequests())
	}
}

func TestContextCancellation(t *testing.T) {
	events := testevents.Make(6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFakeSCS(t, func(n int, w http.ResponseWriter, evs []wireEvent) bool {
		if n == 0 {
			ok(w)
			return true
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
		return false
	})
	cfg := f.config()
	cfg.BatchEvents = 2
	e, _ := New(cfg)
	res, err := e.Export(ctx, events)
	f.check(t, len(events), res, err)
	if res.Sent != 2 || fmt.Sprint(testevents.Indexes(res.Uncertain)) != "[2 3]" || len(res.Failed) != 2 || !errors.Is(err, context.Canceled) {
		t.Fatalf("sent %d uncertain %v failed %d err %v", res.Sent, res.Uncertain, len(res.Failed), err)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	events := testevents.Make(3)
	e, err := New(Config{Tenant: testTenant, OverrideHost: addr, Scheme: "http", Token: testToken, MaxRetries: 1,
		Backoff: export.Backoff{Initial: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Export(context.Background(), events)
	testevents.Check(t, len(events), res, err, testToken, nil)
	if len(res.Failed) != 3 || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("failed %d, err %v", len(res.Failed), err)
	}
}

func TestNew(t *testing.T) {
	base := Config{Tenant: testTenant, Token: testToken}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"no tenant", func(c *Config) { c.Tenant = "" }, "Tenant is required"},
		{"tenant with a slash", func(c *Config) { c.Tenant = "a/../b" }, "not a letter"},
		{"both hosts", func(c *Config) { c.Host, c.OverrideHost = "scp.splunk.com", "localhost:1" }, "exclusive"},
		{"host is a URL", func(c *Config) { c.OverrideHost = "https://x/y" }, "host[:port]"},
		{"scheme", func(c *Config) { c.Scheme = "ftp" }, "Scheme"},
		{"no token", func(c *Config) { c.Token = "" }, "no token"},
		{"token with newline", func(c *Config) { c.Token += "\n" }, "control character"},
		{"too many events", func(c *Config) { c.BatchEvents = 501 }, "BatchEvents"},
		{"too many bytes", func(c *Config) { c.BatchBytes = MaxBatchBytes + 1 }, "BatchBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			_, err := New(cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), testToken) {
				t.Fatalf("err %v, want %q without the token", err, tc.wantErr)
			}
		})
	}
}

// TestGlogFlags documents a side effect of the SDK: importing it registers glog's flags on flag.CommandLine.
// The program parses private flag sets, so they never appear; if this test fails, the SDK dropped glog and
// the note in the package comment and docs/export.md can go.
func TestGlogFlags(t *testing.T) {
	for _, name := range []string{"log_dir", "logtostderr", "v"} {
		if flag.CommandLine.Lookup(name) == nil {
			t.Errorf("flag -%s not registered on flag.CommandLine", name)
		}
	}
}

func BenchmarkExport(b *testing.B) {
	events := testevents.Make(500)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		ok(w)
	}))
	defer srv.Close()
	e, err := New(Config{Tenant: testTenant, OverrideHost: strings.TrimPrefix(srv.URL, "http://"), Scheme: "http", Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for i := range events {
		p, _ := json.Marshal(e.convert(&events[i]))
		n += len(p)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if res, err := e.Export(context.Background(), events); err != nil || res.Sent != len(events) {
			b.Fatal(err)
		}
	}
}
