package report

import (
	"fmt"
	"time"

	"github.com/trailcover/trailcover/analyzer"
)

// Hostile strings planted where the archive's writers control the text.
// Each would make a request to base if it ever ran or loaded, so a
// browser test that serves the page from base sees any escape.
type payloads struct {
	UserAgent, RequestParameters, Principal, Region, Title, Trail, Detail,
	CommandArg, Exemption, Account, EventName string
}

func newPayloads(base string) payloads {
	return payloads{
		UserAgent:         `<img src=x onerror="fetch('` + base + `/xss-ua')">`,
		RequestParameters: `{"name":"</td></tr></table><script>fetch('` + base + `/xss-rp')</script>","policy":"<style>body{background:url(` + base + `/xss-css)}</style>"}`,
		Principal:         `arn:aws:iam::444455556666:user/"><svg onload="fetch('` + base + `/xss-principal')">`,
		Region:            `us-east-1"><img src="` + base + `/xss-img">`,
		Title:             `</title></rect></svg><script>fetch('` + base + `/xss-title')</script>` + "\u202egpj.exe",
		Trail:             `<iframe src="` + base + `/xss-iframe"></iframe>`,
		Detail:            `<meta http-equiv="refresh" content="0;url=` + base + `/xss-refresh"><base href="` + base + `/xss-base/">`,
		CommandArg:        `--out=<link rel=stylesheet href="` + base + `/xss-link.css">`,
		Exemption:         `<object data="` + base + `/xss-object"></object>`,
		Account:           `<a href="javascript:fetch('` + base + `/xss-js')">click</a>`,
		EventName:         `<img src="` + base + `/xss-event" style="background:url(` + base + `/xss-style)">`,
	}
}

func (p payloads) all() []string {
	return []string{p.UserAgent, p.RequestParameters, p.Principal, p.Region, p.Title, p.Trail,
		p.Detail, p.CommandArg, p.Exemption, p.Account, p.EventName}
}

var (
	fixtureStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	fixtureEnd   = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
)

// fixtureRun is the run of the golden files: a fixed clock.
func fixtureRun(p payloads) Run {
	return Run{
		ToolName:              "trailcover",
		ToolVersion:           "v0.9.0-test",
		Source:                "s3://audit-archive/org-trail/" + p.Title,
		Start:                 fixtureStart,
		End:                   fixtureEnd,
		GeneratedAt:           time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC),
		CommandLine:           []string{"trailcover", "analyze", "--start", "2024-03-01", "--end", "2024-03-04", "--allow-regions", "us-east-1,eu-west-1", p.CommandArg, "s3://audit-archive/org-trail/"},
		InputsHash:            "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
		PublicKeyFingerprints: []string{"3d7e2a1c9b8f4e6d5c4b3a2918f7e6d5", "a1b2c3d4e5f60718293a4b5c6d7e8f90"},
		AllowRegions:          []string{"eu-west-1", "us-east-1"},
		FailOn:                "high",
	}
}

// fixtureResult is an analysis with every section filled and hostile
// strings wherever CloudTrail data reaches the report.
func fixtureResult(p payloads) *analyzer.Result {
	const acct1, acct2 = "111122223333", "444455556666"
	res := &analyzer.Result{
		Objects: analyzer.ObjectCounts{Listed: 1310, LogFiles: 1020, DigestFiles: 280, InsightFiles: 4, Other: 6, Unreadable: 2},
		Records: analyzer.RecordCounts{Total: 48211, Duplicates: 17, InWindow: 47950},
		Accounts: []analyzer.Account{
			{
				Account: acct1, OrgID: "o-abc123def4", Trails: []string{"org-trail"},
				RegionsDelivering: []string{"eu-west-1", "us-east-1", "us-west-2"},
				RegionsExpected:   []string{"ap-south-1", "eu-west-1", "us-east-1", "us-west-2"},
				RegionsMissing:    []string{"ap-south-1"},
			},
			{
				Account: acct2, OrgID: "o-abc123def4", Trails: []string{"org-trail", p.Trail},
				RegionsDelivering: []string{"us-east-1", p.Region},
				RegionsExpected:   []string{"us-east-1"},
				RegionsMissing:    []string{},
			},
		},
		Chains: []analyzer.Chain{
			{Account: acct1, OrgID: "o-abc123def4", Region: "eu-west-1", Trail: "org-trail", HomeRegion: "us-east-1",
				First: fixtureStart, Last: fixtureEnd.Add(-time.Hour), DigestsValid: 72, LogsValid: 410},
			{Account: acct1, OrgID: "o-abc123def4", Region: "us-east-1", Trail: "org-trail", HomeRegion: "us-east-1",
				First: fixtureStart, Last: fixtureEnd.Add(-time.Hour), DigestsValid: 69, DigestsMissing: 3, LogsValid: 500, LogsInvalid: 1, LogsMissing: 2},
			{Account: acct2, OrgID: "o-abc123def4", Region: p.Region, Trail: p.Trail, HomeRegion: "us-east-1", Backfill: true, Prefix: "legacy/",
				First: fixtureStart, Last: fixtureStart.Add(5 * time.Hour), DigestsUnverifiable: 6, LogsUnlisted: 4},
		},
		Exemptions: []string{"cloudfront.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com", p.Exemption},
	}
	manyEvents := make([]string, 25)
	for i := range manyEvents {
		manyEvents[i] = fmt.Sprintf("RunInstances-%02d", i)
	}
	manyEvents[3] = p.EventName
	res.Findings = []analyzer.Finding{
		{
			Kind: analyzer.KindLoggingChanged, Severity: analyzer.Critical, Account: acct1, Region: "us-east-1",
			Start: fixtureStart.Add(30*time.Hour + 12*time.Minute), End: fixtureStart.Add(30*time.Hour + 12*time.Minute),
			Title:  "StopLogging on org-trail by " + p.Principal,
			Detail: "Logging was stopped; delivery resumed 6 hours later. " + p.Detail,
			Evidence: map[string]any{
				"event_id":           "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
				"event_name":         "StopLogging",
				"principal":          p.Principal,
				"user_agent":         p.UserAgent,
				"request_parameters": p.RequestParameters,
				"source_ip":          "198.51.100.23",
				"delivery_gaps": []map[string]any{
					{"account": acct1, "region": "us-west-2", "start": "2024-03-02T07:00:00Z", "end": "2024-03-02T13:00:00Z"},
				},
			},
		},
		{
			Kind: analyzer.KindDeliveryGap, Severity: analyzer.High, Account: acct1, Region: "us-west-2",
			Start: fixtureStart.Add(31 * time.Hour), End: fixtureStart.Add(37 * time.Hour),
			Title:    "Delivery gap of 6 h in us-west-2 for account " + acct1,
			Detail:   "Nothing at all was delivered for account 111122223333 in region us-west-2 from 2024-03-02T07:00:00Z to 2024-03-02T13:00:00Z (6 h).",
			Evidence: map[string]any{"hours": int64(6), "regions": []string{"us-west-2"}, "digests_expected": true, "coverage_percent": 97.9, "position": "inside"},
		},
		{
			Kind: analyzer.KindLogFileModified, Severity: analyzer.High, Account: acct1, Region: "us-east-1",
			Start: fixtureStart.Add(40 * time.Hour), End: fixtureStart.Add(40 * time.Hour),
			Title:  "Log file modified after delivery",
			Detail: "The file's SHA-256 differs from the one its digest lists.",
			Evidence: map[string]any{
				"object_key":      "AWSLogs/o-abc123def4/111122223333/CloudTrail/us-east-1/2024/03/02/111122223333_CloudTrail_us-east-1_20240302T1605Z_AbCdEfGh12345678.json.gz",
				"sha256_expected": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
				"sha256_actual":   "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
			},
		},
		{
			Kind: analyzer.KindRegionNotLogged, Severity: analyzer.High, Account: acct1, Region: "ap-south-1",
			Title:    "Region ap-south-1 of account 111122223333 is not logged",
			Detail:   "No log file and no digest in the window: the trail is single-region or leaves the region out.",
			Evidence: map[string]any{"regions_delivering": []string{"eu-west-1", "us-east-1", "us-west-2"}, "cause": "region left out"},
		},
		{
			Kind: analyzer.KindOutsideAllowlist, Severity: analyzer.Medium, Account: acct2, Region: p.Region,
			Start: fixtureStart.Add(2 * time.Hour), End: fixtureStart.Add(9 * time.Hour),
			Title:  "Activity outside the allowlist in " + p.Region,
			Detail: "25 write calls succeeded in a region outside the allowlist.",
			Evidence: map[string]any{
				"event_names": manyEvents,
				"principals":  []string{p.Principal, "arn:aws:iam::444455556666:role/Deploy"},
				"succeeded":   int64(25), "denied": int64(3), "read_only": int64(0),
			},
		},
		{
			Kind: analyzer.KindDigestMissing, Severity: analyzer.Medium, Account: acct1, Region: "us-east-1",
			Start: fixtureStart.Add(50 * time.Hour), End: fixtureStart.Add(53 * time.Hour),
			Title:    "3 hourly digests missing",
			Detail:   "The chain skips from 2024-03-03T02:00:00Z to 2024-03-03T05:00:00Z.",
			Evidence: map[string]any{"missing": int64(3), "trail": "org-trail"},
		},
		{
			Kind: analyzer.KindLogFileUnlisted, Severity: analyzer.Low, Account: acct2, Region: p.Region,
			Start: fixtureStart.Add(time.Hour), End: fixtureStart.Add(5 * time.Hour),
			Title:    "4 log files no digest lists",
			Detail:   "Injected, or delivered while log file validation was off.",
			Evidence: map[string]any{"count": int64(4), "trail": p.Trail},
		},
		{
			Kind: analyzer.KindDigestChainBreak, Severity: analyzer.Info, Account: acct2, Region: "us-east-1",
			Start: fixtureStart, End: fixtureStart,
			Title:    "Digest chain starts in the window",
			Detail:   "The first digest has no previous digest: logging or validation was (re)started.",
			Evidence: map[string]any{"account_label": p.Account},
		},
	}
	res.Coverage = analyzer.NewCoverageTable(fixtureCoverage(p, acct1, acct2))
	return res
}

// fixtureCoverage is three days of hours: steady delivery with a gap, an
// absent hour, quiet hours, a region never delivering and a region
// without digests.
func fixtureCoverage(p payloads, acct1, acct2 string) []analyzer.CoverageRun {
	var rows []analyzer.CoverageRun
	add := func(acct, region string, expected bool, status func(h int) (string, int, int)) {
		first := len(rows)
		for h := range 72 {
			st, logs, digests := status(h)
			at := fixtureStart.Add(time.Duration(h) * time.Hour)
			// Hours of one status join the run before them, as the
			// analysis builds runs.
			if n := len(rows) - 1; n >= first && rows[n].Status == st && (rows[n].Digests > 0) == (digests > 0) {
				r := &rows[n]
				r.End, r.Hours = at.Add(time.Hour), r.Hours+1
				r.LogFiles, r.Digests, r.Records, r.ListedLogFiles = r.LogFiles+logs, r.Digests+digests, r.Records+logs*40, r.ListedLogFiles+logs
				continue
			}
			rows = append(rows, analyzer.CoverageRun{
				Account: acct, OrgID: "o-abc123def4", Region: region, Start: at, End: at.Add(time.Hour), Hours: 1,
				Expected: expected, Status: st, LogFiles: logs, Digests: digests, Records: logs * 40, ListedLogFiles: logs,
				DigestEmptyProof: st == analyzer.CoverageQuiet,
			})
		}
	}
	add(acct1, "ap-south-1", true, func(int) (string, int, int) { return analyzer.CoverageMissing, 0, 0 })
	add(acct1, "eu-west-1", true, func(h int) (string, int, int) {
		if h%24 < 6 {
			return analyzer.CoverageQuiet, 0, 1
		}
		return analyzer.CoverageDelivered, 3, 1
	})
	add(acct1, "us-east-1", true, func(h int) (string, int, int) {
		switch {
		case h == 40:
			return analyzer.CoverageAbsent, 0, 1
		case h >= 50 && h < 53:
			return analyzer.CoverageDelivered, 12, 0
		}
		return analyzer.CoverageDelivered, 12, 1
	})
	add(acct1, "us-west-2", true, func(h int) (string, int, int) {
		if h >= 31 && h < 37 {
			return analyzer.CoverageMissing, 0, 0
		}
		return analyzer.CoverageDelivered, 2, 1
	})
	add(acct2, "us-east-1", true, func(h int) (string, int, int) {
		if h%5 == 0 {
			return analyzer.CoverageMissing, 0, 0
		}
		return analyzer.CoverageDelivered, 1, 0
	})
	add(acct2, p.Region, false, func(h int) (string, int, int) {
		if h >= 1 && h < 9 {
			return analyzer.CoverageDelivered, 1, 0
		}
		return analyzer.CoverageMissing, 0, 0
	})
	return rows
}
