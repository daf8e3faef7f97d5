package ingest_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
)

// Shape of BenchmarkScanS3Workers's bucket and network.
const (
	benchS3Objects = 320
	benchS3Records = 5
	benchS3Latency = 20 * time.Millisecond
)

// writeBenchLogs writes n small gzip log files below dir, a bucket copy
// of one account and region over a few days.
func writeBenchLogs(b *testing.B, dir string, n int) {
	b.Helper()
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ts := start.Add(time.Duration(i) * 15 * time.Minute)
		loc := ingest.Location{Kind: ingest.KindLog, Account: "111111111111", Region: "us-east-1", Time: ts, Unique: fmt.Sprintf("%016d", i)}
		var recs []string
		for j := range benchS3Records {
			recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.09","eventID":"%d-%d","eventTime":"%s","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","recipientAccountId":"111111111111"}`, i, j, ts.Format(time.RFC3339)))
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(`{"Records":[` + strings.Join(recs, ",") + `]}`))
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		name := filepath.Join(dir, filepath.FromSlash(loc.ObjectKey()))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanS3Workers scans a few hundred small log files from a real
// S3 server process (versitygw on loopback) behind a proxy that adds
// benchS3Latency to every request, as a distant region would, with 1 to
// 32 workers. While latency dominates, objects/s grows with the workers;
// where it stops growing, the server or the CPU is the limit. It reports
// objects/s and the requests of one scan (listings included).
func BenchmarkScanS3Workers(b *testing.B) {
	srv := s3test.StartVersity(b)
	const bucket = "trailcover-bench"
	srv.CreateBucket(b, bucket)
	dir := b.TempDir()
	writeBenchLogs(b, dir, benchS3Objects)
	if err := s3test.UploadDir(b.Context(), srv.Client(b), bucket, dir); err != nil {
		b.Fatal(err)
	}
	proxy := s3test.StartFaultProxy(b, srv.Endpoint, s3test.Faults{Latency: benchS3Latency})
	src := srv.SourceWith(b, "s3://"+bucket, ingest.S3Options{EndpointURL: proxy.Endpoint})

	for _, workers := range []int{1, 2, 4, 8, 16, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			objects, scans := 0, 0
			requests := proxy.Requests.Load()
			for b.Loop() {
				_, err := ingest.Scan(b.Context(), src, ingest.ScanOptions{Workers: workers}, func(r *ingest.Result) error {
					if r.Err != nil {
						return r.Err
					}
					if len(r.Records) != benchS3Records {
						return fmt.Errorf("%s: %d records, want %d", r.Object.Key, len(r.Records), benchS3Records)
					}
					objects++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				scans++
			}
			if objects != scans*benchS3Objects {
				b.Fatalf("read %d objects in %d scans, want %d each", objects, scans, benchS3Objects)
			}
			b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
			b.ReportMetric(float64(proxy.Requests.Load()-requests)/float64(scans), "requests/op")
		})
	}
}
