package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// maxTokenFile bounds what TokenFromFile reads: tokens are short; anything bigger is not a token file.
const maxTokenFile = 64 << 10

// ErrNoToken is wrapped by the token sources when the token is missing or empty.
var ErrNoToken = errors.New("no token")

// TokenFromEnv returns the token held in the environment variable name. An unset or empty variable, or a
// value containing a line break or other control character, is an error naming the variable, never its value.
func TokenFromEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("export: token: environment variable %s is not set: %w", name, ErrNoToken)
	}
	if v == "" {
		return "", fmt.Errorf("export: token: environment variable %s is empty: %w", name, ErrNoToken)
	}
	if err := CheckToken(v); err != nil {
		return "", fmt.Errorf("export: token: environment variable %s: %w", name, err)
	}
	return v, nil
}

// TokenFromFile returns the token held in the file at path, without one trailing newline ("\n" or "\r\n").
// Decision: a file that other users may read is accepted (a scanner run must not fail on a permissive
// umask), but warning is then a non-empty sentence naming the file and its mode, for the caller to print on
// stderr. Errors name the file, never its content.
func TokenFromFile(path string) (token, warning string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("export: token file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", "", fmt.Errorf("export: token file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", "", fmt.Errorf("export: token file %s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", "", fmt.Errorf("export: token file %s: %w", path, err)
	}
	if len(b) > maxTokenFile {
		return "", "", fmt.Errorf("export: token file %s: larger than %d bytes, not a token", path, maxTokenFile)
	}
	s := string(b)
	if strings.HasSuffix(s, "\r\n") {
		s = s[:len(s)-2]
	} else if strings.HasSuffix(s, "\n") {
		s = s[:len(s)-1]
	}
	if s == "" {
		return "", "", fmt.Errorf("export: token file %s is empty: %w", path, ErrNoToken)
	}
	if err := CheckToken(s); err != nil {
		return "", "", fmt.Errorf("export: token file %s: %w", path, err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o004 != 0 {
		warning = fmt.Sprintf("token file %s is readable by every user (mode %04o); consider chmod 600",
			path, st.Mode().Perm())
	}
	return s, warning, nil
}

// CheckToken refuses control characters: a token goes into an HTTP header, where a line break would be a
// header injection. The error does not quote the token.
func CheckToken(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("token contains a control character at byte %d", i)
		}
	}
	return nil
}
