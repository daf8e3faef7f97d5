package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/report"
)

// analyzeConfig is everything `trailcover analyze` was told.
type analyzeConfig struct {
	scanConfig
	source         string
	out            string
	allowRegions   []string
	expectRegions  []string
	publicKeys     []string
	failOn         analyzer.Severity
	hivePartitions bool
	// versions is --versions: read the bucket's version history too.
	versions bool
	// state is --state: the file an incremental analysis goes on from.
	state string
	// integrityOnly is --integrity-only: log files are hashed, their
	// records never read.
	integrityOnly bool
}

// listFlag collects comma-separated values, repeatable.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func parseAnalyzeFlags(args []string, stdout, stderr io.Writer, now time.Time) (*analyzeConfig, error) {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: trailcover analyze [flags] SOURCE\n\nSOURCE is s3://BUCKET[/PREFIX] or a directory holding a copy of the bucket.\nFlags may come before or after SOURCE; -- ends them.\n\nflags:")
		fs.PrintDefaults()
	}
	cfg := &analyzeConfig{}
	var failOn string
	var allow, expect, known, keys listFlag
	fs.StringVar(&cfg.out, "out", "trailcover-report", "`DIR` where outputs go")
	sf := addScanFlags(fs)
	fs.BoolVar(&cfg.hivePartitions, "hive-partitions", false, "write events/ as Hive partitions account_id=/region=/date= (Athena, Trino, Spark)")
	fs.Var(&allow, "allow-regions", "the region allowlist (comma-separated); without it, no allowlist findings")
	fs.Var(&expect, "expect-regions", "regions every account must log (default: the partition's regions that need no opt-in, plus opt-in regions in use)")
	fs.Var(&known, "known-regions", "region codes to accept in --allow-regions and --expect-regions although the embedded region model does not list them (regions launched after this build)")
	fs.Var(&keys, "public-keys", "`FILE` with the output of aws cloudtrail list-public-keys (repeatable)")
	fs.StringVar(&failOn, "fail-on", "high", "exit 3 if any finding is at or above this `SEVERITY` (info, low, medium, high, critical)")
	fs.BoolVar(&cfg.versions, "versions", false, "also read the bucket's version history (S3 with versioning, or a copy made by acquire --versions): deleted and overwritten log files that survive as noncurrent versions are reported, their records analysed")
	fs.BoolVar(&cfg.integrityOnly, "integrity-only", false, "verify digests and hash log files without reading their records: only log file integrity and delivery coverage are judged (JSON is not parsed), events/ is empty; several times faster")
	fs.StringVar(&cfg.state, "state", "", "incremental runs: `FILE` holding the analysis so far (created by the first run); read only objects not analyzed before, report on everything since the first run")
	positional, err := withConfig(fs, stdout, args, "source")
	if err != nil {
		return nil, err
	}
	if len(positional) != 1 {
		fs.Usage()
		return nil, fmt.Errorf("%w: analyze takes one SOURCE, got %d arguments", errUsage, len(positional))
	}
	cfg.source = positional[0]
	cfg.allowRegions, cfg.expectRegions, cfg.publicKeys = allow, expect, keys
	if cfg.scanConfig, err = sf.parse(now); err != nil {
		return nil, err
	}
	if cfg.integrityOnly && (cfg.state != "" || cfg.versions) {
		// A state would record objects as analysed whose records were
		// never read; the history is read for its records.
		return nil, fmt.Errorf("%w: --integrity-only cannot be combined with --state or --versions", errUsage)
	}
	if cfg.state != "" {
		// An incremental analysis has a start and no end: each run
		// analyzes everything delivered so far. --last sets the start of
		// the first run only (the state keeps it).
		if sf.end != "" {
			return nil, fmt.Errorf("%w: --end cannot be combined with --state: an incremental analysis has no end, each run takes in everything delivered so far", errUsage)
		}
		cfg.window.End = time.Time{}
	}
	model, err := analyzer.LoadRegionModel()
	if err != nil {
		return nil, err
	}
	for _, r := range append(append([]string{}, allow...), expect...) {
		if !ingest.IsRegion(r) {
			return nil, fmt.Errorf("%w: %q is not a region name", errUsage, r)
		}
		if !model.Region(r).Known && !slices.Contains(known, r) {
			return nil, fmt.Errorf("%w: %q is not a region this build knows; did you mean %q? (if %s is a region launched since, add --known-regions %s)",
				errUsage, r, model.Closest(r), r, r)
		}
	}
	if cfg.failOn, err = analyzer.ParseSeverity(failOn); err != nil {
		return nil, fmt.Errorf("%w: --fail-on: %v", errUsage, err)
	}
	return cfg, nil
}

// scanConfig is what analyze and acquire share: which objects, from where,
// how fast, and how to log.
type scanConfig struct {
	window      ingest.Window
	accounts    []string
	endpointURL string
	// requestTimeout bounds the wait for an S3 answer and for each piece
	// of a body (--request-timeout).
	requestTimeout time.Duration
	workers        int
	// workersChosen: --workers (or workers in a config file) was given;
	// otherwise the source's kind picks the default (withDefaultWorkers).
	workersChosen bool
	logFormat     string
	// noFetchKeys forbids asking CloudTrail for its public keys.
	noFetchKeys bool
}

// overflowBatch is how many records of an object with more than a scan
// holds are read again at a time.
const overflowBatch = 4096

// Default numbers of objects fetched at once from S3: fetching waits on
// the network, not the CPU (BenchmarkScanS3Workers, 20 ms a request: 41
// objects/s with 1 worker, 626 with 32). A worker that decodes holds an
// object's records (a few MB); one that only hashes or copies holds
// buffers, so streams can wait on the network by the hundred.
const (
	s3Workers      = 32
	s3LightWorkers = 128
)

// withDefaultWorkers sets the default number of workers for a source
// unless one was chosen: 4 per CPU for a directory, s3Workers for S3, or
// s3LightWorkers for S3 when no record is decoded (light: acquire,
// analyze --integrity-only).
func (c *scanConfig) withDefaultWorkers(src ingest.Source, light bool) {
	if _, ok := src.(*ingest.S3Source); ok && !c.workersChosen {
		c.workers = s3Workers
		if light {
			c.workers = s3LightWorkers
		}
	}
}

type scanFlags struct {
	fs               *flag.FlagSet
	start, end, last string
	accounts         listFlag
	cfg              scanConfig
}

func addScanFlags(fs *flag.FlagSet) *scanFlags {
	sf := &scanFlags{fs: fs}
	fs.StringVar(&sf.start, "start", "", "window start, RFC 3339 or YYYY-MM-DD (default: the whole archive)")
	fs.StringVar(&sf.end, "end", "", "window end, RFC 3339 or YYYY-MM-DD, exclusive")
	fs.StringVar(&sf.last, "last", "", "window of this `DURATION` ending now: 7d, 24h, 2w")
	fs.Var(&sf.accounts, "accounts", "only these account IDs (comma-separated, repeatable)")
	fs.StringVar(&sf.cfg.endpointURL, "endpoint-url", "", "an S3-compatible endpoint `URL` (path-style)")
	fs.IntVar(&sf.cfg.workers, "workers", 4*runtime.GOMAXPROCS(0), fmt.Sprintf("objects fetched at once (default for s3:// sources: %d, or %d with --integrity-only and for acquire)", s3Workers, s3LightWorkers))
	fs.DurationVar(&sf.cfg.requestTimeout, "request-timeout", 10*time.Second, "give up on an S3 request, to retry it, when no answer (or no byte of a body) comes for this `DURATION`; attempts per request follow AWS_MAX_ATTEMPTS (default 5) and AWS_RETRY_MODE")
	fs.StringVar(&sf.cfg.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&sf.cfg.noFetchKeys, "no-fetch-keys", false, "never call CloudTrail's ListPublicKeys: keys come from --public-keys and the archive's own "+ingest.StateDir+"/public-keys.json")
	return sf
}

func (sf *scanFlags) parse(now time.Time) (scanConfig, error) {
	cfg := sf.cfg
	cfg.accounts = sf.accounts
	for _, a := range cfg.accounts {
		if !ingest.IsAccountID(a) {
			return cfg, fmt.Errorf("%w: --accounts: %q is not a 12-digit account ID", errUsage, a)
		}
	}
	if cfg.workers < 1 {
		return cfg, fmt.Errorf("%w: --workers must be at least 1", errUsage)
	}
	sf.fs.Visit(func(f *flag.Flag) { cfg.workersChosen = cfg.workersChosen || f.Name == "workers" })
	if cfg.logFormat != "text" && cfg.logFormat != "json" {
		return cfg, fmt.Errorf("%w: --log-format must be text or json", errUsage)
	}
	var err error
	if cfg.window, err = parseWindow(sf.start, sf.end, sf.last, now); err != nil {
		return cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	return cfg, nil
}

// parseWindow reads --start, --end and --last.
func parseWindow(start, end, last string, now time.Time) (ingest.Window, error) {
	var w ingest.Window
	if last != "" {
		if start != "" || end != "" {
			return w, errors.New("--last cannot be combined with --start or --end")
		}
		d, err := parseDuration(last)
		if err != nil {
			return w, fmt.Errorf("--last: %w", err)
		}
		return ingest.Window{Start: now.Add(-d).UTC(), End: now.UTC()}, nil
	}
	var err error
	if start != "" {
		if w.Start, err = parseTime(start); err != nil {
			return w, fmt.Errorf("--start: %w", err)
		}
	}
	if end != "" {
		if w.End, err = parseTime(end); err != nil {
			return w, fmt.Errorf("--end: %w", err)
		}
	}
	if !w.Start.IsZero() && !w.End.IsZero() && !w.Start.Before(w.End) {
		return w, errors.New("--start must be before --end")
	}
	return w, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
}

// parseDuration accepts Go durations plus days and weeks: 7d, 2w, 36h.
func parseDuration(s string) (time.Duration, error) {
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a positive number of days or weeks", s)
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration (7d, 2w, 36h)", s)
	}
	return d, nil
}

// runAnalyze implements `trailcover analyze`.
func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) error {
	cfg, err := parseAnalyzeFlags(args, stdout, stderr, now())
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return logFormatted(analyze(ctx, cfg, args, stdout, stderr, now), cfg.logFormat)
}

// analyze runs an analysis as cfg says.
func analyze(ctx context.Context, cfg *analyzeConfig, args []string, stdout, stderr io.Writer, now func() time.Time) error {
	var err error
	log := newLogger(stderr, cfg.logFormat)

	src, prefix, err := openSource(ctx, cfg.source, cfg.s3Options(log))
	if err != nil {
		return err
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	cfg.withDefaultWorkers(src, cfg.integrityOnly)
	log.Info("analyze", "source", src.String(), "start", cfg.window.Start, "end", cfg.window.End, "workers", cfg.workers)

	acfg := analyzer.Config{
		Window:        cfg.window,
		AllowRegions:  cfg.allowRegions,
		ExpectRegions: cfg.expectRegions,
		Source:        src.String(),
		Accounts:      cfg.accounts,
		KeepState:     cfg.state != "",
		RunAt:         now().UTC(),
	}
	if b, ok := src.(ingest.Bucketed); ok {
		acfg.Bucket = b.Bucket()
	}
	if mk, ok := src.(ingest.MetadataKeeper); ok {
		acfg.SignaturesKept = mk.KeepsMetadata()
	}
	keySources, fetchedKeys := []string(nil), []byte(nil)
	if acfg.PublicKeys, keySources, fetchedKeys, err = publicKeys(ctx, log, cfg.publicKeys, cfg.source, src, cfg.window, cfg.noFetchKeys, now()); err != nil {
		return err
	}
	var a *analyzer.Analyzer
	var skip func(ingest.Object) bool
	if cfg.state != "" {
		unlock, err := lockState(cfg.state)
		if err != nil {
			return err
		}
		defer unlock()
		if a, err = restoreState(cfg.state, acfg, log); err != nil {
			return err
		}
		skip = a.Unchanged
	} else {
		a = analyzer.New(acfg)
	}
	window := a.Window()
	out, err := newOutputs(cfg.out, cfg.hivePartitions, window)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			out.abort()
		}
	}()
	began := now()
	var inputs inputsHash
	// One scan, region by region as far as the analyzer can tell: every
	// digest of a region is known before any of its log files is judged
	// against the digests that list it, and the region is let go when it
	// is done (not with --versions: the history comes after every region).
	inv := &ingest.Inventory{}
	progress := new(ingest.Progress)
	display := startProgress(progress, stderr, log, now)
	defer display.Stop()
	skipped := 0
	// strays are the first objects listed that are not CloudTrail's, to
	// name in the error when there is nothing else.
	var strays []string
	// With --versions, a second phase reads the version history: after
	// every current object, so that it annotates what they showed.
	var recheck func(ingest.Object) ([32]byte, bool)
	if skip != nil {
		recheck = a.RecordedHash
	}
	phases := []ingest.ScanOptions{{Skip: skip, Recheck: recheck, ScopeDone: func(s ingest.Scope) error {
		if !cfg.versions {
			a.EndScope(s)
		}
		return nil
	}}}
	if cfg.versions {
		phases = append(phases, ingest.ScanOptions{Kinds: []ingest.Kind{ingest.KindDigest, ingest.KindLog, ingest.KindInsight, ingest.KindNetworkActivity, ingest.KindAggregated}, Noncurrent: true})
	}
	for _, phase := range phases {
		opts := phase
		opts.Prefix, opts.Window, opts.Accounts, opts.Workers, opts.Progress = prefix, window, cfg.accounts, cfg.workers, progress
		opts.Decode.HashOnly = cfg.integrityOnly
		part, err := ingest.Scan(ctx, src, opts, func(r *ingest.Result) error {
			if r.Skipped {
				// Analyzed by an earlier run: it counts in the inputs
				// as it was read then, and its records are in that
				// run's events table.
				skipped++
				known := *r
				known.Body.SHA256, _ = a.ContentHash(r.Object.Key)
				inputs.add(&known)
				a.Observe(r)
				return nil
			}
			if r.Err != nil {
				log.Warn("unreadable object", "key", r.Object.Key, "error", r.Err)
			}
			if r.Location.Kind == ingest.KindOther && len(strays) < 3 {
				strays = append(strays, r.Object.Key)
			}
			inputs.add(r)
			v := a.Observe(r)
			if err := out.events.Write(r, v); err != nil || !r.Overflow {
				return err
			}
			// Too many records to hold at once: read them again, a
			// batch at a time.
			body, err := ingest.StreamRecords(ctx, src, r.Object, opts.Decode, overflowBatch, func(batch []ingest.Record) error {
				part := *r
				part.Records, part.Overflow = batch, false
				a.ObserveRecords(r, batch)
				return out.events.Write(&part, v)
			})
			if err == nil && body.SHA256 != r.Body.SHA256 {
				err = errors.New("its content changed between two reads")
			}
			if err != nil {
				return fmt.Errorf("read the records of %s again: %w", r.Object.Key, err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan %s: %w", src, err)
		}
		if !opts.Noncurrent {
			inv.Scopes = append(inv.Scopes, part.Scopes...)
		}
	}
	display.Stop()
	res := a.Finish(inv)
	if err := nothingRead(src.String(), inv, &res.Objects, strays); err != nil {
		return err
	}
	run := report.Run{
		ToolName:      "trailcover",
		ToolVersion:   version(),
		Source:        src.String(),
		Bucket:        acfg.Bucket,
		Start:         window.Start,
		End:           window.End,
		GeneratedAt:   now().UTC(),
		CommandLine:   append([]string{"trailcover", "analyze"}, args...),
		InputsHash:    inputs.String(),
		Accounts:      cfg.accounts,
		AllowRegions:  cfg.allowRegions,
		ExpectRegions: cfg.expectRegions,
		FailOn:        cfg.failOn.String(),
		IntegrityOnly: cfg.integrityOnly,
	}
	if acfg.PublicKeys != nil {
		run.PublicKeyFingerprints = acfg.PublicKeys.Fingerprints()
	}
	run.PublicKeySources = keySources
	done = true
	if err := out.finish(run, res); err != nil {
		return err
	}
	if err := writeFetchedKeys(filepath.Join(cfg.out, "public-keys.json"), fetchedKeys); err != nil {
		return err
	}
	if cfg.state != "" {
		// Only once every output is in place: a run that fails before
		// leaves the state as it was, and the next run redoes this one.
		if err := saveState(cfg.state, a); err != nil {
			return err
		}
		log.Info("state saved", "state", cfg.state, "runs", a.Runs(), "read", progress.Listed.Load()-int64(skipped), "skipped", skipped)
	}
	log.Info("done", "objects", res.Objects.Listed, "records", res.Records.Total, "events", out.events.Rows(),
		"unreadable", res.Objects.Unreadable, "findings", len(res.Findings), "inputs_hash", run.InputsHash,
		"elapsed", now().Sub(began).Round(time.Millisecond), "out", cfg.out)

	n := 0
	for _, f := range res.Findings {
		if f.Severity >= cfg.failOn {
			n++
		}
	}
	if n > 0 {
		return &findingsError{count: n, threshold: cfg.failOn.String()}
	}
	return nil
}

// s3Options are the S3 settings of the command line: the endpoint, the
// request timeout, and a log line per wave of retries naming the
// endpoint, so that a failing or stalled endpoint is never silence.
func (c *scanConfig) s3Options(log *slog.Logger) ingest.S3Options {
	endpoint := c.endpointURL
	if endpoint == "" {
		endpoint = "AWS S3"
	}
	retries := ingest.NewRetryLog(10*time.Second, func(n, attempt int, err error) {
		log.Warn("retrying S3 requests", "endpoint", redactEndpoint(endpoint), "retried", n, "attempt", attempt, "error", err.Error())
	})
	return ingest.S3Options{EndpointURL: c.endpointURL, ResponseTimeout: c.requestTimeout, ReadIdleTimeout: c.requestTimeout, Retried: retries.Retried}
}

// openSource picks the Source for the SOURCE argument and the key prefix
// where the search for AWSLogs/ starts.
func openSource(ctx context.Context, source string, s3opts ingest.S3Options) (ingest.Source, string, error) {
	endpointURL := s3opts.EndpointURL
	if strings.HasPrefix(source, "s3://") {
		src, err := ingest.NewS3Source(ctx, source, s3opts)
		if err != nil {
			return nil, "", err
		}
		return src, src.Prefix(), nil
	}
	if strings.Contains(source, "://") {
		return nil, "", fmt.Errorf("%w: SOURCE %q: only s3:// URLs and directories are supported", errUsage, source)
	}
	if endpointURL != "" {
		return nil, "", fmt.Errorf("%w: --endpoint-url applies to s3:// sources only", errUsage)
	}
	info, err := os.Stat(source)
	if err != nil {
		return nil, "", fmt.Errorf("source: %w", err)
	}
	if !info.IsDir() {
		return nil, "", fmt.Errorf("%w: SOURCE %s is not a directory", errUsage, source)
	}
	src, err := ingest.OpenDir(source)
	if err != nil {
		return nil, "", err
	}
	return src, "", nil
}

// loadPublicKeys reads every --public-keys file into one key set; nil
// when none was given (signatures are then unverifiable).
func loadPublicKeys(files []string) (*analyzer.KeySet, error) {
	if len(files) == 0 {
		return nil, nil
	}
	var keys *analyzer.KeySet
	for _, name := range files {
		data, err := readSmallFile(name, 16<<20)
		if err != nil {
			return nil, fmt.Errorf("--public-keys: %w", err)
		}
		set, err := analyzer.ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("--public-keys %s: %w", name, err)
		}
		if keys == nil {
			keys = set
		} else {
			keys.Merge(set)
		}
	}
	return keys, nil
}

// readSmallFile reads a file that must not be larger than limit.
func readSmallFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, nil
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if isTerminal(w) {
		// A log line first clears the progress line it would be glued
		// to; the progress line is drawn again at its next tick.
		w = lineClearer{w}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// lineClearer clears the terminal's current line before each write.
type lineClearer struct{ w io.Writer }

func (c lineClearer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, "\r\033[K"); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// writeFileAtomic writes a file under a temporary name in the same
// directory and renames it into place, so that a failed or interrupted run
// never leaves a half-written file under the final name.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	// Written as it is made: an output is never held whole in memory.
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// nothingRead is the error of a run that found no CloudTrail object and
// no CloudTrail folder: a wrong path, a mistyped prefix, an empty bucket.
// It must not end green, and it says what was there instead. An empty
// window of an archive whose folders were found is not this case: the
// coverage findings then say what is missing.
func nothingRead(source string, inv *ingest.Inventory, o *analyzer.ObjectCounts, strays []string) error {
	if len(inv.Scopes) > 0 || o.Listed > o.Other {
		return nil
	}
	found := "it is empty"
	if o.Other > 0 {
		found = fmt.Sprintf("it holds %d other objects (%s)", o.Other, strings.Join(strays, ", "))
		if o.Other > len(strays) {
			found = strings.TrimSuffix(found, ")") + ", …)"
		}
	}
	return fmt.Errorf("no CloudTrail object found in %s: %s. trailcover reads a CloudTrail bucket or a copy of one: "+
		"<prefix>/AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz "+
		"(and CloudTrail-Digest/), or such files in any folders; check the path, the bucket and the trail's S3 key prefix", source, found)
}
