// Command trailcover-bench measures trailcover against its peers on one
// simulated archive and prints the results as Markdown tables.
//
// Usage:
//
//	go run ./cmd/trailcover-bench [flags]
//
// It makes an archive with `trailcover simulate` (kept in a cache folder and
// reused by later runs with the same flags), reads it once before each
// contestant so that every one finds it in the page cache, then runs, one
// after another and each as its own process:
//
//   - the floor: gunzip (klauspost/compress) and SHA-256 of every object
//     trailcover reads, nothing else, on one core and on all cores;
//   - `trailcover analyze` of the directory, with its full outputs
//     (Parquet events, findings, coverage, summary, HTML);
//   - DuckDB (npm @duckdb/node-api, installed into the cache folder)
//     turning the same log files into one Parquet file of the same
//     columns;
//   - for one digest chain served by a local S3 server (versitygw), in a
//     bucket of its own: `aws cloudtrail validate-logs`, `trailcover
//     analyze` and `trailcover analyze --integrity-only` (digests
//     verified, log files hashed, no record parsed), as the loopback
//     server is and with a latency added to every request (-s3-latency).
//
// For each it reports wall and CPU time, records/s, MB/s, objects/s and
// peak RSS, then the ratios and the project's goals. A peer that cannot
// run here (no node, no aws, no versitygw) is a row saying why. Nothing
// here asserts a time; the command fails only when a contestant fails or
// when contestants disagree on what they read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "trailcover-bench:", err)
		os.Exit(1)
	}
}

// Peer names, as -peers takes them.
const (
	peerFloor    = "floor"
	peerDuckDB   = "duckdb"
	peerValidate = "validate-logs"
)

// config is the command line.
type config struct {
	sizes         []int64
	accounts      int
	eventsPerHour int
	seed          uint64
	cacheDir      string
	trailcover    string
	peers         map[string]bool
	install       bool
	chainDays     int
	latencies     []time.Duration
	workers       int
	runs          int
	regenerate    bool
	keep          bool
	args          []string
	// span runs the span contest (span.go) instead of the size contest.
	span        bool
	orgAccounts int
	genuine     string
}

// run is the command without the process. The hidden first argument
// "floor" runs that contestant (runFloor) in the child process the
// command starts.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "floor" {
		return runFloor(ctx, args[1:], stdout)
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := os.MkdirAll(cfg.cacheDir, 0o755); err != nil {
		return err
	}
	// Each run has its own work folder, so that two runs sharing the
	// cache do not write over each other's outputs.
	work, err := os.MkdirTemp(cfg.cacheDir, "run-")
	if err != nil {
		return err
	}
	if cfg.keep {
		log.Info("outputs kept", "dir", work)
	} else {
		defer os.RemoveAll(work)
	}
	b := &bench{cfg: cfg, log: log, work: work}
	if b.trailcover, err = buildTrailcover(ctx, cfg, log); err != nil {
		return err
	}

	if cfg.span {
		fmt.Fprintf(stdout, "# trailcover-bench -span\n\n%s\n", strings.Join(append([]string{"trailcover-bench"}, cfg.args...), " "))
		return b.runSpan(ctx, stdout)
	}

	var reports []*sizeReport
	var first *archive
	for _, size := range cfg.sizes {
		a, err := b.prepareArchive(ctx, size)
		if err != nil {
			return err
		}
		if first == nil {
			first = a
		}
		rep, err := b.runLocal(ctx, a)
		if err != nil {
			return err
		}
		reports = append(reports, rep)
		if len(reports) == 1 {
			printHeader(stdout, cfg)
		}
		printLocal(stdout, rep)
	}
	var integ []*integrityReport
	if cfg.peers[peerValidate] {
		if integ, err = b.runIntegrity(ctx, first); err != nil {
			return err
		}
		for _, rep := range integ {
			printIntegrity(stdout, rep)
		}
	}
	printGoals(stdout, reports, integ)
	var errs []error
	for _, rep := range reports {
		errs = append(errs, rep.check()...)
	}
	for _, rep := range integ {
		errs = append(errs, rep.check()...)
	}
	return errors.Join(errs...)
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("trailcover-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: trailcover-bench [flags]

Measures trailcover against DuckDB, aws cloudtrail validate-logs and the
gunzip+SHA-256 floor on one simulated archive; prints Markdown tables.

flags:
`)
		fs.PrintDefaults()
	}
	cacheDefault := filepath.Join(os.TempDir(), "trailcover-bench")
	if d, err := os.UserCacheDir(); err == nil {
		cacheDefault = filepath.Join(d, "trailcover-bench")
	}
	cfg := &config{args: args}
	sizes := fs.String("size", "1GB", "archive size on disk (gzip), comma-separated for several runs: 1GB,10GB")
	fs.IntVar(&cfg.accounts, "accounts", 3, "accounts in the archive")
	fs.IntVar(&cfg.eventsPerHour, "events-per-hour", 2000, "mean events per hour per account and active region (lowered for small sizes)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "simulate seed")
	fs.StringVar(&cfg.cacheDir, "cache", cacheDefault, "`DIR` for archives, peers installed by npm, and each run's outputs (removed unless -keep)")
	fs.StringVar(&cfg.trailcover, "trailcover", "", "trailcover `BINARY` to measure (default: go build of this module's cmd/trailcover)")
	peers := fs.String("peers", strings.Join([]string{peerFloor, peerDuckDB, peerValidate}, ","), "peers to run, comma-separated")
	fs.BoolVar(&cfg.install, "install", true, "install missing peers that need the network (npm @duckdb/node-api); false: skip them")
	fs.IntVar(&cfg.chainDays, "chain-days", 7, "days of the one digest chain served over S3 for validate-logs")
	latencies := fs.String("s3-latency", "0,20ms", "delays added to every S3 request of the integrity contest, comma-separated: one contest each (0: the loopback server as it is)")
	fs.IntVar(&cfg.workers, "workers", 0, "trailcover analyze --workers (0: its default)")
	fs.IntVar(&cfg.runs, "runs", 1, "runs of each contestant; the fastest counts (on a shared machine, the least disturbed)")
	fs.BoolVar(&cfg.regenerate, "regenerate", false, "make the archive again even if the cache holds it")
	fs.BoolVar(&cfg.keep, "keep", false, "keep each contestant's outputs in the cache's work folder")
	fs.BoolVar(&cfg.span, "span", false, "measure cost against span instead: the same records over 9 days and 3 years, a sparse organization, and a genuine archive under 1 and 10 account IDs (-genuine)")
	fs.IntVar(&cfg.orgAccounts, "org-accounts", 200, "with -span: accounts of the sparse organization archive (17 regions, 3 years; 0: leave it out)")
	fs.StringVar(&cfg.genuine, "genuine", "", "with -span: `DIR` of a genuine archive (holding AWSLogs/) to analyze as it is and under 10 account IDs")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := parseSize(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("-size: %w", err)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	for _, s := range strings.Split(*latencies, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("-s3-latency: %q is not a duration like 20ms", s)
		}
		cfg.latencies = append(cfg.latencies, d)
	}
	cfg.peers = map[string]bool{}
	for _, p := range strings.Split(*peers, ",") {
		switch p = strings.TrimSpace(p); p {
		case peerFloor, peerDuckDB, peerValidate:
			cfg.peers[p] = true
		case "":
		default:
			return nil, fmt.Errorf("-peers: unknown peer %q (want %s, %s, %s)", p, peerFloor, peerDuckDB, peerValidate)
		}
	}
	if cfg.accounts < 1 || cfg.eventsPerHour < 1 || cfg.chainDays < 1 || cfg.runs < 1 {
		return nil, errors.New("-accounts, -events-per-hour, -chain-days and -runs must be at least 1")
	}
	var err error
	if cfg.cacheDir, err = filepath.Abs(cfg.cacheDir); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseSize reads 1GB, 500MB, 2GiB or a number of bytes. GB and MB are
// powers of ten, as disks and S3 count.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
	}
	mult, num := 1.0, s
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), u.suffix) {
			num, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with GB, MB, KB, GiB, MiB or KiB", s)
	}
	return int64(v * mult), nil
}

// bench holds what every contestant shares.
type bench struct {
	cfg        *config
	log        *slog.Logger
	work       string // outputs of the contestants, cleared between them
	trailcover string // the binary measured
}

// buildTrailcover returns the binary to measure: -trailcover, or a fresh
// build of the module's cmd/trailcover (run from inside the module).
func buildTrailcover(ctx context.Context, cfg *config, log *slog.Logger) (string, error) {
	if cfg.trailcover != "" {
		return filepath.Abs(cfg.trailcover)
	}
	bin := filepath.Join(cfg.cacheDir, "bin", "trailcover")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	log.Info("building trailcover", "bin", bin)
	began := time.Now()
	if out, err := command(ctx, "go", "build", "-o", bin, "github.com/trailcover/trailcover/cmd/trailcover").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build trailcover (run from inside the module, or pass -trailcover): %v\n%s", err, out)
	}
	log.Info("built trailcover", "elapsed", time.Since(began).Round(time.Millisecond))
	return bin, nil
}
