package scpv2

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestRowsEnd(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 0},
		{"a,b\n", 4},
		{"a,b\nc,d", 4},
		{"a,\"x\ny\"\nc", 8},   // the newline inside quotes is not a row end
		{"a,\"x\ny", 0},        // still inside a quoted value
		{"\"\"\"\"\n\"a\n", 5}, // an escaped quote keeps the parity even
		{"a\nb\nc\n", 6},
	} {
		if got := RowsEnd([]byte(c.in)); got != c.want {
			t.Errorf("RowsEnd(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// rowsOf reads every data row of r (header first) as strings, or the error.
func rowsOf(c *CSVReader) ([][]string, error) {
	var out [][]string
	for {
		row, err := c.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		rec := make([]string, len(row))
		for i, f := range row {
			rec[i] = string(f)
		}
		out = append(out, rec)
	}
}

// checkCut parses body whole, and again cut at every row end RowsEnd finds in successive windows, each piece
// read with ResetRows: the same rows, the same error.
func checkCut(t *testing.T, body []byte, window int) {
	t.Helper()
	whole := NewCSVReader(bytes.NewReader(body))
	header, err := whole.Header()
	if err != nil {
		return
	}
	want, wantErr := rowsOf(whole)
	_, hdrEnd := HeaderSpan(body)
	if hdrEnd < 0 {
		return // a header-only body without a line end
	}
	rest := append([]byte(nil), body[hdrEnd:]...)
	var got [][]string
	var gotErr error
	pieces := NewCSVReader(nil)
	for len(rest) > 0 && gotErr == nil {
		end := RowsEnd(rest[:min(len(rest), window)])
		if end == 0 {
			end = RowsEnd(rest)
			if end == 0 {
				end = len(rest)
			}
		}
		piece := append([]byte(nil), rest[:end]...)
		rest = rest[end:]
		pieces.ResetRows(piece, header)
		var rows [][]string
		rows, gotErr = rowsOf(pieces)
		got = append(got, rows...)
	}
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("whole: %v, cut: %v", wantErr, gotErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("cut rows differ:\n%q\nwant\n%q", got, want)
	}
}

func TestResetRowsCuts(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		body := splunkBody(300, seed)
		for _, w := range []int{1, 64, 1000, 1 << 20} {
			checkCut(t, body, w)
		}
	}
	// The reader's own buffer comes back after ResetRows.
	c := NewCSVReader(nil)
	c.ResetRows([]byte("1,2\n"), []string{"a", "b"})
	if rows, err := rowsOf(c); err != nil || len(rows) != 1 || c.Row() != 2 {
		t.Fatalf("rows %q, err %v, row %d", rows, err, c.Row())
	}
	c.Reset(bytes.NewReader([]byte("x\n1\n")))
	if h, err := c.Header(); err != nil || h[0] != "x" {
		t.Fatalf("after Reset: %q %v", h, err)
	}
}

func FuzzRowsEnd(f *testing.F) {
	f.Add([]byte("a,b\n1,\"x\ny\"\n2,3\n"), 5)
	f.Add([]byte("h\n\"\"\"\"\n\"a,b\"\n"), 3)
	f.Add(splunkBody(20, 7), 100)
	f.Fuzz(func(t *testing.T, body []byte, window int) {
		if window <= 0 || window > 1<<16 {
			window = 1
		}
		checkCut(t, body, window)
	})
}
