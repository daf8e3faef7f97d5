package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// runAcquire implements `trailcover acquire [flags] s3://BUCKET[/PREFIX] DIR`.
func runAcquire(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) (err error) {
	fs := flag.NewFlagSet("acquire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: trailcover acquire [flags] s3://BUCKET[/PREFIX] DIR

Copies a CloudTrail archive into DIR for offline analysis, keeping what a plain
"aws s3 sync" loses: object metadata (the digest signatures), versions and delete
markers (--versions), and a manifest of every object's key, size, ETag, version,
last-modified time and SHA-256 (DIR/.trailcover/manifest.jsonl), whose hash is
printed at the end. Interrupted runs resume; objects already copied and
verified are not fetched again.

flags:`)
		fs.PrintDefaults()
	}
	sf := addScanFlags(fs)
	versions := fs.Bool("versions", false, "also copy noncurrent versions and record delete markers (deleted log files often survive as noncurrent versions)")
	positional, err := withConfig(fs, stdout, args, "source", "dir")
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(positional) != 2 {
		fs.Usage()
		return fmt.Errorf("%w: acquire takes s3://BUCKET[/PREFIX] and DIR, got %d arguments", errUsage, len(positional))
	}
	source, dir := positional[0], positional[1]
	if !strings.HasPrefix(source, "s3://") {
		return fmt.Errorf("%w: acquire copies from s3:// URLs, not %q", errUsage, source)
	}
	cfg, err := sf.parse(now())
	if err != nil {
		return err
	}
	defer func() { err = logFormatted(err, cfg.logFormat) }()
	log := newLogger(stderr, cfg.logFormat)
	src, err := ingest.NewS3Source(ctx, source, cfg.s3Options(log))
	if err != nil {
		return err
	}
	cfg.withDefaultWorkers(src, true)
	// Two acquisitions into one copy would mix their journals and clear
	// each other's downloads. Taken once the bucket is known to be
	// readable, so that a failed run creates nothing.
	if err := os.MkdirAll(filepath.Join(dir, ingest.StateDir), 0o755); err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	unlock, err := takeLock(filepath.Join(dir, ingest.StateDir, "acquire.lock"), "acquire "+dir, false)
	if err != nil {
		return err
	}
	defer unlock()
	progress := new(ingest.Progress)
	display := startProgress(progress, stderr, log, now)
	defer display.Stop()
	began := now()
	stats, err := ingest.Acquire(ctx, src, dir, ingest.AcquireOptions{
		Scan: ingest.ScanOptions{
			Prefix:   src.Prefix(),
			Window:   cfg.window,
			Accounts: cfg.accounts,
			Workers:  cfg.workers,
			Versions: *versions,
			Progress: progress,
		},
		Bucket: src.Bucket(),
		Prefix: src.Prefix(),
	}, func(e ingest.ManifestEntry) {
		if e.Error != "" {
			log.Warn("object not copied", "key", e.Key, "version", e.VersionID, "error", e.Error)
		}
	})
	display.Stop()
	if err != nil {
		return fmt.Errorf("acquire %s: %w", source, err)
	}
	log.Info("acquired", "listed", stats.Listed, "copied", stats.Copied, "skipped_verified", stats.Skipped,
		"failed", stats.Failed, "delete_markers", stats.DeleteMarkers, "bytes", stats.Bytes, "elapsed", now().Sub(began).Round(time.Millisecond))
	fmt.Fprintf(stdout, "%s  %s/%s\n", stats.ManifestSHA256, strings.TrimSuffix(dir, "/"), ingest.ManifestFile)
	if !cfg.noFetchKeys {
		// The copy brings the keys its digests were signed with, so
		// that analyze verifies it offline with no flag.
		_, _, fetched, err := publicKeys(ctx, log, nil, source, src, cfg.window, false, now())
		if err != nil {
			return err
		}
		if err := writeFetchedKeys(filepath.Join(dir, ingest.StateDir, "public-keys.json"), fetched); err != nil {
			return fmt.Errorf("acquire: %w", err)
		}
	}
	if stats.Listed == 0 && stats.DeleteMarkers == 0 {
		return fmt.Errorf("no CloudTrail object found in %s: it is empty (in the window, for these accounts); check the bucket and the trail's S3 key prefix", source)
	}
	if stats.Failed > 0 {
		return fmt.Errorf("%d objects could not be copied (listed in the manifest with their errors); run acquire again to retry them", stats.Failed)
	}
	return nil
}
