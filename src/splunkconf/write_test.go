package splunkconf

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	f := &File{Stanzas: []*Stanza{
		{Name: "regasmdetect", Settings: []Setting{{Key: "chunked", Value: "true"}}},
		{Name: "", Settings: []Setting{{Key: "access", Value: "read : [ * ], write : [ admin ]"}}},
		{Name: "s", Settings: []Setting{{Key: "search", Value: "a \\\n| b\n\n| c"}, {Key: "empty", Value: ""}}},
		{Name: "no settings"},
	}}
	want := "[regasmdetect]\nchunked = true\n\n[]\naccess = read : [ * ], write : [ admin ]\n\n" +
		"[s]\nsearch = a \\\\\n| b\\\n\\\n| c\nempty = \n\n[no settings]\n"
	got, err := Format(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	back, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if flat(back) != flat(f) {
		t.Errorf("round trip:\n%s\nvs\n%s", flat(back), flat(f))
	}
	if v, _ := back.Stanza("s").Get("search"); v != "a \\\n| b\n\n| c" {
		t.Errorf("search read back as %q", v)
	}
}

func TestFormatGlobalSettings(t *testing.T) {
	f, err := Parse([]byte("a = 1\n[s]\nb = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Format(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a = 1\n\n[s]\nb = 2\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFormatUnrepresentable(t *testing.T) {
	tests := []struct {
		name string
		st   Stanza
	}{
		{"empty key", Stanza{Name: "s", Settings: []Setting{{Key: "", Value: "v"}}}},
		{"key with equals", Stanza{Name: "s", Settings: []Setting{{Key: "a=b", Value: "v"}}}},
		{"key with newline", Stanza{Name: "s", Settings: []Setting{{Key: "a\nb", Value: "v"}}}},
		{"key with spaces around", Stanza{Name: "s", Settings: []Setting{{Key: " a", Value: "v"}}}},
		{"comment key", Stanza{Name: "s", Settings: []Setting{{Key: "#a", Value: "v"}}}},
		{"header key", Stanza{Name: "s", Settings: []Setting{{Key: "[a", Value: "v"}}}},
		{"value with trailing space", Stanza{Name: "s", Settings: []Setting{{Key: "k", Value: "v "}}}},
		{"value with leading newline", Stanza{Name: "s", Settings: []Setting{{Key: "k", Value: "\nv"}}}},
		{"value ending in backslash", Stanza{Name: "s", Settings: []Setting{{Key: "k", Value: `C:\`}}}},
		{"stanza name with newline", Stanza{Name: "a\nb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, &File{Stanzas: []*Stanza{&tt.st}})
			if !errors.Is(err, ErrUnrepresentable) {
				t.Fatalf("err = %v, want ErrUnrepresentable", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q despite the error", buf.String())
			}
			if !strings.HasPrefix(err.Error(), "splunkconf: ") {
				t.Errorf("err = %q lacks the package prefix", err)
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	err := Write(failWriter{}, &File{Stanzas: []*Stanza{{Name: "s"}}})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

func TestStanzaSet(t *testing.T) {
	st := &Stanza{Name: "s"}
	st.Set("a", "1")
	st.Set("b", "2")
	st.Set("a", "3")
	if got := strings.Join(st.Keys(), ","); got != "a,b" {
		t.Errorf("keys = %s", got)
	}
	if v, _ := st.Get("a"); v != "3" {
		t.Errorf("a = %q", v)
	}
}

// FuzzParse checks that Parse never panics, that whatever it accepts can be written (or is reported as
// unrepresentable) and that the written form reads back to the same stanzas and settings.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"[s]\nk = v\n",
		"a = 1\n[s]\nsearch = x \\\n| y\n[default]\nb=2\n",
		"[]\naccess = read : [ * ], write : [ admin ]\nexport = system\n",
		"[s]\r\nk=v\\\r\n\r\n",
		"\xef\xbb\xbf# c\n[a]]\nk = v \\ \n",
		"[s]\nk\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error %v is not a ParseError with a line", err)
			}
			return
		}
		out, err := Format(file)
		if errors.Is(err, ErrUnrepresentable) {
			return
		}
		if err != nil {
			t.Fatalf("Format: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if flat(back) != flat(file) {
			t.Fatalf("round trip of %q via %q:\n%s\nvs\n%s", data, out, flat(back), flat(file))
		}
		if _, err := ParseSpec(data); err != nil {
			t.Fatalf("ParseSpec: %v", err)
		}
	})
}
