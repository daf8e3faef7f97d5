package ingest_test

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// regionOf is the account and region an object belongs to, as ScopeDone
// names them.
func regionOf(loc ingest.Location) ingest.Scope {
	return ingest.Scope{Prefix: loc.Prefix, OrgID: loc.OrgID, Account: loc.Account, Region: loc.Region}
}

// simulatedSource generates an archive and opens it as a directory.
func simulatedSource(t *testing.T, cfg simulate.Config) *ingest.DirSource {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := simulate.Generate(t.Context(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	src, err := ingest.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// TestScanScopeDone scans a simulated archive (two accounts, every region
// with digests) with many workers and listers, and holds ScopeDone to its
// contract: each region's digests are all delivered before its first log
// file, ScopeDone comes once per region after the region's last object,
// and the scan delivers exactly what a scan without ScopeDone does.
func TestScanScopeDone(t *testing.T) {
	src := simulatedSource(t, simulate.Config{
		Seed: 5, AccountCount: 2, Regions: []string{"us-east-1", "eu-west-1"},
		EnabledRegions: []string{"us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"},
		Days:           1, EventsPerHour: 20,
	})

	// What each region holds, from a plain scan.
	digests := map[ingest.Scope]int{}
	objects := map[ingest.Scope]int{}
	plain := map[string]bool{}
	if _, err := ingest.Scan(t.Context(), src, ingest.ScanOptions{Workers: 4}, func(r *ingest.Result) error {
		plain[r.Object.Key] = true
		if r.Location.Region == "" {
			return nil
		}
		s := regionOf(r.Location)
		objects[s]++
		if r.Location.Kind == ingest.KindDigest {
			digests[s]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(digests) < 8 {
		t.Fatalf("the archive has digests in %d regions, want at least 8", len(digests))
	}

	for run := range 3 {
		seenDigests := map[ingest.Scope]int{}
		seen := map[ingest.Scope]int{}
		done := map[ingest.Scope]int{}
		got := map[string]bool{}
		opts := ingest.ScanOptions{Workers: 16, Listers: 4, ScopeDone: func(s ingest.Scope) error {
			done[s]++
			if seen[s] != objects[s] {
				t.Errorf("run %d: ScopeDone(%v) after %d of its %d objects", run, s, seen[s], objects[s])
			}
			return nil
		}}
		_, err := ingest.Scan(t.Context(), src, opts, func(r *ingest.Result) error {
			got[r.Object.Key] = true
			if r.Location.Region == "" {
				return nil
			}
			s := regionOf(r.Location)
			if done[s] > 0 {
				t.Errorf("run %d: %s delivered after ScopeDone of its region", run, r.Object.Key)
			}
			seen[s]++
			switch r.Location.Kind {
			case ingest.KindDigest:
				seenDigests[s]++
			case ingest.KindLog:
				if seenDigests[s] != digests[s] {
					t.Errorf("run %d: log %s delivered after %d of its region's %d digests", run, r.Object.Key, seenDigests[s], digests[s])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(plain) {
			t.Errorf("run %d: %d objects delivered, a plain scan delivers %d", run, len(got), len(plain))
		}
		for s := range objects {
			if done[s] != 1 {
				t.Errorf("run %d: ScopeDone(%v) called %d times, want 1", run, s, done[s])
			}
		}
		if len(done) != len(objects) {
			t.Errorf("run %d: ScopeDone for %d regions, the archive has %d", run, len(done), len(objects))
		}
	}
}

// TestScanScopeDoneError stops the scan at the first ScopeDone error and
// leaves no goroutine behind.
func TestScanScopeDoneError(t *testing.T) {
	src := simulatedSource(t, simulate.Config{Seed: 6, AccountCount: 1, Regions: []string{"us-east-1"}, Days: 1, EventsPerHour: 10})
	before := runtime.NumGoroutine()
	stop := errors.New("stop here")
	calls := 0
	_, err := ingest.Scan(t.Context(), src, ingest.ScanOptions{Workers: 8, ScopeDone: func(ingest.Scope) error {
		calls++
		return stop
	}}, func(*ingest.Result) error { return nil })
	if !errors.Is(err, stop) {
		t.Fatalf("scan returned %v, want the ScopeDone error", err)
	}
	if calls != 1 {
		t.Errorf("ScopeDone called %d times after its error, want 1", calls)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the scan, %d before", n, before)
	}
}
