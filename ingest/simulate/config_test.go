package simulate

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNormalizeDefaults(t *testing.T) {
	var c Config
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if len(c.Accounts) != DefaultAccountCount || c.Days != DefaultDays || c.EventsPerHour != DefaultEventsPerHour ||
		!slices.Equal(c.Regions, DefaultRegions()) || len(c.EnabledRegions) != len(StandardRegions()) ||
		!c.Start.Equal(DefaultStart()) || c.Bucket != DefaultBucket || len(c.Trails) != 1 || !c.Trails[0].MultiRegion {
		t.Errorf("defaults: %+v", c)
	}
	again := c
	if err := again.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Accounts, c.Accounts) || !slices.Equal(again.EnabledRegions, c.EnabledRegions) {
		t.Errorf("Normalize is not idempotent")
	}
}

func TestNormalizeScenarios(t *testing.T) {
	c := Config{Seed: 3, Scenarios: []Scenario{{Name: ScenarioAll}}}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if len(c.Scenarios) != len(scenarioKinds) {
		t.Fatalf("all: %d scenarios, want %d", len(c.Scenarios), len(scenarioKinds))
	}
	outside := map[string]bool{}
	var single string
	for _, s := range c.Scenarios {
		kind, _ := scenarioByName(s.Name)
		switch kind.region {
		case regionOutside:
			if slices.Contains(c.Regions, s.Region) || outside[s.Region] {
				t.Errorf("%s: region %s inside the allowlist or shared", s.Name, s.Region)
			}
			outside[s.Region] = true
		case regionOnly:
			single = s.Account
		}
		if kind.clock != 0 && (s.At.Before(c.Start) || !s.At.Before(c.End())) {
			t.Errorf("%s: at %s outside the archive", s.Name, s.At)
		}
	}
	for _, s := range c.Scenarios {
		if s.Name != ScenarioRegionNotLogged && s.Account == single {
			t.Errorf("%s placed on the single-region account", s.Name)
		}
		if s.Region != "" && !slices.Contains(c.EnabledRegions, s.Region) {
			t.Errorf("%s: region %s not enabled", s.Name, s.Region)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	day := time.Date(2025, 1, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad account", Config{Accounts: []string{"12345"}}, "12-digit"},
		{"duplicate account", Config{Accounts: []string{"111111111111", "111111111111"}}, "twice"},
		{"bad region", Config{Regions: []string{"mars-1"}}, "not a region"},
		{"bad org", Config{OrgID: "org-1"}, "organization ID"},
		{"bad trail", Config{Trails: []Trail{{Name: "a"}}}, "naming rules"},
		{"bad prefix", Config{Prefix: "a/../b"}, "not allowed"},
		{"days", Config{Days: -2}, "days"},
		{"gzip", Config{GzipLevel: 12}, "gzip level"},
		{"unknown scenario", Config{Scenarios: []Scenario{{Name: "meteor"}}}, "unknown scenario"},
		{"too late", Config{Scenarios: []Scenario{{Name: ScenarioLogDeleted, At: day.AddDate(0, 0, 3)}}}, "outside the archive"},
		{"no hours", Config{Scenarios: []Scenario{{Name: ScenarioLogDeleted, Hours: 2}}}, "takes no hours"},
		{"no region", Config{Scenarios: []Scenario{{Name: ScenarioGlobalEventsOff, Region: "eu-west-1"}}}, "takes no region"},
		{"no time", Config{Scenarios: []Scenario{{Name: ScenarioNoiseObjects, At: day}}}, "takes no time"},
		{"stranger", Config{Scenarios: []Scenario{{Name: ScenarioLogDeleted, Account: "999999999999"}}}, "not in the archive"},
		{"two trails", Config{Accounts: []string{"111111111111"}, Trails: []Trail{{Name: "one", Accounts: []string{"111111111111"}}, {Name: "two", Accounts: []string{"111111111111"}}}}, "logged by trails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Normalize()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Normalize() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseScenario(t *testing.T) {
	s, err := ParseScenario("delivery-gap:region=eu-west-1,hours=5,at=2025-01-06T10:00:00Z,account=111111111111")
	if err != nil {
		t.Fatal(err)
	}
	want := Scenario{Name: ScenarioDeliveryGap, Account: "111111111111", Region: "eu-west-1", At: time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC), Hours: 5}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	for _, bad := range []string{"meteor", "log-deleted:count", "log-deleted:count=x", "log-deleted:color=red"} {
		if _, err := ParseScenario(bad); err == nil {
			t.Errorf("ParseScenario(%q) succeeded", bad)
		}
	}
}

func TestReadScenarios(t *testing.T) {
	list, err := ReadScenarios(strings.NewReader(`[{"name":"crypto-mining","region":"sa-east-1","count":2},{"name":"all"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Count != 2 || list[0].Region != "sa-east-1" {
		t.Errorf("got %+v", list)
	}
	for _, bad := range []string{`{}`, `[{"name":"meteor"}]`, `[{"name":"log-deleted","colour":1}]`} {
		if _, err := ReadScenarios(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadScenarios(%s) succeeded", bad)
		}
	}
}

// TestSparseShape: --events-per-day with --no-digests makes a few log
// files a day per account × region and no digest, and the truth counts
// nothing as unlisted.
func TestSparseShape(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Seed: 4, AccountCount: 1, Regions: []string{"us-east-1", "eu-west-1"}, EnabledRegions: []string{"us-east-1", "eu-west-1"},
		Days: 60, EventsPerDay: 3, NoDigests: true, Keys: testKeys(4)}
	truth, err := Generate(t.Context(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	a := readArchive(t, dir)
	if len(a.digests) != 0 {
		t.Errorf("%d digests written with NoDigests", len(a.digests))
	}
	perRegion := map[string]int{}
	for _, l := range a.logs {
		perRegion[l.loc.Region]++
	}
	for _, region := range cfg.Regions {
		// us-east-1 also gets global-service events, a third more.
		if n := perRegion[region]; n < 60 || n > 60*8 {
			t.Errorf("%s: %d log files in 60 days at 3 events a day", region, n)
		}
	}
	for _, c := range truth.Chains {
		if c.DigestsWritten != 0 || c.LogsUnlisted != 0 || c.LogsListed != 0 {
			t.Errorf("%s: truth %d digests, %d listed, %d unlisted; want none", c.Region, c.DigestsWritten, c.LogsListed, c.LogsUnlisted)
		}
	}
	bad := cfg
	bad.Scenarios = []Scenario{{Name: ScenarioDigestDeleted}}
	if err := bad.Normalize(); err == nil {
		t.Error("a digest scenario accepted without digests")
	}
}
