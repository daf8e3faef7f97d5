package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/trailcover/trailcover/analyzer"
)

// restoreState goes on with the analysis in the --state file name: an
// Analyzer restored from it, or, when it does not exist yet, a new one
// that keeps state. A file of another analysis is a usage error; a
// damaged one an error: either way the user removes it to start over.
// The caller holds the state's lock (lockState).
func restoreState(name string, cfg analyzer.Config, log *slog.Logger) (*analyzer.Analyzer, error) {
	removeStateTemps(name)
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		log.Info("no state yet: this run starts the analysis", "state", name, "start", cfg.Window.Start)
		return analyzer.New(cfg), nil
	}
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	defer f.Close()
	a, err := analyzer.Restore(cfg, bufio.NewReaderSize(f, 1<<20))
	var mismatch *analyzer.StateMismatchError
	switch {
	case errors.As(err, &mismatch):
		return nil, fmt.Errorf("%w: --state %s: %v; remove the file to start a new analysis", errUsage, name, err)
	case err != nil:
		return nil, fmt.Errorf("--state %s: %w; remove the file to start a new analysis", name, err)
	}
	if w := a.Window(); !w.Start.Equal(cfg.Window.Start) {
		log.Info("the window start is the state's: --start and --last set it on the first run only", "start", w.Start)
	}
	log.Info("state restored", "state", name, "runs_before", a.Runs()-1, "start", a.Window().Start)
	return a, nil
}

// saveState writes the analysis to the --state file name: to a temporary
// file beside it, synced, then renamed over it, so that the file is
// always a whole state, this run's or the previous one's. The snapshot
// streams to the file; it is never held whole in memory.
func saveState(name string, a *analyzer.Analyzer) error {
	f, err := os.CreateTemp(filepath.Dir(name), stateTempPrefix(name)+"*")
	if err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	bw := bufio.NewWriterSize(f, 1<<20)
	err = a.WriteSnapshot(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		return fmt.Errorf("--state %s: %w", name, err)
	}
	return nil
}

// stateTempPrefix begins the names of the temporary files saveState
// writes the state name to.
func stateTempPrefix(name string) string { return "." + filepath.Base(name) + ".tmp-" }

// removeStateTemps removes the temporary files that runs killed while
// saving the state name left beside it. Only a run that holds the
// state's lock writes one, so none of them is being written.
func removeStateTemps(name string) {
	dir, prefix := filepath.Dir(name), stateTempPrefix(name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
