package scpv2

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"regasmdetect/src/internal/shared"
)

// addSharedSeeds adds recordings (at most limit bytes of each) as seeds when the shared folder is present.
func addSharedSeeds(f *testing.F, limit int, rels ...string) {
	root := shared.Root()
	if root == "" {
		return
	}
	for _, rel := range rels {
		matches, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(rel)))
		for _, p := range matches {
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			f.Add(data[:min(len(data), limit)])
		}
	}
}

// FuzzReader reads arbitrary chunk streams: never a panic, the same result with one-byte reads, metadata of
// the declared length, and any error is an *Error (or io.EOF at a clean end).
func FuzzReader(f *testing.F) {
	f.Add([]byte("chunked 1.0,36,12\n{\"action\":\"execute\",\"finished\":true}a,b\n1,\"2\"\n"))
	f.Add([]byte("chunked 1.0 , 2 , 3 \r\n{}abcchunked 1.0,0,0\n"))
	addSharedSeeds(f, 16<<10, "data/scpv2/sdk-reference/*.input", "data/scpv2/sdk-reference/*.output",
		"data/scpv2/splunk-6.3/*.input")
	addSharedSeeds(f, 4<<10, "data/scpv2/splunk-6.3/record_writer.*.output")
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, errWhole := walk(bytes.NewReader(data))
		short, errShort := walk(iotest.OneByteReader(bytes.NewReader(data)))
		if !reflect.DeepEqual(whole, short) || errString(errWhole) != errString(errShort) {
			t.Fatalf("one-byte reads differ: %v vs %v", errWhole, errShort)
		}
		var fe *Error
		var pe *ParseError
		if errWhole != nil && !errors.As(errWhole, &fe) && !errors.As(errWhole, &pe) {
			t.Fatalf("error of unexpected type %T: %v", errWhole, errWhole)
		}
		rd := NewReader(bytes.NewReader(data))
		for {
			meta, err := rd.Next()
			if err != nil {
				break
			}
			if _, err := ParseRequest(meta); err != nil && !strings.HasPrefix(err.Error(), "scpv2: request metadata") {
				t.Fatalf("ParseRequest error without context: %v", err)
			}
			if rd.Chunk()%2 == 0 {
				n, err := io.Copy(io.Discard, rd.Body())
				if err == nil && n != rd.BodyLen() {
					t.Fatalf("body of %d bytes, declared %d", n, rd.BodyLen())
				}
			}
		}
	})
}

// FuzzCSVReader parses arbitrary bodies: never a panic; where encoding/csv reads the whole body, CSVReader
// returns the same records (CRLF inside values aside), and where CSVReader does, encoding/csv does too.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("a,\"__mv_a\"\n\"x\ny\",\"$x$;$y$\"\n2,\n"))
	f.Add([]byte("a,b\r\n\"q\"\"uote\",\"c,d\"\r\n"))
	f.Add([]byte("a,b\nx\"y,z\n"))
	f.Add(splunkBody(3, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readAllCSV(bytes.NewReader(bytes.Clone(data)))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Row < 1 || pe.Column < 1 || pe.Err == nil {
				t.Fatalf("error %v: want a *ParseError with a position", err)
			}
		}
		if errors.Is(err, ErrBareCR) {
			// encoding/csv reads a CR that ends no line as data; this reader refuses it.
			if !bareCR(data) {
				t.Fatalf("ErrBareCR for a body without a bare CR: %q", data)
			}
			return
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(bom))))
		std, stdErr := r.ReadAll()
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("CSVReader error %v, encoding/csv error %v", err, stdErr)
		}
		if err == nil && !reflect.DeepEqual(normCRLF(got), std) {
			t.Fatalf("records differ:\n got %q\n std %q", got, std)
		}
		short, errShort := readAllCSV(iotest.OneByteReader(bytes.NewReader(bytes.Clone(data))))
		if errString(err) != errString(errShort) || (err == nil && !reflect.DeepEqual(short, got)) {
			t.Fatalf("one-byte reads differ: %v vs %v", errShort, err)
		}
	})
}

// bareCR reports whether data has a CR not followed by LF.
func bareCR(data []byte) bool {
	for i, b := range data {
		if b == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			return true
		}
	}
	return false
}

// FuzzDecodeMV decodes arbitrary cells: never a panic; a cell that decodes is exactly AppendMV of its values;
// and AppendMV of values cut from the input decodes back to them.
func FuzzDecodeMV(f *testing.F) {
	for _, s := range []string{"", "$x$;$y$", "$a$;$b$$c$;$d$", "$$;$$", "$$$$", "$a", "$a$x", "$a$;"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := DecodeMV(nil, bytes.Clone(data))
		if err == nil {
			strs := make([]string, len(vals))
			for i, v := range vals {
				strs[i] = string(v)
			}
			if enc := AppendMV(nil, strs); !bytes.Equal(enc, data) {
				t.Fatalf("DecodeMV(%q) = %q, which encodes as %q", data, strs, enc)
			}
		} else if !strings.HasPrefix(err.Error(), "scpv2: multivalue at byte ") {
			t.Fatalf("error without position: %v", err)
		}
		in := strings.Split(string(data), "|")
		enc := AppendMV(nil, in)
		back, err := DecodeMV(nil, enc)
		if err != nil || len(back) != len(in) {
			t.Fatalf("AppendMV(%q) = %q decodes as %q, %v", in, enc, back, err)
		}
		for i := range in {
			if string(back[i]) != in[i] {
				t.Fatalf("value %d: %q, want %q", i, back[i], in[i])
			}
		}
	})
}
