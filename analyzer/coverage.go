package analyzer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// CoverageRun is a run of consecutive hours of one account × region with
// one delivery status: a row of coverage.parquet. Runs are as many as the
// status changes, not as the hours spanned.
type CoverageRun struct {
	Account string
	OrgID   string
	Region  string
	// Start and End bound the run's hours, [Start, End), UTC; Hours is
	// their number.
	Start, End time.Time
	Hours      int
	// Expected marks a region the account must log (RegionsExpected).
	Expected bool
	// LogFiles counts log files by their file-name time: the delivery
	// slot, not the time of their events.
	LogFiles int
	// Records counts events by eventTime, each eventID once.
	Records int
	// Digests counts, summed over the run's hours, the digests whose
	// window overlaps each hour; a catch-up digest, whose window spans
	// several hours, counts only in the hour it ends in. Every hour of a
	// delivered run has a digest, or none has.
	Digests int
	// ListedLogFiles counts the log files of the run's hours (by
	// file-name time) that digests list, present or not.
	ListedLogFiles int
	// DigestEmptyProof is true when, in every hour of the run, digest
	// windows cover the whole hour and list no log file for it: CloudTrail
	// asserts nothing was delivered.
	DigestEmptyProof bool
	// Status is CoverageDelivered, CoverageQuiet, CoverageAbsent or
	// CoverageMissing.
	Status string
}

// The values of CoverageRun.Status.
const (
	// CoverageDelivered: at least one log file in every hour.
	CoverageDelivered = "delivered"
	// CoverageQuiet: no log file, but digests show the trail delivering
	// (DigestEmptyProof says whether they cover the whole hour).
	CoverageQuiet = "quiet"
	// CoverageAbsent: digests list log files for the hour that are not in
	// the archive (see log-file-missing).
	CoverageAbsent = "absent"
	// CoverageMissing: neither a log file nor a digest: nothing at all.
	CoverageMissing = "missing"
)

// Delivery-gap thresholds. A region with digests delivers one every hour,
// even when nothing happens, so a single hour without digest or log file
// is a gap; at the ends of the archive two are needed, since the last
// digest may not have been delivered yet when the archive was copied. A
// region without digests is judged by how often it delivers logs: a run
// of silent hours counts only when it is at least gapMinHoursNoDigest long
// and would happen by chance less than gapChance of the time, shared among
// the region's silent runs.
const (
	gapMinHoursDigest   = 1
	gapMinHoursEdge     = 2
	gapMinHoursNoDigest = 6
	gapChance           = 0.001
	// digestSlack is how much longer than an hour a digest window may be
	// before it counts as a catch-up digest that covers hours CloudTrail
	// delivered no hourly digest for.
	digestSlack = 5 * time.Minute
	// maxLongDigests bounds the catch-up digests kept for evidence.
	maxLongDigests = 1000
)

// hourCell is what coverage knows of one account × region × hour.
type hourCell struct {
	logFiles, records, digests, listed int32
	// minutes has bit i set when a digest window covers minute i.
	minutes uint64
}

// add combines what two sources of cells know of the same hour.
func (h hourCell) add(o hourCell) hourCell {
	return hourCell{h.logFiles + o.logFiles, h.records + o.records, h.digests + o.digests, h.listed + o.listed, h.minutes | o.minutes}
}

// delivers reports whether the hour shows delivery: a log file or a
// digest (what bounds the span analysed).
func (h hourCell) delivers() bool { return h.logFiles > 0 || h.digests > 0 }

// status is the hour's CoverageRun.Status.
func (h hourCell) status() string {
	switch {
	case h.logFiles > 0:
		return CoverageDelivered
	case h.listed > 0:
		return CoverageAbsent
	case h.digests > 0:
		return CoverageQuiet
	}
	return CoverageMissing
}

// emptyProof: digests cover the whole hour and list nothing for it.
func (h hourCell) emptyProof() bool {
	return h.minutes == allMinutes && h.listed == 0 && h.logFiles == 0
}

// cellRun is hours [start, start+hours) of one account × region whose
// cells are all equal to cell: exact, so runs can be clipped and merged
// without losing a count, and as many as the cells change.
type cellRun struct {
	start int64
	hours int64
	cell  hourCell
}

func (r cellRun) end() int64 { return r.start + r.hours }

// appendRun appends r, extending the last run when r continues it with
// the same cell. Empty cells are left out: an hour with no run is an
// hour coverage knows nothing of.
func appendRun(runs []cellRun, r cellRun) []cellRun {
	if r.hours <= 0 || r.cell == (hourCell{}) {
		return runs
	}
	if n := len(runs); n > 0 && runs[n-1].end() == r.start && runs[n-1].cell == r.cell {
		runs[n-1].hours += r.hours
		return runs
	}
	return append(runs, r)
}

// mergeRuns combines two sorted lists of runs of one account × region,
// adding the cells of the hours both hold (a region whose objects came in
// two scopes, under two trail prefixes).
func mergeRuns(a, b []cellRun) []cellRun {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]cellRun, 0, len(a)+len(b))
	i, j := 0, 0
	var pa, pb cellRun
	for {
		if pa.hours == 0 && i < len(a) {
			pa, i = a[i], i+1
		}
		if pb.hours == 0 && j < len(b) {
			pb, j = b[j], j+1
		}
		switch {
		case pa.hours == 0 && pb.hours == 0:
			return out
		case pb.hours == 0 || (pa.hours > 0 && pa.end() <= pb.start):
			out, pa.hours = appendRun(out, pa), 0
		case pa.hours == 0 || pb.end() <= pa.start:
			out, pb.hours = appendRun(out, pb), 0
		case pa.start < pb.start:
			n := pb.start - pa.start
			out = appendRun(out, cellRun{pa.start, n, pa.cell})
			pa.start, pa.hours = pa.start+n, pa.hours-n
		case pb.start < pa.start:
			n := pa.start - pb.start
			out = appendRun(out, cellRun{pb.start, n, pb.cell})
			pb.start, pb.hours = pb.start+n, pb.hours-n
		default:
			n := min(pa.hours, pb.hours)
			out = appendRun(out, cellRun{pa.start, n, pa.cell.add(pb.cell)})
			pa.start, pa.hours = pa.start+n, pa.hours-n
			pb.start, pb.hours = pb.start+n, pb.hours-n
		}
	}
}

const allMinutes = 1<<60 - 1

// cellDay keys a day of cells: memory grows with accounts × regions ×
// hours seen, never with records.
type cellDay struct {
	account, region string
	day             int64
}

type acctRegion struct{ account, region string }

// longDigest is a digest whose window spans more than an hour.
type longDigest struct {
	key        string
	start, end time.Time
}

// coverage reports region-not-logged and delivery-gap, and fills
// Result.Coverage and the accounts' expected and missing regions.
type coverage struct {
	cfg     Config
	regions *RegionModel
	logging *logging
	days    map[cellDay]*[24]hourCell
	// regionDays indexes the days of cells by account × region, so that
	// a region's cells can be compacted when its scope ends.
	regionDays map[acctRegion][]int64
	// compact holds the cells of regions whose scope ended as packed
	// runs: the memory of a finished region follows how often its cells
	// change, not the hours it spans, at 12 bytes a run.
	compact map[acctRegion][]packedRun
	// cellTable interns the distinct cells of packed runs: a sparse
	// archive has few (one file, one record).
	cellTable []hourCell
	cellIDs   map[hourCell]uint32
	// seen holds every region an account has CloudTrail objects for,
	// inside the window or not.
	seen map[string]map[string]bool
	// digests holds the regions with digests in the window.
	digests map[acctRegion]bool
	// homes maps an account's digest source regions to trail home regions.
	homes map[acctRegion]map[string]bool
	long  map[acctRegion][]longDigest
	nLong int
	// relaid marks the accounts whose files were found by name outside
	// CloudTrail's folders: the copy may hold only some of them.
	relaid map[string]bool
}

func newCoverage(cfg Config, regions *RegionModel, logging *logging) *coverage {
	return &coverage{
		cfg:        cfg,
		regions:    regions,
		logging:    logging,
		days:       map[cellDay]*[24]hourCell{},
		regionDays: map[acctRegion][]int64{},
		compact:    map[acctRegion][]packedRun{},
		cellIDs:    map[hourCell]uint32{},
		seen:       map[string]map[string]bool{},
		digests:    map[acctRegion]bool{},
		homes:      map[acctRegion]map[string]bool{},
		long:       map[acctRegion][]longDigest{},
		relaid:     map[string]bool{},
	}
}

// hourOf numbers hours since the Unix epoch.
func hourOf(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return h
}

func hourTime(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// windowHours is the window in hours, [lo, hi); open sides are the
// extremes of int64.
func (c *coverage) windowHours() (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if w := c.cfg.Window; !w.Start.IsZero() {
		lo = hourOf(w.Start)
	}
	if w := c.cfg.Window; !w.End.IsZero() {
		hi = hourOf(w.End.Add(-time.Nanosecond)) + 1
	}
	return lo, hi
}

func (c *coverage) cell(account, region string, h int64) *hourCell {
	day := h / 24
	if h%24 < 0 {
		day--
	}
	k := cellDay{account, region, day}
	d := c.days[k]
	if d == nil {
		d = new([24]hourCell)
		c.days[k] = d
		ar := acctRegion{account, region}
		c.regionDays[ar] = append(c.regionDays[ar], day)
	}
	return &d[h-day*24]
}

// cellRuns returns the cells of one account × region held by day as runs,
// sorted; with drop, the days are let go.
func (c *coverage) cellRuns(k acctRegion, drop bool) []cellRun {
	days := slices.Clone(c.regionDays[k])
	slices.Sort(days)
	var runs []cellRun
	for _, day := range days {
		ck := cellDay{k.account, k.region, day}
		d := c.days[ck]
		for i := range d {
			runs = appendRun(runs, cellRun{day*24 + int64(i), 1, d[i]})
		}
		if drop {
			delete(c.days, ck)
		}
	}
	if drop {
		delete(c.regionDays, k)
	}
	return runs
}

// endScope compacts the cells of a region whose every object has been
// read into runs. More cells of the region may still come (a second
// trail prefix): they are merged in at the end.
func (c *coverage) endScope(account, region string) {
	k := acctRegion{account, region}
	if len(c.regionDays[k]) == 0 {
		return
	}
	runs := mergeRuns(c.unpack(c.compact[k]), c.cellRuns(k, true))
	c.compact[k] = c.pack(runs)
}

// packedRun is a cellRun as compact holds it: hours since the epoch (an
// int32 reaches 245,000 years) and the index of its cell in cellTable.
type packedRun struct {
	start, hours int32
	cell         uint32
}

// pack interns runs' cells; unpack restores the runs.
func (c *coverage) pack(runs []cellRun) []packedRun {
	out := make([]packedRun, len(runs))
	for i, r := range runs {
		id, ok := c.cellIDs[r.cell]
		if !ok {
			id = uint32(len(c.cellTable))
			c.cellTable = append(c.cellTable, r.cell)
			c.cellIDs[r.cell] = id
		}
		out[i] = packedRun{int32(r.start), int32(r.hours), id}
	}
	return out
}

func (c *coverage) unpack(runs []packedRun) []cellRun {
	if len(runs) == 0 {
		return nil
	}
	out := make([]cellRun, len(runs))
	for i, r := range runs {
		out[i] = cellRun{int64(r.start), int64(r.hours), c.cellTable[r.cell]}
	}
	return out
}

// regionRuns is everything coverage knows of one account × region, as
// sorted runs.
func (c *coverage) regionRuns(account, region string) []cellRun {
	k := acctRegion{account, region}
	return mergeRuns(c.unpack(c.compact[k]), c.cellRuns(k, false))
}

func (c *coverage) object(r *ingest.Result, _ *Verdict) {
	loc := r.Location
	switch loc.Kind {
	case ingest.KindLog, ingest.KindDigest, ingest.KindInsight, ingest.KindNetworkActivity, ingest.KindAggregated:
	default:
		return
	}
	if c.seen[loc.Account] == nil {
		c.seen[loc.Account] = map[string]bool{}
	}
	if strings.HasPrefix(loc.Layout, ingest.LayoutRelaid) {
		c.relaid[loc.Account] = true
	}
	c.seen[loc.Account][loc.Region] = true
	switch loc.Kind {
	case ingest.KindLog:
		if c.cfg.Window.Contains(loc.Time) && (r.Err == nil || len(r.Records) > 0) {
			c.cell(loc.Account, loc.Region, hourOf(loc.Time)).logFiles++
		}
	case ingest.KindDigest:
		if r.Err == nil {
			c.digest(r)
		}
	}
}

// digest counts a digest in the hours its window overlaps. A window
// longer than an hour (a catch-up digest after delivery stopped) counts
// only for the hour it ends in: CloudTrail delivered no digest for the
// hours before, which is what delivery-gap reports.
func (c *coverage) digest(r *ingest.Result) {
	loc := r.Location
	end, start := loc.Time, loc.Time.Add(-time.Hour)
	if d := r.Digest; d != nil {
		if t, err := time.Parse(time.RFC3339, d.DigestEndTime); err == nil {
			end = t.UTC()
		}
		if t, err := time.Parse(time.RFC3339, d.DigestStartTime); err == nil && t.Before(end) {
			start = t.UTC()
		}
	}
	key := acctRegion{loc.Account, loc.Region}
	if loc.HomeRegion != "" {
		if c.homes[key] == nil {
			c.homes[key] = map[string]bool{}
		}
		c.homes[key][loc.HomeRegion] = true
	}
	if end.Sub(start) > time.Hour+digestSlack && c.nLong < maxLongDigests {
		c.long[key] = append(c.long[key], longDigest{key: r.Object.Key, start: start, end: end})
		c.nLong++
	}
	from := start
	if end.Sub(start) > time.Hour+digestSlack {
		// A catch-up digest proves delivery at its end only.
		from = end.Add(-time.Nanosecond).Truncate(time.Hour)
	}
	lo, hi := c.windowHours()
	counted := false
	for h := hourOf(from); h <= hourOf(end.Add(-time.Nanosecond)); h++ {
		if h < lo || h >= hi {
			continue
		}
		cell := c.cell(loc.Account, loc.Region, h)
		cell.digests++
		cell.minutes |= minuteMask(h, from, end)
		counted = true
	}
	if counted {
		c.digests[key] = true
	}
	if r.Digest == nil {
		return
	}
	for _, f := range r.Digest.LogFiles {
		fl := ingest.ParseKey(f.S3Object)
		if fl.Kind != ingest.KindLog || !c.cfg.Window.Contains(fl.Time) {
			continue
		}
		c.cell(fl.Account, fl.Region, hourOf(fl.Time)).listed++
	}
}

func compareLong(a, b longDigest) int {
	return cmp.Or(a.start.Compare(b.start), a.end.Compare(b.end), cmp.Compare(a.key, b.key))
}

// minuteMask returns the minutes of hour h that [from, to) covers, a
// started minute counting whole.
func minuteMask(h int64, from, to time.Time) uint64 {
	base := hourTime(h)
	a := max(from.Sub(base), 0)
	b := min(to.Sub(base), time.Hour)
	if b <= a {
		return 0
	}
	first := int(a / time.Minute)
	last := int((b + time.Minute - 1) / time.Minute) // exclusive
	last = min(last, 60)
	return (uint64(1)<<last - 1) &^ (uint64(1)<<first - 1)
}

// maxRecordLag bounds how far an event's time may lie from its log file's
// delivery slot for coverage to count it. Late events arrive hours or
// days after the fact; an eventTime years away is forged or broken, and
// counting it would let one record create cells far from any delivery.
const maxRecordLag = 7 * 24 * time.Hour

func (c *coverage) event(rec *ingest.Record, r *ingest.Result) {
	if r == nil || r.Location.Kind != ingest.KindLog || !isAPIRecord(rec, r) {
		return
	}
	if lag := r.Location.Time.Sub(rec.Time); lag > maxRecordLag || lag < -maxRecordLag {
		return
	}
	c.cell(r.Location.Account, r.Location.Region, hourOf(rec.Time)).records++
}

// span returns the hours the analysis covers: the window, narrowed to the
// hours something was delivered in across the archive, so that a window
// wider than the archive (or an archive copied before the window's end)
// does not read as missing delivery. Every account shares it, so an
// account that stopped delivering early shows the hours it lost.
func (c *coverage) span() (lo, hi int64, ok bool) {
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for k, d := range c.days {
		for i := range d {
			if d[i].delivers() {
				h := k.day*24 + int64(i)
				first, last = min(first, h), max(last, h)
			}
		}
	}
	for _, runs := range c.compact {
		for _, r := range runs {
			if c.cellTable[r.cell].delivers() {
				first, last = min(first, int64(r.start)), max(last, int64(r.start)+int64(r.hours)-1)
			}
		}
	}
	if first > last {
		return 0, 0, false
	}
	wlo, whi := c.windowHours()
	lo, hi = max(first, wlo), min(last+1, whi)
	if end, ok := judgedEnd(c.cfg); ok {
		// The window the user gave is judged to its end, not to the
		// newest delivery: a tail deleted in every region must show. The
		// last hour and a quarter before the run may still be on its way.
		if !c.cfg.RunAt.IsZero() && c.cfg.RunAt.Add(-stopAfter).Before(end) {
			end = c.cfg.RunAt.Add(-stopAfter)
		}
		hi = max(hi, min(whi, hourOf(end)))
	}
	return lo, hi, lo < hi
}

// judgedEnd is the end of the period whose delivery is judged, when the
// window has one: its end, or the run's time if that is earlier. Without
// a window end, the period ends at the archive's newest delivery.
func judgedEnd(cfg Config) (time.Time, bool) {
	end := cfg.Window.End
	if end.IsZero() {
		return time.Time{}, false
	}
	if !cfg.RunAt.IsZero() && cfg.RunAt.Before(end) {
		end = cfg.RunAt
	}
	return end, true
}

// expected returns the regions account must log.
// Region folders found by the scan count as in use even when they held
// nothing in the window: an opt-in region the trail once delivered from
// was enabled.
func (c *coverage) expected(account string, delivering []string, scopes []ingest.Scope) []string {
	if len(c.cfg.ExpectRegions) > 0 {
		out := slices.Clone(c.cfg.ExpectRegions)
		slices.Sort(out)
		return slices.Compact(out)
	}
	inUse := slices.Concat(delivering, sortedKeys(c.seen[account]))
	for _, sc := range scopes {
		if sc.Account == account && (sc.Kind == ingest.KindLog || sc.Kind == ingest.KindDigest) {
			inUse = append(inUse, sc.Region)
		}
	}
	partition := c.regions.PartitionOf(inUse)
	out := c.regions.DefaultRegions(partition)
	for _, r := range inUse {
		if reg := c.regions.Region(r); reg.Partition == partition && reg.OptIn {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *coverage) finish(res *Result) {
	// Catch-up digests in the order of their windows, not of arrival.
	for _, ds := range c.long {
		slices.SortFunc(ds, compareLong)
	}
	lo, hi, haveSpan := c.span()
	table := &CoverageTable{c: c, lo: lo, hi: hi, percent: map[string]float64{}}
	for i := range res.Accounts {
		a := &res.Accounts[i]
		expected := c.expected(a.Account, a.RegionsDelivering, res.Scopes)
		var missing []string
		for _, r := range expected {
			if !slices.Contains(a.RegionsDelivering, r) {
				missing = append(missing, r)
			}
		}
		a.RegionsExpected = nonNilStrings(expected)
		a.RegionsMissing = nonNilStrings(missing)

		if !haveSpan {
			// Nothing delivered in the window, in any account.
			res.Findings = append(res.Findings, c.notLogged(a, 0, time.Time{}, time.Time{})...)
			continue
		}
		// One account's runs at a time: the table lays them out again
		// when it is read, so that the whole archive's runs are never
		// held at once.
		rows := c.rows(a, lo, hi)
		percent := coveragePercent(rows)
		table.add(a, len(rows), percent)
		res.Findings = append(res.Findings, c.gaps(a, rows, lo, hi, percent)...)
		res.Findings = append(res.Findings, c.notLogged(a, percent, hourTime(lo), hourTime(hi))...)
	}
	res.Coverage = table
}

// CoverageTable is the window's coverage runs, sorted by account, region
// and start. An analysis's table holds no rows: it lays them out from the
// compact runs of the analysis when read, one account at a time, so its
// memory follows how often delivery changed, whatever the archive's size.
type CoverageTable struct {
	// rows, for a table made of rows (NewCoverageTable).
	rows []CoverageRun
	// From an analysis: the accounts in order and the span.
	c        *coverage
	accounts []Account
	lo, hi   int64
	n        int
	percent  map[string]float64
}

// NewCoverageTable is a table of the given runs, sorted by account,
// region and start.
func NewCoverageTable(rows []CoverageRun) *CoverageTable {
	t := &CoverageTable{rows: rows, n: len(rows), percent: map[string]float64{}}
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Account == rows[i].Account {
			j++
		}
		t.percent[rows[i].Account] = coveragePercent(rows[i:j])
		i = j
	}
	return t
}

func (t *CoverageTable) add(a *Account, rows int, percent float64) {
	acct := *a
	acct.RegionsDelivering = slices.Clone(a.RegionsDelivering)
	acct.RegionsExpected = slices.Clone(a.RegionsExpected)
	t.accounts = append(t.accounts, acct)
	t.n += rows
	t.percent[a.Account] = percent
}

// Len is the number of runs.
func (t *CoverageTable) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// All yields the runs in order. It may be called any number of times,
// from several goroutines at once, once the analysis has finished.
func (t *CoverageTable) All() iter.Seq[CoverageRun] {
	return func(yield func(CoverageRun) bool) {
		if t == nil {
			return
		}
		if t.c == nil {
			for _, r := range t.rows {
				if !yield(r) {
					return
				}
			}
			return
		}
		for i := range t.accounts {
			for _, r := range t.c.rows(&t.accounts[i], t.lo, t.hi) {
				if !yield(r) {
					return
				}
			}
		}
	}
}

// Rows returns every run: for tests and small tables.
func (t *CoverageTable) Rows() []CoverageRun {
	if t == nil {
		return nil
	}
	return slices.Collect(t.All())
}

// Percent is the share of an account's expected region-hours that have a
// log file or a digest, and false when the account has no coverage.
func (t *CoverageTable) Percent(account string) (float64, bool) {
	if t == nil {
		return 0, false
	}
	p, ok := t.percent[account]
	return p, ok
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// rows builds an account's coverage runs over [lo, hi) for every region
// it delivers from or must log, sorted by region and start: the hours
// coverage knows nothing of are missing.
func (c *coverage) rows(a *Account, lo, hi int64) []CoverageRun {
	regions := slices.Concat(a.RegionsDelivering, a.RegionsExpected)
	slices.Sort(regions)
	regions = slices.Compact(regions)
	var rows []CoverageRun
	for _, region := range regions {
		expected := slices.Contains(a.RegionsExpected, region)
		first := len(rows)
		add := func(start, n int64, cell hourCell) {
			status, proof, digests := cell.status(), cell.emptyProof(), cell.digests > 0
			if last := len(rows) - 1; last >= first {
				r := &rows[last]
				if r.Status == status && r.DigestEmptyProof == proof && (r.Digests > 0) == digests {
					r.Hours += int(n)
					r.End = hourTime(start + n)
					r.LogFiles += int(cell.logFiles) * int(n)
					r.Records += int(cell.records) * int(n)
					r.Digests += int(cell.digests) * int(n)
					r.ListedLogFiles += int(cell.listed) * int(n)
					return
				}
			}
			rows = append(rows, CoverageRun{
				Account:          a.Account,
				OrgID:            a.OrgID,
				Region:           region,
				Start:            hourTime(start),
				End:              hourTime(start + n),
				Hours:            int(n),
				Expected:         expected,
				LogFiles:         int(cell.logFiles) * int(n),
				Records:          int(cell.records) * int(n),
				Digests:          int(cell.digests) * int(n),
				ListedLogFiles:   int(cell.listed) * int(n),
				DigestEmptyProof: proof,
				Status:           status,
			})
		}
		at := lo
		for _, r := range c.regionRuns(a.Account, region) {
			from, to := max(r.start, lo), min(r.end(), hi)
			if from >= to {
				continue
			}
			if at < from {
				add(at, from-at, hourCell{})
			}
			add(from, to-from, r.cell)
			at = to
		}
		if at < hi {
			add(at, hi-at, hourCell{})
		}
	}
	return rows
}

// covered reports whether a coverage run shows delivery: log files, or
// digests.
func covered(row *CoverageRun) bool { return row.Status != CoverageMissing }

// coveragePercent is the share of an account's expected region-hours
// with a log file or a digest, to one decimal.
func coveragePercent(rows []CoverageRun) float64 {
	total, ok := 0, 0
	for i := range rows {
		if !rows[i].Expected {
			continue
		}
		total += rows[i].Hours
		if covered(&rows[i]) {
			ok += rows[i].Hours
		}
	}
	if total == 0 {
		return 0
	}
	return math.Round(float64(ok)*1000/float64(total)) / 10
}

// CoveragePercent returns the share of an account's expected region-hours
// that have a log file or a digest, and false when the account has no
// coverage rows.
func (r *Result) CoveragePercent(account string) (float64, bool) {
	return r.Coverage.Percent(account)
}

// hourRun is a run of consecutive hours [start, end).
type hourRun struct{ start, end int64 }

func (r hourRun) hours() int64 { return r.end - r.start }

// gapWorthReporting applies the thresholds: withDigests says whether
// digests were delivered (so that every hour should have one); logShare
// is the share of hours with log files, for regions without digests, and
// silences the number of silent runs the region has: each is a chance
// for one to be long by luck, so the chance allowed is shared among them
// (a region that delivers a file every few days over years has
// thousands, and without the share some would be reported by chance
// alone).
func gapWorthReporting(run hourRun, lo, hi int64, withDigests bool, logShare float64, silences int) bool {
	edge := run.start == lo || run.end == hi
	if withDigests {
		if edge {
			return run.hours() >= gapMinHoursEdge
		}
		return run.hours() >= gapMinHoursDigest
	}
	if run.hours() < gapMinHoursNoDigest || logShare <= 0 {
		return false
	}
	return math.Pow(1-logShare, float64(run.hours())) < gapChance/float64(max(1, silences))
}

// regionRun is a silent run of one region.
type regionRun struct {
	region      string
	run         hourRun
	withDigests bool
}

// gapCluster is silent runs of one account's regions that overlap in
// time: one cause (logging stopped, a trail deleted, a bucket policy
// broken) seen in every region it touched. Runs need not line up to the
// hour, since each region's final digest ends at its own minute.
type gapCluster struct {
	runs []regionRun
	// span is the union of the runs' hours, core their intersection.
	span, core  hourRun
	withDigests bool
}

// gaps finds an account's delivery gaps: in each region that delivers, the
// runs of hours with neither log file nor digest that pass the thresholds,
// gathered into one finding per cluster of runs that overlap in time.
func (c *coverage) gaps(a *Account, rows []CoverageRun, lo, hi int64, percent float64) []Finding {
	byRegion := map[string][]CoverageRun{}
	for _, row := range rows {
		if slices.Contains(a.RegionsDelivering, row.Region) {
			byRegion[row.Region] = append(byRegion[row.Region], row)
		}
	}
	regions := sortedKeys(byRegion)
	var runs []regionRun
	for _, region := range regions {
		withDigests := c.digests[acctRegion{a.Account, region}]
		delivered := 0
		for _, row := range byRegion[region] {
			if row.Status == CoverageDelivered {
				delivered += row.Hours
			}
		}
		share := float64(delivered) / float64(hi-lo)
		silences := 0
		for _, row := range byRegion[region] {
			if !covered(&row) {
				silences++
			}
		}
		for _, row := range byRegion[region] {
			// Runs of one status are maximal: a missing run is the whole
			// silence.
			if covered(&row) {
				continue
			}
			run := hourRun{hourOf(row.Start), hourOf(row.End)}
			if gapWorthReporting(run, lo, hi, withDigests, share, silences) {
				runs = append(runs, regionRun{region, run, withDigests})
			}
		}
	}
	slices.SortStableFunc(runs, func(x, y regionRun) int {
		return cmp.Or(cmp.Compare(x.run.start, y.run.start), cmp.Compare(x.region, y.region))
	})
	// A run joins the current cluster when it shares an hour with every
	// run in it (runs are sorted by start, so with the intersection of
	// their hours): overlaps do not chain unrelated gaps together.
	var clusters []*gapCluster
	for _, r := range runs {
		if n := len(clusters); n > 0 && r.run.start < clusters[n-1].core.end {
			cl := clusters[n-1]
			cl.runs = append(cl.runs, r)
			cl.span.end = max(cl.span.end, r.run.end)
			cl.core = hourRun{r.run.start, min(cl.core.end, r.run.end)}
			cl.withDigests = cl.withDigests || r.withDigests
			continue
		}
		clusters = append(clusters, &gapCluster{runs: []regionRun{r}, span: r.run, core: r.run, withDigests: r.withDigests})
	}
	var out []Finding
	for _, cl := range clusters {
		out = append(out, c.gapFinding(a, cl, len(regions), lo, hi, percent))
	}
	return out
}

func (c *coverage) gapFinding(a *Account, cl *gapCluster, delivering int, lo, hi int64, percent float64) Finding {
	// The finding claims silence in every region it names, so its hours
	// are the cluster's core, the hours all its runs share; each region's
	// own run, longer where it began earlier or ended later, is evidence.
	run, withDigests := cl.core, cl.withDigests
	start, end := hourTime(run.start), hourTime(run.end)
	var regions, own []string
	var runs []map[string]any
	for _, r := range cl.runs {
		regions = append(regions, r.region)
		runs = append(runs, map[string]any{
			"region": r.region, "start": formatEvidenceTime(hourTime(r.run.start)), "end": formatEvidenceTime(hourTime(r.run.end)),
			"hours": r.run.hours(), "digests_expected": r.withDigests,
		})
		own = append(own, fmt.Sprintf("%s from %s to %s (%d h)", r.region, formatEvidenceTime(hourTime(r.run.start)), formatEvidenceTime(hourTime(r.run.end)), r.run.hours()))
	}
	slices.Sort(regions)
	regions = slices.Compact(regions)
	region, where := "", ""
	switch {
	case len(regions) == 1:
		region, where = regions[0], "region "+regions[0]
	case len(regions) == delivering:
		where = fmt.Sprintf("all %d regions that deliver", delivering)
	default:
		where = fmt.Sprintf("%d of the %d regions that deliver (%s)", len(regions), delivering, strings.Join(regions, ", "))
	}
	ev := map[string]any{
		"hours":            run.hours(),
		"regions":          regions,
		"region_runs":      runs,
		"digests_expected": withDigests,
		"coverage_percent": percent,
	}
	sev := Medium
	var detail strings.Builder
	if withDigests {
		sev = High
		fmt.Fprintf(&detail, "Nothing at all was delivered for account %s in %s from %s to %s (%d h): no log file and no digest, although digests arrive every hour even when nothing happens. ",
			a.Account, where, formatEvidenceTime(start), formatEvidenceTime(end), run.hours())
	} else {
		fmt.Fprintf(&detail, "No log file was delivered for account %s in %s from %s to %s (%d h), unusually long for how often it delivers; without digests (log file validation off) a quiet spell cannot be ruled out. ",
			a.Account, where, formatEvidenceTime(start), formatEvidenceTime(end), run.hours())
	}
	if len(cl.runs) > 1 && cl.span != cl.core {
		fmt.Fprintf(&detail, "Each region's own silence: %s. ", strings.Join(own, "; "))
		ev["span"] = map[string]any{"start": formatEvidenceTime(hourTime(cl.span.start)), "end": formatEvidenceTime(hourTime(cl.span.end)), "hours": cl.span.hours()}
	}
	switch {
	case run.start == lo && run.end == hi:
	case run.start == lo:
		sev = min(sev, Medium)
		ev["position"] = "start"
		detail.WriteString("Delivery begins only at the gap's end: the trail may have been created, or the account added, during the window. ")
	case run.end == hi:
		ev["position"] = "end"
		detail.WriteString("Delivery did not resume before the end of the archive. ")
	default:
		ev["position"] = "inside"
	}
	for _, r := range regions {
		for _, ld := range c.long[acctRegion{a.Account, r}] {
			if !ld.start.After(start) && !ld.end.Before(end) {
				ev["catch_up_digest"] = map[string]any{"object_key": ld.key, "window_start": formatEvidenceTime(ld.start), "window_end": formatEvidenceTime(ld.end)}
				fmt.Fprintf(&detail, "One digest (%s) spans the gap: CloudTrail delivered no hourly digest for these hours. ", ld.key)
				break
			}
		}
		if _, ok := ev["catch_up_digest"]; ok {
			break
		}
	}
	if c.logging != nil {
		stop, resume := c.logging.explainGap(a.Account, a.Trails, start, end)
		if stop != nil {
			ev["explained_by"] = changeRef(stop)
			fmt.Fprintf(&detail, "It follows %s by %s at %s (event %s). ", stop.name, stop.principal, formatEvidenceTime(stop.time), stop.eventID)
			linkGap(stop, a.Account, region, start, end)
		}
		if resume != nil {
			ev["resumed_by"] = changeRef(resume)
			fmt.Fprintf(&detail, "Delivery resumed after %s by %s at %s. ", resume.name, resume.principal, formatEvidenceTime(resume.time))
		}
	}
	title := fmt.Sprintf("Delivery gap of %d h in %s for account %s", run.hours(), cmp.Or(region, fmt.Sprintf("%d regions", len(regions))), a.Account)
	return Finding{
		Kind:     KindDeliveryGap,
		Severity: sev,
		Account:  a.Account,
		Region:   region,
		Start:    start,
		End:      end,
		Title:    title,
		Detail:   strings.TrimSpace(detail.String()),
		Evidence: ev,
	}
}

func changeRef(c *loggingChange) map[string]any {
	return map[string]any{
		"event_id":   c.eventID,
		"event_name": c.name,
		"event_time": formatEvidenceTime(c.time),
		"principal":  c.principal,
		"source_ip":  c.sourceIP,
	}
}

// linkGap records on a logging change's finding the gap it explains.
func linkGap(c *loggingChange, account, region string, start, end time.Time) {
	gaps, _ := c.evidence["delivery_gaps"].([]map[string]any)
	c.evidence["delivery_gaps"] = append(gaps, map[string]any{
		"account": account, "region": region,
		"start": formatEvidenceTime(start), "end": formatEvidenceTime(end),
	})
}

// notLogged reports an account's expected regions that delivered nothing
// in the window, with the likely cause; from and to bound the hours
// analysed.
func (c *coverage) notLogged(a *Account, percent float64, from, to time.Time) []Finding {
	if len(a.RegionsMissing) == 0 {
		return nil
	}
	partition := c.regions.PartitionOf(slices.Concat(a.RegionsDelivering, a.RegionsExpected))
	global := c.regions.GlobalRegion(partition)
	var homes []string
	sources := 0
	homeOnly := true
	for _, r := range a.RegionsDelivering {
		hs := c.homes[acctRegion{a.Account, r}]
		if len(hs) > 0 {
			sources++
			if !hs[r] {
				homeOnly = false
			}
		}
		homes = append(homes, sortedKeys(hs)...)
	}
	slices.Sort(homes)
	homes = slices.Compact(homes)
	anyDigests := sources > 0
	singleRegion := len(a.RegionsDelivering) == 1 || (anyDigests && homeOnly)

	if len(a.RegionsDelivering) == 0 {
		return []Finding{{
			Kind:     KindRegionNotLogged,
			Severity: High,
			Account:  a.Account,
			Start:    from,
			End:      to,
			Title:    "No region of account " + a.Account + " delivered in the window",
			Detail: fmt.Sprintf("Account %s has CloudTrail objects in the archive, but none in the window: none of its %d expected regions has a log file or a digest.",
				a.Account, len(a.RegionsMissing)),
			Evidence: map[string]any{
				"regions_missing": a.RegionsMissing,
				"regions_seen":    nonNilStrings(sortedKeys(c.seen[a.Account])),
				"trails":          nonNilStrings(a.Trails),
			},
		}}
	}

	var out []Finding
	for _, region := range a.RegionsMissing {
		reg := c.regions.Region(region)
		sev := High
		var cause, detail string
		switch {
		case c.seen[a.Account][region]:
			cause = "delivered outside the window only"
			detail = "The region has CloudTrail objects in the archive, but none in the window: delivery stopped before it or started after it."
			if reg.OptIn {
				sev = Medium
			}
		case reg.OptIn:
			sev = Medium
			cause = "region not enabled (opt-in)"
			detail = "It is an opt-in region: a multi-region trail logs it only once the account enables it."
		case c.relaid[a.Account]:
			sev = Medium
			cause = "not in this copy"
			detail = "The account's files were found by name outside the folders CloudTrail writes (an export or re-laid copy), which may hold only some of the regions delivered: whether the trail logged this region cannot be told from the copy."
		case singleRegion:
			cause = "single-region trail"
			detail = fmt.Sprintf("The account delivers only from %s (trail home regions: %s): its trail is probably single-region, and it records nothing done in %s.",
				strings.Join(a.RegionsDelivering, ", "), cmp.Or(strings.Join(homes, ", "), "unknown"), region)
		case !anyDigests:
			sev = Medium
			cause = "not logged, or quiet with log file validation off"
			detail = "The account has no digests, so a region where nothing happened cannot be told from one no trail covers."
		default:
			cause = "region left out of the account's trails"
			detail = "Other regions deliver digests every hour, so a trail covering this region would too: no trail covers it."
		}
		if region == global {
			detail += fmt.Sprintf(" Global-service events (IAM, STS, sign-in, CloudFront) are logged in %s, so they go unlogged too.", global)
		}
		ev := map[string]any{
			"likely_cause":       cause,
			"opt_in":             reg.OptIn,
			"regions_delivering": a.RegionsDelivering,
			"trails":             nonNilStrings(a.Trails),
			"home_regions":       nonNilStrings(homes),
			"coverage_percent":   percent,
		}
		if reg.Name != "" {
			ev["region_name"] = reg.Name
		}
		if region == global {
			ev["global_events_unlogged"] = true
		}
		out = append(out, Finding{
			Kind:     KindRegionNotLogged,
			Severity: sev,
			Account:  a.Account,
			Region:   region,
			Start:    from,
			End:      to,
			Title:    fmt.Sprintf("%s is not logged for account %s (%s)", region, a.Account, cause),
			Detail:   fmt.Sprintf("No log file and no digest from %s for account %s in the window. %s", region, a.Account, detail),
			Evidence: ev,
		})
	}
	return out
}

// peekAdd is hour h's cell of k held by day, plus cell.
func (c *coverage) peekAdd(k acctRegion, h int64, cell hourCell) hourCell {
	day := h / 24
	if h%24 < 0 {
		day--
	}
	if d := c.days[cellDay{k.account, k.region, day}]; d != nil {
		return d[h-day*24].add(cell)
	}
	return cell
}

// MarshalJSON writes the runs, as a list.
func (t *CoverageTable) MarshalJSON() ([]byte, error) {
	rows := t.Rows()
	if rows == nil {
		rows = []CoverageRun{}
	}
	return json.Marshal(rows)
}
