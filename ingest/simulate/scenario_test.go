package simulate

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// scenarioChecks verify, for each scenario, that the archive holds what
// the truth says it planted, reading only the archive's files.
var scenarioChecks = map[string]func(t *testing.T, a *archive, s *ScenarioTruth){
	ScenarioRegionNotLogged:  checkRegionNotLogged,
	ScenarioDeliveryGap:      checkDeliveryGap,
	ScenarioLoggingStopped:   checkLoggingStopped,
	ScenarioCryptoMining:     checkActivity,
	ScenarioSnapshotExfil:    checkActivity,
	ScenarioDeniedAttempts:   checkActivity,
	ScenarioLogDeleted:       checkLogDeleted,
	ScenarioLogModified:      checkLogModified,
	ScenarioLogInjected:      checkLogInjected,
	ScenarioDigestDeleted:    checkDigestsDeleted,
	ScenarioDigestsDeleted:   checkDigestsDeleted,
	ScenarioBadSignature:     checkBadSignature,
	ScenarioSignatureRemoved: checkSignatureRemoved,
	ScenarioDigestForged:     checkDigestForged,
	ScenarioTailCut:          checkTailCut,
	ScenarioGlobalEventsOff:  checkGlobalEventsOff,
	ScenarioDuplicateEvents:  checkDuplicates,
	ScenarioNoiseObjects:     checkNoise,
	ScenarioCorruptObjects:   checkCorrupt,
}

func TestScenarios(t *testing.T) {
	for _, k := range scenarioKinds {
		if scenarioChecks[k.name] == nil {
			t.Errorf("scenario %s has no check", k.name)
		}
	}
	forEachArchive(t, func(t *testing.T, a *archive) {
		for i := range a.truth.Scenarios {
			s := &a.truth.Scenarios[i]
			t.Run(s.Name, func(t *testing.T) {
				if !s.Applied {
					t.Fatalf("not applied: %+v", s)
				}
				scenarioChecks[s.Name](t, a, s)
			})
		}
	})
}

// records returns every readable record of account in region, by key.
func (a *archive) records(account, region string) map[string][]ingest.Record {
	out := map[string][]ingest.Record{}
	for key, l := range a.logs {
		if l.loc.Account == account && (region == "" || l.loc.Region == region) && l.err == nil {
			out[key] = l.records
		}
	}
	return out
}

// listedBy returns the digest on disk that lists key, or nil.
func (a *archive) listedBy(key string) *ingest.DigestFile {
	for _, d := range a.digests {
		if d.err != nil {
			continue
		}
		for i, f := range d.digest.LogFiles {
			if f.S3Object == key {
				return &d.digest.LogFiles[i]
			}
		}
	}
	return nil
}

func checkRegionNotLogged(t *testing.T, a *archive, s *ScenarioTruth) {
	acct := a.truth.Account(s.Account)
	if acct.MultiRegion || !slices.Equal(acct.RegionsLogged, []string{s.Region}) || acct.HomeRegion != s.Region {
		t.Errorf("account truth %+v, want a single-region trail in %s", acct, s.Region)
	}
	for _, r := range acct.RegionsEnabled {
		if r != s.Region && !slices.Contains(acct.RegionsNotLogged, r) {
			t.Errorf("region %s neither logged nor in regions_not_logged", r)
		}
	}
	for key := range a.files {
		loc := ingest.ParseKey(key)
		if loc.Account == s.Account && loc.Kind != ingest.KindOther && loc.Region != s.Region {
			t.Errorf("%s: object of an unlogged region", key)
		}
	}
	if (s.Region == "us-east-1") != acct.GlobalEvents {
		t.Errorf("global events %v for a single-region trail in %s", acct.GlobalEvents, s.Region)
	}
}

func checkDeliveryGap(t *testing.T, a *archive, s *ScenarioTruth) {
	from, to := s.At, s.At.Add(time.Duration(s.Hours)*time.Hour)
	c := a.truth.Chain(s.Account, s.Region)
	if len(c.Gaps) != 1 || c.Gaps[0].Start != formatTime(from) || c.Gaps[0].End != formatTime(to) {
		t.Errorf("chain gaps %v, want [%s, %s)", c.Gaps, from, to)
	}
	var before, after *ingest.Digest
	for key, mt := range a.mtimes {
		loc := ingest.ParseKey(key)
		if loc.Account != s.Account || loc.Region != s.Region || loc.Kind == ingest.KindOther {
			continue
		}
		if !mt.Before(from) && mt.Before(to) {
			t.Errorf("%s delivered at %s, inside the gap", key, mt)
		}
		if loc.Kind == ingest.KindDigest {
			d := a.digests[key].digest
			if !loc.Time.After(from) && (before == nil || d.DigestEndTime > before.DigestEndTime) {
				before = d
			}
			if !loc.Time.Before(to) && (after == nil || d.DigestEndTime < after.DigestEndTime) {
				after = d
			}
		}
	}
	if before == nil || after == nil {
		t.Fatalf("no digests around the gap")
	}
	if after.IsStart() || *after.PreviousDigestS3Object != before.DigestS3Object || after.DigestStartTime != before.DigestEndTime {
		t.Errorf("digest after the gap %s (start %s) does not continue %s (end %s)", after.DigestS3Object, after.DigestStartTime, before.DigestS3Object, before.DigestEndTime)
	}
	if c.RecordsLost == 0 {
		t.Errorf("no records lost in the gap")
	}
}

func checkLoggingStopped(t *testing.T, a *archive, s *ScenarioTruth) {
	acct := a.truth.Account(s.Account)
	if len(acct.LoggingStops) != 1 {
		t.Fatalf("logging stops %v", acct.LoggingStops)
	}
	ls := acct.LoggingStops[0]
	stop := s.At
	restart := stop.Add(time.Duration(s.Hours) * time.Hour)
	if ls.Stopped != formatTime(stop) {
		t.Errorf("stopped %s, want %s", ls.Stopped, formatTime(stop))
	}
	found := map[string]string{}
	for _, recs := range a.records(s.Account, "") {
		for _, r := range recs {
			if r.Time.After(stop) && r.Time.Before(restart) {
				t.Errorf("record %s %s at %s while logging was stopped", r.EventID, r.EventName, r.Time)
			}
			if r.EventID == ls.StopEventID || r.EventID == ls.StartEventID {
				found[r.EventName] = r.EventID
				if r.AWSRegion != acct.HomeRegion || r.EventSource != "cloudtrail.amazonaws.com" {
					t.Errorf("%s in %s from %s", r.EventName, r.AWSRegion, r.EventSource)
				}
			}
		}
	}
	if found["StopLogging"] != ls.StopEventID {
		t.Errorf("StopLogging %s not found", ls.StopEventID)
	}
	restarted := ls.Restarted != ""
	if restarted && (ls.Restarted != formatTime(restart) || found["StartLogging"] != ls.StartEventID) {
		t.Errorf("restarted %s (StartLogging %s found %q), want %s", ls.Restarted, ls.StartEventID, found["StartLogging"], formatTime(restart))
	}
	for _, c := range a.truth.Chains {
		if c.Account != s.Account {
			continue
		}
		want := 1
		if restarted {
			want = 2
		}
		if c.ChainStarts != want {
			t.Errorf("chain %s: %d starting digests, want %d", c.Region, c.ChainStarts, want)
		}
		for _, k := range c.StartDigests[1:] {
			d := a.digests[k]
			if d == nil {
				continue
			}
			if d.digest.DigestStartTime != ls.Restarted {
				t.Errorf("%s: restarted chain starts at %s, want %s", k, d.digest.DigestStartTime, ls.Restarted)
			}
		}
	}
}

// checkActivity compares the planted records with the activity truth.
func checkActivity(t *testing.T, a *archive, s *ScenarioTruth) {
	byID := map[string]ingest.Record{}
	for _, recs := range a.records(s.Account, "") {
		for _, r := range recs {
			byID[r.EventID] = r
		}
	}
	var acts []ActivityTruth
	for _, at := range a.truth.Activity {
		if at.Scenario == s.Name && at.Account == s.Account {
			acts = append(acts, at)
		}
	}
	var outside *ActivityTruth
	for i := range acts {
		at := &acts[i]
		if at.Region == s.Region {
			outside = at
		}
		var got ActivityTruth
		for _, id := range at.EventIDs {
			r, ok := byID[id]
			if !ok {
				t.Errorf("event %s not in the archive", id)
				continue
			}
			if r.AWSRegion != at.Region {
				t.Errorf("event %s in %s, want %s", id, r.AWSRegion, at.Region)
			}
			var fail *errorSpec
			if r.ErrorCode != "" {
				fail = &errorSpec{code: r.ErrorCode}
			}
			switch classify(r.ReadOnly.Value, fail) {
			case classSucceededWrite:
				got.SucceededWrites++
			case classFailedWrite:
				got.FailedWrites++
			case classDenied:
				got.Denied++
			case classReadOnly:
				got.ReadOnly++
			}
		}
		if got.SucceededWrites != at.SucceededWrites || got.FailedWrites != at.FailedWrites || got.Denied != at.Denied || got.ReadOnly != at.ReadOnly {
			t.Errorf("%s: decoded %d/%d/%d/%d (succeeded/failed/denied/read-only), truth %d/%d/%d/%d", at.Region,
				got.SucceededWrites, got.FailedWrites, got.Denied, got.ReadOnly, at.SucceededWrites, at.FailedWrites, at.Denied, at.ReadOnly)
		}
		if at.OutsideAllowlist == slices.Contains(a.truth.Config.Regions, at.Region) {
			t.Errorf("%s: outside_allowlist %v", at.Region, at.OutsideAllowlist)
		}
	}
	if outside == nil || !outside.OutsideAllowlist {
		t.Fatalf("no activity outside the allowlist in %s: %+v", s.Region, acts)
	}
	names := map[string]int{}
	for _, id := range outside.EventIDs {
		r := byID[id]
		if r.ErrorCode == "" {
			names[r.EventName]++
		}
	}
	switch s.Name {
	case ScenarioCryptoMining:
		if names["RunInstances"] != s.Count || outside.FailedWrites != 1 {
			t.Errorf("%d succeeded RunInstances and %d failed writes, want %d and 1", names["RunInstances"], outside.FailedWrites, s.Count)
		}
		for _, id := range outside.EventIDs {
			r := byID[id]
			if r.EventName == "RunInstances" && r.ErrorCode == "" && !strings.Contains(string(r.RequestParameters), `"instanceType":"p`) && !strings.Contains(string(r.RequestParameters), `"instanceType":"g`) {
				t.Errorf("RunInstances of no GPU type: %s", r.RequestParameters)
			}
		}
	case ScenarioSnapshotExfil:
		for _, n := range []string{"CopySnapshot", "CopyDBSnapshot", "RestoreDBInstanceFromDBSnapshot"} {
			if names[n] != 1 {
				t.Errorf("%d %s in %s, want 1", names[n], n, s.Region)
			}
		}
		if len(acts) != 2 {
			t.Errorf("activity in %d regions, want the source and %s", len(acts), s.Region)
		}
	case ScenarioDeniedAttempts:
		if outside.Denied != s.Count || len(outside.EventIDs) != s.Count {
			t.Errorf("%d denied of %d events, want %d", outside.Denied, len(outside.EventIDs), s.Count)
		}
	}
}

func checkLogDeleted(t *testing.T, a *archive, s *ScenarioTruth) {
	if len(s.Objects) != s.Count {
		t.Fatalf("%d objects, want %d", len(s.Objects), s.Count)
	}
	for _, key := range s.Objects {
		if _, ok := a.files[key]; ok {
			t.Errorf("%s is on disk", key)
		}
		if a.listedBy(key) == nil {
			t.Errorf("%s is listed by no digest", key)
		}
		if !slices.Contains(a.truth.Chain(s.Account, s.Region).DeletedLogs, key) {
			t.Errorf("%s not in the chain's deleted_logs", key)
		}
	}
}

func checkLogModified(t *testing.T, a *archive, s *ScenarioTruth) {
	for _, key := range s.Objects {
		l := a.logs[key]
		if l == nil || l.err != nil {
			t.Fatalf("%s: missing or unreadable", key)
		}
		f := a.listedBy(key)
		if f == nil {
			t.Fatalf("%s is listed by no digest", key)
		}
		if hex.EncodeToString(l.body.SHA256[:]) == f.HashValue {
			t.Errorf("%s: hash still matches the digest", key)
		}
		for _, r := range l.records {
			if slices.Contains(s.EventIDs, r.EventID) {
				t.Errorf("%s: removed event %s still there", key, r.EventID)
			}
		}
	}
}

func checkLogInjected(t *testing.T, a *archive, s *ScenarioTruth) {
	var ids []string
	for _, key := range s.Objects {
		l := a.logs[key]
		if l == nil || l.err != nil || len(l.records) == 0 {
			t.Fatalf("%s: missing or unreadable", key)
		}
		if a.listedBy(key) != nil {
			t.Errorf("%s is listed by a digest", key)
		}
		for _, r := range l.records {
			ids = append(ids, r.EventID)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, s.EventIDs) {
		t.Errorf("event IDs %v, truth %v", ids, s.EventIDs)
	}
}

func checkDigestsDeleted(t *testing.T, a *archive, s *ScenarioTruth) {
	want := s.Count
	if s.Name == ScenarioDigestDeleted {
		want = 1
	}
	if len(s.Objects) != want {
		t.Fatalf("%d digests deleted, want %d", len(s.Objects), want)
	}
	for _, key := range s.Objects {
		if _, ok := a.files[key]; ok {
			t.Errorf("%s is on disk", key)
		}
	}
	// The digest after the run points to the last deleted one; following
	// the deleted ones back is impossible, their end times are hourly.
	last := s.Objects[len(s.Objects)-1]
	pointed := false
	for _, d := range a.digests {
		if p := d.digest.PreviousDigestS3Object; p != nil && *p == last {
			pointed = true
		}
	}
	if !pointed {
		t.Errorf("no digest points to %s", last)
	}
	for i := 1; i < len(s.Objects); i++ {
		t0 := ingest.ParseKey(s.Objects[i-1]).Time
		t1 := ingest.ParseKey(s.Objects[i]).Time
		if t1.Sub(t0) != time.Hour {
			t.Errorf("deleted digests %s and %s are not consecutive", s.Objects[i-1], s.Objects[i])
		}
	}
}

func checkBadSignature(t *testing.T, a *archive, s *ScenarioTruth) {
	for _, key := range s.Objects {
		d := a.digests[key]
		if d == nil {
			t.Fatalf("%s missing", key)
		}
		if err := a.verify(d, a.sidecars[key].Metadata["signature"]); err == nil {
			t.Errorf("%s: the sidecar's signature verifies", key)
		}
	}
}

func checkSignatureRemoved(t *testing.T, a *archive, s *ScenarioTruth) {
	if len(s.Objects) != s.Count {
		t.Fatalf("%d digests unsigned, want %d", len(s.Objects), s.Count)
	}
	for _, key := range s.Objects {
		d := a.digests[key]
		if d == nil || d.err != nil {
			t.Fatalf("%s missing or unreadable", key)
		}
		if sc, ok := a.sidecars[key]; ok && sc.Metadata["signature"] != "" {
			t.Errorf("%s still has a signature in its metadata", key)
		}
		// The bytes are CloudTrail's: the signature the next digest
		// records for it verifies them.
		for _, next := range a.digests {
			if next.err == nil && next.digest.PreviousDigestS3Object != nil && *next.digest.PreviousDigestS3Object == key {
				if err := a.verify(d, *next.digest.PreviousDigestSignature); err != nil {
					t.Errorf("%s: the signature %s records does not verify it: %v", key, next.loc.Key, err)
				}
			}
		}
		if ct := a.truth.Chain(s.Account, s.Region); !slices.Contains(ct.UnsignedDigests, key) {
			t.Errorf("%s not among the chain's unsigned digests %v", key, ct.UnsignedDigests)
		}
	}
}

func checkDigestForged(t *testing.T, a *archive, s *ScenarioTruth) {
	var forged, injected []string
	for _, key := range s.Objects {
		switch ingest.ParseKey(key).Kind {
		case ingest.KindDigest:
			forged = append(forged, key)
		case ingest.KindLog:
			injected = append(injected, key)
		}
	}
	if len(forged) != 1 || len(injected) != s.Count {
		t.Fatalf("objects %v: want one digest and %d log files", s.Objects, s.Count)
	}
	d := a.digests[forged[0]]
	if d == nil || d.err != nil || !d.loc.Backfill {
		t.Fatalf("%s: not a readable backfill digest on disk", forged[0])
	}
	if sc, ok := a.sidecars[forged[0]]; ok && sc.Metadata["signature"] != "" {
		t.Errorf("%s has a signature", forged[0])
	}
	if _, ok := a.pubKeys[d.digest.DigestPublicKeyFingerprint]; !ok {
		t.Errorf("%s: fingerprint %s is not the trail's key", forged[0], d.digest.DigestPublicKeyFingerprint)
	}
	var listed []string
	for _, f := range d.digest.LogFiles {
		listed = append(listed, f.S3Object)
		body := a.logs[f.S3Object]
		if body == nil || body.err != nil {
			t.Fatalf("%s lists %s, missing or unreadable", forged[0], f.S3Object)
		}
		if got := hex.EncodeToString(body.body.SHA256[:]); got != f.HashValue {
			t.Errorf("%s lists %s with hash %s, its content hashes to %s", forged[0], f.S3Object, f.HashValue, got)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, injected) {
		t.Errorf("%s lists %v, the scenario injected %v", forged[0], listed, injected)
	}
	for _, key := range injected {
		for dk, od := range a.digests {
			if dk == forged[0] || od.err != nil {
				continue
			}
			for _, f := range od.digest.LogFiles {
				if f.S3Object == key {
					t.Errorf("%s, injected, is listed by %s", key, dk)
				}
			}
		}
	}
}

func checkTailCut(t *testing.T, a *archive, s *ScenarioTruth) {
	acct := a.truth.Account(s.Account)
	end, _ := time.Parse(time.RFC3339, a.truth.Window.End)
	for _, region := range acct.RegionsLogged {
		ct := a.truth.Chain(s.Account, region)
		cut, err := time.Parse(time.RFC3339, ct.Cut)
		if err != nil {
			t.Fatalf("%s: cut %q: %v", region, ct.Cut, err)
		}
		if !cut.Before(end.Add(-time.Duration(s.Hours-1) * time.Hour)) {
			t.Errorf("%s: cut at %s, not %d hours before the window's end %s", region, ct.Cut, s.Hours, a.truth.Window.End)
		}
		newest := time.Time{}
		for key, d := range a.digests {
			if d.loc.Account != s.Account || d.loc.Region != region || d.err != nil {
				continue
			}
			de, _ := time.Parse(time.RFC3339, d.digest.DigestEndTime)
			if de.After(cut) {
				t.Errorf("%s ends %s, after the cut %s", key, d.digest.DigestEndTime, ct.Cut)
			}
			if de.After(newest) {
				newest = de
			}
		}
		if !newest.Equal(cut) {
			t.Errorf("%s: newest digest ends %s, want the cut %s", region, newest, cut)
		}
		for key, l := range a.logs {
			if l.loc.Account == s.Account && l.loc.Region == region && l.loc.Time.After(cut) {
				t.Errorf("%s: log file named after the cut %s", key, ct.Cut)
			}
		}
	}
}

func checkGlobalEventsOff(t *testing.T, a *archive, s *ScenarioTruth) {
	if a.truth.Account(s.Account).GlobalEvents {
		t.Errorf("account truth says global events on")
	}
	for key, recs := range a.records(s.Account, "") {
		for _, r := range recs {
			if isGlobalSource(r.EventSource) {
				t.Errorf("%s: global event %s %s", key, r.EventSource, r.EventName)
			}
		}
	}
	on := 0
	for _, acct := range a.truth.Accounts {
		if acct.GlobalEvents {
			on++
			if acct.GlobalRecords == 0 {
				t.Errorf("account %s: global events on but none written", acct.Account)
			}
		}
	}
	if on == 0 {
		t.Errorf("no account left with global events to compare with")
	}
}

func checkDuplicates(t *testing.T, a *archive, s *ScenarioTruth) {
	if len(s.EventIDs) != s.Count {
		t.Fatalf("%d duplicated events, want %d", len(s.EventIDs), s.Count)
	}
	seen := map[string]int{}
	for _, l := range a.logs {
		for _, r := range l.records {
			seen[r.EventID]++
		}
	}
	for _, id := range s.EventIDs {
		if seen[id] != 2 {
			t.Errorf("event %s delivered %d times, want 2", id, seen[id])
		}
	}
}

func checkNoise(t *testing.T, a *archive, s *ScenarioTruth) {
	whats := map[string]bool{}
	for _, o := range a.truth.NoiseObjects {
		whats[o.What] = true
		b, ok := a.files[o.Key]
		if ok != o.OnDisk {
			t.Errorf("%s: on disk %v, truth says %v", o.Key, ok, o.OnDisk)
		}
		if ok && len(b) != o.Size {
			t.Errorf("%s: %d bytes, truth says %d", o.Key, len(b), o.Size)
		}
		if ingest.ParseKey(o.Key).Kind != ingest.KindOther {
			t.Errorf("%s parses as CloudTrail's", o.Key)
		}
	}
	for _, w := range []string{"config-writability-check", "elb-access-log-test-file", "config-history", "folder-key"} {
		if !whats[w] {
			t.Errorf("no %s", w)
		}
	}
}

func checkCorrupt(t *testing.T, a *archive, s *ScenarioTruth) {
	whats := map[string]bool{}
	for _, c := range a.truth.CorruptObjects {
		whats[c.What] = true
		l := a.logs[c.Key]
		if l == nil {
			t.Errorf("%s: not on disk", c.Key)
			continue
		}
		if l.err == nil {
			t.Errorf("%s (%s): decodes", c.Key, c.What)
		}
		if (a.listedBy(c.Key) != nil) != c.Listed {
			t.Errorf("%s: listed %v, truth says %v", c.Key, !c.Listed, c.Listed)
		}
		if c.What == "empty" && len(a.files[c.Key]) != 0 {
			t.Errorf("%s: not empty", c.Key)
		}
	}
	for _, w := range []string{"truncated-gzip", "garbage", "empty"} {
		if !whats[w] {
			t.Errorf("no %s object", w)
		}
	}
}
