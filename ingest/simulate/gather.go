package simulate

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// truth gathers what the workers did into the Truth.
func (g *generator) truth(byChain [][]*dayResult, chains []*chainResult, noise []NoiseObject, regions []string) (*Truth, error) {
	p := g.plan
	cfg := g.cfg
	t := &Truth{
		Generator: "trailcover simulate",
		Config:    *cfg,
		Bucket:    cfg.Bucket,
		Prefix:    p.prefix(),
		Window:    TruthWindow{Start: formatTime(cfg.Start), End: formatTime(cfg.End())},
	}
	for _, r := range regions {
		_, fp, err := g.keys.PublicKey(r)
		if err != nil {
			return nil, err
		}
		t.PublicKeys = append(t.PublicKeys, TruthKey{Region: r, Fingerprint: fp})
	}

	var outcomes []outcome
	var planted []writtenEvent
	chainTruth := make([]ChainTruth, len(p.chains))
	for i, c := range p.chains {
		res := chains[i]
		ct := ChainTruth{
			Account: c.acct.id, Region: c.region, OrgID: c.acct.orgID,
			Trail: c.acct.trail, HomeRegion: c.acct.home,
			FirstDigest: res.firstKey, LastDigest: res.lastKey,
			DigestsWritten: res.written, DigestsEmpty: res.empty,
			DigestsDeleted: res.deleted, DigestsBadSignature: res.bad,
			ChainStarts:  len(res.starts),
			StartDigests: sorted(res.starts), DeletedDigests: sorted(res.deletedKeys), BadSignatureDigests: sorted(res.badKeys),
			UnsignedDigests: sorted(res.unsignedKeys), ForgedDigests: sorted(res.forgedKeys),
			LogsListed: res.listed, LogsListedInDeletedDigests: res.listedInDeleted,
			DeletedLogs: []string{}, ModifiedLogs: []string{}, InjectedLogs: []string{}, Gaps: []TruthWindow{},
		}
		if res.unassigned > 0 {
			return nil, fmt.Errorf("chain %s %s: %d log files fell outside every digest window", c.acct.id, c.region, res.unassigned)
		}
		onDisk := map[string]bool{}
		logLoc := c.base
		logLoc.Kind = ingest.KindLog
		for _, d := range byChain[i] {
			ct.Records += d.records
			ct.RecordsLost += d.lost
			ct.LogsWritten += d.logFiles
			for _, e := range d.entries {
				logLoc.Time, logLoc.Unique = time.Unix(e.slot, 0).UTC(), e.unique
				onDisk[logLoc.ObjectKey()] = true
			}
			for _, o := range d.outcomes {
				switch o.kind {
				case outcomeDeleted:
					delete(onDisk, o.key)
					ct.LogsDeleted++
					ct.DeletedLogs = append(ct.DeletedLogs, o.key)
				case outcomeModified:
					ct.LogsModified++
					ct.ModifiedLogs = append(ct.ModifiedLogs, o.key)
				case outcomeInjected:
					ct.LogsInjected++
					ct.InjectedLogs = append(ct.InjectedLogs, o.key)
				case outcomeGarbage, outcomeEmpty:
					onDisk[o.key] = true
					ct.LogsCorrupt++
				case outcomeTruncated:
					ct.LogsCorrupt++
				}
			}
			outcomes = append(outcomes, d.outcomes...)
			planted = append(planted, d.planted...)
		}
		outcomes = append(outcomes, res.outcomes...)
		for k := range onDisk {
			switch {
			case g.cfg.NoDigests:
				// Without digests nothing is listed or unlisted.
			case res.onDiskListed[k]:
			case res.deletedListed[k]:
				ct.LogsOnlyInDeletedDigests++
			default:
				ct.LogsUnlisted++
			}
		}
		if c.cut != 0 {
			ct.Cut = formatTime(time.Unix(c.cut, 0))
		}
		for _, gp := range c.gaps {
			ct.Gaps = append(ct.Gaps, TruthWindow{formatTime(time.Unix(gp.start, 0)), formatTime(time.Unix(gp.end, 0))})
		}
		slices.Sort(ct.DeletedLogs)
		slices.Sort(ct.ModifiedLogs)
		slices.Sort(ct.InjectedLogs)
		chainTruth[i] = ct
	}
	slices.SortFunc(chainTruth, func(a, b ChainTruth) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	t.Chains = chainTruth

	for _, a := range p.accounts {
		at := AccountTruth{
			Account: a.id, OrgID: a.orgID, Trail: a.trail, HomeRegion: a.home, MultiRegion: a.multi,
			GlobalEvents:     a.global,
			RegionsEnabled:   cfg.EnabledRegions,
			RegionsLogged:    a.covered,
			RegionsNotLogged: nonNil(a.notLogged),
			RegionsActive:    nonNil(a.active),
			LoggingStops:     []LoggingStop{},
		}
		for _, c := range a.chains {
			res := chains[c.index]
			ct := t.Chain(a.id, c.region)
			if res.written > 0 || ct.LogsWritten > 0 {
				at.RegionsDelivering = append(at.RegionsDelivering, c.region)
			}
			at.Records += ct.Records
			for _, d := range byChain[c.index] {
				at.GlobalRecords += d.global
			}
		}
		at.RegionsDelivering = nonNil(at.RegionsDelivering)
		for _, s := range a.stops {
			ls := LoggingStop{Stopped: formatTime(time.Unix(s.stop, 0)), StopEventID: s.stopID, StartEventID: s.startID}
			if s.restart != 0 {
				ls.Restarted = formatTime(time.Unix(s.restart, 0))
			}
			at.LoggingStops = append(at.LoggingStops, ls)
		}
		t.Accounts = append(t.Accounts, at)
	}
	slices.SortFunc(t.Accounts, func(a, b AccountTruth) int { return cmp.Compare(a.Account, b.Account) })

	g.scenarioTruth(t, outcomes, planted)
	g.recordTruth(t, outcomes)

	seen := map[string]bool{}
	t.NoiseObjects = []NoiseObject{}
	for _, o := range noise {
		if !seen[o.Key] {
			seen[o.Key] = true
			t.NoiseObjects = append(t.NoiseObjects, o)
		}
	}
	slices.SortFunc(t.NoiseObjects, func(a, b NoiseObject) int { return cmp.Compare(a.Key, b.Key) })

	for _, ct := range t.Chains {
		t.Objects.LogFiles += ct.LogsWritten
		t.Objects.DigestFiles += ct.DigestsWritten + len(ct.ForgedDigests)
	}
	for _, o := range t.NoiseObjects {
		if o.OnDisk {
			t.Objects.Other++
		} else {
			t.Objects.NotOnDisk++
		}
	}
	t.Objects.Unreadable = len(t.CorruptObjects)
	t.Objects.OnDisk = t.Objects.LogFiles + t.Objects.DigestFiles + t.Objects.Other
	t.Objects.Bytes = g.out.bytes.Load()
	if n := int(g.out.files.Load()); n != t.Objects.OnDisk {
		return nil, fmt.Errorf("wrote %d objects but counted %d", n, t.Objects.OnDisk)
	}
	return t, nil
}

// scenarioTruth fills Scenarios and Activity.
func (g *generator) scenarioTruth(t *Truth, outcomes []outcome, planted []writtenEvent) {
	p := g.plan
	t.Activity = []ActivityTruth{}
	for i, s := range g.cfg.Scenarios {
		st := ScenarioTruth{Scenario: s, Applied: true}
		var found int
		for _, o := range outcomes {
			if o.scenario != i {
				continue
			}
			if o.kind == outcomeNotApplied {
				st.Applied = false
				continue
			}
			found++
			st.Objects = append(st.Objects, o.key)
			st.EventIDs = append(st.EventIDs, o.eventIDs...)
		}
		switch s.Name {
		case ScenarioDeliveryGap, ScenarioDigestDeleted, ScenarioDigestsDeleted, ScenarioBadSignature, ScenarioSignatureRemoved:
			st.Applied = st.Applied && p.chain(s.Account, s.Region) != nil
		case ScenarioLogDeleted, ScenarioLogModified, ScenarioLogInjected, ScenarioDuplicateEvents, ScenarioCorruptObjects, ScenarioDigestForged:
			st.Applied = st.Applied && found > 0 && p.chain(s.Account, s.Region) != nil
		case ScenarioNoiseObjects:
			for _, o := range t.NoiseObjects {
				st.Objects = append(st.Objects, o.Key)
			}
		case ScenarioLoggingStopped:
			a := p.account(s.Account)
			st.Applied = false
			for _, stp := range a.stops {
				if stp.scenario == i {
					st.Applied = stp.stopID != ""
					st.EventIDs = nonEmpty(stp.stopID, stp.startID)
				}
			}
		case ScenarioCryptoMining, ScenarioSnapshotExfil, ScenarioDeniedAttempts:
			st.Applied = g.activityTruth(t, i, planted)
			for _, w := range planted {
				if w.scenario == i {
					st.EventIDs = append(st.EventIDs, w.eventID)
				}
			}
		}
		slices.Sort(st.Objects)
		st.Objects = slices.Compact(st.Objects)
		slices.Sort(st.EventIDs)
		st.EventIDs = slices.Compact(st.EventIDs)
		t.Scenarios = append(t.Scenarios, st)
	}
	slices.SortFunc(t.Activity, func(a, b ActivityTruth) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region), cmp.Compare(a.Scenario, b.Scenario))
	})
}

// activityTruth adds the allowlist activity of scenario i and reports
// whether every planted call reached a readable log file.
func (g *generator) activityTruth(t *Truth, i int, planted []writtenEvent) bool {
	s := g.cfg.Scenarios[i]
	want := 0
	for _, c := range g.plan.chains {
		for _, pe := range c.planted {
			if pe.scenario == i {
				want++
			}
		}
	}
	byRegion := map[string]*ActivityTruth{}
	seen := map[string]bool{}
	for _, w := range planted {
		if w.scenario != i || seen[w.eventID] {
			continue
		}
		seen[w.eventID] = true
		at := byRegion[w.region]
		if at == nil {
			at = &ActivityTruth{Scenario: s.Name, Account: s.Account, Region: w.region,
				OutsideAllowlist: !slices.Contains(g.cfg.Regions, w.region)}
			byRegion[w.region] = at
		}
		switch w.class {
		case classSucceededWrite:
			at.SucceededWrites++
		case classFailedWrite:
			at.FailedWrites++
		case classDenied:
			at.Denied++
		case classReadOnly:
			at.ReadOnly++
		}
		at.EventIDs = append(at.EventIDs, w.eventID)
	}
	for _, at := range byRegion {
		slices.Sort(at.EventIDs)
		t.Activity = append(t.Activity, *at)
	}
	return want > 0 && len(seen) == want && want == g.plannedCalls(i)
}

// plannedCalls is how many calls scenario i makes, logged or not.
func (g *generator) plannedCalls(i int) int {
	s := g.cfg.Scenarios[i]
	switch s.Name {
	case ScenarioCryptoMining:
		return 9 + s.Count
	case ScenarioSnapshotExfil:
		return 10
	case ScenarioDeniedAttempts:
		return s.Count
	}
	return 0
}

// recordTruth fills Records, Duplicates and CorruptObjects.
func (g *generator) recordTruth(t *Truth, outcomes []outcome) {
	t.Duplicates = DuplicateTruth{EventIDs: []string{}}
	t.CorruptObjects = []CorruptObject{}
	for _, ct := range t.Chains {
		t.Records.Total += ct.Records
		t.Records.LostInGaps += ct.RecordsLost
	}
	for _, a := range t.Accounts {
		t.Records.GlobalService += a.GlobalRecords
	}
	for _, o := range outcomes {
		switch o.kind {
		case outcomeDuplicated:
			t.Duplicates.Count += o.records
			t.Duplicates.EventIDs = append(t.Duplicates.EventIDs, o.eventIDs...)
		case outcomeDeleted:
			t.Records.InDeletedLogs += int64(o.records)
		case outcomeModified:
			t.Records.RemovedByModification += int64(len(o.eventIDs))
		case outcomeTruncated, outcomeGarbage, outcomeEmpty:
			t.CorruptObjects = append(t.CorruptObjects, CorruptObject{Key: o.key, What: o.kind, Listed: o.listed, Records: o.records, RecordsDecodable: o.decodable})
			t.Records.InCorruptLogs += int64(o.records)
		}
	}
	slices.Sort(t.Duplicates.EventIDs)
	slices.SortFunc(t.CorruptObjects, func(a, b CorruptObject) int { return cmp.Compare(a.Key, b.Key) })
	t.Records.Duplicates = int64(t.Duplicates.Count)
	t.Records.Unique = t.Records.Total - t.Records.Duplicates
}

// sorted returns a sorted copy of s, never nil (JSON []).
func sorted(s []string) []string {
	s = slices.Clone(nonNil(s))
	slices.Sort(s)
	return s
}

// nonNil turns nil into an empty slice, so JSON shows [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nonEmpty returns the non-empty strings of ss.
func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
