package analyzer

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

func logResult(key string, ids ...string) *ingest.Result {
	r := &ingest.Result{Object: ingest.Object{Key: key}, Location: ingest.ParseKey(key)}
	for _, id := range ids {
		r.Records = append(r.Records, ingest.Record{EventID: id, Time: r.Location.Time})
	}
	return r
}

func TestAnalyzerCounts(t *testing.T) {
	a := New(Config{Window: ingest.Window{
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		End:   time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
	}})
	a.Observe(logResult("AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2024/01/01/111111111111_CloudTrail_us-east-1_20240101T0005Z_AAAAAAAAAAAAAAAA.json.gz", "e1", "e2"))
	a.Observe(logResult("AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2024/01/01/111111111111_CloudTrail_us-east-1_20240101T0010Z_BBBBBBBBBBBBBBBB.json.gz", "e2", "e3"))
	// Outside the window: read and counted, but its region is not
	// delivering in the window.
	a.Observe(logResult("AWSLogs/o-abcdefghij/111111111111/CloudTrail/eu-west-1/2024/01/03/111111111111_CloudTrail_eu-west-1_20240103T0010Z_BBBBBBBBBBBBBBBB.json.gz", "e4"))
	a.Observe(&ingest.Result{
		Object:   ingest.Object{Key: "AWSLogs/222222222222/CloudTrail-Digest/sa-east-1/2024/01/01/222222222222_CloudTrail-Digest_sa-east-1_main_us-east-1_20240101T010203Z.json.gz"},
		Location: ingest.ParseKey("AWSLogs/222222222222/CloudTrail-Digest/sa-east-1/2024/01/01/222222222222_CloudTrail-Digest_sa-east-1_main_us-east-1_20240101T010203Z.json.gz"),
		Digest:   &ingest.Digest{},
	})
	bad := logResult("AWSLogs/222222222222/CloudTrail/sa-east-1/2024/01/01/222222222222_CloudTrail_sa-east-1_20240101T0010Z_CCCCCCCCCCCCCCCC.json.gz")
	bad.Err = &ingest.DecodeError{Key: bad.Object.Key, Err: errors.New("truncated")}
	a.Observe(bad)
	a.Observe(logResult("AWSLogs/222222222222/Config/ConfigWritabilityCheckFile"))

	res := a.Finish(nil)
	wantObjects := ObjectCounts{Listed: 6, LogFiles: 4, DigestFiles: 1, Other: 1, Unreadable: 1}
	if !reflect.DeepEqual(res.Objects, wantObjects) {
		t.Errorf("Objects = %+v, want %+v", res.Objects, wantObjects)
	}
	if want := (RecordCounts{Total: 5, Duplicates: 1, InWindow: 3}); res.Records != want {
		t.Errorf("Records = %+v, want %+v", res.Records, want)
	}
	if len(res.Accounts) != 2 {
		t.Fatalf("Accounts = %+v", res.Accounts)
	}
	a1, a2 := res.Accounts[0], res.Accounts[1]
	if a1.Account != "111111111111" || a1.OrgID != "o-abcdefghij" || !slices.Equal(a1.RegionsDelivering, []string{"us-east-1"}) {
		t.Errorf("account 1 = %+v", a1)
	}
	// The digest proves delivery for sa-east-1; the unreadable log does not.
	if a2.Account != "222222222222" || !slices.Equal(a2.Trails, []string{"main"}) || !slices.Equal(a2.RegionsDelivering, []string{"sa-east-1"}) {
		t.Errorf("account 2 = %+v", a2)
	}
	// Other checks judge the fake digest too; only the unreadable-object
	// finding is this test's business.
	var unreadable []Finding
	for _, f := range res.Findings {
		if f.Kind == KindUnreadableObject {
			unreadable = append(unreadable, f)
		}
	}
	if len(unreadable) != 1 || unreadable[0].Evidence["object_key"] != bad.Object.Key {
		t.Errorf("unreadable-object findings = %+v, want one for %s", unreadable, bad.Object.Key)
	}
}

func TestParseSeverity(t *testing.T) {
	for i, name := range []string{"info", "low", "medium", "high", "critical"} {
		got, err := ParseSeverity(name)
		if err != nil || got != Severity(i) || got.String() != name {
			t.Errorf("ParseSeverity(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("ParseSeverity(severe) did not fail")
	}
}

func TestFindingsOrder(t *testing.T) {
	fs := []Finding{
		{Kind: "b", Severity: Low, Account: "1"},
		{Kind: "a", Severity: Critical, Account: "2"},
		{Kind: "a", Severity: Critical, Account: "1"},
		{Kind: "c", Severity: High},
	}
	slices.SortStableFunc(fs, compareFindings)
	var got []string
	for _, f := range fs {
		got = append(got, f.Severity.String()+"/"+f.Kind+"/"+f.Account)
	}
	want := []string{"critical/a/1", "critical/a/2", "high/c/", "low/b/1"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

// TestUnreadableFindingsBounded: a region full of broken objects gives
// maxUnreadableFindings findings one by one and one for the rest, which
// counts them by error.
func TestUnreadableFindingsBounded(t *testing.T) {
	a := New(Config{})
	const n = 60
	for i := range n {
		key := fmt.Sprintf("AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/01/111111111111_CloudTrail_us-east-1_20240101T%02d%02dZ_E%015d.json.gz", i/60, i%60, i)
		r := logResult(key)
		r.Err = &ingest.DecodeError{Key: key, Err: errors.New("empty object")}
		a.Observe(r)
	}
	res := a.Finish(nil)
	if res.Objects.Unreadable != n {
		t.Errorf("objects.unreadable = %d, want %d", res.Objects.Unreadable, n)
	}
	var single, rest []Finding
	for _, f := range res.Findings {
		if f.Kind == KindUnreadableObject {
			if _, ok := f.Evidence["count"]; ok {
				rest = append(rest, f)
			} else {
				single = append(single, f)
			}
		}
	}
	if len(single) != maxUnreadableFindings || len(rest) != 1 || rest[0].Evidence["count"] != n-maxUnreadableFindings {
		t.Fatalf("%d single findings and %+v, want %d and one counting %d", len(single), rest, maxUnreadableFindings, n-maxUnreadableFindings)
	}
	errs := rest[0].Evidence["errors"].([]ValueCount)
	if len(errs) != 1 || errs[0].Count != n-maxUnreadableFindings {
		t.Errorf("errors %+v, want one error counted %d times", errs, n-maxUnreadableFindings)
	}
}
