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
	"github.com/trailcover/trailcover/ingest/simulate"
)

// runSimulate implements `trailcover simulate [flags] DIR`.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg simulate.Config
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of every random choice: the same flags write byte-identical archives")
	fs.StringVar(&cfg.Bucket, "bucket", simulate.DefaultBucket, "bucket name the digests name")
	fs.StringVar(&cfg.Prefix, "prefix", "", "trail S3 key prefix (the part before AWSLogs/)")
	fs.IntVar(&cfg.AccountCount, "accounts", simulate.DefaultAccountCount, "number of accounts")
	fs.StringVar(&cfg.OrgID, "org", "", "organization ID o-…, or auto: organization trail, keys AWSLogs/o-…/ACCOUNT/…")
	regions := fs.String("regions", strings.Join(simulate.DefaultRegions(), ","), "comma-separated regions with regular activity (the allowlist)")
	enabled := fs.String("enabled-regions", "", "comma-separated regions a multi-region trail covers (default: the 17 regions that need no opt-in)")
	fs.IntVar(&cfg.Days, "days", simulate.DefaultDays, "number of days")
	start := fs.String("start", simulate.DefaultStart().Format(time.DateOnly), "first day, YYYY-MM-DD")
	fs.IntVar(&cfg.EventsPerHour, "events-per-hour", simulate.DefaultEventsPerHour, "mean regional events per hour per account and region (negative: none)")
	fs.IntVar(&cfg.EventsPerDay, "events-per-day", 0, "instead of --events-per-hour, mean regional events per day per account and region: a sparse archive of a few files a day")
	fs.BoolVar(&cfg.NoDigests, "no-digests", false, "write no digests (log file validation off): with --events-per-day, objects follow the records whatever the span")
	trail := fs.String("trail", "", "trail name (default "+simulate.DefaultTrailName+", or "+simulate.DefaultOrgTrailName+" with --org)")
	home := fs.String("home-region", "us-east-1", "home region of the trail")
	fs.IntVar(&cfg.GzipLevel, "gzip-level", simulate.DefaultGzipLevel, "gzip level 1-9 of every object (1 is fastest)")
	fs.IntVar(&cfg.Workers, "workers", 0, "files written at once (default: GOMAXPROCS)")
	fs.Func("scenario", "plant a scenario: NAME or NAME:key=value,… (keys account, region, at, hours, count); repeatable; all for every one", func(s string) error {
		sc, err := simulate.ParseScenario(s)
		if err != nil {
			return err
		}
		cfg.Scenarios = append(cfg.Scenarios, sc)
		return nil
	})
	scenarioFile := fs.String("scenario-file", "", "JSON list of scenarios, e.g. [{\"name\":\"delivery-gap\",\"region\":\"eu-west-1\",\"hours\":5}]")
	fs.Usage = func() { simulateUsage(fs) }
	positional, err := parseInterspersed(fs, stdout, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if len(positional) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: simulate takes one directory, got %d arguments", errUsage, len(positional))
	}
	dir := positional[0]
	cfg.Regions = simulateSplit(*regions)
	cfg.EnabledRegions = simulateSplit(*enabled)
	day, err := time.Parse(time.DateOnly, *start)
	if err != nil {
		return fmt.Errorf("%w: --start: want YYYY-MM-DD: %w", errUsage, err)
	}
	cfg.Start = day
	if *trail != "" || *home != "us-east-1" {
		name := *trail
		if name == "" {
			name = simulate.DefaultTrailName
			if cfg.OrgID != "" {
				name = simulate.DefaultOrgTrailName
			}
		}
		cfg.Trails = []simulate.Trail{{Name: name, HomeRegion: *home, MultiRegion: true}}
	}
	if *scenarioFile != "" {
		f, err := os.Open(*scenarioFile)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		list, err := simulate.ReadScenarios(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%w: %s: %w", errUsage, *scenarioFile, err)
		}
		cfg.Scenarios = append(cfg.Scenarios, list...)
	}
	if err := cfg.Normalize(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%w: %s exists and is not empty", errUsage, dir)
	}

	// Write beside dir and rename at the end, so that a failed or
	// interrupted run leaves no half-written archive.
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".simulate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	began := time.Now()
	truth, err := simulate.Generate(ctx, cfg, tmp)
	if err != nil {
		return err
	}
	elapsed := time.Since(began)
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	o := truth.Objects
	mb := float64(o.Bytes) / 1e6
	fmt.Fprintf(stdout, "wrote %s: %d objects (%d log files, %d digests, %d other), %.1f MB, %d records, %d accounts, %d chains, in %s (%.1f MB/s)\n",
		dir, o.OnDisk, o.LogFiles, o.DigestFiles, o.Other, mb, truth.Records.Total, len(truth.Accounts), len(truth.Chains),
		elapsed.Round(time.Millisecond), mb/elapsed.Seconds())
	state := filepath.Join(dir, ingest.StateDir)
	fmt.Fprintf(stdout, "truth: %s\npublic keys: %s\n", filepath.Join(state, "truth.json"), filepath.Join(state, "public-keys.json"))
	if keys := truth.KeysNotOnDisk(); len(keys) > 0 {
		fmt.Fprintf(stdout, "folder keys not on disk (create them when uploading to S3): %s\n", strings.Join(keys, " "))
	}
	return nil
}

// simulateUsage prints the command's help: synopsis, flags, scenarios.
func simulateUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, `usage: trailcover simulate [flags] DIR

Writes a synthetic CloudTrail archive into DIR (new or empty), laid out as a
bucket copy made by acquire: log files and digests at their S3 keys, digest
signatures in %[1]s/meta/, %[1]s/public-keys.json (the output of
aws cloudtrail list-public-keys), and %[1]s/truth.json, the ground truth.

flags:
`, ingest.StateDir)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nscenarios (--scenario NAME[:key=value,...]; keys account, region, at, hours, count):\n")
	for _, line := range simulate.ScenarioHelp() {
		name, summary, _ := strings.Cut(line, ": ")
		fmt.Fprintf(w, "  %-18s %s\n", name, summary)
	}
}

// simulateSplit splits a comma-separated list, dropping empty items.
func simulateSplit(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
