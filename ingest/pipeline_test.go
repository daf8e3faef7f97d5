package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"testing/synctest"
	"time"
)

// testArchive builds a small bucket in memory: two accounts (one in an
// organization, one under a prefix), two regions, logs and digests over
// days, plus objects that are not CloudTrail's and one corrupt log.
func testArchive(t testing.TB, days int) (fstest.MapFS, map[string]Kind) {
	t.Helper()
	fsys := fstest.MapFS{}
	kinds := map[string]Kind{}
	put := func(key string, data []byte) {
		fsys[key] = &fstest.MapFile{Data: data, ModTime: time.Unix(0, 0)}
		kinds[key] = ParseKey(key).Kind
	}
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	bases := []Location{
		{Prefix: "", OrgID: "o-abcdefghij", Account: "111111111111"},
		{Prefix: "team/x/", Account: "222222222222"},
	}
	n := 0
	for _, base := range bases {
		for _, region := range []string{"us-east-1", "sa-east-1"} {
			for d := range days {
				for h := 0; h < 24; h += 6 {
					ts := start.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour)
					log := base
					log.Kind, log.Region, log.Time, log.Unique = KindLog, region, ts.Add(5*time.Minute), fmt.Sprintf("%016d", n)
					n++
					put(log.ObjectKey(), gz(t, fmt.Sprintf(`{"Records":[{"eventID":"%d","eventTime":"%s","awsRegion":"%s"}]}`, n, ts.Format(time.RFC3339), region)))
					dg := base
					dg.Kind, dg.Region, dg.Time, dg.Trail, dg.HomeRegion = KindDigest, region, ts.Add(time.Hour+17*time.Second), "main_trail.v2", "us-east-1"
					put(dg.ObjectKey(), gz(t, fmt.Sprintf(`{"awsAccountId":%q,"digestStartTime":"a","digestEndTime":"b","digestS3Bucket":"bk","digestS3Object":%q,"digestPublicKeyFingerprint":"f","previousDigestSignature":null,"logFiles":[]}`, base.Account, dg.ObjectKey())))
				}
			}
		}
	}
	corrupt := Location{Kind: KindLog, OrgID: "o-abcdefghij", Account: "111111111111", Region: "us-east-1", Time: start.Add(time.Hour), Unique: "CORRUPTcorrupt00"}
	put(corrupt.ObjectKey(), []byte("\x1f\x8b not really gzip"))
	put("AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2024/03/01/README.txt", []byte("hello"))
	put("AWSLogs/o-abcdefghij/111111111111/CloudTrail/not-a-region/file", []byte("x"))
	put("team/x/AWSLogs/222222222222/CloudTrail/us-east-1/junk.json.gz", []byte("x"))
	put("team/x/top-level-file", []byte("x"))
	// Other services' folders are not listed at all.
	fsys["AWSLogs/o-abcdefghij/111111111111/Config/ConfigWritabilityCheckFile"] = &fstest.MapFile{}
	fsys[".trailcover/source.json"] = &fstest.MapFile{Data: []byte(`{"bucket":"bk"}`)}
	return fsys, kinds
}

func collect(t *testing.T, src Source, opts ScanOptions) (map[string]*Result, *Inventory, error) {
	t.Helper()
	got := map[string]*Result{}
	inv, err := Scan(t.Context(), src, opts, func(r *Result) error {
		if _, dup := got[r.Object.Key]; dup {
			t.Errorf("%s delivered twice", r.Object.Key)
		}
		got[r.Object.Key] = r
		return nil
	})
	return got, inv, err
}

func TestScanDeliversEveryObject(t *testing.T) {
	fsys, kinds := testArchive(t, 3)
	src, err := NewFSSource(fsys, "mem", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, inv, err := collect(t, src, ScanOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(kinds) {
		t.Errorf("delivered %d objects, want %d", len(got), len(kinds))
	}
	records := 0
	for key, kind := range kinds {
		r := got[key]
		if r == nil {
			t.Errorf("%s not delivered", key)
			continue
		}
		if r.Location.Kind != kind {
			t.Errorf("%s: kind %v, want %v", key, r.Location.Kind, kind)
		}
		records += len(r.Records)
		switch {
		case strings.Contains(key, "CORRUPT"):
			var de *DecodeError
			if !errors.As(r.Err, &de) || de.Key != key {
				t.Errorf("%s: Err = %v, want a *DecodeError naming the key", key, r.Err)
			}
		case kind == KindDigest && (r.Digest == nil || r.Err != nil):
			t.Errorf("%s: digest %v, err %v", key, r.Digest, r.Err)
		case kind == KindLog && (len(r.Records) != 1 || r.Err != nil):
			t.Errorf("%s: %d records, err %v", key, len(r.Records), r.Err)
		case kind == KindOther && (r.Err != nil || r.Records != nil):
			t.Errorf("%s: other object was read: %+v", key, r)
		}
	}
	if want := 2 * 2 * 3 * 4; records != want {
		t.Errorf("%d records, want %d", records, want)
	}
	var scopes []string
	for _, s := range inv.Scopes {
		scopes = append(scopes, fmt.Sprintf("%s|%s|%s|%s|%v", s.Prefix, s.OrgID, s.Account, s.Region, s.Kind))
	}
	want := []string{
		"|o-abcdefghij|111111111111|sa-east-1|digest", "|o-abcdefghij|111111111111|sa-east-1|log",
		"|o-abcdefghij|111111111111|us-east-1|digest", "|o-abcdefghij|111111111111|us-east-1|log",
		"team/x/||222222222222|sa-east-1|digest", "team/x/||222222222222|sa-east-1|log",
		"team/x/||222222222222|us-east-1|digest", "team/x/||222222222222|us-east-1|log",
	}
	if !slices.Equal(scopes, want) {
		t.Errorf("scopes\n got %q\nwant %q", scopes, want)
	}
}

// countingSource counts what was listed, to check that a window is pushed
// down into the date folders.
type countingSource struct {
	Source
	mu     sync.Mutex
	listed []string
}

func (c *countingSource) List(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	return c.Source.List(ctx, opts, func(o Object) error {
		if !o.IsPrefix {
			c.mu.Lock()
			c.listed = append(c.listed, o.Key)
			c.mu.Unlock()
		}
		return fn(o)
	})
}

func TestScanWindowPushdown(t *testing.T) {
	fsys, _ := testArchive(t, 40)
	inner, err := NewFSSource(fsys, "mem", nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &countingSource{Source: inner}
	day := time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC)
	got, _, err := collect(t, src, ScanOptions{Window: Window{Start: day, End: day.Add(24 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	for key, r := range got {
		if r.Location.Kind == KindOther {
			continue
		}
		if d := r.Location.Time.Truncate(24 * time.Hour); d.Before(day.AddDate(0, 0, -1)) || d.After(day.AddDate(0, 0, 1)) {
			t.Errorf("%s is outside the window's folders", key)
		}
	}
	// Logs and digests of 3 days (the day and one each side), 2 accounts,
	// 2 regions, 4 of each a day.
	logs := 0
	for _, r := range got {
		if r.Location.Kind == KindLog && r.Err == nil {
			logs++
		}
	}
	if want := 3 * 2 * 2 * 4; logs != want {
		t.Errorf("read %d logs, want %d", logs, want)
	}
	// Only the three days' objects and the few objects outside date
	// folders are listed, not the 40 days.
	if objects := len(fsys) - 2; len(src.listed) > objects/10 {
		t.Errorf("listed %d keys for a 1-day window over %d objects: the window is not pushed down", len(src.listed), objects)
	}
}

func TestScanAccountsFilter(t *testing.T) {
	fsys, _ := testArchive(t, 1)
	src, _ := NewFSSource(fsys, "mem", nil)
	got, _, err := collect(t, src, ScanOptions{Accounts: []string{"222222222222"}})
	if err != nil {
		t.Fatal(err)
	}
	for key, r := range got {
		if r.Location.Kind != KindOther && r.Location.Account != "222222222222" {
			t.Errorf("%s delivered despite the accounts filter", key)
		}
	}
}

// TestScanNoLeaks stops the scan in each way it can stop; synctest fails
// the test if any goroutine of the scan is still blocked when it returns.
func TestScanNoLeaks(t *testing.T) {
	fsys, _ := testArchive(t, 3)
	boom := errors.New("boom")
	tests := []struct {
		name    string
		src     func(Source) Source
		fn      func(ctx context.Context, cancel context.CancelFunc, n int) error
		wantErr error
	}{
		{"consumer error", nil, func(_ context.Context, _ context.CancelFunc, n int) error {
			if n == 3 {
				return boom
			}
			return nil
		}, boom},
		{"cancellation", nil, func(_ context.Context, cancel context.CancelFunc, n int) error {
			if n == 5 {
				cancel()
			}
			return nil
		}, context.Canceled},
		{"list failure", func(s Source) Source { return &failingSource{Source: s, failOn: "sa-east-1/2024/03/02/", err: boom} }, nil, boom},
		{"slow consumer", nil, func(ctx context.Context, _ context.CancelFunc, n int) error {
			time.Sleep(time.Millisecond)
			return nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var src Source
				src, _ = NewFSSource(fsys, "mem", nil)
				if tt.src != nil {
					src = tt.src(src)
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				n := 0
				_, err := Scan(ctx, src, ScanOptions{Workers: 4, Listers: 2}, func(r *Result) error {
					n++
					if tt.fn == nil {
						return nil
					}
					return tt.fn(ctx, cancel, n)
				})
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Scan() = %v, want %v", err, tt.wantErr)
				}
				synctest.Wait()
			})
		})
	}
}

type failingSource struct {
	Source
	failOn string
	err    error
}

func (f *failingSource) List(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	if strings.HasSuffix(opts.Prefix, f.failOn) {
		return f.err
	}
	return f.Source.List(ctx, opts, fn)
}

// TestScanOpenFailure: an object that cannot be opened is a result with
// an error, and the scan goes on.
func TestScanOpenFailure(t *testing.T) {
	fsys, kinds := testArchive(t, 1)
	inner, _ := NewFSSource(fsys, "mem", nil)
	var calls atomic.Int64
	src := &flakySource{Source: inner, calls: &calls}
	got, _, err := collect(t, src, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(kinds) {
		t.Fatalf("delivered %d, want %d", len(got), len(kinds))
	}
	failed := 0
	for key, r := range got {
		if r.Err != nil && strings.Contains(r.Err.Error(), "flaky") {
			failed++
			if !strings.Contains(r.Err.Error(), key) {
				t.Errorf("error %q does not name %s", r.Err, key)
			}
		}
	}
	if failed == 0 {
		t.Error("no open failure was reported")
	}
}

type flakySource struct {
	Source
	calls *atomic.Int64
}

func (f *flakySource) Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error) {
	if f.calls.Add(1)%5 == 0 {
		return nil, nil, fmt.Errorf("open %s: flaky", key)
	}
	return f.Source.Open(ctx, key)
}

// TestScanTwoPhases: digests first, then the rest, delivers every object
// exactly once, and every digest before any log.
func TestScanTwoPhases(t *testing.T) {
	fsys, kinds := testArchive(t, 2)
	src, _ := NewFSSource(fsys, "mem", nil)
	seen := map[string]int{}
	var order []Kind
	for _, phase := range [][]Kind{{KindDigest}, {KindLog, KindInsight, KindOther}} {
		_, err := Scan(t.Context(), src, ScanOptions{Kinds: phase}, func(r *Result) error {
			seen[r.Object.Key]++
			order = append(order, r.Location.Kind)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for key := range kinds {
		if seen[key] != 1 {
			t.Errorf("%s delivered %d times, want once", key, seen[key])
		}
	}
	if len(seen) != len(kinds) {
		t.Errorf("delivered %d objects, want %d", len(seen), len(kinds))
	}
	lastDigest, firstLog := -1, len(order)
	for i, k := range order {
		if k == KindDigest {
			lastDigest = i
		}
		if k == KindLog && i < firstLog {
			firstLog = i
		}
	}
	if lastDigest > firstLog {
		t.Errorf("a digest (at %d) arrived after a log (at %d)", lastDigest, firstLog)
	}
}
