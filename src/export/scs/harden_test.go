package scs

import (
	"context"
	"encoding/json"
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

	"github.com/splunk/splunk-cloud-sdk-go/services/ingest"

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

// TestRedirectsAreNotFollowed: the SDK's client would follow a redirect with the bearer token; a 3xx is
// instead a failure of its batch that names the Location, and nothing reaches the target.
func TestRedirectsAreNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, tlsToPlain := range []bool{false, true} {
			name := fmt.Sprintf("%d same server", code)
			if tlsToPlain {
				name = fmt.Sprintf("%d https to http", code)
			}
			t.Run(name, func(t *testing.T) {
				events := testevents.Make(4)
				target := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) { ok(w) })
				origin := newRecorder(t, tlsToPlain, func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/moved" {
						ok(w)
						return
					}
					loc := "/moved"
					if tlsToPlain {
						loc = target.srv.URL + r.URL.Path
					}
					http.Redirect(w, r, loc, code)
				})
				scheme := "http"
				if tlsToPlain {
					scheme = "https"
				}
				e, err := New(Config{Tenant: testTenant, Token: testToken, Scheme: scheme, MaxRetries: 3,
					OverrideHost: strings.TrimPrefix(strings.TrimPrefix(origin.srv.URL, "http://"), "https://"),
					Transport:    origin.srv.Client().Transport,
					Backoff:      export.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}})
				if err != nil {
					t.Fatal(err)
				}
				res, err := e.Export(context.Background(), events)
				testevents.Check(t, len(events), res, err, testToken, nil)
				if res.Sent != 0 || len(res.Failed) != len(events) {
					t.Fatalf("sent %d failed %d uncertain %d, want every event failed (err %v)", res.Sent, len(res.Failed), len(res.Uncertain), err)
				}
				var re *export.RedirectError
				if !errors.As(res.Failed[0].Err, &re) || re.StatusCode != code || re.Location == "" {
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

// TestSuccessNeedsSuccessBody: after a 2xx only the service's success reply counts as sent; anything else
// makes the batch uncertain, is not retried, and says what the body was.
func TestSuccessNeedsSuccessBody(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter)
		sent    bool
		wantErr string
	}{
		{name: "success", answer: ok, sent: true},
		{name: "success, lower case, with details", answer: func(w http.ResponseWriter) {
			reply(w, 200, `{"code":"success","message":"Success","details":{"n":4}}`)
		}, sent: true},
		{name: "HTML page", answer: func(w http.ResponseWriter) { reply(w, 200, "<html>Welcome</html>") }, wantErr: "not a JSON object"},
		{name: "empty body", answer: func(w http.ResponseWriter) { reply(w, 200, "") }, wantErr: "empty body"},
		{name: "204", answer: func(w http.ResponseWriter) { w.WriteHeader(204) }, wantErr: "HTTP 204"},
		{name: "no code", answer: func(w http.ResponseWriter) { reply(w, 200, `{"message":"ok"}`) }, wantErr: `code ""`},
		{name: "other code", answer: func(w http.ResponseWriter) { reply(w, 200, `{"code":"INVALID_DATA"}`) }, wantErr: `"INVALID_DATA"`},
		{name: "HEC's reply", answer: func(w http.ResponseWriter) { reply(w, 200, `{"text":"Success","code":0}`) }, wantErr: "not the ingest API's reply"},
		{name: "details not an object", answer: func(w http.ResponseWriter) { reply(w, 200, `{"code":"SUCCESS","details":[1]}`) }, wantErr: "details"},
		{name: "oversized", answer: func(w http.ResponseWriter) {
			reply(w, 200, `{"code":"SUCCESS","message":"`+strings.Repeat("x", maxReply)+`"}`)
		}, wantErr: "reply over"},
		{name: "cut short", answer: func(w http.ResponseWriter) {
			body := `{"code":"SUCCESS","message":"Success"}`
			w.Header().Set("Content-Length", strconv.Itoa(len(body)+40))
			w.WriteHeader(200)
			io.WriteString(w, body)
		}, wantErr: "cut short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := testevents.Make(5)
			f := newFakeSCS(t, func(n int, w http.ResponseWriter, evs []wireEvent) bool { tc.answer(w); return true })
			e, err := New(f.config())
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Export(context.Background(), events)
			f.check(t, len(events), res, err)
			if f.numRequests() != 1 {
				t.Fatalf("%d requests, want 1", f.numRequests())
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

func TestParseResponse(t *testing.T) {
	tests := []struct {
		body    string
		want    Response
		wantErr string
	}{
		{`{"code":"SUCCESS","message":"Success"}`, Response{"SUCCESS", "Success", true}, ""},
		{` {"code":"SUCCESS","details":null,"extra":[1]}` + "\n", Response{"SUCCESS", "", true}, ""},
		{`{}`, Response{}, ""},
		{`{"code":null}`, Response{}, ""},
		{``, Response{}, "empty body"},
		{`[]`, Response{}, "not a JSON object"},
		{`{"code":0}`, Response{}, "not the ingest API's reply"},
		{`{"code":"SUCCESS"} {}`, Response{}, "not the ingest API's reply"},
		{`{"details":"x"}`, Response{}, "details"},
	}
	for _, tc := range tests {
		got, err := ParseResponse([]byte(tc.body))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseResponse(%q) err %v, want %q", tc.body, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseResponse(%q) = %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
}

// FuzzParseResponse: never panics, and whatever it accepts the SDK's model of the reply reads too, with the
// same code and message.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{`{"code":"SUCCESS","message":"Success"}`, `{"code":"INVALID_DATA","details":{"failedEvents":[1]}}`,
		`{}`, `<html>`, ``, `{"code":0}`, `{"details":[]}`, `{"code":"\u0053UCCESS"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		if err != nil {
			return
		}
		var m ingest.HttpResponse
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("ParseResponse accepted %q, the SDK's model refuses it: %v", body, err)
		}
		if (m.Code != nil) != r.HasCode || m.Code != nil && *m.Code != r.Code || m.Message != nil && *m.Message != r.Message {
			t.Fatalf("ParseResponse(%q) = %+v, the SDK reads %+v", body, r, m)
		}
	})
}
