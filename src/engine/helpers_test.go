package engine

import (
	"testing"

	"regasmdetect/src/escu"
)

// seedDetection returns the seed detection (escu.Default), compiled.
func seedDetection(t testing.TB) *Detection {
	t.Helper()
	d, err := escu.Lookup(escu.Default)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
