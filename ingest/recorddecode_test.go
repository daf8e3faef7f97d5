package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// decodeRecordJSON is the reference: how DecodeLog decoded a record before
// it had its own decoder.
func decodeRecordJSON(b []byte, r *Record) error {
	*r = Record{}
	if err := json.Unmarshal(b, r); err != nil {
		return err
	}
	if t, err := time.Parse(time.RFC3339, r.EventTime); err == nil {
		r.Time = t.UTC()
	}
	return nil
}

// compactRaws returns r with its raw members as the scanner passes them:
// compacted.
func compactRaws(t testing.TB, r Record) Record {
	for _, p := range rawFields(&r) {
		*p = compact(t, *p)
	}
	return r
}

func rawFields(r *Record) []*json.RawMessage {
	return []*json.RawMessage{&r.UserIdentity.Raw, &r.RequestParameters, &r.ResponseElements,
		&r.AdditionalEventData, &r.ServiceEventDetails, &r.Resources, &r.Addendum,
		&r.TLSDetails, &r.EdgeDeviceDetails, &r.InsightDetails}
}

// diffRecords names the first field where got and want differ, or returns
// "".
func diffRecords(got, want Record) string {
	return diffValues("Record", reflect.ValueOf(got), reflect.ValueOf(want))
}

func diffValues(path string, got, want reflect.Value) string {
	if got.Type() == reflect.TypeFor[time.Time]() {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if g != w || !g.Equal(w) {
			return fmt.Sprintf("%s = %v, want %v", path, g, w)
		}
		return ""
	}
	switch got.Kind() {
	case reflect.Struct:
		for i := range got.NumField() {
			if d := diffValues(path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		g, w := got.Bytes(), want.Bytes()
		if !bytes.Equal(g, w) || (g == nil) != (w == nil) {
			return fmt.Sprintf("%s = %q (nil %v), want %q (nil %v)", path, g, g == nil, w, w == nil)
		}
		return ""
	case reflect.String:
		if got.String() != want.String() {
			return fmt.Sprintf("%s = %q, want %q", path, got.String(), want.String())
		}
		return ""
	case reflect.Bool:
		if got.Bool() != want.Bool() {
			return fmt.Sprintf("%s = %v, want %v", path, got.Bool(), want.Bool())
		}
		return ""
	}
	panic("diffValues: unexpected kind " + got.Kind().String())
}

// checkRecordDecoder decodes data with recordDecoder and with
// encoding/json, and fails unless both reject it or both give the same
// record. It also decodes the compacted form, as the scanner passes it.
func checkRecordDecoder(t *testing.T, dec *recordDecoder, data []byte) {
	t.Helper()
	var got, want Record
	errGot := dec.decode(data, &got)
	errWant := decodeRecordJSON(data, &want)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("decode(%q): err = %v, encoding/json: %v", data, errGot, errWant)
	}
	if errGot != nil {
		return
	}
	if d := diffRecords(got, want); d != "" {
		t.Fatalf("decode(%q): %s", data, d)
	}
	for _, p := range rawFields(&got) {
		if len(*p) != cap(*p) {
			t.Fatalf("decode(%q): a raw member has len %d, cap %d: appending to it would overwrite the next", data, len(*p), cap(*p))
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		t.Fatalf("encoding/json accepted %q but cannot compact it: %v", data, err)
	}
	var fromCompact Record
	if err := dec.decode(b.Bytes(), &fromCompact); err != nil {
		t.Fatalf("decode(compact %q): %v", b.Bytes(), err)
	}
	if d := diffRecords(fromCompact, compactRaws(t, want)); d != "" {
		t.Fatalf("decode(compact %q): %s", b.Bytes(), d)
	}
}

// trickyRecords are the corners where a hand-written decoder and
// encoding/json could part: seeds for FuzzRecordDecoder and cases of
// TestRecordDecoderParity.
var trickyRecords = []string{
	// Names: escaped, any case, Unicode folding (K is the Kelvin sign, ſ
	// the long s), invalid UTF-8.
	`{"event\u004eame":"x"}`,
	`{"EventName":"x"}`,
	`{"EVENTNAME":"x","eventName":"y"}`,
	`{"eventName":"y","EVENTNAME":"x"}`,
	`{"eventname":"x"}`,
	`{"userIdentity":{"ACCESSKEYID":"a","Type":"b","SESSIONCONTEXT":{"SessionIssuer":{"ARN":"c"},"Attributes":{"MFAAuthenticated":true}}}}`,
	"{\"userIdentity\":{\"access\u212aeyId\":\"kelvin\"}}",
	`{"userIdentity":{"access\u212aeyId":"kelvin"}}`,
	"{\"event\u017fource\":\"long s\",\"apiver\u017fion\":\"v\"}",
	"{\"eventName\xff\":\"x\",\"\xff\":1}",
	`{"":1,"eventName":"x"}`,
	// Repeated members: last wins; null keeps strings and structs, resets
	// the types with an UnmarshalJSON.
	`{"eventName":"a","eventName":"b"}`,
	`{"eventName":"a","eventName":null}`,
	`{"readOnly":true,"readOnly":null}`,
	`{"readOnly":true,"readOnly":"false"}`,
	`{"sessionCredentialFromConsole":"true","sessionCredentialFromConsole":null}`,
	`{"requestParameters":{"a":1},"requestParameters":null}`,
	`{"requestParameters":{"a":1},"requestParameters":[2]}`,
	`{"userIdentity":{"type":"a"},"userIdentity":null}`,
	`{"userIdentity":{"type":"a","arn":"x"},"userIdentity":{"arn":"b"}}`,
	`{"userIdentity":null,"userIdentity":{"arn":"b"}}`,
	`{"userIdentity":{"sessionContext":{"sourceIdentity":"x"},"sessionContext":{"attributes":{"mfaAuthenticated":"true"}}}}`,
	`{"userIdentity":{"sessionContext":{"sourceIdentity":"x"},"sessionContext":null}}`,
	`{"userIdentity":{"sessionContext":{"sessionIssuer":{"type":"Role","arn":"a"},"sessionIssuer":{"arn":"b"},"sessionIssuer":null}}}`,
	`{"userIdentity":{"sessionContext":{"attributes":{"creationDate":"d","mfaAuthenticated":"false"},"attributes":{"mfaAuthenticated":null}}}}`,
	// Strings: escapes, surrogates, invalid UTF-8.
	`{"eventName":"a\u0000b\"\\\/\b\f\n\r\tc"}`,
	`{"eventName":"\ud83d\ude00 \uD83D\uDE00"}`,
	`{"eventName":"\ud83d"}`,
	`{"eventName":"\ud83dx"}`,
	`{"eventName":"\ude00\ud83d"}`,
	`{"eventName":"\ud83d\ud83d\ude00"}`,
	`{"eventName":"\ud83d\u0041"}`,
	`{"eventName":"\ud83d\\ude00"}`,
	"{\"eventName\":\"\xff\xfe\"}",
	"{\"eventName\":\"\xed\xa0\x80\"}",
	"{\"eventName\":\"\xe2\x82\",\"userAgent\":\"\xc0\xaf\"}",
	"{\"eventName\":\"é\uFFFD\xf4\x90\x80\x80\"}",
	"{\"eventName\":\"\xff\\n\",\"requestParameters\":{\"\xff\":\"\xfe\"}}",
	"{\"userIdentity\":{\"type\":\"\xff\"},\"sessionCredentialFromConsole\":\"\xff\"}",
	`{"eventName":"0123456789abcdef0123456789abcdef\"0123456789abcdef"}`,
	// Bool and Text.
	`{"readOnly":"true","managementEvent":"false"}`,
	`{"readOnly":"TRUE"}`,
	`{"readOnly":"tru\u0065"}`,
	`{"readOnly":1}`,
	`{"readOnly":[]}`,
	`{"readOnly":{}}`,
	`{"readOnly":" true"}`,
	`{"sessionCredentialFromConsole":true}`,
	`{"sessionCredentialFromConsole":false}`,
	`{"sessionCredentialFromConsole":-12.5e+3}`,
	`{"sessionCredentialFromConsole":0}`,
	`{"sessionCredentialFromConsole":"x\u00e9"}`,
	`{"sessionCredentialFromConsole":{}}`,
	`{"sessionCredentialFromConsole":[]}`,
	`{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":1E5}}}}`,
	// Wrong types.
	`{"eventName":5}`,
	`{"eventName":true}`,
	`{"eventName":{}}`,
	`{"eventName":[]}`,
	`{"userIdentity":"x"}`,
	`{"userIdentity":[]}`,
	`{"userIdentity":1}`,
	`{"userIdentity":true}`,
	`{"userIdentity":{"sessionContext":"x"}}`,
	`{"userIdentity":{"sessionContext":{"attributes":5}}}`,
	`{"userIdentity":{"sessionContext":{"sessionIssuer":[]}}}`,
	`{"userIdentity":{"type":5}}`,
	// Syntax, in unknown and raw members too.
	`{"a":1.}`, `{"a":01}`, `{"a":-}`, `{"a":1e}`, `{"a":1e+}`, `{"a":-0.0e-0}`, `{"a":tru}`, `{"a":truex}`,
	`{"a":nul}`, `{"a":null1}`, "{\"a\":\"\x01\"}", `{"a":"\q"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, `{"a":"\'"}`,
	`{"a":[1,]}`, `{"a":{"b":1,}}`, `{"a":[1 2]}`, `{"a":{"b" 1}}`, `{"a":{1:2}}`, `{"a":[}`, `{"a":{]}`,
	`{"a":1}x`, `{"a":1} `, " \t\r\n{ \"a\" : [ 1 , { } ] , \"eventName\" : \"x\" }\n", `{"a":1,}`, `{,}`, `{"a"}`,
	`null`, ` null `, `nul`, `nullx`, `[]`, `"x"`, `1`, ``, ` `, `{`, `{"a":1`, `{"a":`, `{"a"`, `{"`, `{"eventName":"x`,
	`{"requestParameters":{"a":[1,{"b":"]"}],"c":{}},"responseElements":null,"resources":[{"ARN":"x"}]}`,
	`{"addendum":"x","tlsDetails":1,"edgeDeviceDetails":true,"insightDetails":[],"additionalEventData":{},"serviceEventDetails":-1}`,
	// Times.
	`{"eventTime":"2024-02-29T23:59:59Z"}`,
	`{"eventTime":"2023-02-29T00:00:00Z"}`,
	`{"eventTime":"2024-04-31T00:00:00Z"}`,
	`{"eventTime":"2024-01-02T03:04:05.123Z"}`,
	`{"eventTime":"2024-01-02T03:04:05+02:00"}`,
	`{"eventTime":"2024-01-02T24:00:00Z"}`,
	`{"eventTime":"2024-01-02T23:60:00Z"}`,
	`{"eventTime":"2024-01-02T23:00:60Z"}`,
	`{"eventTime":"2024-13-02T00:00:00Z"}`,
	`{"eventTime":"2024-00-02T00:00:00Z"}`,
	`{"eventTime":"0000-01-01T00:00:00Z"}`,
	`{"eventTime":"2024-01-02t03:04:05z"}`,
	`{"eventTime":"2024-01-02T03:04:0xZ"}`,
	`{"eventTime":"2024-1-02T03:04:05Z"}`,
	`{"eventTime":"2024-01-02T03:04:05Z","eventTime":null}`,
}

func TestRecordDecoderParity(t *testing.T) {
	dec := newRecordDecoder()
	cases := append([]string{twoRecordsRecord0, benchRecord}, trickyRecords...)
	cases = append(cases,
		`{"a":`+strings.Repeat("[", maxJSONDepth-1)+strings.Repeat("]", maxJSONDepth-1)+`}`,
		`{"a":`+strings.Repeat("[", maxJSONDepth)+strings.Repeat("]", maxJSONDepth)+`}`,
		`{"requestParameters":`+strings.Repeat(`{"a":`, maxJSONDepth-1)+`1`+strings.Repeat("}", maxJSONDepth-1)+`}`,
		`{"requestParameters":`+strings.Repeat(`{"a":`, maxJSONDepth)+`1`+strings.Repeat("}", maxJSONDepth)+`}`,
	)
	for _, c := range cases {
		t.Run("", func(t *testing.T) {
			checkRecordDecoder(t, dec, []byte(c))
		})
	}
}

const twoRecordsRecord0 = `{"eventVersion":"1.11","eventTime":"2024-01-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"sa-east-1","readOnly":false,"managementEvent":true,"eventID":"a","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/x","sessionContext":{"attributes":{"mfaAuthenticated":"false"}},"newField":{"x":1}},"requestParameters":{"instanceType":"p4d.24xlarge","nested":[1,{"a":"]"}]},"responseElements":null,"unknownField":[1,2,3]}`

// TestRecordDecoderErrors checks what a rejected record's error says.
func TestRecordDecoderErrors(t *testing.T) {
	for _, tt := range []struct{ data, want string }{
		{`{"eventName":5}`, "eventName: want a string, got a number"},
		{`{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":{}}}}}`, "userIdentity: sessionContext: attributes: mfaAuthenticated: want a string, got an object"},
		{`{"readOnly":"yes"}`, `readOnly: want a boolean, got "yes"`},
		{`{"a":[1,]}`, `a: invalid JSON: unexpected ']' at offset 8`},
		{`{"a":1`, `invalid JSON: unexpected end of record`},
		{`[]`, `want an object, got an array`},
	} {
		err := newRecordDecoder().decode([]byte(tt.data), new(Record))
		if err == nil || err.Error() != tt.want {
			t.Errorf("decode(%s): err = %v, want %s", tt.data, err, tt.want)
		}
	}
}

// TestRecordDecoderFields checks that the decoder knows every field of
// Record by its JSON name, so that a field added to Record without the
// decoder fails here rather than decoding empty.
func TestRecordDecoderFields(t *testing.T) {
	for _, tt := range []struct {
		typ    reflect.Type
		names  []string
		lookup func([]byte) int
	}{
		{reflect.TypeFor[Record](), recordNames[:], recordField},
		{reflect.TypeFor[UserIdentity](), userIdentityNames[:], userIdentityField},
		{reflect.TypeFor[SessionContext](), sessionContextNames[:], nil},
		{reflect.TypeFor[SessionContext]().Field(0).Type, sessionIssuerNames[:], nil},
		{reflect.TypeFor[SessionContext]().Field(1).Type, attributesNames[:], nil},
	} {
		var tags []string
		for i := range tt.typ.NumField() {
			if tag := tt.typ.Field(i).Tag.Get("json"); tag != "-" {
				tags = append(tags, tag)
			}
		}
		if !reflect.DeepEqual(tags, tt.names) {
			t.Errorf("%s: JSON names %q, decoder knows %q", tt.typ, tags, tt.names)
		}
		for i, n := range tt.names {
			if tt.lookup != nil && tt.lookup([]byte(n)) != i {
				t.Errorf("%s: field %q found at %d, want %d", tt.typ, n, tt.lookup([]byte(n)), i)
			}
			if got := foldedField([]byte(strings.ToUpper(n)), tt.names); got != i {
				t.Errorf("%s: field %q in upper case found at %d, want %d", tt.typ, n, got, i)
			}
		}
	}
}

// TestRecordDecoderNoAliasing checks that a decoded record holds nothing
// of the buffer it was decoded from, which the scanner reuses.
func TestRecordDecoderNoAliasing(t *testing.T) {
	dec := newRecordDecoder()
	data := []byte(benchRecord)
	var got, want Record
	if err := dec.decode(data, &got); err != nil {
		t.Fatal(err)
	}
	if err := decodeRecordJSON([]byte(benchRecord), &want); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'X'
	}
	if d := diffRecords(got, want); d != "" {
		t.Errorf("after the input was overwritten: %s", d)
	}
}

// TestParseEventTime holds the fast path to time.Parse.
func TestParseEventTime(t *testing.T) {
	for _, s := range []string{"", "2024-01-02T03:04:05Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
		"2000-02-29T00:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2024-01-02T03:04:05.5Z", "2024-01-02T03:04:05-07:00",
		"2024-06-31T00:00:00Z", "2024-01-02T03:04:60Z", "2024-01-02 03:04:05Z", "+024-01-02T03:04:05Z", "2024-01-02T03:04:05z"} {
		checkEventTime(t, s)
	}
}

func checkEventTime(t *testing.T, s string) {
	t.Helper()
	var want time.Time
	if p, err := time.Parse(time.RFC3339, s); err == nil {
		want = p.UTC()
	}
	if got := parseEventTime(s); got != want || !got.Equal(want) {
		t.Errorf("parseEventTime(%q) = %v, want %v", s, got, want)
	}
}

func FuzzParseEventTime(f *testing.F) {
	for _, s := range []string{"2024-01-02T03:04:05Z", "2024-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-01-02T03:04:05.123456789Z"} {
		f.Add(s)
	}
	f.Fuzz(checkEventTime)
}

// FuzzRecordDecoder holds recordDecoder to encoding/json on arbitrary
// bytes: both reject them, or both give the same Record.
func FuzzRecordDecoder(f *testing.F) {
	f.Add([]byte(benchRecord))
	f.Add([]byte(twoRecordsRecord0))
	for _, c := range trickyRecords {
		f.Add([]byte(c))
	}
	for _, rec := range recordsFromTestdata(f, 200) {
		f.Add(rec)
	}
	dec := newRecordDecoder()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRecordDecoder(t, dec, data)
	})
}

// recordsFromTestdata returns up to max records of the committed demo
// archive, each of a different eventSource and eventName, as they are
// written there.
func recordsFromTestdata(t testing.TB, max int) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	root := filepath.Join("..", "testdata", "demo", "AWSLogs")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || len(out) >= max || !strings.HasSuffix(p, ".json.gz") || strings.Contains(p, "CloudTrail-Digest") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return nil
		}
		var file struct{ Records []json.RawMessage }
		if json.Unmarshal(plain, &file) != nil {
			return nil
		}
		for _, raw := range file.Records {
			var r struct{ EventSource, EventName string }
			json.Unmarshal(raw, &r)
			if k := r.EventSource + " " + r.EventName; !seen[k] && len(out) < max {
				seen[k] = true
				out = append(out, raw)
			}
		}
		return nil
	})
	return out
}

// checkInPlace decodes data with and without decodePrefix taking records
// in place, and fails unless both give the same records, body and error.
func checkInPlace(t *testing.T, data []byte, opts DecodeOptions) {
	t.Helper()
	decode := func(inPlace bool) ([]Record, Body, error) {
		var recs []Record
		body, err := decodeLog(bytes.NewReader(data), opts, inPlace, func(r *Record) error {
			recs = append(recs, *r)
			return nil
		})
		return recs, body, err
	}
	got, gotBody, gotErr := decode(true)
	want, wantBody, wantErr := decode(false)
	// Where reading stops at the decompressed size cap depends on how the
	// two paths read: the offset of that error, the size read and how many
	// records came before it are the only differences allowed.
	gotMsg, wantMsg := fmt.Sprint(gotErr), fmt.Sprint(wantErr)
	if strings.Contains(gotMsg, "decompressed size over") && strings.Contains(wantMsg, "decompressed size over") {
		// As far as reading got.
		gotBody.Size, wantBody.Size = 0, 0
		n := min(len(got), len(want))
		got, want = got[:n], want[:n]
		gotMsg = regexp.MustCompile(`at byte \d+: decompressed`).ReplaceAllString(gotMsg, "decompressed")
		wantMsg = regexp.MustCompile(`at byte \d+: decompressed`).ReplaceAllString(wantMsg, "decompressed")
	}
	if gotMsg != wantMsg || errors.Is(gotErr, ErrTooLarge) != errors.Is(wantErr, ErrTooLarge) {
		t.Fatalf("in place: err = %v, scanned: %v", gotErr, wantErr)
	}
	if gotBody != wantBody {
		t.Fatalf("in place: body = %+v, scanned: %+v", gotBody, wantBody)
	}
	if len(got) != len(want) {
		t.Fatalf("in place: %d records, scanned: %d", len(got), len(want))
	}
	for i := range got {
		if d := diffRecords(got[i], want[i]); d != "" {
			t.Fatalf("record %d in place: %s", i, d)
		}
	}
}

// TestDecodeLogInPlace compares the two ways a record reaches the decoder
// on files that make the scanner step in: records across reads,
// whitespace, deep nesting, long literals, large and bad records.
func TestDecodeLogInPlace(t *testing.T) {
	var big strings.Builder
	big.WriteString(`{"Records":[`)
	for i := range 300 {
		if i > 0 {
			big.WriteByte(',')
		}
		switch i % 7 {
		case 0:
			big.WriteString(benchRecord)
		case 1:
			big.WriteString(twoRecordsRecord0)
		case 2:
			big.WriteString(`{"eventName":"x","requestParameters":{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}}`)
		case 3:
			big.WriteString(`{"eventName" : "spaced", "requestParameters" : { "a" : [ 1 , 2 ] } }`)
		case 4:
			big.WriteString(`{"eventName":5}`)
		case 5:
			big.WriteString(`{"eventName":"long","n":` + strings.Repeat("1", 64) + `}`)
		case 6:
			big.WriteString(`{"eventName":"large","userAgent":"` + strings.Repeat("u", 3000+i) + `"}`)
		}
	}
	big.WriteString(`]}`)
	files := []string{big.String(), twoRecords,
		`{"Records":[{"a":` + strings.Repeat("[", 512) + strings.Repeat("]", 512) + `}]}`,
		`{"Records":[{"a":` + strings.Repeat("[", 511) + strings.Repeat("]", 511) + `}]}`,
		`{"Records":[{"n":` + strings.Repeat("1", 65) + `}]}`,
		`{"Records":[{"a":1},{"b":[1 2]}]}`,
		`{"Records":[{"a":1},{"b":"` + strings.Repeat("x", 5000) + `"},{"c":1}]}`,
	}
	for _, f := range files {
		for _, opts := range []DecodeOptions{{}, {MaxRecord: 3500}, {MaxRecord: 100}, {MaxDecompressed: 20000}} {
			checkInPlace(t, []byte(f), opts)
			checkInPlace(t, gz(t, f), opts)
		}
	}
	for _, data := range demoFiles(t, 100) {
		checkInPlace(t, data, DecodeOptions{})
	}
}

// demoFiles returns up to max log files of the committed demo archive.
func demoFiles(t testing.TB, max int) [][]byte {
	var out [][]byte
	root := filepath.Join("..", "testdata", "demo", "AWSLogs")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || len(out) >= max || !strings.HasSuffix(p, ".json.gz") || strings.Contains(p, "CloudTrail-Digest") {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil {
			out = append(out, data)
		}
		return nil
	})
	return out
}

// FuzzDecodeLogInPlace holds the records DecodeLog takes in place to those
// it scans and copies first.
func FuzzDecodeLogInPlace(f *testing.F) {
	f.Add([]byte(twoRecords))
	f.Add(gz(f, twoRecords))
	f.Add([]byte(`{"Records":[` + benchRecord + `,` + twoRecordsRecord0 + `]}`))
	f.Add([]byte(`{"Records":[{"a" : 1},{"b":[1,2,{"c":null}]},{"n":1e5},{"eventName":5}]}`))
	for _, c := range trickyRecords {
		f.Add([]byte(`{"Records":[` + c + `,{"eventID":"after"}]}`))
	}
	for _, data := range demoFiles(f, 20) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkInPlace(t, data, DecodeOptions{MaxDecompressed: 1 << 20, MaxRecord: 64 << 10})
		checkInPlace(t, data, DecodeOptions{MaxDecompressed: 1 << 20, MaxRecord: 300})
	})
}
