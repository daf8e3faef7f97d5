package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
	"github.com/trailcover/trailcover/report"
)

// killClockEnv, set to an RFC 3339 time, makes this test binary, run with
// -test.run=^TestKillHelperProcess$, be trailcover with its clock fixed
// at that time: the runs of an analysis that tests kill and run again
// must write the same bytes as the runs they are compared with.
const killClockEnv = "TRAILCOVER_TEST_KILL_CLOCK"

// TestKillHelperProcess is not a test: it is the trailcover command for
// the tests below, the arguments after "--" its command line.
func TestKillHelperProcess(t *testing.T) {
	at := os.Getenv(killClockEnv)
	if at == "" {
		return
	}
	now, err := time.Parse(time.RFC3339, at)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitUsage)
	}
	err = run(context.Background(), flag.Args(), os.Stdout, os.Stderr, func() time.Time { return now })
	os.Exit(exitCode(err, false, os.Stderr))
}

// killArchive simulates a day of one account in two regions with every
// scenario: about 300 objects, enough for a run long enough to be killed
// in its middle, few enough for many runs.
func killArchive(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "archive")
	cfg := simulate.Config{
		Seed:           5,
		AccountCount:   1,
		Regions:        []string{"us-east-1", "eu-west-1"},
		EnabledRegions: []string{"us-east-1", "eu-west-1"},
		Days:           1,
		EventsPerHour:  30,
		Scenarios:      []simulate.Scenario{{Name: simulate.ScenarioAll}},
	}
	if _, err := simulate.Generate(t.Context(), cfg, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// s3Env is the environment that points a subprocess's S3 client at srv.
func s3Env(srv *s3test.Server) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "AWS_REGION=" + srv.Region,
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_CLOUDTRAIL=" + noCloudTrail}
}

// killable is a trailcover process that a test may kill.
type killable struct {
	args           []string
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error // from Wait, once done is closed
}

// startTrailcover starts trailcover with args in the folder dir, with
// its clock at at.
func startTrailcover(t *testing.T, dir string, env []string, at time.Time, args ...string) *killable {
	t.Helper()
	p := &killable{args: args, done: make(chan struct{})}
	p.cmd = exec.CommandContext(t.Context(), os.Args[0], append([]string{"-test.run=^TestKillHelperProcess$", "--"}, args...)...)
	p.cmd.Dir = dir
	// Built with -race, a process that exits 0 first sleeps a second
	// for other goroutines' race reports, unless told not to.
	p.cmd.Env = append(os.Environ(), killClockEnv+"="+at.Format(time.RFC3339), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// killWhen sends SIGKILL as soon as cond holds, and reports whether the
// kill ended the process; false means it ended first, by itself.
func (p *killable) killWhen(cond func() bool) bool {
	for {
		select {
		case <-p.done:
			return false
		default:
		}
		if cond() {
			p.cmd.Process.Kill()
			<-p.done
			var exit *exec.ExitError
			if errors.As(p.err, &exit) {
				ws, ok := exit.Sys().(syscall.WaitStatus)
				return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
			}
			return false
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// exitCode waits for the end and returns the exit status.
func (p *killable) exitCode(t *testing.T) int {
	t.Helper()
	<-p.done
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	}
	t.Fatalf("trailcover %q: %v\n%s", p.args, p.err, p.stderr.String())
	return -1
}

// killPoint says when a run is killed: cond is made as the run starts.
type killPoint struct {
	name string
	cond func() func() bool
}

// afterRequests kills once the proxy has received frac of total requests
// since the run started: a point in the run chosen by its progress, not
// by the clock.
func afterRequests(proxy *s3test.FaultProxy, total int64, frac float64) killPoint {
	return killPoint{fmt.Sprintf("after %.0f%% of requests", frac*100), func() func() bool {
		want := proxy.Requests.Load() + int64(frac*float64(total))
		return func() bool { return proxy.Requests.Load() >= want }
	}}
}

// whenExists kills once one of the names (globs) exists.
func whenExists(what string, globs ...string) killPoint {
	return killPoint{what, func() func() bool {
		return func() bool {
			for _, g := range globs {
				if m, _ := filepath.Glob(g); len(m) > 0 {
					return true
				}
			}
			return false
		}
	}}
}

// whenChanged kills once name is created, replaced or written to: its
// file, size or modification time is not what it was as the run started.
func whenChanged(what, name string) killPoint {
	return killPoint{what, func() func() bool {
		before, _ := os.Stat(name)
		return func() bool {
			now, err := os.Stat(name)
			if err != nil {
				return before != nil
			}
			return before == nil || !os.SameFile(before, now) || before.Size() != now.Size() || !before.ModTime().Equal(now.ModTime())
		}
	}}
}

// treeHashes maps every file below dir (slash path) to the SHA-256 of
// its bytes.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return tree
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(data)
		tree[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// temporaries lists what below dir looks like a file or folder being
// written: the names trailcover's writers give them.
func temporaries(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if strings.Contains(name, ".tmp") || strings.Contains(name, "journal") || rel == ingest.StateDir+"/tmp" {
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestKillAcquire kills `trailcover acquire` with SIGKILL at points
// spread over its run (chosen by the requests the S3 server has seen,
// and by the manifest appearing), sometimes twice in a row, then runs it
// to the end: the copy it completes is the uninterrupted run's, byte for
// byte (manifest, objects, sidecars), with nothing temporary left, and
// analyzes the same.
func TestKillAcquire(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and kills many subprocesses")
	}
	// Most of a run is spent waiting for the server and the disk: the
	// two kill tests share the machine well.
	t.Parallel()
	archive := killArchive(t)
	srv := s3test.StartVersity(t)
	bucket := simulate.DefaultBucket
	srv.CreateBucket(t, bucket)
	srv.EnableVersioning(t, bucket)
	client := srv.Client(t)
	if err := s3test.UploadDir(t.Context(), client, bucket, archive); err != nil {
		t.Fatal(err)
	}
	// A noncurrent version and a delete marker, for --versions to copy.
	var logs []string
	for rel := range treeHashes(t, archive) {
		if ingest.ParseKey(rel).Kind == ingest.KindLog {
			logs = append(logs, rel)
		}
	}
	slices.Sort(logs)
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(logs[0]), Body: strings.NewReader("overwritten")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(logs[1])}); err != nil {
		t.Fatal(err)
	}
	// A little latency spreads the run over enough time to kill it
	// anywhere.
	proxy := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{Latency: 2 * time.Millisecond})
	env := s3Env(srv)
	acquire := func(t *testing.T, dir string) *killable {
		return startTrailcover(t, "", env, time.Now().UTC(), "acquire", "--versions", "--workers", "2", "--endpoint-url", proxy.Endpoint, "s3://"+bucket, dir)
	}
	keys := filepath.Join(archive, ingest.StateDir, "public-keys.json")

	ref := filepath.Join(t.TempDir(), "ref")
	began, before := time.Now(), proxy.Requests.Load()
	p := acquire(t, ref)
	if code := p.exitCode(t); code != 0 {
		t.Fatalf("acquire exit %d\n%s", code, p.stderr.String())
	}
	requests := proxy.Requests.Load() - before
	refHash, _, _ := strings.Cut(p.stdout.String(), " ")
	refManifest := readFile(t, filepath.Join(ref, ingest.ManifestFile))
	refTree := treeHashes(t, ref)
	if tmp := temporaries(t, ref); len(tmp) > 0 {
		t.Fatalf("an uninterrupted acquire left %q", tmp)
	}
	checkManifest(t, ref, refManifest)
	refSummary := analyzeCopy(t, keys, ref)
	t.Logf("uninterrupted acquire: %d files, %d requests, %v", len(refTree), requests, time.Since(began).Round(time.Millisecond))

	at := func(frac float64) killPoint { return afterRequests(proxy, requests, frac) }
	final := func(dir string) killPoint {
		return whenExists("when the manifest is written", filepath.Join(dir, ingest.ManifestFile+"*"))
	}
	for _, sc := range []struct {
		name  string
		kills func(dir string) []killPoint
		// tear cuts the journal's last line in two after the first
		// kill, as a crash in the middle of a write would.
		tear bool
	}{
		{"at once", func(string) []killPoint { return []killPoint{at(0)} }, false},
		{"quarter", func(string) []killPoint { return []killPoint{at(0.25)} }, false},
		{"half", func(string) []killPoint { return []killPoint{at(0.5)} }, false},
		{"late", func(string) []killPoint { return []killPoint{at(0.8)} }, false},
		{"last requests", func(string) []killPoint { return []killPoint{at(1)} }, false},
		{"manifest", func(dir string) []killPoint { return []killPoint{final(dir)} }, false},
		{"twice", func(string) []killPoint { return []killPoint{at(0.3), at(0.4)} }, false},
		{"twice late", func(dir string) []killPoint { return []killPoint{at(0.7), final(dir)} }, false},
		{"torn journal", func(string) []killPoint { return []killPoint{at(0.4), at(0.3)} }, true},
	} {
		t.Run(sc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			for i, kp := range sc.kills(dir) {
				p := acquire(t, dir)
				killed := p.killWhen(kp.cond())
				if !killed {
					if code := p.exitCode(t); code != 0 {
						t.Fatalf("run %d ended with exit %d before it was killed\n%s", i+1, code, p.stderr.String())
					}
				}
				t.Logf("run %d %s: killed %v, %d files in the copy", i+1, kp.name, killed, len(treeHashes(t, dir)))
				if i == 0 && sc.tear {
					tearJournal(t, dir)
				}
			}
			p := acquire(t, dir)
			if code := p.exitCode(t); code != 0 {
				t.Fatalf("acquire after the kills: exit %d\n%s", code, p.stderr.String())
			}
			if hash, _, _ := strings.Cut(p.stdout.String(), " "); hash != refHash {
				t.Errorf("manifest hash %q, uninterrupted %q", hash, refHash)
			}
			manifest := readFile(t, filepath.Join(dir, ingest.ManifestFile))
			if !bytes.Equal(manifest, refManifest) {
				t.Errorf("manifest differs from the uninterrupted run's:\n%s", firstDiff(string(refManifest), string(manifest)))
			}
			checkManifest(t, dir, manifest)
			if tmp := temporaries(t, dir); len(tmp) > 0 {
				t.Errorf("left behind: %q", tmp)
			}
			tree := treeHashes(t, dir)
			for name, sum := range tree {
				if want, ok := refTree[name]; !ok || want != sum {
					t.Errorf("%s: not in the uninterrupted copy, or other bytes", name)
				}
			}
			for name := range refTree {
				if _, ok := tree[name]; !ok {
					t.Errorf("%s: missing", name)
				}
			}
			if a, b := canonical(t, refSummary), canonical(t, analyzeCopy(t, keys, dir)); a != b {
				t.Errorf("summary.json of the copy differs from the uninterrupted copy's:\n%s", firstDiff(a, b))
			}
		})
	}
}

// tearJournal cuts the acquire journal of dir in the middle of its last
// line, if it has one. The name repeats ingest's unexported journalFile.
func tearJournal(t *testing.T, dir string) {
	t.Helper()
	name := filepath.Join(dir, ingest.StateDir, "manifest.journal.jsonl")
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) || len(data) < 2 {
		t.Logf("no journal to tear")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	last := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	cut := last + (len(data)-last)/2
	if err := os.Truncate(name, int64(cut)); err != nil {
		t.Fatal(err)
	}
	t.Logf("journal torn at %d of %d bytes", cut, len(data))
}

// checkManifest checks that every object of the manifest was copied and
// its bytes hash as the manifest says.
func checkManifest(t *testing.T, dir string, manifest []byte) {
	t.Helper()
	entries, err := ingest.ReadManifest(bytes.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("empty manifest")
	}
	for _, e := range entries {
		if e.Error != "" {
			t.Errorf("%s: %s", e.Key, e.Error)
		}
		if e.DeleteMarker {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil {
			t.Errorf("%s: %v", e.Key, err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != e.SHA256 || int64(len(data)) != e.Size {
			t.Errorf("%s: %d bytes with SHA-256 %x, manifest says %d and %s", e.Path, len(data), sum, e.Size, e.SHA256)
		}
	}
}

// analyzeCopy analyzes a bucket copy and returns its summary.json
// without where and when it was made.
func analyzeCopy(t *testing.T, keys, dir string) map[string]any {
	t.Helper()
	out := t.TempDir()
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"analyze", "--out", out, "--public-keys", keys, "--workers", "2", dir}, io.Discard, &stderr, func() time.Time { return fixedNow })
	var fe *findingsError
	if err != nil && !errors.As(err, &fe) {
		t.Fatalf("analyze %s: %v\n%s", dir, err, stderr.String())
	}
	s := summaryOf(t, out)
	delete(s, "source")
	dropRemediations(t, s)
	return s
}

// The outputs of analyze, as the kill test compares them.
var killOutputs = []string{summaryFile, findingsFile, coverageFile, htmlFile, eventsDir}

// outputState is what a run left in --out: for each output, the SHA-256
// of its bytes (for events/, of its rows, which workers may write in
// another order), "" when absent; and what else is there.
type outputState struct {
	outputs map[string]string
	others  []string
	// setAside is the hash of the events folder a run moved aside to
	// swap its own in, "" when there is none.
	setAside string
}

func readOutputs(t *testing.T, out string) outputState {
	t.Helper()
	st := outputState{outputs: map[string]string{}}
	entries, err := os.ReadDir(out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(killOutputs, e.Name()) {
			st.others = append(st.others, e.Name())
		}
		if strings.HasPrefix(e.Name(), eventsTmpPrefix+"old-") {
			st.setAside, _ = eventsHash(filepath.Join(out, e.Name()))
		}
	}
	for _, name := range killOutputs {
		p := filepath.Join(out, name)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			st.outputs[name] = ""
			continue
		}
		if name == eventsDir {
			sum, err := eventsHash(p)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			st.outputs[name] = sum
			continue
		}
		sum := sha256.Sum256(readFile(t, p))
		st.outputs[name] = hex.EncodeToString(sum[:])
	}
	return st
}

// eventsHash hashes the sorted rows (object key and event ID) of every
// Parquet file below dir; a file that is not whole Parquet is an error.
func eventsHash(dir string) (string, error) {
	var rows []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		pf, err := parquet.OpenFile(f, info.Size())
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		r := parquet.NewGenericReader[report.EventRow](pf)
		defer r.Close()
		buf := make([]report.EventRow, 256)
		for {
			n, err := r.Read(buf)
			for _, row := range buf[:n] {
				id := ""
				if row.EventID != nil {
					id = *row.EventID
				}
				rows = append(rows, row.ObjectKey+"\x00"+id)
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
	})
	if err != nil {
		return "", err
	}
	slices.Sort(rows)
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintln(h, r)
	}
	return fmt.Sprintf("%d rows %x", len(rows), h.Sum(nil)), nil
}

// analysisState is a --state analysis at rest: --out and the state file.
type analysisState struct {
	out   outputState
	state []byte // nil when there is none
}

// TestKillStateRuns kills the runs of an incremental analysis (analyze
// --state, the archive growing between two runs) with SIGKILL at points
// spread over each run: while objects are read, as the outputs are
// swapped in, while the state is written, after it was. Whenever it is
// killed, the state file is the previous run's or this run's, whole;
// each output in --out is the previous run's or this run's, whole; and
// the run done again to the end (when the kill came before the state was
// saved) leaves the state and outputs of the uninterrupted runs, byte for
// byte, with nothing temporary beside them.
func TestKillStateRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and kills many subprocesses")
	}
	t.Parallel()
	full := killArchive(t)
	noon := simulate.DefaultStart().Add(12 * time.Hour)
	srv := s3test.StartVersity(t)
	bucket := simulate.DefaultBucket
	srv.CreateBucket(t, bucket)
	client := srv.Client(t)
	// The bucket holds the first half of the day, one log file held
	// back; the rest arrives between the runs.
	var archiveKeys []string
	for rel := range treeHashes(t, full) {
		archiveKeys = append(archiveKeys, rel)
	}
	late := pickKey(t, archiveKeys, ingest.KindLog, noon.Add(-6*time.Hour))
	first := filepath.Join(t.TempDir(), "first")
	copyTree(t, full, first, deliveredBy(noon, late))
	if err := s3test.UploadDir(t.Context(), client, bucket, first); err != nil {
		t.Fatal(err)
	}
	rest := filepath.Join(t.TempDir(), "rest")
	copyTree(t, full, rest, func(rel string) bool {
		return strings.HasPrefix(rel, ingest.StateDir+"/") || !deliveredBy(noon, late)(rel)
	})

	proxy := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{Latency: 2 * time.Millisecond})
	env := s3Env(srv)
	keys := filepath.Join(full, ingest.StateDir, "public-keys.json")
	// Every run is in its own folder with the same relative paths, so
	// that the command line the reports record is the same.
	const stateName = "state/trailcover.state"
	analyze := func(t *testing.T, dir string, at time.Time) *killable {
		return startTrailcover(t, dir, env, at, "analyze", "--out", "out", "--state", stateName, "--workers", "2",
			"--public-keys", keys, "--no-fetch-keys", "--allow-regions", "us-east-1,eu-west-1", "--endpoint-url", proxy.Endpoint, "s3://"+bucket)
	}
	newRunDir := func(t *testing.T, from string) string {
		dir := filepath.Join(t.TempDir(), "run")
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(stateName)), 0o755); err != nil {
			t.Fatal(err)
		}
		if from != "" {
			copyTree(t, from, dir, everything)
		}
		return dir
	}
	atRest := func(t *testing.T, dir string) analysisState {
		st := analysisState{out: readOutputs(t, filepath.Join(dir, "out"))}
		data, err := os.ReadFile(filepath.Join(dir, stateName))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		st.state = data
		return st
	}

	// reference is an uninterrupted run: the folder it started from ("":
	// none), the folder it left, what was there before and after, how it
	// ended, and how many requests it made.
	type reference struct {
		from, saved   string
		at            time.Time
		before, after analysisState
		exit          int
		requests      int64
	}
	runRef := func(from string, at time.Time) reference {
		dir := newRunDir(t, from)
		ref := reference{from: from, at: at, before: atRest(t, dir)}
		began, before := time.Now(), proxy.Requests.Load()
		p := analyze(t, dir, at)
		ref.exit = p.exitCode(t)
		if ref.exit != exitOK && ref.exit != exitFindings {
			t.Fatalf("analyze: exit %d\n%s", ref.exit, p.stderr.String())
		}
		ref.requests = proxy.Requests.Load() - before
		ref.after = atRest(t, dir)
		if len(ref.after.out.others) > 0 {
			t.Fatalf("an uninterrupted run left %q in --out", ref.after.out.others)
		}
		ref.saved = dir
		t.Logf("uninterrupted run at %s: %d requests, %v, state %d bytes", at.Format(time.DateOnly), ref.requests, time.Since(began).Round(time.Millisecond), len(ref.after.state))
		return ref
	}

	// scenario says how a run is killed, once or more: kills are the
	// points, made for the run's folder dir. swapCutShort first leaves
	// --out as a run killed between moving the old events folder aside
	// and moving its own in leaves it.
	type scenario struct {
		kills        func(dir string) []killPoint
		swapCutShort bool
	}
	scenarios := func(ref reference) map[string]scenario {
		at := func(frac float64) func(string) []killPoint {
			return func(string) []killPoint { return []killPoint{afterRequests(proxy, ref.requests, frac)} }
		}
		writing := func(dir string) killPoint {
			state := filepath.Join(dir, stateName)
			return whenExists("while the state is written", filepath.Join(filepath.Dir(state), stateTempPrefix(state)+"*"))
		}
		changed := func(what, name string) func(string) []killPoint {
			return func(dir string) []killPoint { return []killPoint{whenChanged(what, filepath.Join(dir, name))} }
		}
		return map[string]scenario{
			"at once":        {kills: at(0)},
			"reading":        {kills: at(0.3)},
			"reading late":   {kills: at(0.8)},
			"last requests":  {kills: at(1)},
			"events swapped": {kills: changed("when events/ changes", filepath.Join("out", eventsDir))},
			"findings":       {kills: changed("when findings.parquet changes", filepath.Join("out", findingsFile))},
			"state saved":    {kills: changed("when the state file changes", stateName)},
			"swap cut short": {kills: at(0.3), swapCutShort: true},
			"state written":  {kills: func(dir string) []killPoint { return []killPoint{writing(dir)} }},
			"twice": {kills: func(dir string) []killPoint {
				return []killPoint{afterRequests(proxy, ref.requests, 0.5), writing(dir)}
			}},
			"summary written": {kills: func(dir string) []killPoint {
				return []killPoint{whenExists("while summary.json is written", filepath.Join(dir, "out", "."+summaryFile+".tmp-*"))}
			}},
		}
	}

	// kill runs the kills of sc in a new folder, checking what each
	// leaves, and returns the folder and whether every run was killed
	// (false: one ended before its point came).
	kill := func(t *testing.T, ref reference, sc scenario) (dir string, landed bool) {
		dir = newRunDir(t, ref.from)
		if sc.swapCutShort {
			out := filepath.Join(dir, "out")
			if err := os.Rename(filepath.Join(out, eventsDir), filepath.Join(out, eventsTmpPrefix+"old-killed")); err != nil {
				t.Fatal(err)
			}
		}
		landed = true
		for i, kp := range sc.kills(dir) {
			p := analyze(t, dir, ref.at)
			killed := p.killWhen(kp.cond())
			if !killed {
				landed = false
				if code := p.exitCode(t); code != ref.exit {
					t.Fatalf("run %d ended with exit %d (uninterrupted: %d) before it was killed\n%s", i+1, code, ref.exit, p.stderr.String())
				}
			}
			got := atRest(t, dir)
			committed := bytes.Equal(got.state, ref.after.state)
			t.Logf("run %d %s: killed %v, state saved %v, --out also holds %q", i+1, kp.name, killed, committed, got.out.others)
			if !committed && !bytes.Equal(got.state, ref.before.state) {
				t.Fatalf("after the kill, the state (%d bytes) is neither the previous one (%d bytes) nor the new one (%d bytes)",
					len(got.state), len(ref.before.state), len(ref.after.state))
			}
			for _, name := range killOutputs {
				g, old, new := got.out.outputs[name], ref.before.out.outputs[name], ref.after.out.outputs[name]
				switch {
				case committed && g != new:
					t.Errorf("the state was saved, but %s is not this run's", name)
				case name == eventsDir && g == "" && old != "" && got.out.setAside == old:
					// Killed between moving the old folder aside and
					// moving the new one in: the next run puts the
					// old one back.
				case g != old && g != new:
					t.Errorf("after the kill, %s is neither the previous run's nor this run's: %q", name, g)
				}
			}
			if committed {
				break
			}
		}
		return dir, landed
	}

	check := func(t *testing.T, ref reference, sc scenario) {
		// Some points last a few milliseconds; a run that passes one
		// unkilled is tried again, a few times.
		dir, landed := kill(t, ref, sc)
		for attempt := 2; !landed && attempt <= 3; attempt++ {
			dir, landed = kill(t, ref, sc)
		}
		state := filepath.Join(dir, stateName)
		if !bytes.Equal(atRest(t, dir).state, ref.after.state) {
			p := analyze(t, dir, ref.at)
			if code := p.exitCode(t); code != ref.exit {
				t.Fatalf("the run after the kills: exit %d, want %d\n%s", code, ref.exit, p.stderr.String())
			}
		}
		got := atRest(t, dir)
		if !bytes.Equal(got.state, ref.after.state) {
			t.Errorf("state after the kills: %d bytes, not the uninterrupted run's %d", len(got.state), len(ref.after.state))
		}
		for _, name := range killOutputs {
			if g, want := got.out.outputs[name], ref.after.out.outputs[name]; g != want {
				t.Errorf("%s after the kills: %q, want the uninterrupted run's %q", name, g, want)
			}
		}
		if len(got.out.others) > 0 {
			t.Errorf("left in --out: %q", got.out.others)
		}
		entries, _ := os.ReadDir(filepath.Dir(state))
		for _, e := range entries {
			if n := e.Name(); n != filepath.Base(state) && n != filepath.Base(state)+".lock" {
				t.Errorf("left beside the state: %s", n)
			}
		}
	}

	ref := runRef("", firstRun)
	for _, step := range []string{"first run", "second run"} {
		if step == "second run" {
			if err := s3test.UploadDir(t.Context(), client, bucket, rest); err != nil {
				t.Fatal(err)
			}
			ref = runRef(ref.saved, secondRun)
		}
		t.Run(step, func(t *testing.T) {
			all := scenarios(ref)
			names := slices.Sorted(maps.Keys(all))
			if step == "first run" {
				// Before the first run, --out holds no previous
				// outputs to keep: fewer points tell as much.
				names = []string{"at once", "reading", "summary written", "state written", "state saved", "twice"}
			}
			for _, name := range names {
				t.Run(name, func(t *testing.T) { check(t, ref, all[name]) })
			}
		})
	}
}
