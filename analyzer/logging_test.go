package analyzer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trailcover/trailcover/ingest"
)

// apiCall is a record of a call by mallory.
func apiCall(source, name, params, errorCode string) ingest.Record {
	r := ingest.Record{
		EventSource:     source,
		EventName:       name,
		EventType:       "AwsApiCall",
		ErrorCode:       errorCode,
		SourceIPAddress: "203.0.113.7",
		UserAgent:       "aws-cli/2.15.0",
		UserIdentity: ingest.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111111111111:user/mallory",
			AccessKeyID: "AKIAEXAMPLEEXAMPLE01"},
	}
	if params != "" {
		r.RequestParameters = json.RawMessage(params)
	}
	return r
}

func TestLoggingChanged(t *testing.T) {
	ct, s3 := sourceCloudTrail, sourceS3
	tests := []struct {
		name string
		rec  ingest.Record
		cfg  Config
		// digestBucket, if set, is a bucket a digest names.
		digestBucket string
		want         Severity
		report       bool
		why          string
	}{
		{name: "StopLogging", rec: apiCall(ct, "StopLogging", `{"name":"main"}`, ""), want: High, report: true, why: "stopped logging"},
		{name: "StopLogging failed", rec: apiCall(ct, "StopLogging", `{"name":"gone"}`, "TrailNotFoundException"), want: Low, report: true, why: "the call failed (TrailNotFoundException)"},
		{name: "StopLogging denied", rec: apiCall(ct, "StopLogging", `{"name":"main"}`, "AccessDenied"), want: Low, report: true, why: "AccessDenied"},
		{name: "DeleteTrail", rec: apiCall(ct, "DeleteTrail", `{"name":"main"}`, ""), want: High, report: true},
		{name: "UpdateTrail single-region", rec: apiCall(ct, "UpdateTrail", `{"name":"main","isMultiRegionTrail":false}`, ""), want: High, report: true, why: "isMultiRegionTrail=false"},
		{name: "UpdateTrail global events off", rec: apiCall(ct, "UpdateTrail", `{"name":"main","includeGlobalServiceEvents":"false"}`, ""), want: High, report: true, why: "includeGlobalServiceEvents=false"},
		{name: "UpdateTrail validation off", rec: apiCall(ct, "UpdateTrail", `{"name":"main","enableLogFileValidation":false}`, ""), want: High, report: true, why: "enableLogFileValidation=false"},
		{name: "UpdateTrail redirect", rec: apiCall(ct, "UpdateTrail", `{"name":"main","s3BucketName":"attacker-bucket"}`, ""), cfg: Config{Bucket: "trail-bucket"}, want: High, report: true, why: "redirected delivery to bucket attacker-bucket"},
		{name: "UpdateTrail with large parameters", rec: apiCall(ct, "UpdateTrail", `{"name":"main","kmsKeyId":"`+strings.Repeat("k", 5000)+`","isMultiRegionTrail":false}`, ""), want: High, report: true, why: "isMultiRegionTrail=false"},
		{name: "UpdateTrail other", rec: apiCall(ct, "UpdateTrail", `{"name":"main","isMultiRegionTrail":true,"snsTopicName":"t"}`, ""), want: Medium, report: true},
		{name: "PutEventSelectors narrowed", rec: apiCall(ct, "PutEventSelectors", `{"trailName":"main","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":false}]}`, ""), want: High, report: true, why: "includeManagementEvents=false"},
		{name: "PutEventSelectors all", rec: apiCall(ct, "PutEventSelectors", `{"trailName":"main","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true}]}`, ""), want: Medium, report: true},
		{name: "PutInsightSelectors", rec: apiCall(ct, "PutInsightSelectors", `{"trailName":"main"}`, ""), want: Low, report: true},
		{name: "DeleteEventDataStore", rec: apiCall(ct, "DeleteEventDataStore", `{"eventDataStore":"eds"}`, ""), want: High, report: true},
		{name: "StopEventDataStoreIngestion", rec: apiCall(ct, "StopEventDataStoreIngestion", `{"eventDataStore":"eds"}`, ""), want: High, report: true},
		{name: "StartLogging", rec: apiCall(ct, "StartLogging", `{"name":"main"}`, ""), want: Info, report: true},
		{name: "DescribeTrails", rec: apiCall(ct, "DescribeTrails", `{}`, "")},
		{name: "bucket policy on the trail bucket", rec: apiCall(s3, "PutBucketPolicy", `{"bucketName":"trail-bucket","bucketPolicy":{}}`, ""), cfg: Config{Bucket: "trail-bucket"}, want: Medium, report: true},
		{name: "bucket policy elsewhere", rec: apiCall(s3, "PutBucketPolicy", `{"bucketName":"web-assets"}`, ""), cfg: Config{Bucket: "trail-bucket"}},
		{name: "bucket policy, bucket unknown", rec: apiCall(s3, "PutBucketPolicy", `{"bucketName":"web-assets"}`, "")},
		{name: "bucket policy deleted, bucket from a digest", rec: apiCall(s3, "DeleteBucketPolicy", `{"bucketName":"digest-bucket"}`, ""), digestBucket: "digest-bucket", want: High, report: true},
		{name: "expiring lifecycle", rec: apiCall(s3, "PutBucketLifecycle", `{"bucketName":"trail-bucket","LifecycleConfiguration":{"Rule":{"Expiration":{"Days":1}}}}`, ""), cfg: Config{Bucket: "trail-bucket"}, want: High, report: true, why: "expire"},
		{name: "lifecycle transition", rec: apiCall(s3, "PutBucketLifecycleConfiguration", `{"bucketName":"trail-bucket","LifecycleConfiguration":{"Rule":{"Transition":{"Days":30}}}}`, ""), cfg: Config{Bucket: "trail-bucket"}, want: Medium, report: true},
		{name: "versioning", rec: apiCall(s3, "PutBucketVersioning", `{"bucketName":"trail-bucket"}`, ""), cfg: Config{Bucket: "trail-bucket"}, want: Medium, report: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a covArchive
			if tt.digestBucket != "" {
				a.digest(covAcctA, "us-east-1", "main", "us-east-1", covAt(0, 0), covAt(1, 0))
				a.objects[len(a.objects)-1].Digest.DigestS3Bucket = tt.digestBucket
			}
			rec := tt.rec
			rec.EventID = "change-1"
			rec.Time = covAt(0, 30)
			a.log(covAcctA, "us-east-1", covAt(0, 35), rec)
			cfg := tt.cfg
			cfg.Window = covWindow(0, 2)
			cfg.ExpectRegions = []string{"us-east-1"}
			res := a.run(cfg, nil)
			got := covFindings(res, KindLoggingChanged)
			if !tt.report {
				if len(got) != 0 {
					t.Fatalf("findings = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("findings = %+v, want one", got)
			}
			f := got[0]
			if f.Severity != tt.want {
				t.Errorf("severity = %v, want %v (%s)", f.Severity, tt.want, f.Detail)
			}
			if !strings.Contains(f.Detail, tt.why) {
				t.Errorf("detail %q does not say %q", f.Detail, tt.why)
			}
			if f.Account != covAcctA || f.Region != "us-east-1" || !f.Start.Equal(covAt(0, 30)) {
				t.Errorf("finding at %s/%s %s", f.Account, f.Region, f.Start)
			}
			ev := f.Evidence
			for k, v := range map[string]any{
				"event_id": "change-1", "event_name": tt.rec.EventName, "principal": "arn:aws:iam::111111111111:user/mallory",
				"source_ip": "203.0.113.7", "user_agent": "aws-cli/2.15.0", "access_key_id": "AKIAEXAMPLEEXAMPLE01", "user_type": "IAMUser",
			} {
				if ev[k] != v {
					t.Errorf("evidence %s = %v, want %v", k, ev[k], v)
				}
			}
			if tt.rec.ErrorCode != "" && ev["error_code"] != tt.rec.ErrorCode {
				t.Errorf("evidence error_code = %v", ev["error_code"])
			}
		})
	}
}

// TestLoggingChangedStratus reads the Stratus Red Team detonation logs
// (real CloudTrail output) and checks every trail-tampering call is
// reported at the severity it deserves.
func TestLoggingChangedStratus(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "real", "invictus-ir-stratus", "CloudTrail")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skip("real data not present:", dir)
	}
	a := New(Config{})
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		key := "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/" + strings.TrimSuffix(filepath.Base(name), ".json") + ".json.gz"
		r := &ingest.Result{Object: ingest.Object{Key: key}, Location: ingest.ParseKey(key)}
		_, err = ingest.DecodeLog(f, ingest.DecodeOptions{}, func(rec *ingest.Record) error {
			r.Records = append(r.Records, *rec)
			return nil
		})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a.Observe(r)
	}
	res := a.Finish(nil)
	got := map[string]int{}
	for _, f := range covFindings(res, KindLoggingChanged) {
		status := "ok"
		if c, _ := f.Evidence["error_code"].(string); c != "" {
			status = c
		}
		got[fmt.Sprintf("%s %s %s", f.Severity, f.Evidence["event_name"], status)]++
	}
	want := map[string]int{
		"low StopLogging TrailNotFoundException":   3,
		"low DeleteTrail TrailNotFoundException":   1,
		"high DeleteTrail ok":                      2,
		"high PutEventSelectors ok":                1, // readWriteType ReadOnly, management events excluded
		"medium PutEventSelectors ok":              1, // back to All
		"info CreateTrail ok":                      2,
		"info StartLogging ok":                     2,
		"info StartLogging TrailNotFoundException": 3,
		// The buckets of the trails created above: a policy for
		// CloudTrail on each, and the "nuke" rule expiring logs after
		// a day. The bdbp bucket's policy changes are no trail's.
		"medium PutBucketPolicy ok":  2,
		"high PutBucketLifecycle ok": 1,
		// Stratus cleaning up: deleting the trail buckets, which fails
		// while they hold objects.
		"low DeleteBucketLifecycle ok":    1,
		"high DeleteBucket ok":            2,
		"low DeleteBucket BucketNotEmpty": 3,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("logging-changed findings:\n got %v\nwant %v", got, want)
	}
}

func TestGlobalEventsMissing(t *testing.T) {
	type event struct {
		region, source, host string
	}
	tests := []struct {
		name   string
		hours  int
		events []event
		// regions delivering; us-east-1 if nil
		regions []string
		want    Severity
		report  bool
	}{
		{name: "none in 30 hours", hours: 30, want: High, report: true},
		{name: "none in 14 hours", hours: 14, want: Medium, report: true},
		{name: "none in 8 hours", hours: 8},
		{name: "an IAM event", hours: 30, events: []event{{"us-east-1", "iam.amazonaws.com", ""}}},
		{name: "an IAM event logged in us-west-2", hours: 30, events: []event{{"us-west-2", "iam.amazonaws.com", ""}}},
		{name: "a global STS call", hours: 30, events: []event{{"us-east-1", "sts.amazonaws.com", "sts.amazonaws.com"}}},
		{name: "a sign-in in us-east-1", hours: 30, events: []event{{"us-east-1", "signin.amazonaws.com", ""}}},
		{name: "regional STS only", hours: 30, want: High, report: true, events: []event{
			{"us-west-2", "sts.amazonaws.com", ""}, {"us-east-1", "sts.amazonaws.com", "sts.us-east-1.amazonaws.com"}}},
		// No trail logs us-east-1, where CloudTrail records global-service
		// events: they go unlogged as surely as with the setting off.
		{name: "us-east-1 not logged", hours: 30, regions: []string{"us-west-2"}, want: High, report: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a covArchive
			regions := tt.regions
			if regions == nil {
				regions = []string{"us-east-1", "us-west-2"}
			}
			for h := range tt.hours {
				for _, r := range regions {
					var recs []ingest.Record
					for i := range 40 {
						recs = append(recs, ingest.Record{EventSource: "ec2.amazonaws.com", EventName: "DescribeInstances", Time: covAt(h, i)})
					}
					a.log(covAcctA, r, covAt(h, 45), recs...)
				}
			}
			for i, e := range tt.events {
				rec := ingest.Record{EventSource: e.source, EventName: "Call", Time: covAt(1, i)}
				if e.host != "" {
					rec.TLSDetails = json.RawMessage(`{"tlsVersion":"TLSv1.3","clientProvidedHostHeader":"` + e.host + `"}`)
				}
				a.log(covAcctA, e.region, covAt(1, 50), rec)
			}
			res := a.run(Config{Window: covWindow(0, tt.hours), ExpectRegions: regions}, nil)
			got := covFindings(res, KindGlobalEventsOff)
			if !tt.report {
				if len(got) != 0 {
					t.Errorf("findings = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.want || got[0].Account != covAcctA {
				t.Fatalf("findings = %+v, want one %v", got, tt.want)
			}
			if got[0].Evidence["global_region"] != "us-east-1" {
				t.Errorf("evidence = %v", got[0].Evidence)
			}
		})
	}
}

func TestExplainGapOrganizationTrail(t *testing.T) {
	// The management account stops the organization trail; a member's
	// gap is explained by it through the trail's name.
	l := newLogging(Config{}, mustLoadRegions())
	for i, acct := range []string{"999999999999", covAcctA} {
		rec := apiCall(sourceCloudTrail, "StopLogging", `{"name":"arn:aws:cloudtrail:us-east-1:999999999999:trail/org-trail"}`, "")
		rec.EventID = fmt.Sprint("stop-", i)
		rec.Time = covAt(1, 10*i)
		rec.RecipientAccountID = acct
		if acct == covAcctA {
			rec.RequestParameters = json.RawMessage(`{"name":"other"}`)
			rec.Time = covAt(-20, 0) // too early
		}
		l.event(&rec, nil)
	}
	res := &Result{}
	l.finish(res)
	stop, _ := l.explainGap(covAcctA, []string{"org-trail"}, covAt(2, 0), covAt(4, 0))
	if stop == nil || stop.eventID != "stop-0" {
		t.Fatalf("explainGap = %+v, want stop-0", stop)
	}
	if stop, _ := l.explainGap(covAcctA, []string{"another-trail"}, covAt(2, 0), covAt(4, 0)); stop != nil {
		t.Errorf("explainGap matched another account's trail: %+v", stop)
	}
	var ids []string
	for _, f := range res.Findings {
		ids = append(ids, f.Evidence["event_id"].(string))
	}
	if want := []string{"stop-1", "stop-0"}; !slices.Equal(ids, want) {
		t.Errorf("findings in order %v, want %v (by time)", ids, want)
	}
}
