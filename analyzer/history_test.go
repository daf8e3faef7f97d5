package analyzer

import (
	"crypto/sha256"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// historyLog is a log file result of account 111122223333 in region at
// minute m of 2024-05-01 10:00.
func historyLog(region string, m int, obj ingest.Object, content string, ids ...string) *ingest.Result {
	key := "AWSLogs/111122223333/CloudTrail/" + region + "/2024/05/01/111122223333_CloudTrail_" + region + "_20240501T10" +
		string(rune('0'+m/10)) + string(rune('0'+m%10)) + "Z_AbCdEfGh12345678.json.gz"
	obj.Key = key
	r := &ingest.Result{Object: obj, Location: ingest.ParseKey(key)}
	if content != "" {
		r.Body.SHA256 = sha256.Sum256([]byte(content))
	}
	for _, id := range ids {
		r.Records = append(r.Records, ingest.Record{EventID: id, EventTime: "2024-05-01T10:00:00Z", Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
			EventSource: "ec2.amazonaws.com", EventName: "RunInstances", AWSRegion: region, RecipientAccountID: "111122223333"})
	}
	return r
}

var historyTime = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// TestHistoryFindings: version history no digest explains is summed up per
// account and region: deleted keys in object-deleted, keys written over in
// object-overwritten; a delete marker buried under a newer version (the
// object restored) is no finding. The noncurrent versions' records count
// once each and reach the checks; the result does not depend on the order
// history arrives in.
func TestHistoryFindings(t *testing.T) {
	current := ingest.Object{IsLatest: true}
	old := func(id string, at time.Duration) ingest.Object {
		return ingest.Object{VersionID: id, LastModified: historyTime.Add(at)}
	}
	marker := func(id string, at time.Duration, latest bool) ingest.Object {
		return ingest.Object{VersionID: id, LastModified: historyTime.Add(at), DeleteMarker: true, IsLatest: latest}
	}
	currents := []*ingest.Result{
		historyLog("us-east-1", 5, current, "now", "e1"),
		historyLog("us-east-1", 15, current, "restored", "e3"),
	}
	history := []*ingest.Result{
		// Written over: an older version under the current one.
		historyLog("us-east-1", 5, old("v1", 0), "before", "e1", "e2"),
		// Deleted: a delete marker over the only version.
		historyLog("us-east-1", 10, old("v2", 0), "gone", "e4"),
		historyLog("us-east-1", 10, marker("m1", time.Hour, true), "", ""),
		// Deleted, then restored by writing it again.
		historyLog("us-east-1", 15, marker("m2", time.Hour, false), "", ""),
		// Deleted in another region, nothing survives.
		historyLog("eu-west-1", 20, marker("m3", 2*time.Hour, true), "", ""),
	}
	for i := range history {
		if history[i].Object.DeleteMarker {
			history[i].Records = nil
		}
	}

	var first *Result
	for attempt := range 5 {
		a := New(Config{AllowRegions: []string{"eu-west-1"}})
		for _, r := range currents {
			a.Observe(r)
		}
		order := append([]*ingest.Result(nil), history...)
		rand.New(rand.NewPCG(uint64(attempt), 1)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, r := range order {
			a.Observe(r)
		}
		res := a.Finish(nil)
		if first == nil {
			first = res
		} else if !reflect.DeepEqual(first, res) {
			t.Fatalf("order %d gives another result", attempt)
		}
	}
	res := first
	if res.Objects.NoncurrentVersions != 2 || res.Objects.DeleteMarkers != 3 || res.Objects.Listed != 2 {
		t.Errorf("objects %+v, want 2 listed, 2 noncurrent versions, 3 delete markers", res.Objects)
	}
	if res.Records.Total != 5 || res.Records.Duplicates != 1 || res.Records.InWindow != 4 {
		t.Errorf("records %+v, want 5 read, 1 duplicate (e1 in two versions), 4 analysed", res.Records)
	}

	got := map[string][]int{}
	allowlist := 0
	for _, f := range res.Findings {
		switch f.Kind {
		case KindObjectDeleted, KindObjectOverwritten:
			got[f.Kind+" "+f.Region] = append(got[f.Kind+" "+f.Region], f.Evidence["objects"].(int))
		case KindOutsideAllowlist:
			// e2 and e4 come only from noncurrent versions.
			if n := f.Evidence["succeeded_writes"]; n != 4 {
				t.Errorf("allowlist finding counts %v succeeded writes, want e1 to e4", n)
			}
			allowlist++
		}
	}
	if allowlist != 1 {
		t.Errorf("%d allowlist findings, want one for us-east-1", allowlist)
	}
	want := map[string][]int{
		"object-deleted us-east-1":     {1},
		"object-overwritten us-east-1": {1},
		"object-deleted eu-west-1":     {1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history findings %v, want %v", got, want)
	}
	for _, f := range res.Findings {
		if f.Kind == KindObjectDeleted && f.Region == "us-east-1" && f.Evidence["recoverable"] != 1 {
			t.Errorf("deleted us-east-1 key has a surviving version: %v", f.Evidence)
		}
		if f.Kind == KindObjectDeleted && f.Region == "eu-west-1" && f.Evidence["recoverable"] != 0 {
			t.Errorf("nothing of the eu-west-1 key survives: %v", f.Evidence)
		}
	}
}
