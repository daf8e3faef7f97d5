package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
)

// fixtureBucket is the bucket every source of TestSource holds.
const fixtureBucket = "trail-archive"

// Keys of the fixture that the tests name.
const (
	gzipLogKey  = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0005Z_AbCdEfGh12345678.json.gz"
	digestKey   = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_management_us-east-1_20240102T010203Z.json.gz"
	backfillKey = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/03/111122223333_CloudTrail-Digest_us-east-1_management_us-east-1_20240103T010203Z.json.gz"
	emptyKey    = "AWSLogs/111122223333/CloudTrail/us-west-2/2024/01/02/111122223333_CloudTrail_us-west-2_20240102T0000Z_empty.json.gz"
	// manyPrefix holds manyCount objects: more than one page of
	// ListObjectsV2 (1,000 keys).
	manyPrefix = "AWSLogs/444455556666/CloudTrail/eu-west-1/2024/03/01/"
	manyCount  = 1100
)

// fixtureModTime is the modification time of the fstest.MapFS files.
var fixtureModTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// sourceFixture is a small CloudTrail bucket built in code, so that every
// Source under test holds identical content.
type sourceFixture struct {
	// objects maps each key to its bytes.
	objects map[string][]byte
	// sidecars maps a key to the user metadata written in its sidecar,
	// with names as CloudTrail or a client might spell them.
	sidecars map[string]ingest.Metadata
}

func newSourceFixture(t testing.TB) *sourceFixture {
	t.Helper()
	f := &sourceFixture{objects: map[string][]byte{}, sidecars: map[string]ingest.Metadata{}}
	logs := []string{
		gzipLogKey,
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0010Z_IjKlMnOp12345678.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0105Z_QrStUvWx12345678.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/03/111122223333_CloudTrail_us-east-1_20240103T0005Z_YzAbCdEf12345678.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-2/2024/01/02/111122223333_CloudTrail_us-east-2_20240102T0005Z_GhIjKlMn12345678.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-west-2/2024/01/02/111122223333_CloudTrail_us-west-2_20240102T0005Z_OpQrStUv12345678.json.gz",
		"AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/01/02/111122223333_CloudTrail-Insight_us-east-1_20240102T0100Z_WxYzAbCd12345678.json.gz",
	}
	for i, key := range logs {
		f.objects[key] = gzipBytes(t, fmt.Sprintf(`{"Records":[{"eventVersion":"1.11","eventID":"event-%d"}]}`, i))
	}
	f.objects[emptyKey] = []byte{}
	f.objects["notes.txt"] = []byte("not CloudTrail\n")

	f.objects[digestKey] = gzipBytes(t, `{"awsAccountId":"111122223333","digestStartTime":"2024-01-02T00:02:03Z"}`)
	f.sidecars[digestKey] = ingest.Metadata{
		"signature":           strings.Repeat("0123456789abcdef", 32),
		"signature-algorithm": "SHA256withRSA",
	}
	// A sidecar with names in mixed case: Open must lower-case them.
	f.objects[backfillKey] = gzipBytes(t, `{"awsAccountId":"111122223333","digestStartTime":"2024-01-03T00:02:03Z"}`)
	f.sidecars[backfillKey] = ingest.Metadata{
		"Signature":                     strings.Repeat("fedcba9876543210", 32),
		"Signature-Algorithm":           "SHA256withRSA",
		"Backfill-Generation-Timestamp": "2024-02-01T00:00:00Z",
	}

	var many bytes.Buffer
	zw := gzip.NewWriter(&many)
	for i := range manyCount {
		many.Reset()
		zw.Reset(&many)
		fmt.Fprintf(zw, `{"Records":[{"eventID":"many-%d"}]}`, i)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("%s444455556666_CloudTrail_eu-west-1_20240301T%02d%02dZ_%016d.json.gz", manyPrefix, i/60%24, i%60, i)
		f.objects[key] = bytes.Clone(many.Bytes())
	}
	return f
}

func gzipBytes(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// keys returns the fixture's keys that start with prefix, sorted.
func (f *sourceFixture) keys(prefix string) []string {
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// metadata is what Open should return for key: the sidecar's metadata
// with lower-case names, or nil.
func (f *sourceFixture) metadata(key string) ingest.Metadata {
	sc, ok := f.sidecars[key]
	if !ok {
		return nil
	}
	m := ingest.Metadata{}
	for k, v := range sc {
		m[strings.ToLower(k)] = v
	}
	return m
}

// files is the fixture in the on-disk form of a bucket copy: the objects,
// .trailcover/source.json and the metadata sidecars.
func (f *sourceFixture) files(t testing.TB) map[string][]byte {
	t.Helper()
	files := maps.Clone(f.objects)
	files[path.Join(ingest.StateDir, "source.json")] = mustJSON(t, ingest.SourceInfo{Bucket: fixtureBucket})
	for key, meta := range f.sidecars {
		sc := ingest.Sidecar{Key: key, ETag: fmt.Sprintf("%x", sha256.Sum256(f.objects[key]))[:32], Metadata: meta}
		files[path.Join(ingest.StateDir, "meta", key+".json")] = mustJSON(t, sc)
	}
	return files
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeDir writes the fixture's files below dir.
func (f *sourceFixture) writeDir(t testing.TB, dir string) {
	t.Helper()
	for name, data := range f.files(t) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mapFS is the fixture's files as an in-memory file system.
func (f *sourceFixture) mapFS(t testing.TB) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range f.files(t) {
		fsys[name] = &fstest.MapFile{Data: data, Mode: 0o644, ModTime: fixtureModTime}
	}
	return fsys
}

// uploadFixture creates fixtureBucket on srv and uploads the fixture's
// directory form to it with s3test.UploadDir.
func uploadFixture(t testing.TB, srv *s3test.Server, f *sourceFixture) {
	t.Helper()
	dir := t.TempDir()
	f.writeDir(t, dir)
	srv.CreateBucket(t, fixtureBucket)
	client := srv.Client(t)
	if err := s3test.UploadDir(t.Context(), client, fixtureBucket, dir); err != nil {
		t.Fatal(err)
	}
	// The gzip test means something only if the server sends the header
	// that could make a client decompress.
	head, err := client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(fixtureBucket), Key: aws.String(gzipLogKey)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(head.ContentEncoding); got != "gzip" {
		t.Fatalf("HeadObject(%s): Content-Encoding %q, want gzip", gzipLogKey, got)
	}
}

// sources are the Source implementations TestSource runs its body over.
// Each opens a source that holds the fixture.
var sources = []struct {
	name string
	open func(t *testing.T, f *sourceFixture) ingest.Source
}{
	{"dir", func(t *testing.T, f *sourceFixture) ingest.Source {
		dir := t.TempDir()
		f.writeDir(t, dir)
		src, err := ingest.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}},
	{"mapfs", func(t *testing.T, f *sourceFixture) ingest.Source {
		src, err := ingest.NewFSSource(f.mapFS(t), "mapfs", nil)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}},
	{"gofakes3", func(t *testing.T, f *sourceFixture) ingest.Source {
		srv := s3test.StartFake(t)
		uploadFixture(t, srv, f)
		return srv.Source(t, "s3://"+fixtureBucket)
	}},
	{"versitygw", func(t *testing.T, f *sourceFixture) ingest.Source {
		srv := s3test.StartVersity(t)
		uploadFixture(t, srv, f)
		return srv.Source(t, "s3://"+fixtureBucket)
	}},
}

// TestSource runs one body over every Source implementation: a directory,
// an fstest.MapFS, the in-process S3 fake and a real S3 server process.
func TestSource(t *testing.T) {
	f := newSourceFixture(t)
	for _, tc := range sources {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testSource(t, tc.open(t, f), f)
		})
	}
}

func testSource(t *testing.T, src ingest.Source, f *sourceFixture) {
	t.Run("Bucket", func(t *testing.T) {
		b, ok := src.(ingest.Bucketed)
		if !ok {
			t.Fatalf("%T does not implement Bucketed", src)
		}
		if got := b.Bucket(); got != fixtureBucket {
			t.Errorf("Bucket() = %q, want %q", got, fixtureBucket)
		}
	})

	t.Run("ListAll", func(t *testing.T) {
		var keys []string
		err := src.List(t.Context(), ingest.ListOptions{}, func(o ingest.Object) error {
			keys = append(keys, o.Key)
			want, ok := f.objects[o.Key]
			switch {
			case o.IsPrefix:
				t.Errorf("List without delimiter gave prefix %q", o.Key)
			case !ok:
				// Reported by the comparison of keys.
			case o.Size != int64(len(want)):
				t.Errorf("List: %s: Size %d, want %d", o.Key, o.Size, len(want))
			case o.LastModified.IsZero():
				t.Errorf("List: %s: LastModified is zero", o.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		slices.Sort(keys)
		if d := diffKeys(keys, f.keys("")); d != "" {
			t.Errorf("List: %s", d)
		}
	})

	t.Run("ListPrefix", func(t *testing.T) {
		for _, tc := range []struct {
			prefix string
		}{
			{prefix: ""},
			{prefix: "notes"},
			{prefix: "notes.txt"},
			{prefix: "AWSLogs/"},
			{prefix: "AWSLogs/111122223333/"},
			{prefix: "AWSLogs/111122223333/CloudTrail"}, // also CloudTrail-Digest and CloudTrail-Insight
			{prefix: "AWSLogs/111122223333/CloudTrail/"},
			{prefix: "AWSLogs/111122223333/CloudTrail/us-e"}, // ends mid-name
			{prefix: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T00"},
			{prefix: gzipLogKey},
			{prefix: manyPrefix},
			{prefix: manyPrefix + "444455556666_CloudTrail_eu-west-1_20240301T01"},
			{prefix: "AWSLogs/999999999999/"},
			{prefix: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/missing"},
			{prefix: "nothing"},
			{prefix: ingest.StateDir[:4]}, // ".tra": the state folder stays hidden
			{prefix: "notes.txt/"},
			{prefix: ingest.StateDir + "/"},
			{prefix: ingest.StateDir + "/meta/AWSLogs/"},
			{prefix: "./"},
			{prefix: "/"},
		} {
			t.Run(strings.ReplaceAll(tc.prefix, "/", "|"), func(t *testing.T) {
				prefixes, keys := list(t, src, ingest.ListOptions{Prefix: tc.prefix})
				if len(prefixes) > 0 {
					t.Errorf("List(%q) without delimiter gave prefixes %q", tc.prefix, prefixes)
				}
				if d := diffKeys(keys, f.keys(tc.prefix)); d != "" {
					t.Errorf("List(%q): %s", tc.prefix, d)
				}
			})
		}
	})

	t.Run("ListDelimiter", func(t *testing.T) {
		const (
			acct   = "AWSLogs/111122223333/"
			trail  = acct + "CloudTrail/"
			digest = acct + "CloudTrail-Digest/us-east-1/2024/01/"
		)
		for _, tc := range []struct {
			prefix       string
			wantPrefixes []string
			wantKeys     []string
		}{
			{"", []string{"AWSLogs/"}, []string{"notes.txt"}},
			{"AWSLogs/", []string{acct, "AWSLogs/444455556666/"}, nil},
			{"AWSLogs/1111", []string{acct}, nil},
			{acct + "CloudTrail", []string{acct + "CloudTrail-Digest/", acct + "CloudTrail-Insight/", trail}, nil},
			{trail, []string{trail + "us-east-1/", trail + "us-east-2/", trail + "us-west-2/"}, nil},
			{trail + "us-e", []string{trail + "us-east-1/", trail + "us-east-2/"}, nil},
			{trail + "us-east-1/2024/01/", []string{trail + "us-east-1/2024/01/02/", trail + "us-east-1/2024/01/03/"}, nil},
			{jan02, nil, f.keys(jan02)},
			{jan02 + "111122223333_CloudTrail_us-east-1_20240102T00", nil, f.keys(jan02 + "111122223333_CloudTrail_us-east-1_20240102T00")},
			{digest, []string{digest + "02/", digest + "03/"}, nil},
			{"AWSLogs/999999999999/", nil, nil},
		} {
			t.Run(strings.ReplaceAll(tc.prefix, "/", "|"), func(t *testing.T) {
				prefixes, keys := list(t, src, ingest.ListOptions{Prefix: tc.prefix, Delimiter: "/"})
				if !slices.Equal(prefixes, tc.wantPrefixes) {
					t.Errorf("List(%q, \"/\") prefixes:\ngot  %q\nwant %q", tc.prefix, prefixes, tc.wantPrefixes)
				}
				if d := diffKeys(keys, tc.wantKeys); d != "" {
					t.Errorf("List(%q, \"/\") objects: %s", tc.prefix, d)
				}
			})
		}
	})

	t.Run("ListPagination", func(t *testing.T) {
		want := f.keys(manyPrefix)
		if len(want) != manyCount {
			t.Fatalf("fixture has %d keys below %s, want %d", len(want), manyPrefix, manyCount)
		}
		for _, delim := range []string{"", "/"} {
			prefixes, keys := list(t, src, ingest.ListOptions{Prefix: manyPrefix, Delimiter: delim})
			if len(prefixes) > 0 {
				t.Errorf("List(%q, %q) gave prefixes %q", manyPrefix, delim, prefixes)
			}
			if d := diffKeys(keys, want); d != "" {
				t.Errorf("List(%q, %q): %s", manyPrefix, delim, d)
			}
		}
	})

	t.Run("ListCallbackError", func(t *testing.T) {
		errStop := errors.New("stop")
		for _, opts := range []ingest.ListOptions{{}, {Delimiter: "/"}, {Prefix: manyPrefix}} {
			calls := 0
			err := src.List(t.Context(), opts, func(ingest.Object) error {
				calls++
				return errStop
			})
			if !errors.Is(err, errStop) {
				t.Errorf("List(%+v) with a failing callback = %v, want %v", opts, err, errStop)
			}
			if calls != 1 {
				t.Errorf("List(%+v) called the failing callback %d times, want 1", opts, calls)
			}
		}
	})

	t.Run("ListCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		calls := 0
		err := src.List(ctx, ingest.ListOptions{}, func(ingest.Object) error {
			calls++
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("List with a canceled context = %v (after %d objects), want %v", err, calls, context.Canceled)
		}
	})

	t.Run("Open", func(t *testing.T) {
		keys := f.keys("")
		// Every key outside the many-objects folder and a sample inside.
		keys = slices.DeleteFunc(keys, func(k string) bool {
			return strings.HasPrefix(k, manyPrefix) && !strings.HasSuffix(k, "00.json.gz")
		})
		for _, key := range keys {
			data, meta := open(t, src, key)
			if want := f.objects[key]; !bytes.Equal(data, want) {
				t.Errorf("Open(%s) = %s, want %s", key, describe(data), describe(want))
			}
			if want := f.metadata(key); !maps.Equal(meta, want) {
				t.Errorf("Open(%s) metadata:\ngot  %v\nwant %v", key, meta, want)
			}
		}
	})

	t.Run("OpenGzipAsStored", func(t *testing.T) {
		// Log files are gzip with Content-Encoding: gzip in S3; Open must
		// not decompress them on the way.
		data, _ := open(t, src, gzipLogKey)
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			t.Errorf("Open(%s) = %s, not gzip: decompressed in transit?", gzipLogKey, describe(data))
		}
		if want := f.objects[gzipLogKey]; !bytes.Equal(data, want) {
			t.Errorf("Open(%s) = %s, want %s", gzipLogKey, describe(data), describe(want))
		}
	})

	t.Run("OpenMetadata", func(t *testing.T) {
		for _, key := range []string{digestKey, backfillKey} {
			_, meta := open(t, src, key)
			for _, name := range []string{"signature", "signature-algorithm"} {
				if got, want := meta[name], f.metadata(key)[name]; got != want {
					t.Errorf("Open(%s) metadata[%q] = %q, want %q", key, name, got, want)
				}
			}
		}
	})

	t.Run("OpenMissing", func(t *testing.T) {
		for _, tc := range []struct {
			key string
		}{
			{key: "missing"},
			{key: jan02 + "111122223333_CloudTrail_us-east-1_20240102T0005Z_missing.json.gz"},
			{key: "AWSLogs/999999999999/CloudTrail/us-east-1/2024/01/02/x.json.gz"},
			{key: jan02}, // a folder, not an object
			{key: path.Join(ingest.StateDir, "source.json")}, // state, not an object
			{key: ingest.StateDir},
			{key: strings.TrimSuffix(jan02, "/")},
			{key: "notes.txt/child"},
		} {
			t.Run(strings.ReplaceAll(tc.key, "/", "|"), func(t *testing.T) {
				rc, _, err := src.Open(t.Context(), tc.key)
				if err == nil {
					rc.Close()
					t.Fatalf("Open(%q) succeeded, want an error", tc.key)
				}
				if !errors.Is(err, ingest.ErrNotExist) {
					t.Errorf("Open(%q) = %v, want an error wrapping ErrNotExist", tc.key, err)
				}
			})
		}
	})
}

// jan02 is a folder of the fixture that holds logs.
const jan02 = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/"

// list returns the prefixes and object keys List gives for opts, each
// sorted.
func list(t *testing.T, src ingest.Source, opts ingest.ListOptions) (prefixes, keys []string) {
	t.Helper()
	err := src.List(t.Context(), opts, func(o ingest.Object) error {
		if o.IsPrefix {
			prefixes = append(prefixes, o.Key)
		} else {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List(%+v): %v", opts, err)
	}
	slices.Sort(prefixes)
	slices.Sort(keys)
	return prefixes, keys
}

// open reads key whole.
func open(t *testing.T, src ingest.Source, key string) ([]byte, ingest.Metadata) {
	t.Helper()
	rc, meta, err := src.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Open(%s): read: %v", key, err)
	}
	return data, meta
}

// diffKeys compares sorted key lists and says how they differ, or "".
// Lists of a thousand keys are summarized, not printed.
func diffKeys(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	if len(got) <= 20 && len(want) <= 20 {
		return fmt.Sprintf("keys:\ngot  %q\nwant %q", got, want)
	}
	wantSet := map[string]bool{}
	for _, k := range want {
		wantSet[k] = true
	}
	seen := map[string]int{}
	var extra, dup []string
	for _, k := range got {
		seen[k]++
		switch {
		case seen[k] == 2:
			dup = append(dup, k)
		case !wantSet[k]:
			extra = append(extra, k)
		}
	}
	var missing []string
	for _, k := range want {
		if seen[k] == 0 {
			missing = append(missing, k)
		}
	}
	return fmt.Sprintf("got %d keys, want %d: %d missing %q, %d unexpected %q, %d repeated %q",
		len(got), len(want), len(missing), head(missing), len(extra), head(extra), len(dup), head(dup))
}

func head(keys []string) []string {
	return keys[:min(len(keys), 5)]
}

// describe summarizes bytes for a failure message.
func describe(b []byte) string {
	return fmt.Sprintf("%d bytes (sha256 %x, starting %q)", len(b), sha256.Sum256(b), b[:min(len(b), 16)])
}
