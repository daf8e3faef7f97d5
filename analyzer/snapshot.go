package analyzer

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"

	"github.com/trailcover/trailcover/ingest"
)

// A snapshot is everything an analysis accumulated, so that a later run
// can go on from it (Restore) and read only the objects not analyzed
// before. It holds observations, never findings: Finish makes the
// findings from the restored and new observations alike, so that they
// equal a full run's over the same objects.
//
// The format is a line "trailcover-state v1", then a gzip stream of one
// JSON document (stateFile). Every list is sorted and every map becomes a
// sorted list, so that the same analysis always gives the same bytes.
// Strings that come from the archive and may not be UTF-8 are written as
// {"b": base64} when they are not (rawText); object keys likewise
// (ledgerSnap.KeyBytes).
const stateMagic = "trailcover-state v1\n"

// stateMagicPrefix is what every version's first line begins with.
const stateMagicPrefix = "trailcover-state "

// dedupeDays is how many days of eventIDs, counted back from the newest
// log file, a snapshot keeps for telling duplicates apart. CloudTrail's
// duplicates (a record delivered twice, an event two trails log) arrive
// within hours of each other; a record delivered more than this long
// after a copy of it would be counted twice. It bounds the state: about
// 8 bytes per event of the last two weeks, not per event ever read.
const dedupeDays = 14

// maxStateSize bounds the decompressed size of a snapshot Restore reads.
const maxStateSize = 64 << 30

// ErrNotState is returned by Restore for data that is not a snapshot, or
// that is damaged (truncated, altered, of an unknown version).
var ErrNotState = errors.New("not a usable trailcover state")

// StateMismatchError is Restore's answer to a snapshot of an analysis
// made with other settings, which this run cannot go on with: its objects
// were read, filtered or aggregated differently.
type StateMismatchError struct {
	// Setting names what differs: "source", "bucket", "accounts" or
	// "allow regions".
	Setting string
	// State and Given are the snapshot's value and this run's.
	State, Given string
}

func (e *StateMismatchError) Error() string {
	return fmt.Sprintf("the state was made with %s %s, this run has %s", e.Setting, orNone(e.State), orNone(e.Given))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// stateFile is the snapshot's JSON document, its members in this order.
// The three lists that grow with the archive (event_ids, ledger and
// integrity's digests) are written and read one element at a time, never
// held whole in memory; WriteSnapshot and Restore leave them empty here.
type stateFile struct {
	Config    stateConfig    `json:"config"`
	Runs      []time.Time    `json:"runs"`
	Objects   objectsSnap    `json:"objects"`
	Records   recordsSnap    `json:"records"`
	NewestLog time.Time      `json:"newest_log"`
	Accounts  []accountSnap  `json:"accounts"`
	EventIDs  []eventDaySnap `json:"event_ids"`
	Ledger    []ledgerSnap   `json:"ledger"`
	Integrity integritySnap  `json:"integrity"`
	Coverage  coverageSnap   `json:"coverage"`
	Logging   loggingSnap    `json:"logging"`
	Allowlist allowlistSnap  `json:"allowlist"`
}

// stateConfig is the analysis's settings. Source, bucket, accounts and
// allow regions must match to go on; the window is the state's; the
// expected regions and public keys are recorded only, since Finish
// applies them afresh to every digest and account.
type stateConfig struct {
	Source        string    `json:"source"`
	Bucket        string    `json:"bucket"`
	Accounts      []string  `json:"accounts"`
	AllowRegions  []string  `json:"allow_regions"`
	ExpectRegions []string  `json:"expect_regions"`
	PublicKeys    []string  `json:"public_keys"`
	WindowStart   time.Time `json:"window_start"`
	WindowEnd     time.Time `json:"window_end"`
}

type objectsSnap struct {
	Listed       int `json:"listed"`
	LogFiles     int `json:"log_files"`
	DigestFiles  int `json:"digest_files"`
	InsightFiles int `json:"insight_files"`
	Network      int `json:"network_activity_files,omitempty"`
	Aggregated   int `json:"aggregated_files,omitempty"`
	Other        int `json:"other"`
	Unreadable   int `json:"unreadable"`
}

// snapObjects is what a snapshot keeps of the object counts: not the
// version history, which each run reads whole.
func snapObjects(o ObjectCounts) objectsSnap {
	return objectsSnap{Listed: o.Listed, LogFiles: o.LogFiles, DigestFiles: o.DigestFiles,
		InsightFiles: o.InsightFiles, Network: o.NetworkActivityFiles, Aggregated: o.AggregatedFiles, Other: o.Other, Unreadable: o.Unreadable}
}

type recordsSnap struct {
	Total      int `json:"total"`
	Duplicates int `json:"duplicates"`
	InWindow   int `json:"in_window"`
}

type accountSnap struct {
	Account    string   `json:"account"`
	OrgID      string   `json:"org_id,omitempty"`
	Trails     []string `json:"trails,omitempty"`
	Delivering []string `json:"delivering,omitempty"`
}

// eventDaySnap is the eventID hashes of one day, 8 bytes each, big-endian,
// ascending.
type eventDaySnap struct {
	Day    int32  `json:"day"`
	Hashes []byte `json:"hashes"`
}

type versionSnap struct {
	Size     int64  `json:"s"`
	ETag     string `json:"e,omitempty"`
	Modified int64  `json:"m,omitempty"`
	SHA256   string `json:"h"`
	Run      int32  `json:"r"`
}

type ledgerSnap struct {
	Key      string `json:"k,omitempty"`
	KeyBytes []byte `json:"kb,omitempty"`
	versionSnap
	Trailing int64        `json:"t,omitempty"`
	Err      rawText      `json:"err,omitempty"`
	TooLarge bool         `json:"big,omitempty"`
	Records  int          `json:"n,omitempty"`
	Seen     int32        `json:"seen"`
	Missing  int32        `json:"gone,omitempty"`
	First    *versionSnap `json:"first,omitempty"`
	Changes  int32        `json:"changes,omitempty"`
}

type integritySnap struct {
	Digests []digestSnap `json:"digests"`
}

type digestSnap struct {
	Key      string            `json:"key"`
	SHA256   string            `json:"sha256"`
	Trailing int64             `json:"trailing,omitempty"`
	Err      rawText           `json:"err,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Digest   *ingest.Digest    `json:"digest,omitempty"`
}

type coverageSnap struct {
	Days    []cellDaySnap    `json:"days"`
	Seen    []regionsSnap    `json:"seen"`
	Digests []regionsSnap    `json:"digests"`
	Homes   []homesSnap      `json:"homes"`
	Long    []longDigestSnap `json:"long"`
	NLong   int              `json:"n_long"`
}

// cellDaySnap is one account × region × day of coverage; each hour is
// log files, records, digests, listed log files and the minute mask.
type cellDaySnap struct {
	Account string       `json:"account"`
	Region  string       `json:"region"`
	Day     int64        `json:"day"`
	Hours   [24][5]int64 `json:"hours"`
}

type regionsSnap struct {
	Account string   `json:"account"`
	Regions []string `json:"regions"`
}

type homesSnap struct {
	Account string   `json:"account"`
	Region  string   `json:"region"`
	Homes   []string `json:"homes"`
}

type longDigestSnap struct {
	Account string    `json:"account"`
	Region  string    `json:"region"`
	Key     string    `json:"key"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

type loggingSnap struct {
	Changes      []changeSnap `json:"changes"`
	Dropped      int          `json:"dropped"`
	TrailBuckets []rawText    `json:"trail_buckets"`
	MovedTo      []rawText    `json:"moved_to"`
	Accounts     []globalSnap `json:"accounts"`
}

type changeSnap struct {
	Account      rawText         `json:"account"`
	Region       rawText         `json:"region"`
	Time         time.Time       `json:"time"`
	Source       rawText         `json:"source"`
	Name         rawText         `json:"name"`
	EventID      rawText         `json:"event_id"`
	Principal    rawText         `json:"principal"`
	UserType     rawText         `json:"user_type,omitempty"`
	AccessKey    rawText         `json:"access_key,omitempty"`
	SourceIP     rawText         `json:"source_ip,omitempty"`
	UserAgent    rawText         `json:"user_agent,omitempty"`
	ErrorCode    rawText         `json:"error_code,omitempty"`
	ErrorMessage rawText         `json:"error_message,omitempty"`
	Params       []byte          `json:"params,omitempty"`
	Request      json.RawMessage `json:"request,omitempty"`
	Expires      bool            `json:"expires,omitempty"`
	Bucket       rawText         `json:"bucket,omitempty"`
	Trail        rawText         `json:"trail,omitempty"`
	Object       rawText         `json:"object,omitempty"`
}

type globalSnap struct {
	Account  rawText     `json:"account"`
	Delivery []spanSnap  `json:"delivery"`
	Records  int         `json:"records"`
	Global   int         `json:"global"`
	Regional int         `json:"regional"`
	Sources  []countSnap `json:"sources"`
}

type spanSnap struct {
	Region string    `json:"region"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

type countSnap struct {
	Value rawText `json:"v"`
	Count int     `json:"n"`
}

type allowlistSnap struct {
	Activity []activitySnap `json:"activity"`
	Homes    []regionsSnap  `json:"homes"`
}

type activitySnap struct {
	Account       rawText      `json:"account"`
	Region        rawText      `json:"region"`
	Writes        int          `json:"writes"`
	Denied        int          `json:"denied"`
	Reads         int          `json:"reads"`
	Failures      int          `json:"failures"`
	Service       int          `json:"service"`
	ServiceWrites int          `json:"service_writes"`
	Exempt        int          `json:"exempt"`
	First         time.Time    `json:"first"`
	Last          time.Time    `json:"last"`
	Principals    counterSnap  `json:"principals"`
	IPs           counterSnap  `json:"ips"`
	Names         counterSnap  `json:"names"`
	Keys          counterSnap  `json:"keys"`
	Errors        counterSnap  `json:"errors"`
	Via           counterSnap  `json:"via"`
	Samples       []sampleSnap `json:"samples"`
}

type counterSnap struct {
	Values []countSnap `json:"values,omitempty"`
	Other  int         `json:"other,omitempty"`
}

type sampleSnap struct {
	Time time.Time `json:"time"`
	ID   rawText   `json:"id"`
}

// rawText is a string written exactly: as a JSON string when it is UTF-8,
// else as {"b": base64} (encoding/json would replace the invalid bytes).
type rawText string

type rawBytes struct {
	B []byte `json:"b"`
}

func (t rawText) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(t)) {
		return json.Marshal(string(t))
	}
	return json.Marshal(rawBytes{[]byte(t)})
}

func (t *rawText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var v rawBytes
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*t = rawText(v.B)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = rawText(s)
	return nil
}

// Snapshot returns everything the analysis accumulated (WriteSnapshot).
func (a *Analyzer) Snapshot() ([]byte, error) {
	var buf bytes.Buffer
	if err := a.WriteSnapshot(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteSnapshot writes everything the analysis accumulated to w, for
// Restore to go on from: the ledger of objects read, what every check
// gathered, the counts and the recent eventIDs. The Analyzer must keep
// state (Config.KeepState, or come from Restore). It may be called before
// or after Finish; the bytes depend only on what was observed.
func (a *Analyzer) WriteSnapshot(w io.Writer) error {
	if a.ledger == nil {
		return errors.New("snapshot: the analyzer keeps no state (Config.KeepState)")
	}
	st := &stateFile{
		Config:    stateConfigOf(a.cfg),
		Runs:      a.ledger.runs,
		Objects:   snapObjects(a.objects),
		Records:   recordsSnap{Total: a.records.Total, Duplicates: a.records.Duplicates, InWindow: a.records.InWindow},
		NewestLog: a.newestLog.UTC(),
	}
	st.Config.WindowStart, st.Config.WindowEnd = a.cfg.Window.Start.UTC(), a.cfg.Window.End.UTC()
	for _, id := range sortedKeys(a.accounts) {
		s := a.accounts[id]
		st.Accounts = append(st.Accounts, accountSnap{Account: id, OrgID: s.orgID, Trails: sortedKeys(s.trails), Delivering: sortedKeys(s.delivering)})
	}
	for _, c := range a.checks {
		c.save(st)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.WriteString(stateMagic); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	js := &jsonWriter{w: zw}
	js.member("{", "config", st.Config)
	js.member(",", "runs", st.Runs)
	js.member(",", "objects", st.Objects)
	js.member(",", "records", st.Records)
	js.member(",", "newest_log", st.NewestLog)
	js.member(",", "accounts", st.Accounts)
	js.list(",", "event_ids", a.eachEventDay)
	js.list(",", "ledger", a.ledger.each)
	js.raw(`,"integrity":`)
	js.list("{", "digests", a.integrity.eachDigest)
	js.raw("}")
	js.member(",", "coverage", st.Coverage)
	js.member(",", "logging", st.Logging)
	js.member(",", "allowlist", st.Allowlist)
	js.raw("}\n")
	if js.err != nil {
		return fmt.Errorf("snapshot: %w", js.err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// jsonWriter writes a JSON document piece by piece, keeping the first
// error.
type jsonWriter struct {
	w   io.Writer
	err error
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = io.WriteString(j.w, s)
	}
}

func (j *jsonWriter) value(v any) {
	if j.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	_, j.err = j.w.Write(b)
}

// member writes sep, the member's name and its value.
func (j *jsonWriter) member(sep, name string, v any) {
	j.raw(sep + `"` + name + `":`)
	j.value(v)
}

// list writes sep, the member's name and an array of what each yields.
func (j *jsonWriter) list(sep, name string, each func(yield func(any))) {
	j.raw(sep + `"` + name + `":[`)
	first := true
	each(func(v any) {
		if !first {
			j.raw(",")
		}
		first = false
		j.value(v)
	})
	j.raw("]")
}

// stateConfigOf returns the settings a snapshot records, normalized.
func stateConfigOf(cfg Config) stateConfig {
	return stateConfig{
		Source:        cfg.Source,
		Bucket:        cfg.Bucket,
		Accounts:      normalizeList(cfg.Accounts),
		AllowRegions:  normalizeList(cfg.AllowRegions),
		ExpectRegions: normalizeList(cfg.ExpectRegions),
		PublicKeys:    nonNilStrings(cfg.PublicKeys.Fingerprints()),
	}
}

func normalizeList(list []string) []string {
	out := []string{}
	for _, s := range list {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// eachEventDay yields the eventIDs of the dedupeDays days before the
// newest log file, a day at a time.
func (a *Analyzer) eachEventDay(yield func(any)) {
	oldest := int32(-1 << 31)
	if !a.newestLog.IsZero() {
		oldest = dayOf(a.newestLog) - dedupeDays
	}
	byDay := map[int32][]uint64{}
	a.seen.each(func(h uint64, d int32) {
		if d >= oldest {
			byDay[d] = append(byDay[d], h)
		}
	})
	days := make([]int32, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, d := range days {
		hashes := byDay[d]
		slices.Sort(hashes)
		b := make([]byte, 8*len(hashes))
		for i, h := range hashes {
			binary.BigEndian.PutUint64(b[8*i:], h)
		}
		delete(byDay, d)
		yield(eventDaySnap{Day: d, Hashes: b})
	}
}

// each yields every entry, by key.
func (l *ledger) each(yield func(any)) {
	keys := make([]string, 0, len(l.restored)+len(l.added))
	for k := range l.restored {
		keys = append(keys, k)
	}
	for k := range l.added {
		if l.restored[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := l.entry(k)
		s := ledgerSnap{
			versionSnap: saveVersion(&e.objectVersion),
			Trailing:    e.trailing,
			Err:         rawText(e.err),
			TooLarge:    e.tooLarge,
			Records:     e.records,
			Seen:        e.seen,
			Missing:     e.missing,
			Changes:     e.changes,
		}
		if utf8.ValidString(k) {
			s.Key = k
		} else {
			s.KeyBytes = []byte(k)
		}
		if e.first != nil {
			v := saveVersion(e.first)
			s.First = &v
		}
		yield(s)
	}
}

func saveVersion(v *objectVersion) versionSnap {
	return versionSnap{Size: v.size, ETag: v.etag, Modified: v.modified, SHA256: hex.EncodeToString(v.sha256[:]), Run: v.run}
}

// save adds nothing: integrity's digests are streamed (eachDigest).
func (in *integrity) save(*stateFile) {}

// eachDigest yields every digest as read, by key.
func (in *integrity) eachDigest(yield func(any)) {
	for _, key := range sortedKeys(in.digests) {
		d := in.digests[key]
		s := digestSnap{Key: d.key, SHA256: d.sumHex(), Trailing: d.trailing, Err: rawText(d.readErr), Digest: d.raw}
		if len(d.meta) > 0 {
			s.Metadata = d.meta
		}
		yield(s)
	}
}

func (c *coverage) save(st *stateFile) {
	cs := &st.Coverage
	// The state keeps cells by day: regions compacted at the end of
	// their scope (not done when keeping state) are laid out again.
	for _, k := range sortedAcctRegions(c.compact) {
		for _, r := range c.unpack(c.compact[k]) {
			for h := r.start; h < r.end(); h++ {
				*c.cell(k.account, k.region, h) = c.peekAdd(k, h, r.cell)
			}
		}
		delete(c.compact, k)
	}
	days := make([]cellDay, 0, len(c.days))
	for k := range c.days {
		days = append(days, k)
	}
	slices.SortFunc(days, func(x, y cellDay) int {
		return cmp.Or(cmp.Compare(x.account, y.account), cmp.Compare(x.region, y.region), cmp.Compare(x.day, y.day))
	})
	for _, k := range days {
		d := c.days[k]
		s := cellDaySnap{Account: k.account, Region: k.region, Day: k.day}
		for i, h := range d {
			s.Hours[i] = [5]int64{int64(h.logFiles), int64(h.records), int64(h.digests), int64(h.listed), int64(h.minutes)}
		}
		cs.Days = append(cs.Days, s)
	}
	for _, acct := range sortedKeys(c.seen) {
		cs.Seen = append(cs.Seen, regionsSnap{Account: acct, Regions: sortedKeys(c.seen[acct])})
	}
	byAccount := map[string][]string{}
	for k := range c.digests {
		byAccount[k.account] = append(byAccount[k.account], k.region)
	}
	for _, acct := range sortedKeys(byAccount) {
		regions := byAccount[acct]
		slices.Sort(regions)
		cs.Digests = append(cs.Digests, regionsSnap{Account: acct, Regions: regions})
	}
	for _, k := range sortedAcctRegions(c.homes) {
		cs.Homes = append(cs.Homes, homesSnap{Account: k.account, Region: k.region, Homes: sortedKeys(c.homes[k])})
	}
	for _, k := range sortedAcctRegions(c.long) {
		ds := slices.Clone(c.long[k])
		slices.SortFunc(ds, compareLong)
		for _, d := range ds {
			cs.Long = append(cs.Long, longDigestSnap{Account: k.account, Region: k.region, Key: d.key, Start: d.start.UTC(), End: d.end.UTC()})
		}
	}
	cs.NLong = c.nLong
}

func sortedAcctRegions[V any](m map[acctRegion]V) []acctRegion {
	keys := make([]acctRegion, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y acctRegion) int {
		return cmp.Or(cmp.Compare(x.account, y.account), cmp.Compare(x.region, y.region))
	})
	return keys
}

func (l *logging) save(st *stateFile) {
	ls := &st.Logging
	changes := slices.Clone(l.changes)
	slices.SortStableFunc(changes, compareChanges)
	for _, c := range changes {
		s := changeSnap{
			Account: rawText(c.account), Region: rawText(c.region), Time: c.time.UTC(),
			Source: rawText(c.source), Name: rawText(c.name), EventID: rawText(c.eventID),
			Principal: rawText(c.principal), UserType: rawText(c.userType), AccessKey: rawText(c.accessKey),
			SourceIP: rawText(c.sourceIP), UserAgent: rawText(c.userAgent),
			ErrorCode: rawText(c.errorCode), ErrorMessage: rawText(c.errorMessage),
			Params: c.params, Expires: c.expires,
			Bucket: rawText(c.bucket), Trail: rawText(c.trail), Object: rawText(c.object),
		}
		if c.request != nil {
			// Decoded from JSON, the map encodes back to equal values.
			s.Request, _ = json.Marshal(c.request)
		}
		ls.Changes = append(ls.Changes, s)
	}
	ls.Dropped = l.dropped
	ls.TrailBuckets = rawTexts(sortedKeys(l.trailBuckets))
	ls.MovedTo = rawTexts(sortedKeys(l.movedTo))
	for _, acct := range sortedKeys(l.accounts) {
		g := l.accounts[acct]
		s := globalSnap{Account: rawText(acct), Records: g.records, Global: g.global, Regional: g.regional}
		for _, r := range sortedKeys(g.delivery) {
			s.Delivery = append(s.Delivery, spanSnap{Region: r, First: g.delivery[r].first.UTC(), Last: g.delivery[r].last.UTC()})
		}
		for _, src := range sortedKeys(g.sources) {
			s.Sources = append(s.Sources, countSnap{Value: rawText(src), Count: g.sources[src]})
		}
		ls.Accounts = append(ls.Accounts, s)
	}
}

// compareChanges orders logging changes completely: finish's order, then
// every other field, so that snapshots do not depend on arrival order.
func compareChanges(a, b *loggingChange) int {
	return cmp.Or(a.time.Compare(b.time), cmp.Compare(a.eventID, b.eventID), cmp.Compare(a.account, b.account),
		cmp.Compare(a.object, b.object), cmp.Compare(a.source, b.source), cmp.Compare(a.name, b.name),
		cmp.Compare(a.principal, b.principal), cmp.Compare(a.region, b.region), bytes.Compare(a.params, b.params))
}

func rawTexts(s []string) []rawText {
	out := make([]rawText, len(s))
	for i, v := range s {
		out[i] = rawText(v)
	}
	return out
}

func (a *allowlist) save(st *stateFile) {
	as := &st.Allowlist
	for _, k := range sortedAcctRegions(a.activity) {
		o := a.activity[k]
		s := activitySnap{
			Account: rawText(k.account), Region: rawText(k.region),
			Writes: o.writes, Denied: o.denied, Reads: o.reads, Failures: o.failures,
			Service: o.service, ServiceWrites: o.serviceWrites, Exempt: o.exempt,
			First: o.first.UTC(), Last: o.last.UTC(),
			Principals: saveCounter(&o.principals), IPs: saveCounter(&o.ips), Names: saveCounter(&o.names),
			Keys: saveCounter(&o.keys), Errors: saveCounter(&o.errors), Via: saveCounter(&o.via),
		}
		for _, sm := range o.samples {
			s.Samples = append(s.Samples, sampleSnap{Time: sm.time.UTC(), ID: rawText(sm.id)})
		}
		as.Activity = append(as.Activity, s)
	}
	for _, acct := range sortedKeys(a.homes) {
		as.Homes = append(as.Homes, regionsSnap{Account: acct, Regions: sortedKeys(a.homes[acct])})
	}
}

func saveCounter(c *counter) counterSnap {
	s := counterSnap{Other: c.other}
	for _, v := range sortedKeys(c.counts) {
		s.Values = append(s.Values, countSnap{Value: rawText(v), Count: c.counts[v]})
	}
	return s
}

// Restore reads a snapshot (WriteSnapshot) and returns an Analyzer that
// goes on from it: the objects it records are not analyzed again
// (Unchanged, Observe), and Finish reports on everything observed before
// and after. cfg is this run's configuration; its window is replaced by
// the snapshot's, and KeepState is implied. A snapshot of another source,
// bucket, account filter or allowlist gives a *StateMismatchError; one
// that cannot be read gives an error wrapping ErrNotState. The lists that
// grow with the archive are read an element at a time.
func Restore(cfg Config, r io.Reader) (*Analyzer, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	// The header is short: a file without a line feed in its first 64 KB
	// is not a state (ReadSlice stops at the buffer's size).
	raw, err := br.ReadSlice('\n')
	line := string(raw)
	switch {
	case err != nil && err != io.EOF:
		return nil, fmt.Errorf("%w: %v", ErrNotState, err)
	case line == stateMagic:
	case strings.HasPrefix(line, stateMagicPrefix) && err == nil && len(line) < 64:
		return nil, fmt.Errorf("%w: the state is %s; this trailcover reads %s", ErrNotState,
			strings.TrimSpace(line), strings.TrimSpace(stateMagic))
	default:
		return nil, fmt.Errorf("%w: no trailcover-state header", ErrNotState)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, notState(err)
	}
	defer zr.Close()
	limited := &io.LimitedReader{R: zr, N: maxStateSize}
	sr := &stateReader{dec: json.NewDecoder(limited)}
	sr.dec.DisallowUnknownFields()
	var sc stateConfig
	if err := sr.delim('{'); err != nil {
		return nil, notState(err)
	}
	if err := sr.member("config", &sc); err != nil {
		return nil, notState(err)
	}
	given := stateConfigOf(cfg)
	for _, c := range []struct {
		setting     string
		state, this string
	}{
		{"source", sc.Source, given.Source},
		{"bucket", sc.Bucket, given.Bucket},
		{"accounts", strings.Join(normalizeList(sc.Accounts), ","), strings.Join(given.Accounts, ",")},
		{"allow regions", strings.Join(normalizeList(sc.AllowRegions), ","), strings.Join(given.AllowRegions, ",")},
	} {
		if c.state != c.this {
			return nil, &StateMismatchError{Setting: c.setting, State: c.state, Given: c.this}
		}
	}
	cfg.Window = ingest.Window{Start: sc.WindowStart, End: sc.WindowEnd}
	cfg.KeepState = true
	a := New(cfg)
	if err := a.load(sr); err != nil {
		return nil, notState(err)
	}
	// Nothing may follow but the newline; reading to the end checks
	// gzip's CRC.
	rest, err := io.ReadAll(io.MultiReader(sr.dec.Buffered(), limited))
	if err != nil {
		return nil, notState(err)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: data after the state", ErrNotState)
	}
	return a, nil
}

func notState(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: truncated", ErrNotState)
	}
	return fmt.Errorf("%w: %v", ErrNotState, err)
}

// stateReader reads the snapshot's document member by member, in the
// order WriteSnapshot writes them.
type stateReader struct {
	dec *json.Decoder
}

func (sr *stateReader) delim(d json.Delim) error {
	tok, err := sr.dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("%v where %v belongs", tok, d)
	}
	return nil
}

func (sr *stateReader) key(name string) error {
	tok, err := sr.dec.Token()
	if err != nil {
		return err
	}
	if tok != name {
		return fmt.Errorf("member %v where %q belongs", tok, name)
	}
	return nil
}

func (sr *stateReader) member(name string, v any) error {
	if err := sr.key(name); err != nil {
		return err
	}
	if err := sr.dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// list reads an array member, handing each element's decoder to elem.
func (sr *stateReader) list(name string, elem func(dec *json.Decoder) error) error {
	if err := sr.key(name); err != nil {
		return err
	}
	if err := sr.delim('['); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for sr.dec.More() {
		if err := elem(sr.dec); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return sr.delim(']')
}

// load fills a new Analyzer from a snapshot's members after config,
// checking what the code that uses them assumes.
func (a *Analyzer) load(sr *stateReader) error {
	var st stateFile
	if err := sr.member("runs", &st.Runs); err != nil {
		return err
	}
	if len(st.Runs) == 0 || len(st.Runs) > 1<<20 {
		return fmt.Errorf("%d runs", len(st.Runs))
	}
	runs := int32(len(st.Runs))
	a.ledger.runs = append(utcTimes(st.Runs), a.ledger.runs...)
	for _, m := range []struct {
		name string
		v    any
	}{{"objects", &st.Objects}, {"records", &st.Records}, {"newest_log", &st.NewestLog}, {"accounts", &st.Accounts}} {
		if err := sr.member(m.name, m.v); err != nil {
			return err
		}
	}
	a.objects = ObjectCounts{Listed: st.Objects.Listed, LogFiles: st.Objects.LogFiles, DigestFiles: st.Objects.DigestFiles,
		InsightFiles: st.Objects.InsightFiles, NetworkActivityFiles: st.Objects.Network, AggregatedFiles: st.Objects.Aggregated,
		Other: st.Objects.Other, Unreadable: st.Objects.Unreadable}
	a.records = RecordCounts{Total: st.Records.Total, Duplicates: st.Records.Duplicates, InWindow: st.Records.InWindow}
	a.newestLog = st.NewestLog
	for _, s := range st.Accounts {
		acct := a.account(s.Account)
		acct.orgID = s.OrgID
		for _, t := range s.Trails {
			acct.trails[t] = true
		}
		for _, r := range s.Delivering {
			acct.delivering[r] = true
		}
	}
	err := sr.list("event_ids", func(dec *json.Decoder) error {
		var d eventDaySnap
		if err := dec.Decode(&d); err != nil {
			return err
		}
		if len(d.Hashes)%8 != 0 {
			return fmt.Errorf("day %d: %d bytes", d.Day, len(d.Hashes))
		}
		for i := 0; i < len(d.Hashes); i += 8 {
			a.seen.add(binary.BigEndian.Uint64(d.Hashes[i:]), d.Day)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = sr.list("ledger", func(dec *json.Decoder) error {
		var s ledgerSnap
		if err := dec.Decode(&s); err != nil {
			return err
		}
		return a.ledger.load(&s, runs)
	})
	if err != nil {
		return err
	}
	if err := sr.key("integrity"); err != nil {
		return err
	}
	if err := sr.delim('{'); err != nil {
		return err
	}
	err = sr.list("digests", func(dec *json.Decoder) error {
		var s digestSnap
		if err := dec.Decode(&s); err != nil {
			return err
		}
		return a.integrity.loadDigest(&s)
	})
	if err != nil {
		return err
	}
	if err := sr.delim('}'); err != nil {
		return err
	}
	for _, m := range []struct {
		name string
		v    any
	}{{"coverage", &st.Coverage}, {"logging", &st.Logging}, {"allowlist", &st.Allowlist}} {
		if err := sr.member(m.name, m.v); err != nil {
			return err
		}
	}
	if err := sr.delim('}'); err != nil {
		return err
	}
	for _, key := range sortedKeys(a.ledger.restored) {
		e := a.ledger.restored[key]
		if e.kind != ingest.KindOther && e.err != "" {
			a.unreadable = append(a.unreadable, unreadableObject{
				key: e.key, loc: ingest.ParseKey(e.key), err: e.err, size: e.size, records: e.records, tooLarge: e.tooLarge,
			})
		}
	}
	for _, c := range a.checks {
		if err := c.load(&st); err != nil {
			return err
		}
	}
	return nil
}

func utcTimes(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.UTC()
	}
	return out
}

// load adds one entry of an earlier run.
func (l *ledger) load(s *ledgerSnap, runs int32) error {
	inRange := func(n int32, zero bool) bool { return (zero && n == 0) || (n >= 1 && n <= runs) }
	key := s.Key
	if s.KeyBytes != nil {
		key = string(s.KeyBytes)
	}
	if key == "" {
		return errors.New("an entry without a key")
	}
	if l.restored[key] != nil {
		return fmt.Errorf("%q twice", key)
	}
	e := &ledgerEntry{
		key:      key,
		kind:     ingest.ParseKey(key).Kind,
		trailing: s.Trailing,
		err:      string(s.Err),
		tooLarge: s.TooLarge,
		records:  s.Records,
		seen:     s.Seen,
		missing:  s.Missing,
		changes:  s.Changes,
	}
	var err error
	if e.objectVersion, err = loadVersion(&s.versionSnap); err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	if s.First != nil {
		v, err := loadVersion(s.First)
		if err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		if !inRange(v.run, false) {
			return fmt.Errorf("%q: run %d of %d", key, v.run, runs)
		}
		e.first = &v
	}
	if !inRange(e.run, false) || !inRange(e.seen, false) || !inRange(e.missing, true) {
		return fmt.Errorf("%q: runs %d, %d, %d of %d", key, e.run, e.seen, e.missing, runs)
	}
	l.restored[key] = e
	return nil
}

func loadVersion(s *versionSnap) (objectVersion, error) {
	v := objectVersion{size: s.Size, etag: s.ETag, modified: s.Modified, run: s.Run}
	sum, err := decodeSum(s.SHA256)
	v.sha256 = sum
	return v, err
}

func decodeSum(s string) ([32]byte, error) {
	var sum [32]byte
	if len(s) != 64 {
		return sum, fmt.Errorf("sha256 %q", s)
	}
	if _, err := hex.Decode(sum[:], []byte(s)); err != nil {
		return sum, fmt.Errorf("sha256 %q: %w", s, err)
	}
	return sum, nil
}

// load restores nothing: digests are read one by one (loadDigest).
func (in *integrity) load(*stateFile) error { return nil }

// loadDigest adds a digest an earlier run read, as it was read.
func (in *integrity) loadDigest(s *digestSnap) error {
	loc := ingest.ParseKey(s.Key)
	if loc.Kind != ingest.KindDigest {
		return fmt.Errorf("%q is not a digest key", s.Key)
	}
	if in.digests[s.Key] != nil {
		return fmt.Errorf("%q twice", s.Key)
	}
	sum, err := decodeSum(s.SHA256)
	if err != nil {
		return fmt.Errorf("%q: %w", s.Key, err)
	}
	r := &ingest.Result{
		Object:   ingest.Object{Key: s.Key},
		Location: loc,
		Metadata: s.Metadata,
		Body:     ingest.Body{SHA256: sum, Trailing: s.Trailing},
		Digest:   s.Digest,
	}
	if s.Err != "" {
		r.Err = errors.New(string(s.Err))
	}
	in.addDigest(r)
	return nil
}

func (c *coverage) load(st *stateFile) error {
	cs := &st.Coverage
	for _, s := range cs.Days {
		k := cellDay{s.Account, s.Region, s.Day}
		if c.days[k] != nil {
			return fmt.Errorf("coverage: %s %s day %d twice", s.Account, s.Region, s.Day)
		}
		d := new([24]hourCell)
		for i, h := range s.Hours {
			for _, n := range h[:4] {
				if n < 0 || n > 1<<31-1 {
					return fmt.Errorf("coverage: %s %s day %d: count %d", s.Account, s.Region, s.Day, n)
				}
			}
			if h[4] < 0 || h[4] > allMinutes {
				return fmt.Errorf("coverage: %s %s day %d: minutes %x", s.Account, s.Region, s.Day, h[4])
			}
			d[i] = hourCell{logFiles: int32(h[0]), records: int32(h[1]), digests: int32(h[2]), listed: int32(h[3]), minutes: uint64(h[4])}
		}
		c.days[k] = d
		ar := acctRegion{s.Account, s.Region}
		c.regionDays[ar] = append(c.regionDays[ar], s.Day)
	}
	for _, s := range cs.Seen {
		if c.seen[s.Account] == nil {
			c.seen[s.Account] = map[string]bool{}
		}
		for _, r := range s.Regions {
			c.seen[s.Account][r] = true
		}
	}
	for _, s := range cs.Digests {
		for _, r := range s.Regions {
			c.digests[acctRegion{s.Account, r}] = true
		}
	}
	for _, s := range cs.Homes {
		k := acctRegion{s.Account, s.Region}
		if c.homes[k] == nil {
			c.homes[k] = map[string]bool{}
		}
		for _, h := range s.Homes {
			c.homes[k][h] = true
		}
	}
	for _, s := range cs.Long {
		k := acctRegion{s.Account, s.Region}
		c.long[k] = append(c.long[k], longDigest{key: s.Key, start: s.Start, end: s.End})
	}
	c.nLong = cs.NLong
	return nil
}

func (l *logging) load(st *stateFile) error {
	ls := &st.Logging
	for _, s := range ls.Changes {
		call, ok := loggingCalls[string(s.Source)][string(s.Name)]
		if !ok {
			return fmt.Errorf("logging: %s %s is not a logging call", s.Source, s.Name)
		}
		c := &loggingChange{
			account: string(s.Account), region: string(s.Region), time: s.Time,
			source: string(s.Source), name: string(s.Name), call: call, eventID: string(s.EventID),
			principal: string(s.Principal), userType: string(s.UserType), accessKey: string(s.AccessKey),
			sourceIP: string(s.SourceIP), userAgent: string(s.UserAgent),
			errorCode: string(s.ErrorCode), errorMessage: string(s.ErrorMessage),
			params: s.Params, expires: s.Expires,
			bucket: string(s.Bucket), trail: string(s.Trail), object: string(s.Object),
		}
		if len(s.Request) > 0 {
			if err := json.Unmarshal(s.Request, &c.request); err != nil {
				return fmt.Errorf("logging: request of %s: %w", s.EventID, err)
			}
		}
		l.changes = append(l.changes, c)
	}
	l.dropped = ls.Dropped
	for _, b := range ls.TrailBuckets {
		l.trailBuckets[string(b)] = true
	}
	for _, b := range ls.MovedTo {
		l.movedTo[string(b)] = true
	}
	for _, s := range ls.Accounts {
		g := l.account(string(s.Account))
		g.records, g.global, g.regional = s.Records, s.Global, s.Regional
		for _, d := range s.Delivery {
			g.delivery[d.Region] = &span{first: d.First, last: d.Last}
		}
		for _, src := range s.Sources {
			g.sources[string(src.Value)] = src.Count
		}
	}
	return nil
}

func (a *allowlist) load(st *stateFile) error {
	as := &st.Allowlist
	for _, s := range as.Activity {
		o := &outsideActivity{
			writes: s.Writes, denied: s.Denied, reads: s.Reads, failures: s.Failures,
			service: s.Service, serviceWrites: s.ServiceWrites, exempt: s.Exempt,
			first: s.First, last: s.Last,
			principals: loadCounter(s.Principals), ips: loadCounter(s.IPs), names: loadCounter(s.Names),
			keys: loadCounter(s.Keys), errors: loadCounter(s.Errors), via: loadCounter(s.Via),
		}
		if len(s.Samples) > maxSamples {
			return fmt.Errorf("allowlist: %d samples", len(s.Samples))
		}
		for _, sm := range s.Samples {
			o.samples = append(o.samples, sample{time: sm.Time, id: string(sm.ID)})
		}
		a.activity[acctRegion{string(s.Account), string(s.Region)}] = o
	}
	for _, s := range as.Homes {
		if a.homes[s.Account] == nil {
			a.homes[s.Account] = map[string]bool{}
		}
		for _, r := range s.Regions {
			a.homes[s.Account][r] = true
		}
	}
	return nil
}

func loadCounter(s counterSnap) counter {
	c := counter{other: s.Other}
	for _, v := range s.Values {
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[string(v.Value)] = v.Count
	}
	return c
}
