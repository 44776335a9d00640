package scan

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"regasmdetect/src/sample"
)

const exportToken = "0f0f0f0f-1111-2222-3333-s3cr3t-export"

// TestExportSettingsCheckedBeforeScan: a missing token, a refused URL or an unreadable CA file stops the run
// before anything is scanned: no row on stdout, one error naming the setting, exit 2, no request sent.
func TestExportSettingsCheckedBeforeScan(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	p := writeSample(t, t.TempDir(), "s.xml.log", sample.Sysmon)
	tests := []struct {
		name    string
		env     string // the token variable's value; "" leaves it unset
		args    []string
		wantErr string
	}{
		{"no token", "", []string{"--hec", "https://127.0.0.1:1"}, "REGASMDETECT_HEC_TOKEN is not set"},
		{"token file missing", exportToken, []string{"--hec", "https://127.0.0.1:1", "--hec-token-file", filepath.Join(t.TempDir(), "none")}, "token file"},
		{"plain http without the flag", exportToken, []string{"--hec", srv.URL}, "--hec-insecure-http"},
		{"URL with a query", exportToken, []string{"--hec", "https://h:8088/?token=x"}, "query"},
		{"CA file missing", exportToken, []string{"--hec", "https://127.0.0.1:1", "--hec-ca", filepath.Join(t.TempDir(), "ca.pem")}, "CACert"},
		{"SCS without token", "", []string{"--scs-tenant", "acme"}, "REGASMDETECT_SCS_TOKEN is not set"},
		{"bad export timeout", exportToken, []string{"--hec", "https://127.0.0.1:1", "--export-timeout", "0s"}, "--export-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("REGASMDETECT_HEC_TOKEN", tc.env)
			} else {
				unsetenv(t, "REGASMDETECT_HEC_TOKEN")
				unsetenv(t, "REGASMDETECT_SCS_TOKEN")
			}
			out, errs, code := runScan(t, append(append([]string{"--quiet", "--format", "csv"}, tc.args...), p)...)
			if code != ExitErrors || out != "" || !strings.Contains(errs, tc.wantErr) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2, no rows, an error naming %q", code, out, errs, tc.wantErr)
			}
			if strings.Contains(errs, exportToken) {
				t.Fatal("the token was printed")
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

// TestExportPlainHTTPWarns: with --hec-insecure-http an http:// HEC is used, and stderr says the token travels
// in clear text.
func TestExportPlainHTTPWarns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	t.Setenv("REGASMDETECT_HEC_TOKEN", exportToken)
	p := writeSample(t, t.TempDir(), "s.xml.log", sample.Sysmon)
	_, errs, code := runScan(t, "--quiet", "--hec", srv.URL, "--hec-insecure-http", p)
	if code != ExitClean || !strings.Contains(errs, "warning: --hec-insecure-http: the HEC token and the rows go to "+srv.URL+"/services/collector/event in clear text") ||
		!strings.Contains(errs, "HEC: 4 of 4 events delivered") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestExportDeadline: a HEC that never answers holds the export only until --export-timeout; the account is
// printed (the batch in flight is uncertain) and the exit status is 2.
func TestExportDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	t.Setenv("REGASMDETECT_HEC_TOKEN", exportToken)
	p := writeSample(t, t.TempDir(), "s.xml.log", sample.Sysmon)
	start := time.Now()
	_, errs, code := runScan(t, "--quiet", "--hec", srv.URL, "--hec-insecure-http", "--export-timeout", "2s", p)
	el := time.Since(start)
	if code != ExitErrors || el > 15*time.Second {
		t.Fatalf("exit %d after %v: %s", code, el, errs)
	}
	for _, want := range []string{"HEC: 0 of 4 events delivered, 0 failed, 4 uncertain", "export deadline of 2s passed (--export-timeout)"} {
		if !strings.Contains(errs, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// TestExportCancelled: the context given to MainContext ending (as SIGTERM does in the program) stops the
// export; every event is still accounted for.
func TestExportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	go func() {
		<-arrived
		cancel(errTestSignal)
	}()
	t.Setenv("REGASMDETECT_HEC_TOKEN", exportToken)
	p := writeSample(t, t.TempDir(), "s.xml.log", sample.Sysmon)
	var out, errb strings.Builder
	code := MainContext(ctx, []string{"--quiet", "--format", "csv", "--hec", srv.URL, "--hec-insecure-http", p}, strings.NewReader(""), &out, &errb)
	errs := errb.String()
	if code != ExitErrors || !strings.Contains(errs, "HEC: 0 of 4 events delivered, 0 failed, 4 uncertain") ||
		!strings.Contains(errs, "export stopped: test signal received") || len(csvRows(t, out.String())) != 5 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errs)
	}
}

// unsetenv removes name from the environment for the test; t.Setenv restores it afterwards.
func unsetenv(t *testing.T, name string) {
	t.Setenv(name, "")
	os.Unsetenv(name)
}

type testSignal struct{}

func (testSignal) Error() string { return "test signal received" }

var errTestSignal error = testSignal{}

// TestInterruptedBeforeExport: a context already ended (a signal during the scan) stops the scan, says the rows
// are incomplete, sends nothing and still accounts for every event found; exit 2.
func TestInterruptedBeforeExport(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	t.Setenv("REGASMDETECT_HEC_TOKEN", exportToken)
	p := writeSample(t, t.TempDir(), "s.xml.log", sample.Sysmon)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errTestSignal)
	var out, errb strings.Builder
	code := MainContext(ctx, []string{"--quiet", "--hec", srv.URL, "--hec-insecure-http", p}, strings.NewReader(""), &out, &errb)
	errs := errb.String()
	if code != ExitErrors || requests.Load() != 0 || !strings.Contains(errs, "interrupted (test signal received): the scan stopped early, its rows are incomplete") {
		t.Fatalf("exit %d, %d requests, stderr:\n%s", code, requests.Load(), errs)
	}
}
