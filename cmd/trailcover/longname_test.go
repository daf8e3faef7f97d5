package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailcover/trailcover/ingest/s3test"
)

// TestAcquireLongNames: S3 keys may hold a folder name of a thousand
// characters, which no common file system can (255 bytes a name). acquire
// stores such objects off their keys, and analyze of the copy reads every
// object under its original key, as it does from the bucket.
func TestAcquireLongNames(t *testing.T) {
	srv := s3test.StartFake(t)
	useServer(t, srv)
	const bucket = "long-names"
	srv.CreateBucket(t, bucket)
	long := strings.Repeat("f", 1000)
	log := "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/01/111111111111_CloudTrail_us-east-1_20240101T0005Z_LongNameNeighbr1.json.gz"
	objects := map[string][]byte{
		log: gzipped([]byte(records(ctRecord("long-neighbour", "us-east-1", "00:04", "")))),
		// A folder name of 1,000 characters: 1,009 bytes of key.
		long + "/note.txt": []byte("not CloudTrail"),
		// A log file's name found below a folder no file system holds.
		strings.Repeat("g", 300) + "/111111111111_CloudTrail_us-east-1_20240101T0010Z_LongNameRelaid01.json.gz": gzipped([]byte(records(ctRecord("long-relaid", "us-east-1", "00:09", "")))),
	}
	client := srv.Client(t)
	for k, v := range objects {
		if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(v)}); err != nil {
			t.Fatalf("put %d-byte key: %v", len(k), err)
		}
	}
	fromS3 := analyzeGenuine(t, "s3://"+bucket, "--endpoint-url", srv.Endpoint)
	if fromS3.summary.Objects.Listed != len(objects) || fromS3.summary.Records.Total != 2 {
		t.Fatalf("from S3: objects %+v, records %+v\n%s", fromS3.summary.Objects, fromS3.summary.Records, fromS3.stderr)
	}

	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"acquire", "--endpoint-url", srv.Endpoint, "s3://" + bucket, dir}, &stdout, &stderr, time.Now); err != nil {
		t.Fatalf("acquire: %v\n%s", err, stderr.String())
	}
	copied := analyzeGenuine(t, dir)
	if copied.exit != fromS3.exit || copied.summary.Objects.Listed != len(objects) || copied.summary.Records.Total != 2 {
		t.Errorf("the copy: exit %d (bucket %d), objects %+v, records %+v\n%s", copied.exit, fromS3.exit, copied.summary.Objects, copied.summary.Records, copied.stderr)
	}
	for _, f := range copied.summary.Findings {
		if f.Kind == "unreadable-object" {
			t.Errorf("the copy: %s %s", f.Title, f.Detail)
		}
	}
}
