package hec

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"regasmdetect/src/export"
	"regasmdetect/src/export/internal/testevents"
)

const testToken = "0123abcd-4567-89ef-tok3n-s3cr3t0000001"

// fakeHEC is a local HEC: it checks every request like HEC would (path, token, JSON events) and answers
// according to script, which returns whether the events of request n were accepted.
type fakeHEC struct {
	t      *testing.T
	srv    *httptest.Server
	script func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool

	mu       sync.Mutex
	requests [][]int     // seq numbers of every request received, in order
	bodies   []int       // body size of every request
	accepted map[int]int // seq -> times accepted
	channels map[string]bool
	acks     func(w http.ResponseWriter, ids []int64)
}

func newFakeHEC(t *testing.T, script func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool) *fakeHEC {
	f := &fakeHEC{t: t, script: script, accepted: map[int]int{}, channels: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func ok(w http.ResponseWriter) { reply(w, 200, `{"text":"Success","code":0}`) }

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *fakeHEC) serve(w http.ResponseWriter, r *http.Request) {
	if ch := r.Header.Get("X-Splunk-Request-Channel"); ch != "" {
		f.mu.Lock()
		f.channels[ch] = true
		f.mu.Unlock()
	}
	if r.URL.Path == "/services/collector/ack" {
		var q struct{ Acks []int64 }
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil || r.URL.Query().Get("channel") == "" {
			reply(w, 400, `{"text":"Invalid data format","code":6}`)
			return
		}
		f.acks(w, q.Acks)
		return
	}
	if r.URL.Path != EventPath || r.Method != http.MethodPost {
		reply(w, 404, `{"text":"The requested URL was not found on this server.","code":404}`)
		return
	}
	if r.Header.Get("Authorization") != "Splunk "+testToken {
		reply(w, 401, `{"text":"Invalid authorization","code":3}`)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	var seqs []int
	for dec.More() {
		var ev struct {
			Time       *float64
			Host       string
			Source     string
			Sourcetype string
			Index      string
			Event      map[string]any
		}
		if err := dec.Decode(&ev); err != nil {
			f.t.Errorf("fake HEC: request body is not concatenated JSON events: %v", err)
			reply(w, 400, `{"text":"Invalid data format","code":6,"invalid-event-number":0}`)
			return
		}
		if ev.Source == "" || ev.Sourcetype == "" || ev.Host == "" || ev.Event == nil {
			f.t.Errorf("fake HEC: event lacks metadata: %+v", ev)
		}
		seq, err := strconv.Atoi(fmt.Sprint(ev.Event["seq"]))
		if err != nil {
			f.t.Errorf("fake HEC: event without seq: %v", ev.Event)
		}
		seqs = append(seqs, seq)
	}
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, seqs)
	f.bodies = append(f.bodies, len(body))
	f.mu.Unlock()
	if f.script(n, w, r, seqs) {
		f.mu.Lock()
		for _, s := range seqs {
			f.accepted[s]++
		}
		f.mu.Unlock()
	}
}

func (f *fakeHEC) config() Config {
	return Config{
		URL:       f.srv.URL,
		AllowHTTP: true,
		Token:     testToken,
		Timeout:   2 * time.Second,
		Backoff:   export.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond},
	}
}

func (f *fakeHEC) numRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// checkAccounting asserts the invariants of every scenario against what the fake HEC accepted.
func checkAccounting(t *testing.T, n int, res export.Result, err error, f *fakeHEC) {
	t.Helper()
	if f == nil {
		testevents.Check(t, n, res, err, testToken, nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	testevents.Check(t, n, res, err, testToken, func(i int) int { return f.accepted[i] })
}

func seqRange(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestBatchingByCount(t *testing.T) {
	events := testevents.Make(250)
	f := newFakeHEC(t, func(int, http.ResponseWriter, *http.Request, []int) bool { return true })
	f.script = func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool { ok(w); return true }
	cfg := f.config()
	cfg.BatchEvents = 100
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, f)
	want := [][]int{seqRange(0, 100), seqRange(100, 200), seqRange(200, 250)}
	if got := f.requests; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests carried %v, want %v", got, want)
	}
}

func TestBatchingByBytes(t *testing.T) {
	events := testevents.Make(60)
	f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool { ok(w); return true })
	cfg := f.config()
	cfg.BatchBytes = 4000
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, f)
	if len(f.requests) < 2 {
		t.Fatalf("%d requests for %d events over a 4000-byte limit", len(f.requests), len(events))
	}
	next := 0
	for i, seqs := range f.requests {
		if f.bodies[i] > cfg.BatchBytes && len(seqs) > 1 {
			t.Errorf("request %d: %d bytes and %d events exceed BatchBytes", i, f.bodies[i], len(seqs))
		}
		if fmt.Sprint(seqs) != fmt.Sprint(seqRange(next, next+len(seqs))) {
			t.Errorf("request %d carried %v, want events from %d in order", i, seqs, next)
		}
		next += len(seqs)
	}
	// A larger limit would have fitted the first event of the next batch: batches are full.
	for i := 0; i+1 < len(f.requests); i++ {
		one := len(appendEvent(nil, &events[f.requests[i+1][0]], &e.meta))
		if f.bodies[i]+one <= cfg.BatchBytes {
			t.Errorf("request %d (%d bytes) could have taken the next event (%d bytes)", i, f.bodies[i], one)
		}
	}
}

func TestOversizedEventGoesAlone(t *testing.T) {
	events := testevents.Make(3)
	events[1].Fields = append(events[1].Fields, export.Field{Name: "blob", Values: []string{strings.Repeat("x", 5000)}})
	f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool { ok(w); return true })
	cfg := f.config()
	cfg.BatchBytes = 2000
	e, _ := New(cfg)
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, f)
	if want := "[[0] [1] [2]]"; fmt.Sprint(f.requests) != want {
		t.Fatalf("requests %v, want %s", f.requests, want)
	}
}

// statusScript answers the listed replies in turn, then Success.
func statusScript(replies ...func(w http.ResponseWriter)) func(int, http.ResponseWriter, *http.Request, []int) bool {
	return func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
		if n < len(replies) {
			replies[n](w)
			return false
		}
		ok(w)
		return true
	}
}

func status(code int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { reply(w, code, body) }
}

func TestStatuses(t *testing.T) {
	busy := status(503, `{"text":"Server is busy","code":9}`)
	tests := []struct {
		name         string
		replies      []func(http.ResponseWriter)
		batchEvents  int
		maxRetries   int
		wantSent     int
		wantFailed   int
		wantUncert   int
		wantRequests int
		wantErr      string
	}{
		{name: "429 then 503 then 200 delivers once",
			replies:  []func(http.ResponseWriter){status(429, `{"text":"Too many requests"}`), busy},
			wantSent: 10, wantRequests: 3},
		{name: "500 internal error is retried",
			replies:  []func(http.ResponseWriter){status(500, `{"text":"Internal server error","code":8}`)},
			wantSent: 10, wantRequests: 2},
		{name: "busy beyond the retries fails",
			replies:    []func(http.ResponseWriter){busy, busy, busy, busy},
			maxRetries: 2, wantFailed: 10, wantRequests: 3, wantErr: "HTTP 503: Server is busy (code 9) (gave up after 3 attempts)"},
		{name: "400 invalid data is not retried",
			replies:    []func(http.ResponseWriter){status(400, `{"text":"Invalid data format","code":6}`)},
			wantFailed: 10, wantRequests: 1, wantErr: "HTTP 400: Invalid data format (code 6)"},
		{name: "400 incorrect index fails only its batch",
			replies:     []func(http.ResponseWriter){status(400, `{"text":"Incorrect index","code":7,"invalid-event-number":0}`)},
			batchEvents: 4, wantSent: 6, wantFailed: 4, wantRequests: 3, wantErr: "Incorrect index"},
		{name: "400 at event 3: earlier events uncertain",
			replies:    []func(http.ResponseWriter){status(400, `{"text":"Invalid data format","code":6,"invalid-event-number":3}`)},
			wantFailed: 7, wantUncert: 3, wantRequests: 1, wantErr: "invalid-event-number 3"},
		{name: "403 invalid token fails every batch, sends one",
			replies:     []func(http.ResponseWriter){status(403, `{"text":"Invalid token","code":4}`)},
			batchEvents: 3, wantFailed: 10, wantRequests: 1, wantErr: "HTTP 403: Invalid token (code 4)"},
		{name: "401 token disabled",
			replies:    []func(http.ResponseWriter){status(401, `{"text":"Token is required","code":2}`)},
			wantFailed: 10, wantRequests: 1, wantErr: "HTTP 401: Token is required (code 2)"},
		{name: "404 without HEC JSON",
			replies:    []func(http.ResponseWriter){status(404, `<html>not found</html>`)},
			wantFailed: 10, wantRequests: 1, wantErr: "HTTP 404: Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := testevents.Make(10)
			f := newFakeHEC(t, statusScript(tc.replies...))
			cfg := f.config()
			cfg.BatchEvents = tc.batchEvents
			cfg.MaxRetries = tc.maxRetries
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), events)
			checkAccounting(t, len(events), res, err, f)
			if res.Sent != tc.wantSent || len(res.Failed) != tc.wantFailed || len(res.Uncertain) != tc.wantUncert {
				t.Fatalf("sent %d failed %d uncertain %d, want %d %d %d (err %v)", res.Sent, len(res.Failed),
					len(res.Uncertain), tc.wantSent, tc.wantFailed, tc.wantUncert, err)
			}
			if n := f.numRequests(); n != tc.wantRequests {
				t.Fatalf("%d requests, want %d", n, tc.wantRequests)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
			var he *export.HTTPError
			if len(res.Failed) > 0 && !errors.As(res.Failed[0].Err, &he) {
				t.Fatalf("failure %v does not unwrap to *export.HTTPError", res.Failed[0].Err)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	events := testevents.Make(2)
	f := newFakeHEC(t, statusScript(func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "1")
		reply(w, 503, `{"text":"Server is busy","code":9}`)
	}))
	e, _ := New(f.config())
	start := time.Now()
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, f)
	if el := time.Since(start); el < time.Second {
		t.Fatalf("retried after %v, Retry-After asked for 1s", el)
	}
	if res.Sent != 2 || f.numRequests() != 2 {
		t.Fatalf("sent %d in %d requests", res.Sent, f.numRequests())
	}
}

func TestHangingServerIsUncertain(t *testing.T) {
	events := testevents.Make(5)
	release := make(chan struct{})
	f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
		<-release // the request was read; never answer in time
		return false
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	cfg := f.config()
	cfg.Timeout = 150 * time.Millisecond
	e, _ := New(cfg)
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, f)
	// The handler may not have counted the request yet when the client gives up (a loaded machine): what
	// matters is that a written request is never sent again.
	if len(res.Uncertain) != 5 || f.numRequests() > 1 {
		t.Fatalf("uncertain %d after %d requests, want 5 after at most 1 (no retry of a written request)", len(res.Uncertain), f.numRequests())
	}
	if !strings.Contains(err.Error(), "5 uncertain") {
		t.Fatalf("error %q does not report the uncertain events", err)
	}
}

func TestConnectionClosedAfterRequestIsUncertain(t *testing.T) {
	events := testevents.Make(4)
	f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
		if n == 0 {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return false
		}
		ok(w)
		return true
	})
	cfg := f.config()
	cfg.BatchEvents = 2
	e, _ := New(cfg)
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, f)
	if fmt.Sprint(testevents.Indexes(res.Uncertain)) != "[0 1]" || res.Sent != 2 {
		t.Fatalf("uncertain %v sent %d, want [0 1] and 2", res.Uncertain, res.Sent)
	}
}

func TestConnectionRefusedIsRetriedThenFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	events := testevents.Make(3)
	e, err := New(Config{URL: "http://" + addr, AllowHTTP: true, Token: testToken, MaxRetries: 2,
		Backoff: export.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, nil)
	if len(res.Failed) != 3 || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("failed %d, err %v", len(res.Failed), err)
	}
}

func TestServerDroppingConnectionsBeforeReading(t *testing.T) {
	// A listener that accepts and closes at once, then a working HEC on the same address would race; instead
	// every connection is closed unread: each attempt fails, written or not, and nothing is hidden.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	events := testevents.Make(6)
	e, _ := New(Config{URL: "http://" + ln.Addr().String(), AllowHTTP: true, Token: testToken, BatchEvents: 2, MaxRetries: 1,
		Backoff: export.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}})
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, nil)
	if res.Sent != 0 || err == nil {
		t.Fatalf("sent %d to a server that reads nothing; err %v", res.Sent, err)
	}
}

func TestContextCancellation(t *testing.T) {
	events := testevents.Make(9)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
		if n == 0 {
			ok(w)
			return true
		}
		cancel() // the caller gives up while the second batch is in flight
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	t.Cleanup(func() { close(release) })
	cfg := f.config()
	cfg.BatchEvents = 3
	e, _ := New(cfg)
	res, err := e.Export(ctx, events)
	checkAccounting(t, len(events), res, err, f)
	if res.Sent != 3 || fmt.Sprint(testevents.Indexes(res.Uncertain)) != "[3 4 5]" || len(res.Failed) != 3 {
		t.Fatalf("sent %d uncertain %v failed %d, want 3, [3 4 5], 3", res.Sent, res.Uncertain, len(res.Failed))
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not wrap context.Canceled", err)
	}
	if f.numRequests() != 2 {
		t.Fatalf("%d requests after cancellation, want 2", f.numRequests())
	}

	// Cancelled before the start: nothing is sent, everything fails.
	res, err = e.Export(ctx, events)
	checkAccounting(t, len(events), res, err, nil)
	if len(res.Failed) != len(events) || f.numRequests() != 2 {
		t.Fatalf("cancelled export: failed %d, requests %d", len(res.Failed), f.numRequests())
	}
}

func TestIndexerAcknowledgement(t *testing.T) {
	tests := []struct {
		name       string
		confirm    int // polls before the acks turn true; -1 never
		wantSent   int
		wantUncert int
	}{
		{"confirmed on the third poll", 2, 7, 0},
		{"never confirmed", -1, 0, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := testevents.Make(7)
			var nextAck int64
			f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
				reply(w, 200, fmt.Sprintf(`{"text":"Success","code":0,"ackId":%d}`, nextAck))
				nextAck++
				return true
			})
			polls := 0
			f.acks = func(w http.ResponseWriter, ids []int64) {
				m := map[string]bool{}
				for _, id := range ids {
					m[strconv.FormatInt(id, 10)] = tc.confirm >= 0 && polls >= tc.confirm
				}
				polls++
				b, _ := json.Marshal(map[string]any{"acks": m})
				reply(w, 200, string(b))
			}
			cfg := f.config()
			cfg.BatchEvents = 3
			cfg.UseAck = true
			cfg.AckInterval = 5 * time.Millisecond
			cfg.AckTimeout = 200 * time.Millisecond
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), events)
			checkAccounting(t, len(events), res, err, f)
			if res.Sent != tc.wantSent || len(res.Uncertain) != tc.wantUncert {
				t.Fatalf("sent %d uncertain %d, want %d %d", res.Sent, len(res.Uncertain), tc.wantSent, tc.wantUncert)
			}
			if len(f.channels) != 1 || !f.channels[e.Channel()] || len(e.Channel()) != 36 {
				t.Fatalf("channels seen %v, exporter channel %q", f.channels, e.Channel())
			}
		})
	}
}

func TestCACert(t *testing.T) {
	events := testevents.Make(2)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		ok(w)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{URL: srv.URL, Token: testToken, MaxRetries: -1}
	tests := []struct {
		name     string
		mod      func(*Config)
		wantSent int
		wantErr  string
	}{
		{"system roots refuse a self-signed certificate", func(*Config) {}, 0, "certificate"},
		{"CACert trusts it", func(c *Config) { c.CACert = ca }, 2, ""},
		{"InsecureSkipVerify", func(c *Config) { c.InsecureSkipVerify = true }, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), events)
			checkAccounting(t, len(events), res, err, nil)
			if res.Sent != tc.wantSent || (tc.wantErr != "" && !strings.Contains(fmt.Sprint(err), tc.wantErr)) {
				t.Fatalf("sent %d err %v", res.Sent, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantURL string
		wantErr string
	}{
		{"host and port get the event path", Config{URL: "https://splunk.example.com:8088", Token: testToken},
			"https://splunk.example.com:8088/services/collector/event", ""},
		{"trailing slash", Config{URL: "https://splunk.example.com:8088/", Token: testToken},
			"https://splunk.example.com:8088/services/collector/event", ""},
		{"Splunk Cloud Platform", Config{URL: "https://http-inputs-acme.splunkcloud.com", Token: testToken},
			"https://http-inputs-acme.splunkcloud.com/services/collector/event", ""},
		{"full path kept", Config{URL: "https://h:8088/services/collector/event/1.0", Token: testToken},
			"https://h:8088/services/collector/event/1.0", ""},
		{"no URL", Config{Token: testToken}, "", "URL is required"},
		{"bad scheme", Config{URL: "ftp://h", Token: testToken}, "", "scheme must be https or http"},
		{"plain http refused", Config{URL: "http://h:8088", Token: testToken}, "", "clear text"},
		{"plain http allowed", Config{URL: "http://h:8088", AllowHTTP: true, Token: testToken},
			"http://h:8088/services/collector/event", ""},
		{"no host", Config{URL: "https:///x", Token: testToken}, "", "no host"},
		{"credentials", Config{URL: "https://u:" + testToken + "@h:8088", Token: testToken}, "", "credentials in the URL"},
		{"token in query", Config{URL: "https://h:8088/services/collector?token=" + testToken, Token: testToken}, "", "query"},
		{"no token", Config{URL: "https://h:8088"}, "", "no token"},
		{"token with newline", Config{URL: "https://h:8088", Token: testToken + "\r\nX-Evil: 1"}, "", "control character"},
		{"negative batch", Config{URL: "https://h:8088", Token: testToken, BatchEvents: -1}, "", "BatchEvents"},
		{"client and CA", Config{URL: "https://h:8088", Token: testToken, HTTPClient: http.DefaultClient, CACert: "x"}, "", "HTTPClient excludes"},
		{"missing CA file", Config{URL: "https://h:8088", Token: testToken, CACert: filepath.Join(t.TempDir(), "none.pem")}, "", "CACert"},
		{"ack needs the collector path", Config{URL: "https://h:8088/hec", Token: testToken, UseAck: true}, "", "ack endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), testToken) {
					t.Fatalf("error shows the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.URL() != tc.wantURL || e.PlainHTTP() != strings.HasPrefix(tc.wantURL, "http://") {
				t.Fatalf("URL %q (plain http %v), want %q", e.URL(), e.PlainHTTP(), tc.wantURL)
			}
		})
	}
}

func TestNewChannel(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := NewChannel()
		if len(c) != 36 || c[8] != '-' || c[13] != '-' || c[14] != '4' || c[18] != '-' || c[23] != '-' ||
			!strings.ContainsRune("89ab", rune(c[19])) || seen[c] {
			t.Fatalf("channel %q is not a fresh version 4 UUID", c)
		}
		seen[c] = true
	}
}

func BenchmarkExport(b *testing.B) {
	events := testevents.Make(1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		ok(w)
	}))
	defer srv.Close()
	e, err := New(Config{URL: srv.URL, AllowHTTP: true, Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for i := range events {
		n += len(appendEvent(nil, &events[i], &e.meta))
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if res, err := e.Export(context.Background(), events); err != nil || res.Sent != len(events) {
			b.Fatal(err)
		}
	}
}
