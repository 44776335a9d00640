package scpv2

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeMV(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: "$x$;$y$", want: []string{"x", "y"}},
		{in: "$FIREFLY-WIN$;$beatles$", want: []string{"FIREFLY-WIN", "beatles"}},
		{in: "$a$;$b$$c$;$d$", want: []string{"a", "b$c", "d"}},
		{in: "$$;$$", want: []string{"", ""}},
		{in: "$only$", want: []string{"only"}},
		{in: "$$$$", want: []string{"$"}},
		{in: "$a$$$", want: []string{"a$"}},
		{in: "$$$;$", want: []string{"$;"}},
		{in: "$ท$;$测试$", want: []string{"ท", "测试"}},
		{in: "$a", wantErr: "at byte 0: value not closed by '$'"},
		{in: "$a$x", wantErr: "at byte 3: expected ';' after a value, found 'x'"},
		{in: "$a$;", wantErr: "at byte 4: no value after ';'"},
		{in: "a$", wantErr: "at byte 0: expected '$', found 'a'"},
		{in: "$a$;b", wantErr: "at byte 4: expected '$', found 'b'"},
		{in: "$$$", wantErr: "at byte 0: value not closed by '$'"},
		{in: "$a$;;$b$", wantErr: "at byte 4: expected '$', found ';'"},
	}
	for _, tc := range tests {
		got, err := DecodeMV(nil, []byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("DecodeMV(%q) error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("DecodeMV(%q): %v", tc.in, err)
			continue
		}
		var strs []string
		for _, v := range got {
			strs = append(strs, string(v))
		}
		if !reflect.DeepEqual(strs, tc.want) {
			t.Errorf("DecodeMV(%q) = %q, want %q", tc.in, strs, tc.want)
		}
		if len(tc.want) > 0 {
			if enc := string(AppendMV(nil, tc.want)); enc != tc.in {
				t.Errorf("AppendMV(%q) = %q, want %q", tc.want, enc, tc.in)
			}
		}
	}
}

func TestAppendMV(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "$a$"},
		{[]string{"a", "b$c", "d"}, "$a$;$b$$c$;$d$"},
		{[]string{"", ""}, "$$;$$"},
		{[]string{"$$"}, "$$$$$$"},
	}
	for _, tc := range tests {
		if got := string(AppendMV([]byte("pre:"), tc.in)); got != "pre:"+tc.want {
			t.Errorf("AppendMV(%q) = %q, want %q", tc.in, got, "pre:"+tc.want)
		}
	}
}

// TestDecodeMVNoAllocs checks that decoding into a slice with room allocates nothing.
func TestDecodeMVNoAllocs(t *testing.T) {
	src := []byte("$a$;$b$$c$;$d$")
	mv := make([]byte, len(src))
	dst := make([][]byte, 0, 8)
	n := testing.AllocsPerRun(100, func() {
		copy(mv, src)
		var err error
		if dst, err = DecodeMV(dst[:0], mv); err != nil || len(dst) != 3 {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%.1f allocations per decode, want 0", n)
	}
}
