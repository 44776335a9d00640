package engine

import (
	"bytes"

	"regasmdetect/src/scpv2"
)

// csvKeys writes encoded keys as CSV fields separated by commas: the fields scpv2.CSVWriter writes for the
// decoded values (a value holding `,`, `"`, CR or LF quoted, `"` doubled inside; every other value bare). A
// result row's key so needs no decoding into values before it is written. Keys merged in order share their
// first values with the previous key more often than not (the same host, user and parent command line): those
// values are not scanned again, their CSV is kept from the previous key.
type csvKeys struct {
	prev    []byte // the previous key, when it was well formed
	csv     []byte // its values as CSV
	keyEnds []int  // where each of its values ends in prev, after the value's terminator
	csvEnds []int  // where each ends in csv, before the comma that follows
}

// write sets w.csv to the values of the encoded key k as CSV fields and reports whether k is a well-formed key
// of exactly n values (w.csv is then meaningless).
func (w *csvKeys) write(k []byte, n int) bool {
	shared, i := 0, 0 // values k shares whole with the previous key, terminators included, and where they end
	for shared < len(w.keyEnds) {
		end := w.keyEnds[shared]
		if end > len(k) || !bytes.Equal(w.prev[i:end], k[i:end]) {
			break
		}
		shared, i = shared+1, end
	}
	w.csv = w.csv[:0]
	if shared > 0 {
		w.csv = w.csv[:w.csvEnds[shared-1]]
	}
	w.keyEnds, w.csvEnds = w.keyEnds[:shared], w.csvEnds[:shared]
	ok := w.appendValues(k, i)
	if ok = ok && len(w.keyEnds) == n; ok {
		w.prev = append(w.prev[:i], k[i:]...) // the shared values are there already
	} else {
		w.keyEnds, w.csvEnds = w.keyEnds[:0], w.csvEnds[:0]
	}
	return ok
}

// appendValues writes the values of k from offset i on, each after a comma unless it is the first, recording
// where each ends; false when k is not well formed from i.
func (w *csvKeys) appendValues(k []byte, i int) bool {
	dst := w.csv
	defer func() { w.csv = dst }()
	for i < len(k) {
		// One value: up to its terminator, past escaped 0x00 bytes.
		vs := i
		quote, esc := false, false
		for {
			j := bytes.IndexByte(k[i:], 0)
			if j < 0 || i+j+1 == len(k) {
				return false
			}
			quote = quote || scpv2.NeedsQuote(k[i:i+j])
			i += j
			if k[i+1] == 0 {
				break
			}
			if k[i+1] != 0xFF {
				return false
			}
			esc = true
			i += 2
		}
		v := k[vs:i]
		i += 2
		if len(w.keyEnds) > 0 {
			dst = append(dst, ',')
		}
		switch {
		case !quote && !esc:
			dst = append(dst, v...)
		case !esc:
			dst = scpv2.AppendQuoted(dst, v)
		default: // a value holding 0x00 bytes, rare: byte by byte
			if quote {
				dst = append(dst, '"')
			}
			for j := 0; j < len(v); j++ {
				c := v[j]
				if c == 0 { // 0x00 0xFF: write the 0x00
					j++
				} else if c == '"' && quote {
					dst = append(dst, '"')
				}
				dst = append(dst, c)
			}
			if quote {
				dst = append(dst, '"')
			}
		}
		w.keyEnds, w.csvEnds = append(w.keyEnds, i), append(w.csvEnds, len(dst))
	}
	return true
}

// appendCSVKey appends the values of the encoded key k, written as CSV fields separated by commas, to dst, and
// reports whether k is a well-formed key of exactly n values.
func appendCSVKey(dst, k []byte, n int) ([]byte, bool) {
	var w csvKeys
	ok := w.write(k, n)
	return append(dst, w.csv...), ok
}
