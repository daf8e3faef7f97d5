//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNamedPipe: a named pipe where a log file should be is an
// unreadable object, reported by name; the run neither hangs waiting for
// a writer nor stops.
func TestNamedPipe(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "AWSLogs", "111111111111", "CloudTrail", "us-east-1", "2024", "01", "01")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(folder, "111111111111_CloudTrail_us-east-1_20240101T0005Z_GoodLogFile00001.json.gz")
	if err := os.WriteFile(good, gzipped([]byte(records(ctRecord("pipe-neighbour", "us-east-1", "00:04", "")))), 0o644); err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(folder, "111111111111_CloudTrail_us-east-1_20240101T0010Z_NamedPipe0000001.json.gz")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	began := time.Now()
	res := analyzeGenuine(t, dir)
	if res.summary.Objects.Unreadable != 1 || res.summary.Records.Total != 1 {
		t.Errorf("objects %+v, records %+v; want the pipe unreadable and the neighbour read\n%s", res.summary.Objects, res.summary.Records, res.stderr)
	}
	named := false
	for _, f := range findingsOfKind(res.summary, "unreadable-object") {
		if strings.Contains(f.Title+f.Detail, "NamedPipe0000001") {
			named = true
			// The listing saw what it is: the pipe is never opened.
			if !strings.Contains(f.Detail, "a named pipe, not a regular file: skipped without opening it") {
				t.Errorf("the pipe was not refused from its listing: %s", f.Detail)
			}
		}
	}
	if !named {
		t.Errorf("no unreadable-object finding names the pipe: %+v", res.summary.Findings)
	}
	t.Logf("run took %v", time.Since(began).Round(time.Millisecond))
}
