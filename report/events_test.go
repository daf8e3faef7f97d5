package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
)

// memFiles collects what an EventsWriter writes, by path.
type memFiles struct {
	files  map[string]*memFile
	order  []string
	opened []Partition
}

type memFile struct {
	bytes.Buffer
	closed bool
}

func (f *memFile) Close() error {
	if f.closed {
		return fmt.Errorf("closed twice")
	}
	f.closed = true
	return nil
}

func newMemFiles() *memFiles { return &memFiles{files: map[string]*memFile{}} }

func (m *memFiles) open(p Partition) (io.WriteCloser, error) {
	path := p.Path()
	if _, dup := m.files[path]; dup {
		return nil, fmt.Errorf("%s opened twice", path)
	}
	f := &memFile{}
	m.files[path] = f
	m.order = append(m.order, path)
	m.opened = append(m.opened, p)
	return f, nil
}

// record decodes one CloudTrail record as ingest does.
func record(t *testing.T, js string) ingest.Record {
	t.Helper()
	var r ingest.Record
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	if tm, err := time.Parse(time.RFC3339, r.EventTime); err == nil {
		r.Time = tm.UTC()
	}
	return r
}

const (
	logKey     = "AWSLogs/o-abc123def4/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1_20240301T0005Z_AbCdEfGh12345678.json.gz"
	logKey2    = "AWSLogs/222233334444/CloudTrail/eu-west-1/2024/03/02/222233334444_CloudTrail_eu-west-1_20240302T2355Z_ZyXwVuTs98765432.json.gz"
	insightKey = "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/03/01/111122223333_CloudTrail-Insight_us-east-1_20240301T0100Z_Insight000000001.json.gz"
	digestKey  = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20240301T010000Z.json.gz"
)

// A full record: every typed field, booleans as JSON booleans and strings.
const fullRecord = `{
 "eventVersion": "1.09",
 "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
   "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLE", "userName": "alice", "invokedBy": "cloudformation.amazonaws.com",
   "identityProvider": "idp.example",
   "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::111122223333:role/Admin", "accountId": "111122223333", "userName": "Admin"},
     "attributes": {"creationDate": "2024-03-01T00:00:00Z", "mfaAuthenticated": "true"}, "sourceIdentity": "alice@example.com"}},
 "eventTime": "2024-03-01T00:03:07Z",
 "eventSource": "cloudtrail.amazonaws.com",
 "eventName": "StopLogging",
 "awsRegion": "us-east-1",
 "sourceIPAddress": "203.0.113.7",
 "userAgent": "<img src=x onerror=alert(1)> aws-cli/2.15",
 "errorCode": "AccessDenied",
 "errorMessage": "User is not authorized: \"quoted\" ünïcode",
 "requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail", "nested": {"a": [1, 2.5, null, true]}},
 "responseElements": null,
 "additionalEventData": {"SignatureVersion": "SigV4"},
 "requestID": "req-1",
 "eventID": "11111111-1111-1111-1111-111111111111",
 "readOnly": false,
 "resources": [{"ARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail", "accountId": "111122223333"}],
 "eventType": "AwsApiCall",
 "apiVersion": "2013-11-01",
 "managementEvent": "true",
 "recipientAccountId": "111122223333",
 "sharedEventID": "shared-1",
 "vpcEndpointId": "vpce-123",
 "eventCategory": "Management",
 "sessionCredentialFromConsole": "true",
 "serviceEventDetails": {"x": 1},
 "addendum": {"reason": "DELIVERY_DELAY"},
 "tlsDetails": {"tlsVersion": "TLSv1.3"},
 "edgeDeviceDetails": {"d": "e"}
}`

// A sparse record: nothing but the ids, booleans absent, JSON nulls.
const sparseRecord = `{"eventVersion": "1.08", "eventTime": "2024-03-01T23:59:59Z", "eventID": "22222222-2222-2222-2222-222222222222",
 "eventName": "DescribeInstances", "readOnly": true, "userIdentity": null, "requestParameters": null,
 "sessionCredentialFromConsole": "false"}`

func eventsInput(t *testing.T) []struct {
	r *ingest.Result
	v analyzer.Verdict
} {
	full := record(t, fullRecord)
	sparse := record(t, sparseRecord)
	noTime := record(t, `{"eventID": "33333333-3333-3333-3333-333333333333", "eventTime": "yesterday", "eventName": "GetObject"}`)
	outside := record(t, `{"eventID": "44444444-4444-4444-4444-444444444444", "eventTime": "2024-02-01T00:00:00Z"}`)
	nextDay := record(t, `{"eventID": "55555555-5555-5555-5555-555555555555", "eventTime": "2024-03-02T00:00:01Z", "readOnly": "false",
		"requestParameters": {"bad": "`+"\xff\xfe"+`"}}`)
	// Invalid UTF-8 in raw JSON survives encoding/json's RawMessage.
	nextDay.RequestParameters = json.RawMessage("{\"bad\":\"\xff\xfe\"}")
	other := record(t, `{"eventID": "66666666-6666-6666-6666-666666666666", "eventTime": "2024-03-02T23:00:00Z", "awsRegion": "eu-west-1"}`)
	insight := record(t, `{"eventVersion": "1.08", "eventTime": "2024-03-01T01:00:00Z", "eventID": "77777777-7777-7777-7777-777777777777",
		"eventType": "AwsCloudTrailInsight", "eventCategory": "Insight", "insightDetails": {"state": "Start"}}`)
	return []struct {
		r *ingest.Result
		v analyzer.Verdict
	}{
		{&ingest.Result{Object: ingest.Object{Key: digestKey}, Location: ingest.ParseKey(digestKey)}, analyzer.VerdictUnverified},
		{&ingest.Result{Object: ingest.Object{Key: logKey}, Location: ingest.ParseKey(logKey),
			Records: []ingest.Record{full, sparse, noTime, outside, nextDay}}, analyzer.VerdictValid},
		{&ingest.Result{Object: ingest.Object{Key: logKey2}, Location: ingest.ParseKey(logKey2),
			Records: []ingest.Record{other}, Err: fmt.Errorf("truncated")}, analyzer.VerdictModified},
		{&ingest.Result{Object: ingest.Object{Key: insightKey}, Location: ingest.ParseKey(insightKey),
			Records: []ingest.Record{insight}}, analyzer.VerdictUnlisted},
		{&ingest.Result{Object: ingest.Object{Key: "junk/file.txt"}, Location: ingest.ParseKey("junk/file.txt")}, analyzer.VerdictUnverified},
	}
}

func ptr[T any](v T) *T { return &v }

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// wantEvents is what the table must hold for eventsInput with the window
// [2024-03-01, 2024-03-03), keyed by event_id. It is written out by hand,
// not built with the code under test.
func wantEvents() map[string]EventRow {
	return map[string]EventRow{
		"11111111-1111-1111-1111-111111111111": {
			EventTime:                    ts("2024-03-01T00:03:07Z"),
			EventID:                      ptr("11111111-1111-1111-1111-111111111111"),
			EventName:                    ptr("StopLogging"),
			EventSource:                  ptr("cloudtrail.amazonaws.com"),
			AWSRegion:                    ptr("us-east-1"),
			RecipientAccountID:           ptr("111122223333"),
			SourceIPAddress:              ptr("203.0.113.7"),
			UserAgent:                    ptr("<img src=x onerror=alert(1)> aws-cli/2.15"),
			ErrorCode:                    ptr("AccessDenied"),
			ErrorMessage:                 ptr(`User is not authorized: "quoted" ünïcode`),
			ReadOnly:                     ptr(false),
			ManagementEvent:              ptr(true),
			EventVersion:                 ptr("1.09"),
			EventType:                    ptr("AwsApiCall"),
			EventCategory:                ptr("Management"),
			APIVersion:                   ptr("2013-11-01"),
			RequestID:                    ptr("req-1"),
			SharedEventID:                ptr("shared-1"),
			VPCEndpointID:                ptr("vpce-123"),
			SessionCredentialFromConsole: ptr(true),
			UserType:                     ptr("AssumedRole"),
			UserARN:                      ptr("arn:aws:sts::111122223333:assumed-role/Admin/alice"),
			UserPrincipalID:              ptr("AROAEXAMPLE:alice"),
			UserAccountID:                ptr("111122223333"),
			UserAccessKeyID:              ptr("ASIAEXAMPLE"),
			UserName:                     ptr("alice"),
			InvokedBy:                    ptr("cloudformation.amazonaws.com"),
			IdentityProvider:             ptr("idp.example"),
			SessionIssuerType:            ptr("Role"),
			SessionIssuerARN:             ptr("arn:aws:iam::111122223333:role/Admin"),
			SessionIssuerUserName:        ptr("Admin"),
			SourceIdentity:               ptr("alice@example.com"),
			MFAAuthenticated:             ptr(true),
			UserIdentity: ptr(`{"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
   "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLE", "userName": "alice", "invokedBy": "cloudformation.amazonaws.com",
   "identityProvider": "idp.example",
   "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::111122223333:role/Admin", "accountId": "111122223333", "userName": "Admin"},
     "attributes": {"creationDate": "2024-03-01T00:00:00Z", "mfaAuthenticated": "true"}, "sourceIdentity": "alice@example.com"}}`),
			RequestParameters:   ptr(`{"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail", "nested": {"a": [1, 2.5, null, true]}}`),
			AdditionalEventData: ptr(`{"SignatureVersion": "SigV4"}`),
			ServiceEventDetails: ptr(`{"x": 1}`),
			Resources:           ptr(`[{"ARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail", "accountId": "111122223333"}]`),
			Addendum:            ptr(`{"reason": "DELIVERY_DELAY"}`),
			TLSDetails:          ptr(`{"tlsVersion": "TLSv1.3"}`),
			EdgeDeviceDetails:   ptr(`{"d": "e"}`),
			ObjectKey:           logKey,
			RecordIndex:         0,
			ObjectKind:          "log",
			ObjectTime:          ts("2024-03-01T00:05:00Z"),
			AccountID:           "111122223333",
			Region:              "us-east-1",
			OrgID:               ptr("o-abc123def4"),
			Integrity:           "valid",
		},
		"22222222-2222-2222-2222-222222222222": {
			EventTime:                    ts("2024-03-01T23:59:59Z"),
			EventID:                      ptr("22222222-2222-2222-2222-222222222222"),
			EventName:                    ptr("DescribeInstances"),
			EventVersion:                 ptr("1.08"),
			ReadOnly:                     ptr(true),
			SessionCredentialFromConsole: ptr(false),
			ObjectKey:                    logKey,
			RecordIndex:                  1,
			ObjectKind:                   "log",
			ObjectTime:                   ts("2024-03-01T00:05:00Z"),
			AccountID:                    "111122223333",
			Region:                       "us-east-1",
			OrgID:                        ptr("o-abc123def4"),
			Integrity:                    "valid",
		},
		"55555555-5555-5555-5555-555555555555": {
			EventTime:         ts("2024-03-02T00:00:01Z"),
			EventID:           ptr("55555555-5555-5555-5555-555555555555"),
			ReadOnly:          ptr(false),
			RequestParameters: ptr("{\"bad\":\"\uFFFD\"}"),
			ObjectKey:         logKey,
			RecordIndex:       4,
			ObjectKind:        "log",
			ObjectTime:        ts("2024-03-01T00:05:00Z"),
			AccountID:         "111122223333",
			Region:            "us-east-1",
			OrgID:             ptr("o-abc123def4"),
			Integrity:         "valid",
		},
		"66666666-6666-6666-6666-666666666666": {
			EventTime:   ts("2024-03-02T23:00:00Z"),
			EventID:     ptr("66666666-6666-6666-6666-666666666666"),
			AWSRegion:   ptr("eu-west-1"),
			ObjectKey:   logKey2,
			ObjectKind:  "log",
			ObjectTime:  ts("2024-03-02T23:55:00Z"),
			AccountID:   "222233334444",
			Region:      "eu-west-1",
			Integrity:   "modified",
			RecordIndex: 0,
		},
		"77777777-7777-7777-7777-777777777777": {
			EventTime:      ts("2024-03-01T01:00:00Z"),
			EventID:        ptr("77777777-7777-7777-7777-777777777777"),
			EventVersion:   ptr("1.08"),
			EventType:      ptr("AwsCloudTrailInsight"),
			EventCategory:  ptr("Insight"),
			InsightDetails: ptr(`{"state": "Start"}`),
			ObjectKey:      insightKey,
			ObjectKind:     "insight",
			ObjectTime:     ts("2024-03-01T01:00:00Z"),
			AccountID:      "111122223333",
			Region:         "us-east-1",
			Integrity:      "unlisted",
		},
	}
}

// readEvents reads every row of every file back with parquet-go.
func readEvents(t *testing.T, m *memFiles) map[string][]EventRow {
	t.Helper()
	out := map[string][]EventRow{}
	for _, path := range m.order {
		f := m.files[path]
		if !f.closed {
			t.Errorf("%s was not closed", path)
		}
		r := parquet.NewGenericReader[EventRow](bytes.NewReader(f.Bytes()))
		rows := make([]EventRow, r.NumRows())
		n, err := r.Read(rows)
		if err != nil && err != io.EOF {
			t.Fatalf("read %s: %v", path, err)
		}
		if int64(n) != r.NumRows() {
			t.Fatalf("read %s: %d rows of %d", path, n, r.NumRows())
		}
		r.Close()
		out[path] = rows[:n]
	}
	return out
}

// rowFields flattens a row for comparison and messages: pointers become
// their values or nil, times are compared as instants.
func rowFields(r EventRow) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(r)
	for i := range v.NumField() {
		name := strings.Split(v.Type().Field(i).Tag.Get("parquet"), ",")[0]
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				out[name] = nil
				continue
			}
			f = f.Elem()
		}
		if tm, ok := f.Interface().(time.Time); ok {
			out[name] = tm.UTC().Format(time.RFC3339Nano)
			continue
		}
		out[name] = f.Interface()
	}
	return out
}

func compareRows(t *testing.T, got []EventRow, want map[string]EventRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d rows, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for _, g := range got {
		if g.EventID == nil {
			t.Errorf("row without event_id: %v", rowFields(g))
			continue
		}
		id := *g.EventID
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected row %s", id)
			continue
		}
		seen[id] = true
		gf, wf := rowFields(g), rowFields(w)
		for _, col := range slices.Sorted(maps.Keys(wf)) {
			if !reflect.DeepEqual(gf[col], wf[col]) {
				t.Errorf("row %s column %s: got %#v, want %#v", id, col, gf[col], wf[col])
			}
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("row %s missing", id)
		}
	}
}

func TestEventsRoundTrip(t *testing.T) {
	window := ingest.Window{
		Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		End:   time.Date(2024, 3, 3, 0, 0, 0, 0, time.UTC),
	}
	for _, tc := range []struct {
		name        string
		opts        EventsOptions
		wantPaths   []string
		wantOpenMin int
	}{
		{
			name:      "flat",
			opts:      EventsOptions{Window: window},
			wantPaths: []string{"part-00000.parquet"},
		},
		{
			name: "hive",
			opts: EventsOptions{Window: window, Partitioned: true},
			wantPaths: []string{
				"account_id=111122223333/region=us-east-1/date=2024-03-01/part-00000.parquet",
				"account_id=111122223333/region=us-east-1/date=2024-03-02/part-00001.parquet",
				"account_id=222233334444/region=eu-west-1/date=2024-03-02/part-00002.parquet",
			},
		},
		{
			// One open file at a time: the us-east-1 2024-03-01 partition
			// is closed by the next day's rows and continues in a new part.
			name: "hive, one open file, tiny row groups",
			opts: EventsOptions{Window: window, Partitioned: true, MaxOpenFiles: 1, RowsPerRowGroup: 1},
			wantPaths: []string{
				"account_id=111122223333/region=us-east-1/date=2024-03-01/part-00000.parquet",
				"account_id=111122223333/region=us-east-1/date=2024-03-02/part-00001.parquet",
				"account_id=222233334444/region=eu-west-1/date=2024-03-02/part-00002.parquet",
				"account_id=111122223333/region=us-east-1/date=2024-03-01/part-00003.parquet",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemFiles()
			w := NewEventsWriter(m.open, tc.opts)
			for _, in := range eventsInput(t) {
				if err := w.Write(in.r, in.v); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := w.Rows(); got != 5 {
				t.Errorf("Rows() = %d, want 5", got)
			}
			if !slices.Equal(m.order, tc.wantPaths) {
				t.Errorf("files:\n got %q\nwant %q", m.order, tc.wantPaths)
			}
			var all []EventRow
			for path, rows := range readEvents(t, m) {
				for _, r := range rows {
					if tc.opts.Partitioned {
						want := fmt.Sprintf("account_id=%s/region=%s/date=%s/", r.AccountID, r.Region, r.EventTime.Format(time.DateOnly))
						if !strings.HasPrefix(path, want) {
							t.Errorf("row %s in %s, want under %s", *r.EventID, path, want)
						}
					}
				}
				all = append(all, rows...)
			}
			compareRows(t, all, wantEvents())
		})
	}
}

func TestEventsWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window ingest.Window
		want   []string // event IDs, first 8 characters
	}{
		{"open window keeps records without a time", ingest.Window{}, []string{"11111111", "22222222", "33333333", "44444444", "55555555"}},
		{"start only", ingest.Window{Start: time.Date(2024, 3, 1, 23, 0, 0, 0, time.UTC)}, []string{"22222222", "55555555"}},
		{"end only", ingest.Window{End: time.Date(2024, 3, 1, 0, 3, 8, 0, time.UTC)}, []string{"11111111", "44444444"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemFiles()
			w := NewEventsWriter(m.open, EventsOptions{Window: tc.window, Partitioned: true})
			in := eventsInput(t)[1]
			if err := w.Write(in.r, in.v); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for path, rows := range readEvents(t, m) {
				for _, r := range rows {
					got = append(got, (*r.EventID)[:8])
					if r.EventTime == nil && !strings.Contains(path, "/date=__HIVE_DEFAULT_PARTITION__/") {
						t.Errorf("record without a time in %s", path)
					}
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEventsEmptyTableHasSchema(t *testing.T) {
	m := newMemFiles()
	w := NewEventsWriter(m.open, EventsOptions{Partitioned: true})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.order, []string{"part-00000.parquet"}) {
		t.Fatalf("files %q, want one flat file", m.order)
	}
	f, err := parquet.OpenFile(bytes.NewReader(m.files[m.order[0]].Bytes()), int64(m.files[m.order[0]].Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != 0 || len(f.Schema().Columns()) != eventColumns {
		t.Errorf("got %d rows and %d columns, want 0 and %d", f.NumRows(), len(f.Schema().Columns()), eventColumns)
	}
}

// TestEventsSchema checks the physical and logical types readers see:
// what DuckDB, Athena and Spark map to TIMESTAMP, BOOLEAN and VARCHAR.
func TestEventsSchema(t *testing.T) {
	m := newMemFiles()
	w := NewEventsWriter(m.open, EventsOptions{})
	in := eventsInput(t)[1]
	if err := w.Write(in.r, in.v); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := m.files["part-00000.parquet"].Bytes()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Schema().Columns()); n != eventColumns {
		t.Errorf("%d columns, eventColumns says %d", n, eventColumns)
	}
	contract := []string{"event_time", "event_id", "event_name", "event_source", "aws_region", "recipient_account_id",
		"source_ip_address", "user_agent", "error_code", "read_only", "user_type", "user_arn", "request_parameters",
		"object_key", "integrity"}
	fields := map[string]parquet.Field{}
	for _, fld := range f.Schema().Fields() {
		fields[fld.Name()] = fld
	}
	for _, name := range contract {
		if _, ok := fields[name]; !ok {
			t.Errorf("contract column %s missing", name)
		}
	}
	for name, fld := range fields {
		lt := fld.Type().LogicalType()
		kind := fld.Type().Kind()
		switch {
		case name == "event_time" || name == "object_time":
			if lt.String() != "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)" {
				t.Errorf("%s: logical type %v, want TIMESTAMP(MICROS, UTC)", name, lt)
			}
			if !fld.Optional() {
				t.Errorf("%s is required, want optional", name)
			}
		case kind == parquet.Boolean:
			if !fld.Optional() {
				t.Errorf("%s is a required boolean, want optional", name)
			}
		case kind == parquet.ByteArray:
			if lt.String() != "STRING" {
				t.Errorf("%s: logical type %v, want STRING", name, lt)
			}
		case name == "record_index":
			if kind != parquet.Int32 {
				t.Errorf("record_index: kind %v", kind)
			}
		default:
			t.Errorf("%s: unexpected kind %v", name, kind)
		}
	}
	for _, name := range []string{"read_only", "management_event", "mfa_authenticated", "session_credential_from_console"} {
		if fields[name] == nil || fields[name].Type().Kind() != parquet.Boolean {
			t.Errorf("%s is not a boolean column", name)
		}
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.Codec != format.Zstd {
				t.Errorf("column %v compressed with %v, want ZSTD", c.MetaData.PathInSchema, c.MetaData.Codec)
			}
		}
	}
}

func TestEventsRowGroupsBounded(t *testing.T) {
	m := newMemFiles()
	w := NewEventsWriter(m.open, EventsOptions{RowsPerRowGroup: 100})
	recs := make([]ingest.Record, 1050)
	for i := range recs {
		recs[i] = record(t, fmt.Sprintf(`{"eventID": "id-%d", "eventTime": "2024-03-01T00:00:00Z", "readOnly": %v}`, i, i%2 == 0))
	}
	r := &ingest.Result{Object: ingest.Object{Key: logKey}, Location: ingest.ParseKey(logKey), Records: recs}
	if err := w.Write(r, analyzer.VerdictValid); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := m.files["part-00000.parquet"].Bytes()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, rg := range f.RowGroups() {
		sizes = append(sizes, rg.NumRows())
	}
	want := []int64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50}
	if !slices.Equal(sizes, want) {
		t.Errorf("row groups %v, want %v", sizes, want)
	}
	rows := readEvents(t, m)["part-00000.parquet"]
	for i, row := range rows {
		if *row.EventID != fmt.Sprintf("id-%d", i) || *row.ReadOnly != (i%2 == 0) || row.RecordIndex != int32(i) {
			t.Fatalf("row %d: %v", i, rowFields(row))
		}
	}
}

func TestEventsOpenError(t *testing.T) {
	w := NewEventsWriter(func(Partition) (io.WriteCloser, error) { return nil, fmt.Errorf("disk full") }, EventsOptions{})
	in := eventsInput(t)[1]
	err := w.Write(in.r, in.v)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Write: got %v, want disk full", err)
	}
	if err2 := w.Write(in.r, in.v); err2 != err {
		t.Errorf("second Write: got %v, want the first error", err2)
	}
	if err := w.Close(); err == nil {
		t.Errorf("Close: got nil, want the write error")
	}
}

// TestEventsObjectFillsFiles: one object with more rows than a file
// holds (maxRowGroupsPerFile row groups) continues in the next part
// rather than writing to the file it just closed.
func TestEventsObjectFillsFiles(t *testing.T) {
	m := newMemFiles()
	const perGroup = 10
	w := NewEventsWriter(m.open, EventsOptions{RowsPerRowGroup: perGroup})
	n := perGroup*maxRowGroupsPerFile*2 + 7
	recs := make([]ingest.Record, n)
	for i := range recs {
		recs[i] = record(t, fmt.Sprintf(`{"eventID": "id-%d", "eventTime": "2024-03-01T00:00:00Z"}`, i))
	}
	r := &ingest.Result{Object: ingest.Object{Key: logKey}, Location: ingest.ParseKey(logKey), Records: recs}
	if err := w.Write(r, analyzer.VerdictValid); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for name, rows := range readEvents(t, m) {
		if len(rows) > perGroup*maxRowGroupsPerFile {
			t.Errorf("%s holds %d rows, more than a file's %d", name, len(rows), perGroup*maxRowGroupsPerFile)
		}
		for _, row := range rows {
			seen[*row.EventID] = true
		}
	}
	if len(seen) != n || len(m.files) != 3 {
		t.Errorf("%d distinct rows in %d files, want %d in 3", len(seen), len(m.files), n)
	}
}
