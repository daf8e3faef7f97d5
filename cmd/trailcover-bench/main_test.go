package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"1GB", 1e9},
		{"10gb", 10e9},
		{"1.5GB", 1.5e9},
		{"500MB", 500e6},
		{"2GiB", 2 << 30},
		{"64KiB", 64 << 10},
		{"1234", 1234},
		{"20 MB", 20e6},
	} {
		if got, err := parseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "GB", "-1GB", "0", "1TB", "x"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestArchivePlan(t *testing.T) {
	for _, tt := range []struct {
		size               int64
		accounts, rate     int
		wantDays, wantRate int
	}{
		{1e9, 3, 2000, 9, 2000},
		{10e9, 3, 2000, 90, 2000},
		{20e6, 3, 2000, 1, 360},
		{1e3, 3, 2000, 1, minEventsPerHour},
	} {
		days, rate := archivePlan(tt.size, tt.accounts, tt.rate)
		if days != tt.wantDays || rate != tt.wantRate {
			t.Errorf("archivePlan(%d, %d, %d) = %d days at %d/h, want %d at %d/h", tt.size, tt.accounts, tt.rate, days, rate, tt.wantDays, tt.wantRate)
		}
	}
}

func TestDuckDBCopySQL(t *testing.T) {
	sql := duckdbCopySQL("/tmp/it's/AWSLogs/*/CloudTrail/*.json.gz", "/tmp/out.parquet")
	for _, want := range []string{
		`read_json('/tmp/it''s/AWSLogs/*/CloudTrail/*.json.gz'`,
		"r.eventTime AS event_time",
		"r.requestParameters::VARCHAR AS request_parameters",
		"u[13] = 'true' AS mfa_authenticated",
		"filename AS object_key",
		"TO '/tmp/out.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 32768)",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("SQL lacks %q:\n%s", want, sql)
		}
	}
	// Every events column trailcover writes from a record, once.
	if got, want := len(duckdbColumns)+len(duckdbIdentity)+2, 45; got != want {
		t.Errorf("%d columns, want %d", got, want)
	}
}

func TestGoals(t *testing.T) {
	res := func(records, bytes int64, wall time.Duration, rss int64) *result {
		return &result{records: records, objects: records / 100, bytes: bytes, m: measurement{wall: wall, maxRSS: rss}}
	}
	small := &sizeReport{
		archive:    &archive{size: 1e9},
		trailcover: res(1e6, 1e9, 10*time.Second, 200<<20),
		duckdb:     res(1e6, 1e9, 50*time.Second, 900<<20),
		floorAll:   res(1e6, 1e9, 5*time.Second, 20<<20),
	}
	large := &sizeReport{
		archive:    &archive{size: 10e9},
		trailcover: res(1e7, 1e10, 100*time.Second, 260<<20),
		duckdb:     &result{skipped: "node is not installed"},
	}
	integ := []*integrityReport{{
		latency:       20 * time.Millisecond,
		integrityOnly: &result{objects: 1000, m: measurement{wall: time.Second}},
		trailcover:    &result{skipped: "not run"},
		validate:      &result{objects: 1000, m: measurement{wall: 100 * time.Second}},
	}}
	got := map[string]string{}
	for _, v := range goals([]*sizeReport{small, large}, integ) {
		got[v.goal] = v.outcome
	}
	want := map[string]string{
		"analyze records/s ≥ 4× DuckDB's (1 GB)":         "met",
		"analyze ≥ 60% of the all-core floor (1 GB)":     "missed",
		"analyze peak RSS < 300 MB (1 GB)":               "met",
		"analyze records/s ≥ 4× DuckDB's (10 GB)":        "not measured",
		"analyze ≥ 60% of the all-core floor (10 GB)":    "not measured",
		"analyze peak RSS < 300 MB (10 GB)":              "met",
		"peak RSS flat from 1 GB to 10 GB (grows ≤ 20%)": "missed",
	}
	for goal, outcome := range want {
		if !strings.Contains(got[goal], outcome) {
			t.Errorf("%s: %q, want %q (all: %q)", goal, got[goal], outcome, got)
		}
	}
}

// TestReplicate: the genuine archive under n account IDs holds n times
// its files, each copy's folders and names under its own ID.
func TestReplicate(t *testing.T) {
	src := t.TempDir()
	name := "AWSLogs/974349055189/CloudTrail/us-east-1/2015/01/01/974349055189_CloudTrail_us-east-1_20150101T0000Z_abcdefghijklmnop.json.gz"
	if err := os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, name), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := replicate(src, dst, 10); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		id := fmt.Sprintf("%012d", 974349055189+i)
		want := filepath.Join(dst, strings.ReplaceAll(name, "974349055189", id))
		if _, err := os.Stat(want); err != nil {
			t.Errorf("copy %d: %v", i, err)
		}
	}
	cfg, err := parseFlags([]string{"-span", "-org-accounts", "0", "-genuine", src}, io.Discard)
	if err != nil || !cfg.span || cfg.orgAccounts != 0 || cfg.genuine != src {
		t.Errorf("parseFlags -span: %+v, %v", cfg, err)
	}
}
