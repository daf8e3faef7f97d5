// Command trailcover analyzes CloudTrail archive buckets offline: which
// regions were not logged, what ran outside the allowed regions, whether
// the archive was tampered with, and what broke logging.
//
// Usage:
//
//	trailcover analyze [flags] SOURCE
//	trailcover acquire [flags] s3://BUCKET[/PREFIX] DIR
//	trailcover simulate [flags] DIR
//	trailcover version
//
// SOURCE is s3://BUCKET[/PREFIX] or a directory holding a copy of the
// bucket. Run a command with -h for its flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// Exit codes, as trailcover's contract fixes them.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitFindings    = 3
	exitInterrupted = 130
)

// errUsage marks errors in how trailcover was called.
var errUsage = errors.New("usage")

// findingsError reports findings at or above --fail-on.
type findingsError struct {
	count     int
	threshold string
}

func (e *findingsError) Error() string {
	return fmt.Sprintf("%d findings at or above %s", e.count, e.threshold)
}

const usage = `usage:
  trailcover analyze [flags] SOURCE     analyze a CloudTrail archive (s3://BUCKET[/PREFIX] or a directory)
  trailcover acquire [flags] s3://BUCKET[/PREFIX] DIR
                                        copy an archive for offline analysis, keeping metadata,
                                        versions and a manifest of hashes
  trailcover simulate [flags] DIR       write a synthetic archive with known ground truth
  trailcover version                    print the version

Run 'trailcover COMMAND -h' for a command's flags.
`

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT sets another: the collector works harder as the heap nears
// it, so peak memory follows what is live (for analyze: the duplicate
// set, the events writers' row groups, the digests of the regions being
// read; some 120 MB at its peak on a 1 GB archive) rather than twice
// that. Set much closer to the live heap, the collector runs all the
// time: at 224 MiB, analyze of a 10 GB archive (90 days, whose regions
// hold ten times the digests) had used 1.7 times the CPU of the whole
// 10 GB run of the day before when it was stopped unfinished.
const defaultMemoryLimit = 256 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, time.Now)
	interrupted := ctx.Err() != nil
	stop()
	os.Exit(exitCode(err, interrupted, os.Stderr))
}

// exitCode prints err and maps it to the contract's exit codes.
func exitCode(err error, interrupted bool, stderr io.Writer) int {
	var fe *findingsError
	code := exitError
	switch {
	case err == nil:
		return exitOK
	case interrupted:
		code, err = exitInterrupted, errors.Join(errInterrupted, err)
	case errors.As(err, &fe):
		code = exitFindings
	case errors.Is(err, errUsage):
		code = exitUsage
	}
	var je *jsonLogged
	if errors.As(err, &je) {
		// With --log-format json, every line on stderr is JSON.
		log := slog.New(slog.NewJSONHandler(stderr, nil))
		if code == exitFindings {
			// Findings are the run's result, not a failure of it.
			log.Warn(je.err.Error(), "exit", code)
		} else {
			log.Error(je.err.Error(), "exit", code)
		}
		return code
	}
	if code == exitInterrupted {
		fmt.Fprintln(stderr, "trailcover: interrupted")
		return code
	}
	fmt.Fprintln(stderr, "trailcover:", err)
	return code
}

var errInterrupted = errors.New("interrupted")

// jsonLogged marks the error of a run that logs JSON lines, so that its
// last line is one too.
type jsonLogged struct{ err error }

func (e *jsonLogged) Error() string { return e.err.Error() }
func (e *jsonLogged) Unwrap() error { return e.err }

// logFormatted wraps err for exitCode when the run logs JSON.
func logFormatted(err error, format string) error {
	if err == nil || format != "json" {
		return err
	}
	return &jsonLogged{err}
}

// run is trailcover without the process: arguments in, error out.
// now is the clock, fixed in tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "analyze":
		return runAnalyze(ctx, args[1:], stdout, stderr, now)
	case "acquire":
		return runAcquire(ctx, args[1:], stdout, stderr, now)
	case "simulate":
		return runSimulate(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "trailcover", version())
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// version is the module version when built from a tagged module, the VCS
// revision when built from a checkout with VCS stamping, else "devel".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}
