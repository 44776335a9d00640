package engine

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// referenceTime is parseTime as it was before its fast path: strconv.ParseFloat on the allowed characters.
func referenceTime(b []byte) (float64, bool) {
	for _, ch := range b {
		if !(ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '+' || ch == 'e' || ch == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if len(b) == 0 || err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// TestParseTimeSameAsStrconv: the fast path for plain decimals gives strconv's bits, sign of zero included,
// and leaves everything else to it.
func TestParseTimeSameAsStrconv(t *testing.T) {
	for _, in := range []string{"1599171244", "1599171244.277", "1700000000.123456", "0.1", ".5", "5.", "-0", "-0.0",
		"-1599171244.5", "999999999999999", "9999999999999999", "1234567890.12345", "1234567890.123456", "0.000000000000001",
		"000000000000001", "1e9", "+7", "-", ".", "", "..5", "1.2.3", "NaN", "Inf", "0x10", "1_000", "1599171245.000",
		"9007199254740993", "0.30000000000000004", "123456789012345.6", "--1", "1-"} {
		gf, gok := parseTime([]byte(in))
		wf, wok := referenceTime([]byte(in))
		if gok != wok || math.Float64bits(gf) != math.Float64bits(wf) {
			t.Errorf("parseTime(%q) = %v, %v (bits %x); strconv: %v, %v (bits %x)", in, gf, gok, math.Float64bits(gf), wf, wok, math.Float64bits(wf))
		}
	}
}

// TestParseTimeRandomDecimals compares random plain decimals of 1 to 17 digits, the point anywhere.
func TestParseTimeRandomDecimals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, 20)
	for range 200_000 {
		b = b[:0]
		if rng.IntN(4) == 0 {
			b = append(b, '-')
		}
		n := 1 + rng.IntN(17)
		point := rng.IntN(n + 2)
		for i := range n {
			if i == point {
				b = append(b, '.')
			}
			b = append(b, byte('0'+rng.IntN(10)))
		}
		gf, gok := parseTime(b)
		wf, wok := referenceTime(b)
		if gok != wok || math.Float64bits(gf) != math.Float64bits(wf) {
			t.Fatalf("parseTime(%q) = %v, %v; strconv: %v, %v", b, gf, gok, wf, wok)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"1599171244.277", "-0", ".5", "999999999999999", "1e9", "1.5.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		gf, gok := parseTime([]byte(in))
		wf, wok := referenceTime([]byte(in))
		if gok != wok || math.Float64bits(gf) != math.Float64bits(wf) {
			t.Fatalf("parseTime(%q) = %v, %v; strconv: %v, %v", in, gf, gok, wf, wok)
		}
	})
}
