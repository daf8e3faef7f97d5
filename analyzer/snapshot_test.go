package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// scanned is an archive read into memory, in the two phases analyze
// uses.
type scanned struct {
	digests, rest []*ingest.Result
	inv           *ingest.Inventory
	keys          *analyzer.KeySet
	bucket        string
}

func scanAll(t testing.TB, dir string) *scanned {
	t.Helper()
	src, err := ingest.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	s := &scanned{inv: &ingest.Inventory{}, bucket: src.Bucket()}
	for i, kinds := range [][]ingest.Kind{{ingest.KindDigest}, {ingest.KindLog, ingest.KindInsight, ingest.KindOther}} {
		part, err := ingest.Scan(context.Background(), src, ingest.ScanOptions{Kinds: kinds, Workers: 4}, func(r *ingest.Result) error {
			if i == 0 {
				s.digests = append(s.digests, r)
			} else {
				s.rest = append(s.rest, r)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s.inv.Scopes = append(s.inv.Scopes, part.Scopes...)
	}
	byKey := func(a, b *ingest.Result) int { return strings.Compare(a.Object.Key, b.Object.Key) }
	slices.SortFunc(s.digests, byKey)
	slices.SortFunc(s.rest, byKey)
	if data, err := os.ReadFile(filepath.Join(dir, ingest.StateDir, "public-keys.json")); err == nil {
		if s.keys, err = analyzer.ParsePublicKeys(data); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// feed observes results as one run would: digests, then the rest, each
// in the order given.
func feed(a *analyzer.Analyzer, digests, rest []*ingest.Result) {
	for _, r := range digests {
		a.Observe(r)
	}
	for _, r := range rest {
		a.Observe(r)
	}
}

func reversed(rs []*ingest.Result) []*ingest.Result {
	out := slices.Clone(rs)
	slices.Reverse(out)
	return out
}

func resultJSON(t testing.TB, res *analyzer.Result) string {
	t.Helper()
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// firstLineDiff shows the first line where two texts differ.
func firstLineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			from := max(0, i-4)
			return "got:\n" + strings.Join(g[from:min(i+4, len(g))], "\n") + "\nwant:\n" + strings.Join(w[from:min(i+4, len(w))], "\n")
		}
	}
	return "one is a prefix of the other"
}

var (
	runOne = time.Date(2025, 1, 7, 6, 0, 0, 0, time.UTC)
	runTwo = time.Date(2025, 1, 8, 6, 0, 0, 0, time.UTC)
)

// TestSnapshotRoundTrip: an analysis fed the first day of a two-day
// archive, snapshotted, restored and fed the whole archive finishes with
// the Result of one analysis fed everything at once.
func TestSnapshotRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and scans an archive")
	}
	dir := t.TempDir()
	cfg := simulate.Config{
		Seed:          20260901,
		AccountCount:  2,
		Regions:       []string{"us-east-1", "eu-west-1"},
		Days:          2,
		EventsPerHour: 8,
		Scenarios:     []simulate.Scenario{{Name: simulate.ScenarioAll}},
	}
	if _, err := simulate.Generate(context.Background(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	all := scanAll(t, dir)
	acfg := analyzer.Config{
		Bucket:       all.bucket,
		PublicKeys:   all.keys,
		AllowRegions: []string{"us-east-1", "eu-west-1"},
		Source:       dir,
	}

	full := analyzer.New(acfg)
	feed(full, all.digests, all.rest)
	want := resultJSON(t, full.Finish(all.inv))

	// The first run sees what was delivered by the end of the first day.
	dayTwo := cfg.Start.AddDate(0, 0, 1)
	if cfg.Start.IsZero() {
		dayTwo = simulate.DefaultStart().AddDate(0, 0, 1)
	}
	early := func(rs []*ingest.Result) []*ingest.Result {
		var out []*ingest.Result
		for _, r := range rs {
			if r.Location.Kind == ingest.KindOther || r.Location.Time.Before(dayTwo) {
				out = append(out, r)
			}
		}
		return out
	}
	firstDigests, firstRest := early(all.digests), early(all.rest)
	if len(firstRest) == 0 || len(firstRest) == len(all.rest) || len(firstDigests) == len(all.digests) {
		t.Fatalf("the first day holds %d of %d objects: no split", len(firstRest), len(all.rest))
	}

	snapshot := func(digests, rest []*ingest.Result) []byte {
		c := acfg
		c.KeepState, c.RunAt = true, runOne
		a := analyzer.New(c)
		feed(a, digests, rest)
		a.Finish(nil)
		data, err := a.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	state := snapshot(firstDigests, firstRest)
	// Another arrival order gives the same bytes.
	if again := snapshot(reversed(firstDigests), reversed(firstRest)); !bytes.Equal(state, again) {
		t.Errorf("snapshots of the same objects in another order differ (%d and %d bytes)", len(state), len(again))
	}
	t.Logf("snapshot of %d of %d objects: %d bytes", len(firstDigests)+len(firstRest), len(all.digests)+len(all.rest), len(state))

	c := acfg
	c.RunAt = runTwo
	restored, err := analyzer.Restore(c, bytes.NewReader(state))
	if err != nil {
		t.Fatal(err)
	}
	// The second run lists everything; what the first read is not
	// analyzed again.
	unchanged := 0
	for _, r := range slices.Concat(all.digests, all.rest) {
		if restored.Unchanged(r.Object) {
			unchanged++
		}
	}
	if want := len(firstDigests) + len(firstRest); unchanged != want {
		t.Errorf("Unchanged holds %d objects, want the %d of the first run", unchanged, want)
	}
	feed(restored, reversed(all.digests), all.rest)
	if got := resultJSON(t, restored.Finish(all.inv)); got != want {
		t.Errorf("restored analysis differs from the full one:\n%s", firstLineDiff(got, want))
	}
}

// demoSnapshot analyzes testdata/demo with a ledger and returns its
// snapshot and configuration.
func demoSnapshot(t testing.TB) ([]byte, analyzer.Config) {
	t.Helper()
	all := scanAll(t, filepath.Join("..", "testdata", "demo"))
	cfg := analyzer.Config{Bucket: all.bucket, PublicKeys: all.keys, Source: "demo", KeepState: true, RunAt: runOne}
	a := analyzer.New(cfg)
	feed(a, all.digests, all.rest)
	a.Finish(all.inv)
	data, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeepState = false
	return data, cfg
}

// gunzipState returns the JSON document of a snapshot.
func gunzipState(t testing.TB, data []byte) []byte {
	t.Helper()
	_, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		t.Fatal("no header line")
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// wrapState makes a snapshot of a JSON document.
func wrapState(doc []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString("trailcover-state v1\n")
	zw := gzip.NewWriter(&buf)
	zw.Write(doc)
	zw.Close()
	return buf.Bytes()
}

// TestRestoreRefuses: damaged snapshots, other versions and other
// settings are refused with an error that says which.
func TestRestoreRefuses(t *testing.T) {
	data, cfg := demoSnapshot(t)
	doc := gunzipState(t, data)
	for _, tc := range []struct {
		name string
		data []byte
		cfg  func(*analyzer.Config)
		want string
	}{
		{name: "empty", data: nil, want: "no trailcover-state header"},
		{name: "not a state", data: []byte(`{"hello": 1}` + "\n"), want: "no trailcover-state header"},
		{name: "truncated", data: data[:len(data)*2/3], want: "truncated"},
		{name: "truncated header", data: data[:10], want: "no trailcover-state header"},
		{name: "newer version", data: append([]byte("trailcover-state v2\n"), data[len("trailcover-state v1\n"):]...), want: "the state is trailcover-state v2; this trailcover reads trailcover-state v1"},
		{name: "flipped byte", data: flip(data, len(data)-12), want: "not a usable trailcover state"},
		{name: "unknown member", data: wrapState(bytes.Replace(doc, []byte(`{"config":`), []byte(`{"surprise":1,"config":`), 1)), want: `member surprise where "config" belongs`},
		{name: "unknown field", data: wrapState(bytes.Replace(doc, []byte(`"seen":`), []byte(`"surprise":1,"seen":`), 1)), want: `ledger: json: unknown field "surprise"`},
		{name: "bad hash", data: wrapState(bytes.Replace(doc, []byte(`"h":"`), []byte(`"h":"zz`), 1)), want: "sha256"},
		{name: "other source", data: data, cfg: func(c *analyzer.Config) { c.Source = "s3://other" }, want: "the state was made with source demo, this run has s3://other"},
		{name: "other allowlist", data: data, cfg: func(c *analyzer.Config) { c.AllowRegions = []string{"eu-west-1"} }, want: "allow regions (none), this run has eu-west-1"},
		{name: "other accounts", data: data, cfg: func(c *analyzer.Config) { c.Accounts = []string{"123456789012"} }, want: "accounts"},
		{name: "other bucket", data: data, cfg: func(c *analyzer.Config) { c.Bucket = "elsewhere" }, want: "bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			_, err := analyzer.Restore(c, bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want an error saying %q", err, tc.want)
			}
			var mismatch *analyzer.StateMismatchError
			if isMismatch := errors.As(err, &mismatch); isMismatch != (tc.cfg != nil) {
				t.Errorf("StateMismatchError: %v, want %v", isMismatch, tc.cfg != nil)
			}
			if tc.cfg == nil && !errors.Is(err, analyzer.ErrNotState) {
				t.Errorf("%v does not wrap ErrNotState", err)
			}
		})
	}
	// Public keys and expected regions may change: Finish applies them
	// to every digest and account afresh.
	c := cfg
	c.ExpectRegions, c.PublicKeys = []string{"us-east-1"}, nil
	if _, err := analyzer.Restore(c, bytes.NewReader(data)); err != nil {
		t.Errorf("Restore with other keys and expected regions: %v", err)
	}
}

func flip(data []byte, i int) []byte {
	out := slices.Clone(data)
	out[i] ^= 0x40
	return out
}

// FuzzRestore feeds Restore damaged snapshots: raw bytes, and JSON
// documents wrapped as a snapshot, so that the fuzzer reaches the
// document's checks through gzip. It must fail or give an Analyzer that
// snapshots again, never panic.
func FuzzRestore(f *testing.F) {
	data, cfg := demoSnapshot(f)
	f.Add(data)
	f.Add(gunzipState(f, data))
	f.Add([]byte(`{"config":{"source":"demo","bucket":"aws-cloudtrail-logs-trailcover-sim"},"runs":["2025-01-07T06:00:00Z"],"ledger":[{"k":"AWSLogs/1/x","s":1,"h":"` + strings.Repeat("0", 64) + `","r":1,"seen":1}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, input := range [][]byte{in, wrapState(in)} {
			a, err := analyzer.Restore(cfg, bytes.NewReader(input))
			if err != nil {
				var mismatch *analyzer.StateMismatchError
				if !errors.Is(err, analyzer.ErrNotState) && !errors.As(err, &mismatch) {
					t.Fatalf("Restore: %v is neither ErrNotState nor a mismatch", err)
				}
				continue
			}
			if _, err := a.Snapshot(); err != nil {
				t.Fatalf("Snapshot of a restored analysis: %v", err)
			}
		}
	})
}
