package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
)

// keyFetcher is a source that can ask CloudTrail for its public keys:
// S3, with the credentials that read the bucket.
type keyFetcher interface {
	PublicKeys(ctx context.Context, regions []string, start, end time.Time) ([]byte, map[string]error)
	Region() string
}

// keyMargin widens the window keys are asked for at both ends: keys
// rotate, and a digest at the window's edge may be signed with the key
// before or after (the AWS CLI widens its end by two hours for this).
const keyMargin = 24 * time.Hour

// cloudTrailDigestsSince is when CloudTrail began to write digests (log
// file integrity validation, November 2015): a window without a start
// asks for every key since.
var cloudTrailDigestsSince = time.Date(2015, 11, 1, 0, 0, 0, 0, time.UTC)

// publicKeys gathers the keys digests are verified with, in order: the
// --public-keys files, the archive's own .trailcover/public-keys.json (a
// copy made by simulate or acquire), and for S3, unless noFetch,
// CloudTrail's ListPublicKeys over the window. It returns the keys, what
// each source gave (for the summary and the report), and the fetched keys
// in list-public-keys form, to write beside the reports.
func publicKeys(ctx context.Context, log *slog.Logger, files []string, source string, src ingest.Source, window ingest.Window, noFetch bool, now time.Time) (*analyzer.KeySet, []string, []byte, error) {
	keys, err := loadPublicKeys(files)
	if err != nil {
		return nil, nil, nil, err
	}
	var sources []string
	for _, f := range files {
		sources = append(sources, "--public-keys "+f)
	}
	merge := func(set *analyzer.KeySet) {
		if keys == nil {
			keys = set
		} else {
			keys.Merge(set)
		}
	}
	if kk, ok := src.(ingest.KeyKeeper); ok {
		own := filepath.Join(source, ingest.StateDir, "public-keys.json")
		data, err := kk.StoredPublicKeys()
		switch {
		case err == nil:
			set, err := analyzer.ParsePublicKeys(data)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", own, err)
			}
			merge(set)
			sources = append(sources, "the archive's "+ingest.StateDir+"/public-keys.json")
		case !errors.Is(err, fs.ErrNotExist):
			return nil, nil, nil, fmt.Errorf("%s: %w", own, err)
		}
	}
	fetcher, ok := src.(keyFetcher)
	if !ok || noFetch {
		return keys, sources, nil, nil
	}
	start, end := window.Start, window.End
	if start.IsZero() {
		start = cloudTrailDigestsSince
	}
	if end.IsZero() || end.After(now) {
		end = now
	}
	regions := partitionRegions(fetcher.Region())
	fetched, failed := fetcher.PublicKeys(ctx, regions, start.Add(-keyMargin), end.Add(keyMargin))
	if len(failed) > 0 {
		reasons := map[string][]string{}
		for r, err := range failed {
			reasons[err.Error()] = append(reasons[err.Error()], r)
		}
		for _, why := range slices.Sorted(maps.Keys(reasons)) {
			rs := reasons[why]
			sort.Strings(rs)
			log.Warn("CloudTrail public keys not fetched: digests of these regions are unverifiable unless --public-keys gives their keys; the credentials need cloudtrail:ListPublicKeys (or use --no-fetch-keys)",
				"regions", strings.Join(rs, ","), "error", why)
		}
	}
	if fetched == nil {
		return keys, sources, nil, nil
	}
	set, err := analyzer.ParsePublicKeys(fetched)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("CloudTrail ListPublicKeys: %w", err)
	}
	merge(set)
	sources = append(sources, fmt.Sprintf("CloudTrail ListPublicKeys, %d regions, %s to %s (written to public-keys.json)",
		len(regions)-len(failed), start.Add(-keyMargin).Format(time.DateOnly), end.Add(keyMargin).Format(time.DateOnly)))
	return keys, sources, fetched, nil
}

// partitionRegions are the regions of the partition region belongs to,
// opt-in ones included: a digest's region is not known before the scan,
// and asking a region not enabled fails fast.
func partitionRegions(region string) []string {
	model, err := analyzer.LoadRegionModel()
	if err != nil {
		return []string{region}
	}
	partition := model.PartitionOf([]string{region})
	var out []string
	for _, p := range model.Partitions {
		if p.ID == partition {
			for _, r := range p.Regions {
				out = append(out, r.Code)
			}
		}
	}
	if len(out) == 0 {
		out = []string{region}
	}
	return out
}

// writeFetchedKeys writes fetched keys where a later run, or an auditor,
// can verify offline.
func writeFetchedKeys(name string, data []byte) error {
	if data == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(name, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
