package analyzer

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// ledger is what an incremental analysis knows of every object it read:
// enough to skip it in the next run, to notice that it changed or went
// away since, and to judge a log file again when a digest read in a later
// run lists it. Runs are numbered from 1; the current one is the last.
type ledger struct {
	// runs are the start times of the runs so far, this one last.
	runs []time.Time
	// restored are the entries of earlier runs. Restore fills the map and
	// nothing adds to it or removes from it afterwards, so that unchanged
	// may be asked from the scan's workers while Observe runs; Observe
	// writes only the entries' seen and missing fields, which unchanged
	// does not read.
	restored map[string]*ledgerEntry
	// added are the objects read in this run.
	added map[string]*ledgerEntry
}

// objectVersion identifies the bytes of an object as a listing shows them,
// with the hash of their content once read.
type objectVersion struct {
	size int64
	etag string
	// modified is the modification time in Unix nanoseconds (0: unknown);
	// it tells versions apart where the source has no ETags (a directory).
	modified int64
	// sha256 is the hash of the decompressed content (ingest.Body.SHA256).
	sha256 [32]byte
	// run is the run that read this version.
	run int32
}

// ledgerEntry is one object of the ledger.
type ledgerEntry struct {
	key  string
	kind ingest.Kind
	objectVersion
	trailing int64
	err      string
	tooLarge bool
	records  int
	// seen is the last run that listed the object; missing is the run
	// that first found it gone, 0 while it is present.
	seen, missing int32
	// first is the version an earlier run analyzed, when the object has
	// changed since; changes counts how often it changed.
	first   *objectVersion
	changes int32
}

func newLedger(runAt time.Time) *ledger {
	return &ledger{
		runs:     []time.Time{runAt.UTC()},
		restored: map[string]*ledgerEntry{},
		added:    map[string]*ledgerEntry{},
	}
}

// run is the current run's number.
func (l *ledger) run() int32 { return int32(len(l.runs)) }

// runTime is when run n started; zero for an unknown run.
func (l *ledger) runTime(n int32) time.Time {
	if n < 1 || int(n) > len(l.runs) {
		return time.Time{}
	}
	return l.runs[n-1]
}

func versionOf(obj ingest.Object) objectVersion {
	v := objectVersion{size: obj.Size, etag: obj.ETag}
	if !obj.LastModified.IsZero() {
		v.modified = obj.LastModified.UnixNano()
	}
	return v
}

// sameBytes reports whether a listing shows the version v: the same size,
// and the same ETag where both have one, else the same modification time.
func (v *objectVersion) sameBytes(obj ingest.Object) bool {
	if v.size != obj.Size {
		return false
	}
	if v.etag != "" && obj.ETag != "" {
		return v.etag == obj.ETag
	}
	modified := int64(0)
	if !obj.LastModified.IsZero() {
		modified = obj.LastModified.UnixNano()
	}
	return v.modified == modified
}

// unchanged reports whether an earlier run read obj as it is now. It only
// reads restored entries' versions: safe while Observe runs.
func (l *ledger) unchanged(obj ingest.Object) bool {
	e := l.restored[obj.Key]
	return e != nil && e.sameBytes(obj)
}

// present marks an object an earlier run read, unchanged, as listed in
// this run, and reports whether it was one.
func (l *ledger) present(obj ingest.Object) bool {
	e := l.restored[obj.Key]
	if e == nil || !e.sameBytes(obj) || l.added[obj.Key] != nil {
		return false
	}
	e.seen, e.missing = l.run(), 0
	return true
}

// changed returns the entry of an object an earlier run read with other
// bytes than obj has now, or nil.
func (l *ledger) changed(obj ingest.Object) *ledgerEntry {
	e := l.restored[obj.Key]
	if e == nil || e.sameBytes(obj) || l.added[obj.Key] != nil {
		return nil
	}
	return e
}

// rewritten returns the entry of an object an earlier run read whose
// listing looks the same (size, modification time) but whose content, read
// again, hashes otherwise: an edit that kept both, in a source without
// ETags. Unreadable objects have no hash to compare.
func (l *ledger) rewritten(r *ingest.Result) *ledgerEntry {
	e := l.restored[r.Object.Key]
	if r.Skipped || e == nil || !e.sameBytes(r.Object) || l.added[r.Object.Key] != nil || r.Err != nil || e.err != "" {
		return nil
	}
	if e.sha256 == r.Body.SHA256 {
		return nil
	}
	return e
}

// recordedHash is the content hash an earlier run recorded for obj, for
// ingest.ScanOptions.Recheck.
func (l *ledger) recordedHash(obj ingest.Object) ([32]byte, bool) {
	e := l.restored[obj.Key]
	if e == nil || e.err != "" || e.sha256 == ([32]byte{}) {
		return [32]byte{}, false
	}
	return e.sha256, true
}

// add records an object read in this run.
func (l *ledger) add(r *ingest.Result) {
	e := &ledgerEntry{
		key:           r.Object.Key,
		kind:          r.Location.Kind,
		objectVersion: versionOf(r.Object),
		trailing:      r.Body.Trailing,
	}
	e.sha256, e.run, e.seen = r.Body.SHA256, l.run(), l.run()
	if r.Err != nil {
		e.err = r.Err.Error()
		e.records = len(r.Records)
		e.tooLarge = errors.Is(r.Err, ingest.ErrTooLarge)
	}
	if old := l.restored[e.key]; old != nil {
		e.first, e.changes = old.first, old.changes+1
		if e.first == nil {
			v := old.objectVersion
			e.first = &v
		}
	}
	l.added[e.key] = e
}

// entry returns the current entry of key: this run's, else an earlier
// run's.
func (l *ledger) entry(key string) *ledgerEntry {
	if e := l.added[key]; e != nil {
		return e
	}
	return l.restored[key]
}

// sweep marks the objects an earlier run read that this run did not list
// as missing. Every run lists the same folders or more (the window's start
// is kept, its end open), so an object not listed was deleted.
func (l *ledger) sweep() {
	for key, e := range l.restored {
		if l.added[key] == nil && e.seen < l.run() && e.missing == 0 {
			e.missing = l.run()
		}
	}
}

// findings reports every CloudTrail object deleted or changed after a run
// analyzed it. They come from the ledger, not from a stored list of
// findings, so every run reports them again for as long as the state
// lasts; an object that reappears unchanged is no longer reported.
func (l *ledger) findings() []Finding {
	var out []Finding
	for key, e := range l.restored {
		if l.added[key] == nil && e.missing > 0 && e.kind != ingest.KindOther {
			out = append(out, l.deletedFinding(e))
		}
	}
	for _, m := range []map[string]*ledgerEntry{l.restored, l.added} {
		for key, e := range m {
			if m[key] == l.entry(key) && e.first != nil && e.kind != ingest.KindOther {
				out = append(out, l.changedFinding(e))
			}
		}
	}
	return out
}

func kindName(k ingest.Kind) string {
	switch k {
	case ingest.KindDigest:
		return "Digest"
	case ingest.KindInsight:
		return "Insights file"
	case ingest.KindNetworkActivity:
		return "Network activity file"
	case ingest.KindAggregated:
		return "Aggregated events file"
	}
	return "Log file"
}

func (l *ledger) deletedFinding(e *ledgerEntry) Finding {
	loc := ingest.ParseKey(e.key)
	kind := KindLogFileMissing
	if e.kind == ingest.KindDigest {
		kind = KindDigestMissing
	}
	lastSeen, gone := l.runTime(e.seen), l.runTime(e.missing)
	ev := map[string]any{
		"object_key":    e.key,
		"size":          e.size,
		"sha256":        hex.EncodeToString(e.sha256[:]),
		"analyzed_at":   stamp(l.runTime(e.run)),
		"last_seen":     stamp(lastSeen),
		"missing_since": stamp(gone),
		"deleted":       "deleted since the previous run at " + stamp(lastSeen),
	}
	if e.etag != "" {
		ev["etag"] = e.etag
	}
	return Finding{
		Kind:     kind,
		Severity: High,
		Account:  loc.Account,
		Region:   loc.Region,
		Start:    loc.Time,
		End:      loc.Time,
		Title:    kindName(e.kind) + " deleted after it was analyzed: " + e.key,
		Detail: fmt.Sprintf("The run at %s read this object (SHA-256 of its content %s); the run at %s still listed it; the run at %s no longer finds it: it was deleted from the archive in between. What it held stays in this analysis.",
			stamp(l.runTime(e.run)), hex.EncodeToString(e.sha256[:]), stamp(lastSeen), stamp(gone)),
		Evidence: ev,
	}
}

func (l *ledger) changedFinding(e *ledgerEntry) Finding {
	loc := ingest.ParseKey(e.key)
	kind := KindLogFileModified
	if e.kind == ingest.KindDigest {
		kind = KindDigestInvalid
	}
	was, is := e.first, &e.objectVersion
	sameContent := was.sha256 == is.sha256 && e.err == ""
	ev := map[string]any{
		"object_key":       e.key,
		"changed":          "changed since the previous run",
		"analyzed_at":      stamp(l.runTime(was.run)),
		"changed_found_at": stamp(l.runTime(is.run)),
		"previous_etag":    was.etag,
		"current_etag":     is.etag,
		"previous_size":    was.size,
		"current_size":     is.size,
		"previous_sha256":  hex.EncodeToString(was.sha256[:]),
		"current_sha256":   hex.EncodeToString(is.sha256[:]),
		"changes":          e.changes,
	}
	if was.etag == "" || is.etag == "" {
		ev["previous_modified"] = stampNanos(was.modified)
		ev["current_modified"] = stampNanos(is.modified)
	}
	sev, what := High, "its content is different now: the analysis holds the new content, the findings about it describe the new content, and the records of the old one stay counted"
	if sameContent {
		sev, what = Medium, "its content is the same (another compression, or the same bytes written again), but CloudTrail never writes an object twice"
	}
	if e.err != "" {
		what = "it cannot be read now (" + e.err + ")"
	}
	return Finding{
		Kind:     kind,
		Severity: sev,
		Account:  loc.Account,
		Region:   loc.Region,
		Start:    loc.Time,
		End:      loc.Time,
		Title:    kindName(e.kind) + " changed after it was analyzed: " + e.key,
		Detail: fmt.Sprintf("The run at %s read this object; the run at %s found it rewritten (size %d, was %d; ETag %q, was %q): %s.",
			stamp(l.runTime(was.run)), stamp(l.runTime(is.run)), is.size, was.size, is.etag, was.etag, what),
		Evidence: ev,
	}
}

func stampNanos(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// result rebuilds what integrity judges a log file by: its key, size,
// content hash, trailing bytes and read error.
func (e *ledgerEntry) result() *ingest.Result {
	r := &ingest.Result{
		Object:   ingest.Object{Key: e.key, Size: e.size, ETag: e.etag},
		Location: ingest.ParseKey(e.key),
		Body:     ingest.Body{SHA256: e.sha256, Trailing: e.trailing},
	}
	if e.err != "" {
		r.Err = errors.New(e.err)
	}
	return r
}

// ContentHash returns the SHA-256 of the decompressed content of an
// object an earlier run read (ingest.Body.SHA256), for callers that
// account for skipped objects as if read.
func (a *Analyzer) ContentHash(key string) ([32]byte, bool) {
	if a.ledger == nil {
		return [32]byte{}, false
	}
	e := a.ledger.entry(key)
	if e == nil {
		return [32]byte{}, false
	}
	return e.sha256, true
}

// Runs returns the number of runs of the analysis, this one included.
func (a *Analyzer) Runs() int {
	if a.ledger == nil {
		return 1
	}
	return len(a.ledger.runs)
}
