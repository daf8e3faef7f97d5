package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/report"
)

// The files analyze writes in --out.
const (
	summaryFile  = "summary.json"
	htmlFile     = "report.html"
	findingsFile = "findings.parquet"
	coverageFile = "coverage.parquet"
	eventsDir    = "events"
	// eventsTmpPrefix names the folder events are written to before it
	// replaces eventsDir.
	eventsTmpPrefix = ".events.tmp-"
)

// outputs writes a run's results into --out so that a failed or
// interrupted run leaves no half-written output: every file is written
// under a temporary name and renamed, and the events folder is built
// beside the old one and swapped in at the end.
type outputs struct {
	dir    string
	tmp    string // the events folder being written, relative to dir
	root   *os.Root
	events *eventsSink
}

func newOutputs(dir string, partitioned bool, window ingest.Window) (*outputs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open output directory: %w", err)
	}
	clearKilledRun(root, dir)
	o := &outputs{dir: dir, root: root, tmp: eventsTmpPrefix + strings.ToLower(rand.Text()[:10])}
	if err := root.Mkdir(o.tmp, 0o755); err != nil {
		root.Close()
		return nil, fmt.Errorf("create events folder: %w", err)
	}
	o.events = newEventsSink(o.openEvents, report.EventsOptions{Partitioned: partitioned, Window: window})
	return o, nil
}

// clearKilledRun removes what a run that was killed left in --out: its
// events folder, and the files writeFileAtomic had not yet renamed. A run
// killed between moving the old events folder aside and moving its own
// in left no events folder: the old one is put back, so that the outputs
// stay the previous run's if this run fails too.
func clearKilledRun(root *os.Root, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	_, err = root.Lstat(eventsDir)
	restore := errors.Is(err, fs.ErrNotExist)
	for _, e := range entries {
		name := e.Name()
		switch {
		case restore && strings.HasPrefix(name, eventsTmpPrefix+"old-") && e.IsDir():
			restore = root.Rename(name, eventsDir) != nil
		case strings.HasPrefix(name, eventsTmpPrefix):
			root.RemoveAll(name)
		case e.Type().IsRegular() && slices.ContainsFunc([]string{summaryFile, htmlFile, findingsFile, coverageFile}, func(out string) bool {
			return strings.HasPrefix(name, "."+out+".tmp-")
		}):
			root.Remove(name)
		}
	}
}

// openEvents creates one Parquet file of the events table. Paths come from
// report.Partition.Path, which sanitizes values taken from the archive;
// os.Root keeps them inside --out whatever they hold.
func (o *outputs) openEvents(p report.Partition) (io.WriteCloser, error) {
	name := path.Join(o.tmp, p.Path())
	if err := o.root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return nil, err
	}
	return o.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
}

// abort removes what the run wrote; the previous outputs stay as they were.
func (o *outputs) abort() {
	o.events.Close()
	o.root.RemoveAll(o.tmp)
	o.root.Close()
}

// finish writes the reports and swaps the events folder in.
func (o *outputs) finish(run report.Run, res *analyzer.Result) error {
	defer o.root.Close()
	run.CommandLine = redactCommandLine(run.CommandLine)
	if err := o.events.Close(); err != nil {
		o.root.RemoveAll(o.tmp)
		return fmt.Errorf("write events: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{findingsFile, func(w io.Writer) error { return report.WriteFindings(w, run, res) }},
		{coverageFile, func(w io.Writer) error { return report.WriteCoverage(w, res.Coverage) }},
		{htmlFile, func(w io.Writer) error { return report.WriteHTML(w, run, res) }},
		// summary.json last: a batch job that sees it can trust the rest.
		{summaryFile, func(w io.Writer) error { return report.WriteSummary(w, report.NewSummary(run, res)) }},
	}
	old := eventsTmpPrefix + "old-" + strings.ToLower(rand.Text()[:10])
	if err := o.root.Rename(eventsDir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		o.root.RemoveAll(o.tmp)
		return fmt.Errorf("replace events folder: %w", err)
	}
	if err := o.root.Rename(o.tmp, eventsDir); err != nil {
		return fmt.Errorf("replace events folder: %w", err)
	}
	o.root.RemoveAll(old)
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(o.dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// urlUserinfo matches the user information of a URL: what
// "--endpoint-url https://KEY:SECRET@host" carries.
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@`)

// redactCommandLine hides user information in the URLs of the command
// line the reports record. The SDK ignores it and signs with the
// credential chain, so such a run works, and its reports must not carry
// the secret.
func redactCommandLine(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = urlUserinfo.ReplaceAllString(a, "${1}REDACTED@")
	}
	return out
}

// inputsHash is an order-independent hash of what a run read: the sum,
// modulo 2^256, of SHA-256(key, size, SHA-256 of the decompressed content)
// over every listed object (content empty for objects that are not
// CloudTrail's and are not read). Workers deliver objects in any order;
// the same archive always gives the same hash, from S3 or from a copy.
type inputsHash struct {
	sum [4]uint64 // big-endian limbs
}

func (h *inputsHash) add(r *ingest.Result) {
	content := ""
	if r.Location.Kind != ingest.KindOther {
		content = hex.EncodeToString(r.Body.SHA256[:])
	}
	name := r.Object.Key
	switch {
	case r.Object.DeleteMarker:
		name += "\x00delete marker " + r.Object.VersionID
	case !r.Object.Current():
		name += "\x00version " + r.Object.VersionID
	}
	d := sha256.Sum256([]byte(name + "\n" + strconv.FormatInt(r.Object.Size, 10) + "\n" + content))
	var carry uint64
	for i := 3; i >= 0; i-- {
		h.sum[i], carry = bits.Add64(h.sum[i], binary.BigEndian.Uint64(d[i*8:]), carry)
	}
}

func (h *inputsHash) String() string {
	var b [32]byte
	for i, limb := range h.sum {
		binary.BigEndian.PutUint64(b[i*8:], limb)
	}
	return hex.EncodeToString(b[:])
}

// redactEndpoint hides user information in an endpoint URL for the logs.
func redactEndpoint(u string) string { return urlUserinfo.ReplaceAllString(u, "${1}REDACTED@") }
