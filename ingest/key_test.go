package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tt, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

// TestParseKey holds the real keys quoted in the CloudTrail format reference
// (§1) and the shapes around them that must not be taken for CloudTrail's.
func TestParseKey(t *testing.T) {
	tests := []struct {
		key  string
		want Location // Key is filled in by the test
	}{
		// §1.1 log files.
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Kind: KindLog, Account: "111111111111", Region: "us-east-2", Time: mustTime(t, "2015-09-01T19:25:00Z"), Unique: "WZZw1RymnjCRjxXc"}},
		{"AWSLogs/144492464627/CloudTrail/us-west-2/2020/09/11/144492464627_CloudTrail_us-west-2_20200911T1930Z_l2pGqVS53QcGdAkp.json.gz",
			Location{Kind: KindLog, Account: "144492464627", Region: "us-west-2", Time: mustTime(t, "2020-09-11T19:30:00Z"), Unique: "l2pGqVS53QcGdAkp"}},
		// A redacted account is not an account ID: not CloudTrail's.
		{"AWSLogs/blahblah/CloudTrail/us-east-1/2016/03/15/blahblah_CloudTrail_us-east-1_20160315T1520Z_qQm4gunsTnNuJosk.json.gz",
			Location{Anomaly: "account folder is not a 12-digit account ID"}},
		// The documentation typo without the underscore before the unique string.
		{"AWSLogs/123456789012/CloudTrail/us-west-1/2014/06/20/123456789012_CloudTrail_us-west-1_20140620T1255ZHdkvFTXOA3Vnhbc.json.gz",
			Location{Anomaly: "file name does not end in _<timestamp>_<16 characters>"}},
		// §1.2 Control Tower: the organization ID as prefix and below AWSLogs/.
		{"o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789016/CloudTrail/ca-central-1/2020/08/30/123456789016_CloudTrail_ca-central-1_20200830T0115Z_3YQJxwt5qUaOzMtL.json.gz",
			Location{Kind: KindLog, Prefix: "o-fxozgwu6rc/", OrgID: "o-fxozgwu6rc", Account: "123456789016", Region: "ca-central-1", Time: mustTime(t, "2020-08-30T01:15:00Z"), Unique: "3YQJxwt5qUaOzMtL"}},
		{"o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789016/CloudTrail-Digest/ca-central-1/2020/08/30/123456789016_CloudTrail-Digest_ca-central-1_PBMMAccel-Org-Trail_ca-central-1_20200830T190938Z.json.gz",
			Location{Kind: KindDigest, Prefix: "o-fxozgwu6rc/", OrgID: "o-fxozgwu6rc", Account: "123456789016", Region: "ca-central-1", Time: mustTime(t, "2020-08-30T19:09:38Z"), Trail: "PBMMAccel-Org-Trail", HomeRegion: "ca-central-1"}},
		// §1.3 digests: source region and home region differ.
		{"AWSLogs/327878933619/CloudTrail-Digest/ap-northeast-1/2023/10/15/327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20231015T230404Z.json.gz",
			Location{Kind: KindDigest, Account: "327878933619", Region: "ap-northeast-1", Time: mustTime(t, "2023-10-15T23:04:04Z"), Trail: "llm-guard-trail", HomeRegion: "us-west-2"}},
		{"AWSLogs/144492464627/CloudTrail-Digest/us-west-2/2020/09/11/144492464627_CloudTrail-Digest_us-west-2_leh-ct-test_us-west-2_20200911T193649Z.json.gz",
			Location{Kind: KindDigest, Account: "144492464627", Region: "us-west-2", Time: mustTime(t, "2020-09-11T19:36:49Z"), Trail: "leh-ct-test", HomeRegion: "us-west-2"}},
		{"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2015/08/16/123456789012_CloudTrail-Digest_us-east-1_foo_us-east-1_20150816T230550Z_backfill.json.gz",
			Location{Kind: KindDigest, Account: "123456789012", Region: "us-east-1", Time: mustTime(t, "2015-08-16T23:05:50Z"), Trail: "foo", HomeRegion: "us-east-1", Backfill: true}},
		// Trail names with '_' and '.' (the synthetic vector's key).
		{"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_my_trail.v2_us-east-1_20240102T030405Z.json.gz",
			Location{Kind: KindDigest, Account: "111122223333", Region: "us-east-1", Time: mustTime(t, "2024-01-02T03:04:05Z"), Trail: "my_trail.v2", HomeRegion: "us-east-1"}},
		// A trail name that itself ends like a region.
		{"AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2024/01/02/111122223333_CloudTrail-Digest_eu-west-1_audit_us-east-1_eu-west-1_20240102T030405Z.json.gz",
			Location{Kind: KindDigest, Account: "111122223333", Region: "eu-west-1", Time: mustTime(t, "2024-01-02T03:04:05Z"), Trail: "audit_us-east-1", HomeRegion: "eu-west-1"}},
		// §1.4 Insights.
		{"o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail-Insight/ca-central-1/2020/09/23/123456789015_CloudTrail-Insight_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz",
			Location{Kind: KindInsight, Prefix: "o-fxozgwu6rc/", OrgID: "o-fxozgwu6rc", Account: "123456789015", Region: "ca-central-1", Time: mustTime(t, "2020-09-23T05:16:00Z"), Unique: "KL5e9VCV2SS7IqzB"}},
		// Multi-segment prefix, GovCloud, European Sovereign Cloud, ISO.
		{"a/b/c/AWSLogs/210987654321/CloudTrail/us-gov-west-1/2024/02/29/210987654321_CloudTrail_us-gov-west-1_20240229T2355Z_ABCDEFGHIJKLMNOP.json.gz",
			Location{Kind: KindLog, Prefix: "a/b/c/", Account: "210987654321", Region: "us-gov-west-1", Time: mustTime(t, "2024-02-29T23:55:00Z"), Unique: "ABCDEFGHIJKLMNOP"}},
		{"AWSLogs/210987654321/CloudTrail/eusc-de-east-1/2026/01/01/210987654321_CloudTrail_eusc-de-east-1_20260101T0000Z_ABCDEFGHIJKLMNOP.json.gz",
			Location{Kind: KindLog, Account: "210987654321", Region: "eusc-de-east-1", Time: mustTime(t, "2026-01-01T00:00:00Z"), Unique: "ABCDEFGHIJKLMNOP"}},
		{"AWSLogs/210987654321/CloudTrail/us-isob-east-1/2026/01/01/210987654321_CloudTrail_us-isob-east-1_20260101T0000Z_ABCDEFGHIJKLMNOP.json.gz",
			Location{Kind: KindLog, Account: "210987654321", Region: "us-isob-east-1", Time: mustTime(t, "2026-01-01T00:00:00Z"), Unique: "ABCDEFGHIJKLMNOP"}},
		// A leading slash is part of the prefix.
		{"/AWSLogs/210987654321/CloudTrail/us-east-1/2026/01/01/210987654321_CloudTrail_us-east-1_20260101T0000Z_ABCDEFGHIJKLMNOP.json.gz",
			Location{Kind: KindLog, Prefix: "/", Account: "210987654321", Region: "us-east-1", Time: mustTime(t, "2026-01-01T00:00:00Z"), Unique: "ABCDEFGHIJKLMNOP"}},

		// §1.5 other objects: never CloudTrail, no anomaly.
		{"AWSLogs/877483565445/Config/ConfigWritabilityCheckFile", Location{}},
		{"config-logs/AWSLogs/877483565445/Config/ConfigWritabilityCheckFile", Location{}},
		{"AWSLogs/123456789016/Config/ca-central-1/2020/8/31/ConfigHistory/123456789016_Config_ca-central-1_ConfigHistory_AWS::CloudFormation::Stack_20200831T011226Z_20200831T025845Z_1.json.gz", Location{}},
		{"AWSLogs/123456789016/elasticloadbalancing/ca-central-1/ELBAccessLogTestFile", Location{}},
		{"AWSLogs/123456789016/vpcflowlogs/ca-central-1/2020/08/30/123456789016_vpcflowlogs_ca-central-1_fl-0a1b2c3d_20200830T0115Z_abc.log.gz", Location{}},
		{"AWSLogs/123456789016/CloudTrail/", Location{}},
		{"", Location{}},
		{"AWSLogs/", Location{}},

		// Keys in a CloudTrail folder that break its grammar: anomalies.
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/02/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Anomaly: "file-name date differs from the date folders"}},
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/01/222222222222_CloudTrail_us-east-2_20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Anomaly: "file name does not repeat the account, folder and region"}},
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-west-2_20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Anomaly: "file name does not repeat the account, folder and region"}},
		{"AWSLogs/111111111111/CloudTrail/../2015/09/01/111111111111_CloudTrail_.._20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Anomaly: "region folder is not a region name"}},
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/02/30/111111111111_CloudTrail_us-east-2_20150230T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Anomaly: "date folders are not YYYY/MM/DD"}},
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1Rymnj/RjxXc.json.gz",
			Location{}},
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1Rymnj.RjxXc.json.gz",
			Location{Anomaly: "unique string is not alphanumeric"}},
		// A copy someone decompressed: read, and noted.
		{"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1RymnjCRjxXc.json",
			Location{Kind: KindLog, Account: "111111111111", Region: "us-east-2", Time: time.Date(2015, 9, 1, 19, 25, 0, 0, time.UTC), Unique: "WZZw1RymnjCRjxXc", Layout: LayoutUncompressed}},
		// Re-laid out by region and date, as the SANS504 lab publishes it,
		// and flat, as Invictus does: recognised by the file name.
		{"us-east-1/2020/09/11/111111111111_CloudTrail_us-east-1_20200911T1835Z_AbCdEfGhIjKlMnOp.json.gz",
			Location{Kind: KindLog, Account: "111111111111", Region: "us-east-1", Time: time.Date(2020, 9, 11, 18, 35, 0, 0, time.UTC), Unique: "AbCdEfGhIjKlMnOp", Layout: LayoutRelaid}},
		{"111111111111_CloudTrail_us-east-1_20200911T1835Z_AbCdEfGhIjKlMnOp.json",
			Location{Kind: KindLog, Account: "111111111111", Region: "us-east-1", Time: time.Date(2020, 9, 11, 18, 35, 0, 0, time.UTC), Unique: "AbCdEfGhIjKlMnOp", Layout: LayoutRelaid + "; " + LayoutUncompressed}},
		{"evidence/111111111111_CloudTrail-Digest_us-east-1_my-trail_us-east-1_20200911T183649Z.json.gz",
			Location{Kind: KindDigest, Account: "111111111111", Region: "us-east-1", Time: time.Date(2020, 9, 11, 18, 36, 49, 0, time.UTC), Trail: "my-trail", HomeRegion: "us-east-1", Layout: LayoutRelaid}},
		{"exports/111111111111_cloudtrail_us-east-1_20200911T1835Z_AbCdEfGhIjKlMnOp.json.gz", Location{}},
		{"exports/notes_CloudTrail_us-east-1.json", Location{}},
		{"AWSLogs/111111111111/CloudTrail-Digest/us-east-2/2015/09/01/111111111111_CloudTrail-Digest_us-east-2_a..b_us-east-2_20150901T192500Z.json.gz",
			Location{Anomaly: "trail name breaks CloudTrail's naming rules"}},
		{"AWSLogs/111111111111/CloudTrail-Digest/us-east-2/2015/09/01/111111111111_CloudTrail-Digest_us-east-2_trail_20150901T192500Z.json.gz",
			Location{Anomaly: "no home region before the timestamp"}},
		{"AWSLogs/111111111111/CloudTrail-Digest/us-east-2/2015/09/01/111111111111_CloudTrail-Digest_us-east-2_trail_us-east-2_20150901T1925Z.json.gz",
			Location{Anomaly: "file name does not end in _<timestamp>"}},
		{"AWSLogs/o-short/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Anomaly: "the folder above the account is neither AWSLogs nor an organization ID"}},
		{"o-fxozgwu6rc/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
			Location{Anomaly: "no AWSLogs folder above the organization ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := ParseKey(tt.key)
			want := tt.want
			want.Key = tt.key
			if want.Kind != KindOther {
				want.Time = want.Time.UTC()
			}
			if got != want {
				t.Errorf("ParseKey(%q)\n got %+v\nwant %+v", tt.key, got, want)
			}
			if got.Kind != KindOther && got.Layout == "" {
				if back := got.ObjectKey(); back != tt.key {
					t.Errorf("ObjectKey() = %q, want %q", back, tt.key)
				}
			}
		})
	}
}

func TestParseKeyRealArchive(t *testing.T) {
	// Every file of a genuine archive parses as a log of its account.
	dir := filepath.Join(sharedDir(t), "data", "real", "grycap-974349055189")
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		loc := ParseKey(filepath.ToSlash(rel))
		if loc.Kind != KindLog || loc.Account != "974349055189" {
			t.Errorf("ParseKey(%q) = %v %+v, want a log of 974349055189", rel, loc.Kind, loc)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1067 {
		t.Errorf("walked %d log files, want 1067", n)
	}
}

func TestIsRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "ap-southeast-7", "us-gov-west-1", "cn-northwest-1", "eusc-de-east-1", "us-isob-east-1", "eu-isoe-west-1", "mx-central-1"} {
		if !IsRegion(r) {
			t.Errorf("IsRegion(%q) = false, want true", r)
		}
	}
	for _, r := range []string{"", "us", "us-east", "US-EAST-1", "us-east-1a", "us_east_1", "aws-global", "us--east-1", "x-east-1", "us-east-123", "<script>-a-1"} {
		if IsRegion(r) {
			t.Errorf("IsRegion(%q) = true, want false", r)
		}
	}
}

func TestIsTrailName(t *testing.T) {
	for _, n := range []string{"foo", "my_trail.v2", "PBMMAccel-Org-Trail", strings.Repeat("a", 128), "1.2.3", "10.0.0.1.5"} {
		if !IsTrailName(n) {
			t.Errorf("IsTrailName(%q) = false, want true", n)
		}
	}
	for _, n := range []string{"ab", "_ab", "ab_", "a__b", "a.-b", "a/b", strings.Repeat("a", 129), "tr ail", "192.168.0.1", "10.0.0.255"} {
		if IsTrailName(n) {
			t.Errorf("IsTrailName(%q) = true, want false", n)
		}
	}
}

func TestParseEventVersion(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"1.0", 1, 0, true}, {"1.08", 1, 8, true}, {"1.10", 1, 10, true}, {"1.11", 1, 11, true},
		{"", 0, 0, false}, {"1", 0, 0, false}, {"1.x", 0, 0, false}, {"-1.2", 0, 0, false},
	}
	for _, tt := range tests {
		major, minor, ok := ParseEventVersion(tt.in)
		if major != tt.major || minor != tt.minor || ok != tt.ok {
			t.Errorf("ParseEventVersion(%q) = %d, %d, %v; want %d, %d, %v", tt.in, major, minor, ok, tt.major, tt.minor, tt.ok)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, k := range []string{
		"AWSLogs/111111111111/CloudTrail/us-east-2/2015/09/01/111111111111_CloudTrail_us-east-2_20150901T1925Z_WZZw1RymnjCRjxXc.json.gz",
		"o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789016/CloudTrail-Digest/ca-central-1/2020/08/30/123456789016_CloudTrail-Digest_ca-central-1_PBMMAccel-Org-Trail_ca-central-1_20200830T190938Z.json.gz",
		"AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2015/08/16/123456789012_CloudTrail-Digest_us-east-1_foo_us-east-1_20150816T230550Z_backfill.json.gz",
		"AWSLogs/877483565445/Config/ConfigWritabilityCheckFile",
	} {
		f.Add(k)
	}
	addKeysFromTestdata(f)
	f.Fuzz(func(t *testing.T, key string) {
		loc := ParseKey(key)
		if loc.Key != key {
			t.Fatalf("Key = %q, want %q", loc.Key, key)
		}
		if loc.Kind == KindOther {
			return
		}
		if loc.Anomaly != "" {
			t.Fatalf("kind %v with anomaly %q", loc.Kind, loc.Anomaly)
		}
		// Every key accepted where CloudTrail writes is exactly the key
		// CloudTrail would write; one recognised elsewhere by its name
		// ends in that key's file name (or the .json of a decompressed
		// copy).
		back := loc.ObjectKey()
		if loc.Layout != "" {
			file := back[strings.LastIndexByte(back, '/')+1:]
			if !strings.HasSuffix(key, file) && !strings.HasSuffix(key+".gz", file) {
				t.Fatalf("ObjectKey() = %q, for %q", back, key)
			}
		} else if back != key {
			t.Fatalf("ObjectKey() = %q, want %q", back, key)
		}
		if !IsAccountID(loc.Account) || !IsRegion(loc.Region) {
			t.Fatalf("accepted account %q region %q", loc.Account, loc.Region)
		}
		if strings.Contains(loc.Region, "/") || strings.Contains(loc.Trail, "/") {
			t.Fatalf("slash in a parsed field: %+v", loc)
		}
	})
}

// addKeysFromTestdata seeds a fuzz target with the keys of the committed
// demo archive, when there is one.
func addKeysFromTestdata(f *testing.F) {
	root := filepath.Join("..", "testdata", "demo")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if rel, err := filepath.Rel(root, p); err == nil {
			f.Add(filepath.ToSlash(rel))
		}
		return nil
	})
}

// sharedDir finds ../shared beside the repository, where the CloudTrail
// reference and the genuine archives live; tests that need it skip without
// it.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("TRAILCOVER_REQUIRE_SHARED") == "1" {
			t.Fatalf("shared data not found at %s", shared)
		}
		t.Skipf("shared data not found at %s", shared)
	}
	return shared
}
