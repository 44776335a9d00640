package splunkconf

import (
	"os"
	"testing"

	"regasmdetect/src/internal/shared"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(shared.Path(b, "data/escu/spec/savedsearches.conf.spec"))
	if err != nil {
		b.Fatal(err)
	}
	conf, err := os.ReadFile(shared.Path(b, "data/escu/savedsearches/escu-2022-06-29.conf"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("conf", func(b *testing.B) {
		b.SetBytes(int64(len(conf)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(conf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("spec", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseSpec(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
