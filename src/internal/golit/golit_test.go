package golit

import (
	"reflect"
	"strings"
	"testing"

	"regasmdetect/src/internal/golden"
	"time"
)

type sample struct {
	Name     string
	Count    int
	Small    uint8
	On       bool
	Wait     time.Duration // a named type of another package
	Text     string        // spans lines: a raw string
	Odd      string        // spans lines but holds a back quote: an interpreted string
	Tags     []string      // nil: left out
	Empty    []string      // empty, not nil: written
	Rows     [][]string
	Children []*child
	ByName   map[string]*child
	ByNumber map[int]string
	Inner    child
	Ptr      *child
	Nothing  *child
}

type child struct {
	Label string
	Level int
}

func sampleValue() sample {
	return sample{
		Name: "a \"quoted\" name", Count: -3, Small: 200, On: true, Wait: 5 * time.Second,
		Text:     "line one\n\tline two\n",
		Odd:      "has `back quotes`\nand two lines",
		Empty:    []string{},
		Rows:     [][]string{{"a", "b"}, {}, nil},
		Children: []*child{{Label: "x", Level: 1}, nil, {}},
		ByName:   map[string]*child{"zeta": {Label: "z"}, "alpha": {Level: 2}},
		ByNumber: map[int]string{10: "ten", -1: "minus one", 2: "two"},
		Inner:    child{Label: "in"},
		Ptr:      &child{Level: 7},
	}
}

const generated = "zz_sample_generated_test.go"

// TestGenerated writes sampleValue into a Go file of this package's tests, compares it with the committed one
// (which this test binary was compiled with) and checks that the value compiled from it equals the original.
func TestGenerated(t *testing.T) {
	f := NewFile("regasmdetect/src/internal/golit", "golit", "This file is the output of TestGenerated: go test -run TestGenerated -update.")
	if err := f.Var("generatedSample is sampleValue() written by golit.", "generatedSample", sampleValue()); err != nil {
		t.Fatal(err)
	}
	src, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if golden.Check(t, generated, src, "the generator's output: go test -run TestGenerated -update") {
		return
	}
	if !reflect.DeepEqual(generatedSample, sampleValue()) {
		t.Errorf("the compiled value differs:\ngot  %#v\nwant %#v", generatedSample, sampleValue())
	}
	for _, want := range []string{"\"time\"", "time.Duration(5000000000)", "`line one\n\tline two\n`", `"has ` + "`back quotes`" + `\nand two lines"`,
		"Empty: []string{}", "\"alpha\": {", "-1: \"minus one\",\n\t\t2:"} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated source lacks %q", want)
		}
	}
}

func TestErrors(t *testing.T) {
	type hidden struct{ n int }
	type withFunc struct{ F func() }
	type withFloat struct{ X float64 }
	type withIntPtr struct{ P *int }
	one := 1
	tests := []struct {
		name string
		v    any
		msg  string
	}{
		{"unexported field", hidden{n: 1}, "unexported field is not zero"},
		{"func", withFunc{F: func() {}}, "cannot write a func()"},
		{"float", withFloat{X: 1.5}, "cannot write a float64"},
		{"pointer to int", withIntPtr{P: &one}, "only pointers to structs"},
		{"bool keys", map[bool]string{true: "x"}, "only string and integer keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewFile("p", "p", "").Var("", "v", tt.v)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %q", err, tt.msg)
			}
		})
	}
	// Zero values of unexported fields are fine: they are left out.
	if err := NewFile("p", "p", "").Var("", "v", hidden{}); err != nil {
		t.Error(err)
	}
}
