package engine

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"regasmdetect/src/scpv2"
)

// csvFields returns what scpv2.CSVWriter writes for vals as the first fields of a row, without the separator
// after them: the row of vals and one more field, cut before that field.
func csvFields(vals [][]byte) []byte {
	var w scpv2.CSVWriter
	w.WriteRowBytes(append(append([][]byte{}, vals...), []byte("x")))
	b := w.Bytes()
	b = b[:len(b)-len("x\r\n")]
	if len(vals) > 0 {
		b = b[:len(b)-1]
	}
	return b
}

func encodeKey(vals [][]byte) []byte {
	var k []byte
	for _, v := range vals {
		k = appendKeyValue(k, v)
	}
	return k
}

// TestAppendCSVKey checks appendCSVKey against decoding the key and writing its values with scpv2.CSVWriter,
// on values that need quoting, hold the encoding's bytes, are empty or longer than a word, and on malformed
// keys.
func TestAppendCSVKey(t *testing.T) {
	pool := []string{"", "a", "abcdefgh", "abcdefghijklmnopq", "C:\\Windows\\regasm.exe", `say "hi"`, `"`, `""`,
		"a,b", ",", "line\r\nbreak", "\n", "\r", "\x00", "a\x00b", "\x00\x00", "\xff", "\x00\xff", "12345678,",
		"1234567\x00", `1234567"`, "x\x00,y", "\"\x00\"", "quoted, and\x00escaped \"long\" value with, commas"}
	rng := rand.New(rand.NewPCG(1, 2))
	var dst []byte
	for range 20000 {
		n := rng.IntN(5)
		vals := make([][]byte, n)
		for i := range vals {
			vals[i] = []byte(pool[rng.IntN(len(pool))])
			if rng.IntN(4) == 0 {
				vals[i] = append(vals[i], pool[rng.IntN(len(pool))]...)
			}
		}
		k := encodeKey(vals)
		prefix := []byte("prefix")
		var ok bool
		dst, ok = appendCSVKey(append(dst[:0], prefix...), k, n)
		if !ok {
			t.Fatalf("key %q of %d values: not well-formed", k, n)
		}
		if want := csvFields(vals); !bytes.Equal(dst[len(prefix):], want) || !bytes.HasPrefix(dst, prefix) {
			t.Fatalf("values %q: got %q, want %q", vals, dst[len(prefix):], want)
		}
		if _, ok := appendCSVKey(nil, k, n+1); ok {
			t.Fatalf("key %q of %d values accepted as %d", k, n, n+1)
		}
	}
	for _, k := range []string{"\x00", "a\x00", "a\x00\x01", "a\x00\x00b", "a\x00\x00\x00", "\"\x00", "\",\x00\xff",
		"\"\x00\x01\x00\x00", "abcdefgh\x00", "\x00\xff", "a\x00\x00\x00\xff", "a\x00\x00b\x00\xff"} {
		for n := range 3 {
			if _, ok := appendCSVKey(nil, []byte(k), n); ok {
				t.Errorf("malformed key %q accepted as %d values", k, n)
			}
			if _, _, ok := decodeKey(nil, nil, []byte(k), n); ok {
				t.Errorf("decodeKey: malformed key %q accepted as %d values", k, n)
			}
			if _, _, ok := splitKey(nil, nil, []byte(k), n); ok {
				t.Errorf("splitKey: malformed key %q accepted as %d values", k, n)
			}
		}
	}
}

// FuzzAppendCSVKey reads arbitrary bytes as an encoded key: appendCSVKey accepts exactly what decodeKey accepts
// and writes the decoded values as scpv2.CSVWriter does.
func FuzzAppendCSVKey(f *testing.F) {
	f.Add([]byte("a\x00\x00b,c\x00\x00"), 2)
	f.Add([]byte("\"q\"\x00\xff\x00\x00\x00\x00"), 2)
	f.Add([]byte("abcdefghij\r\n\x00\x00"), 1)
	f.Add([]byte("abc\x00"), 1)
	f.Fuzz(func(t *testing.T, k []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		got, ok := appendCSVKey(nil, k, n)
		dec, ends, want := decodeKey(nil, nil, k, n)
		if ok != want {
			t.Fatalf("key %q of %d values: accepted %v, decodeKey %v", k, n, ok, want)
		}
		if !ok {
			return
		}
		vals := make([][]byte, len(ends))
		start := 0
		for i, e := range ends {
			vals[i], start = dec[start:e], e
		}
		if w := csvFields(vals); !bytes.Equal(got, w) {
			t.Fatalf("key %q: got %q, want %q", k, got, w)
		}
	})
}

// TestCSVKeysSequence writes sorted keys that share their first values, as merged keys do, malformed keys among
// them, with one csvKeys: each key's CSV is what appendCSVKey writes for it alone.
func TestCSVKeysSequence(t *testing.T) {
	pool := []string{"", "a", "WKS-1", "WKS-1.corp", `"C:\x.exe" /U "a,b.dll"`, `cmd /c "echo 1"`, "a\x00b", "\xff", "1", "12"}
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		n := 1 + rng.IntN(6)
		var keys [][]byte
		for range 50 {
			vals := make([][]byte, n)
			for i := range vals {
				vals[i] = []byte(pool[rng.IntN(len(pool))])
			}
			keys = append(keys, encodeKey(vals))
		}
		slices.SortFunc(keys, bytes.Compare)
		if round%4 == 0 { // malformed keys and keys of other lengths in between
			keys = append(keys[:10], append([][]byte{[]byte("a\x00"), encodeKey([][]byte{[]byte("a")}), keys[10]}, keys[10:]...)...)
		}
		var w csvKeys
		for _, k := range keys {
			want, wok := appendCSVKey(nil, k, n)
			ok := w.write(k, n)
			if ok != wok || ok && !bytes.Equal(w.csv, want) {
				t.Fatalf("key %q after %q: %q %v, alone %q %v", k, w.prev, w.csv, ok, want, wok)
			}
		}
	}
}

// FuzzCSVKeys writes two encoded keys one after the other: the second's CSV is what it gives alone.
func FuzzCSVKeys(f *testing.F) {
	f.Add([]byte("a\x00\x00b\x00\x00"), []byte("a\x00\x00c\x00\x00"), 2)
	f.Add([]byte("a,\x00\x00\"\x00\xff\x00\x00"), []byte("a,\x00\x00\"\x00\xff\x00\x00x\x00\x00"), 2)
	f.Fuzz(func(t *testing.T, k1, k2 []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		var w csvKeys
		w.write(k1, n)
		ok := w.write(k2, n)
		want, wok := appendCSVKey(nil, k2, n)
		if ok != wok || ok && !bytes.Equal(w.csv, want) {
			t.Fatalf("%q after %q: %q %v, alone %q %v", k2, k1, w.csv, ok, want, wok)
		}
	})
}
