package analyzer

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// history is what a versioned bucket's version history shows of CloudTrail
// objects: noncurrent versions and delete markers, from a scan with
// ingest.ScanOptions.Noncurrent after the current objects were observed.
// CloudTrail writes each object once and never deletes one, so every entry
// is an object deleted or written over, by a person or a lifecycle rule;
// deleted log files often survive here whole.
//
// Each finding about an object that has a history gets it as evidence,
// and the surviving version whose bytes a digest lists is named as the
// original. History nothing else reports is summed up per account and
// region in object-deleted and object-overwritten findings.
type history struct {
	keys map[string]*keyHistory
	// versions and markers count what was observed.
	versions, markers int
}

// keyHistory is the history of one key.
type keyHistory struct {
	key      string
	loc      ingest.Location
	versions []pastVersion
	markers  []deleteMarker
	// current tells whether the key's latest version is an object (not
	// a delete marker).
	current bool
	// reported: a finding about the key carries the history.
	reported bool
}

// pastVersion is one noncurrent version.
type pastVersion struct {
	id       string
	modified time.Time
	size     int64
	// sha256 is the hex SHA-256 of its decompressed bytes, as digests
	// hash log files ("" if it could not be read).
	sha256  string
	records int
	err     string
	verdict Verdict
}

type deleteMarker struct {
	id       string
	modified time.Time
	latest   bool
}

func newHistory() *history { return &history{keys: map[string]*keyHistory{}} }

// add records one noncurrent version or delete marker.
func (h *history) add(r *ingest.Result, v Verdict) {
	k := h.keys[r.Object.Key]
	if k == nil {
		k = &keyHistory{key: r.Object.Key, loc: r.Location, current: true}
		h.keys[r.Object.Key] = k
	}
	if r.Object.DeleteMarker {
		h.markers++
		k.markers = append(k.markers, deleteMarker{id: r.Object.VersionID, modified: r.Object.LastModified, latest: r.Object.IsLatest})
		if r.Object.IsLatest {
			k.current = false
		}
		return
	}
	h.versions++
	pv := pastVersion{id: r.Object.VersionID, modified: r.Object.LastModified, size: r.Object.Size, records: len(r.Records), verdict: v}
	if r.Body.SHA256 != ([32]byte{}) {
		pv.sha256 = hex.EncodeToString(r.Body.SHA256[:])
	}
	if r.Err != nil {
		pv.err = r.Err.Error()
	}
	k.versions = append(k.versions, pv)
}

// sorted orders a key's versions and markers newest first, whatever the
// order they arrived in.
func (k *keyHistory) sorted() {
	slices.SortFunc(k.versions, func(a, b pastVersion) int {
		return cmp.Or(b.modified.Compare(a.modified), cmp.Compare(a.id, b.id))
	})
	slices.SortFunc(k.markers, func(a, b deleteMarker) int {
		return cmp.Or(b.modified.Compare(a.modified), cmp.Compare(a.id, b.id))
	})
}

// deletedAt is when the key was deleted: its latest delete marker.
func (k *keyHistory) deletedAt() (deleteMarker, bool) {
	for _, m := range k.markers {
		if m.latest {
			return m, true
		}
	}
	return deleteMarker{}, false
}

// evidence is the key's history as finding evidence.
func (k *keyHistory) evidence() map[string]any {
	ev := map[string]any{}
	if m, ok := k.deletedAt(); ok {
		ev["deleted_at"] = stamp(m.modified)
		ev["delete_marker_version_id"] = m.id
	}
	var versions []map[string]any
	for _, v := range k.versions {
		e := map[string]any{
			"version_id":    v.id,
			"last_modified": stamp(v.modified),
			"size":          v.size,
			"sha256":        v.sha256,
			"records":       v.records,
			"integrity":     string(v.verdict),
		}
		if v.err != "" {
			e["error"] = v.err
		}
		versions = append(versions, e)
	}
	if len(versions) > 0 {
		ev["noncurrent_versions"] = versions
	}
	if len(k.markers) > 0 {
		ev["delete_markers"] = len(k.markers)
	}
	return ev
}

// original is the newest noncurrent version whose decompressed bytes hash
// to sum.
func (k *keyHistory) original(sum string) *pastVersion {
	if sum == "" {
		return nil
	}
	for i := range k.versions {
		if k.versions[i].sha256 == sum {
			return &k.versions[i]
		}
	}
	return nil
}

// historyKeys are the evidence fields that name the object a finding is
// about.
var historyKeys = []string{"object_key", "missing_key"}

// annotate adds each key's history to the findings about it, and returns
// the findings for history no other finding reports.
func (h *history) annotate(findings []Finding, window ingest.Window) []Finding {
	if len(h.keys) == 0 {
		return nil
	}
	for _, k := range h.keys {
		k.sorted()
	}
	for i := range findings {
		f := &findings[i]
		for _, field := range historyKeys {
			key, _ := f.Evidence[field].(string)
			k := h.keys[key]
			if k == nil {
				continue
			}
			k.reported = true
			for name, v := range k.evidence() {
				f.Evidence[name] = v
			}
			var says []string
			if m, ok := k.deletedAt(); ok {
				says = append(says, "The bucket's version history shows it deleted at "+stamp(m.modified)+" (delete marker "+m.id+").")
			}
			want, _ := f.Evidence["expected_sha256"].(string)
			if o := k.original(want); o != nil {
				f.Evidence["original_version_id"] = o.id
				what := "the bytes the digest lists: the original survives, and its records are in the events table with object_version_id " + o.id + "."
				if k.loc.Kind == ingest.KindDigest {
					what = "the bytes the next digest recorded: the original digest survives."
				}
				says = append(says, "Noncurrent version "+o.id+" (stored "+stamp(o.modified)+") holds "+what)
			} else if len(k.versions) > 0 && want != "" {
				says = append(says, fmt.Sprintf("%d noncurrent version(s) survive; none has the expected bytes (SHA-256 %s).", len(k.versions), want))
			} else if len(k.versions) > 0 {
				says = append(says, fmt.Sprintf("%d noncurrent version(s) survive (evidence: noncurrent_versions).", len(k.versions)))
			}
			if len(says) > 0 {
				f.Detail = strings.TrimSpace(f.Detail + " " + strings.Join(says, " "))
			}
			break
		}
	}
	return h.unreported(window)
}

// unreported sums up, per account and region, the keys no finding
// carries: deleted ones (latest version a delete marker) and ones written
// over (noncurrent versions under a current object).
func (h *history) unreported(window ingest.Window) []Finding {
	type group struct {
		deleted, overwritten []*keyHistory
	}
	groups := map[[2]string]*group{}
	for _, k := range h.keys {
		if k.reported || k.loc.Kind == ingest.KindOther {
			continue
		}
		if !k.loc.Time.IsZero() && !window.Contains(k.loc.Time) {
			continue
		}
		_, deleted := k.deletedAt()
		if !deleted && len(k.versions) == 0 {
			continue // markers buried under a current version: restored
		}
		g := groups[[2]string{k.loc.Account, k.loc.Region}]
		if g == nil {
			g = &group{}
			groups[[2]string{k.loc.Account, k.loc.Region}] = g
		}
		if deleted {
			g.deleted = append(g.deleted, k)
		} else {
			g.overwritten = append(g.overwritten, k)
		}
	}
	var out []Finding
	for ar, g := range groups {
		if len(g.deleted) > 0 {
			out = append(out, historyFinding(KindObjectDeleted, ar, g.deleted))
		}
		if len(g.overwritten) > 0 {
			out = append(out, historyFinding(KindObjectOverwritten, ar, g.overwritten))
		}
	}
	return out
}

// historyFinding is one account and region's deleted or overwritten keys.
func historyFinding(kind string, ar [2]string, keys []*keyHistory) Finding {
	slices.SortFunc(keys, func(a, b *keyHistory) int { return strings.Compare(a.key, b.key) })
	var first, last time.Time
	var names []string
	digests, recoverable := 0, 0
	for _, k := range keys {
		names = append(names, k.key)
		if k.loc.Kind == ingest.KindDigest {
			digests++
		}
		if len(k.versions) > 0 {
			recoverable++
		}
		for _, t := range whenChanged(k) {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	f := Finding{
		Kind:     kind,
		Severity: Medium,
		Account:  ar[0],
		Region:   ar[1],
		Start:    first,
		End:      last,
		Evidence: map[string]any{
			"objects":      len(keys),
			"digest_files": digests,
			"object_keys":  capKeys(names),
		},
	}
	if digests > 0 {
		// Digests are what proves the log files: removing or rewriting
		// one is aimed at validation.
		f.Severity = High
	}
	span := ""
	if !first.IsZero() {
		span = " between " + stamp(first) + " and " + stamp(last)
	}
	switch kind {
	case KindObjectDeleted:
		f.Title = fmt.Sprintf("%d CloudTrail object(s) deleted in %s %s", len(keys), ar[0], ar[1])
		f.Detail = fmt.Sprintf("The bucket's version history holds delete markers over %d CloudTrail object(s)%s; %d of them survive as noncurrent versions. "+
			"CloudTrail never deletes what it delivered: a person or a lifecycle expiration rule did (see logging-changed findings for lifecycle changes).", len(keys), span, recoverable)
		f.Evidence["recoverable"] = recoverable
	case KindObjectOverwritten:
		f.Title = fmt.Sprintf("%d CloudTrail object(s) written over in %s %s", len(keys), ar[0], ar[1])
		f.Detail = fmt.Sprintf("%d CloudTrail object(s) have noncurrent versions%s: they were written more than once, which CloudTrail never does. "+
			"The earlier versions survive; their records are in the events table with their object_version_id.", len(keys), span)
	}
	return f
}

// whenChanged is when a key's history says it was deleted or written over:
// its delete markers, and its versions after the first (each such write
// replaced the one before).
func whenChanged(k *keyHistory) []time.Time {
	var out []time.Time
	for _, m := range k.markers {
		out = append(out, m.modified)
	}
	if len(k.versions) > 0 && len(k.markers) == 0 {
		// Sorted newest first: the newest noncurrent version was
		// replaced by the current one, at an unknown time after it.
		out = append(out, k.versions[0].modified)
	}
	return out
}
