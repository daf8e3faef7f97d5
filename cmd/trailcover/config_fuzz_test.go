package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailcover/trailcover/ingest"
)

// configSeeds are configuration files, good and bad, for FuzzJobConfig and
// TestJobConfigBounded.
var configSeeds = []string{
	`source = "s3://bucket/prefix"
out = "/tmp/report"
last = "7d"
allow-regions = ["us-east-1", "eu-west-1"]
accounts = ["111111111111"]
fail-on = "critical"
workers = 3
log-format = "json"
public-keys = ["/etc/trailcover/keys.json"]
hive-partitions = true
`,
	`source = 's3://bucket' # a comment [ { .
expect-regions = """us-east-1,
eu-west-1"""
start = "2024-01-01"
end = 2024-02-01
`,
	"sourse = \"x\"",
	"[analyze]\nout = \"x\"",
	`out = ["a", "b"]`,
	`workers = 1.5`,
	`workers = -3`,
	`workers = 99999999999999999999`,
	`fail-on = "severe"`,
	`config = "x"`,
	`accounts = ["1", 2]`,
	`a = {b = {c = 1}}`,
	`a.b.c = 1`,
	"out = \"\"\"x\"\"\"\"\" ,[[[",
	"out = '''x''' # [[[[",
	"\ufeffout = \"x\"",
	"out = \"\x00\"",
	"a = " + strings.Repeat("[", 100),
	"a = " + strings.Repeat("{b=", 100),
	strings.Repeat("a.", 100) + "b = 1",
}

// FuzzJobConfig feeds configuration files to the TOML reading and to
// analyze's flags: no panic, no hang, errors that say where they come
// from, and a file that is accepted makes a valid configuration.
func FuzzJobConfig(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseJobConfig("fuzz.toml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config fuzz.toml: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, name := range c.order {
			if _, ok := c.values[name]; !ok {
				t.Fatalf("setting %q in the order but not the values", name)
			}
		}
		if len(c.order) != len(c.values) {
			t.Fatalf("%d settings in the order, %d values", len(c.order), len(c.values))
		}

		// The file as analyze reads it, with the flags as analyze has
		// them: apply's work is the point.
		p := filepath.Join(dir, "fuzz.toml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := parseAnalyzeFlags([]string{"--config", p}, io.Discard, io.Discard, fixedNow)
		if err != nil {
			if !errors.Is(err, errUsage) && !strings.HasPrefix(err.Error(), "config") {
				t.Fatalf("error %q is neither a usage error nor about the config", err)
			}
			return
		}
		if s, ok := c.values["source"].(string); !ok || cfg.source != s || s == "" {
			t.Fatalf("source %q from a file whose source is %#v", cfg.source, c.values["source"])
		}
		if cfg.workers < 1 || (cfg.logFormat != "text" && cfg.logFormat != "json") {
			t.Fatalf("accepted workers %d, log format %q", cfg.workers, cfg.logFormat)
		}
		for _, a := range cfg.accounts {
			if !ingest.IsAccountID(a) {
				t.Fatalf("accepted account %q", a)
			}
		}
		for _, r := range slices.Concat(cfg.allowRegions, cfg.expectRegions) {
			if !ingest.IsRegion(r) {
				t.Fatalf("accepted region %q", r)
			}
		}
		if w := cfg.window; !w.Start.IsZero() && !w.End.IsZero() && !w.Start.Before(w.End) {
			t.Fatalf("accepted window %v", w)
		}
	})
}

// TestJobConfigBounded: configuration files at the size limit that nest
// as deep as the TOML parser lets them are refused quickly, without the
// parser's super-linear time and memory on deep nesting.
func TestJobConfigBounded(t *testing.T) {
	fill := func(unit string) string {
		return strings.Repeat(unit, (maxConfigSize-64)/len(unit))
	}
	for _, tt := range []struct{ name, doc, want string }{
		{"nested arrays", "a = " + fill("["), "nested deeper than"},
		{"closed nested arrays", "a = " + strings.Repeat("[", maxConfigSize/8) + strings.Repeat("]", maxConfigSize/8), "nested deeper than"},
		{"nested inline tables", "a = " + fill("{b="), "nested deeper than"},
		{"dotted keys", fill("a.") + "b = 1", "dots outside strings"},
		{"too large", strings.Repeat("#", maxConfigSize+1), "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "big.toml")
			if err := os.WriteFile(p, []byte(tt.doc+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadJobConfig(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
	// Brackets, braces and dots in strings and comments are not nesting.
	ok := "out = \"[[[[[[[[[[{{{{{{{{{.................\"\n" +
		"source = '''\n[[[[[[[[[[[[.......................'''\n" +
		"# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[.................................\n" +
		"log-format = \"\\\"[[[[[[[[[[[[[[[\"\n"
	if err := checkNesting([]byte(ok)); err != nil {
		t.Errorf("checkNesting refuses strings and comments: %v", err)
	}
}

// TestConfigFromDevice: a configuration that is not a regular file (a
// pipe, /dev/zero) is read up to the limit, never whole.
func TestConfigFromDevice(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := parseAnalyzeFlags([]string{"--config", "/dev/zero", "dir"}, io.Discard, io.Discard, fixedNow)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v, want the size limit", err)
	}
}
