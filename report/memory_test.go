package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
)

// countingFile discards what is written and counts it.
type countingFile struct{ n *int64 }

func (f countingFile) Write(p []byte) (int, error) { *f.n += int64(len(p)); return len(p), nil }
func (f countingFile) Close() error                { return nil }

// syntheticLogs makes log files of realistic records: about 1.5 KB each,
// spread over accounts, regions and days, in an order like the scan's
// (several regions interleaved).
func syntheticLogs(files, perFile, nAccounts int, seed uint64) func(yield func(*ingest.Result) bool) {
	return func(yield func(*ingest.Result) bool) {
		rng := rand.New(rand.NewPCG(seed, 1))
		accounts := make([]string, nAccounts)
		for i := range accounts {
			accounts[i] = fmt.Sprintf("%012d", 111122223333+i*111111111)
		}
		regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "eu-central-1"}
		names := []string{"GetObject", "PutObject", "AssumeRole", "DescribeInstances", "ListBuckets", "Decrypt", "CreateUser"}
		start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		for i := range files {
			acct := accounts[i%len(accounts)]
			region := regions[(i/len(accounts))%len(regions)]
			slot := start.Add(time.Duration(i/12) * 5 * time.Minute)
			key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%016d.json.gz",
				acct, region, slot.Format("2006/01/02"), acct, region, slot.Format("20060102T1504Z"), i)
			r := &ingest.Result{Object: ingest.Object{Key: key}, Location: ingest.ParseKey(key)}
			r.Records = make([]ingest.Record, perFile)
			for j := range r.Records {
				t := slot.Add(time.Duration(rng.IntN(300)) * time.Second)
				user := fmt.Sprintf("user-%d", rng.IntN(500))
				rec := &r.Records[j]
				*rec = ingest.Record{
					EventVersion: "1.09", EventTime: t.Format(time.RFC3339), Time: t,
					EventSource: "s3.amazonaws.com", EventName: names[rng.IntN(len(names))], AWSRegion: region,
					SourceIPAddress: fmt.Sprintf("198.51.%d.%d", rng.IntN(256), rng.IntN(256)),
					UserAgent:       fmt.Sprintf("aws-sdk-go-v2/1.%d.%d os/linux lang/go#1.22 md/GOOS#linux exec-env/%x", rng.IntN(40), rng.IntN(20), rng.Uint64()),
					RequestID:       fmt.Sprintf("%016X", rng.Uint64()), EventID: fmt.Sprintf("%016x-%016x", rng.Uint64(), rng.Uint64()),
					EventType: "AwsApiCall", EventCategory: "Management", RecipientAccountID: acct,
					ReadOnly: ingest.Bool{Value: rng.IntN(2) == 0, Set: true}, ManagementEvent: ingest.Bool{Value: true, Set: true},
				}
				rec.UserIdentity = ingest.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/" + user,
					AccountID: acct, AccessKeyID: fmt.Sprintf("AKIA%016X", rng.Uint64()), UserName: user, PrincipalID: fmt.Sprintf("AIDA%016X", rng.Uint64())}
				rec.UserIdentity.Raw, _ = json.Marshal(map[string]string{"type": "IAMUser", "arn": rec.UserIdentity.ARN,
					"accountId": acct, "accessKeyId": rec.UserIdentity.AccessKeyID, "userName": user})
				rec.RequestParameters, _ = json.Marshal(map[string]any{"bucketName": fmt.Sprintf("bucket-%d", rng.IntN(50)),
					"key": fmt.Sprintf("data/%x/%x.parquet", rng.Uint64(), rng.Uint64()), "Host": "s3." + region + ".amazonaws.com",
					"x-id": "GetObject", "policy": strings.Repeat(fmt.Sprintf("%x", rng.Uint64()), 8)})
				rec.ResponseElements, _ = json.Marshal(map[string]any{"x-amz-version-id": fmt.Sprintf("%x%x", rng.Uint64(), rng.Uint64())})
				rec.AdditionalEventData, _ = json.Marshal(map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
					"bytesTransferredIn": rng.IntN(1 << 20), "AuthenticationMethod": "AuthHeader", "x-amz-id-2": fmt.Sprintf("%x%x%x", rng.Uint64(), rng.Uint64(), rng.Uint64())})
				rec.Resources, _ = json.Marshal([]map[string]string{{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::bucket/" + fmt.Sprint(rng.Uint64())}})
				rec.TLSDetails = json.RawMessage(`{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"s3.amazonaws.com"}`)
			}
			if !yield(r) {
				return
			}
		}
	}
}

// TestEventsMemoryBounded writes DefaultMaxOpenFiles partitions at once,
// all of them hot (the worst case: every file open, every row group
// filling), and checks that the heap stays bounded.
func TestEventsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 300 MB of rows")
	}
	const limit = 100 << 20
	var written int64
	opened := 0
	w := NewEventsWriter(func(Partition) (io.WriteCloser, error) { opened++; return countingFile{&written}, nil },
		EventsOptions{Partitioned: true})
	files := 2400
	if raceEnabled {
		files = 480 // still past the buffering budget
	}
	var peak uint64
	var ms runtime.MemStats
	n := 0
	for r := range syntheticLogs(files, 100, 4, 1) {
		if err := w.Write(r, analyzer.VerdictValid); err != nil {
			t.Fatal(err)
		}
		n++
		if n%50 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows, %d files, %.1f MB written, peak heap in use %.1f MB (inputs of one log file included)",
		w.Rows(), opened, float64(written)/1e6, float64(peak)/1e6)
	if peak > limit {
		t.Errorf("peak heap %d MB, want under %d MB", peak>>20, limit>>20)
	}
}

// TestEventsFileMetadataBounded writes one flat table of many row groups:
// the footer metadata a writer holds for each file's row groups must not
// grow with the table (files are cut at maxRowGroupsPerFile).
func TestEventsFileMetadataBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 300,000 rows")
	}
	var written int64
	opened := 0
	w := NewEventsWriter(func(Partition) (io.WriteCloser, error) { opened++; return countingFile{&written}, nil },
		EventsOptions{RowsPerRowGroup: 1000})
	var ms runtime.MemStats
	var early, late uint64
	const files = 3000
	n := 0
	for r := range syntheticLogs(files, 100, 4, 2) {
		if err := w.Write(r, analyzer.VerdictValid); err != nil {
			t.Fatal(err)
		}
		n++
		if n == files/3 || n == files {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if n == files/3 {
				early = ms.HeapInuse
			} else {
				late = ms.HeapInuse
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows in %d files; heap %.1f MB after a third, %.1f MB at the end", w.Rows(), opened, float64(early)/1e6, float64(late)/1e6)
	if opened < 2 {
		t.Errorf("%d files for %d row groups, want a new file every %d", opened, w.Rows()/1000, maxRowGroupsPerFile)
	}
	// 200 more row groups would hold some 14 MB more if kept.
	if late > early+6<<20 {
		t.Errorf("heap grew from %d to %d MB as row groups were added", early>>20, late>>20)
	}
}
