package analyzer

import (
	"errors"
	"slices"

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
type check interface {
	object(r *ingest.Result, v *Verdict)
	event(rec *ingest.Record, r *ingest.Result)
	finish(res *Result)
}

// ObjectCounts counts listed objects by kind. Listed is their sum;
// Unreadable counts CloudTrail objects that could not be read or parsed
// (they are also counted under their kind).
type ObjectCounts struct {
	Listed       int
	LogFiles     int
	DigestFiles  int
	InsightFiles int
	Other        int
	Unreadable   int
}

// RecordCounts counts records read and those whose eventID was seen
// before; analysis counts each event once.
type RecordCounts struct {
	Total      int
	Duplicates int
	InWindow   int
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
	// Coverage is one row per account × region × hour of the window
	// (coverage.go).
	Coverage []CoverageHour
	// Exemptions lists the event sources exempt from allowlist findings
	// because they are global services logged in us-east-1 (allowlist.go).
	Exemptions []string
	// Scopes are the region folders the scan found, whether or not they
	// held objects in the window.
	Scopes []ingest.Scope
}

// Analyzer accumulates what the scan delivers. Its methods must be called
// from one goroutine.
type Analyzer struct {
	cfg      Config
	objects  ObjectCounts
	records  RecordCounts
	seen     map[string]struct{}
	accounts map[string]*accountState
	findings []Finding
	checks   []check
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
		seen:     map[string]struct{}{},
		accounts: map[string]*accountState{},
	}
	a.checks = newChecks(cfg)
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
// its integrity verdict, final since every digest was observed before it.
func (a *Analyzer) Observe(r *ingest.Result) Verdict {
	v := VerdictUnverified
	a.observe(r)
	for _, c := range a.checks {
		c.object(r, &v)
	}
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
	default:
		a.objects.Other++
		return
	}
	acct := a.account(loc.Account)
	if loc.OrgID != "" {
		acct.orgID = loc.OrgID
	}
	if loc.Kind == ingest.KindDigest {
		acct.trails[loc.Trail] = true
	}
	if r.Err != nil {
		a.objects.Unreadable++
		a.findings = append(a.findings, unreadable(r))
	}
	// Insights files do not prove that management events are delivered.
	if loc.Kind != ingest.KindInsight && a.cfg.Window.Contains(loc.Time) && (r.Err == nil || len(r.Records) > 0) {
		acct.delivering[loc.Region] = true
	}
}

// record counts one record and reports whether it is to be analysed: the
// first of its eventID, inside the window.
func (a *Analyzer) record(rec *ingest.Record) bool {
	a.records.Total++
	if rec.EventID != "" {
		if _, dup := a.seen[rec.EventID]; dup {
			a.records.Duplicates++
			return false
		}
		a.seen[rec.EventID] = struct{}{}
	}
	if rec.Time.IsZero() || !a.cfg.Window.Contains(rec.Time) {
		return false
	}
	a.records.InWindow++
	return true
}

func unreadable(r *ingest.Result) Finding {
	f := Finding{
		Kind:     KindUnreadableObject,
		Severity: High,
		Account:  r.Location.Account,
		Region:   r.Location.Region,
		Title:    "Object cannot be read: " + r.Object.Key,
		Detail:   r.Err.Error(),
		Evidence: map[string]any{
			"object_key": r.Object.Key,
			"size":       r.Object.Size,
			"records":    len(r.Records),
		},
	}
	if errors.Is(r.Err, ingest.ErrTooLarge) {
		f.Evidence["limit_reached"] = true
	}
	if !r.Location.Time.IsZero() {
		f.Start = r.Location.Time
		f.End = r.Location.Time
	}
	return f
}

// Finish completes the analysis. inv lists the region folders the scan
// found.
func (a *Analyzer) Finish(inv *ingest.Inventory) *Result {
	res := &Result{Objects: a.objects, Records: a.records}
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
	res.Findings = slices.Clone(a.findings)
	for _, c := range a.checks {
		c.finish(res)
	}
	for i := range res.Accounts {
		acct := &res.Accounts[i]
		acct.CoveragePercent, acct.HasCoverage = res.CoveragePercent(acct.Account)
	}
	slices.SortStableFunc(res.Findings, compareFindings)
	return res
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
