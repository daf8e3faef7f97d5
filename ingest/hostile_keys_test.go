package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailcover/trailcover/ingest"
)

// memBucket is a Source that lists exactly as S3's ListObjectsV2 does,
// for any key: S3 servers for tests refuse or rewrite some of the keys
// below (versitygw drops a leading slash and refuses ".."; gofakes3
// mangles delimiter listings of keys that start with "/"), and S3 itself
// stores them as given.
type memBucket map[string][]byte

var _ ingest.Source = memBucket(nil)

func (b memBucket) List(ctx context.Context, opts ingest.ListOptions, fn func(ingest.Object) error) error {
	lastPrefix := ""
	for _, key := range slices.Sorted(maps.Keys(b)) {
		rest, ok := strings.CutPrefix(key, opts.Prefix)
		if !ok {
			continue
		}
		if opts.Delimiter != "" {
			if i := strings.Index(rest, opts.Delimiter); i >= 0 {
				p := opts.Prefix + rest[:i+len(opts.Delimiter)]
				if p != lastPrefix {
					lastPrefix = p
					if err := fn(ingest.Object{Key: p, IsPrefix: true}); err != nil {
						return err
					}
				}
				continue
			}
		}
		if err := fn(ingest.Object{Key: key, Size: int64(len(b[key])), ETag: fmt.Sprintf("%x", sha256.Sum256(b[key]))[:32], IsLatest: true}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (b memBucket) Open(ctx context.Context, key string) (io.ReadCloser, ingest.Metadata, error) {
	data, ok := b[key]
	if !ok {
		return nil, nil, fmt.Errorf("open %s: %w", key, ingest.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(data)), nil, nil
}

func (b memBucket) String() string { return "mem://hostile-keys" }

const hostileDay = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/01/"

func hostileLogName(unique string) string {
	return "111111111111_CloudTrail_us-east-1_20240101T0005Z_" + unique + ".json.gz"
}

func gzipRecord(t testing.TB, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, `{"Records":[{"eventVersion":"1.09","eventTime":"2024-01-01T00:04:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","eventID":%q,"recipientAccountId":"111111111111"}]}`, id)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostileBucket holds keys that no file system can hold as they are. The
// log files among them are mapped to their record's eventID in logs.
func hostileBucket(t testing.TB) (bucket memBucket, logs map[string]string) {
	hello := []byte("not CloudTrail's\n")
	tail := hostileDay + hostileLogName("LongKey1024Bytes")
	seg := (1024 - len(tail) - 4) / 4
	long := strings.Repeat("p", seg) + "/" + strings.Repeat("q", seg) + "/" + strings.Repeat("r", seg) + "/" +
		strings.Repeat("s", 1024-len(tail)-3*seg-4) + "/" + tail
	logs = map[string]string{
		"/" + hostileDay + hostileLogName("LeadingSlash0001"):   "leading-slash",
		"//" + hostileDay + hostileLogName("DoubleSlash00001"):  "double-slash",
		"../" + hostileDay + hostileLogName("DotDotPrefix0001"): "dotdot-prefix",
		long: "long-key",
		hostileDay + hostileLogName("PlainLogFile0001"): "plain",
	}
	bucket = memBucket{
		"AWSLogs/../x":      hello,
		"AWSLogs":           hello, // an object named like the folder
		ingest.StateDir:     hello, // an object named like the copy's state folder
		hostileDay + "..":   hello,
		hostileDay + ".":    hello,
		hostileDay:          nil, // the day folder's own marker
		hostileDay + "dir/": nil,
		hostileDay + strings.Repeat("../", 8) + "escaped-by-trailcover": hello,
		hostileDay + "./dot":                   hello,
		hostileDay + "a//b":                    hello,
		hostileDay + "nul\x00byte":             hello,
		hostileDay + "back\\..\\..\\slash":     hello,
		hostileDay + strings.Repeat("z", 300):  hello, // longer than a file name may be
		hostileDay + "conflict":                hello, // a file and a folder at once
		hostileDay + "conflict/child":          hello,
		hostileDay + ".trailcover/meta/x.json": hello,
	}
	for key, id := range logs {
		bucket[key] = gzipRecord(t, id)
	}
	return bucket, logs
}

// TestParseKeyHostileKeys: keys that try path tricks or look like
// CloudTrail's in another script are never taken for CloudTrail files
// unless they are exactly CloudTrail's grammar below some prefix.
func TestParseKeyHostileKeys(t *testing.T) {
	fullWidth := "１１１１１１１１１１１１"
	for _, tt := range []struct {
		key     string
		kind    ingest.Kind
		prefix  string
		anomaly string
	}{
		{key: "/" + hostileDay + hostileLogName("LeadingSlash0001"), kind: ingest.KindLog, prefix: "/"},
		{key: "../" + hostileDay + hostileLogName("DotDotPrefix0001"), kind: ingest.KindLog, prefix: "../"},
		{key: "AWSLogs/../" + hostileDay + hostileLogName("DotDotInside01"), anomaly: "file name does not end in _<timestamp>_<16 characters>"},
		{key: "AWSLogs/../" + hostileDay + hostileLogName("DotDotInside0001"), kind: ingest.KindLog, prefix: "AWSLogs/../"},
		{key: hostileDay + "..", anomaly: "file name does not end in .json.gz"},
		{key: hostileDay + "../../../../../../../../etc/passwd"},
		{key: hostileDay + hostileLogName("ValidLog\u202eFile01"), anomaly: "file name does not end in _<timestamp>_<16 characters>"},
		{key: hostileDay + hostileLogName("ValidLog\u202eFile0"), anomaly: "unique string is not alphanumeric"},
		{key: "AWSLogs/" + fullWidth + "/CloudTrail/us-east-1/2024/01/01/" + fullWidth + "_CloudTrail_us-east-1_20240101T0005Z_FullWidthDigits1.json.gz", anomaly: "account folder is not a 12-digit account ID"},
		{key: "AWSLogs/111111111111/CloudTrail/us-e\u0301ast-1/2024/01/01/111111111111_CloudTrail_us-e\u0301ast-1_20240101T0005Z_CombiningMarks01.json.gz", anomaly: "region folder is not a region name"},
		{key: "AWSLogs/111111111111/CloudTrail/us-east-1/２024/01/01/" + hostileLogName("FullWidthYear001"), anomaly: "date folders are not YYYY/MM/DD"},
		{key: hostileDay + hostileLogName("PlainLogFile0001") + "/", kind: ingest.KindOther},
		{key: hostileDay + "111111111111_CloudTrail_us-east-1_20240101T0005Z_NulInName\x00000001.json.gz", anomaly: "unique string is not alphanumeric"},
	} {
		loc := ingest.ParseKey(tt.key)
		if loc.Kind != tt.kind || loc.Prefix != tt.prefix || loc.Anomaly != tt.anomaly {
			t.Errorf("ParseKey(%q) = kind %v, prefix %q, anomaly %q; want %v, %q, %q", tt.key, loc.Kind, loc.Prefix, loc.Anomaly, tt.kind, tt.prefix, tt.anomaly)
		}
		if loc.Kind != ingest.KindOther && loc.ObjectKey() != tt.key {
			t.Errorf("ObjectKey() = %q, want %q", loc.ObjectKey(), tt.key)
		}
	}
}

// scanKeys scans src and returns what it made of each key.
func scanKeys(t *testing.T, src ingest.Source) map[string]*ingest.Result {
	t.Helper()
	got := map[string]*ingest.Result{}
	_, err := ingest.Scan(t.Context(), src, ingest.ScanOptions{Workers: 4}, func(r *ingest.Result) error {
		if _, dup := got[r.Object.Key]; dup {
			t.Errorf("%q delivered twice", r.Object.Key)
		}
		got[r.Object.Key] = r
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", src, err)
	}
	return got
}

// TestScanHostileKeys: the scan lists every key below a CloudTrail day
// folder and at the top of the bucket, whatever it holds, reads the log
// files among them (below prefixes "/", "//", "../" and a 1,024-byte key
// too), and never opens a path outside the source.
func TestScanHostileKeys(t *testing.T) {
	bucket, logs := hostileBucket(t)
	got := scanKeys(t, bucket)
	want := slices.Collect(maps.Keys(bucket))
	// "AWSLogs/../x" is below AWSLogs/ but in no account folder: the scan
	// does not enter ".." (nor any folder that is not an account).
	want = slices.DeleteFunc(want, func(k string) bool { return k == "AWSLogs/../x" })
	slices.Sort(want)
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Errorf("scan listed\n%q\nwant\n%q", keys, want)
	}
	for key, r := range got {
		id, isLog := logs[key]
		switch {
		case r.Err != nil:
			t.Errorf("%q: %v", key, r.Err)
		case isLog && (r.Location.Kind != ingest.KindLog || len(r.Records) != 1 || r.Records[0].EventID != id):
			t.Errorf("%q: kind %v, %d records; want a log file with record %s", key, r.Location.Kind, len(r.Records), id)
		case !isLog && r.Location.Kind != ingest.KindOther:
			t.Errorf("%q: kind %v, want other", key, r.Location.Kind)
		}
	}
}

// TestAcquireHostileKeys copies the hostile bucket: every listed object
// is in the copy, at its key when that is a path the file system can
// hold, else below the state folder under the hash of its key; nothing is
// written outside DIR; the copy reads back as an archive.
func TestAcquireHostileKeys(t *testing.T) {
	bucket, logs := hostileBucket(t)
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "sentinel"), []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "copy")
	before := treeSizes(t, parent, dir)
	for run := range 2 {
		stats, err := ingest.Acquire(t.Context(), bucket, dir, ingest.AcquireOptions{Scan: ingest.ScanOptions{Workers: 4}, Bucket: "hostile"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := len(bucket) - 1 // all but AWSLogs/../x
		if stats.Failed != 0 || stats.Listed != want {
			t.Errorf("run %d: %+v; want %d listed, none failed", run, stats, want)
		}
		// The second run finds everything in place, hashed paths included.
		if run == 1 && stats.Skipped != want {
			t.Errorf("run %d: %d skipped as already copied, want %d", run, stats.Skipped, want)
		}
	}
	if after := treeSizes(t, parent, dir); !maps.Equal(before, after) {
		t.Errorf("acquire wrote outside DIR: before %v, after %v", before, after)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(ingest.ManifestFile)))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ingest.ReadManifest(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch {
		case e.Error != "":
			t.Errorf("%q: %s", e.Key, e.Error)
			continue
		case !fs.ValidPath(e.Path):
			t.Errorf("%q stored at %q, not a path inside DIR", e.Key, e.Path)
			continue
		case e.Path != e.Key && !strings.HasPrefix(e.Path, ingest.StateDir+"/objects/"):
			t.Errorf("%q stored at %q, neither its key nor below %s/objects", e.Key, e.Path, ingest.StateDir)
		case e.Path == e.Key && strings.HasPrefix(e.Key, ingest.StateDir):
			t.Errorf("%q stored in the state folder at its own key", e.Key)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if sum := sha256.Sum256(data); err != nil || hex.EncodeToString(sum[:]) != e.SHA256 || !bytes.Equal(data, bucket[e.Key]) {
			t.Errorf("%q at %q: %v, or not the object's bytes", e.Key, e.Path, err)
		}
	}
	// The copy reads back as the bucket does: what a file system can hold
	// at its key is there (of "k" and "k/child" the folder wins, so the
	// object named "AWSLogs" cannot push the log files aside), and the
	// manifest gives the rest their keys.
	src, err := ingest.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := scanKeys(t, src)
	want := slices.Sorted(maps.Keys(scanKeys(t, bucket)))
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
		t.Errorf("the copy lists\n%q\nthe bucket\n%q", keys, want)
	}
	for key, r := range got {
		if r.Err != nil {
			t.Errorf("%q in the copy: %v", key, r.Err)
		}
	}
	for key, r := range got {
		if id, ok := logs[key]; ok && (len(r.Records) != 1 || r.Records[0].EventID != id) {
			t.Errorf("%q in the copy: %d records, %v; want record %s", key, len(r.Records), r.Err, id)
		}
	}
}

// treeSizes maps every path below root, except below skip, to its size.
func treeSizes(t *testing.T, root, skip string) map[string]int64 {
	t.Helper()
	tree := map[string]int64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return fs.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		tree[p] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
