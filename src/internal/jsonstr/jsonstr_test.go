package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// reference is what encoding/json writes for s with HTML escaping off.
func reference(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppend(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<&>", `"<&>"`},
		{"\xff\xfe", `"\ufffd\ufffd"`},
		{"a\xc3", `"a\ufffd"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"é中😀", `"é中😀"`},
		{`C:\Windows\System32\cmd.exe /c "x"`, `"C:\\Windows\\System32\\cmd.exe /c \"x\""`},
	}
	for _, tt := range tests {
		got := string(Append([]byte("x"), tt.in))
		if got != "x"+tt.want {
			t.Errorf("Append(%q) = %s, want x%s", tt.in, got, tt.want)
		}
		if ref := reference(t, tt.in); tt.want != ref {
			t.Errorf("%q: the table says %s, encoding/json %s", tt.in, tt.want, ref)
		}
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff\xfe", "\u2028", "C:\\Windows\\System32\\cmd.exe /c \"x\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(Append(nil, s)), reference(t, s); got != want {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
	})
}
