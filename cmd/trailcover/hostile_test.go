package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/report"
)

var updateHostile = flag.Bool("update-hostile", false, "rewrite testdata/hostile from hostileCorpus")

// hostileDir is the committed bad-input corpus: a bucket copy whose
// objects are what an attacker, a broken copy tool or a failing disk
// leaves in a CloudTrail archive.
var hostileDir = filepath.Join("..", "..", "testdata", "hostile")

// The corpus's account, bucket and day.
const (
	hostileAccount = "111111111111"
	hostileBucket  = "trailcover-hostile"
	hostileTrail   = "hostile-trail"
)

// hostileObject is one object of the corpus: its key, how its bytes are
// made, and what `trailcover analyze` must make of it.
type hostileObject struct {
	key  string
	what string // what the object is, for the README
	data func() []byte

	// listed is false for objects the scan never lists (outside every
	// folder CloudTrail writes).
	listed bool
	// unreadable: counted in objects.unreadable, with an unreadable-object
	// finding naming the key.
	unreadable bool
	// errorHas is a fragment of the unreadable-object finding's detail.
	errorHas string
	// findings are the other finding kinds that name the object.
	findings []string
	// records are eventIDs that must reach the events table; absent must
	// not.
	records, absent []string
	// outcome is what analyze makes of it, for the README.
	outcome string
}

func logKey(region, hhmm, unique string) string {
	return "AWSLogs/" + hostileAccount + "/CloudTrail/" + region + "/2024/01/01/" +
		hostileAccount + "_CloudTrail_" + region + "_20240101T" + hhmm + "Z_" + unique + ".json.gz"
}

func digestKey(region, hhmmss string) string {
	return "AWSLogs/" + hostileAccount + "/CloudTrail-Digest/" + region + "/2024/01/01/" +
		hostileAccount + "_CloudTrail-Digest_" + region + "_" + hostileTrail + "_" + region + "_20240101T" + hhmmss + "Z.json.gz"
}

// ctRecord is a plausible CloudTrail management event. extra, if not
// empty, is spliced in as more members.
func ctRecord(id, region, minute string, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAHOSTILEEXAMPLE01","arn":"arn:aws:iam::` + hostileAccount + `:user/alice","accountId":"` + hostileAccount + `","accessKeyId":"AKIAHOSTILEEXAMPLE01","userName":"alice"},` +
		`"eventTime":"2024-01-01T` + minute + `:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"` + region + `",` +
		`"sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,` +
		`"requestID":"req-` + id + `","eventID":"` + id + `","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,` +
		`"recipientAccountId":"` + hostileAccount + `","eventCategory":"Management"` + extra + `}`
}

func records(recs ...string) string { return `{"Records":[` + strings.Join(recs, ",") + `]}` }

// gzipped compresses data as one gzip member with an empty header (no
// name, no time), so that the corpus is reproducible.
func gzipped(data ...[]byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		panic(err)
	}
	for _, d := range data {
		zw.Write(d)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func gzipString(s string) func() []byte { return func() []byte { return gzipped([]byte(s)) } }

// gzipRepeat returns the gzip of head, mib MiB of fill and tail without
// compressing every MiB: deflate blocks that encode a MiB of fill after a
// window of fill decode the same wherever they stand, so one such run of
// blocks is repeated. Compressing a GiB takes a minute under the race
// detector; this takes a CRC.
func gzipRepeat(head []byte, fill byte, mib int, tail []byte) []byte {
	chunk := bytes.Repeat([]byte{fill}, 1<<20)
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	fw.Write(head)
	fw.Write(chunk)
	fw.Flush()
	first := deflated.Len()
	fw.Write(chunk)
	fw.Flush()
	again := slices.Clone(deflated.Bytes()[first:])
	for range mib - 2 {
		deflated.Write(again)
	}
	// A stream of its own, starting on the byte boundary Flush left,
	// ends the data with the final block.
	fe, _ := flate.NewWriter(&deflated, flate.BestCompression)
	fe.Write(tail)
	fe.Close()

	crc := crc32.Update(0, crc32.IEEETable, head)
	for range mib {
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	crc = crc32.Update(crc, crc32.IEEETable, tail)
	size := uint32(len(head) + mib<<20 + len(tail))
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff}
	out = append(out, deflated.Bytes()...)
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, size)
}

// The sizes of the two big objects, chosen to pass the decoder's limits
// (ingest.DefaultMaxDecompressed, ingest.DefaultMaxRecord) while staying
// small compressed.
const (
	bombSize       = 1100 << 20 // 1.07 GiB of spaces, 1.1 MB compressed
	hugeRecordSize = 100 << 20  // one 100 MiB string, 100 KB compressed
	deepNesting    = 100_000
)

// hostileCorpus is every object of testdata/hostile. Times in key names
// keep objects apart; keys in us-east-1 have no digest, so what is found
// there comes from reading the bytes alone. us-west-2 has a digest that
// lists its log files, to show what integrity checking adds.
func hostileCorpus() []hostileObject {
	valid1 := records(ctRecord("valid-1-a", "us-east-1", "00:01", ""), ctRecord("valid-1-b", "us-east-1", "00:02", ""), ctRecord("valid-1-c", "us-east-1", "00:03", ""))
	valid2 := records(ctRecord("valid-2-a", "us-east-1", "00:06", ""), ctRecord("valid-2-b", "us-east-1", "00:07", ""))
	oneRecord := func(id, region, minute string) string { return records(ctRecord(id, region, minute, "")) }

	// us-west-2: three log files and the digest that lists them.
	west := []struct {
		key       string
		plain     string // the first member's decompressed bytes
		data      []byte
		genuineID string
	}{
		{key: logKey("us-west-2", "0005", "ValidLogFile0003"), plain: oneRecord("valid-3-a", "us-west-2", "00:04")},
		{key: logKey("us-west-2", "0010", "MultiMemberGzip2"), plain: oneRecord("multimember-2-genuine", "us-west-2", "00:09")},
		{key: logKey("us-west-2", "0015", "TrailingGarbage2"), plain: oneRecord("trailing-2-genuine", "us-west-2", "00:14")},
	}
	west[0].data = gzipped([]byte(west[0].plain))
	west[1].data = append(gzipped([]byte(west[1].plain)), gzipped([]byte(oneRecord("multimember-2-injected", "us-west-2", "00:09")))...)
	west[2].data = append(gzipped([]byte(west[2].plain)), []byte("\nGARBAGE appended after the gzip member\x00\xff\xfe")...)
	westDigest := func() []byte {
		var files []string
		for _, w := range west {
			sum := sha256.Sum256([]byte(w.plain))
			files = append(files, fmt.Sprintf(`{"s3Bucket":%q,"s3Object":%q,"hashValue":%q,"hashAlgorithm":"SHA-256","newestEventTime":"2024-01-01T00:14:00Z","oldestEventTime":"2024-01-01T00:04:00Z"}`,
				hostileBucket, w.key, hex.EncodeToString(sum[:])))
		}
		return gzipped([]byte(`{"awsAccountId":"` + hostileAccount + `","digestStartTime":"2024-01-01T00:00:00Z","digestEndTime":"2024-01-01T01:00:00Z",` +
			`"digestS3Bucket":"` + hostileBucket + `","digestS3Object":"` + digestKey("us-west-2", "010000") + `",` +
			`"digestPublicKeyFingerprint":"00000000000000000000000000000000","digestSignatureAlgorithm":"SHA256withRSA",` +
			`"newestEventTime":"2024-01-01T00:14:00Z","oldestEventTime":"2024-01-01T00:04:00Z",` +
			`"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,` +
			`"logFiles":[` + strings.Join(files, ",") + `]}`))
	}

	validGzip := gzipped([]byte(valid1))
	// The broken copies hold records of their own, so that what reaches
	// the events table from each can be told apart.
	threeRecords := func(prefix string) []byte {
		return gzipped([]byte(records(ctRecord(prefix+"-a", "us-east-1", "00:58", ""), ctRecord(prefix+"-b", "us-east-1", "00:58", ""), ctRecord(prefix+"-c", "us-east-1", "00:58", ""))))
	}
	fullWidth := "１１１１１１１１１１１１" // U+FF11, not ASCII digits

	return []hostileObject{
		{
			key: logKey("us-east-1", "0005", "ValidLogFile0001"), what: "a valid log file, three records",
			data: func() []byte { return validGzip }, listed: true,
			records: []string{"valid-1-a", "valid-1-b", "valid-1-c"}, outcome: "read: three records",
		},
		{
			key: logKey("us-east-1", "0010", "ValidLogFile0002"), what: "a valid log file, two records",
			data: gzipString(valid2), listed: true,
			records: []string{"valid-2-a", "valid-2-b"}, outcome: "read: two records",
		},
		{
			key: logKey("us-east-1", "0015", "PlainJsonNoGzip1"), what: "a valid log file stored without gzip (as a copy made with gunzip, or an HTTP layer that honoured Content-Encoding, leaves it)",
			data: func() []byte { return []byte(oneRecord("plain-json", "us-east-1", "00:12")) }, listed: true,
			records: []string{"plain-json"}, outcome: "read: one record (digests hash the decompressed bytes, so an uncompressed copy still verifies)",
		},
		{
			key: logKey("us-east-1", "0100", "TruncatedGzip001"), what: "the first half of a valid gzip log file",
			data: func() []byte { b := threeRecords("truncated"); return b[:len(b)/2] }, listed: true,
			unreadable: true, errorHas: "truncated: unexpected EOF", absent: []string{"truncated-a", "truncated-b", "truncated-c"},
			outcome: "unreadable-object: truncated: unexpected EOF",
		},
		{
			key: logKey("us-east-1", "0105", "CorruptDeflate01"), what: "a valid gzip log file with bytes of its deflate stream overwritten",
			data: func() []byte {
				b := threeRecords("corrupt")
				for i := 20; i < 40; i++ {
					b[i] = 0xff
				}
				return b
			}, listed: true,
			unreadable: true, errorHas: "flate: corrupt input", absent: []string{"corrupt-a", "corrupt-b", "corrupt-c"},
			outcome: "unreadable-object: flate: corrupt input",
		},
		{
			key: logKey("us-east-1", "0110", "BadGzipChecksum1"), what: "a valid gzip log file whose CRC-32 trailer is wrong",
			data: func() []byte {
				b := threeRecords("checksum")
				b[len(b)-8] ^= 0xff
				return b
			}, listed: true,
			unreadable: true, errorHas: "gzip checksum mismatch", records: []string{"checksum-a", "checksum-b", "checksum-c"},
			outcome: "unreadable-object: gzip checksum mismatch; the records, decoded before the trailer was checked, reach the events table",
		},
		{
			key: logKey("us-east-1", "0115", "GzipBomb1100MiB0"), what: "a gzip bomb: {\"Records\":[ then 1,100 MiB of spaces, 1.1 MB compressed",
			data: func() []byte {
				return gzipRepeat([]byte(`{"Records":[`), ' ', bombSize>>20, []byte(`]}`))
			}, listed: true,
			unreadable: true, errorHas: "decompressed size over 1073741824 bytes", outcome: "unreadable-object: decompressed size over 1073741824 bytes (limit_reached)",
		},
		{
			key: logKey("us-east-1", "0120", "MultiMemberGzip1"), what: "two gzip members: a valid log file, then a second member that injects a record",
			data: func() []byte {
				return append(gzipped([]byte(oneRecord("multimember-1-genuine", "us-east-1", "01:19"))), gzipped([]byte(oneRecord("multimember-1-injected", "us-east-1", "01:19")))...)
			}, listed: true,
			records: []string{"multimember-1-genuine"}, absent: []string{"multimember-1-injected"}, findings: []string{"log-file-modified"},
			outcome: "first member read, the injected record never; log-file-modified: no digest lists it, but bytes follow its gzip member, which CloudTrail never writes",
		},
		{
			key: logKey("us-east-1", "0125", "TrailingGarbage1"), what: "a valid gzip log file followed by bytes that are not gzip",
			data: func() []byte {
				return append(gzipped([]byte(oneRecord("trailing-1-genuine", "us-east-1", "01:24"))), []byte("\nGARBAGE appended after the gzip member\x00\xff\xfe")...)
			}, listed: true,
			records: []string{"trailing-1-genuine"}, findings: []string{"log-file-modified"},
			outcome: "read; log-file-modified: bytes follow its gzip member",
		},
		{
			key: logKey("us-east-1", "0130", "NotCloudTrail001"), what: "JSON that is not CloudTrail: an AWS Config snapshot",
			data:   gzipString(`{"fileVersion":"1.0","configSnapshotId":"x","configurationItems":[{"resourceType":"AWS::S3::Bucket"}]}`),
			listed: true, unreadable: true, errorHas: "no Records array", outcome: "unreadable-object: not a CloudTrail log: no Records array",
		},
		{
			key: logKey("us-east-1", "0135", "DigestNotALog001"), what: "a digest file where a log file should be",
			data:   func() []byte { return westDigest() },
			listed: true, unreadable: true, errorHas: "no Records array", outcome: "unreadable-object: not a CloudTrail log: no Records array",
		},
		{
			key: logKey("us-east-1", "0140", "HugeRecord100MB0"), what: "one record holding a 100 MiB string, 100 KB compressed",
			data: func() []byte {
				return gzipRepeat([]byte(`{"Records":[`+ctRecord("huge-before", "us-east-1", "01:39", "")+`,{"eventID":"huge-record","userAgent":"`), 'A', hugeRecordSize>>20,
					[]byte(`"},`+ctRecord("huge-after", "us-east-1", "01:39", "")+`]}`))
			}, listed: true,
			unreadable: true, errorHas: "record larger than 8388608 bytes", records: []string{"huge-before"}, absent: []string{"huge-record", "huge-after"},
			outcome: "unreadable-object: record larger than 8388608 bytes (limit_reached); the record before it is read, none after",
		},
		{
			key: logKey("us-east-1", "0145", "DeepNesting100k0"), what: "a record whose requestParameters nest 100,000 arrays deep",
			data:   gzipString(`{"Records":[{"eventID":"deep","requestParameters":` + strings.Repeat("[", deepNesting) + strings.Repeat("]", deepNesting) + `}]}`),
			listed: true, unreadable: true, errorHas: "nesting deeper than", outcome: "unreadable-object: nesting deeper than 512",
		},
		{
			key: logKey("us-east-1", "0150", "WrongTypes000001"), what: "records with fields of the wrong type (eventTime a number, readOnly \"maybe\", userIdentity a string), between two good ones",
			data: gzipString(records(
				ctRecord("wrongtypes-good-1", "us-east-1", "01:49", ""),
				`{"eventID":"wrongtypes-eventtime","eventTime":1704070200,"eventName":"X"}`,
				`{"eventID":"wrongtypes-readonly","eventTime":"2024-01-01T01:49:00Z","readOnly":"maybe"}`,
				`{"eventID":"wrongtypes-identity","eventTime":"2024-01-01T01:49:00Z","userIdentity":"root"}`,
				ctRecord("wrongtypes-good-2", "us-east-1", "01:49", ""),
			)),
			listed: true, unreadable: true, errorHas: "3 of 5 records unreadable",
			records: []string{"wrongtypes-good-1", "wrongtypes-good-2"}, absent: []string{"wrongtypes-eventtime", "wrongtypes-readonly", "wrongtypes-identity"},
			outcome: "unreadable-object: 3 of 5 records unreadable; the two good records are read",
		},
		{
			key: logKey("us-east-1", "0155", "RecordsIsObject1"), what: `"Records" is an object, not an array`,
			data:   gzipString(`{"Records":{"eventID":"records-object","eventName":"X"}}`),
			listed: true, unreadable: true, errorHas: "to open the Records array", outcome: "unreadable-object: want '[' to open the Records array, got '{'",
		},
		{
			key: logKey("us-east-1", "0200", "RecordsNotObjs01"), what: `"Records" holds numbers, strings and null`,
			data:   gzipString(`{"Records":[1,"two",null]}`),
			listed: true, unreadable: true, errorHas: "not a JSON object", outcome: "unreadable-object: record 0 is not a JSON object",
		},
		{
			key: logKey("us-east-1", "0205", "DuplicateRecKey1"), what: `two "Records" members: the first with a harmless record, the second with another`,
			data:   gzipString(`{"Records":[` + ctRecord("duplicate-first", "us-east-1", "02:04", "") + `],"Records":[` + ctRecord("duplicate-second", "us-east-1", "02:04", "") + `]}`),
			listed: true, unreadable: true, errorHas: `"Records" appears twice`, records: []string{"duplicate-first"}, absent: []string{"duplicate-second"},
			outcome: `unreadable-object: "Records" appears twice (JSON readers differ on which one holds the records); the first member's record is read`,
		},
		{
			key: logKey("us-east-1", "0210", "InvalidUtf8Text1"), what: "strings holding invalid UTF-8 bytes, \\u0000 escapes, lone surrogates and bidi overrides",
			data: gzipString(records(ctRecord("utf8-text", "us-east-1", "02:09",
				`"errorMessage":"bad `+"\xff\xfe"+` bytes \u0000 nul \ud800 lone surrogate \u202e evil.exe","sharedEventID":"`+"\xc3\x28"+`"`))),
			listed: true, records: []string{"utf8-text"},
			outcome: "read: one record (invalid bytes become U+FFFD, as encoding/json does)",
		},
		{
			key: logKey("us-east-1", "0215", "RawNulInString01"), what: "a record with a raw NUL byte inside a string (JSON forbids control characters there), between two good ones",
			data: gzipString(records(
				ctRecord("rawnul-good-1", "us-east-1", "02:14", ""),
				`{"eventID":"rawnul-bad","eventTime":"2024-01-01T02:14:00Z","userAgent":"a`+"\x00"+`b"}`,
				ctRecord("rawnul-good-2", "us-east-1", "02:14", ""),
			)),
			listed: true, unreadable: true, errorHas: "1 of 3 records unreadable", records: []string{"rawnul-good-1", "rawnul-good-2"}, absent: []string{"rawnul-bad"},
			outcome: "unreadable-object: 1 of 3 records unreadable (unexpected NUL); the two good records are read",
		},
		{
			key: logKey("us-east-1", "0220", "EmptyJsonObject1"), what: "an empty JSON object, {}",
			data:   gzipString(`{}`),
			listed: true, unreadable: true, errorHas: "no Records array", outcome: "unreadable-object: not a CloudTrail log: no Records array",
		},
		{
			key: logKey("us-east-1", "0225", "ZeroByteObject01"), what: "an empty object (0 bytes)",
			data:   func() []byte { return nil },
			listed: true, unreadable: true, errorHas: "empty object", outcome: "unreadable-object: empty object",
		},
		{
			key: logKey("us-east-1", "0230", "ValidLog\u202eFile0005"), what: "a valid log file whose name holds a right-to-left override (U+202E)",
			data:   gzipString(oneRecord("rtl-name", "us-east-1", "02:29")),
			listed: true, absent: []string{"rtl-name"},
			outcome: "listed as other (the name breaks CloudTrail's grammar), never parsed; no finding",
		},
		{
			key:  "AWSLogs/" + hostileAccount + "/CloudTrail/us-e\u0301ast-1/2024/01/01/" + hostileAccount + "_CloudTrail_us-e\u0301ast-1_20240101T0005Z_CombiningMarks01.json.gz",
			what: "a valid log file in a region folder spelt with a combining accent (us-e\u0301ast-1)",
			data: gzipString(oneRecord("combining-region", "us-east-1", "00:04")), listed: true, absent: []string{"combining-region"},
			outcome: "listed as other, never parsed; no finding",
		},
		{
			key:  "AWSLogs/" + fullWidth + "/CloudTrail/us-east-1/2024/01/01/" + fullWidth + "_CloudTrail_us-east-1_20240101T0005Z_FullWidthDigits1.json.gz",
			what: "a valid log file below an account folder of full-width digits (U+FF11)",
			data: gzipString(oneRecord("fullwidth-account", "us-east-1", "00:04")), listed: false, absent: []string{"fullwidth-account"},
			outcome: "never listed: the folder is not an account ID, so the scan does not enter it",
		},
		{
			key: digestKey("eu-west-1", "010000"), what: "a log file where a digest should be",
			data:   gzipString(valid2),
			listed: true, unreadable: true, errorHas: "digest: missing", findings: []string{"digest-invalid"},
			outcome: "unreadable-object (digest: missing members) and digest-invalid",
		},
		{
			key: west[0].key, what: "a valid log file that the us-west-2 digest lists",
			data: func() []byte { return west[0].data }, listed: true, records: []string{"valid-3-a"},
			outcome: "read; the digest is unsigned, so unverified",
		},
		{
			key: west[1].key, what: "two gzip members, the first listed in the us-west-2 digest with its true hash, the second injecting a record",
			data: func() []byte { return west[1].data }, listed: true,
			records: []string{"multimember-2-genuine"}, absent: []string{"multimember-2-injected"}, findings: []string{"log-file-modified"},
			outcome: "log-file-modified: bytes follow its gzip member",
		},
		{
			key: west[2].key, what: "a valid gzip log file listed in the us-west-2 digest, followed by garbage",
			data: func() []byte { return west[2].data }, listed: true,
			records: []string{"trailing-2-genuine"}, findings: []string{"log-file-modified"},
			outcome: "log-file-modified: bytes follow its gzip member",
		},
		{
			key: digestKey("us-west-2", "010000"), what: "an unsigned digest listing the three us-west-2 log files with the hashes of their first members",
			data: westDigest, listed: true, findings: []string{"digest-invalid"},
			outcome: "read; digest-invalid (info): cannot be verified, no signature",
		},
	}
}

// writeHostileCorpus writes the corpus and its README below dir.
func writeHostileCorpus(dir string) error {
	var readme strings.Builder
	readme.WriteString(hostileReadmeHead)
	for _, o := range hostileCorpus() {
		name := filepath.Join(dir, filepath.FromSlash(o.key))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, o.data(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&readme, "| `%s` | %s | %s |\n", readmeKey(o.key), o.what, o.outcome)
	}
	readme.WriteString(hostileReadmeTail)
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme.String()), 0o644)
}

// readmeKey shortens a key for the README's table and makes invisible
// characters visible.
func readmeKey(key string) string {
	key = strings.TrimPrefix(key, "AWSLogs/")
	key = strings.ReplaceAll(key, "\u202e", "<U+202E>")
	key = strings.ReplaceAll(key, "\u0301", "<U+0301>")
	return strings.ReplaceAll(key, "|", `\|`)
}

const hostileReadmeHead = `# Hostile inputs

A bucket copy (the layout ` + "`trailcover analyze DIR`" + ` reads) whose objects are what an
attacker, a broken copy tool or a failing disk leaves in a CloudTrail archive. Written by
` + "`go test ./cmd/trailcover/ -run TestHostileCorpus -update-hostile`" + ` from ` + "`hostileCorpus`" + ` in
` + "`cmd/trailcover/hostile_test.go`" + `; do not edit by hand. ` + "`TestHostileArchive`" + ` analyzes it and
holds every object to the outcome below; ` + "`TestHostileKeys`" + ` and the other S3 tests in the
same file add what cannot live on disk (keys with ` + "`..`" + `, a leading slash, 1,024 bytes,
2,500 keys in one folder, missing buckets, denied access).

Account 111111111111, 2024-01-01. us-east-1 has no digests, so what is found there comes from
the bytes alone; us-west-2 has an (unsigned) digest listing its log files, to show what
integrity checking adds; eu-west-1 has only a digest folder.

| key below AWSLogs/ | what | analyze makes of it |
| --- | --- | --- |
`

const hostileReadmeTail = `
Every run over this folder completes (exit 3: the findings are high), counts the
unreadable objects in ` + "`objects.unreadable`" + `, names each in its finding, and keeps the heap
under 400 MB while it decompresses 1.1 GiB and meets a 100 MiB record.

Non-ASCII names: git stores them as bytes; a checkout on a file system that normalizes
Unicode (macOS) may spell the combining-accent folder differently, which changes nothing
the tests check.
`

// TestHostileCorpus checks that testdata/hostile is what hostileCorpus
// writes; with -update-hostile it rewrites it.
func TestHostileCorpus(t *testing.T) {
	if *updateHostile {
		if err := os.RemoveAll(hostileDir); err != nil {
			t.Fatal(err)
		}
		if err := writeHostileCorpus(hostileDir); err != nil {
			t.Fatal(err)
		}
	}
	if testing.Short() {
		t.Skip("regenerating the corpus compresses 1.2 GB")
	}
	fresh := t.TempDir()
	if err := writeHostileCorpus(fresh); err != nil {
		t.Fatal(err)
	}
	want := readTree(t, fresh)
	got := readTree(t, hostileDir)
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("testdata/hostile/%s missing; run go test ./cmd/trailcover/ -run TestHostileCorpus -update-hostile", name)
		case g != w:
			t.Errorf("testdata/hostile/%s differs from what the generator writes; run with -update-hostile", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("testdata/hostile/%s is not the generator's", name)
		}
	}
}

// readTree maps every file below dir to the SHA-256 of its content.
func readTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	files := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = sha256.Sum256(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestHostileArchive analyzes testdata/hostile from its directory: the run
// completes, each broken CloudTrail object is counted unreadable and named
// in its finding, the good records all arrive, the injected ones never do,
// and the heap stays bounded while the run decompresses a gzip bomb and
// meets a 100 MiB record.
//
// The same body runs over the directory and over a real S3 server the
// corpus was uploaded to.
func TestHostileArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 1.1 GiB")
	}
	t.Run("dir", func(t *testing.T) {
		checkHostile(t, analyzeHostile(t, hostileDir), hostileCorpus())
	})
	t.Run("s3", func(t *testing.T) {
		// The two giants test the decoder's limits, which the directory
		// run has shown; over S3 they would only decompress 1.2 GB again
		// (half a minute under the race detector).
		srv := s3test.StartVersity(t)
		useServer(t, srv)
		srv.CreateBucket(t, hostileBucket)
		c := srv.Client(t)
		if err := s3test.UploadDir(t.Context(), c, hostileBucket, hostileDir); err != nil {
			t.Fatal(err)
		}
		var objs []hostileObject
		for _, o := range hostileCorpus() {
			if strings.Contains(o.key, "GzipBomb") || strings.Contains(o.key, "HugeRecord") {
				if _, err := c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String(o.key)}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			objs = append(objs, o)
		}
		checkHostile(t, analyzeHostile(t, "s3://"+hostileBucket, "--endpoint-url", srv.Endpoint), objs)
	})
}

// useServer points the standard AWS credential chain, which trailcover's
// S3 source uses, at srv.
func useServer(t *testing.T, srv *s3test.Server) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", srv.Region)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// No CloudTrail endpoint: asking for public keys fails at once.
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", noCloudTrail)
}

// noCloudTrail is a CloudTrail endpoint that refuses connections.
const noCloudTrail = "http://127.0.0.1:1"

// putObjects uploads objects, limit at once (1: in order), and returns
// the keys the server refused, with why.
func putObjects(t *testing.T, srv *s3test.Server, bucket string, objects []hostileKey, limit int) map[string]error {
	t.Helper()
	c := srv.Client(t)
	var mu sync.Mutex
	refused := map[string]error{}
	var g errgroup.Group
	g.SetLimit(limit)
	for _, o := range objects {
		g.Go(func() error {
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(o.key),
				Body: bytes.NewReader(o.body), ContentLength: aws.Int64(int64(len(o.body))),
			})
			if err != nil {
				mu.Lock()
				refused[o.key] = err
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return refused
}

// listKeys lists every key of bucket as the server stores it.
func listKeys(t *testing.T, srv *s3test.Server, bucket string) []string {
	t.Helper()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(srv.Client(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	return keys
}

// hostileDay is the day folder the hostile keys sit in.
const hostileDay = "AWSLogs/" + hostileAccount + "/CloudTrail/us-east-1/2024/01/01/"

// hostileKey is an object to store, in order.
type hostileKey struct {
	key  string
	body []byte
}

// hostileKeys are object keys no file system can hold as they are: path
// traversal, a leading slash, dot and empty segments, a folder marker,
// 1,024 bytes (S3's limit), a segment longer than a file name, a key that
// is also a folder of another, a key named like the copy's state folder.
// Two are valid CloudTrail log files, with the record named in recordOf.
// They are stored in this order: versitygw refuses or rewrites some, and
// which depends on what is already there.
func hostileKeys() (objects []hostileKey, recordOf map[string]string) {
	hello := []byte("not CloudTrail's\n")
	leading := "/" + logKey("us-east-1", "0005", "LeadingSlash0001")
	// A log file below a four-folder prefix, the deepest the scan
	// searches, that makes the key exactly 1,024 bytes.
	tail := logKey("us-east-1", "0010", "LongKey1024Bytes")
	seg := (1024 - len(tail) - 4) / 4
	long := strings.Repeat("p", seg) + "/" + strings.Repeat("q", seg) + "/" + strings.Repeat("r", seg) + "/" + strings.Repeat("s", 1024-len(tail)-3*seg-4) + "/" + tail
	recordOf = map[string]string{leading: "leading-slash", long: "long-key"}
	for _, key := range []string{leading, long} {
		objects = append(objects, hostileKey{key, gzipped([]byte(records(ctRecord(recordOf[key], "us-east-1", "00:04", ""))))})
	}
	for _, key := range []string{
		"AWSLogs/../x",
		ingest.StateDir,
		hostileDay + "..",
		hostileDay + strings.Repeat("../", 8) + "escaped-by-trailcover",
		hostileDay + "./dot",
		hostileDay + "a//b",
		hostileDay + strings.Repeat("z", 300),
		hostileDay + "conflict",
		hostileDay + "conflict/child",
	} {
		objects = append(objects, hostileKey{key, hello})
	}
	// A folder marker, empty as S3 consoles make them (versitygw
	// refuses one with data).
	objects = append(objects, hostileKey{hostileDay + "folder-marker/", nil})
	return objects, recordOf
}

// TestHostileKeys stores keys that cannot exist on disk in S3 (versitygw,
// and gofakes3, which keeps every key as given where versitygw refuses or
// normalizes some), then analyzes the bucket and acquires it: both
// complete, the objects the scan lists are counted, the two log files
// among them are read, and acquire writes nothing outside its DIR.
func TestHostileKeys(t *testing.T) {
	for _, server := range []struct {
		name  string
		start func(testing.TB) *s3test.Server
	}{
		{"versitygw", s3test.StartVersity},
		{"gofakes3", s3test.StartFake},
	} {
		t.Run(server.name, func(t *testing.T) {
			srv := server.start(t)
			useServer(t, srv)
			const bucket = "hostile-keys"
			srv.CreateBucket(t, bucket)
			objects, recordOf := hostileKeys()
			refused := putObjects(t, srv, bucket, objects, 1)
			for _, k := range slices.Sorted(maps.Keys(refused)) {
				t.Logf("%s refuses %q: %v", server.name, shorten(k), refused[k])
			}
			stored := listKeys(t, srv, bucket)
			for _, k := range stored {
				if !slices.ContainsFunc(objects, func(o hostileKey) bool { return o.key == k }) {
					t.Logf("%s stores a key it was not given: %q", server.name, shorten(k))
				}
			}
			// The scan lists the top of the bucket and everything below
			// a day folder; "AWSLogs/../x" lies in neither.
			var visited []string
			logs := 0
			for _, k := range stored {
				if server.name == "gofakes3" && strings.HasPrefix(k, "/") {
					// gofakes3 answers a delimiter listing as if the key
					// had no leading slash, so no scan finds it there
					// (S3 answers "/"; ingest's TestScanHostileKeys
					// covers it with S3's listing rules).
					t.Logf("gofakes3 cannot list %q by folders; not expected", shorten(k))
					continue
				}
				if !strings.Contains(k, "/") || strings.Contains(k, hostileDay) {
					visited = append(visited, k)
					if ingest.ParseKey(k).Kind == ingest.KindLog {
						logs++
					}
				}
			}

			res := analyzeHostile(t, "s3://"+bucket, "--endpoint-url", srv.Endpoint)
			o := res.summary.Objects
			if o.Listed != len(visited) || o.LogFiles != logs || o.Unreadable != 0 || o.Other != len(visited)-logs {
				t.Errorf("objects %+v; want %d listed, %d log files, none unreadable", o, len(visited), logs)
			}
			// The log files' records, by the key the server stores.
			read := map[string]string{}
			for key, id := range recordOf {
				if !slices.Contains(stored, key) {
					key = strings.TrimPrefix(key, "/") // versitygw drops the leading slash
				}
				if !slices.Contains(visited, key) {
					continue
				}
				read[key] = id
				if got := res.events[id]; !slices.Equal(got, []string{key}) {
					t.Errorf("record %s from %q, want from %q", id, got, shorten(key))
				}
			}

			acquireHostileKeys(t, srv, bucket, visited, read)
		})
	}
}

// acquireHostileKeys acquires bucket into a folder and checks that every
// listed object is in the copy, at its key when that is a path, else below
// the state folder, and that nothing was written outside the folder.
func acquireHostileKeys(t *testing.T, srv *s3test.Server, bucket string, visited []string, read map[string]string) {
	t.Helper()
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "sentinel"), []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "copy")
	before := listTree(t, parent, dir)
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"acquire", "--endpoint-url", srv.Endpoint, "s3://" + bucket, dir}, &stdout, &stderr, time.Now)
	if err != nil {
		t.Errorf("acquire: %v\n%s", err, stderr.String())
	}
	if after := listTree(t, parent, dir); !maps.Equal(before, after) {
		t.Errorf("acquire wrote outside DIR: before %v, after %v", before, after)
	}
	f, err := os.Open(filepath.Join(dir, ingest.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := ingest.ReadManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
		if e.Error != "" {
			t.Errorf("%q not copied: %s", shorten(e.Key), e.Error)
			continue
		}
		if !fs.ValidPath(e.Path) {
			t.Errorf("%q stored at %q, not a path inside DIR", shorten(e.Key), e.Path)
			continue
		}
		if e.Path != e.Key && !strings.HasPrefix(e.Path, ingest.StateDir+"/") {
			t.Errorf("%q stored at %q, neither its key nor below %s", shorten(e.Key), e.Path, ingest.StateDir)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if sum := sha256.Sum256(data); err != nil || hex.EncodeToString(sum[:]) != e.SHA256 {
			t.Errorf("%q at %q: %v, or its bytes do not hash to the manifest's", shorten(e.Key), e.Path, err)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, visited) {
		t.Errorf("manifest keys:\n%q\nwant the keys the scan lists:\n%q", keys, visited)
	}
	// The copy is an archive too: the log files whose keys are paths are
	// read from it.
	copied := analyzeHostile(t, dir)
	for key, id := range read {
		if got := copied.events[id]; fs.ValidPath(key) && !slices.Equal(got, []string{key}) {
			t.Errorf("the copy: record %s from %q, want from %q", id, got, shorten(key))
		}
	}
}

// listTree maps every path below root, except below skip, to its size.
func listTree(t *testing.T, root, skip string) map[string]int64 {
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

// shorten keeps messages about 1,024-byte keys readable.
func shorten(key string) string {
	if len(key) > 160 {
		return key[:60] + "…" + key[len(key)-90:]
	}
	return key
}

// TestHostileKeyCount lists and reads 2,500 objects in one day folder:
// three pages of listing (S3 returns at most 1,000 keys a page), the last
// one partial, every object counted once, every record read.
func TestHostileKeyCount(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 2,500 objects")
	}
	const n = 2_500
	srv := s3test.StartVersity(t)
	useServer(t, srv)
	const bucket = "many-keys"
	srv.CreateBucket(t, bucket)
	objects := make([]hostileKey, n)
	for i := range n {
		minute := fmt.Sprintf("%02d%02d", i/60%24, i%60)
		id := fmt.Sprintf("many-%05d", i)
		objects[i] = hostileKey{logKey("us-east-1", minute, fmt.Sprintf("Many%012d", i)), gzipped([]byte(records(ctRecord(id, "us-east-1", minute[:2]+":"+minute[2:], ""))))}
	}
	if refused := putObjects(t, srv, bucket, objects, 32); len(refused) > 0 {
		t.Fatalf("%d uploads failed, e.g. %v", len(refused), slices.Collect(maps.Values(refused))[0])
	}
	res := analyzeHostile(t, "s3://"+bucket, "--endpoint-url", srv.Endpoint)
	o, r := res.summary.Objects, res.summary.Records
	if o.Listed != n || o.LogFiles != n || o.Unreadable != 0 || o.Other != 0 {
		t.Errorf("objects %+v, want %d log files", o, n)
	}
	if r.Total != n || r.Duplicates != 0 || len(res.events) != n {
		t.Errorf("records %+v, %d distinct eventIDs in events; want %d", r, len(res.events), n)
	}
}

// TestHostileBuckets: an empty bucket is a run with nothing in it and a
// warning; a bucket that does not exist and one the credentials may not
// read are errors that name the bucket, before any output is written.
func TestHostileBuckets(t *testing.T) {
	srv := s3test.StartVersity(t)
	useServer(t, srv)
	srv.CreateBucket(t, "empty-bucket")
	denied := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{Forbidden: true})

	for _, tt := range []struct {
		name, endpoint, bucket string
		wantExit               int
		wantStderr             []string
	}{
		{"empty", srv.Endpoint, "empty-bucket", exitError, []string{"no CloudTrail object found", "it is empty"}},
		{"missing", srv.Endpoint, "no-such-bucket", exitError, []string{"no-such-bucket", "not"}},
		{"denied", denied.Endpoint, "empty-bucket", exitError, []string{"empty-bucket", "access denied"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, cmd := range []string{"analyze", "acquire"} {
				out := filepath.Join(t.TempDir(), "out")
				args := []string{cmd, "--endpoint-url", tt.endpoint, "s3://" + tt.bucket, out}
				if cmd == "analyze" {
					args = []string{cmd, "--out", out, "--endpoint-url", tt.endpoint, "s3://" + tt.bucket}
				}
				var stderr bytes.Buffer
				err := run(t.Context(), args, io.Discard, &stderr, func() time.Time { return fixedNow })
				exit := exitCode(err, false, &stderr)
				if exit != tt.wantExit {
					t.Errorf("%s: exit %d (%v), want %d\n%s", cmd, exit, err, tt.wantExit, stderr.String())
				}
				for _, want := range tt.wantStderr {
					if !strings.Contains(strings.ToLower(stderr.String()), strings.ToLower(want)) {
						t.Errorf("%s: stderr does not say %q:\n%s", cmd, want, stderr.String())
					}
				}
				if tt.wantExit == exitError {
					// A bucket that can be read but holds nothing leaves
					// the (empty) output folder, never a report.
					if _, err := os.Stat(out); err == nil && tt.name != "empty" {
						t.Errorf("%s: the failed run created %s", cmd, out)
					}
					if _, err := os.Stat(filepath.Join(out, summaryFile)); err == nil {
						t.Errorf("%s: the failed run wrote %s", cmd, summaryFile)
					}
					t.Logf("%s: %s", cmd, strings.TrimSpace(stderr.String()))
				}
			}
		})
	}
}

// hostileRun is what one analyze run over a hostile archive left.
type hostileRun struct {
	exit    int
	stderr  string
	summary report.Summary
	// events maps eventID to the object keys its rows came from.
	events map[string][]string
	// heapInuse and heapSys are the peaks seen while the run went.
	heapInuse, heapSys uint64
}

// maxHostileHeap bounds the heap of a run over hostile inputs: a bound on
// memory, far above what honest archives take and far below what a bomb
// or a huge record would take if anything slurped them.
const maxHostileHeap = 400 << 20

// analyzeHostile runs `trailcover analyze` over source in-process,
// sampling the heap every few milliseconds, and reads what it wrote.
func analyzeHostile(t *testing.T, source string, args ...string) hostileRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	var stderr bytes.Buffer
	stopWatch := watchHeap()
	err := run(t.Context(), append(append([]string{"analyze", "--out", out}, args...), source), io.Discard, &stderr, func() time.Time { return fixedNow })
	res := hostileRun{exit: exitCode(err, false, io.Discard), stderr: stderr.String()}
	res.heapInuse, res.heapSys = stopWatch()
	t.Logf("analyze %s: exit %d (%v); peak heap in use %d MiB, heap from the OS %d MiB", source, res.exit, err, res.heapInuse>>20, res.heapSys>>20)
	if res.exit != exitOK && res.exit != exitFindings {
		t.Fatalf("analyze %s: exit %d (%v), want 0 or 3: the run must complete\n%s", source, res.exit, err, res.stderr)
	}
	if res.heapInuse > maxHostileHeap || res.heapSys > maxHostileHeap {
		t.Errorf("peak heap %d MiB in use, %d MiB from the OS; want under %d MiB", res.heapInuse>>20, res.heapSys>>20, maxHostileHeap>>20)
	}
	data, err := os.ReadFile(filepath.Join(out, summaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res.summary); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	res.events = readEventIDs(t, filepath.Join(out, eventsDir))
	return res
}

// watchHeap samples the heap until the function it returns is called,
// which returns the peaks of HeapInuse and of the heap held from the OS
// (HeapSys less HeapReleased: HeapSys alone never falls, so it would count
// what earlier tests in the process once needed).
func watchHeap() func() (inuse, sys uint64) {
	debug.FreeOSMemory()
	stop := make(chan struct{})
	done := make(chan [2]uint64)
	go func() {
		var peak [2]uint64
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak[0], peak[1] = max(peak[0], ms.HeapInuse), max(peak[1], ms.HeapSys-ms.HeapReleased)
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		p := <-done
		return p[0], p[1]
	}
}

// readEventIDs reads every events Parquet file below dir.
func readEventIDs(t *testing.T, dir string) map[string][]string {
	t.Helper()
	ids := map[string][]string{}
	eachEventRow(t, dir, func(p string, row *report.EventRow) {
		id := ""
		if row.EventID != nil {
			id = *row.EventID
		}
		ids[id] = append(ids[id], row.ObjectKey)
		if field, ok := invalidUTF8(*row); !ok {
			t.Errorf("%s: event %q: %s is not valid UTF-8, which DuckDB refuses in a string column", p, id, field)
		}
	})
	return ids
}

// eachEventRow calls fn with every row of every events Parquet file below
// dir, and the file's path.
func eachEventRow(t *testing.T, dir string, fn func(path string, row *report.EventRow)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		r := parquet.NewGenericReader[report.EventRow](f)
		defer r.Close()
		rows := make([]report.EventRow, 256)
		for {
			n, err := r.Read(rows)
			for i := range rows[:n] {
				fn(p, &rows[i])
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// findingKeys returns the keys of the objects a finding is about, as its
// evidence names them: object_key, else the digest or digests.
func findingKeys(f report.SummaryFinding) []string {
	if k, ok := f.Evidence["object_key"].(string); ok {
		return []string{k}
	}
	var keys []string
	if k, ok := f.Evidence["digest_key"].(string); ok {
		keys = append(keys, k)
	}
	if list, ok := f.Evidence["digest_keys"].([]any); ok {
		for _, k := range list {
			if k, ok := k.(string); ok {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// invalidUTF8 returns the first string field of row that is not valid
// UTF-8.
func invalidUTF8(row report.EventRow) (string, bool) {
	v := reflect.ValueOf(row)
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			f = f.Elem()
		}
		if f.Kind() == reflect.String && !utf8.ValidString(f.String()) {
			return v.Type().Field(i).Name, false
		}
	}
	return "", true
}

// checkHostile holds a run to what each object of objs must give, keys
// prefixed with prefix.
func checkHostile(t *testing.T, res hostileRun, objs []hostileObject) {
	t.Helper()
	s := res.summary
	// Which findings name which object.
	named := map[string][]report.SummaryFinding{}
	for _, f := range s.Findings {
		for _, k := range findingKeys(f) {
			named[k] = append(named[k], f)
		}
	}
	// The README at the top is an object too, of no CloudTrail kind.
	wantUnreadable, wantListed := 0, 1
	for _, o := range objs {
		if o.listed {
			wantListed++
		}
		var kinds []string
		var unreadable *report.SummaryFinding
		for i, f := range named[o.key] {
			if f.Kind == "unreadable-object" {
				unreadable = &named[o.key][i]
				continue
			}
			kinds = append(kinds, f.Kind)
		}
		slices.Sort(kinds)
		kinds = slices.Compact(kinds)
		name := readmeKey(o.key)
		switch {
		case o.unreadable && unreadable == nil:
			t.Errorf("%s: no unreadable-object finding names it (findings: %v)", name, kinds)
		case o.unreadable:
			wantUnreadable++
			if !strings.Contains(unreadable.Title, o.key) {
				t.Errorf("%s: finding title %q does not name the key", name, unreadable.Title)
			}
			if !strings.Contains(unreadable.Detail, o.errorHas) {
				t.Errorf("%s: detail %q, want it to say %q", name, unreadable.Detail, o.errorHas)
			}
			t.Logf("%s: unreadable-object: %s", name, unreadable.Detail)
		case unreadable != nil:
			t.Errorf("%s: unreadable-object finding %q, want none", name, unreadable.Detail)
		}
		if want := slices.Sorted(slices.Values(o.findings)); !slices.Equal(kinds, want) {
			t.Errorf("%s: findings %v, want %v", name, kinds, want)
		}
		for _, f := range named[o.key] {
			if f.Kind != "unreadable-object" {
				t.Logf("%s: %s (%s): %s", name, f.Kind, f.Severity, f.Detail)
			}
		}
		for _, id := range o.records {
			if keys := res.events[id]; !slices.Equal(keys, []string{o.key}) {
				t.Errorf("%s: record %s in the events table from %q, want once from this object", name, id, keys)
			}
		}
		for _, id := range o.absent {
			if keys, ok := res.events[id]; ok {
				t.Errorf("%s: record %s reached the events table (from %q)", name, id, keys)
			}
		}
	}
	o := s.Objects
	if o.Unreadable != wantUnreadable {
		t.Errorf("objects.unreadable = %d, want %d", o.Unreadable, wantUnreadable)
	}
	if o.Listed != wantListed {
		t.Errorf("objects.listed = %d, want %d", o.Listed, wantListed)
	}
	if sum := o.LogFiles + o.DigestFiles + o.InsightFiles + o.Other; sum != o.Listed {
		t.Errorf("objects: listed %d, but the kinds add up to %d: %+v", o.Listed, sum, o)
	}
	unreadableFindings := 0
	for _, f := range s.Findings {
		if f.Kind == "unreadable-object" {
			unreadableFindings++
		}
	}
	if unreadableFindings != o.Unreadable {
		t.Errorf("%d unreadable-object findings, objects.unreadable = %d", unreadableFindings, o.Unreadable)
	}
}
