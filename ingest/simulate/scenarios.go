package simulate

import (
	"fmt"
	"slices"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Scenario names. Each plants one kind of finding; see the package
// documentation for what exactly it writes.
const (
	ScenarioRegionNotLogged  = "region-not-logged"
	ScenarioDeliveryGap      = "delivery-gap"
	ScenarioLoggingStopped   = "logging-stopped"
	ScenarioCryptoMining     = "crypto-mining"
	ScenarioSnapshotExfil    = "snapshot-exfil"
	ScenarioDeniedAttempts   = "denied-attempts"
	ScenarioLogDeleted       = "log-deleted"
	ScenarioLogModified      = "log-modified"
	ScenarioLogInjected      = "log-injected"
	ScenarioDigestDeleted    = "digest-deleted"
	ScenarioDigestsDeleted   = "digests-deleted"
	ScenarioBadSignature     = "bad-signature"
	ScenarioSignatureRemoved = "signature-removed"
	ScenarioDigestForged     = "digest-forged"
	ScenarioTailCut          = "tail-cut"
	ScenarioGlobalEventsOff  = "global-events-off"
	ScenarioDuplicateEvents  = "duplicate-events"
	ScenarioNoiseObjects     = "noise-objects"
	ScenarioCorruptObjects   = "corrupt-objects"
	// ScenarioAll stands for every scenario above, with default parameters.
	ScenarioAll = "all"
)

// regionRule says which region a scenario's Region parameter names.
type regionRule uint8

const (
	// regionNone: the scenario concerns a whole account.
	regionNone regionRule = iota
	// regionActive: a region with regular activity that the account's
	// trail logs.
	regionActive
	// regionOutside: a region outside Config.Regions, where nothing
	// normally happens (the allowlist's complement).
	regionOutside
	// regionOnly: the one region a single-region trail logs.
	regionOnly
)

// scenarioKind is a scenario's description and defaults.
type scenarioKind struct {
	name    string
	summary string
	region  regionRule
	// outside lists the preferred defaults of a regionOutside scenario.
	outside []string
	// clock is the default time of day, on the middle day of the archive.
	clock time.Duration
	// hours and count are the defaults of the parameters the scenario
	// takes; 0 means it takes none.
	hours, count int
}

// hm is a time of day.
func hm(h, m, s int) time.Duration {
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
}

// scenarioKinds is the table of scenarios, in the order `all` plants them.
var scenarioKinds = []scenarioKind{
	{name: ScenarioRegionNotLogged, region: regionOnly,
		summary: "the account is logged by a single-region trail: only REGION delivers (default: the last account, the first non-us-east-1 region)"},
	{name: ScenarioDeliveryGap, region: regionActive, clock: hm(2, 0, 0), hours: 3,
		summary: "no log file and no digest for HOURS whole hours from AT in one account and region; the chain resumes with one long digest"},
	{name: ScenarioLoggingStopped, region: regionNone, clock: hm(20, 7, 33), hours: 2,
		summary: "StopLogging at AT, nothing delivered in any region for HOURS, then StartLogging and new starting digests (chain restart)"},
	{name: ScenarioCryptoMining, region: regionOutside, clock: hm(3, 41, 17), count: 4,
		outside: []string{"sa-east-1", "ap-south-1", "ca-central-1", "ap-northeast-2"},
		summary: "reconnaissance, then COUNT succeeded RunInstances of GPU instance types by a leaked access key in an unused REGION"},
	{name: ScenarioSnapshotExfil, region: regionOutside, clock: hm(13, 6, 41),
		outside: []string{"ap-northeast-3", "ap-southeast-1", "eu-west-3"},
		summary: "EBS and RDS snapshots taken in an active region, copied to REGION (CopySnapshot, CopyDBSnapshot) and restored there"},
	{name: ScenarioDeniedAttempts, region: regionOutside, clock: hm(16, 52, 8), count: 8,
		outside: []string{"eu-north-1", "ap-southeast-2", "eu-west-2", "us-west-1"},
		summary: "COUNT calls denied by an SCP region lock in REGION (AccessDenied, Client.UnauthorizedOperation, AccessDeniedException)"},
	{name: ScenarioLogDeleted, region: regionActive, clock: hm(9, 12, 0), count: 1,
		summary: "COUNT log files from AT on are listed in their digest but absent from the bucket"},
	{name: ScenarioLogModified, region: regionActive, clock: hm(9, 47, 0), count: 1,
		summary: "COUNT log files from AT on lose a record after their digest was signed (still valid gzip and JSON)"},
	{name: ScenarioLogInjected, region: regionActive, clock: hm(10, 23, 0), count: 1,
		summary: "COUNT well-formed log files at AT that no digest lists"},
	{name: ScenarioDigestDeleted, region: regionActive, clock: hm(14, 0, 0),
		summary: "the first digest ending after AT is absent; the next one still points to it"},
	{name: ScenarioDigestsDeleted, region: regionActive, clock: hm(15, 0, 0), count: 3,
		summary: "COUNT consecutive digests from AT on are absent"},
	{name: ScenarioBadSignature, region: regionActive, clock: hm(19, 0, 0), count: 1,
		summary: "COUNT digests from AT on carry a signature (sidecar metadata) that does not verify"},
	{name: ScenarioSignatureRemoved, region: regionActive, clock: hm(17, 0, 0), count: 1,
		summary: "COUNT digests from AT on are stored without the signature metadata CloudTrail keeps with every digest (their bytes unchanged)"},
	{name: ScenarioDigestForged, region: regionActive, clock: hm(7, 31, 0), count: 1,
		summary: "COUNT log files injected at AT and a backfill digest without a signature that lists them, under the trail's real fingerprint"},
	{name: ScenarioTailCut, region: regionNone, hours: 1,
		summary: "the account's last HOURS hours are gone in every region: no log file and no digest after the digest ending last before the cut"},
	{name: ScenarioGlobalEventsOff, region: regionNone,
		summary: "no IAM, STS, sign-in or CloudFront events for the account (include global service events off)"},
	{name: ScenarioDuplicateEvents, region: regionActive, clock: hm(11, 34, 0), count: 5,
		summary: "COUNT records of the log files from AT on are delivered again, each in a second file of the same slot (same eventID)"},
	{name: ScenarioNoiseObjects, region: regionActive,
		summary: "ConfigWritabilityCheckFile, ELBAccessLogTestFile, a Config history file and folder keys ending in / (not on disk: see Truth.KeysNotOnDisk)"},
	{name: ScenarioCorruptObjects, region: regionActive, clock: hm(10, 58, 0),
		summary: "a listed log file truncated mid-gzip, garbage bytes and an empty object under valid unlisted log keys"},
}

// scenarioByName finds a scenario's description.
func scenarioByName(name string) (scenarioKind, bool) {
	for _, k := range scenarioKinds {
		if k.name == name {
			return k, true
		}
	}
	return scenarioKind{}, false
}

// ScenarioHelp describes every scenario, one "name: summary" per line,
// for --help.
func ScenarioHelp() []string {
	out := make([]string, 0, len(scenarioKinds))
	for _, k := range scenarioKinds {
		out = append(out, k.name+": "+k.summary)
	}
	return out
}

// normalizeScenarios expands "all" and fills in every parameter left zero.
// Defaults spread scenarios over the accounts that a single-region trail
// does not blind, pick regions that do not collide, and place times on the
// middle day so that nothing overlaps.
func (c *Config) normalizeScenarios() error {
	var list []Scenario
	for _, s := range c.Scenarios {
		if s.Name == ScenarioAll {
			for _, k := range scenarioKinds {
				list = append(list, Scenario{Name: k.name})
			}
			continue
		}
		list = append(list, s)
	}
	// Single-region accounts first: the others' defaults avoid them.
	onlyRegion := map[string]string{}
	next := len(c.Accounts) - 1
	for i := range list {
		s := &list[i]
		if s.Name != ScenarioRegionNotLogged {
			continue
		}
		if s.Account == "" {
			for next >= 0 && onlyRegion[c.Accounts[next]] != "" {
				next--
			}
			if next < 0 {
				return fmt.Errorf("scenario %s: every account already has a single-region trail", s.Name)
			}
			s.Account = c.Accounts[next]
		}
		if s.Region == "" {
			s.Region = c.Regions[0]
			for _, r := range c.Regions {
				if r != "us-east-1" {
					s.Region = r
					break
				}
			}
		}
		if _, dup := onlyRegion[s.Account]; dup {
			return fmt.Errorf("scenario %s: account %s named twice", s.Name, s.Account)
		}
		onlyRegion[s.Account] = s.Region
	}
	var eligible []string
	for _, a := range c.Accounts {
		if onlyRegion[a] == "" {
			eligible = append(eligible, a)
		}
	}
	if len(eligible) == 0 {
		eligible = c.Accounts
	}
	usedOutside := map[string]bool{}
	for _, s := range list {
		if k, _ := scenarioByName(s.Name); k.region == regionOutside && s.Region != "" {
			usedOutside[s.Region] = true
		}
	}
	base := c.Start.AddDate(0, 0, c.Days/2)
	n := 0
	for i := range list {
		s := &list[i]
		kind, ok := scenarioByName(s.Name)
		if !ok {
			return fmt.Errorf("unknown scenario %q", s.Name)
		}
		if s.Name != ScenarioRegionNotLogged {
			if s.Account == "" {
				s.Account = eligible[n%len(eligible)]
				if s.Name == ScenarioTailCut {
					s.Account = pickAvoiding(eligible, n, stoppedAccounts(list))
				}
			}
			n++
		}
		if !slices.Contains(c.Accounts, s.Account) {
			return fmt.Errorf("scenario %s: account %s is not in the archive", s.Name, s.Account)
		}
		switch kind.region {
		case regionNone:
			if s.Region != "" {
				return fmt.Errorf("scenario %s concerns a whole account and takes no region", s.Name)
			}
		case regionActive:
			if s.Region == "" {
				s.Region = c.defaultActiveRegion(s.Account, onlyRegion[s.Account], n)
			}
		case regionOutside:
			if s.Region == "" {
				s.Region = c.defaultOutsideRegion(kind.outside, usedOutside)
				if s.Region == "" {
					return fmt.Errorf("scenario %s: no region outside --regions left; name one", s.Name)
				}
				usedOutside[s.Region] = true
			}
		}
		if kind.region != regionNone && !ingest.IsRegion(s.Region) {
			return fmt.Errorf("scenario %s: %q is not a region", s.Name, s.Region)
		}
		if err := c.fillTime(s, kind, base); err != nil {
			return err
		}
		if err := fillParam(s.Name, "hours", &s.Hours, kind.hours, 24*maxDays); err != nil {
			return err
		}
		if err := fillParam(s.Name, "count", &s.Count, kind.count, 1000); err != nil {
			return err
		}
	}
	c.Scenarios = list
	return nil
}

// stoppedAccounts are the accounts a logging-stopped scenario names.
func stoppedAccounts(list []Scenario) map[string]bool {
	out := map[string]bool{}
	for _, s := range list {
		if s.Name == ScenarioLoggingStopped {
			out[s.Account] = true
		}
	}
	return out
}

// pickAvoiding is the account the rotation gives at n, or the next one
// not in avoid: a tail cut default stays clear of an account whose
// logging restarts late in the archive, which the cut would swallow.
func pickAvoiding(accounts []string, n int, avoid map[string]bool) string {
	for i := range accounts {
		if a := accounts[(n+i)%len(accounts)]; !avoid[a] {
			return a
		}
	}
	return accounts[n%len(accounts)]
}

// fillTime defaults and checks a scenario's time. Scenarios without a
// default time of day take none.
func (c *Config) fillTime(s *Scenario, kind scenarioKind, base time.Time) error {
	if kind.clock == 0 {
		if !s.At.IsZero() {
			return fmt.Errorf("scenario %s takes no time", s.Name)
		}
		return nil
	}
	if s.At.IsZero() {
		s.At = base.Add(kind.clock)
	}
	s.At = s.At.UTC().Truncate(time.Second)
	if s.Name == ScenarioDeliveryGap {
		// Gaps are whole clock hours, so that coverage per hour is exact.
		s.At = s.At.Truncate(time.Hour)
	}
	if s.At.Before(c.Start) || !s.At.Before(c.End()) {
		return fmt.Errorf("scenario %s: time %s outside the archive's days", s.Name, formatTime(s.At))
	}
	return nil
}

// fillParam defaults and checks a numeric scenario parameter.
func fillParam(scenario, name string, v *int, def, max int) error {
	if def == 0 {
		if *v != 0 {
			return fmt.Errorf("scenario %s takes no %s", scenario, name)
		}
		return nil
	}
	if *v == 0 {
		*v = def
	}
	if *v < 1 || *v > max {
		return fmt.Errorf("scenario %s: %s %d: want 1 to %d", scenario, name, *v, max)
	}
	return nil
}

// defaultActiveRegion picks an active region the account's trail logs,
// rotating with n and preferring regions other than us-east-1.
func (c *Config) defaultActiveRegion(account, only string, n int) string {
	if only != "" {
		return only
	}
	if t := c.trailOf(account); !t.MultiRegion {
		return t.HomeRegion
	}
	var pool []string
	for _, r := range c.Regions {
		if r != "us-east-1" {
			pool = append(pool, r)
		}
	}
	if len(pool) == 0 {
		pool = c.Regions
	}
	return pool[n%len(pool)]
}

// defaultOutsideRegion picks a region outside Config.Regions that no other
// scenario uses: from prefer, else from the standard regions.
func (c *Config) defaultOutsideRegion(prefer []string, used map[string]bool) string {
	for _, list := range [][]string{prefer, StandardRegions()} {
		for _, r := range list {
			if !slices.Contains(c.Regions, r) && !used[r] {
				return r
			}
		}
	}
	return ""
}
