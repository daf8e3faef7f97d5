package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trailcover.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFile(t *testing.T) {
	p := writeConfig(t, `
source = "s3://bucket/prefix"
out = "/tmp/report"
last = "7d"
allow-regions = ["us-east-1", "eu-west-1"]
accounts = ["111111111111"]
fail-on = "critical"
workers = 3
log-format = "json"
`)
	cfg, err := parseAnalyzeFlags([]string{"--config", p, "--fail-on", "medium"}, io.Discard, io.Discard, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.source != "s3://bucket/prefix" || cfg.out != "/tmp/report" || cfg.workers != 3 || cfg.logFormat != "json" {
		t.Errorf("cfg = %+v", cfg)
	}
	if !slices.Equal(cfg.allowRegions, []string{"us-east-1", "eu-west-1"}) || !slices.Equal(cfg.accounts, []string{"111111111111"}) {
		t.Errorf("lists = %v, %v", cfg.allowRegions, cfg.accounts)
	}
	// The command line wins over the file.
	if cfg.failOn != analyzer.Medium {
		t.Errorf("failOn = %v, want medium from the command line", cfg.failOn)
	}
	if want := fixedNow.Add(-7 * 24 * time.Hour); !cfg.window.Start.Equal(want) {
		t.Errorf("window start = %v, want %v", cfg.window.Start, want)
	}
	// A SOURCE on the command line wins over the file's.
	cfg, err = parseAnalyzeFlags([]string{"--config", p, "other-dir"}, io.Discard, io.Discard, fixedNow)
	if err != nil || cfg.source != "other-dir" {
		t.Errorf("source = %q, %v; want other-dir", cfg.source, err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"unknown setting", `sourse = "x"`, "unknown setting"},
		{"table", "[analyze]\nout = \"x\"", "tables are not supported"},
		{"list for a single flag", `out = ["a", "b"]`, "takes one value"},
		{"bad value", `fail-on = "severe"`, "severe"},
		{"not toml", `out = `, "config"},
		{"recursive", `config = "x"`, "unknown setting"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAnalyzeFlags([]string{"--config", writeConfig(t, tt.body), "dir"}, io.Discard, io.Discard, fixedNow)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	_, err := parseAnalyzeFlags([]string{"--config", filepath.Join(t.TempDir(), "missing.toml"), "dir"}, io.Discard, io.Discard, fixedNow)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing config: err = %v", err)
	}
}

// TestDefaultWorkers: S3 sources get s3Workers unless --workers (or the
// config file's workers) chose a number; directories keep 4 per CPU.
func TestDefaultWorkers(t *testing.T) {
	s3, dir := &ingest.S3Source{}, &ingest.DirSource{}
	perCPU := 4 * runtime.GOMAXPROCS(0)
	p := writeConfig(t, "workers = 3\n")
	for _, tc := range []struct {
		args []string
		src  ingest.Source
		want int
	}{
		{[]string{"dir"}, dir, perCPU},
		{[]string{"s3://b"}, s3, s3Workers},
		{[]string{"--workers", "5", "s3://b"}, s3, 5},
		{[]string{"--workers", "5", "dir"}, dir, 5},
		{[]string{"--config", p, "s3://b"}, s3, 3},
		{[]string{"--integrity-only", "s3://b"}, s3, s3LightWorkers},
		{[]string{"--integrity-only", "dir"}, dir, perCPU},
		{[]string{"--integrity-only", "--workers", "7", "s3://b"}, s3, 7},
	} {
		cfg, err := parseAnalyzeFlags(tc.args, io.Discard, io.Discard, fixedNow)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg.withDefaultWorkers(tc.src, cfg.integrityOnly)
		if cfg.workers != tc.want {
			t.Errorf("%v: %d workers, want %d", tc.args, cfg.workers, tc.want)
		}
	}
}

// TestFlagsAnywhere: flags before, between and after the positional
// arguments, as the README's examples put them; "--" ends the flags, and
// a flag's value that happens to be "--" does not.
func TestFlagsAnywhere(t *testing.T) {
	for _, tt := range []struct {
		args       []string
		positional []string
		out        string
		versions   bool
	}{
		{[]string{"s3://bucket", "--last", "7d", "--out", "report/"}, []string{"s3://bucket"}, "report/", false},
		{[]string{"--out", "o", "s3://bucket", "dir"}, []string{"s3://bucket", "dir"}, "o", false},
		{[]string{"s3://bucket", "--versions", "dir", "-out=o"}, []string{"s3://bucket", "dir"}, "o", true},
		{[]string{"--out", "o", "--", "--versions", "-x"}, []string{"--versions", "-x"}, "o", false},
		{[]string{"--versions", "--", "a"}, []string{"a"}, "", true},
		{[]string{"--out", "--", "a", "--versions"}, []string{"a"}, "--", true},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		out := fs.String("out", "", "")
		fs.String("last", "", "")
		versions := fs.Bool("versions", false, "")
		got, err := parseInterspersed(fs, io.Discard, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !slices.Equal(got, tt.positional) || *out != tt.out || *versions != tt.versions {
			t.Errorf("%q: positional %q, out %q, versions %v; want %q, %q, %v", tt.args, got, *out, *versions, tt.positional, tt.out, tt.versions)
		}
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseInterspersed(fs, io.Discard, []string{"s3://bucket", "--no-such-flag"}); err == nil {
		t.Error("an unknown flag after the source was accepted")
	}
}

// TestHelp: -h and --help print the usage to stdout and succeed, for
// every command; a bad flag prints it to stderr.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"analyze", "acquire", "simulate"} {
		for _, h := range []string{"-h", "--help"} {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), []string{cmd, h}, &stdout, &stderr, func() time.Time { return fixedNow })
			if err != nil || !strings.Contains(stdout.String(), "usage: trailcover "+cmd) || stderr.Len() != 0 {
				t.Errorf("%s %s: %v; stdout %d bytes, stderr %q", cmd, h, err, stdout.Len(), stderr.String())
			}
		}
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{cmd, "--no-such-flag"}, &stdout, &stderr, func() time.Time { return fixedNow })
		if !errors.Is(err, errUsage) || stdout.Len() != 0 || !strings.Contains(stderr.String(), "usage: trailcover "+cmd) {
			t.Errorf("%s --no-such-flag: %v; stdout %q", cmd, err, stdout.String())
		}
	}
}

// TestJSONLogs: with --log-format json every line on stderr is a JSON
// object, the last one (the exit status) included, for a run with
// findings and for one that fails.
func TestJSONLogs(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	for _, args := range [][]string{
		{"analyze", demo, "--log-format", "json", "--out", t.TempDir()},
		{"analyze", t.TempDir(), "--log-format", "json", "--out", t.TempDir()},
	} {
		var stderr bytes.Buffer
		err := run(t.Context(), args, io.Discard, &stderr, func() time.Time { return fixedNow })
		exitCode(err, false, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		for _, line := range lines {
			var v map[string]any
			if json.Unmarshal([]byte(line), &v) != nil {
				t.Errorf("%q: a stderr line is not JSON: %s", args, line)
			}
		}
		if last := lines[len(lines)-1]; !strings.Contains(last, `"exit":`) {
			t.Errorf("%q: the last line does not give the exit status: %s", args, last)
		}
	}
}
