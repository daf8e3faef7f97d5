package ingest_test

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// scanned is what a scan made of one object.
type scanned struct {
	sha     string
	records int
	err     error
}

func scanAll(t *testing.T, src ingest.Source) map[string]scanned {
	t.Helper()
	got := map[string]scanned{}
	_, err := ingest.Scan(t.Context(), src, ingest.ScanOptions{Workers: 8}, func(r *ingest.Result) error {
		if _, dup := got[r.Object.Key]; dup {
			t.Errorf("%s delivered twice", r.Object.Key)
		}
		got[r.Object.Key] = scanned{sha: hex.EncodeToString(r.Body.SHA256[:]), records: len(r.Records), err: r.Err}
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return got
}

// TestScanSurvivesStorageFaults reads a simulated archive from a real S3
// server through a proxy that answers 500 and 503 SlowDown, resets
// connections, truncates and slows bodies and hangs: with retries, every
// object comes through as it is, except the one key that always fails,
// which is reported unreadable; nothing is skipped silently.
func TestScanSurvivesStorageFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("storage fault test is slow")
	}
	dir := t.TempDir()
	cfg := simulate.Config{
		Seed: 11, AccountCount: 1, Regions: []string{"us-east-1"}, EnabledRegions: []string{"us-east-1", "eu-west-1"},
		Days: 1, EventsPerHour: 20,
	}
	if _, err := simulate.Generate(t.Context(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	srv := s3test.StartVersity(t)
	srv.CreateBucket(t, simulate.DefaultBucket)
	if err := s3test.UploadDir(t.Context(), srv.Client(t), simulate.DefaultBucket, dir); err != nil {
		t.Fatal(err)
	}
	url := "s3://" + simulate.DefaultBucket
	want := scanAll(t, srv.Source(t, url))

	var keys []string
	for k, s := range want {
		if s.err != nil {
			t.Fatalf("%s unreadable without faults: %v", k, s.err)
		}
		if ingest.ParseKey(k).Kind == ingest.KindLog {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	broken := keys[len(keys)/2]

	proxy := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{
		InternalError: 0.08, SlowDown: 0.08, Reset: 0.04, Truncate: 0.08, SlowBody: 0.02, Hang: 0.003,
		FailKeys: []string{broken},
	})
	src := srv.SourceWith(t, url, ingest.S3Options{
		EndpointURL:     proxy.Endpoint,
		ResponseTimeout: 2 * time.Second,
		ReadIdleTimeout: 2 * time.Second,
		MaxAttempts:     10,
		MaxBackoff:      100 * time.Millisecond,
	})
	got := scanAll(t, src)

	if len(got) != len(want) {
		t.Errorf("listed %d objects through the faults, %d without", len(got), len(want))
	}
	unreadable := 0
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s missing from the scan", k)
		case k == broken:
			unreadable++
			if g.err == nil || !strings.Contains(g.err.Error(), broken) {
				t.Errorf("%s: err = %v, want an error naming it", k, g.err)
			}
		case g.err != nil:
			unreadable++
			t.Errorf("%s: %v (a fault got through the retries)", k, g.err)
		case g.sha != w.sha || g.records != w.records:
			t.Errorf("%s: hash %s, %d records; want %s, %d", k, g.sha, g.records, w.sha, w.records)
		}
	}
	// The counts balance: listed = read + unreadable.
	if read := len(got) - unreadable; read+unreadable != len(want) || unreadable != 1 {
		t.Errorf("listed %d = read %d + unreadable %d, want exactly 1 unreadable", len(want), read, unreadable)
	}
	if inj := proxy.Injected.Load(); inj < 20 {
		t.Errorf("only %d faults injected in %d requests: the test proves little", inj, proxy.Requests.Load())
	}
	t.Logf("%d requests, %d faults injected", proxy.Requests.Load(), proxy.Injected.Load())
}
