package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAnalyzeReproducible is the auditor's check: the same inputs and the
// same flags give byte-identical summary.json, findings, coverage and HTML
// report, apart from the time the report was generated, whatever the
// number of workers and the order objects were read in.
func TestAnalyzeReproducible(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	keys := filepath.Join(demo, ".trailcover", "public-keys.json")
	// Every run writes to the same --out (the command line is in the
	// report); its files are kept aside after each run.
	out := filepath.Join(t.TempDir(), "out")
	runAt := func(workers string, at time.Time) string {
		args := []string{"analyze", "--out", out, "--public-keys", keys, "--allow-regions", "us-east-1,eu-west-1", "--workers", workers, demo}
		err := run(t.Context(), args, &bytes.Buffer{}, &bytes.Buffer{}, func() time.Time { return at })
		var fe *findingsError
		if err != nil && !errors.As(err, &fe) {
			t.Fatal(err)
		}
		kept := t.TempDir()
		for _, name := range []string{summaryFile, findingsFile, coverageFile, htmlFile} {
			data, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(kept, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return kept
	}
	first := time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)
	a := runAt("8", first)
	b := runAt("8", first.Add(90*time.Minute))
	// Another number of workers reads objects in another order; only the
	// command line in summary.json and the HTML says so.
	c := runAt("1", first)
	for _, name := range []string{findingsFile, coverageFile} {
		da, _ := os.ReadFile(filepath.Join(a, name))
		dc, _ := os.ReadFile(filepath.Join(c, name))
		if len(da) == 0 || !bytes.Equal(da, dc) {
			t.Errorf("%s differs between 8 workers and 1 (%d and %d bytes)", name, len(da), len(dc))
		}
	}
	for _, name := range []string{summaryFile, findingsFile, coverageFile, htmlFile} {
		da, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		// The generation time is the one thing allowed to differ.
		for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04"} {
			da = bytes.ReplaceAll(da, []byte(first.Format(layout)), []byte("GENERATED"))
			db = bytes.ReplaceAll(db, []byte(first.Add(90*time.Minute).Format(layout)), []byte("GENERATED"))
		}
		if strings.HasSuffix(name, ".parquet") {
			// Parquet files record no time; they must match as they are.
			da, _ = os.ReadFile(filepath.Join(a, name))
			db, _ = os.ReadFile(filepath.Join(b, name))
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between two runs on the same inputs (%d and %d bytes)", name, len(da), len(db))
		}
	}
}
