package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Window is the half-open time range [Start, End). A zero Start or End
// leaves that side open.
type Window struct {
	Start, End time.Time
}

// Contains reports whether t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	return (w.Start.IsZero() || !t.Before(w.Start)) && (w.End.IsZero() || t.Before(w.End))
}

// folderMargin widens the window when choosing date folders: file-name
// time is neither delivery time nor event time, late events arrive in
// later folders, and the digest covering a day's last hour lands in the
// next day's folder.
const folderMargin = 24 * time.Hour

// dayOverlaps reports whether [from, to) overlaps the window widened by
// folderMargin.
func (w Window) dayOverlaps(from, to time.Time) bool {
	if !w.Start.IsZero() && !to.After(w.Start.Add(-folderMargin)) {
		return false
	}
	if !w.End.IsZero() && !from.Before(w.End.Add(folderMargin)) {
		return false
	}
	return true
}

// ScanOptions configures Scan.
type ScanOptions struct {
	// Prefix is where the search for AWSLogs/ folders starts: the trail's
	// S3 key prefix, or "" for the whole bucket.
	Prefix string
	// Window limits the date folders listed (widened by a day each side).
	Window Window
	// Accounts, if not empty, limits the scan to these account IDs.
	Accounts []string
	// Workers is the number of objects fetched and decoded at once
	// (default: 4 per CPU, as fetching waits on the network).
	Workers int
	// Listers is the number of region folders listed at once (default 4;
	// 2 with ScopeDone, since a consumer that keeps a region's state until
	// it is done holds as many regions as are listed at once).
	Listers int
	// Kinds, if not empty, limits the listing of date folders to these
	// kinds' folders (CloudTrail-Digest/ for KindDigest, and so on).
	// Objects met during discovery are delivered whatever their kind. A
	// consumer that must know a region's digests before it judges its log
	// files sets ScopeDone (or scans twice: digests, then the rest).
	Kinds []Kind
	// Versions lists every object version and delete marker (see
	// ListOptions.Versions); used by acquire.
	Versions bool
	// Noncurrent lists as Versions does but delivers only what a plain
	// listing does not show: noncurrent versions and delete markers (see
	// Object.Current). A consumer that has read the current objects scans
	// again with it for their history. A delete marker is delivered with
	// nothing read; a version is read with VersionOpener.
	Noncurrent bool
	// Skip, if not nil, is asked about each listed object before it is
	// opened, from the worker goroutines: it must be safe for concurrent
	// use. An object it skips is never opened; it is delivered as a Result
	// with Skipped set and nothing read, so that the consumer still sees
	// every listed object. Incremental runs skip what an earlier run read.
	Skip func(Object) bool
	// Recheck, if not nil, recalls the content hash (Body.SHA256) an
	// earlier run read for an object Skip would skip. An object listed
	// without an ETag (a directory copy) is then hashed again, not
	// parsed, and skipped only if the hash is the same: an edit can keep
	// size and modification time. Called from the workers, as Skip is.
	Recheck func(Object) ([32]byte, bool)
	// ScopeDone, if not nil, makes the scan go one account and region at
	// a time as far as the consumer can tell: all of a region's digests
	// are delivered before any of its log or Insights files are listed,
	// and ScopeDone is called, on the calling goroutine like fn, once
	// every object listed in the region's folders has been delivered
	// (Kind is unset in the Scope it gets). A consumer that judges log
	// files against digests needs only one scan, and can let a region's
	// state go when it is done: memory in proportion to the largest
	// region, not to the archive. Regions are still listed and read
	// several at once (Listers). An error from ScopeDone stops the scan
	// as one from fn does.
	ScopeDone func(Scope) error
	Decode    DecodeOptions
	// Progress, if not nil, is updated as the scan goes.
	Progress *Progress
}

// Progress counts a running scan's work; read it from any goroutine.
type Progress struct {
	Listed  atomic.Int64 // objects listed
	Done    atomic.Int64 // objects read (or skipped as not CloudTrail's)
	Bytes   atomic.Int64 // bytes read as stored
	Records atomic.Int64
	// Listing is the number of scans still listing: until it is 0,
	// Listed is what has been listed so far, not the total.
	Listing atomic.Int64
}

// Result is what the scan learned about one listed object.
type Result struct {
	Object   Object
	Location Location
	Metadata Metadata
	Body     Body
	// Records holds a log or Insights file's records in file order.
	Records []Record
	// Digest is the parsed digest of a KindDigest object.
	Digest *Digest
	// Err is why the object could not be read or parsed; the object is
	// unreadable, the scan goes on. For logs, Records may still hold the
	// records that could be read.
	Err error
	// ReadFailed tells that Err is a failure to get the object's bytes
	// (the request refused or failed, the transfer cut short), not a
	// judgement on bytes read: nothing is known of its content.
	ReadFailed bool
	// Overflow tells that the object held more records than
	// DecodeOptions.MaxHeldRecords: Records holds none of them (Body is
	// complete), and StreamRecords reads them in batches.
	Overflow bool
	// Skipped tells that ScanOptions.Skip skipped the object: it was
	// listed, not opened, and only Object and Location are set.
	Skipped bool
}

// Scope is one region folder found by the scan:
// <prefix>AWSLogs/[<org>/]<account>/<folder>/<region>/.
type Scope struct {
	Prefix  string
	OrgID   string
	Account string
	Kind    Kind
	Region  string
}

// Inventory is what the scan found besides objects: every region folder,
// whether or not it held objects in the window.
type Inventory struct {
	Scopes []Scope
}

// Scan finds every CloudTrail folder below opts.Prefix, lists the date
// folders that overlap the window, and fetches and decodes each object
// with opts.Workers goroutines.
//
// fn is called from the calling goroutine only, once per listed object, in
// no promised order; results are never delivered concurrently. The scan
// stops when everything listed has been delivered, when fn returns an
// error, when ctx is done, or when the source fails to list. In every case
// Scan returns only after all its goroutines have exited. A corrupt or
// unreadable object is not a failure of the scan: it arrives as a Result
// with Err set.
//
// Within one account and region, date folders are listed oldest first.
func Scan(ctx context.Context, src Source, opts ScanOptions, fn func(*Result) error) (*Inventory, error) {
	if opts.Progress == nil {
		opts.Progress = new(Progress)
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	health := &sourceHealth{limit: max(failingAfter, 2*opts.Workers)}
	inv, err := Walk(ctx, src, opts, func(ctx context.Context, obj Object) (*Result, bool) {
		if opts.Skip != nil && opts.Skip(obj) && unchangedContent(ctx, src, opts, obj) {
			return &Result{Object: obj, Location: ParseKey(obj.Key), Skipped: true}, true
		}
		r := fetch(ctx, src, opts, obj)
		if r == nil {
			return nil, false
		}
		if failing := health.observe(r); failing != nil {
			stop(failing)
			return nil, false
		}
		opts.Progress.Bytes.Add(r.Body.Compressed)
		opts.Progress.Records.Add(int64(len(r.Records)))
		return r, true
	}, fn)
	if cause := context.Cause(ctx); errors.Is(cause, ErrSourceFailing) {
		return nil, cause
	}
	return inv, err
}

// unchangedContent confirms that an object Skip would skip is unchanged.
// An ETag identifies content; without one (a directory copy), size and
// modification time prove nothing, since an edit can keep both, so the
// object is hashed again (decompressed, not parsed) and compared with
// the hash opts.Recheck recalls.
func unchangedContent(ctx context.Context, src Source, opts ScanOptions, obj Object) bool {
	if obj.ETag != "" || opts.Recheck == nil {
		return true
	}
	want, ok := opts.Recheck(obj)
	if !ok {
		return true
	}
	hashOnly := opts
	hashOnly.Decode.HashOnly = true
	r := fetch(ctx, src, hashOnly, obj)
	return r != nil && r.Err == nil && r.Body.SHA256 == want
}

// ErrSourceFailing is the error of a scan stopped because the source
// could not be reached for many objects in a row: a server gone, the
// network down. One object that cannot be read is part of the results;
// a source that serves none is a failure of the run.
var ErrSourceFailing = errors.New("the source is failing")

// failingAfter is how many objects in a row must fail to be fetched for
// a transport reason, none succeeding between, before the scan stops
// (at least twice the workers, so that one stalled batch does not).
const failingAfter = 16

// sourceHealth counts the objects in a row whose bytes could not be
// fetched for a transport reason. It is shared by the workers.
type sourceHealth struct {
	limit int
	mu    sync.Mutex
	run   int
	last  error
}

// observe records r and returns the error to stop the scan with, once
// too many objects in a row failed.
func (h *sourceHealth) observe(r *Result) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !r.ReadFailed || !isTransportFailure(r.Err) {
		// Only an object fetched (or refused by the source itself) shows
		// the source answering; other objects are never opened.
		if r.Location.Kind != KindOther && !r.Skipped {
			h.run = 0
		}
		return nil
	}
	h.run++
	h.last = r.Err
	if h.run < h.limit {
		return nil
	}
	return fmt.Errorf("%w: %d objects in a row could not be fetched, the last: %w", ErrSourceFailing, h.run, h.last)
}

// isTransportFailure reports an error of reaching the source rather than
// of the object: a connection refused or reset, a timeout, a server
// error that outlasted the retries. Access denied and not found are the
// object's own answers.
func isTransportFailure(err error) bool {
	if err == nil || errors.Is(err, ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return false
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() != 0 {
		// An answer (status 0: none came, the request failed to send or
		// timed out waiting, which the checks below tell).
		return status.HTTPStatusCode() >= 500
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// Walk lists as Scan does and runs process on each listed object in
// opts.Workers goroutines, handing each outcome to fn on the calling
// goroutine, with Scan's guarantees: fn is never called concurrently, and
// Walk returns only once every goroutine it started has exited. process
// returns false only when ctx is done; every other failure is part of its
// outcome.
func Walk[T any](ctx context.Context, src Source, opts ScanOptions, process func(context.Context, Object) (T, bool), fn func(T) error) (*Inventory, error) {
	if opts.Workers <= 0 {
		opts.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	if opts.Listers <= 0 {
		opts.Listers = 4
		if opts.ScopeDone != nil {
			opts.Listers = 2
		}
	}
	if opts.Progress == nil {
		opts.Progress = new(Progress)
	}
	if opts.Prefix != "" && !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	opts.Versions = opts.Versions || opts.Noncurrent
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := make(chan job, opts.Workers*16)
	results := make(chan outcome[T], opts.Workers*2)
	l := &lister{src: src, opts: opts, jobs: jobs}

	var g errgroup.Group
	opts.Progress.Listing.Add(1)
	g.Go(func() error {
		defer close(jobs)
		defer opts.Progress.Listing.Add(-1)
		return l.run(ctx)
	})
	var workers sync.WaitGroup
	for range opts.Workers {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			return work(ctx, opts.Progress, process, jobs, results)
		})
	}
	g.Go(func() error {
		workers.Wait()
		close(results)
		return nil
	})

	// The consumer drains results to the end even after an error, so
	// that every goroutine above can finish its send and exit.
	var consumerErr error
	for r := range results {
		if consumerErr != nil {
			continue
		}
		var err error
		if !r.end {
			err = fn(r.val)
		}
		if err == nil && r.unit != nil {
			if done := r.unit.delivered(r.kind, r.end); done {
				err = opts.ScopeDone(r.unit.scope)
			}
		}
		if err != nil {
			consumerErr = err
			cancel()
		}
	}
	runErr := g.Wait()
	if consumerErr != nil {
		return nil, consumerErr
	}
	if runErr != nil {
		return nil, runErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return l.inventory(), nil
}

// job is one listed object for the workers, or the end of a region's
// listing (end), passed through to the consumer.
type job struct {
	obj  Object
	unit *unitTrack // nil unless ScopeDone is set and obj is in a region folder
	kind Kind       // the kind of folder obj was listed in
	end  bool
}

// outcome is a job done.
type outcome[T any] struct {
	val  T
	unit *unitTrack
	kind Kind
	end  bool
}

// unitTrack follows one account and region through a scan with
// ScopeDone: how many of its objects are listed but not yet delivered,
// and when its digests are all delivered (the lister waits for that
// before it lists the log folders).
type unitTrack struct {
	scope Scope

	mu            sync.Mutex
	pending       int  // objects listed, not yet delivered
	digests       int  // of them, from the digest folder
	digestsListed bool // the digest folder is listed
	ended         bool // every folder is listed
	reported      bool
	digestsDone   chan struct{}
}

func newUnitTrack(scope Scope) *unitTrack {
	return &unitTrack{scope: scope, digestsDone: make(chan struct{})}
}

// listed counts an object handed to the workers.
func (u *unitTrack) listed(kind Kind) {
	u.mu.Lock()
	u.pending++
	if kind == KindDigest {
		u.digests++
	}
	u.mu.Unlock()
}

// digestFolderListed marks the digest folder listed; digestsDone closes
// once every digest listed is delivered.
func (u *unitTrack) digestFolderListed() {
	u.mu.Lock()
	u.digestsListed = true
	if u.digests == 0 {
		close(u.digestsDone)
	}
	u.mu.Unlock()
}

// delivered counts one object delivered to the consumer (or, with end,
// the end of the listing) and reports whether the unit is now done.
func (u *unitTrack) delivered(kind Kind, end bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if end {
		u.ended = true
	} else {
		u.pending--
		if kind == KindDigest {
			u.digests--
			if u.digests == 0 && u.digestsListed {
				close(u.digestsDone)
			}
		}
	}
	if u.ended && u.pending == 0 && !u.reported {
		u.reported = true
		return true
	}
	return false
}

// work processes objects until jobs is closed or ctx is done.
func work[T any](ctx context.Context, progress *Progress, process func(context.Context, Object) (T, bool), jobs <-chan job, results chan<- outcome[T]) error {
	for j := range jobs {
		out := outcome[T]{unit: j.unit, kind: j.kind, end: j.end}
		if !j.end {
			r, ok := process(ctx, j.obj)
			if !ok {
				return ctx.Err()
			}
			progress.Done.Add(1)
			out.val = r
		}
		select {
		case results <- out:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// maxFetchAttempts bounds how often an object whose bytes could not be
// read in full is fetched again. The source's own client has already
// retried each request; this covers failures in the middle of a body
// (a reset connection, a truncated response), which no request-level
// retry sees.
const maxFetchAttempts = 4

// maxDrain bounds what is read after a decode error to tell a transport
// failure from bad bytes.
const maxDrain = 64 << 20

// fetchBackoff is the pause before the n-th extra attempt.
func fetchBackoff(n int) time.Duration { return time.Duration(n*n) * 100 * time.Millisecond }

// fetch reads one object. It returns nil only when ctx is done.
func fetch(ctx context.Context, src Source, opts ScanOptions, obj Object) *Result {
	for attempt := 1; ; attempt++ {
		r, transient := fetchOnce(ctx, src, opts, obj)
		if r == nil {
			return nil
		}
		if !transient || attempt == maxFetchAttempts {
			if transient {
				r.Err = fmt.Errorf("%w (the object's bytes could not be read in full in %d attempts)", r.Err, attempt)
				r.ReadFailed = true
			}
			return r
		}
		select {
		case <-time.After(fetchBackoff(attempt)):
		case <-ctx.Done():
			return nil
		}
	}
}

// fetchOnce reads and decodes one object. transient reports a failure to
// read the object's bytes (worth another attempt) rather than a problem
// with the bytes themselves: after a decode error the rest of the body is
// read, and only if that fails too, or ends short of the listed size, was
// the failure the transport's.
func fetchOnce(ctx context.Context, src Source, opts ScanOptions, obj Object) (r *Result, transient bool) {
	r = &Result{Object: obj, Location: ParseKey(obj.Key)}
	if r.Location.Kind == KindOther || obj.DeleteMarker {
		return r, false
	}
	body, meta, err := openObject(ctx, src, obj)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false
		}
		r.Err, r.ReadFailed = err, true
		return r, false
	}
	defer body.Close()
	r.Metadata = meta
	raw := &countingReader{r: body}
	switch r.Location.Kind {
	case KindDigest:
		r.Digest, r.Body, err = DecodeDigest(raw)
	default:
		held := opts.Decode.withDefaults().MaxHeldRecords
		r.Body, err = DecodeLog(raw, opts.Decode, func(rec *Record) error {
			switch {
			case r.Overflow:
			case len(r.Records) < held:
				r.Records = append(r.Records, *rec)
			default:
				// Too many to hold: let them go, finish the hash, and
				// leave the records to StreamRecords.
				clear(r.Records)
				r.Records, r.Overflow = nil, true
			}
			return nil
		})
	}
	if err == nil {
		return r, false
	}
	if ctx.Err() != nil {
		return nil, false
	}
	var de *DecodeError
	if errors.As(err, &de) {
		de.Key = obj.Key
	} else {
		err = fmt.Errorf("read %s: %w", obj.Key, err)
	}
	r.Err = err
	// Were all the bytes there? Read what is left, within reason: a huge
	// object that fails to decode is not fetched again.
	if left := obj.Size - raw.n; left > maxDrain {
		return r, false
	}
	_, derr := io.Copy(io.Discard, io.LimitReader(raw, max(obj.Size-raw.n, 0)+1))
	if derr != nil || (obj.Size > 0 && raw.n < obj.Size) {
		r.Records = nil
		return r, true
	}
	return r, false
}

// StreamRecords reads the records of a log file whose scan Result had
// Overflow set, calling fn with at most batch records at a time, in file
// order; each slice is fn's to keep. It returns the Body of
// this read, which the caller compares with the scan's: an object that
// changed between the two reads is an error.
func StreamRecords(ctx context.Context, src Source, obj Object, opts DecodeOptions, batch int, fn func([]Record) error) (Body, error) {
	body, _, err := openObject(ctx, src, obj)
	if err != nil {
		return Body{}, err
	}
	defer body.Close()
	recs := make([]Record, 0, batch)
	b, err := DecodeLog(body, opts, func(rec *Record) error {
		recs = append(recs, *rec)
		if len(recs) < batch {
			return nil
		}
		err := fn(recs)
		recs = make([]Record, 0, batch)
		return err
	})
	if len(recs) > 0 {
		if ferr := fn(recs); err == nil {
			err = ferr
		}
	}
	return b, err
}

// openObject opens obj: the current object, or the version it is.
func openObject(ctx context.Context, src Source, obj Object) (io.ReadCloser, Metadata, error) {
	if obj.Current() {
		return src.Open(ctx, obj.Key)
	}
	vo, ok := src.(VersionOpener)
	if !ok {
		return nil, nil, fmt.Errorf("open %s version %s: %s does not keep versions", obj.Key, obj.VersionID, src)
	}
	return vo.OpenVersion(ctx, obj.Key, obj.VersionID)
}

// lister walks the bucket: discovery of AWSLogs/ folders, accounts and
// regions with delimiter listings, then the date folders of each region,
// several regions at once.
type lister struct {
	src  Source
	opts ScanOptions
	jobs chan<- job

	mu     sync.Mutex
	scopes []Scope
	// relaid are the CloudTrail objects found by their file names outside
	// the AWSLogs/ folders (ParseKey's Location.Layout), held until
	// discovery ends so that digests go out before log files; units
	// counts the region units discovery found.
	relaid []Object
	units  int
	// awsLogs: discovery found an AWSLogs/ folder (accounts filtered out,
	// or none with CloudTrail folders); then nothing is searched deeper.
	sawAWSLogs bool
}

// maxPrefixDepth bounds how many folder levels below ScanOptions.Prefix
// are searched for AWSLogs/ (Control Tower puts it two levels down).
const maxPrefixDepth = 4

// unit is the folders of one account and region.
type unit struct {
	base    string // <prefix>AWSLogs/[<org>/]<account>/
	regions map[Kind]string
	region  string
}

func (l *lister) run(ctx context.Context) error {
	units := make(chan *unit)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(units)
		return l.discover(gctx, units)
	})
	for range l.opts.Listers {
		g.Go(func() error {
			for u := range units {
				if err := l.listUnit(gctx, u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// emit hands obj, listed in a folder of kind kind, to the workers; u is
// its region's tracker, or nil.
func (l *lister) emit(ctx context.Context, obj Object, u *unitTrack, kind Kind) error {
	if l.opts.Noncurrent && obj.Current() {
		return nil
	}
	l.opts.Progress.Listed.Add(1)
	if u != nil {
		u.listed(kind)
	}
	return l.send(ctx, job{obj: obj, unit: u, kind: kind})
}

func (l *lister) send(ctx context.Context, j job) error {
	select {
	case l.jobs <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// folders lists one level below prefix, sending the objects found there
// to the workers and returning the sub-folders. Objects above the
// CloudTrail folders (discovery) are delivered only by a scan that wants
// KindOther, so that a two-phase scan delivers each object once.
func (l *lister) folders(ctx context.Context, prefix string, discovery bool, u *unitTrack, kind Kind) ([]string, error) {
	var dirs []string
	deliver := !discovery || len(l.opts.Kinds) == 0 || slices.Contains(l.opts.Kinds, KindOther)
	err := l.src.List(ctx, ListOptions{Prefix: prefix, Delimiter: "/", Versions: l.opts.Versions}, func(o Object) error {
		if o.IsPrefix {
			dirs = append(dirs, o.Key)
			return nil
		}
		if discovery && l.holdRelaid(o) {
			return nil
		}
		if !deliver {
			return nil
		}
		return l.emit(ctx, o, u, kind)
	})
	slices.Sort(dirs)
	return dirs, err
}

// holdRelaid keeps o for the end of discovery if its file name is a
// CloudTrail object's the scan wants, and reports whether it did.
func (l *lister) holdRelaid(o Object) bool {
	loc := ParseKey(o.Key)
	if loc.Kind == KindOther {
		return false
	}
	if (len(l.opts.Kinds) == 0 || slices.Contains(l.opts.Kinds, loc.Kind)) && l.wantAccount(loc.Account) {
		l.mu.Lock()
		l.relaid = append(l.relaid, o)
		l.mu.Unlock()
	}
	return true
}

// emitRelaid sends the objects holdRelaid kept: digests first, so that
// every log file's verdict is final when it arrives, then by key.
func (l *lister) emitRelaid(ctx context.Context) error {
	l.mu.Lock()
	objs := l.relaid
	l.relaid = nil
	l.mu.Unlock()
	// Digests first: their keys name the folder CloudTrail-Digest (or
	// the digest form of the file name), which ParseKey tells once each.
	digest := make(map[string]bool, len(objs))
	for _, o := range objs {
		digest[o.Key] = ParseKey(o.Key).Kind == KindDigest
	}
	slices.SortFunc(objs, func(a, b Object) int {
		return cmp.Or(-cmpBool(digest[a.Key], digest[b.Key]), strings.Compare(a.Key, b.Key))
	})
	for _, o := range objs {
		if err := l.emit(ctx, o, nil, KindOther); err != nil {
			return err
		}
	}
	return nil
}

// deeper lists, when discovery found no AWSLogs/ folder, every object
// below the folders it searched, so that CloudTrail files kept deeper
// (a prefix of many levels, an export's folders) are found by name.
func (l *lister) deeper(ctx context.Context) error {
	deliver := len(l.opts.Kinds) == 0 || slices.Contains(l.opts.Kinds, KindOther)
	return l.src.List(ctx, ListOptions{Prefix: l.opts.Prefix, Versions: l.opts.Versions}, func(o Object) error {
		if o.IsPrefix || strings.Count(o.Key[len(l.opts.Prefix):], "/") <= maxPrefixDepth {
			return nil // listed by discovery
		}
		if l.holdRelaid(o) || !deliver {
			return nil
		}
		return l.emit(ctx, o, nil, KindOther)
	})
}

// everything lists all objects below prefix, a folder of kind kind (in
// the region u tracks, if not nil).
func (l *lister) everything(ctx context.Context, prefix string, u *unitTrack, kind Kind) error {
	return l.src.List(ctx, ListOptions{Prefix: prefix, Versions: l.opts.Versions}, func(o Object) error {
		if o.IsPrefix {
			return nil
		}
		return l.emit(ctx, o, u, kind)
	})
}

func lastSegment(dir string) string {
	s := strings.TrimSuffix(dir, "/")
	return s[strings.LastIndexByte(s, '/')+1:]
}

func (l *lister) discover(ctx context.Context, units chan<- *unit) error {
	var err error
	if lastSegment(l.opts.Prefix) == awsLogs {
		err = l.awsLogs(ctx, l.opts.Prefix, units)
	} else {
		err = l.above(ctx, l.opts.Prefix, 0, units)
	}
	if err == nil && l.units == 0 && !l.sawAWSLogs {
		err = l.deeper(ctx)
	}
	if err != nil {
		return err
	}
	return l.emitRelaid(ctx)
}

// above searches for AWSLogs/ folders below the trail's prefix.
func (l *lister) above(ctx context.Context, prefix string, depth int, units chan<- *unit) error {
	dirs, err := l.folders(ctx, prefix, true, nil, KindOther)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		switch {
		case lastSegment(d) == awsLogs:
			err = l.awsLogs(ctx, d, units)
		case depth < maxPrefixDepth:
			err = l.above(ctx, d, depth+1, units)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *lister) awsLogs(ctx context.Context, prefix string, units chan<- *unit) error {
	l.sawAWSLogs = true
	dirs, err := l.folders(ctx, prefix, true, nil, KindOther)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		name := lastSegment(d)
		switch {
		case IsOrgID(name):
			accounts, err := l.folders(ctx, d, true, nil, KindOther)
			if err != nil {
				return err
			}
			for _, a := range accounts {
				if IsAccountID(lastSegment(a)) {
					if err := l.account(ctx, a, units); err != nil {
						return err
					}
				}
			}
		case IsAccountID(name):
			if err := l.account(ctx, d, units); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *lister) wantAccount(acct string) bool {
	return len(l.opts.Accounts) == 0 || slices.Contains(l.opts.Accounts, acct)
}

// account lists the CloudTrail folders of one account and hands each
// region to the listers. Other services' folders (Config, ELB, VPC flow
// logs) are not CloudTrail's and are left unlisted.
func (l *lister) account(ctx context.Context, base string, units chan<- *unit) error {
	if !l.wantAccount(lastSegment(base)) {
		return nil
	}
	kinds, err := l.folders(ctx, base, true, nil, KindOther)
	if err != nil {
		return err
	}
	byRegion := map[string]*unit{}
	for _, k := range kinds {
		kind, ok := kindOfFolder(lastSegment(k))
		if !ok {
			continue
		}
		if len(l.opts.Kinds) > 0 && !slices.Contains(l.opts.Kinds, kind) {
			continue
		}
		regions, err := l.folders(ctx, k, false, nil, kind)
		if err != nil {
			return err
		}
		for _, r := range regions {
			name := lastSegment(r)
			if !IsRegion(name) {
				// Not CloudTrail's: every object below is listed and
				// reported as such.
				if err := l.everything(ctx, r, nil, kind); err != nil {
					return err
				}
				continue
			}
			u := byRegion[name]
			if u == nil {
				u = &unit{base: base, region: name, regions: map[Kind]string{}}
				byRegion[name] = u
			}
			u.regions[kind] = r
			l.addScope(base, kind, name)
		}
	}
	names := make([]string, 0, len(byRegion))
	for n := range byRegion {
		names = append(names, n)
	}
	slices.Sort(names)
	l.units += len(names)
	for _, n := range names {
		select {
		case units <- byRegion[n]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// addScope records a region folder; base is <prefix>AWSLogs/[<org>/]<account>/.
func (l *lister) addScope(base string, kind Kind, region string) {
	s := scopeOf(base, region)
	s.Kind = kind
	l.mu.Lock()
	l.scopes = append(l.scopes, s)
	l.mu.Unlock()
}

// scope is the Scope of a unit, without Kind.
func (u *unit) scope() Scope { return scopeOf(u.base, u.region) }

// scopeOf is the Scope of a region below base, without Kind.
func scopeOf(base, region string) Scope {
	s := Scope{Region: region}
	rest := strings.TrimSuffix(base, "/")
	s.Account, rest, _ = cutLast(rest)
	seg, rest, hasPrefix := cutLast(rest)
	if seg != awsLogs {
		s.OrgID = seg
		_, rest, hasPrefix = cutLast(rest)
	}
	if hasPrefix {
		s.Prefix = rest + "/"
	}
	return s
}

func (l *lister) inventory() *Inventory {
	l.mu.Lock()
	defer l.mu.Unlock()
	inv := &Inventory{Scopes: slices.Clone(l.scopes)}
	slices.SortFunc(inv.Scopes, func(a, b Scope) int {
		return strings.Compare(a.Prefix+a.OrgID+a.Account+a.Region+a.Kind.String(),
			b.Prefix+b.OrgID+b.Account+b.Region+b.Kind.String())
	})
	return inv
}

// listUnit lists one account and region: the date folders of its log,
// digest and Insights folders that overlap the window, oldest first.
//
// With ScopeDone, the log and Insights folders are listed only once every
// digest listed has been delivered, and the end of the region is passed
// down the pipeline after its last object.
func (l *lister) listUnit(ctx context.Context, u *unit) error {
	var track *unitTrack
	if l.opts.ScopeDone != nil {
		track = newUnitTrack(u.scope())
	}
	for _, kind := range []Kind{KindDigest, KindLog, KindInsight, KindNetworkActivity, KindAggregated} {
		if track != nil && kind == KindLog {
			track.digestFolderListed()
			select {
			case <-track.digestsDone:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		folder, ok := u.regions[kind]
		if !ok {
			continue
		}
		days, err := l.days(ctx, folder, track, kind)
		if err != nil {
			return err
		}
		for _, day := range days {
			if err := l.everything(ctx, folder+day, track, kind); err != nil {
				return err
			}
		}
	}
	if track == nil {
		return nil
	}
	return l.send(ctx, job{unit: track, end: true})
}

// days returns the "YYYY/MM/DD/" folders below a region folder that
// overlap the window. Anything at those levels that is not a date folder
// is listed whole and so reported.
func (l *lister) days(ctx context.Context, region string, u *unitTrack, kind Kind) ([]string, error) {
	var out []string
	years, err := l.folders(ctx, region, false, u, kind)
	if err != nil {
		return nil, err
	}
	for _, y := range years {
		yt, ok := parseStamp(lastSegment(y), "2006")
		if !ok {
			if err := l.everything(ctx, y, u, kind); err != nil {
				return nil, err
			}
			continue
		}
		if !l.opts.Window.dayOverlaps(yt, yt.AddDate(1, 0, 0)) {
			continue
		}
		months, err := l.folders(ctx, y, false, u, kind)
		if err != nil {
			return nil, err
		}
		for _, m := range months {
			mt, ok := parseStamp(lastSegment(y)+lastSegment(m), "200601")
			if !ok {
				if err := l.everything(ctx, m, u, kind); err != nil {
					return nil, err
				}
				continue
			}
			if !l.opts.Window.dayOverlaps(mt, mt.AddDate(0, 1, 0)) {
				continue
			}
			ds, err := l.folders(ctx, m, false, u, kind)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				dt, ok := parseStamp(lastSegment(y)+lastSegment(m)+lastSegment(d), "20060102")
				if !ok {
					if err := l.everything(ctx, d, u, kind); err != nil {
						return nil, err
					}
					continue
				}
				if l.opts.Window.dayOverlaps(dt, dt.AddDate(0, 0, 1)) {
					out = append(out, strings.TrimPrefix(d, region))
				}
			}
		}
	}
	return out, nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
