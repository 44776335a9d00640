package e2e

import (
	"bytes"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"regasmdetect/src/sample"
)

const hecToken = "7e57e57e-0000-4000-8000-5ecre7700001"

// hecServer is a local HTTPS HEC (httptest's TLS server) and the PEM file of its certificate for --hec-ca.
type hecServer struct {
	srv *httptest.Server
	ca  string

	mu        sync.Mutex
	withToken int
}

func newHEC(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *hecServer {
	t.Helper()
	s := &hecServer{}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), hecToken) {
			s.mu.Lock()
			s.withToken++
			s.mu.Unlock()
		}
		h(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.ca = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(s.ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func hecSuccess(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	io.WriteString(w, `{"text":"Success","code":0}`)
}

// scanCmd is `regasmdetect scan --quiet --format csv ARGS... sample` with the HEC token in the environment.
func scanCmd(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sample.xml.log")
	if err := os.WriteFile(p, sample.Sysmon, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append(append([]string{"scan", "--quiet", "--format", "csv"}, args...), p)...)
	cmd.Env = append(os.Environ(), "REGASMDETECT_HEC_TOKEN="+hecToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func exitCode(t *testing.T, cmd *exec.Cmd, err error) int {
	t.Helper()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode()
}

// TestScanSignalDuringExport: SIGTERM or SIGINT while HEC holds a batch stops the export; the program prints
// the account of every event (the batch in flight uncertain) and the rows, and exits with status 2.
func TestScanSignalDuringExport(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			h := newHEC(t, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				select {
				case arrived <- struct{}{}:
				default:
				}
				<-r.Context().Done() // stall until the client goes away
			})
			cmd, stdout, stderr := scanCmd(t, "--hec", h.srv.URL, "--hec-ca", h.ca)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-arrived:
			case err := <-done:
				t.Fatalf("exited before sending: %v\n%s", err, stderr)
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatal("no request within 20 s")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 10 s after %v; stderr:\n%s", sig, stderr)
			}
			code := exitCode(t, cmd, err)
			errs := stderr.String()
			if code != 2 {
				t.Fatalf("exit status %d after %v, want 2; stderr:\n%s", code, sig, errs)
			}
			for _, want := range []string{
				"HEC: 0 of 4 events delivered, 0 failed, 4 uncertain",
				"event 4 may or may not have been indexed",
				"export stopped: " + sig.String() + " signal received",
			} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			if n := strings.Count(stdout.String(), "\n"); n != 5 {
				t.Errorf("stdout has %d lines, want the header and 4 rows:\n%s", n, stdout)
			}
			if strings.Contains(errs+stdout.String(), hecToken) {
				t.Error("the token was printed")
			}
		})
	}
}

// TestScanExportHardening runs the program against HEC replies that used to pass for deliveries or leak the
// token: each must end with exit status 2, no event counted delivered, and the token never sent elsewhere.
func TestScanExportHardening(t *testing.T) {
	plainHits := 0
	var plainMu sync.Mutex
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainMu.Lock()
		if strings.Contains(r.Header.Get("Authorization"), hecToken) {
			plainHits++
		}
		plainMu.Unlock()
		hecSuccess(w, r)
	}))
	defer plain.Close()
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		extra   []string
		want    []string
	}{
		{"302 to a page that answers GET", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				hecSuccess(w, r)
				return
			}
			http.Redirect(w, r, "/login", http.StatusFound)
		}, nil, []string{"0 of 4 events delivered, 4 failed", `HTTP 302: redirect to "/login" not followed`}},
		{"307 from https to http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}, nil, []string{"0 of 4 events delivered, 4 failed", `HTTP 307: redirect to "` + plain.URL + `/services/collector/event" not followed`}},
		{"200 with an HTML page", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "<html><body>Maintenance</body></html>")
		}, nil, []string{"0 of 4 events delivered, 0 failed, 4 uncertain", "not a JSON object"}},
		{"200 with an empty body", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
		}, nil, []string{"0 of 4 events delivered, 0 failed, 4 uncertain", "empty body"}},
		{"503 asking to retry after 300 s, with a 10 s export deadline", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Retry-After", "300")
			w.WriteHeader(503)
			io.WriteString(w, `{"text":"Server is busy","code":9}`)
		}, []string{"--export-timeout", "10s"}, []string{"0 of 4 events delivered, 4 failed", "would pass the deadline"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHEC(t, tc.handler)
			cmd, _, stderr := scanCmd(t, append([]string{"--hec", h.srv.URL, "--hec-ca", h.ca}, tc.extra...)...)
			start := time.Now()
			err := cmd.Run()
			code := exitCode(t, cmd, err)
			errs := stderr.String()
			if code != 2 || time.Since(start) > 30*time.Second {
				t.Fatalf("exit status %d after %v, want 2; stderr:\n%s", code, time.Since(start), errs)
			}
			for _, want := range tc.want {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			if strings.Contains(errs, hecToken) {
				t.Error("the token was printed")
			}
		})
	}
	plainMu.Lock()
	defer plainMu.Unlock()
	if plainHits != 0 {
		t.Fatalf("the token reached the plain-http server %d times", plainHits)
	}
}

// TestScanExportChecksFirst: a plain http:// URL without --hec-insecure-http, or a missing token, stops the
// program before the scan: no row printed, exit status 2.
func TestScanExportChecksFirst(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(hecSuccess))
	defer plain.Close()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"plain http", nil, []string{"--hec", plain.URL}, "--hec-insecure-http"},
		{"no token", []string{"REGASMDETECT_HEC_TOKEN="}, []string{"--hec", "https://127.0.0.1:1"}, "REGASMDETECT_HEC_TOKEN is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, stdout, stderr := scanCmd(t, tc.args...)
			cmd.Env = append(cmd.Env, tc.env...)
			code := exitCode(t, cmd, cmd.Run())
			if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2, no rows, %q", code, stdout, stderr, tc.want)
			}
		})
	}
}
