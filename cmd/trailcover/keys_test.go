package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// fakeCloudTrail answers ListPublicKeys as CloudTrail's JSON protocol
// does, with the demo's keys of the region the request is signed for:
// its own key on the first page and, behind a NextToken, another key
// whose validity ends in the middle of the demo's day.
type fakeCloudTrail struct {
	keys     map[string]json.RawMessage // region → a list-public-keys document
	requests atomic.Int64
}

var credentialRegion = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/cloudtrail/`)

func (f *fakeCloudTrail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".ListPublicKeys") {
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		return
	}
	var in struct {
		StartTime, EndTime float64
		NextToken          string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.StartTime == 0 || in.EndTime <= in.StartTime {
		http.Error(w, `{"__type":"InvalidTimeRangeException"}`, http.StatusBadRequest)
		return
	}
	m := credentialRegion.FindStringSubmatch(r.Header.Get("Authorization"))
	doc, ok := f.keys[m[1]]
	if m == nil || !ok {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}`))
		return
	}
	var list struct{ PublicKeyList []map[string]any }
	json.Unmarshal(doc, &list)
	key := list.PublicKeyList[0]
	epoch := func(s any) float64 {
		t, _ := time.Parse(time.RFC3339, s.(string))
		return float64(t.Unix())
	}
	page := map[string]any{}
	entry := map[string]any{"Value": key["Value"], "Fingerprint": key["Fingerprint"], "ValidityStartTime": epoch(key["ValidityStartTime"]), "ValidityEndTime": epoch(key["ValidityEndTime"])}
	if in.NextToken == "" {
		page["PublicKeyList"] = []any{entry}
		page["NextToken"] = "page-2"
	} else {
		// The same key, as it was listed before a rotation that ended
		// its validity at noon of the demo's day.
		entry["ValidityEndTime"] = float64(simulate.DefaultStart().Add(12 * time.Hour).Unix())
		page["PublicKeyList"] = []any{entry}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(page)
}

// TestFetchPublicKeys: the demo in S3, its digests signed in metadata,
// analysed as the README's weekly example runs it: the keys come from a
// CloudTrail endpoint named by AWS_ENDPOINT_URL_CLOUDTRAIL, every
// signature verifies, and the keys are written beside the reports; with
// --no-fetch-keys the same run leaves them unverifiable.
func TestFetchPublicKeys(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo")
	ct := &fakeCloudTrail{keys: map[string]json.RawMessage{}}
	entries, err := os.ReadDir(filepath.Join(demo, ingest.StateDir, "public-keys"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(demo, ingest.StateDir, "public-keys", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		ct.keys[strings.TrimSuffix(e.Name(), ".json")] = data
	}
	endpoint := httptest.NewServer(ct)
	defer endpoint.Close()

	srv := s3test.StartVersity(t)
	useServer(t, srv)
	srv.CreateBucket(t, simulate.DefaultBucket)
	if err := s3test.UploadDir(t.Context(), srv.Client(t), simulate.DefaultBucket, demo); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", endpoint.URL)
	now := simulate.DefaultStart().Add(30 * time.Hour)
	analyze := func(extra ...string) (genuineRun, string) {
		out := filepath.Join(t.TempDir(), "out")
		args := append([]string{"analyze", "s3://" + simulate.DefaultBucket, "--last", "7d", "--out", out, "--endpoint-url", srv.Endpoint}, extra...)
		var stderr strings.Builder
		err := run(t.Context(), args, &strings.Builder{}, &stderr, func() time.Time { return now })
		res := genuineRun{exit: exitCode(err, false, &stderr), stderr: stderr.String()}
		data, rerr := os.ReadFile(filepath.Join(out, summaryFile))
		if rerr != nil {
			t.Fatalf("%v: %v\n%s", args, rerr, res.stderr)
		}
		json.Unmarshal(data, &res.summary)
		return res, out
	}

	res, out := analyze()
	valid, unverifiable, invalid := 0, 0, 0
	for _, c := range res.summary.Integrity.Chains {
		valid += c.DigestsValid
		unverifiable += c.DigestsUnverifiable
		invalid += c.DigestsInvalid
	}
	if valid == 0 || unverifiable != 0 || invalid != 0 {
		t.Errorf("with fetched keys: %d valid, %d unverifiable, %d invalid digests; want all valid\n%s", valid, unverifiable, invalid, res.stderr)
	}
	if ct.requests.Load() < int64(2*len(ct.keys)) {
		t.Errorf("%d ListPublicKeys requests for %d regions of two pages each", ct.requests.Load(), len(ct.keys))
	}
	if src := strings.Join(res.summary.Run.PublicKeySources, "; "); !strings.Contains(src, "CloudTrail ListPublicKeys") {
		t.Errorf("run.public_key_sources = %q, want CloudTrail named", src)
	}
	if _, err := os.Stat(filepath.Join(out, "public-keys.json")); err != nil {
		t.Errorf("fetched keys not written: %v", err)
	}

	// A forensic copy brings the keys along and verifies offline.
	evidence := filepath.Join(t.TempDir(), "evidence")
	var stderr strings.Builder
	if err := run(t.Context(), []string{"acquire", "s3://" + simulate.DefaultBucket, evidence, "--endpoint-url", srv.Endpoint}, &strings.Builder{}, &stderr, func() time.Time { return now }); err != nil {
		t.Fatalf("acquire: %v\n%s", err, stderr.String())
	}
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", noCloudTrail)
	offline := analyzeGenuine(t, evidence, "--no-fetch-keys")
	valid, unverifiable, invalid = 0, 0, 0
	for _, c := range offline.summary.Integrity.Chains {
		valid += c.DigestsValid
		unverifiable += c.DigestsUnverifiable
		invalid += c.DigestsInvalid
	}
	if valid == 0 || unverifiable != 0 || invalid != 0 {
		t.Errorf("acquired copy, offline: %d valid, %d unverifiable, %d invalid digests; want all valid\n%s", valid, unverifiable, invalid, offline.stderr)
	}
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", endpoint.URL)

	before := ct.requests.Load()
	res, _ = analyze("--no-fetch-keys")
	unverifiable, valid = 0, 0
	for _, c := range res.summary.Integrity.Chains {
		unverifiable += c.DigestsUnverifiable
		valid += c.DigestsValid
	}
	if ct.requests.Load() != before || valid != 0 || unverifiable == 0 {
		t.Errorf("--no-fetch-keys: %d requests made, %d valid and %d unverifiable digests; want none, 0 and all", ct.requests.Load()-before, valid, unverifiable)
	}
}
