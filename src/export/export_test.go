package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const secret = "c0ffee00-dead-beef-0000-t0k3n5ecr3t"

func TestTokenFromEnv(t *testing.T) {
	t.Setenv("REGASMDETECT_TEST_TOKEN", secret)
	t.Setenv("REGASMDETECT_TEST_EMPTY", "")
	t.Setenv("REGASMDETECT_TEST_BAD", secret+"\nX: y")
	tests := []struct {
		name, want, wantErr string
	}{
		{"REGASMDETECT_TEST_TOKEN", secret, ""},
		{"REGASMDETECT_TEST_EMPTY", "", "is empty"},
		{"REGASMDETECT_TEST_UNSET_" + fmt.Sprint(os.Getpid()), "", "is not set"},
		{"REGASMDETECT_TEST_BAD", "", "control character at byte " + fmt.Sprint(len(secret))},
	}
	for _, tc := range tests {
		got, err := TokenFromEnv(tc.name)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.name) ||
				strings.Contains(err.Error(), secret) {
				t.Errorf("%s: err %v, want %q naming the variable, without the token", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
}

func TestTokenFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want, wantErr string
		wantWarn                  bool
	}{
		{"newline trimmed", write("a", secret+"\n", 0o600), secret, "", false},
		{"CRLF trimmed", write("b", secret+"\r\n", 0o600), secret, "", false},
		{"no newline", write("c", secret, 0o600), secret, "", false},
		{"only one newline trimmed", write("d", secret+"\n\n", 0o600), "", "control character", false},
		{"empty", write("e", "\n", 0o600), "", "is empty", false},
		{"world readable warns", write("f", secret+"\n", 0o644), secret, "", runtime.GOOS != "windows"},
		{"missing", filepath.Join(dir, "none"), "", "no such file", false},
		{"directory", dir, "", "not a regular file", false},
		{"too big", write("g", strings.Repeat("x", maxTokenFile+1), 0o600), "", "larger than", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warn, err := TokenFromFile(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), secret) {
					t.Fatalf("err %v, want %q without the token", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%q, %v", got, err)
			}
			if (warn != "") != tc.wantWarn || strings.Contains(warn, secret) {
				t.Fatalf("warning %q, want one: %v", warn, tc.wantWarn)
			}
		})
	}
}

func TestResultErr(t *testing.T) {
	if err := (Result{Sent: 3}).Err("x"); err != nil {
		t.Fatalf("all sent: %v", err)
	}
	r := Result{Sent: 1, Failed: []Failure{{Index: 2, Err: fmt.Errorf("batch 1: %w", context.Canceled)}},
		Uncertain: []Failure{{Index: 1, Err: fmt.Errorf("batch 0: %w", ErrUnconfirmed)}}}
	err := r.Err("hec: export")
	if err == nil || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUnconfirmed) || !r.Complete(3) || r.Complete(4) {
		t.Fatalf("err %v", err)
	}
	want := "hec: export: 1 sent, 1 failed, 1 uncertain; first failure: event 2: batch 1: context canceled; " +
		"first uncertain (may have been received): event 1: batch 0: success status without a well-formed success reply"
	if err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
	if err := (Result{Uncertain: []Failure{{Index: 0}}}).Err("p"); err == nil || err.Error() != "p: 0 sent, 0 failed, 1 uncertain; first uncertain (may have been received): event 0: no reason given" {
		t.Fatalf("uncertain only: %v", err)
	}
}

func TestRedirectError(t *testing.T) {
	e := &RedirectError{StatusCode: 307, Location: "http://h:8088/services/collector/event"}
	if got, want := e.Error(), `HTTP 307: redirect to "http://h:8088/services/collector/event" not followed (requests carry the token; give the receiver's own URL)`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := (&RedirectError{StatusCode: 302}).Error(); !strings.Contains(got, "(no Location)") {
		t.Fatal(got)
	}
}

func TestHTTPError(t *testing.T) {
	for _, tc := range []struct {
		e    HTTPError
		want string
	}{
		{HTTPError{403, 4, "Invalid token"}, "HTTP 403: Invalid token (code 4)"},
		{HTTPError{502, -1, ""}, "HTTP 502"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
