package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/analyzer"
)

var fixedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestParseWindow(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct {
		start, end, last string
		want             [2]time.Time
		err              string
	}{
		{"", "", "", [2]time.Time{}, ""},
		{"2024-01-01", "2024-02-01", "", [2]time.Time{d("2024-01-01T00:00:00Z"), d("2024-02-01T00:00:00Z")}, ""},
		{"2024-01-01T10:00:00+02:00", "", "", [2]time.Time{d("2024-01-01T08:00:00Z"), {}}, ""},
		{"", "", "7d", [2]time.Time{d("2026-11-14T12:00:00Z"), fixedNow}, ""},
		{"", "", "2w", [2]time.Time{d("2026-11-07T12:00:00Z"), fixedNow}, ""},
		{"", "", "36h", [2]time.Time{d("2026-11-20T00:00:00Z"), fixedNow}, ""},
		{"", "", "0d", [2]time.Time{}, "not a positive"},
		{"", "", "-5h", [2]time.Time{}, "not a positive"},
		{"2024-01-01", "", "7d", [2]time.Time{}, "cannot be combined"},
		{"2024-02-01", "2024-01-01", "", [2]time.Time{}, "before --end"},
		{"yesterday", "", "", [2]time.Time{}, "neither RFC 3339"},
	}
	for _, tt := range tests {
		w, err := parseWindow(tt.start, tt.end, tt.last, fixedNow)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseWindow(%q, %q, %q) error = %v, want %q", tt.start, tt.end, tt.last, err, tt.err)
			}
			continue
		}
		if err != nil || !w.Start.Equal(tt.want[0]) || !w.End.Equal(tt.want[1]) {
			t.Errorf("parseWindow(%q, %q, %q) = %v, %v, %v; want %v", tt.start, tt.end, tt.last, w.Start, w.End, err, tt.want)
		}
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		interrupted bool
		want        int
	}{
		{"ok", nil, false, exitOK},
		{"usage", errors.Join(errUsage, errors.New("x")), false, exitUsage},
		{"findings", &findingsError{count: 2, threshold: "high"}, false, exitFindings},
		{"error", errors.New("boom"), false, exitError},
		{"interrupted", context.Canceled, true, exitInterrupted},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err, tt.interrupted, io.Discard); got != tt.want {
			t.Errorf("%s: exitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestAnalyzeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"analyze"},
		{"analyze", "a", "b"},
		{"analyze", "--fail-on", "severe", "dir"},
		{"analyze", "--accounts", "12345", "dir"},
		{"analyze", "--allow-regions", "us-east-1,<script>", "dir"},
		{"analyze", "--workers", "0", "dir"},
		{"analyze", "--last", "yesterday", "dir"},
		{"analyze", "--endpoint-url", "http://127.0.0.1:1", t.TempDir()},
		{"analyze", "gs://bucket"},
		{"nonsense"},
		{},
	} {
		var stderr bytes.Buffer
		err := run(t.Context(), args, io.Discard, &stderr, func() time.Time { return fixedNow })
		if !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

// TestUnknownRegion: a region code the model does not list is a typo
// until the user says it is a new region.
func TestUnknownRegion(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "demo")
	for _, flagName := range []string{"--allow-regions", "--expect-regions"} {
		err := run(t.Context(), []string{"analyze", dir, flagName, "eu-west-1,us-est-1", "--out", t.TempDir()}, io.Discard, io.Discard, func() time.Time { return fixedNow })
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `did you mean "us-east-1"`) {
			t.Errorf("%s us-est-1: %v, want a usage error suggesting us-east-1", flagName, err)
		}
		err = run(t.Context(), []string{"analyze", dir, flagName, "eu-west-1,us-east-7", "--known-regions", "us-east-7", "--out", t.TempDir()}, io.Discard, io.Discard, func() time.Time { return fixedNow })
		if errors.Is(err, errUsage) {
			t.Errorf("%s us-east-7 --known-regions us-east-7: %v", flagName, err)
		}
	}
}

func TestAnalyzeFailOn(t *testing.T) {
	cfg, err := parseAnalyzeFlags([]string{"--fail-on", "critical", "--accounts", "111111111111,222222222222", "--accounts", "333333333333", "x"}, io.Discard, io.Discard, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.failOn != analyzer.Critical || len(cfg.accounts) != 3 || cfg.source != "x" {
		t.Errorf("cfg = %+v", cfg)
	}
}
