package apptest

// The executables these tests run are built with `go build` while they run, which go test's result cache
// does not see. Importing the packages they are made of makes a change to any of them a change to this test
// binary, so a warm `go test ./...` runs the tests again instead of reporting an earlier pass. (A change to
// the executables' small main packages alone is not seen: run with -count=1, as CI does.)
import (
	_ "regasmdetect/src/command"
)
