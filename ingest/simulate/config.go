package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Config describes an archive. Zero fields take the defaults that Normalize
// documents, so Config{} is a small but complete archive. Everything the
// output depends on is here: the same Config always writes the same bytes.
type Config struct {
	// Seed selects every random choice of the run.
	Seed uint64 `json:"seed"`
	// Bucket is the S3 bucket the archive claims to be (digests name it).
	Bucket string `json:"bucket"`
	// Prefix is the trail's S3 key prefix, without slashes at either end;
	// "" writes keys that start with AWSLogs/.
	Prefix string `json:"prefix"`
	// OrgID, if set, makes the trails organization trails: keys are
	// AWSLogs/<OrgID>/<account>/…. "auto" derives an ID from the seed.
	OrgID string `json:"org_id,omitempty"`
	// Accounts are the 12-digit account IDs. When empty, AccountCount IDs
	// are derived from the seed.
	Accounts     []string `json:"accounts"`
	AccountCount int      `json:"-"`
	// Regions have regular activity in every account.
	Regions []string `json:"regions"`
	// EnabledRegions are the regions a multi-region trail covers: each gets
	// an hourly digest chain, empty when nothing happens there. Default:
	// the aws partition's regions that need no opt-in. Regions, the trails'
	// home regions and every scenario region are always added.
	EnabledRegions []string `json:"enabled_regions"`
	// Start is the first day (UTC midnight) and Days the number of days.
	Start time.Time `json:"start"`
	Days  int       `json:"days"`
	// EventsPerHour is the mean number of regional events per hour in each
	// account and active region; us-east-1 gets global-service events at a
	// third of that rate on top. Negative: no regular traffic at all.
	EventsPerHour int `json:"events_per_hour"`
	// EventsPerDay, when set, replaces EventsPerHour with a mean of that
	// many regional events a day in each account and active region: the
	// sparse shape of an organization's quiet regions, a few files a day.
	EventsPerDay int `json:"events_per_day,omitempty"`
	// NoDigests writes no digest at all, as trails with log file
	// validation off deliver: with EventsPerDay, an archive whose object
	// count follows its records, whatever its span.
	NoDigests bool `json:"no_digests,omitempty"`
	// Trails say which trail logs which account.
	Trails []Trail `json:"trails"`
	// Scenarios plant what an analyzer must find. Normalize fills in every
	// parameter left zero.
	Scenarios []Scenario `json:"scenarios"`
	// GzipLevel is the compression level of every object, 1 to 9.
	// Compression is most of the work: the default, 1, compresses the
	// records about 6:1 at five times the speed of level 6 (7.7:1).
	GzipLevel int `json:"gzip_level"`

	// Workers is the number of files written at once (default GOMAXPROCS).
	Workers int `json:"-"`
	// Keys, if set, is reused for signing; it must have been made for the
	// same Seed. Tests share one to generate keys only once.
	Keys *KeyRing `json:"-"`
}

// Trail is a trail that delivers to the bucket.
type Trail struct {
	Name        string `json:"name"`
	HomeRegion  string `json:"home_region"`
	MultiRegion bool   `json:"multi_region"`
	// Accounts the trail logs; empty means every account that no other
	// trail names. Each account is logged by exactly one trail.
	Accounts []string `json:"accounts,omitempty"`
}

// Scenario plants one thing an analyzer must find. Which parameters
// matter depends on Name (see the package documentation); zero values are
// chosen by Normalize.
type Scenario struct {
	Name    string    `json:"name"`
	Account string    `json:"account,omitempty"`
	Region  string    `json:"region,omitempty"`
	At      time.Time `json:"at,omitzero"`
	Hours   int       `json:"hours,omitempty"`
	Count   int       `json:"count,omitempty"`
}

// Defaults of Config.
const (
	DefaultBucket        = "aws-cloudtrail-logs-trailcover-sim"
	DefaultAccountCount  = 3
	DefaultDays          = 1
	DefaultEventsPerHour = 100
	DefaultTrailName     = "management-events"
	DefaultOrgTrailName  = "organization-trail"
	DefaultGzipLevel     = 1
	maxDays              = 3660
	maxEventsPerHour     = 10_000_000
)

// DefaultStart returns the first day of an archive when Config.Start is
// zero: a Monday.
func DefaultStart() time.Time {
	return time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
}

// DefaultRegions returns the regions with regular activity when
// Config.Regions is empty.
func DefaultRegions() []string {
	return []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"}
}

// StandardRegions returns the aws partition's regions that need no opt-in:
// what a multi-region trail covers in an account that enabled nothing.
func StandardRegions() []string {
	return []string{
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
		"ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
		"eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	}
}

// End is the end of the simulated activity: Start plus Days.
func (c *Config) End() time.Time {
	return c.Start.AddDate(0, 0, c.Days)
}

// Normalize fills in defaults, checks every field and resolves each
// scenario's parameters (account, region, time, sizes), so that the
// Config written to truth.json regenerates the same archive. Generate
// calls it; calling it twice changes nothing.
func (c *Config) Normalize() error {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if _, _, err := ingest.ParseS3URL("s3://" + c.Bucket); err != nil || strings.Contains(c.Bucket, "/") {
		return fmt.Errorf("bucket %q is not a valid bucket name", c.Bucket)
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.Prefix != "" {
		for _, seg := range strings.Split(c.Prefix, "/") {
			if seg == "" || seg == "." || seg == ".." || seg == ingest.StateDir || seg == "AWSLogs" {
				return fmt.Errorf("prefix %q: segment %q not allowed", c.Prefix, seg)
			}
		}
	}
	if err := c.normalizeAccounts(); err != nil {
		return err
	}
	if len(c.Regions) == 0 {
		c.Regions = DefaultRegions()
	}
	var err error
	if c.Regions, err = checkRegions("regions", c.Regions); err != nil {
		return err
	}
	if len(c.EnabledRegions) == 0 {
		c.EnabledRegions = StandardRegions()
	}
	if c.EnabledRegions, err = checkRegions("enabled regions", c.EnabledRegions); err != nil {
		return err
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart()
	}
	y, m, d := c.Start.UTC().Date()
	c.Start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Days < 0 || c.Days > maxDays {
		return fmt.Errorf("days %d: want 1 to %d", c.Days, maxDays)
	}
	if c.EventsPerDay < 0 || c.EventsPerDay > maxEventsPerHour {
		return fmt.Errorf("events per day %d: want 0 to %d", c.EventsPerDay, maxEventsPerHour)
	}
	if c.NoDigests {
		for _, sc := range c.Scenarios {
			switch sc.Name {
			case ScenarioRegionNotLogged, ScenarioDeliveryGap, ScenarioLoggingStopped, ScenarioCryptoMining, ScenarioSnapshotExfil,
				ScenarioDeniedAttempts, ScenarioGlobalEventsOff, ScenarioDuplicateEvents, ScenarioNoiseObjects:
			default:
				return fmt.Errorf("scenario %s needs digests: not with no digests", sc.Name)
			}
		}
	}
	if c.EventsPerDay > 0 {
		// The daily rate rules; EventsPerHour only says traffic is on.
		c.EventsPerHour = max(1, c.EventsPerDay/24)
	}
	if c.EventsPerHour == 0 {
		c.EventsPerHour = DefaultEventsPerHour
	}
	if c.EventsPerHour < 0 {
		c.EventsPerHour = -1
	}
	if c.EventsPerHour > maxEventsPerHour {
		return fmt.Errorf("events per hour %d: at most %d", c.EventsPerHour, maxEventsPerHour)
	}
	if c.GzipLevel == 0 {
		c.GzipLevel = DefaultGzipLevel
	}
	if c.GzipLevel < 1 || c.GzipLevel > 9 {
		return fmt.Errorf("gzip level %d: want 1 to 9", c.GzipLevel)
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Keys != nil && c.Keys.seed != c.Seed {
		return fmt.Errorf("key ring was made for seed %d, not %d", c.Keys.seed, c.Seed)
	}
	if err := c.normalizeTrails(); err != nil {
		return err
	}
	if err := c.normalizeScenarios(); err != nil {
		return err
	}
	// Every region something happens in is enabled.
	add := slices.Clone(c.Regions)
	for _, t := range c.Trails {
		add = append(add, t.HomeRegion)
	}
	for _, s := range c.Scenarios {
		if s.Region != "" {
			add = append(add, s.Region)
		}
	}
	c.EnabledRegions = sortedUnion(c.EnabledRegions, add)
	return nil
}

// normalizeAccounts derives or checks the account IDs and the
// organization ID.
func (c *Config) normalizeAccounts() error {
	if len(c.Accounts) == 0 {
		n := c.AccountCount
		if n == 0 {
			n = DefaultAccountCount
		}
		if n < 1 || n > 10000 {
			return fmt.Errorf("account count %d: want 1 to 10000", n)
		}
		c.Accounts = accountIDs(c.Seed, n)
	}
	seen := map[string]bool{}
	for _, a := range c.Accounts {
		if !ingest.IsAccountID(a) {
			return fmt.Errorf("account %q is not a 12-digit account ID", a)
		}
		if seen[a] {
			return fmt.Errorf("account %s named twice", a)
		}
		seen[a] = true
	}
	c.AccountCount = len(c.Accounts)
	switch {
	case c.OrgID == "auto":
		r := newRand(c.Seed, "org")
		c.OrgID = "o-" + string(appendChars(nil, r, "abcdefghijklmnopqrstuvwxyz0123456789", 10))
	case c.OrgID != "" && !ingest.IsOrgID(c.OrgID):
		return fmt.Errorf("organization ID %q is not o-[a-z0-9]{10,32}", c.OrgID)
	}
	return nil
}

// accountIDs derives n distinct account IDs from the seed.
func accountIDs(seed uint64, n int) []string {
	r := newRand(seed, "accounts")
	seen := map[string]bool{}
	ids := make([]string, 0, n)
	for len(ids) < n {
		id := strconv.FormatUint(100000000000+r.Uint64N(900000000000), 10)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// normalizeTrails defaults the trails and checks that each account is
// logged by exactly one.
func (c *Config) normalizeTrails() error {
	if len(c.Trails) == 0 {
		name := DefaultTrailName
		if c.OrgID != "" {
			name = DefaultOrgTrailName
		}
		c.Trails = []Trail{{Name: name, HomeRegion: "us-east-1", MultiRegion: true}}
	}
	owner := map[string]string{}
	catchAll := 0
	for i := range c.Trails {
		t := &c.Trails[i]
		if !ingest.IsTrailName(t.Name) {
			return fmt.Errorf("trail name %q breaks CloudTrail's naming rules", t.Name)
		}
		if t.HomeRegion == "" {
			t.HomeRegion = "us-east-1"
		}
		if !ingest.IsRegion(t.HomeRegion) {
			return fmt.Errorf("trail %s: home region %q is not a region", t.Name, t.HomeRegion)
		}
		if len(t.Accounts) == 0 {
			catchAll++
			continue
		}
		for _, a := range t.Accounts {
			if !slices.Contains(c.Accounts, a) {
				return fmt.Errorf("trail %s: account %s is not in the archive", t.Name, a)
			}
			if prev, ok := owner[a]; ok {
				return fmt.Errorf("account %s is logged by trails %s and %s", a, prev, t.Name)
			}
			owner[a] = t.Name
		}
	}
	if catchAll > 1 {
		return fmt.Errorf("%d trails name no accounts; at most one may", catchAll)
	}
	if catchAll == 0 {
		for _, a := range c.Accounts {
			if _, ok := owner[a]; !ok {
				return fmt.Errorf("account %s is logged by no trail", a)
			}
		}
	}
	return nil
}

// trailOf returns the trail that logs account.
func (c *Config) trailOf(account string) Trail {
	var catchAll Trail
	for _, t := range c.Trails {
		if len(t.Accounts) == 0 {
			catchAll = t
		}
		if slices.Contains(t.Accounts, account) {
			return t
		}
	}
	return catchAll
}

// checkRegions validates and de-duplicates a region list, keeping its
// order.
func checkRegions(what string, regions []string) ([]string, error) {
	var out []string
	for _, r := range regions {
		r = strings.TrimSpace(r)
		if !ingest.IsRegion(r) {
			return nil, fmt.Errorf("%s: %q is not a region", what, r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// sortedUnion returns the sorted, de-duplicated union of a and b.
func sortedUnion(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// ParseScenario reads a scenario as the --scenario flag gives it:
// NAME or NAME:key=value,key=value with keys account, region, at (RFC 3339),
// hours and count.
func ParseScenario(spec string) (Scenario, error) {
	name, params, _ := strings.Cut(spec, ":")
	s := Scenario{Name: strings.TrimSpace(name)}
	if _, ok := scenarioByName(s.Name); !ok && s.Name != ScenarioAll {
		return s, fmt.Errorf("unknown scenario %q", s.Name)
	}
	if params == "" {
		return s, nil
	}
	for _, kv := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return s, fmt.Errorf("scenario %s: %q is not key=value", s.Name, kv)
		}
		var err error
		switch strings.TrimSpace(k) {
		case "account":
			s.Account = v
		case "region":
			s.Region = v
		case "at":
			s.At, err = time.Parse(time.RFC3339, v)
		case "hours":
			s.Hours, err = strconv.Atoi(v)
		case "count":
			s.Count, err = strconv.Atoi(v)
		default:
			return s, fmt.Errorf("scenario %s: unknown parameter %q", s.Name, k)
		}
		if err != nil {
			return s, fmt.Errorf("scenario %s: %s: %w", s.Name, k, err)
		}
	}
	return s, nil
}

// ReadScenarios reads a scenario file: a JSON array of Scenario objects,
// e.g. [{"name":"delivery-gap","region":"eu-west-1","hours":5}].
func ReadScenarios(r io.Reader) ([]Scenario, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var list []Scenario
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("scenario file: %w", err)
	}
	for _, s := range list {
		if _, ok := scenarioByName(s.Name); !ok && s.Name != ScenarioAll {
			return nil, fmt.Errorf("scenario file: unknown scenario %q", s.Name)
		}
	}
	return list, nil
}
