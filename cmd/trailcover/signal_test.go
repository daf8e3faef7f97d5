package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// TestMain lets tests run this test binary as the trailcover command.
func TestMain(m *testing.M) {
	if os.Getenv("TRAILCOVER_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestInterrupt sends SIGINT and SIGTERM to a run in progress: it exits
// 130, the previous run's outputs are untouched, and nothing half-written
// or temporary is left in --out.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a subprocess")
	}
	dir := filepath.Join("..", "..", "testdata", "demo")
	srv := s3test.StartVersity(t)
	srv.CreateBucket(t, simulate.DefaultBucket)
	if err := s3test.UploadDir(t.Context(), srv.Client(t), simulate.DefaultBucket, dir); err != nil {
		t.Fatal(err)
	}
	// Slow enough that the run is surely in the middle when signalled.
	slow := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{Latency: 40 * time.Millisecond})
	// Every object read hangs until the client gives up: a stalled
	// endpoint, where a run waits on requests, not on its own work.
	stalled := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{Hang: 1, OnlyGet: true})

	cases := []struct {
		name     string
		sig      syscall.Signal
		endpoint string
		// ready says when the run is under way.
		ready func(out string, stderr *s3test.LockedBuffer) bool
	}{
		{"SIGINT writing events", syscall.SIGINT, slow.Endpoint, func(out string, _ *s3test.LockedBuffer) bool { return hasTempEvents(out) }},
		{"SIGTERM writing events", syscall.SIGTERM, slow.Endpoint, func(out string, _ *s3test.LockedBuffer) bool { return hasTempEvents(out) }},
		{"SIGINT with every read stalled", syscall.SIGINT, stalled.Endpoint, func(string, *s3test.LockedBuffer) bool { return true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			previous := []byte(`{"previous": "run"}`)
			if err := os.WriteFile(filepath.Join(out, summaryFile), previous, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "analyze", "--out", out, "--workers", "2", "--endpoint-url", tc.endpoint, "s3://"+simulate.DefaultBucket)
			cmd.Env = append(os.Environ(), "TRAILCOVER_TEST_RUN_MAIN=1",
				"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey, "AWS_REGION="+srv.Region,
				"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_CLOUDTRAIL="+noCloudTrail)
			stderr := &s3test.LockedBuffer{}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the run is under way, then signal.
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && !tc.ready(out, stderr) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(1500 * time.Millisecond)
			signalled := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			// A run that outlives this is hung, not slow: the test stops
			// it rather than wait on it.
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 30 s after %s\n%s", tc.sig, stderr.String())
			}
			t.Logf("exited %v after %s", time.Since(signalled).Round(time.Millisecond), tc.sig)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
				t.Fatalf("exit = %v, want status %d\n%s", err, exitInterrupted, stderr.String())
			}
			got, _ := os.ReadFile(filepath.Join(out, summaryFile))
			if !bytes.Equal(got, previous) {
				t.Errorf("summary.json changed by the interrupted run: %q", got)
			}
			entries, _ := os.ReadDir(out)
			for _, e := range entries {
				if e.Name() != summaryFile {
					t.Errorf("interrupted run left %s in --out", e.Name())
				}
			}
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say the run was interrupted:\n%s", stderr.String())
			}
		})
	}
}

func hasTempEvents(out string) bool {
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), eventsTmpPrefix) {
			return true
		}
	}
	return false
}
