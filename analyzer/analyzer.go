package analyzer

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Config is what an analysis needs to know beyond the data.
type Config struct {
	// Window is the time range analysed; records outside it are counted as
	// read but not analysed.
	Window ingest.Window
	// AllowRegions is the region allowlist; empty means no allowlist
	// findings.
	AllowRegions []string
	// ExpectRegions, if not empty, are the regions every account must log,
	// replacing the default (the partition's regions that need no opt-in,
	// plus opt-in regions the archive shows in use).
	ExpectRegions []string
	// PublicKeys are the CloudTrail public keys digests are verified with;
	// without them signatures are unverifiable.
	PublicKeys *KeySet
	// Bucket is the S3 bucket the archive's keys belong to, when known.
	// Digests name their own location as bucket/key.
	Bucket string
	// SignaturesKept says the source keeps S3 object metadata, where
	// CloudTrail stores a signature with every digest it writes: a digest
	// without one was stripped of it, or not written by CloudTrail.
	SignaturesKept bool

	// Source names the archive and Accounts the accounts the scan was
	// limited to. The analysis does not use them; a snapshot records them
	// so that Restore refuses to go on with another archive's analysis.
	Source   string
	Accounts []string
	// KeepState makes the Analyzer keep what Snapshot needs beyond what
	// the analysis holds anyway: a ledger entry per object (key, ETag or
	// modification time, size, content hash) and each digest's content.
	KeepState bool
	// RunAt is when this run started. Snapshots record it as the time the
	// objects the run read were analyzed; findings about objects changed
	// or deleted since cite it.
	RunAt time.Time
}

// Verdict is the integrity verdict of a log file, and of each of its
// records.
type Verdict string

// The verdicts, as the events table writes them.
const (
	// VerdictValid: a digest lists the file and its hash matches.
	VerdictValid Verdict = "valid"
	// VerdictModified: a digest lists the file with another hash.
	VerdictModified Verdict = "modified"
	// VerdictUnlisted: no digest lists the file, though digests exist for
	// its account and region.
	VerdictUnlisted Verdict = "unlisted"
	// VerdictUnverified: nothing to check the file against (no digests for
	// its region, or the digest that lists it cannot be trusted).
	VerdictUnverified Verdict = "unverified"
)

// check is one analysis over the scan's results. Every check sees every
// object (object) and every record that is in the window and seen for the
// first time (event), in arrival order, then adds its part to the Result
// (finish). Digests arrive before logs: the scan runs in two phases.
//
// save adds what the check accumulated to a snapshot, observations only,
// never findings; load restores it into a new check (snapshot.go).
type check interface {
	object(r *ingest.Result, v *Verdict)
	event(rec *ingest.Record, r *ingest.Result)
	finish(res *Result)
	save(st *stateFile)
	load(st *stateFile) error
}

// ObjectCounts counts listed objects by kind. Listed is their sum;
// Unreadable counts CloudTrail objects that could not be read or parsed
// (they are also counted under their kind).
type ObjectCounts struct {
	Listed       int
	LogFiles     int
	DigestFiles  int
	InsightFiles int
	// NetworkActivityFiles and AggregatedFiles count the files of the
	// CloudTrail-NetworkActivity and CloudTrail-Aggregated folders.
	NetworkActivityFiles int
	AggregatedFiles      int
	Other                int
	Unreadable           int
	// NoncurrentVersions and DeleteMarkers count the version history a
	// scan with ingest.ScanOptions.Noncurrent delivered; they are not
	// part of Listed.
	NoncurrentVersions int
	DeleteMarkers      int
	// Layouts counts CloudTrail objects kept other than where and how
	// CloudTrail writes them (ingest.Location.Layout), by note.
	Layouts []LayoutCount
	// AccountMismatches counts records whose recipientAccountId is not
	// the account their file is named and filed for, by pair.
	AccountMismatches []AccountMismatch
}

// LayoutCount is how many CloudTrail objects carry one layout note, with
// the first key (in key order) as an example.
type LayoutCount struct {
	Note    string
	Count   int
	Example string
}

// AccountMismatch is records of RecordAccount found in files of
// FileAccount: a copy that mixed accounts up, or renamed files.
type AccountMismatch struct {
	FileAccount, RecordAccount string
	Records                    int
	Example                    string
}

// RecordCounts counts records read and those whose eventID was seen
// before; analysis counts each event once.
type RecordCounts struct {
	Total      int
	Duplicates int
	InWindow   int
	// DedupeFrom, when not zero, is the oldest event day whose eventIDs
	// were still held when the run ended: the duplicate set outgrew
	// maxSeen and the oldest days were forgotten (see forgetOldest).
	DedupeFrom time.Time
}

// Account is what the archive shows of one account.
type Account struct {
	Account string
	OrgID   string
	Trails  []string
	// RegionsDelivering are the regions with a log file or digest in the
	// window.
	RegionsDelivering []string
	RegionsExpected   []string
	RegionsMissing    []string
	// CoveragePercent is the share of the account's expected region-hours
	// with delivery (log files, or digests proving a quiet hour); HasCoverage
	// is false when no hour was analysed.
	CoveragePercent float64
	HasCoverage     bool
}

// Result is a finished analysis: plain values, sorted.
type Result struct {
	Objects  ObjectCounts
	Records  RecordCounts
	Accounts []Account
	Findings []Finding
	// Chains is one entry per digest chain (integrity.go).
	Chains []Chain
	// LogsWithoutDigests counts the log files in the window of regions
	// that have no digest chain: nothing to check them against.
	LogsWithoutDigests int
	// Coverage is the window's delivery per account × region, as runs of
	// hours with one status, sorted by account, region and start
	// (coverage.go).
	Coverage *CoverageTable
	// Exemptions lists the event sources exempt from allowlist findings
	// because they are global services logged in us-east-1 (allowlist.go).
	Exemptions []string
	// Scopes are the region folders the scan found, whether or not they
	// held objects in the window.
	Scopes []ingest.Scope
}

// Analyzer accumulates what the scan delivers. Its methods must be called
// from one goroutine, except Unchanged.
type Analyzer struct {
	cfg     Config
	objects ObjectCounts
	records RecordCounts
	// seen holds the 64-bit hash of each eventID seen with the day of
	// its event (days since the Unix epoch): 16 bytes an event where the
	// ID itself would take 50, and what a snapshot keeps of recent days.
	seen eventSet
	// forgotBefore: eventIDs of days before it were dropped from seen
	// (forgetOldest); 0 when none were.
	forgotBefore int32
	accounts     map[string]*accountState
	unreadable   []unreadableObject
	checks       []check
	integrity    *integrity
	coverage     *coverage
	history      *history
	// newestLog is the newest log file-name time seen; a snapshot keeps
	// the eventIDs of the days before it (dedupeDays).
	newestLog time.Time
	// ledger is what Snapshot keeps of every object; nil without
	// Config.KeepState.
	ledger *ledger
	// overflow names the object last observed with ingest.Result.Overflow,
	// whose records ObserveRecords takes; "" when none.
	overflow string
	// layouts and mismatches feed ObjectCounts.Layouts and
	// AccountMismatches.
	layouts    map[string]*LayoutCount
	mismatches map[[2]string]*AccountMismatch
}

// unreadableObject is what an unreadable-object finding reports.
type unreadableObject struct {
	key string
	// versionID is set for a noncurrent version.
	versionID string
	loc       ingest.Location
	err       string
	size      int64
	records   int
	tooLarge  bool
}

type accountState struct {
	orgID      string
	trails     map[string]bool
	delivering map[string]bool
}

// New returns an Analyzer for cfg.
func New(cfg Config) *Analyzer {
	a := &Analyzer{
		cfg:      cfg,
		accounts: map[string]*accountState{},
		history:  newHistory(),
	}
	a.checks = newChecks(cfg)
	for _, c := range a.checks {
		switch c := c.(type) {
		case *integrity:
			a.integrity = c
		case *coverage:
			a.coverage = c
		}
	}
	if cfg.KeepState {
		a.ledger = newLedger(cfg.RunAt)
		a.integrity.ledger = a.ledger
	}
	return a
}

func (a *Analyzer) account(id string) *accountState {
	s := a.accounts[id]
	if s == nil {
		s = &accountState{trails: map[string]bool{}, delivering: map[string]bool{}}
		a.accounts[id] = s
	}
	return s
}

// Observe takes in one object's scan result and returns, for a log file,
// its integrity verdict, final when every digest of its account and region
// was observed before it (ingest.ScanOptions.ScopeDone orders a scan so).
//
// With a ledger (Config.KeepState, or an Analyzer from Restore), an object
// an earlier run analyzed is not analyzed again: a skipped result
// (ingest.Result.Skipped), or one whose size and ETag (or modification
// time) are those recorded, only marks it as still present, and its
// verdict is VerdictUnverified (the earlier run's events table has it).
// An object that changed since is analyzed anew in place of the old one,
// and reported.
//
// A noncurrent version or delete marker (see ingest.Object.Current) is
// history: delivered after every current object, it annotates the
// findings about its key, and a version's records are analysed like any
// others (each eventID counts once). Its verdict is its own bytes'
// against the digest that lists the key.
func (a *Analyzer) Observe(r *ingest.Result) Verdict {
	if !r.Object.Current() {
		return a.observeHistory(r)
	}
	if a.ledger != nil {
		if old := a.ledger.rewritten(r); old != nil {
			// Read again, it hashes otherwise than when first read:
			// changed in place, size and time kept.
			a.takeBack(r.Object.Key, old)
		} else if a.ledger.present(r.Object) || r.Skipped {
			return VerdictUnverified
		} else if old := a.ledger.changed(r.Object); old != nil {
			a.takeBack(r.Object.Key, old)
		}
	}
	if r.Skipped {
		return VerdictUnverified
	}
	v := VerdictUnverified
	a.observe(r)
	a.overflow = overflowKey(r)
	for _, c := range a.checks {
		c.object(r, &v)
	}
	for i := range r.Records {
		rec := &r.Records[i]
		a.checkAccount(rec, r)
		if a.record(rec) {
			for _, c := range a.checks {
				c.event(rec, r)
			}
		}
	}
	if a.ledger != nil {
		a.ledger.add(r)
	}
	return v
}

// ObserveRecords takes in a batch of the records of the object Observe
// last saw with Overflow set (too many to hold at once; the caller reads
// them again with ingest.StreamRecords): they are counted and analysed
// as if they had been in its Result. Batches of any other object are
// ignored: Observe did not take that object in.
func (a *Analyzer) ObserveRecords(r *ingest.Result, recs []ingest.Record) {
	if a.overflow == "" || a.overflow != overflowKey(r) {
		return
	}
	for i := range recs {
		rec := &recs[i]
		if r.Object.Current() {
			a.checkAccount(rec, r)
		}
		if a.record(rec) {
			for _, c := range a.checks {
				c.event(rec, r)
			}
		}
	}
}

// overflowKey names an object whose records come apart from its Result.
func overflowKey(r *ingest.Result) string {
	if !r.Overflow {
		return ""
	}
	return r.Object.Key + "\x00" + r.Object.VersionID
}

// noteLayout counts a CloudTrail object kept other than CloudTrail keeps it.
func (a *Analyzer) noteLayout(r *ingest.Result) {
	note := r.Location.Layout
	if note == "" {
		return
	}
	if a.layouts == nil {
		a.layouts = map[string]*LayoutCount{}
	}
	lc := a.layouts[note]
	if lc == nil {
		lc = &LayoutCount{Note: note, Example: r.Object.Key}
		a.layouts[note] = lc
	}
	lc.Count++
	lc.Example = min(lc.Example, r.Object.Key)
}

// checkAccount counts a record whose recipient is not its file's account.
func (a *Analyzer) checkAccount(rec *ingest.Record, r *ingest.Result) {
	file, got := r.Location.Account, rec.RecipientAccountID
	if got == "" || file == "" || got == file {
		return
	}
	if a.mismatches == nil {
		a.mismatches = map[[2]string]*AccountMismatch{}
	}
	k := [2]string{file, got}
	m := a.mismatches[k]
	if m == nil {
		m = &AccountMismatch{FileAccount: file, RecordAccount: got, Example: r.Object.Key}
		a.mismatches[k] = m
	}
	m.Records++
	m.Example = min(m.Example, r.Object.Key)
}

// objectCounts is ObjectCounts with the layout notes and account
// mismatches, sorted.
func (a *Analyzer) objectCounts() ObjectCounts {
	o := a.objects
	o.Layouts, o.AccountMismatches = nil, nil
	for _, note := range sortedKeys(a.layouts) {
		o.Layouts = append(o.Layouts, *a.layouts[note])
	}
	for _, m := range a.mismatches {
		o.AccountMismatches = append(o.AccountMismatches, *m)
	}
	slices.SortFunc(o.AccountMismatches, func(x, y AccountMismatch) int {
		return cmp.Or(cmp.Compare(x.FileAccount, y.FileAccount), cmp.Compare(x.RecordAccount, y.RecordAccount))
	})
	return o
}

// EndScope tells the Analyzer that every object of one account and region
// (s.Kind is ignored) has been observed, as ingest.ScanOptions.ScopeDone
// reports it: its integrity is judged (log files its digests list that
// never came are missing) and what only its objects needed is let go, so
// that memory follows the largest region rather than the archive. Finish
// gives the same result with or without it. Objects of the region must
// not be observed after it; in particular, a run that reads version
// history (noncurrent versions come last) must not call it. With
// Config.KeepState it judges nothing early and keeps everything: the
// state needs it.
func (a *Analyzer) EndScope(s ingest.Scope) {
	a.integrity.endScope(scopeKey{s.Prefix, s.OrgID, s.Account, s.Region})
	if !a.cfg.KeepState {
		// The state keeps coverage by hour.
		a.coverage.endScope(s.Account, s.Region)
	}
}

// observeHistory takes in a noncurrent version or a delete marker.
func (a *Analyzer) observeHistory(r *ingest.Result) Verdict {
	v := VerdictUnverified
	if r.Object.DeleteMarker {
		a.objects.DeleteMarkers++
		a.history.add(r, v)
		return v
	}
	a.objects.NoncurrentVersions++
	kind := r.Location.Kind
	if kind.HoldsRecords() {
		v = a.integrity.judgeVersion(r)
	}
	if r.Err != nil && kind != ingest.KindOther {
		a.unreadable = append(a.unreadable, unreadableObject{
			key:       r.Object.Key,
			versionID: r.Object.VersionID,
			loc:       r.Location,
			err:       r.Err.Error(),
			size:      r.Object.Size,
			records:   len(r.Records),
			tooLarge:  errors.Is(r.Err, ingest.ErrTooLarge),
		})
	}
	a.history.add(r, v)
	a.overflow = overflowKey(r)
	for i := range r.Records {
		rec := &r.Records[i]
		if a.record(rec) {
			for _, c := range a.checks {
				c.event(rec, r)
			}
		}
	}
	return v
}

// Unchanged reports whether an earlier run analyzed obj as it is now:
// same key, size and ETag (or modification time, for sources without
// ETags). It is what ingest.ScanOptions.Skip asks, and is safe to call
// from any goroutine while Observe runs: it reads only what Restore
// loaded.
func (a *Analyzer) Unchanged(obj ingest.Object) bool {
	return a.ledger != nil && a.ledger.unchanged(obj)
}

// RecordedHash is the SHA-256 of the decompressed content an earlier run
// read for obj, for ingest.ScanOptions.Recheck: sources without ETags (a
// directory) prove nothing by size and time, which an edit can keep.
// Safe from any goroutine while Observe runs, as Unchanged is.
func (a *Analyzer) RecordedHash(obj ingest.Object) ([32]byte, bool) {
	if a.ledger == nil {
		return [32]byte{}, false
	}
	return a.ledger.recordedHash(obj)
}

// Window is the time range analysed: Config.Window, or for an Analyzer
// from Restore the window the state began with.
func (a *Analyzer) Window() ingest.Window { return a.cfg.Window }

// takeBack removes what an earlier version of a changed object added to
// the object counts and its unreadable-object finding, before the new
// version is observed; integrity judges the new version only, since the
// ledger's entry is replaced. What the old version added to the checks'
// aggregates (coverage counts, allowlist, logging changes, eventIDs)
// stays: each eventID counts once, so the new version's records add only
// what is new in it.
func (a *Analyzer) takeBack(key string, old *ledgerEntry) {
	a.objects.Listed--
	switch old.kind {
	case ingest.KindLog:
		a.objects.LogFiles--
	case ingest.KindDigest:
		a.objects.DigestFiles--
	case ingest.KindInsight:
		a.objects.InsightFiles--
	case ingest.KindNetworkActivity:
		a.objects.NetworkActivityFiles--
	case ingest.KindAggregated:
		a.objects.AggregatedFiles--
	default:
		a.objects.Other--
	}
	if old.kind != ingest.KindOther && old.err != "" {
		a.objects.Unreadable--
	}
	a.unreadable = slices.DeleteFunc(a.unreadable, func(u unreadableObject) bool { return u.key == key })
}

func (a *Analyzer) observe(r *ingest.Result) {
	a.objects.Listed++
	loc := r.Location
	switch loc.Kind {
	case ingest.KindLog:
		a.objects.LogFiles++
	case ingest.KindDigest:
		a.objects.DigestFiles++
	case ingest.KindInsight:
		a.objects.InsightFiles++
	case ingest.KindNetworkActivity:
		a.objects.NetworkActivityFiles++
	case ingest.KindAggregated:
		a.objects.AggregatedFiles++
	default:
		a.objects.Other++
		return
	}
	a.noteLayout(r)
	acct := a.account(loc.Account)
	if loc.OrgID != "" {
		acct.orgID = loc.OrgID
	}
	if loc.Kind == ingest.KindDigest {
		acct.trails[loc.Trail] = true
	}
	if r.Err != nil {
		a.objects.Unreadable++
		a.unreadable = append(a.unreadable, unreadableObject{
			key:      r.Object.Key,
			loc:      loc,
			err:      r.Err.Error(),
			size:     r.Object.Size,
			records:  len(r.Records),
			tooLarge: errors.Is(r.Err, ingest.ErrTooLarge),
		})
	}
	if loc.Kind == ingest.KindLog && loc.Time.After(a.newestLog) {
		a.newestLog = loc.Time
	}
	// Only log files and digests prove that management events are
	// delivered; Insights, network activity and aggregated files come
	// from trails that may log nothing else.
	if (loc.Kind == ingest.KindLog || loc.Kind == ingest.KindDigest) && a.cfg.Window.Contains(loc.Time) && (r.Err == nil || len(r.Records) > 0) {
		acct.delivering[loc.Region] = true
	}
}

// record counts one record and reports whether it is to be analysed: the
// first of its eventID, inside the window.
func (a *Analyzer) record(rec *ingest.Record) bool {
	a.records.Total++
	if rec.EventID != "" {
		h := eventIDHash(rec.EventID)
		if !a.seen.add(h, dayOf(rec.Time)) {
			a.records.Duplicates++
			return false
		}
		if a.seen.len() > maxSeen {
			a.forgetOldest()
		}
	}
	if rec.Time.IsZero() || !a.cfg.Window.Contains(rec.Time) {
		return false
	}
	a.records.InWindow++
	return true
}

// maxSeen bounds the eventIDs held for telling duplicates apart, whatever
// the archive's size (a 10 GB archive holds some 50 million events): a
// table of 4 Mi slots of 12 bytes, 48 MiB (72 MiB for the moment it
// doubles from 2 Mi slots; forgetting is done in place).
var maxSeen = 2 << 20 // a variable for tests

// forgetOldest makes room in the duplicate set: it forgets the eventIDs
// of the oldest event days until a quarter of maxSeen is free.
// CloudTrail's duplicates (a record delivered twice, an event two trails
// log) arrive within hours of each other and the scan reads each region
// oldest day first, so what is forgotten is what no duplicate will meet;
// the summary says from which day duplicates were still told apart. The
// same horizon bounds what a snapshot keeps (dedupeDays).
func (a *Analyzer) forgetOldest() {
	perDay := map[int32]int{}
	a.seen.each(func(_ uint64, d int32) { perDay[d]++ })
	days := make([]int32, 0, len(perDay))
	for d := range perDay {
		days = append(days, d)
	}
	slices.Sort(days)
	keep := a.seen.len()
	cutoff := days[len(days)-1] + 1 // everything, if one day alone is too many
	for _, d := range days {
		if keep <= maxSeen*3/4 {
			cutoff = d
			break
		}
		keep -= perDay[d]
	}
	a.seen.keepFrom(cutoff)
	if cutoff > a.forgotBefore {
		a.forgotBefore = cutoff
	}
}

// eventIDHash is the 64-bit FNV-1a hash of an eventID. Two of a billion
// distinct eventIDs share a hash with odds of about 1 in 40; the later one
// would count as a duplicate. An attacker gains nothing from it: a record
// can repeat an eventID outright.
func eventIDHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// dayOf numbers days since the Unix epoch.
func dayOf(t time.Time) int32 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return int32(max(min(d, 1<<31-1), -1<<31))
}

// maxUnreadableFindings bounds the unreadable-object findings of one
// account and region; the rest are told in one finding, with counts by
// error and the first keys, so that a bucket of 200,000 broken objects
// gives a report a person can read, not one finding each.
const maxUnreadableFindings = 25

// unreadableFindings reports the unreadable objects: one finding each, up
// to maxUnreadableFindings per account and region in key order, then one
// for the rest of that account and region.
func unreadableFindings(objs []unreadableObject) []Finding {
	byScope := map[acctRegion][]*unreadableObject{}
	for i := range objs {
		u := &objs[i]
		k := acctRegion{u.loc.Account, u.loc.Region}
		byScope[k] = append(byScope[k], u)
	}
	var out []Finding
	for _, k := range sortedAcctRegions(byScope) {
		us := byScope[k]
		slices.SortFunc(us, func(a, b *unreadableObject) int {
			return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.versionID, b.versionID))
		})
		for _, u := range us[:min(len(us), maxUnreadableFindings)] {
			out = append(out, u.finding())
		}
		rest := us[min(len(us), maxUnreadableFindings):]
		if len(rest) == 0 {
			continue
		}
		errs := counter{}
		var keys []string
		for _, u := range rest {
			errs.add(strings.ReplaceAll(u.err, u.key, "<key>"))
			if len(keys) < maxEvidenceKeys {
				keys = append(keys, u.key)
			}
		}
		out = append(out, Finding{
			Kind:     KindUnreadableObject,
			Severity: High,
			Account:  k.account,
			Region:   k.region,
			Start:    rest[0].loc.Time,
			End:      rest[len(rest)-1].loc.Time,
			Title:    fmt.Sprintf("%d more objects cannot be read", len(rest)),
			Detail: fmt.Sprintf("Besides the %d reported one by one, %d more CloudTrail objects of account %s in %s cannot be read or parsed; their errors are counted in the evidence, with the first keys.",
				maxUnreadableFindings, len(rest), k.account, k.region),
			Evidence: map[string]any{"count": len(rest), "errors": errs.top(topNames), "object_keys": keys},
		})
	}
	return out
}

func (u *unreadableObject) finding() Finding {
	f := Finding{
		Kind:     KindUnreadableObject,
		Severity: High,
		Account:  u.loc.Account,
		Region:   u.loc.Region,
		Title:    "Object cannot be read: " + u.key,
		Detail:   u.err,
		Evidence: map[string]any{
			"object_key": u.key,
			"size":       u.size,
			"records":    u.records,
		},
	}
	if u.versionID != "" {
		f.Title += " (noncurrent version " + u.versionID + ")"
		f.Evidence["version_id"] = u.versionID
	}
	if u.tooLarge {
		f.Evidence["limit_reached"] = true
	}
	if !u.loc.Time.IsZero() {
		f.Start = u.loc.Time
		f.End = u.loc.Time
	}
	return f
}

// Finish completes the analysis. inv lists the region folders the scan
// found.
func (a *Analyzer) Finish(inv *ingest.Inventory) *Result {
	res := &Result{Objects: a.objectCounts(), Records: a.records}
	if a.forgotBefore != 0 {
		res.Records.DedupeFrom = time.Unix(int64(a.forgotBefore)*86400, 0).UTC()
	}
	if inv != nil {
		res.Scopes = inv.Scopes
		for _, s := range inv.Scopes {
			acct := a.account(s.Account)
			if s.OrgID != "" {
				acct.orgID = s.OrgID
			}
		}
	}
	for _, id := range sortedKeys(a.accounts) {
		s := a.accounts[id]
		res.Accounts = append(res.Accounts, Account{
			Account:           id,
			OrgID:             s.orgID,
			Trails:            sortedKeys(s.trails),
			RegionsDelivering: sortedKeys(s.delivering),
			RegionsExpected:   []string{},
			RegionsMissing:    []string{},
		})
	}
	res.Findings = append(res.Findings, unreadableFindings(a.unreadable)...)
	if a.ledger != nil {
		a.ledger.sweep()
		res.Findings = append(res.Findings, a.ledger.findings()...)
	}
	for _, c := range a.checks {
		c.finish(res)
	}
	res.Findings = append(res.Findings, a.history.annotate(res.Findings, a.cfg.Window)...)
	for i := range res.Accounts {
		acct := &res.Accounts[i]
		acct.CoveragePercent, acct.HasCoverage = res.CoveragePercent(acct.Account)
	}
	noteOtherAccounts(res)
	slices.SortStableFunc(res.Findings, compareFindings)
	return res
}

// noteOtherAccounts tells, in the evidence of every finding about an
// account whose files hold records of other accounts, which accounts and
// how many records: a copy that mixed accounts up, or files renamed, is
// what an investigator must know before trusting the account a finding
// names.
func noteOtherAccounts(res *Result) {
	byFile := map[string][]map[string]any{}
	for _, m := range res.Objects.AccountMismatches {
		byFile[m.FileAccount] = append(byFile[m.FileAccount], map[string]any{
			"record_account": m.RecordAccount, "records": m.Records, "example_object": m.Example,
		})
	}
	if len(byFile) == 0 {
		return
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		if other, ok := byFile[f.Account]; ok {
			if f.Evidence == nil {
				f.Evidence = map[string]any{}
			}
			f.Evidence["records_of_other_accounts"] = other
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Max returns the highest severity among findings, and false if there are
// none.
func Max(findings []Finding) (Severity, bool) {
	if len(findings) == 0 {
		return 0, false
	}
	m := findings[0].Severity
	for _, f := range findings[1:] {
		m = max(m, f.Severity)
	}
	return m, true
}
