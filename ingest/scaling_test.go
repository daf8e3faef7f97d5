package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// scalingEnd is the last day of the scaling archives, and the clock of
// their windows: --last 1d run at noon of that day.
var scalingEnd = time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)

// Per region and day, the scaling archives hold scalingPerDay log files and
// as many digests.
const (
	scalingPerDay  = 4
	scalingRegions = 2
)

// scalingArchive is days of CloudTrail objects ending on scalingEnd's
// day, one account, two regions: keys with tiny valid bodies.
func scalingArchive(t testing.TB, days int) map[string][]byte {
	t.Helper()
	objects := map[string][]byte{}
	last := scalingEnd.Truncate(24 * time.Hour)
	n := 0
	for _, region := range []string{"us-east-1", "eu-west-1"}[:scalingRegions] {
		for d := range days {
			day := last.AddDate(0, 0, -d)
			for h := 0; h < 24; h += 24 / scalingPerDay {
				ts := day.Add(time.Duration(h) * time.Hour)
				log := Location{Kind: KindLog, Account: "111111111111", Region: region, Time: ts.Add(5 * time.Minute), Unique: fmt.Sprintf("%016d", n)}
				n++
				objects[log.ObjectKey()] = fmt.Appendf(nil, `{"Records":[{"eventID":"%d","eventTime":"%s","awsRegion":"%s"}]}`, n, ts.Format(time.RFC3339), region)
				dg := Location{Kind: KindDigest, Account: "111111111111", Region: region, Time: ts.Add(time.Hour + 17*time.Second), Trail: "main", HomeRegion: "us-east-1"}
				objects[dg.ObjectKey()] = fmt.Appendf(nil, `{"awsAccountId":"111111111111","digestStartTime":"a","digestEndTime":"b","digestS3Bucket":"bk","digestS3Object":%q,"digestPublicKeyFingerprint":"f","previousDigestSignature":null,"logFiles":[]}`, dg.ObjectKey())
			}
		}
	}
	if want := days * scalingRegions * scalingPerDay * 2; len(objects) != want {
		t.Fatalf("archive of %d objects, want %d", len(objects), want)
	}
	return objects
}

// memBucket is a Source over a map that lists as S3's ListObjectsV2 does:
// keys in order from the prefix on, common prefixes grouped at the
// delimiter, work in proportion to the keys below the prefix.
type memBucket struct {
	keys    []string
	objects map[string][]byte
}

var _ Source = (*memBucket)(nil)

func newMemBucket(objects map[string][]byte) *memBucket {
	b := &memBucket{objects: objects}
	for k := range objects {
		b.keys = append(b.keys, k)
	}
	slices.Sort(b.keys)
	return b
}

func (b *memBucket) List(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	lastPrefix := ""
	for i := sort.SearchStrings(b.keys, opts.Prefix); i < len(b.keys) && strings.HasPrefix(b.keys[i], opts.Prefix); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := b.keys[i]
		if opts.Delimiter != "" {
			if j := strings.Index(key[len(opts.Prefix):], opts.Delimiter); j >= 0 {
				p := key[:len(opts.Prefix)+j+len(opts.Delimiter)]
				if p != lastPrefix {
					lastPrefix = p
					if err := fn(Object{Key: p, IsPrefix: true}); err != nil {
						return err
					}
				}
				continue
			}
		}
		if err := fn(Object{Key: key, Size: int64(len(b.objects[key]))}); err != nil {
			return err
		}
	}
	return nil
}

func (b *memBucket) Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error) {
	data, ok := b.objects[key]
	if !ok {
		return nil, nil, fmt.Errorf("open %s: %w", key, ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(data)), nil, nil
}

func (b *memBucket) String() string { return "memory" }

// workCounter counts the work a scan asks of a source.
type workCounter struct {
	Source
	listCalls, objects, prefixes, opens atomic.Int64
}

func (c *workCounter) List(ctx context.Context, opts ListOptions, fn func(Object) error) error {
	c.listCalls.Add(1)
	return c.Source.List(ctx, opts, func(o Object) error {
		if o.IsPrefix {
			c.prefixes.Add(1)
		} else {
			c.objects.Add(1)
		}
		return fn(o)
	})
}

func (c *workCounter) Open(ctx context.Context, key string) (io.ReadCloser, Metadata, error) {
	c.opens.Add(1)
	return c.Source.Open(ctx, key)
}

// scanWork is what one scan cost: list requests, objects and common
// prefixes listed, objects opened, and records read.
type scanWork struct {
	listCalls, objects, prefixes, opens, records int64
}

func measureScan(t *testing.T, src Source, w Window) scanWork {
	t.Helper()
	c := &workCounter{Source: src}
	var records int64
	_, err := Scan(t.Context(), c, ScanOptions{Window: w}, func(r *Result) error {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Object.Key, r.Err)
		}
		records += int64(len(r.Records))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return scanWork{c.listCalls.Load(), c.objects.Load(), c.prefixes.Load(), c.opens.Load(), records}
}

// TestScanWorkScalesWithWindow: with --last 1d over a 365-day archive, the
// keys listed, the list requests and the objects read depend on the
// window, not on the archive. Each window is scanned over a 30-day and a
// 365-day archive that end on the same day: the objects listed and opened
// and the list requests must be the same, and only the calendar folders
// (years and months, at most a dozen more per region folder) may add
// listed prefixes. The objects listed and read are exactly those of the
// window's days and the day of margin before them (the archive ends on
// the window's last day).
func TestScanWorkScalesWithWindow(t *testing.T) {
	archives := map[int]map[string][]byte{30: scalingArchive(t, 30), 365: scalingArchive(t, 365)}
	sources := []struct {
		name string
		open func(map[string][]byte) Source
	}{
		{"bucket", func(objects map[string][]byte) Source { return newMemBucket(objects) }},
		{"dir", func(objects map[string][]byte) Source {
			fsys := fstest.MapFS{}
			for k, v := range objects {
				fsys[k] = &fstest.MapFile{Data: v, ModTime: time.Unix(0, 0)}
			}
			src, err := NewFSSource(fsys, "mem", nil)
			if err != nil {
				t.Fatal(err)
			}
			return src
		}},
	}
	// Region folders: a log and a digest folder per region.
	const folders = 2 * scalingRegions
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			var perWindow []scanWork
			for _, days := range []int{1, 7} {
				w := Window{Start: scalingEnd.AddDate(0, 0, -days), End: scalingEnd}
				short := measureScan(t, s.open(archives[30]), w)
				long := measureScan(t, s.open(archives[365]), w)
				t.Logf("--last %dd: 30-day archive %+v; 365-day archive %+v", days, short, long)
				if long.objects != short.objects || long.opens != short.opens || long.records != short.records || long.listCalls != short.listCalls {
					t.Errorf("--last %dd: the 365-day archive cost %+v, the 30-day one %+v: the work grows with the archive", days, long, short)
				}
				if extra := long.prefixes - short.prefixes; extra < 0 || extra > 13*folders {
					t.Errorf("--last %dd: %d prefixes listed over 365 days, %d over 30: more than the calendar explains", days, long.prefixes, short.prefixes)
				}
				// A window of n days from noon to noon touches n+1 date
				// folders, and the day before them is the margin; the
				// archive ends on the window's last day, so there is no
				// folder after it.
				listedDays := int64(days + 2)
				if want := listedDays * scalingPerDay * folders; long.opens != want || long.objects != want {
					t.Errorf("--last %dd: listed %d and opened %d objects, want %d (%d days' folders)", days, long.objects, long.opens, want, listedDays)
				}
				perWindow = append(perWindow, long)
			}
			// From 1 day to 7, the listing grows by the days added, not by
			// the archive: a few more day folders.
			if d := perWindow[1].listCalls - perWindow[0].listCalls; d != 6*folders {
				t.Errorf("list requests: %d for --last 1d, %d for --last 7d; want %d more (one per added day and folder)", perWindow[0].listCalls, perWindow[1].listCalls, 6*folders)
			}
		})
	}
}
