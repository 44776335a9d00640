package hec

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// recorder is a local server that counts what reaches it and whether the token came along.
type recorder struct {
	srv *httptest.Server

	mu        sync.Mutex
	requests  int
	withToken int
	methods   []string
}

func newRecorder(t *testing.T, tls bool, answer func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		rec.mu.Lock()
		rec.requests++
		rec.methods = append(rec.methods, r.Method)
		if strings.Contains(r.Header.Get("Authorization"), testToken) {
			rec.withToken++
		}
		rec.mu.Unlock()
		answer(w, r)
	})
	if tls {
		rec.srv = httptest.NewTLSServer(h)
	} else {
		rec.srv = httptest.NewServer(h)
	}
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) counts() (requests, withToken int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, r.withToken
}

// TestRedirectsAreNotFollowed: a 3xx is a failure of its batch that names the Location; nothing reaches the
// target, so neither the token nor the events leave for another address, and a 302 cannot turn the POST into
// a GET whose 200 would pass for a delivery.
func TestRedirectsAreNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, tlsToPlain := range []bool{false, true} {
			name := fmt.Sprintf("%d same server", code)
			if tlsToPlain {
				name = fmt.Sprintf("%d https to http", code)
			}
			t.Run(name, func(t *testing.T) {
				events := testevents.Make(6)
				// The target answers HEC's success to anything: following the redirect would "deliver".
				target := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) { ok(w) })
				origin := newRecorder(t, tlsToPlain, func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/moved" { // the same server's own target
						ok(w)
						return
					}
					loc := "/moved"
					if tlsToPlain {
						loc = target.srv.URL + "/services/collector/event"
					}
					http.Redirect(w, r, loc, code)
				})
				cfg := Config{URL: origin.srv.URL, Token: testToken, MaxRetries: 3, AllowHTTP: !tlsToPlain,
					Backoff: export.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}}
				if tlsToPlain {
					cfg.HTTPClient = origin.srv.Client()
				}
				e, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				res, err := e.Export(context.Background(), events)
				testevents.Check(t, len(events), res, err, testToken, nil)
				if res.Sent != 0 || len(res.Failed) != len(events) {
					t.Fatalf("sent %d failed %d uncertain %d, want every event failed (err %v)", res.Sent, len(res.Failed), len(res.Uncertain), err)
				}
				var re *export.RedirectError
				if !errors.As(res.Failed[0].Err, &re) || re.StatusCode != code || !strings.Contains(re.Location, "/moved") && !strings.Contains(re.Location, target.srv.URL) {
					t.Fatalf("failure %v does not name the redirect and its Location", res.Failed[0].Err)
				}
				if n, _ := origin.counts(); n != 1 {
					t.Fatalf("origin got %d requests, want 1 (a redirect is not retried)", n)
				}
				if n, tok := target.counts(); n != 0 || tok != 0 {
					t.Fatalf("the redirect target got %d requests, %d with the token", n, tok)
				}
				origin.mu.Lock()
				defer origin.mu.Unlock()
				for _, m := range origin.methods {
					if m != http.MethodPost {
						t.Fatalf("origin saw a %s: the redirect was followed", m)
					}
				}
			})
		}
	}
}

// TestRedirectWithCustomClient: a caller's client that follows redirects is not used as is.
func TestRedirectWithCustomClient(t *testing.T) {
	target := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) { ok(w) })
	origin := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL+EventPath, http.StatusTemporaryRedirect)
	})
	e, err := New(Config{URL: origin.srv.URL, AllowHTTP: true, Token: testToken, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Export(context.Background(), testevents.Make(2))
	if res.Sent != 0 || err == nil || !strings.Contains(err.Error(), "redirect to") {
		t.Fatalf("sent %d, err %v", res.Sent, err)
	}
	if n, _ := target.counts(); n != 0 {
		t.Fatalf("target reached %d times", n)
	}
}

// TestRedirectLocationInErrors: the Location is named with a password redacted, the token (echoed by a
// hostile receiver) replaced and its length bounded; a 3xx without Location says so.
func TestRedirectLocationInErrors(t *testing.T) {
	for _, tc := range []struct {
		name, loc string
		want      []string
	}{
		{"hostile", "https://user:pw@evil.example/" + testToken + "/" + strings.Repeat("a", 300), []string{"user:xxxxx@evil.example/<token>/aaa", `aaa..."`}},
		{"none", "", []string{"HTTP 302: redirect to (no Location) not followed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) {
				if tc.loc != "" {
					w.Header().Set("Location", tc.loc)
				}
				w.WriteHeader(http.StatusFound)
			})
			e, err := New(Config{URL: origin.srv.URL, AllowHTTP: true, Token: testToken})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), testevents.Make(1))
			testevents.Check(t, 1, res, err, testToken, nil)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "pw@") {
					t.Fatalf("error %v lacks %q or shows the password", err, w)
				}
			}
		})
	}
}

// TestSuccessNeedsHECSuccessBody: after a 2xx only `{"text":"Success","code":0}` (code 0) counts as sent.
// Anything else makes the batch uncertain (HEC may have indexed it, or a proxy may have answered without
// passing it on), is not retried, and says what the body was.
func TestSuccessNeedsHECSuccessBody(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter)
		ack     bool
		sent    bool
		wantErr string
	}{
		{name: "HEC success", answer: ok, sent: true},
		{name: "code 0 without text", answer: status(200, `{"code":0}`), sent: true},
		{name: "HTML page", answer: status(200, "<html><body>Welcome to nginx</body></html>"), wantErr: "not a JSON object"},
		{name: "empty body", answer: status(200, ""), wantErr: "empty body"},
		{name: "204 no content", answer: func(w http.ResponseWriter) { w.WriteHeader(204) }, wantErr: "HTTP 204"},
		{name: "text without code", answer: status(200, `{"text":"Success"}`), wantErr: "HEC code -1"},
		{name: "non-zero code", answer: status(200, `{"text":"Server is busy","code":9}`), wantErr: "HEC code 9"},
		{name: "trailing garbage", answer: status(200, `{"text":"Success","code":0}<html>`), wantErr: "not a JSON object"},
		{name: "JSON array", answer: status(200, `[{"text":"Success","code":0}]`), wantErr: "not a JSON object"},
		{name: "cut short", answer: func(w http.ResponseWriter) {
			body := `{"text":"Success","code":0}`
			w.Header().Set("Content-Length", strconv.Itoa(len(body)+40))
			w.WriteHeader(200)
			io.WriteString(w, body) // the connection closes 40 bytes early
		}, wantErr: "cut short"},
		{name: "ack on, no ackId", ack: true, answer: ok, wantErr: "without an ackId"},
		{name: "oversized", answer: status(200, `{"text":"Success","code":0,"pad":"`+strings.Repeat("x", maxReply)+`"}`), wantErr: "reply over"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := testevents.Make(5)
			f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
				tc.answer(w)
				return true // the events may have been taken in every case
			})
			f.acks = func(w http.ResponseWriter, ids []int64) { reply(w, 200, `{"acks":{}}`) }
			cfg := f.config()
			cfg.UseAck = tc.ack
			cfg.AckInterval, cfg.AckTimeout = time.Millisecond, 50*time.Millisecond
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), events)
			checkAccounting(t, len(events), res, err, f)
			if f.numRequests() != 1 {
				t.Fatalf("%d requests, want 1 (never retried once HEC answered 2xx)", f.numRequests())
			}
			if tc.sent {
				if res.Sent != len(events) || err != nil {
					t.Fatalf("sent %d, err %v", res.Sent, err)
				}
				return
			}
			if res.Sent != 0 || len(res.Uncertain) != len(events) {
				t.Fatalf("sent %d uncertain %d failed %d, want all uncertain", res.Sent, len(res.Uncertain), len(res.Failed))
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, export.ErrUnconfirmed) {
				t.Fatalf("err %v, want it to contain %q and wrap ErrUnconfirmed", err, tc.wantErr)
			}
		})
	}
}

// TestRetryAfterBeyondDeadline: a Retry-After longer than what is left of the caller's deadline is not waited
// for: the batch fails at once and says why.
func TestRetryAfterBeyondDeadline(t *testing.T) {
	events := testevents.Make(3)
	f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
		w.Header().Set("Retry-After", "300")
		reply(w, 503, `{"text":"Server is busy","code":9}`)
		return false
	})
	e, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	res, err := e.Export(ctx, events)
	checkAccounting(t, len(events), res, err, f)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("export took %v: waited for a Retry-After past the deadline", el)
	}
	if len(res.Failed) != 3 || !strings.Contains(err.Error(), "would pass the deadline") || !strings.Contains(err.Error(), "Server is busy") {
		t.Fatalf("failed %d, err %v", len(res.Failed), err)
	}
}

// TestAckPollFailureIsReported: when the acknowledgement polls fail, the uncertain events say why.
func TestAckPollFailureIsReported(t *testing.T) {
	events := testevents.Make(3)
	f := newFakeHEC(t, func(n int, w http.ResponseWriter, r *http.Request, seqs []int) bool {
		reply(w, 200, `{"text":"Success","code":0,"ackId":0}`)
		return true
	})
	f.acks = func(w http.ResponseWriter, ids []int64) { reply(w, 400, `{"text":"ACK is disabled","code":14}`) }
	cfg := f.config()
	cfg.UseAck = true
	cfg.AckInterval, cfg.AckTimeout = time.Millisecond, 50*time.Millisecond
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Export(context.Background(), events)
	checkAccounting(t, len(events), res, err, f)
	if len(res.Uncertain) != 3 || !strings.Contains(err.Error(), "last poll: hec: ack response: HTTP 400: ACK is disabled (code 14)") {
		t.Fatalf("uncertain %d, err %v", len(res.Uncertain), err)
	}
}
