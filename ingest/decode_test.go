package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const twoRecords = `{"Records":[{"eventVersion":"1.11","eventTime":"2024-01-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"sa-east-1","readOnly":false,"managementEvent":true,"eventID":"a","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/x","sessionContext":{"attributes":{"mfaAuthenticated":"false"}},"newField":{"x":1}},"requestParameters":{"instanceType":"p4d.24xlarge","nested":[1,{"a":"]"}]},"responseElements":null,"unknownField":[1,2,3]},
 {"eventVersion":"1.0","eventTime":"2014-03-06T21:22:54Z","eventName":"ConsoleLogin","readOnly":"true","sessionCredentialFromConsole":"true","userAgent":"\"quoted\" \\ {[","eventID":"b"}]}
`

func decodeAll(t testing.TB, data []byte, opts DecodeOptions) ([]Record, Body, error) {
	t.Helper()
	var recs []Record
	body, err := DecodeLog(bytes.NewReader(data), opts, func(r *Record) error {
		recs = append(recs, *r)
		return nil
	})
	return recs, body, err
}

func TestDecodeLogGood(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		gzip bool
	}{
		{"gzip", gz(t, twoRecords), true},
		{"plain", []byte(twoRecords), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs, body, err := decodeAll(t, tt.data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 2 {
				t.Fatalf("got %d records, want 2", len(recs))
			}
			if want := sha256.Sum256([]byte(twoRecords)); body.SHA256 != want {
				t.Errorf("SHA256 = %x, want %x", body.SHA256, want)
			}
			if body.Size != int64(len(twoRecords)) || body.Compressed != int64(len(tt.data)) || body.Gzip != tt.gzip || body.Trailing != 0 {
				t.Errorf("body = %+v", body)
			}
			r := recs[0]
			if r.EventName != "RunInstances" || r.AWSRegion != "sa-east-1" || !r.ReadOnly.Set || r.ReadOnly.Value || !r.ManagementEvent.Value {
				t.Errorf("record 0 = %+v", r)
			}
			if r.Time.IsZero() || r.Time.Format("2006-01-02T15:04:05Z") != "2024-01-02T03:04:05Z" {
				t.Errorf("Time = %v", r.Time)
			}
			if string(r.RequestParameters) != `{"instanceType":"p4d.24xlarge","nested":[1,{"a":"]"}]}` {
				t.Errorf("RequestParameters = %s", r.RequestParameters)
			}
			if string(r.ResponseElements) != "null" {
				t.Errorf("ResponseElements = %s, want null", r.ResponseElements)
			}
			if r.UserIdentity.Type != "IAMUser" || !strings.Contains(string(r.UserIdentity.Raw), `"newField"`) || r.UserIdentity.SessionContext.Attributes.MFAAuthenticated != "false" {
				t.Errorf("UserIdentity = %+v", r.UserIdentity)
			}
			r = recs[1]
			if !r.ReadOnly.Value || r.SessionCredentialFromConsole != "true" || r.UserAgent != `"quoted" \ {[` || r.ManagementEvent.Set {
				t.Errorf("record 1 = %+v", r)
			}
		})
	}
}

func TestDecodeLogBad(t *testing.T) {
	good := gz(t, twoRecords)
	tests := []struct {
		name      string
		data      []byte
		opts      DecodeOptions
		wantErr   string // substring; "" means no error
		isTooBig  bool
		records   int
		trailing  bool
		wantNoRec bool
	}{
		{name: "empty", data: nil, wantErr: "empty object"},
		{name: "truncated gzip", data: good[:len(good)/2], wantErr: "truncated"},
		{name: "corrupt gzip", data: corrupt(good), wantErr: "decode"},
		{name: "truncated json", data: gz(t, twoRecords[:len(twoRecords)/2]), wantErr: "unexpected end of input"},
		{name: "not json", data: gz(t, "hello world"), wantErr: "want '{'"},
		{name: "digest, not a log", data: gz(t, `{"awsAccountId":"1","logFiles":[]}`), wantErr: "no Records array"},
		{name: "records not array", data: gz(t, `{"Records":{"a":1}}`), wantErr: "to open the Records array"},
		{name: "records null", data: gz(t, `{"Records":null}`)},
		{name: "empty records", data: gz(t, `{"Records":[]}`)},
		{name: "record not object", data: gz(t, `{"Records":[1]}`), wantErr: "record 0 is not a JSON object"},
		{name: "trailing comma", data: gz(t, `{"Records":[{},]}`), wantErr: "trailing comma", records: 1},
		{name: "missing comma", data: gz(t, `{"Records":[{"a":[1 2]}]}`), wantErr: "want ',' or a closing bracket"},
		{name: "missing colon", data: gz(t, `{"Records":[{"a" 1}]}`), wantErr: "want ':'"},
		{name: "unbalanced", data: gz(t, `{"Records":[{"a":[1}]}`), wantErr: "unbalanced"},
		{name: "garbage after", data: gz(t, `{"Records":[]} x`), wantErr: "data after the top-level object"},
		{name: "wrong type in one record", data: gz(t, `{"Records":[{"eventName":5},{"eventName":"ok"}]}`), wantErr: "1 of 2 records unreadable", records: 1},
		{name: "deep nesting", data: gz(t, `{"Records":[{"a":`+strings.Repeat("[", 600)+strings.Repeat("]", 600)+`}]}`), wantErr: "nesting deeper"},
		{name: "record too large", data: gz(t, `{"Records":[{"a":"`+strings.Repeat("x", 2000)+`"}]}`), opts: DecodeOptions{MaxRecord: 1000}, wantErr: "record larger", isTooBig: true},
		{name: "gzip bomb", data: gz(t, `{"Records":[`+strings.Repeat(`{},`, 100000)+`{}]}`), opts: DecodeOptions{MaxDecompressed: 10000}, wantErr: "decompressed size over", isTooBig: true, records: -1},
		{name: "second gzip member", data: append(gz(t, twoRecords), gz(t, `{"Records":[{"eventID":"evil"}]}`)...), records: 2, trailing: true},
		{name: "trailing garbage", data: append(gz(t, twoRecords), "junk"...), records: 2, trailing: true},
		{name: "invalid utf-8 kept", data: gz(t, "{\"Records\":[{\"userAgent\":\"\xff\xfe\"}]}"), records: 1},
		{name: "other members skipped", data: gz(t, `{"Meta":{"x":[1,"]"]},"Records":[{}],"More":null}`), records: 1},
		{name: "invalid escape in another member", data: gz(t, `{"Meta":"\q","Records":[{}]}`), wantErr: `top-level member "Meta" is not valid JSON`},
		{name: "bad number in another member", data: gz(t, `{"Records":[{}],"Meta":[01]}`), wantErr: `top-level member "Meta" is not valid JSON`, records: 1},
		{name: "other member too large", data: gz(t, `{"Meta":"`+strings.Repeat("x", 2000)+`","Records":[{}]}`), opts: DecodeOptions{MaxRecord: 1000}, wantErr: `top-level member "Meta" larger than 1000 bytes`, isTooBig: true},
		{name: "records nested in another member", data: gz(t, `{"Meta":{"Records":[{},{}]},"Records":[{}]}`), records: 1},
		{name: "escaped member name", data: gz(t, `{"Rec\u006frds":[{}]}`), records: 1},
		{name: "invalid escape in a member name", data: gz(t, `{"R\x":1,"Records":[{}]}`), wantErr: "invalid member name"},
		{name: "control character in a member name", data: gz(t, "{\"R\x01\":1,\"Records\":[{}]}"), wantErr: "invalid member name"},
		// Two members taken for Records: the first one's records are read,
		// and the file is an error (TestDecodeLogRecordsTwice).
		{name: "records twice", data: gz(t, `{"Records":[{"eventID":"a"}],"Records":[{"eventID":"b"},{"eventID":"c"}]}`), wantErr: `"Records" appears twice`, records: 1},
		{name: "records null, then records", data: gz(t, `{"Records":null,"Records":[{}]}`), wantErr: `"Records" appears twice`},
		{name: "records twice, escaped", data: gz(t, `{"Records":[{}],"Rec\u006frds":[{}]}`), wantErr: `"Records" appears twice`, records: 1},
		{name: "records twice, far apart", data: gz(t, `{"Records":[{}],"Meta":{"Records":[]},"More":1,"Records":[]}`), wantErr: `"Records" appears twice`, records: 1},
		{name: "lower case after", data: gz(t, `{"Records":[{}],"records":[{},{}]}`), wantErr: `"Records" appears twice, the second time as "records"`, records: 1},
		{name: "lower case before", data: gz(t, `{"records":[{},{}],"Records":[{}]}`), wantErr: `"Records" appears twice, first as "records"`},
		{name: "long s after", data: gz(t, `{"Records":[{}],"Recordſ":[{},{}]}`), wantErr: `"Records" appears twice`, records: 1},
		{name: "upper case alone", data: gz(t, `{"RECORDS":[{}]}`), wantErr: `no Records array ("RECORDS" is not "Records")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, body, err := decodeAll(t, tt.data, tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Errorf("err is %T, want *DecodeError", err)
				}
				if errors.Is(err, ErrTooLarge) != tt.isTooBig {
					t.Errorf("errors.Is(err, ErrTooLarge) = %v, want %v", !tt.isTooBig, tt.isTooBig)
				}
			}
			if tt.records >= 0 && len(recs) != tt.records {
				t.Errorf("got %d records, want %d", len(recs), tt.records)
			}
			if (body.Trailing > 0) != tt.trailing {
				t.Errorf("Trailing = %d, want trailing %v", body.Trailing, tt.trailing)
			}
			if tt.trailing {
				// The hash covers the first member only.
				if want := sha256.Sum256([]byte(twoRecords)); body.SHA256 != want {
					t.Errorf("SHA256 = %x, want the first member's %x", body.SHA256, want)
				}
			}
		})
	}
}

// TestDecodeLogRecordsTwice: a file with two Records members holds one
// set of records for some readers and another for others. encoding/json
// keeps the last member (matching names without regard to case); DecodeLog
// reads the first, then stops with an error that names the condition, so
// the file cannot pass as a clean log whichever side a reader picks. This
// is where DecodeLog intentionally differs from encoding/json.
func TestDecodeLogRecordsTwice(t *testing.T) {
	for _, second := range []string{"Records", "records", `Rec\u006frds`} {
		t.Run(second, func(t *testing.T) {
			file := `{"Records":[{"eventID":"shown"}],"` + second + `":[{"eventID":"hidden-1"},{"eventID":"hidden-2"}]}` + "\n"
			recs, body, err := decodeAll(t, gz(t, file), DecodeOptions{})
			var de *DecodeError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), `"Records" appears twice`) {
				t.Fatalf("err = %v, want a *DecodeError saying \"Records\" appears twice", err)
			}
			if want := int64(strings.LastIndex(file, `"`+second+`"`) + len(second) + 2); de.Offset != want {
				t.Errorf("error at byte %d, want %d (after the second member's name)", de.Offset, want)
			}
			if len(recs) != 1 || recs[0].EventID != "shown" {
				t.Errorf("records %+v, want the first member's one record", recs)
			}
			// The body is read to the end, as after any decode error, so
			// that its hash can still be checked against a digest.
			if want := sha256.Sum256([]byte(file)); body.SHA256 != want || body.Size != int64(len(file)) {
				t.Errorf("body = %+v, want the whole file's size and hash", body)
			}
			var ref struct{ Records []Record }
			if err := json.Unmarshal([]byte(file), &ref); err != nil {
				t.Fatal(err)
			}
			if len(ref.Records) != 2 || ref.Records[0].EventID != "hidden-1" {
				t.Errorf("encoding/json read %+v; the test assumes it keeps the last member", ref.Records)
			}
		})
	}
}

// TestDecodeLogReuse: DecodeLog pools its buffers, gzip decompressor and
// record decoder. Whatever one decoder decoded before, with whatever
// limits and however it ended, the next file decodes to the same records,
// body and error as with a fresh decoder.
func TestDecodeLogReuse(t *testing.T) {
	good := gz(t, twoRecords)
	long := `{"Records":[{"eventID":"long","userAgent":"` + strings.Repeat("u", 70000) + `","requestParameters":{"a":"` + strings.Repeat(`\"`, 40000) + `"}},` + twoRecordsRecord0 + `]}`
	inputs := []struct {
		name string
		data []byte
		opts DecodeOptions
	}{
		{"gzip", good, DecodeOptions{}},
		{"plain", []byte(twoRecords), DecodeOptions{}},
		{"long records", gz(t, long), DecodeOptions{}},
		{"long records, plain", []byte(long), DecodeOptions{}},
		{"record too large", gz(t, long), DecodeOptions{MaxRecord: 50000}},
		{"gzip bomb", gz(t, `{"Records":[`+strings.Repeat(`{"eventID":"x"},`, 5000)+`{}]}`), DecodeOptions{MaxDecompressed: 5000}},
		{"truncated gzip", good[:len(good)/2], DecodeOptions{}},
		{"corrupt gzip", corrupt(good), DecodeOptions{}},
		{"second gzip member", append(gz(t, twoRecords), gz(t, `{"Records":[{"eventID":"evil"}]}`)...), DecodeOptions{}},
		{"records twice", gz(t, `{"Records":[{"eventID":"a"}],"Records":[{"eventID":"b"}]}`), DecodeOptions{}},
		{"bad record", gz(t, `{"Records":[{"eventName":5},{"eventName":"ok"}]}`), DecodeOptions{}},
		{"empty", nil, DecodeOptions{}},
	}
	type outcome struct {
		recs []Record
		body Body
		err  string
	}
	decode := func(ld *logDecoder, i int) outcome {
		defer ld.tidy()
		var recs []Record
		body, err := ld.decodeLog(bytes.NewReader(inputs[i].data), inputs[i].opts, true, func(r *Record) error {
			recs = append(recs, *r)
			return nil
		})
		return outcome{recs, body, fmt.Sprint(err)}
	}
	want := make([]outcome, len(inputs))
	for i := range inputs {
		want[i] = decode(newLogDecoder(), i)
	}
	for i := range inputs {
		for j := range inputs {
			ld := newLogDecoder()
			decode(ld, i)
			got := decode(ld, j)
			if got.err != want[j].err || got.body != want[j].body || len(got.recs) != len(want[j].recs) {
				t.Fatalf("%s after %s: %d records, %+v, %s; alone: %d records, %+v, %s", inputs[j].name, inputs[i].name,
					len(got.recs), got.body, got.err, len(want[j].recs), want[j].body, want[j].err)
			}
			for k := range got.recs {
				if d := diffRecords(got.recs[k], want[j].recs[k]); d != "" {
					t.Fatalf("%s after %s: record %d: %s", inputs[j].name, inputs[i].name, k, d)
				}
			}
		}
	}
}

func corrupt(b []byte) []byte {
	c := bytes.Clone(b)
	for i := 12; i < len(c)-8; i += 7 {
		c[i] ^= 0x5a
	}
	return c
}

// TestDecodeLogCLIVector is the AWS CLI's functional test: the hash of
// gzip('{}') is the hash of the two bytes "{}".
func TestDecodeLogHashVector(t *testing.T) {
	_, body, err := decodeAll(t, gz(t, "{}"), DecodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "no Records") {
		t.Fatalf("err = %v, want no Records array", err)
	}
	if got := hex.EncodeToString(body.SHA256[:]); got != "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" {
		t.Errorf("SHA256 = %s", got)
	}
}

// TestDecodeLogRealArchives decodes genuine CloudTrail files and checks
// every record against encoding/json decoding the whole file.
func TestDecodeLogRealArchives(t *testing.T) {
	real := filepath.Join(sharedDir(t), "data", "real")
	for _, tt := range []struct {
		dir     string
		files   int
		records int
	}{
		{"grycap-974349055189", 1067, 17599},
		{"sans504-s3-ransomware-lab", 3872, 30477},
		{"invictus-ir-stratus", 55, 2900},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			files, records := 0, 0
			err := filepath.WalkDir(filepath.Join(real, tt.dir), func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".json.gz") || strings.HasSuffix(p, ".json")) {
					return err
				}
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				recs, body, err := decodeAll(t, data, DecodeOptions{})
				if err != nil {
					t.Errorf("%s: %v", p, err)
					return nil
				}
				plain := data
				if body.Gzip {
					zr, err := gzip.NewReader(bytes.NewReader(data))
					if err != nil {
						return err
					}
					if plain, err = io.ReadAll(zr); err != nil {
						return err
					}
				}
				if sha256.Sum256(plain) != body.SHA256 {
					t.Errorf("%s: hash differs from sha256 of the decompressed file", p)
				}
				var ref struct{ Records []Record }
				if err := json.Unmarshal(plain, &ref); err != nil {
					return err
				}
				if len(ref.Records) != len(recs) {
					t.Errorf("%s: %d records, encoding/json finds %d", p, len(recs), len(ref.Records))
					return nil
				}
				for i := range recs {
					a, b := recs[i], ref.Records[i]
					if a.EventID != b.EventID || a.EventName != b.EventName || a.EventTime != b.EventTime ||
						!bytes.Equal(a.RequestParameters, compact(t, b.RequestParameters)) || !bytes.Equal(a.UserIdentity.Raw, compact(t, b.UserIdentity.Raw)) {
						t.Errorf("%s record %d differs from encoding/json", p, i)
					}
					// Every field, raw members as the scanner compacts them.
					if tm, err := time.Parse(time.RFC3339, b.EventTime); err == nil {
						b.Time = tm.UTC()
					}
					if d := diffRecords(a, compactRaws(t, b)); d != "" {
						t.Errorf("%s record %d: %s", p, i, d)
					}
				}
				files++
				records += len(recs)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files != tt.files || records != tt.records {
				t.Errorf("decoded %d files, %d records; want %d, %d", files, records, tt.files, tt.records)
			}
		})
	}
}

func TestDecodeDigestReal(t *testing.T) {
	p := filepath.Join(sharedDir(t), "data", "real", "llm-guard-digest", "327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20231015T230404Z.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	d, body, err := DecodeDigest(bytes.NewReader(gz(t, string(data))))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(body.SHA256[:]); got != "4277102dccf54c0c247738ca5e6e3504b7370206ef1c82855994ec23441ae1ed" {
		t.Errorf("SHA256 = %s: must be over the raw bytes, \\/ escapes included", got)
	}
	if d.AWSAccountID != "327878933619" || len(d.LogFiles) != 5 || d.IsStart() || d.PreviousDigestHashValue == nil {
		t.Errorf("digest = %+v", d)
	}
	if !strings.HasPrefix(d.DigestS3Object, "AWSLogs/327878933619/CloudTrail-Digest/") {
		t.Errorf("DigestS3Object = %q, want the decoded key", d.DigestS3Object)
	}
	if loc := ParseKey(d.DigestS3Object); loc.Kind != KindDigest || loc.Trail != "llm-guard-trail" || loc.HomeRegion != "us-west-2" {
		t.Errorf("ParseKey(DigestS3Object) = %+v", loc)
	}
	for _, f := range d.LogFiles {
		if ParseKey(f.S3Object).Kind != KindLog {
			t.Errorf("listed file %q does not parse as a log", f.S3Object)
		}
	}
}

func TestDecodeDigestBad(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"not json", "x", "digest"},
		{"no previousDigestSignature", `{"digestPublicKeyFingerprint":"a","digestS3Bucket":"b","digestS3Object":"c","digestEndTime":"d","digestStartTime":"e"}`, "missing [previousDigestSignature]"},
		{"wrong type", `{"digestPublicKeyFingerprint":"a","digestS3Bucket":"b","digestS3Object":"c","digestEndTime":"d","digestStartTime":"e","previousDigestSignature":null,"logFiles":"x"}`, "digest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeDigest(bytes.NewReader(gz(t, tt.body)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// The starting digest of the synthetic vector: previous fields null.
	d, err := ParseDigest([]byte(`{"digestPublicKeyFingerprint":"a","digestS3Bucket":"b","digestS3Object":"c","digestEndTime":"d","digestStartTime":"e","previousDigestSignature":null,"previousDigestS3Object":null,"logFiles":[]}`))
	if err != nil || !d.IsStart() {
		t.Errorf("ParseDigest start digest = %+v, %v", d, err)
	}
}

// benchLog is the benchmarks' file: 2000 copies of benchRecord, plain and
// gzip-compressed.
func benchLog(b *testing.B) (plain, compressed []byte) {
	b.Helper()
	var sb strings.Builder
	sb.WriteString(`{"Records":[`)
	for i := range 2000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strings.Replace(benchRecord, "EVENTID", strings.Repeat("0", 8)+"-"+string(rune('a'+i%26)), 1))
	}
	sb.WriteString(`]}`)
	return []byte(sb.String()), gz(b, sb.String())
}

// The benchmarks below share one file so that their ratios come from one
// run: BenchmarkGunzipHash is the floor DecodeLog cannot beat (it must
// decompress and hash every byte), BenchmarkScanner and
// BenchmarkParseRecord are its two other stages.

func BenchmarkDecodeLog(b *testing.B) {
	plain, data := benchLog(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeLog(bytes.NewReader(data), DecodeOptions{}, func(*Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGunzipHash(b *testing.B) {
	plain, data := benchLog(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	buf := make([]byte, 64<<10)
	for b.Loop() {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		n, err := io.CopyBuffer(h, zr, buf)
		if err != nil || n != int64(len(plain)) {
			b.Fatalf("gunzip: %d bytes, %v", n, err)
		}
		h.Sum(nil)
	}
}

func BenchmarkScanner(b *testing.B) {
	plain, _ := benchLog(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := newScanner(bytes.NewReader(plain), DefaultMaxRecord).records(func(raw []byte, index int) error {
			n++
			return nil
		})
		if err != nil || n != 2000 {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}

func BenchmarkParseRecord(b *testing.B) {
	raw := []byte(benchRecord)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	dec := newRecordDecoder()
	var rec Record
	for b.Loop() {
		if err := dec.decode(raw, &rec); err != nil {
			b.Fatal(err)
		}
	}
}

// realLogs returns the genuine grycap archive (1,067 files of old and new
// schema, 17,599 records), a mix of record shapes and of file sizes (most
// are a few kilobytes) that the synthetic file lacks, and its
// decompressed size.
func realLogs(b *testing.B) (files [][]byte, size int64) {
	root := filepath.Join(sharedDir(b), "data", "real", "grycap-974349055189")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		data, err := os.ReadFile(p)
		files = append(files, data)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, data := range files {
		body, err := DecodeLog(bytes.NewReader(data), DecodeOptions{}, func(*Record) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		size += body.Size
	}
	return files, size
}

func BenchmarkDecodeLogReal(b *testing.B) {
	files, size := realLogs(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range files {
			if _, err := DecodeLog(bytes.NewReader(data), DecodeOptions{}, func(*Record) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkGunzipHashReal is BenchmarkGunzipHash's floor for
// BenchmarkDecodeLogReal.
func BenchmarkGunzipHashReal(b *testing.B) {
	files, size := realLogs(b)
	b.SetBytes(size)
	b.ReportAllocs()
	buf := make([]byte, 64<<10)
	for b.Loop() {
		for _, data := range files {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.CopyBuffer(h, zr, buf); err != nil {
				b.Fatal(err)
			}
			h.Sum(nil)
		}
	}
}

const benchRecord = `{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:session","arn":"arn:aws:sts::111122223333:assumed-role/Admin/session","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"},"attributes":{"creationDate":"2024-01-02T03:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-01-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}},"responseElements":null,"requestID":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","eventID":"EVENTID","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}`

func FuzzDecodeLog(f *testing.F) {
	f.Add(gz(f, twoRecords))
	f.Add([]byte(twoRecords))
	f.Add(append(gz(f, twoRecords), gz(f, `{"Records":[]}`)...))
	f.Add([]byte(`{"Records":[{"a":[{"b":"\"]"}]}],"x":{}}`))
	f.Add([]byte(`{"Records":[{}],"Meta":{"Records":[]},"records":[{},{}]}`))
	f.Add([]byte(`{"x":["\u00e9",1e5,true],"Rec\u006frds":[{}]}`))
	addFilesFromTestdata(f, 40)
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		body, err := DecodeLog(bytes.NewReader(data), DecodeOptions{MaxDecompressed: 1 << 20, MaxRecord: 64 << 10}, func(r *Record) error {
			n++
			return nil
		})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			return
		}
		if body.Size > 1<<20 {
			t.Fatalf("Size %d over the cap", body.Size)
		}
		// What decodes whole hashes the same without its records.
		hashed, err := DecodeLog(bytes.NewReader(data), DecodeOptions{MaxDecompressed: 1 << 20, HashOnly: true}, func(*Record) error {
			t.Fatal("HashOnly yielded a record")
			return nil
		})
		if err != nil || hashed != body {
			t.Fatalf("HashOnly: %+v, %v; full decode %+v", hashed, err, body)
		}
		if !body.Gzip {
			if body.SHA256 != sha256.Sum256(data) {
				t.Fatal("plain body: hash differs from sha256 of the input")
			}
			// What the scanner accepted as a whole, encoding/json must
			// accept too, with as many records. Not the other way round:
			// the scanner rejects files with two members encoding/json
			// takes for Records, of which encoding/json keeps the last
			// (see TestDecodeLogRecordsTwice), and files without a
			// "Records" spelt so.
			var ref struct{ Records []json.RawMessage }
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatalf("scanner accepted what encoding/json rejects: %v", err)
			}
			if len(ref.Records) != n {
				t.Fatalf("%d records, encoding/json finds %d", n, len(ref.Records))
			}
		}
	})
}

// addFilesFromTestdata seeds a fuzz target with up to max objects of the
// committed demo archive, when there is one.
func addFilesFromTestdata(f *testing.F, max int) {
	root := filepath.Join("..", "testdata", "demo")
	n := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || n >= max || !strings.HasSuffix(p, ".json.gz") {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && len(data) < 256<<10 {
			f.Add(data)
			n++
		}
		return nil
	})
}

// compact is what the scanner makes of raw JSON: insignificant whitespace
// dropped.
func compact(t testing.TB, raw []byte) []byte {
	if raw == nil {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDecodeLogHashOnly: with HashOnly, DecodeLog yields no record and
// gives the Body a full decode gives (hash, sizes, trailing bytes), and
// still fails on bytes that are not gzip CloudTrail could have written:
// corrupt or truncated gzip, more than MaxDecompressed.
func TestDecodeLogHashOnly(t *testing.T) {
	good := gz(t, twoRecords)
	for _, tc := range []struct {
		name    string
		data    []byte
		opts    DecodeOptions
		wantErr string
	}{
		{name: "good", data: good},
		{name: "not gzip", data: []byte(twoRecords)},
		{name: "second gzip member", data: append(gz(t, twoRecords), gz(t, `{"Records":[{"eventID":"evil"}]}`)...)},
		{name: "trailing garbage", data: append(gz(t, twoRecords), "junk"...)},
		{name: "empty records", data: gz(t, `{"Records":[]}`)},
		{name: "truncated gzip", data: good[:len(good)/2], wantErr: "truncated"},
		{name: "corrupt gzip", data: corrupt(good), wantErr: "decode"},
		{name: "empty", data: nil, wantErr: "empty object"},
		{name: "gzip bomb", data: gz(t, `{"Records":[`+strings.Repeat(`{},`, 100000)+`{}]}`), opts: DecodeOptions{MaxDecompressed: 10000}, wantErr: "decompressed size over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.HashOnly = true
			recs, body, err := decodeAll(t, tc.data, opts)
			if len(recs) != 0 {
				t.Errorf("%d records yielded, want none", len(recs))
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, full, err := decodeAll(t, tc.data, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if body != full {
				t.Errorf("hash-only body %+v, full decode %+v", body, full)
			}
		})
	}
	// Every genuine log file of one real archive: the same bodies.
	dir := filepath.Join(sharedDir(t), "data", "real", "grycap-974349055189")
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") || strings.Contains(p, "CloudTrail-Digest") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, full, ferr := decodeAll(t, data, DecodeOptions{})
		_, hashed, herr := decodeAll(t, data, DecodeOptions{HashOnly: true})
		if ferr != nil || herr != nil || hashed != full {
			t.Errorf("%s: hash-only %+v (%v), full %+v (%v)", p, hashed, herr, full, ferr)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Errorf("%d real log files compared, want over 1000", n)
	}
}
