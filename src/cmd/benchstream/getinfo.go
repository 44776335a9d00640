package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// getinfoAgainstHelloWorld is the start-up cost splunkd pays for every search: it builds the app's build of the
// command (src/cmd/regasmdetect-splunk, as the packages ship it) and a Go hello-world with the same flags, then
// times, interleaved in the same run, spawn-to-exit of the hello-world, a getinfo-only exchange of the app's
// build and one of the CLI given with -bin. It reports the medians and the ratio of the app's build to the
// hello-world (target: at most 1.5).
func getinfoAgainstHelloWorld(cli string, runs int) error {
	dir, err := os.MkdirTemp("", "regasmdetect-getinfo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	app := filepath.Join(dir, "regasmdetect"+exe)
	hello := filepath.Join(dir, "hello"+exe)
	flags := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid="}
	build := exec.Command("go", append(flags, "-o", app, "./src/cmd/regasmdetect-splunk")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the app's command: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "hello-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello, world\\n\") }\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	build = exec.Command("go", append(flags, "-o", hello, ".")...)
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the hello-world: %v\n%s", err, out)
	}
	var h, a, c []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		if out, err := exec.Command(hello).Output(); err != nil || string(out) != "hello, world\n" {
			return fmt.Errorf("hello-world: %q, %v", out, err)
		}
		h = append(h, time.Since(start))
		d, err := probe(app)
		if err != nil {
			return fmt.Errorf("getinfo probe of the app's build: %w", err)
		}
		a = append(a, d)
		if d, err = probe(cli); err != nil {
			return fmt.Errorf("getinfo probe of %s: %w", cli, err)
		}
		c = append(c, d)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	size := func(p string) float64 {
		st, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return float64(st.Size()) / 1e6
	}
	mh, ma, mc := median(h), median(a), median(c)
	fmt.Printf("spawn to exit, medians of %d interleaved runs:\n", runs)
	fmt.Printf("  Go hello-world (%.1f MB)                      %6.2f ms\n", size(hello), ms(mh))
	fmt.Printf("  getinfo-only, the app's build (%.1f MB)       %6.2f ms  %.2fx the hello-world (target <= 1.5x)\n", size(app), ms(ma), float64(ma)/float64(mh))
	fmt.Printf("  getinfo-only, %s (%.1f MB)  %6.2f ms  %.2fx the hello-world\n", cli, size(cli), ms(mc), float64(mc)/float64(mh))
	if float64(ma) > 1.5*float64(mh) {
		fmt.Println("  the app's build is over the target")
	}
	return nil
}
