package analyzer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// covT0 is the start of the archives the unit tests build.
var covT0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

func covAt(hours, minutes int) time.Time {
	return covT0.Add(time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute)
}

// covArchive builds scan results for the unit tests.
type covArchive struct {
	objects []*ingest.Result
	n       int
}

func (a *covArchive) unique() string {
	a.n++
	return fmt.Sprintf("U%015d", a.n)
}

func covLogKey(acct, region string, t time.Time, unique string) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		acct, region, t.Format("2006/01/02"), acct, region, t.Format("20060102T1504Z"), unique)
}

func covDigestKey(acct, region, trail, home string, end time.Time) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz",
		acct, region, end.Format("2006/01/02"), acct, region, trail, home, end.Format("20060102T150405Z"))
}

// log adds a log file delivered at t holding recs; records without an
// account, region or time get the file's.
func (a *covArchive) log(acct, region string, t time.Time, recs ...ingest.Record) string {
	key := covLogKey(acct, region, t, a.unique())
	r := &ingest.Result{Object: ingest.Object{Key: key}, Location: ingest.ParseKey(key)}
	if r.Location.Kind != ingest.KindLog {
		panic("bad log key " + key)
	}
	for _, rec := range recs {
		if rec.AWSRegion == "" {
			rec.AWSRegion = region
		}
		if rec.Time.IsZero() {
			rec.Time = t.Add(-time.Minute)
		}
		if rec.RecipientAccountID == "" {
			rec.RecipientAccountID = acct
		}
		if rec.EventID == "" {
			rec.EventID = "ev-" + a.unique()
		}
		r.Records = append(r.Records, rec)
	}
	if len(r.Records) == 0 {
		r.Records = []ingest.Record{{EventID: "ev-" + a.unique(), EventSource: "ec2.amazonaws.com", EventName: "DescribeInstances",
			AWSRegion: region, Time: t.Add(-time.Minute), RecipientAccountID: acct, ReadOnly: ingest.Bool{Value: true, Set: true}}}
	}
	a.objects = append(a.objects, r)
	return key
}

// digest adds a digest of window [start, end) listing files.
func (a *covArchive) digest(acct, region, trail, home string, start, end time.Time, files ...string) {
	key := covDigestKey(acct, region, trail, home, end)
	d := &ingest.Digest{
		AWSAccountID:    acct,
		DigestStartTime: start.Format(time.RFC3339),
		DigestEndTime:   end.Format(time.RFC3339),
		DigestS3Bucket:  "trail-bucket",
		DigestS3Object:  key,
		LogFiles:        []ingest.DigestFile{},
	}
	for _, f := range files {
		d.LogFiles = append(d.LogFiles, ingest.DigestFile{S3Bucket: "trail-bucket", S3Object: f})
	}
	r := &ingest.Result{Object: ingest.Object{Key: key}, Location: ingest.ParseKey(key), Digest: d}
	if r.Location.Kind != ingest.KindDigest {
		panic("bad digest key " + key)
	}
	a.objects = append(a.objects, r)
}

// hourly adds a chain of hourly digests for hours [from, to) of covT0, at a
// fixed offset of 17 minutes 28 seconds, listing no files.
func (a *covArchive) hourly(acct, region, trail, home string, from, to int) {
	off := 17*time.Minute + 28*time.Second
	for h := from; h < to; h++ {
		a.digest(acct, region, trail, home, covAt(h, 0).Add(off-time.Hour), covAt(h, 0).Add(off))
	}
}

// run feeds the covArchive to an analyzer: digests first, as the scan does,
// each phase in the order given by perm (nil: as built).
func (a *covArchive) run(cfg Config, shuffle *rand.Rand) *Result {
	an := New(cfg)
	var digests, rest []*ingest.Result
	for _, o := range a.objects {
		if o.Location.Kind == ingest.KindDigest {
			digests = append(digests, o)
		} else {
			rest = append(rest, o)
		}
	}
	for _, phase := range [][]*ingest.Result{digests, rest} {
		phase = slices.Clone(phase)
		if shuffle != nil {
			shuffle.Shuffle(len(phase), func(i, j int) { phase[i], phase[j] = phase[j], phase[i] })
		}
		for _, o := range phase {
			an.Observe(o)
		}
	}
	return an.Finish(nil)
}

func covFindings(res *Result, kinds ...string) []Finding {
	var out []Finding
	for _, f := range res.Findings {
		if slices.Contains(kinds, f.Kind) {
			out = append(out, f)
		}
	}
	return out
}

func covAccount(t *testing.T, res *Result, id string) Account {
	t.Helper()
	for _, a := range res.Accounts {
		if a.Account == id {
			return a
		}
	}
	t.Fatalf("account %s not in result %+v", id, res.Accounts)
	return Account{}
}

func covWindow(fromHour, toHour int) ingest.Window {
	return ingest.Window{Start: covAt(fromHour, 0), End: covAt(toHour, 0)}
}

const (
	covAcctA = "111111111111"
	covAcctB = "222222222222"
)

func TestCoverageRows(t *testing.T) {
	var a covArchive
	// us-east-1: a log file in hours 0 and 2, hourly digests listing them.
	f0 := a.log(covAcctA, "us-east-1", covAt(0, 5))
	f2 := a.log(covAcctA, "us-east-1", covAt(2, 10), ingest.Record{Time: covAt(2, 3)}, ingest.Record{Time: covAt(1, 59)})
	off := 30 * time.Minute
	a.digest(covAcctA, "us-east-1", "main", "us-east-1", covAt(-1, 0).Add(off), covAt(0, 0).Add(off), f0)
	a.digest(covAcctA, "us-east-1", "main", "us-east-1", covAt(0, 0).Add(off), covAt(1, 0).Add(off))
	a.digest(covAcctA, "us-east-1", "main", "us-east-1", covAt(1, 0).Add(off), covAt(2, 0).Add(off))
	a.digest(covAcctA, "us-east-1", "main", "us-east-1", covAt(2, 0).Add(off), covAt(3, 0).Add(off), f2)
	// eu-west-1: digests only, one of which lists a file that is absent.
	a.hourly(covAcctA, "eu-west-1", "main", "us-east-1", 0, 3)
	a.digest(covAcctA, "eu-west-1", "main", "us-east-1", covAt(2, 50), covAt(3, 10), covLogKey(covAcctA, "eu-west-1", covAt(2, 55), "ABSENTABSENTABSE"))

	res := a.run(Config{Window: covWindow(0, 3), ExpectRegions: []string{"us-east-1", "eu-west-1", "sa-east-1"}}, nil)

	type row struct {
		region                                  string
		hour, hours, logs, records, digs, listd int
		proof                                   bool
		status                                  string
	}
	// Runs of one status: counts are the sums over the run's hours.
	want := []row{
		{"eu-west-1", 0, 2, 0, 0, 4, 0, true, CoverageQuiet},
		// The last hourly digest ends at 02:17:28, the extra one covers
		// 02:50 to 03:10 and lists a file that is not there.
		{"eu-west-1", 2, 1, 0, 0, 2, 1, false, CoverageAbsent},
		{"sa-east-1", 0, 3, 0, 0, 0, 0, false, CoverageMissing},
		{"us-east-1", 0, 1, 1, 1, 2, 1, false, CoverageDelivered},
		{"us-east-1", 1, 1, 0, 1, 2, 0, true, CoverageQuiet},
		{"us-east-1", 2, 1, 1, 1, 2, 1, false, CoverageDelivered},
	}
	var got []row
	for _, c := range res.Coverage.Rows() {
		if c.Account != covAcctA || !c.Expected {
			t.Errorf("row %+v: want account %s, expected", c, covAcctA)
		}
		if c.End.Sub(c.Start) != time.Duration(c.Hours)*time.Hour {
			t.Errorf("row %+v: %d hours from %s to %s", c, c.Hours, c.Start, c.End)
		}
		got = append(got, row{c.Region, int(c.Start.Sub(covT0).Hours()), c.Hours, c.LogFiles, c.Records, c.Digests, c.ListedLogFiles, c.DigestEmptyProof, c.Status})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("coverage rows:\n got %+v\nwant %+v", got, want)
	}
	acct := covAccount(t, res, covAcctA)
	if want := []string{"eu-west-1", "sa-east-1", "us-east-1"}; !slices.Equal(acct.RegionsExpected, want) {
		t.Errorf("RegionsExpected = %v, want %v", acct.RegionsExpected, want)
	}
	if want := []string{"sa-east-1"}; !slices.Equal(acct.RegionsMissing, want) {
		t.Errorf("RegionsMissing = %v, want %v", acct.RegionsMissing, want)
	}
	if p, ok := res.CoveragePercent(covAcctA); !ok || p != 66.7 {
		t.Errorf("CoveragePercent = %v, %v; want 66.7", p, ok)
	}
	if _, ok := res.CoveragePercent(covAcctB); ok {
		t.Errorf("CoveragePercent of an unknown account reported")
	}
}

func TestMinuteMask(t *testing.T) {
	h := hourOf(covAt(5, 0))
	tests := []struct {
		from, to time.Time
		minutes  int
	}{
		{covAt(4, 17), covAt(5, 17), 17},
		{covAt(5, 17).Add(28 * time.Second), covAt(6, 17), 43},
		{covAt(4, 0), covAt(7, 0), 60},
		{covAt(5, 10), covAt(5, 10), 0},
		{covAt(6, 0), covAt(7, 0), 0},
	}
	for _, tt := range tests {
		m := minuteMask(h, tt.from, tt.to)
		if n := covPopcount(m); n != tt.minutes {
			t.Errorf("minuteMask(%s, %s) covers %d minutes, want %d", tt.from.Format("15:04:05"), tt.to.Format("15:04:05"), n, tt.minutes)
		}
	}
	if minuteMask(h, covAt(4, 17), covAt(5, 17))|minuteMask(h, covAt(5, 17), covAt(6, 17)) != allMinutes {
		t.Error("two adjacent windows do not cover the hour")
	}
}

func covPopcount(m uint64) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// covMultiRegion builds an account with hourly digests in every standard
// region for hours [0, hours), except the hours skip returns true for.
func covMultiRegion(a *covArchive, acct string, hours int, skip func(region string, h int) bool) {
	for _, region := range mustLoadRegions().DefaultRegions("aws") {
		off := 17*time.Minute + 28*time.Second
		for h := 0; h < hours; h++ {
			if skip != nil && skip(region, h) {
				continue
			}
			a.digest(acct, region, "org", "us-east-1", covAt(h, 0).Add(off-time.Hour), covAt(h, 0).Add(off))
		}
	}
}

func TestRegionNotLogged(t *testing.T) {
	type want struct {
		region string
		sev    Severity
		cause  string
	}
	tests := []struct {
		name   string
		build  func(a *covArchive)
		cfg    Config
		want   []want
		expect []string
	}{{
		name: "single-region trail",
		build: func(a *covArchive) {
			a.hourly(covAcctA, "us-west-2", "solo", "us-west-2", 0, 6)
			a.log(covAcctA, "us-west-2", covAt(1, 5))
		},
		want: func() []want {
			var w []want
			for _, r := range mustLoadRegions().DefaultRegions("aws") {
				if r != "us-west-2" {
					w = append(w, want{r, High, "single-region trail"})
				}
			}
			return w
		}(),
	}, {
		name: "region left out",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 6, func(region string, h int) bool { return region == "eu-north-1" })
		},
		want: []want{{"eu-north-1", High, "region left out of the account's trails"}},
	}, {
		name: "opt-in region expected but not enabled",
		build: func(a *covArchive) {
			a.hourly(covAcctA, "eu-west-1", "main", "eu-west-1", 0, 6)
		},
		cfg:    Config{ExpectRegions: []string{"eu-west-1", "af-south-1"}},
		want:   []want{{"af-south-1", Medium, "region not enabled (opt-in)"}},
		expect: []string{"af-south-1", "eu-west-1"},
	}, {
		name: "opt-in region in use before the window",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 6, nil)
			a.log(covAcctA, "me-central-1", covAt(-30, 0))
		},
		want: []want{{"me-central-1", Medium, "delivered outside the window only"}},
	}, {
		name: "no digests",
		build: func(a *covArchive) {
			for _, r := range []string{"us-east-1", "eu-west-1"} {
				for h := range 6 {
					a.log(covAcctA, r, covAt(h, 5))
				}
			}
		},
		cfg:  Config{ExpectRegions: []string{"us-east-1", "eu-west-1", "eu-west-2"}},
		want: []want{{"eu-west-2", Medium, "not logged, or quiet with log file validation off"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a covArchive
			tt.build(&a)
			cfg := tt.cfg
			cfg.Window = covWindow(0, 6)
			res := a.run(cfg, nil)
			var got []want
			for _, f := range covFindings(res, KindRegionNotLogged) {
				got = append(got, want{f.Region, f.Severity, f.Evidence["likely_cause"].(string)})
				if f.Account != covAcctA {
					t.Errorf("finding for account %q, want %s", f.Account, covAcctA)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("region-not-logged:\n got %v\nwant %v", got, tt.want)
			}
			acct := covAccount(t, res, covAcctA)
			var wantMissing []string
			for _, w := range tt.want {
				wantMissing = append(wantMissing, w.region)
			}
			if !slices.Equal(acct.RegionsMissing, wantMissing) {
				t.Errorf("RegionsMissing = %v, want %v", acct.RegionsMissing, wantMissing)
			}
			if tt.expect != nil && !slices.Equal(acct.RegionsExpected, tt.expect) {
				t.Errorf("RegionsExpected = %v, want %v", acct.RegionsExpected, tt.expect)
			}
			if n := len(covFindings(res, KindDeliveryGap)); n != 0 {
				t.Errorf("%d delivery gaps, want none: %+v", n, covFindings(res, KindDeliveryGap))
			}
		})
	}
}

func TestRegionNotLoggedGlobalRegion(t *testing.T) {
	var a covArchive
	a.hourly(covAcctA, "eu-west-1", "solo", "eu-west-1", 0, 6)
	res := a.run(Config{Window: covWindow(0, 6)}, nil)
	for _, f := range covFindings(res, KindRegionNotLogged) {
		global := f.Evidence["global_events_unlogged"] == true
		if global != (f.Region == "us-east-1") {
			t.Errorf("%s: global_events_unlogged = %v", f.Region, global)
		}
		if f.Region == "us-east-1" && !strings.Contains(f.Detail, "Global-service events") {
			t.Errorf("us-east-1 detail does not mention global events: %s", f.Detail)
		}
	}
}

func TestNoDeliveryInWindow(t *testing.T) {
	var a covArchive
	a.hourly(covAcctA, "us-east-1", "main", "us-east-1", 0, 6)
	a.log(covAcctB, "us-east-1", covAt(-48, 0)) // long before the window
	res := a.run(Config{Window: covWindow(0, 6), ExpectRegions: []string{"us-east-1"}}, nil)
	var got []string
	for _, f := range covFindings(res, KindRegionNotLogged) {
		got = append(got, f.Account+"/"+f.Region)
	}
	// Account B: one finding for the whole account.
	if want := []string{covAcctB + "/"}; !slices.Equal(got, want) {
		t.Errorf("region-not-logged = %v, want %v", got, want)
	}
}

func TestDeliveryGap(t *testing.T) {
	type gap struct {
		region     string
		start, end int
		sev        Severity
	}
	tests := []struct {
		name   string
		build  func(a *covArchive)
		hours  int
		expect []string
		want   []gap
	}{{
		name: "one region stops for two hours",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && (h == 5 || h == 6 || h == 7) })
		},
		// Digests at hh:17:28 cover hh-1 and hh: three missing digests
		// leave hours 5 and 6 bare.
		want: []gap{{"eu-west-1", 5, 7, High}},
	}, {
		name: "one missing digest is no gap",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && h == 5 })
		},
	}, {
		name: "every region stops",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return h >= 4 && h <= 6 })
		},
		want: []gap{{"", 4, 6, High}},
	}, {
		name: "overlapping gaps do not chain",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool {
				switch r {
				case "eu-west-1":
					return h >= 2 && h <= 4 // bare 2, 3
				case "eu-west-2":
					return h >= 3 && h <= 6 // bare 3, 4, 5
				case "eu-west-3":
					return h >= 6 && h <= 8 // bare 6, 7
				}
				return false
			})
		},
		// The first finding names eu-west-1 and eu-west-2, so it claims
		// only the hour both were silent (3); each region's own run is
		// in its evidence.
		want: []gap{{"", 3, 4, High}, {"eu-west-3", 6, 8, High}},
	}, {
		name: "log files bridge a gap in digests",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && h >= 4 && h <= 7 })
			for h := 3; h <= 8; h++ {
				a.log(covAcctA, "eu-west-1", covAt(h, 20))
			}
		},
	}, {
		name: "short silence at the end of the covArchive",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && h == 11 })
		},
	}, {
		name: "long silence at the end of the covArchive",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && h >= 9 })
		},
		want: []gap{{"eu-west-1", 9, 12, High}},
	}, {
		name: "late start",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && h <= 4 })
		},
		want: []gap{{"eu-west-1", 0, 4, Medium}},
	}, {
		name: "catch-up digest",
		build: func(a *covArchive) {
			covMultiRegion(a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && h >= 5 && h <= 8 })
			off := 17*time.Minute + 28*time.Second
			a.digest(covAcctA, "eu-west-1", "org", "us-east-1", covAt(4, 0).Add(off), covAt(8, 0).Add(off))
		},
		// The catch-up digest ending at 08:17:28 proves delivery in hour
		// 8 only.
		want: []gap{{"eu-west-1", 5, 8, High}},
	}, {
		name: "busy region without digests",
		build: func(a *covArchive) {
			for h := range 24 {
				if h < 10 || h >= 18 {
					a.log(covAcctA, "us-east-1", covAt(h, 5))
				}
				if h%3 == 0 {
					a.log(covAcctA, "eu-west-1", covAt(h, 5)) // quiet: a third of hours
				}
			}
		},
		hours:  24,
		expect: []string{"eu-west-1", "us-east-1"},
		want:   []gap{{"us-east-1", 10, 18, Medium}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a covArchive
			tt.build(&a)
			hours := cmp.Or(tt.hours, 12)
			res := a.run(Config{Window: covWindow(0, hours), ExpectRegions: tt.expect}, nil)
			var got []gap
			for _, f := range covFindings(res, KindDeliveryGap) {
				got = append(got, gap{f.Region, int(f.Start.Sub(covT0).Hours()), int(f.End.Sub(covT0).Hours()), f.Severity})
				if f.Evidence["hours"] != int64(f.End.Sub(f.Start).Hours()) {
					t.Errorf("evidence hours = %v for %s..%s", f.Evidence["hours"], f.Start, f.End)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("delivery gaps:\n got %v\nwant %v", got, tt.want)
			}
			if strings.HasPrefix(tt.name, "catch-up") && len(got) == 1 {
				if _, ok := covFindings(res, KindDeliveryGap)[0].Evidence["catch_up_digest"]; !ok {
					t.Error("no catch_up_digest evidence")
				}
			}
			if n := len(covFindings(res, KindRegionNotLogged)); n != 0 {
				t.Errorf("%d region-not-logged findings, want none", n)
			}
		})
	}
}

func TestDeliveryGapExplained(t *testing.T) {
	var a covArchive
	covMultiRegion(&a, covAcctA, 12, func(r string, h int) bool { return h >= 4 && h <= 6 })
	stop := ingest.Record{EventID: "stop-1", EventSource: sourceCloudTrail, EventName: "StopLogging", Time: covAt(3, 20),
		SourceIPAddress: "203.0.113.9", RequestParameters: json.RawMessage(`{"name":"arn:aws:cloudtrail:us-east-1:111111111111:trail/org"}`),
		UserIdentity: ingest.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111111111111:user/mallory"}}
	start := ingest.Record{EventID: "start-1", EventSource: sourceCloudTrail, EventName: "StartLogging", Time: covAt(5, 55),
		UserIdentity: ingest.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111111111111:user/admin"}}
	a.log(covAcctA, "us-east-1", covAt(3, 25), stop)
	a.log(covAcctA, "us-east-1", covAt(6, 0), start)
	res := a.run(Config{Window: covWindow(0, 12)}, nil)

	gaps := covFindings(res, KindDeliveryGap)
	if len(gaps) != 1 {
		t.Fatalf("gaps = %+v, want one", gaps)
	}
	g := gaps[0]
	if g.Region != "" || !g.Start.Equal(covAt(4, 0)) || !g.End.Equal(covAt(6, 0)) {
		t.Errorf("gap %q %s..%s, want all regions 04:00..06:00", g.Region, g.Start, g.End)
	}
	ex, _ := g.Evidence["explained_by"].(map[string]any)
	if ex["event_id"] != "stop-1" || ex["principal"] != "arn:aws:iam::111111111111:user/mallory" {
		t.Errorf("explained_by = %v", g.Evidence["explained_by"])
	}
	if re, _ := g.Evidence["resumed_by"].(map[string]any); re["event_id"] != "start-1" {
		t.Errorf("resumed_by = %v", g.Evidence["resumed_by"])
	}
	if !strings.Contains(g.Detail, "StopLogging") {
		t.Errorf("detail does not name the call: %s", g.Detail)
	}
	var linked bool
	for _, f := range covFindings(res, KindLoggingChanged) {
		if f.Evidence["event_id"] == "stop-1" {
			gs, _ := f.Evidence["delivery_gaps"].([]map[string]any)
			linked = len(gs) == 1 && gs[0]["start"] == formatEvidenceTime(covAt(4, 0))
		}
	}
	if !linked {
		t.Errorf("StopLogging finding does not name the gap: %+v", covFindings(res, KindLoggingChanged))
	}
}

// TestCoverageOrderIndependent feeds one covArchive in many orders: workers
// race, and output must not depend on who wins.
func TestCoverageOrderIndependent(t *testing.T) {
	var a covArchive
	covMultiRegion(&a, covAcctA, 12, func(r string, h int) bool { return r == "eu-west-1" && h >= 4 && h <= 7 })
	for i := range 40 {
		a.log(covAcctA, []string{"sa-east-1", "us-east-1"}[i%2], covAt(i%12, 5),
			ingest.Record{EventSource: "ec2.amazonaws.com", EventName: "RunInstances", Time: covAt(i%12, i),
				UserIdentity: ingest.UserIdentity{ARN: fmt.Sprintf("arn:aws:iam::111111111111:user/u%d", i%7)}, SourceIPAddress: fmt.Sprintf("198.51.100.%d", i%5)})
	}
	a.log(covAcctA, "us-east-1", covAt(3, 0), ingest.Record{EventSource: sourceCloudTrail, EventName: "StopLogging", Time: covAt(2, 50)})
	cfg := Config{Window: covWindow(0, 12), AllowRegions: []string{"us-east-1"}}
	want := a.run(cfg, nil)
	for seed := range uint64(5) {
		got := a.run(cfg, rand.New(rand.NewPCG(seed, 1)))
		if !reflect.DeepEqual(got.Coverage.Rows(), want.Coverage.Rows()) {
			t.Errorf("seed %d: coverage differs", seed)
		}
		gj, _ := json.Marshal(got.Findings)
		wj, _ := json.Marshal(want.Findings)
		if string(gj) != string(wj) {
			t.Errorf("seed %d: findings differ:\n got %s\nwant %s", seed, gj, wj)
		}
		if !reflect.DeepEqual(got.Accounts, want.Accounts) {
			t.Errorf("seed %d: accounts differ", seed)
		}
	}
}
