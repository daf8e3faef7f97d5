package ingest_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
)

// s3Servers are the S3 servers the S3-only tests run against.
var s3Servers = []struct {
	name  string
	start func(testing.TB) *s3test.Server
}{
	{"gofakes3", s3test.StartFake},
	{"versitygw", s3test.StartVersity},
}

func TestS3SourceMissingBucket(t *testing.T) {
	for _, tc := range s3Servers {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := tc.start(t)
			srv.CreateBucket(t, "some-other-bucket")
			const bucket = "no-such-trail-bucket"
			src, err := ingest.NewS3Source(t.Context(), "s3://"+bucket+"/AWSLogs/", srv.Options(ingest.S3Options{MaxAttempts: 1}))
			if err == nil {
				t.Fatalf("NewS3Source(s3://%s) = %v, want an error", bucket, src)
			}
			if !errors.Is(err, ingest.ErrNotExist) {
				t.Errorf("NewS3Source(s3://%s) = %v, want an error wrapping ErrNotExist", bucket, err)
			}
			if !strings.Contains(err.Error(), bucket) {
				t.Errorf("NewS3Source(s3://%s) = %q, want the bucket named", bucket, err)
			}
		})
	}
}

// TestS3SourceLargeObject reads objects from S3Options.LargeObject up,
// which Open fetches with the transfer manager's ranged requests into a
// temporary file, and checks they come back byte for byte.
func TestS3SourceLargeObject(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	objects := map[string][]byte{
		"large/3MB.bin": randomBytes(rng, 3<<20+17),
		// The downloader's parts are 8 MiB: three parts, the last short.
		"large/three-parts.bin": randomBytes(rng, 2*8<<20+12345),
		// Below LargeObject: the plain GetObject body.
		"large/small.bin": randomBytes(rng, 1000),
	}
	for _, tc := range s3Servers {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := tc.start(t)
			srv.CreateBucket(t, fixtureBucket)
			client := srv.Client(t)
			for key, data := range objects {
				_, err := client.PutObject(t.Context(), &s3.PutObjectInput{
					Bucket:   aws.String(fixtureBucket),
					Key:      aws.String(key),
					Body:     bytes.NewReader(data),
					Metadata: map[string]string{"Signature": "abc"},
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			src := srv.SourceWith(t, "s3://"+fixtureBucket, ingest.S3Options{LargeObject: 1 << 10})
			for key, want := range objects {
				rc, meta, err := src.Open(t.Context(), key)
				if err != nil {
					t.Fatalf("Open(%s): %v", key, err)
				}
				// The large-object path hands back its temporary file.
				_, isFile := rc.(*os.File)
				if large := len(want) >= 1<<10; isFile != large {
					t.Errorf("Open(%s) of %d bytes returned a %T, want a temporary file: %v", key, len(want), rc, large)
				}
				var got bytes.Buffer
				_, err = got.ReadFrom(rc)
				rc.Close()
				if err != nil {
					t.Fatalf("Open(%s): read: %v", key, err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("Open(%s) = %s, want %s", key, describe(got.Bytes()), describe(want))
				}
				if got := meta["signature"]; got != "abc" {
					t.Errorf("Open(%s) metadata[signature] = %q, want %q", key, got, "abc")
				}
			}
		})
	}
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
