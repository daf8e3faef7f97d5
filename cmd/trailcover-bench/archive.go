package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// bytesPerAccountRateDay is what one account writes in a day per event per
// hour of its rate, gzip level 1, with simulate's default regions (four
// active, seventeen with digest chains), measured: 3 accounts at 2,000
// events per hour write 111 MB a day. It turns -size into days.
const bytesPerAccountRateDay = 18_500

// minEventsPerHour keeps small archives made of real log files.
const minEventsPerHour = 10

// archivePlan returns the days and events per hour that make an archive of
// about size bytes: whole days at the given rate, or one day at a lower
// rate when even one day would be too big.
func archivePlan(size int64, accounts, eventsPerHour int) (days, rate int) {
	perDay := float64(accounts) * float64(eventsPerHour) * bytesPerAccountRateDay
	days = int(math.Round(float64(size) / perDay))
	if days >= 1 {
		return days, eventsPerHour
	}
	rate = int(float64(size) / (float64(accounts) * bytesPerAccountRateDay))
	return 1, max(rate, minEventsPerHour)
}

// archive is a simulated archive and what it holds.
type archive struct {
	dir           string
	size          int64 // as asked with -size
	days          int
	eventsPerHour int
	truth         *simulate.Truth
	logs, digests fileSet
	other         fileSet
	// decompressed is the JSON bytes of the log files and digests, once
	// the floor has measured it.
	decompressed int64
}

// fileSet counts files and their bytes on disk.
type fileSet struct {
	files, bytes int64
}

func (f *fileSet) add(n int64) { f.files++; f.bytes += n }

// read is what trailcover reads of the archive: log files and digests.
func (a *archive) read() fileSet {
	return fileSet{a.logs.files + a.digests.files, a.logs.bytes + a.digests.bytes}
}

// publicKeys is the archive's output of aws cloudtrail list-public-keys.
func (a *archive) publicKeys() string {
	return filepath.Join(a.dir, ingest.StateDir, "public-keys.json")
}

// prepareArchive returns the archive of about size bytes, making it with
// `trailcover simulate` unless the cache holds it. It is made under a
// temporary name and renamed, so an interrupted run leaves nothing that a
// later run would take for complete. The name says how it was made
// (accounts, days, events per hour, seed); -regenerate makes it again,
// for instance after a change to simulate.
func (b *bench) prepareArchive(ctx context.Context, size int64) (*archive, error) {
	cfg := b.cfg
	days, rate := archivePlan(size, cfg.accounts, cfg.eventsPerHour)
	dir := filepath.Join(cfg.cacheDir, fmt.Sprintf("archive-a%d-d%d-e%d-s%d", cfg.accounts, days, rate, cfg.seed))
	if cfg.regenerate {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	truthFile := filepath.Join(dir, ingest.StateDir, "truth.json")
	if _, err := os.Stat(truthFile); err != nil {
		partial, err := os.MkdirTemp(cfg.cacheDir, filepath.Base(dir)+".partial-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(partial)
		args := []string{"simulate",
			"-accounts", fmt.Sprint(cfg.accounts), "-days", fmt.Sprint(days),
			"-events-per-hour", fmt.Sprint(rate), "-seed", fmt.Sprint(cfg.seed), partial}
		b.log.Info("making the archive", "dir", dir, "days", days, "events_per_hour", rate, "accounts", cfg.accounts)
		began := time.Now()
		if out, err := command(ctx, b.trailcover, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("trailcover %q: %v\n%s", args, err, out)
		}
		// Another run may have made the same archive meanwhile: keep its.
		if err := os.Rename(partial, dir); err != nil {
			if _, serr := os.Stat(truthFile); serr != nil {
				return nil, err
			}
		}
		b.log.Info("made the archive", "elapsed", time.Since(began).Round(time.Second))
	} else {
		b.log.Info("reusing the archive", "dir", dir)
	}
	data, err := os.ReadFile(truthFile)
	if err != nil {
		return nil, err
	}
	a := &archive{dir: dir, size: size, days: days, eventsPerHour: rate, truth: new(simulate.Truth)}
	if err := json.Unmarshal(data, a.truth); err != nil {
		return nil, fmt.Errorf("%s: %w", truthFile, err)
	}
	if err := a.inventory(); err != nil {
		return nil, err
	}
	return a, nil
}

// inventory counts the archive's files by kind, as trailcover's key
// parser sees them.
func (a *archive) inventory() error {
	return walkObjects(a.dir, func(path, key string, d fs.DirEntry) error {
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch ingest.ParseKey(key).Kind {
		case ingest.KindLog:
			a.logs.add(info.Size())
		case ingest.KindDigest:
			a.digests.add(info.Size())
		default:
			a.other.add(info.Size())
		}
		return nil
	})
}

// walkObjects calls fn for every regular file below dir except those in
// the StateDir folder at the top: the objects of a bucket copy, with
// their keys.
func walkObjects(dir string, fn func(path, key string, d fs.DirEntry) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == filepath.Join(dir, ingest.StateDir) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return fn(p, filepath.ToSlash(rel), d)
	})
}

// warm reads every object of dir once, so that each contestant finds the
// archive in the page cache rather than the first one paying for the disk.
func warm(ctx context.Context, dir string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * runtime.NumCPU())
	err := walkObjects(dir, func(path, _ string, _ fs.DirEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.Go(func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(io.Discard, f)
			return err
		})
		return nil
	})
	if werr := g.Wait(); werr != nil {
		return werr
	}
	return err
}

// dirSize is the bytes of the regular files below dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
