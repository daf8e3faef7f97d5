package analyzer

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trailcover/trailcover/ingest"
)

func TestActivityOutsideAllowlist(t *testing.T) {
	user := ingest.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111111111111:user/leaked", AccessKeyID: "AKIALEAKEDLEAKED0001"}
	call := func(region, source, name, errorCode string, readOnly *bool) ingest.Record {
		r := ingest.Record{AWSRegion: region, EventSource: source, EventName: name, ErrorCode: errorCode,
			EventType: "AwsApiCall", UserIdentity: user, SourceIPAddress: "198.51.100.23"}
		if readOnly != nil {
			r.ReadOnly = ingest.Bool{Value: *readOnly, Set: true}
		}
		return r
	}
	yes, no := true, false
	service := func(r ingest.Record) ingest.Record {
		r.UserIdentity = ingest.UserIdentity{Type: "AWSService", InvokedBy: "config.amazonaws.com"}
		return r
	}
	linked := func(r ingest.Record) ingest.Record {
		r.UserIdentity = ingest.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::111111111111:assumed-role/AWSServiceRoleForConfig/x"}
		r.UserIdentity.SessionContext.SessionIssuer.ARN = "arn:aws:iam::111111111111:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
		return r
	}
	viaService := func(r ingest.Record, invokedBy string) ingest.Record {
		r.UserIdentity = ingest.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111111111111:user/alice", InvokedBy: invokedBy}
		return r
	}
	withHost := func(r ingest.Record, host string) ingest.Record {
		r.TLSDetails = json.RawMessage(`{"clientProvidedHostHeader":"` + host + `"}`)
		return r
	}
	type want struct {
		region string
		sev    Severity
		counts [4]int // writes, denied, reads, service
	}
	tests := []struct {
		name  string
		allow []string
		recs  []ingest.Record
		want  []want
	}{
		{name: "succeeded write", allow: []string{"eu-west-1"},
			recs: []ingest.Record{call("sa-east-1", "ec2.amazonaws.com", "RunInstances", "", &no), call("sa-east-1", "ec2.amazonaws.com", "DescribeRegions", "", &yes)},
			want: []want{{"sa-east-1", Critical, [4]int{1, 0, 1, 0}}}},
		{name: "denied attempts", allow: []string{"eu-west-1"},
			recs: []ingest.Record{call("eu-north-1", "ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation", &no),
				call("eu-north-1", "s3.amazonaws.com", "CreateBucket", "AccessDenied", &no),
				call("eu-north-1", "lambda.amazonaws.com", "ListFunctions20150331", "AccessDeniedException", nil)},
			want: []want{{"eu-north-1", High, [4]int{0, 3, 0, 0}}}},
		{name: "read-only without the flag", allow: []string{"eu-west-1"},
			recs: []ingest.Record{call("ap-south-1", "ec2.amazonaws.com", "DescribeInstances", "", nil), call("ap-south-1", "lambda.amazonaws.com", "ListFunctions20150331", "", nil)},
			want: []want{{"ap-south-1", Medium, [4]int{0, 0, 2, 0}}}},
		{name: "AWS services only", allow: []string{"eu-west-1"},
			recs: []ingest.Record{service(call("ca-central-1", "config.amazonaws.com", "PutEvaluations", "", &no)),
				linked(call("ca-central-1", "ec2.amazonaws.com", "DescribeVolumes", "", &yes))},
			want: []want{{"ca-central-1", Low, [4]int{0, 0, 0, 2}}}},
		{name: "console session and on-behalf calls are the principal's", allow: []string{"eu-west-1"},
			recs: []ingest.Record{
				viaService(call("sa-east-1", "ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation", &no), "signin.amazonaws.com"),
				viaService(call("sa-east-1", "s3.amazonaws.com", "PutBucketPolicy", "AccessDenied", &no), "cloudformation.amazonaws.com"),
				viaService(call("sa-east-1", "ec2.amazonaws.com", "DescribeInstances", "", &yes), "AWS Internal")},
			want: []want{{"sa-east-1", High, [4]int{0, 2, 1, 0}}}},
		{name: "inside the allowlist", allow: []string{"eu-west-1", "sa-east-1"},
			recs: []ingest.Record{call("sa-east-1", "ec2.amazonaws.com", "RunInstances", "", &no)}},
		{name: "no allowlist", recs: []ingest.Record{call("sa-east-1", "ec2.amazonaws.com", "RunInstances", "", &no)}},
		{name: "global services are exempt", allow: []string{"eu-west-1"},
			recs: []ingest.Record{
				call("us-east-1", "iam.amazonaws.com", "CreateUser", "", &no),
				call("us-east-1", "sts.amazonaws.com", "AssumeRole", "", &no),
				call("us-east-1", "signin.amazonaws.com", "ConsoleLogin", "", &no),
				call("us-east-1", "cloudfront.amazonaws.com", "CreateDistribution", "", &no),
				call("us-east-1", "route53.amazonaws.com", "ChangeResourceRecordSets", "", &no),
				call("us-east-1", "organizations.amazonaws.com", "ListAccounts", "", &yes),
				call("us-east-1", "health.amazonaws.com", "DescribeEventAggregates", "", &yes),
				call("us-west-2", "iam.amazonaws.com", "GetUser", "", &yes),        // documented exception
				call("us-east-2", "signin.amazonaws.com", "ConsoleLogin", "", &no), // sign-in endpoint region
				withHost(call("ap-south-1", "sts.amazonaws.com", "GetCallerIdentity", "", &yes), "sts.amazonaws.com"),
			}},
		{name: "trail management in the trail's home region", allow: []string{"eu-west-1"},
			recs: []ingest.Record{
				func() ingest.Record {
					r := call("us-east-1", "cloudtrail.amazonaws.com", "StopLogging", "", &no)
					r.RequestParameters = json.RawMessage(`{"name":"arn:aws:cloudtrail:us-east-1:111111111111:trail/main"}`)
					return r
				}(),
				func() ingest.Record {
					r := call("ap-south-1", "cloudtrail.amazonaws.com", "CreateTrail", "", &no)
					r.RequestParameters = json.RawMessage(`{"name":"shadow"}`)
					return r
				}(),
			},
			want: []want{{"ap-south-1", Critical, [4]int{1, 0, 0, 0}}}},
		{name: "regional STS is not exempt", allow: []string{"eu-west-1"},
			recs: []ingest.Record{withHost(call("ap-south-1", "sts.amazonaws.com", "GetCallerIdentity", "", &yes), "sts.ap-south-1.amazonaws.com"),
				call("eu-north-1", "sts.amazonaws.com", "AssumeRole", "", &no)},
			want: []want{{"ap-south-1", Medium, [4]int{0, 0, 1, 0}}, {"eu-north-1", Critical, [4]int{1, 0, 0, 0}}}},
		{name: "regional services in us-east-1 are not exempt", allow: []string{"eu-west-1"},
			recs: []ingest.Record{call("us-east-1", "iam.amazonaws.com", "CreateUser", "", &no), call("us-east-1", "ec2.amazonaws.com", "CreateVpc", "", &no)},
			want: []want{{"us-east-1", Critical, [4]int{1, 0, 0, 0}}}},
		{name: "awsRegion missing: folder region", allow: []string{"eu-west-1"},
			recs: []ingest.Record{func() ingest.Record {
				r := call("", "ec2.amazonaws.com", "RunInstances", "", &no)
				r.AWSRegion = ""
				return r
			}()},
			want: []want{{"us-west-1", Critical, [4]int{1, 0, 0, 0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a covArchive
			for i, rec := range tt.recs {
				rec.Time = covAt(1, i)
				folder := rec.AWSRegion
				if folder == "" {
					folder = "us-west-1"
				}
				a.log(covAcctA, folder, covAt(1, 30), rec)
				if rec.AWSRegion == "" { // log fills it in; the test is about its absence
					a.objects[len(a.objects)-1].Records[0].AWSRegion = ""
				}
			}
			res := a.run(Config{Window: covWindow(0, 3), AllowRegions: tt.allow}, nil)
			var got []want
			fs := covFindings(res, KindOutsideAllowlist)
			slices.SortFunc(fs, func(a, b Finding) int { return strings.Compare(a.Region, b.Region) })
			for _, f := range fs {
				ev := f.Evidence
				got = append(got, want{f.Region, f.Severity, [4]int{ev["succeeded_writes"].(int), ev["denied_attempts"].(int), ev["read_only_calls"].(int), ev["service_events"].(int)}})
				if f.Account != covAcctA {
					t.Errorf("account %q", f.Account)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings:\n got %v\nwant %v", got, tt.want)
			}
			if (len(tt.allow) > 0) != (len(res.Exemptions) > 0) {
				t.Errorf("Exemptions = %v with allowlist %v", res.Exemptions, tt.allow)
			}
		})
	}
}

// TestDuplicateEventsCountOnce delivers the same events twice, as
// CloudTrail sometimes does: every count sees them once.
func TestDuplicateEventsCountOnce(t *testing.T) {
	var a covArchive
	var recs []ingest.Record
	for i := range 3 {
		recs = append(recs, ingest.Record{EventID: fmt.Sprint("dup-", i), EventSource: "ec2.amazonaws.com", EventName: "RunInstances",
			Time: covAt(1, i), UserIdentity: ingest.UserIdentity{ARN: "arn:aws:iam::111111111111:user/x"}})
	}
	a.log(covAcctA, "sa-east-1", covAt(1, 10), recs...)
	a.log(covAcctA, "sa-east-1", covAt(1, 10), recs...)
	a.log(covAcctA, "sa-east-1", covAt(1, 15), recs[1])
	res := a.run(Config{Window: covWindow(0, 3), AllowRegions: []string{"eu-west-1"}, ExpectRegions: []string{"sa-east-1"}}, nil)
	if res.Records.Total != 7 || res.Records.Duplicates != 4 {
		t.Errorf("records = %+v, want 7 read, 4 duplicates", res.Records)
	}
	fs := covFindings(res, KindOutsideAllowlist)
	if len(fs) != 1 || fs[0].Evidence["succeeded_writes"] != 3 {
		t.Fatalf("findings = %+v, want one with 3 writes", fs)
	}
	records := 0
	for _, row := range res.Coverage.Rows() {
		records += row.Records
		if row.Start.Equal(covAt(1, 0)) && (row.LogFiles != 3 || row.Hours != 1) {
			t.Errorf("hour 1: %d log files in a run of %d hours, want 3 in one", row.LogFiles, row.Hours)
		}
	}
	if records != 3 {
		t.Errorf("coverage counts %d records, want 3", records)
	}
}

func TestAllowlistEvidence(t *testing.T) {
	var a covArchive
	// 30 calls from 7 principals and 3 addresses, in an order unrelated
	// to their times.
	for i := range 30 {
		j := (i * 7) % 30
		rec := ingest.Record{
			EventID: fmt.Sprintf("id-%02d", j), EventSource: "ec2.amazonaws.com", EventName: []string{"RunInstances", "DescribeRegions", "CreateKeyPair"}[j%3],
			Time: covAt(1, 59-j), AWSRegion: "sa-east-1", SourceIPAddress: fmt.Sprintf("198.51.100.%d", j%3),
			UserIdentity: ingest.UserIdentity{ARN: fmt.Sprintf("arn:aws:iam::111111111111:user/u%d", j%7)},
		}
		a.log(covAcctA, "sa-east-1", covAt(2, 0), rec)
	}
	res := a.run(Config{Window: covWindow(0, 3), AllowRegions: []string{"eu-west-1"}}, nil)
	fs := covFindings(res, KindOutsideAllowlist)
	if len(fs) != 1 {
		t.Fatalf("findings = %+v", fs)
	}
	ev := fs[0].Evidence
	// The earliest events have the highest j.
	wantIDs := []string{"id-29", "id-28", "id-27", "id-26", "id-25", "id-24", "id-23", "id-22", "id-21", "id-20"}
	if got := ev["sample_event_ids"]; !reflect.DeepEqual(got, wantIDs) {
		t.Errorf("sample_event_ids = %v, want %v", got, wantIDs)
	}
	wantNames := []ValueCount{{"ec2.amazonaws.com:CreateKeyPair", 10}, {"ec2.amazonaws.com:DescribeRegions", 10}, {"ec2.amazonaws.com:RunInstances", 10}}
	if got := ev["event_names"]; !reflect.DeepEqual(got, wantNames) {
		t.Errorf("event_names = %v, want %v", got, wantNames)
	}
	principals := ev["top_principals"].([]ValueCount)
	if len(principals) != topK || principals[0] != (ValueCount{"arn:aws:iam::111111111111:user/u0", 5}) || principals[1].Value != "arn:aws:iam::111111111111:user/u1" {
		t.Errorf("top_principals = %v", principals)
	}
	if ev["first_seen"] != formatEvidenceTime(covAt(1, 30)) || ev["last_seen"] != formatEvidenceTime(covAt(1, 59)) {
		t.Errorf("first/last seen = %v, %v", ev["first_seen"], ev["last_seen"])
	}
	if !fs[0].Start.Equal(covAt(1, 30)) || !fs[0].End.Equal(covAt(1, 59)) {
		t.Errorf("finding spans %s..%s", fs[0].Start, fs[0].End)
	}
	if !slices.IsSorted(res.Exemptions) || !slices.ContainsFunc(res.Exemptions, func(s string) bool {
		return strings.HasPrefix(s, "iam.amazonaws.com in us-east-1:") && strings.Contains(s, "Global service events")
	}) {
		t.Errorf("Exemptions = %v", res.Exemptions)
	}
}

func TestCounterCap(t *testing.T) {
	var c counter
	for i := range maxDistinct + 5 {
		c.add(fmt.Sprint("v", i))
	}
	c.add("v0")
	top := c.top(2)
	want := []ValueCount{{"v0", 2}, {"v1", 1}, {"(other)", 5}}
	if !reflect.DeepEqual(top, want) {
		t.Errorf("top = %v, want %v", top, want)
	}
	if len(c.counts) != maxDistinct {
		t.Errorf("%d values kept, want %d", len(c.counts), maxDistinct)
	}
}

func TestIsDenied(t *testing.T) {
	for code, want := range map[string]bool{
		"AccessDenied": true, "AccessDeniedException": true, "Client.UnauthorizedOperation": true, "UnauthorizedOperation": true,
		"VpceAccessDenied": true, "UnauthorizedAccess": true, "Client.AuthFailure": true, "InvalidClientTokenId": true,
		"ThrottlingException": false, "NoSuchBucketPolicy": false, "OptInRequired": false, "Client.InvalidParameterValue": false, "": false,
	} {
		if got := isDenied(code); got != want {
			t.Errorf("isDenied(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestIsReadOnly(t *testing.T) {
	tests := []struct {
		name string
		flag ingest.Bool
		want bool
	}{
		{"DescribeInstances", ingest.Bool{}, true},
		{"ListFunctions20150331", ingest.Bool{}, true},
		{"GetCallerIdentity", ingest.Bool{}, true},
		{"RunInstances", ingest.Bool{}, false},
		{"ConsoleLogin", ingest.Bool{}, false},
		{"GetObject", ingest.Bool{Value: false, Set: true}, false}, // the flag wins
		{"RunInstances", ingest.Bool{Value: true, Set: true}, true},
	}
	for _, tt := range tests {
		if got := isReadOnly(&ingest.Record{EventName: tt.name, ReadOnly: tt.flag}); got != tt.want {
			t.Errorf("isReadOnly(%s, %+v) = %v, want %v", tt.name, tt.flag, got, tt.want)
		}
	}
}

// TestAllowlistRegionSweep reads the SANS SEC504 lab (real CloudTrail
// output): the attacker listed Lambda functions in 11 regions the account
// never used. With us-west-1 allowed, each of those regions is reported,
// and us-east-1's console sign-ins and IAM calls are exempt.
func TestAllowlistRegionSweep(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "data", "real", "sans504-s3-ransomware-lab", "SANS-504-S3-ransomware-lab")
	if _, err := os.Stat(root); err != nil {
		t.Skip("real data not present:", root)
	}
	a := New(Config{AllowRegions: []string{"us-west-1"}})
	allowed := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(filepath.ToSlash(rel), "us-west-1/") {
			// The allowed region holds nearly every file; a sample of
			// them is enough to show it is not reported.
			if allowed++; allowed%25 != 0 {
				return nil
			}
		}
		key := "AWSLogs/342082656213/CloudTrail/" + filepath.ToSlash(rel)
		r := &ingest.Result{Object: ingest.Object{Key: key}, Location: ingest.ParseKey(key)}
		if r.Location.Kind != ingest.KindLog {
			return fmt.Errorf("%s: not a log key", key)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = ingest.DecodeLog(f, ingest.DecodeOptions{}, func(rec *ingest.Record) error {
			r.Records = append(r.Records, *rec)
			return nil
		})
		a.Observe(r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	res := a.Finish(nil)
	got := map[string]string{}
	for _, f := range covFindings(res, KindOutsideAllowlist) {
		names := f.Evidence["event_names"].([]ValueCount)
		got[f.Region] = f.Severity.String() + " " + names[0].Value
	}
	sweep := []string{"ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ca-central-1",
		"eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "us-east-2", "us-west-2"}
	for _, r := range sweep {
		if !strings.Contains(got[r], "lambda.amazonaws.com:ListFunctions20150331") {
			t.Errorf("%s: %q, want the ListFunctions sweep", r, got[r])
		}
	}
	t.Logf("findings by region: %v", got)
	if len(got) < len(sweep) {
		t.Errorf("%d regions reported, want at least %d", len(got), len(sweep))
	}
	if _, ok := got["us-west-1"]; ok {
		t.Error("the allowed region was reported")
	}
}

// TestTrailManagementHomeRegion: CloudTrail calls in a trail's home
// region, known from digest keys, are exempt; elsewhere they are not.
func TestTrailManagementHomeRegion(t *testing.T) {
	var a covArchive
	a.hourly(covAcctA, "eu-west-1", "main", "ap-south-1", 0, 3)
	for _, region := range []string{"ap-south-1", "sa-east-1"} {
		a.log(covAcctA, region, covAt(1, 30), ingest.Record{EventSource: sourceCloudTrail, EventName: "PutEventSelectors",
			RequestParameters: json.RawMessage(`{"trailName":"main"}`), Time: covAt(1, 20)})
	}
	res := a.run(Config{Window: covWindow(0, 3), AllowRegions: []string{"eu-west-1"}}, nil)
	var got []string
	for _, f := range covFindings(res, KindOutsideAllowlist) {
		got = append(got, f.Region)
	}
	if want := []string{"sa-east-1"}; !slices.Equal(got, want) {
		t.Errorf("allowlist findings in %v, want %v", got, want)
	}
}
