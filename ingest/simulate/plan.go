package simulate

import (
	"slices"

	"github.com/trailcover/trailcover/ingest"
)

// interval is the half-open time range [start, end) in Unix seconds.
type interval struct {
	start, end int64
}

func (iv interval) contains(sec int64) bool { return sec >= iv.start && sec < iv.end }

// plan is everything decided before any file is written: which account
// logs which regions, the scenarios' effects on each chain, the planted
// records. Workers only read it.
type plan struct {
	cfg      *Config
	start    int64 // Config.Start
	end      int64 // Config.End
	accounts []*accountPlan
	chains   []*chainPlan
	regional *eventTable
	global   *eventTable
	diurnal  [24]float64
}

// accountPlan is one account's trail and what happens to it.
type accountPlan struct {
	id     string
	orgID  string // "" for the single-account layout
	trail  string
	home   string
	multi  bool
	global bool // global service events are logged
	// active are the regions with regular traffic, covered those with a
	// digest chain, notLogged the enabled regions the trail does not log.
	active, covered, notLogged []string
	stops                      []stopPlan
	rate                       float64 // activity factor of the account
	chains                     []*chainPlan
}

// stopPlan is a logging-stopped scenario: no event is logged strictly
// between stop and restart. restart is 0 when logging stays off until the
// end of the archive.
type stopPlan struct {
	scenario        int
	stop, restart   int64
	stopID, startID string
}

// stopped reports whether an event at sec falls while logging was off.
func (a *accountPlan) stopped(sec int64) bool {
	for _, s := range a.stops {
		if sec > s.stop && (s.restart == 0 || sec < s.restart) {
			return true
		}
	}
	return false
}

// chainPlan is one account × region: its log files and its digest chain.
type chainPlan struct {
	index  int
	acct   *accountPlan
	region string
	active bool // regular regional traffic
	global bool // global service events land here
	rate   float64
	offset int64 // seconds past the hour at which digest windows end
	base   ingest.Location
	gaps   []gapPlan
	// cut, when not 0, is the time from which the chain delivers nothing
	// more, neither log files nor digests: a tail cut off the archive.
	cut int64
	// planted records, sorted by time.
	planted   []plantedEvent
	fileOps   []fileOp
	digestOps []digestOp
}

// gapPlan is a delivery-gap scenario on a chain.
type gapPlan struct {
	scenario int
	interval
}

// inGap reports whether sec falls in one of the chain's delivery gaps.
func (c *chainPlan) inGap(sec int64) bool {
	for _, g := range c.gaps {
		if g.contains(sec) {
			return true
		}
	}
	return false
}

// lost reports whether a file delivered at sec never reaches the bucket:
// it falls in a delivery gap or after the chain's cut.
func (c *chainPlan) lost(sec int64) bool {
	return (c.cut != 0 && sec >= c.cut) || c.inGap(sec)
}

// activityClass sorts planted records as the allowlist finding does.
type activityClass uint8

const (
	classSucceededWrite activityClass = iota
	classFailedWrite
	classDenied
	classReadOnly
	classLogging // StopLogging and StartLogging: no allowlist activity
)

// plantedEvent is a record a scenario puts into a chain.
type plantedEvent struct {
	sec      int64
	body     []byte
	eventID  string
	scenario int
	class    activityClass
}

// fileOpKind is what a scenario does to log files.
type fileOpKind uint8

const (
	opDelete    fileOpKind = iota // listed in its digest, absent
	opModify                      // changed after its digest was made
	opTruncate                    // listed, cut in the middle of the gzip stream
	opDuplicate                   // records delivered again in a second file
	opInject                      // a well-formed file no digest lists
	opGarbage                     // random bytes under a valid log key
	opEmpty                       // an empty object under a valid log key
)

// fileOp is a scenario's action on the first log files of a chain at or
// after at. day is the day index of at: only that day's worker acts.
type fileOp struct {
	kind     fileOpKind
	scenario int
	at       int64
	day      int
	count    int
}

// digestOpKind is what a scenario does to digests.
type digestOpKind uint8

const (
	digestDelete   digestOpKind = iota // absent from the bucket
	digestBadSig                       // a signature beside it that does not verify
	digestUnsigned                     // stored without the signature metadata
	digestForged                       // an extra unsigned backfill digest listing injected files
)

// digestOp is a scenario's action on the digests of a chain.
type digestOp struct {
	kind     digestOpKind
	scenario int
	at       int64
	count    int
}

// newPlan decides the archive. cfg must be normalized.
func newPlan(cfg *Config) (*plan, error) {
	p := &plan{
		cfg:      cfg,
		start:    cfg.Start.Unix(),
		end:      cfg.End().Unix(),
		regional: newEventTable(regionalEvents),
		global:   newEventTable(globalEvents),
	}
	curve := [24]float64{0.35, 0.3, 0.28, 0.28, 0.3, 0.4, 0.6, 0.9, 1.3, 1.6, 1.7, 1.7, 1.5, 1.6, 1.7, 1.65, 1.5, 1.3, 1.0, 0.8, 0.65, 0.55, 0.45, 0.4}
	sum := 0.0
	for _, v := range curve {
		sum += v
	}
	for i, v := range curve {
		p.diurnal[i] = v * 24 / sum
	}
	only := map[string]string{}
	globalOff := map[string]bool{}
	for _, s := range cfg.Scenarios {
		switch s.Name {
		case ScenarioRegionNotLogged:
			only[s.Account] = s.Region
		case ScenarioGlobalEventsOff:
			globalOff[s.Account] = true
		}
	}
	for _, id := range cfg.Accounts {
		a := p.newAccount(id, only[id], globalOff[id])
		p.accounts = append(p.accounts, a)
		for _, region := range a.covered {
			c := p.newChain(a, region)
			a.chains = append(a.chains, c)
			p.chains = append(p.chains, c)
		}
	}
	for i := range cfg.Scenarios {
		if err := p.applyScenario(i); err != nil {
			return nil, err
		}
	}
	for _, c := range p.chains {
		if c.cut != 0 {
			// The cut falls where a digest ended: what was delivered
			// before it is listed, what was delivered after it is gone.
			wins := p.windows(c)
			cut := p.start
			if len(wins) > 0 {
				cut = wins[len(wins)-1].end
			}
			c.cut = cut
		}
		slices.SortStableFunc(c.planted, func(a, b plantedEvent) int { return int(a.sec - b.sec) })
	}
	return p, nil
}

// newAccount decides an account's trail and regions.
func (p *plan) newAccount(id, onlyRegion string, globalOff bool) *accountPlan {
	cfg := p.cfg
	t := cfg.trailOf(id)
	a := &accountPlan{id: id, orgID: cfg.OrgID, trail: t.Name, home: t.HomeRegion, multi: t.MultiRegion}
	if onlyRegion != "" {
		// The account left the organization trail (if any) for a trail of
		// its own that logs one region: keys in the single-account layout.
		a.home, a.multi, a.orgID = onlyRegion, false, ""
		if cfg.OrgID != "" {
			a.trail = DefaultTrailName
		}
	}
	if a.multi {
		a.covered = slices.Clone(cfg.EnabledRegions)
	} else {
		a.covered = []string{a.home}
	}
	for _, r := range cfg.EnabledRegions {
		if !slices.Contains(a.covered, r) {
			a.notLogged = append(a.notLogged, r)
		}
	}
	for _, r := range cfg.Regions {
		if slices.Contains(a.covered, r) {
			a.active = append(a.active, r)
		}
	}
	slices.Sort(a.active)
	a.global = !globalOff && slices.Contains(a.covered, "us-east-1")
	r := newRand(cfg.Seed, "account-rate", id)
	a.rate = 0.6 + 0.8*r.Float64()
	return a
}

// newChain decides a chain's traffic, rate and digest offset.
func (p *plan) newChain(a *accountPlan, region string) *chainPlan {
	r := newRand(p.cfg.Seed, "chain", a.id, region)
	c := &chainPlan{
		index:  len(p.chains),
		acct:   a,
		region: region,
		active: slices.Contains(a.active, region) && p.cfg.EventsPerHour > 0,
		global: a.global && region == "us-east-1" && p.cfg.EventsPerHour > 0,
		rate:   a.rate * (0.6 + 0.8*r.Float64()),
		offset: r.Int64N(3600),
		base: ingest.Location{
			Prefix:  p.prefix(),
			OrgID:   a.orgID,
			Account: a.id,
			Region:  region,
		},
	}
	return c
}

// prefix is Location.Prefix: the configured prefix with its slash.
func (p *plan) prefix() string {
	if p.cfg.Prefix == "" {
		return ""
	}
	return p.cfg.Prefix + "/"
}

// chain finds the chain of account in region, or nil when the account's
// trail does not log that region.
func (p *plan) chain(account, region string) *chainPlan {
	for _, c := range p.chains {
		if c.acct.id == account && c.region == region {
			return c
		}
	}
	return nil
}

// account finds an account's plan.
func (p *plan) account(id string) *accountPlan {
	for _, a := range p.accounts {
		if a.id == id {
			return a
		}
	}
	return nil
}

// dayIndex is the index of the day that sec falls on.
func (p *plan) dayIndex(sec int64) int {
	return int((sec - p.start) / 86400)
}

// applyScenario records scenario i's effects on the plan.
func (p *plan) applyScenario(i int) error {
	s := p.cfg.Scenarios[i]
	at := s.At.Unix()
	c := p.chain(s.Account, s.Region)
	addFileOp := func(kind fileOpKind, at int64, count int) {
		if c != nil {
			c.fileOps = append(c.fileOps, fileOp{kind: kind, scenario: i, at: at, day: p.dayIndex(at), count: count})
		}
	}
	switch s.Name {
	case ScenarioDeliveryGap:
		if c != nil {
			c.gaps = append(c.gaps, gapPlan{scenario: i, interval: interval{at, at + int64(s.Hours)*3600}})
		}
	case ScenarioLoggingStopped:
		return p.plantLoggingStopped(i)
	case ScenarioCryptoMining, ScenarioSnapshotExfil, ScenarioDeniedAttempts:
		return p.plantActivity(i)
	case ScenarioLogDeleted:
		addFileOp(opDelete, at, s.Count)
	case ScenarioLogModified:
		addFileOp(opModify, at, s.Count)
	case ScenarioLogInjected:
		addFileOp(opInject, at, s.Count)
	case ScenarioDuplicateEvents:
		addFileOp(opDuplicate, at, s.Count)
	case ScenarioCorruptObjects:
		addFileOp(opTruncate, at, 1)
		addFileOp(opGarbage, min(at+600, p.end-1), 1)
		addFileOp(opEmpty, min(at+1200, p.end-1), 1)
	case ScenarioDigestDeleted:
		if c != nil {
			c.digestOps = append(c.digestOps, digestOp{scenario: i, at: at, count: 1})
		}
	case ScenarioDigestsDeleted:
		if c != nil {
			c.digestOps = append(c.digestOps, digestOp{scenario: i, at: at, count: s.Count})
		}
	case ScenarioBadSignature:
		if c != nil {
			c.digestOps = append(c.digestOps, digestOp{kind: digestBadSig, scenario: i, at: at, count: s.Count})
		}
	case ScenarioSignatureRemoved:
		if c != nil {
			c.digestOps = append(c.digestOps, digestOp{kind: digestUnsigned, scenario: i, at: at, count: s.Count})
		}
	case ScenarioDigestForged:
		addFileOp(opInject, at, s.Count)
		if c != nil {
			c.digestOps = append(c.digestOps, digestOp{kind: digestForged, scenario: i, at: at, count: 1})
		}
	case ScenarioTailCut:
		cut := p.end - int64(s.Hours)*3600
		for _, c := range p.chains {
			if c.acct.id == s.Account && (c.cut == 0 || cut < c.cut) {
				c.cut = cut
			}
		}
	}
	return nil
}
