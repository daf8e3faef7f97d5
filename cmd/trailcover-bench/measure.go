package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// measurement is what one contestant's process cost.
type measurement struct {
	wall, user, sys time.Duration
	// maxRSS is the process's peak resident set in bytes, as the kernel
	// reports it when the process is reaped; 0 where the OS does not say.
	maxRSS int64
	// load is the 1, 5 and 15 minute load averages when it started: on a
	// shared machine, what else competed for the cores. Empty where the
	// OS does not say.
	load string
}

func (m measurement) cpu() time.Duration { return m.user + m.sys }

// result is one row of a table: a contestant and what it did.
type result struct {
	name string
	// command is what ran, for the notes under the table.
	command string
	// skipped says why the contestant did not run; err why it failed.
	skipped string
	err     error
	// What it read and wrote: records, objects and their bytes as stored,
	// its outputs' bytes.
	records, objects, bytes, outBytes int64
	m                                 measurement
	// serverCPU is the CPU time the S3 server spent serving it.
	serverCPU time.Duration
	note      string
}

func (r *result) ok() bool { return r != nil && r.skipped == "" && r.err == nil }

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (r *result) recordsPerSec() float64 { return perSecond(r.records, r.m.wall) }
func (r *result) objectsPerSec() float64 { return perSecond(r.objects, r.m.wall) }
func (r *result) mbPerSec() float64      { return perSecond(r.bytes, r.m.wall) / 1e6 }

// command is exec.CommandContext that interrupts the process when ctx is
// done and kills it if it has not exited a few seconds later.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// measure runs cmd (not yet started) and returns what it cost. Its stdout
// is returned; its stderr goes to logFile, whose end is quoted in the
// error if the process fails. okExit lists exit codes other than 0 that
// are not failures.
func measure(cmd *exec.Cmd, logFile string, okExit ...int) (stdout []byte, m measurement, err error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		return nil, m, err
	}
	errFile, err := os.Create(logFile)
	if err != nil {
		return nil, m, err
	}
	defer errFile.Close()
	cmd.Stderr = errFile
	load := loadAverage()
	began := time.Now()
	err = cmd.Run()
	m.wall = time.Since(began)
	m.load = load
	if ps := cmd.ProcessState; ps != nil {
		m.user, m.sys = ps.UserTime(), ps.SystemTime()
		m.maxRSS = maxRSS(ps.SysUsage())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		for _, code := range okExit {
			if ee.ExitCode() == code {
				err = nil
			}
		}
	}
	if err != nil {
		return out.Bytes(), m, fmt.Errorf("%s: %w\n%s", commandLine(cmd), err, tail(logFile, 2000))
	}
	return out.Bytes(), m, nil
}

// commandLine is cmd as a shell would show it, without the environment.
func commandLine(cmd *exec.Cmd) string {
	parts := make([]string, len(cmd.Args))
	for i, a := range cmd.Args {
		if a == "" || strings.ContainsAny(a, " \t\"'*?$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

// tail returns the last n bytes of a file.
func tail(name string, n int64) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// envWithout is the environment minus the variables with the given
// prefixes, plus extra.
func envWithout(prefixes []string, extra ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// loadAverage is /proc/loadavg's three load averages, or "".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
