package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
)

// EventRow is one row of the events table: one CloudTrail record with its
// provenance and integrity verdict. Strings CloudTrail omits (or writes
// empty) are NULL; fields whose shape varies by service are JSON text.
//
// Free-form JSON is stored as plain strings: parquet-go's json logical
// type writes only NULLs from *string fields and panics on string ones.
//
// Dictionary encoding (dict) is on for short enumerations and for the
// long values that repeat within a row group: the object key (one per
// file), userIdentity and its ARNs (one per session), user agents and
// tlsDetails. It makes those columns a fraction of their plain size and
// spares zstd most of their bytes (BenchmarkEventsWriter: 154 → 112
// Parquet bytes per row, rows/s up about 10%).
type EventRow struct {
	EventTime          *time.Time `parquet:"event_time,optional,timestamp(microsecond)"`
	EventID            *string    `parquet:"event_id,optional"`
	EventName          *string    `parquet:"event_name,optional,dict"`
	EventSource        *string    `parquet:"event_source,optional,dict"`
	AWSRegion          *string    `parquet:"aws_region,optional,dict"`
	RecipientAccountID *string    `parquet:"recipient_account_id,optional,dict"`
	SourceIPAddress    *string    `parquet:"source_ip_address,optional"`
	UserAgent          *string    `parquet:"user_agent,optional,dict"`
	ErrorCode          *string    `parquet:"error_code,optional,dict"`
	ErrorMessage       *string    `parquet:"error_message,optional"`
	ReadOnly           *bool      `parquet:"read_only,optional"`
	ManagementEvent    *bool      `parquet:"management_event,optional"`
	EventVersion       *string    `parquet:"event_version,optional,dict"`
	EventType          *string    `parquet:"event_type,optional,dict"`
	EventCategory      *string    `parquet:"event_category,optional,dict"`
	APIVersion         *string    `parquet:"api_version,optional,dict"`
	RequestID          *string    `parquet:"request_id,optional"`
	SharedEventID      *string    `parquet:"shared_event_id,optional"`
	VPCEndpointID      *string    `parquet:"vpc_endpoint_id,optional"`
	// SessionCredentialFromConsole is CloudTrail's "true" string as a
	// boolean.
	SessionCredentialFromConsole *bool `parquet:"session_credential_from_console,optional"`

	UserType              *string `parquet:"user_type,optional,dict"`
	UserARN               *string `parquet:"user_arn,optional,dict"`
	UserPrincipalID       *string `parquet:"user_principal_id,optional"`
	UserAccountID         *string `parquet:"user_account_id,optional,dict"`
	UserAccessKeyID       *string `parquet:"user_access_key_id,optional"`
	UserName              *string `parquet:"user_name,optional"`
	InvokedBy             *string `parquet:"invoked_by,optional,dict"`
	IdentityProvider      *string `parquet:"identity_provider,optional"`
	SessionIssuerType     *string `parquet:"session_issuer_type,optional,dict"`
	SessionIssuerARN      *string `parquet:"session_issuer_arn,optional,dict"`
	SessionIssuerUserName *string `parquet:"session_issuer_user_name,optional"`
	SourceIdentity        *string `parquet:"source_identity,optional"`
	MFAAuthenticated      *bool   `parquet:"mfa_authenticated,optional"`

	UserIdentity        *string `parquet:"user_identity,optional,dict"`
	RequestParameters   *string `parquet:"request_parameters,optional"`
	ResponseElements    *string `parquet:"response_elements,optional"`
	AdditionalEventData *string `parquet:"additional_event_data,optional"`
	ServiceEventDetails *string `parquet:"service_event_details,optional"`
	Resources           *string `parquet:"resources,optional"`
	Addendum            *string `parquet:"addendum,optional"`
	TLSDetails          *string `parquet:"tls_details,optional,dict"`
	EdgeDeviceDetails   *string `parquet:"edge_device_details,optional"`
	InsightDetails      *string `parquet:"insight_details,optional"`

	// ObjectKey and RecordIndex locate the record: the object it was read
	// from and its position in the file's Records array.
	ObjectKey   string `parquet:"object_key,dict"`
	RecordIndex int32  `parquet:"record_index"`
	// ObjectVersionID is the S3 version ID of a noncurrent version the
	// record was read from (analyze --versions); NULL for the current
	// object.
	ObjectVersionID *string `parquet:"object_version_id,optional"`
	// ObjectKind is "log", "insight", "network_activity" or "aggregated".
	ObjectKind string `parquet:"object_kind,dict"`
	// ObjectTime is the delivery slot in the file name.
	ObjectTime *time.Time `parquet:"object_time,optional,timestamp(microsecond)"`
	// AccountID, Region and OrgID are the folders the file was delivered
	// to, which may differ from recipient_account_id and aws_region.
	AccountID string  `parquet:"account_id,dict"`
	Region    string  `parquet:"region,dict"`
	OrgID     *string `parquet:"org_id,optional,dict"`
	// Integrity is the log file's verdict: valid, modified, unlisted or
	// unverified.
	Integrity string `parquet:"integrity,dict"`
}

// EventsOptions configures an EventsWriter.
type EventsOptions struct {
	// Partitioned writes Hive partitions account_id=/region=/date=.
	Partitioned bool
	// RowsPerRowGroup bounds row groups (default DefaultRowsPerRowGroup).
	// A row group is also cut when its rows hold more than
	// maxRowGroupBytes, or when all open files together buffer more than
	// maxBufferedBytes.
	RowsPerRowGroup int
	// MaxOpenFiles bounds the partition files open at once (default
	// DefaultMaxOpenFiles); the least recently used is closed, and its
	// partition continues in a new part file.
	MaxOpenFiles int
	// Share makes the writer one of Share.Of writers of one table, each
	// on a goroutine of its own: its files are numbered Share.Index,
	// Share.Index+Share.Of, ... so that no two writers name one alike;
	// its memory bounds (maxBufferedBytes, MaxOpenFiles) are its share of
	// the table's; and only writer 0 writes the empty file of a table
	// without rows. The zero value is a writer alone.
	Share Share
	// Window keeps the records whose eventTime falls inside it. A record
	// whose eventTime is missing or malformed is kept (event_time NULL,
	// date=__HIVE_DEFAULT_PARTITION__) only when the window is open on
	// both sides.
	Window ingest.Window
}

// Share is a writer's place among the writers of one table.
type Share struct {
	Index, Of int
}

// Defaults for EventsOptions. A row group of 32768 CloudTrail records is
// 30-60 MB before compression (cut at maxRowGroupBytes): large enough for
// scans to skip by statistics, small enough to buffer.
const (
	DefaultRowsPerRowGroup = 32768
	DefaultMaxOpenFiles    = 16
)

// Memory bounds, in bytes of row data before encoding (an estimate: the
// sum of the row's string lengths, dictionary-encoded ones twice, plus a
// fixed cost per column). Measured (TestEventsMemoryBounded: every file
// open and filling, every identity and user agent distinct), the heap
// holds about maxBufferedBytes plus 3 MB per open file: some 90 MB with
// DefaultMaxOpenFiles files, whatever the number of rows. A dictionary
// that outgrows maxDictionaryBytes falls back to plain encoding for the
// rest of its row group.
const (
	maxRowGroupBytes   = 32 << 20
	maxBufferedBytes   = 32 << 20
	pageBufferSize     = 64 << 10
	maxDictionaryBytes = 1 << 20
	// maxRowGroupsPerFile bounds a file: the writer holds, for the
	// footer, some 70 KB of metadata (column chunks, page indexes) a row
	// group until the file is closed, which would grow with the archive
	// in one file (TestEventsFileMetadataBounded). 32 full row groups are
	// a million rows, about 100 MB of Parquet.
	maxRowGroupsPerFile = 32
)

// EventsWriter writes the events table: one Parquet file, or one file per
// Hive partition (several when memory forced a partition's file closed).
// Its methods must be called from one goroutine.
type EventsWriter struct {
	open  func(Partition) (io.WriteCloser, error)
	opts  EventsOptions
	files map[Partition]*eventsFile // keyed with Part 0
	parts int
	tick  uint64
	rows  int64
	// buffered is the estimated row data of all open files' unflushed row
	// groups.
	buffered int64
	batch    []EventRow
	// codec is shared by every file: one encoder of bounded memory.
	codec *zstdCodec
	arena rowArena
	err   error
}

// eventsFile is one open Parquet file.
type eventsFile struct {
	part    Partition
	out     io.WriteCloser
	pw      *parquet.GenericWriter[EventRow]
	lastUse uint64
	rows    int   // rows in the current row group
	bytes   int64 // estimated bytes in the current row group
	groups  int   // row groups flushed
}

// NewEventsWriter returns a writer that asks open for each file it writes;
// open gets a sanitized Partition whose Path is where the file belongs,
// relative to the events folder. Each file is closed before Close returns.
func NewEventsWriter(open func(p Partition) (io.WriteCloser, error), opts EventsOptions) *EventsWriter {
	if opts.RowsPerRowGroup <= 0 {
		opts.RowsPerRowGroup = DefaultRowsPerRowGroup
	}
	if opts.Share.Of <= 1 || opts.Share.Index < 0 || opts.Share.Index >= opts.Share.Of {
		opts.Share = Share{Index: 0, Of: 1}
	}
	if opts.MaxOpenFiles <= 0 {
		opts.MaxOpenFiles = max(2, DefaultMaxOpenFiles/opts.Share.Of)
	}
	return &EventsWriter{
		open:  open,
		opts:  opts,
		files: map[Partition]*eventsFile{},
		codec: newZstdCodec(),
	}
}

// Rows is the number of rows written so far.
func (w *EventsWriter) Rows() int64 { return w.rows }

// keep reports whether a record belongs in the table.
func (w *EventsWriter) keep(rec *ingest.Record) bool {
	if rec.Time.IsZero() {
		return w.opts.Window.Start.IsZero() && w.opts.Window.End.IsZero()
	}
	return w.opts.Window.Contains(rec.Time)
}

// partitionOf is the sanitized partition of a record, Part 0.
func (w *EventsWriter) partitionOf(loc *ingest.Location, rec *ingest.Record) Partition {
	if !w.opts.Partitioned {
		return Partition{}
	}
	return Partition{
		Account: sanitizeAccount(loc.Account),
		Region:  sanitizeRegion(loc.Region),
		Date:    dateOf(rec.Time),
	}
}

// Write adds a row for each record of r inside the window, with verdict v
// as its integrity. Objects other than log and Insights files hold no
// records and add nothing. After an error, every call returns it.
func (w *EventsWriter) Write(r *ingest.Result, v analyzer.Verdict) error {
	if w.err != nil {
		return w.err
	}
	if err := w.write(r, v); err != nil {
		w.err = err
	}
	return w.err
}

func (w *EventsWriter) write(r *ingest.Result, v analyzer.Verdict) error {
	var current Partition
	var size int64
	w.batch = w.batch[:0]
	// Every row of the previous object is written: its values can go.
	w.arena.reset()
	p := provenance{
		key:       validUTF8(r.Object.Key),
		kind:      r.Location.Kind.String(),
		account:   validUTF8(r.Location.Account),
		region:    validUTF8(r.Location.Region),
		orgID:     optString(r.Location.OrgID),
		integrity: string(v),
	}
	if !r.Object.Current() {
		p.versionID = optString(validUTF8(r.Object.VersionID))
	}
	p.objectTime = optTime(r.Location.Time)
	for i := range r.Records {
		rec := &r.Records[i]
		if !w.keep(rec) {
			continue
		}
		part := w.partitionOf(&r.Location, rec)
		if part != current && len(w.batch) > 0 {
			if err := w.flushBatch(current, size); err != nil {
				return err
			}
			size = 0
		}
		current = part
		row, n := newEventRow(rec, i, &p, &w.arena)
		w.batch = append(w.batch, row)
		size += n
	}
	if len(w.batch) > 0 {
		return w.flushBatch(current, size)
	}
	return nil
}

// flushBatch writes w.batch, rows of one partition whose estimated size is
// size, cutting row groups at the configured bounds.
func (w *EventsWriter) flushBatch(part Partition, size int64) error {
	defer func() {
		// The rows point into the records: let them go.
		clear(w.batch)
		w.batch = w.batch[:0]
	}()
	f, err := w.file(part)
	if err != nil {
		return err
	}
	perRow := size / int64(len(w.batch))
	rows := w.batch
	for len(rows) > 0 {
		n := min(len(rows), w.opts.RowsPerRowGroup-f.rows)
		if _, err := f.pw.Write(rows[:n]); err != nil {
			return fmt.Errorf("write events %s: %w", f.part.Path(), err)
		}
		rows = rows[n:]
		f.rows += n
		f.bytes += perRow * int64(n)
		w.buffered += perRow * int64(n)
		w.rows += int64(n)
		if f.rows >= w.opts.RowsPerRowGroup || f.bytes >= maxRowGroupBytes {
			if err := w.flushGroup(f); err != nil {
				return err
			}
			if len(rows) > 0 && w.files[part] != f {
				// The file is full and closed; the object's rows go on
				// in the partition's next part.
				if f, err = w.file(part); err != nil {
					return err
				}
			}
		}
	}
	for w.buffered > maxBufferedBytes/int64(w.opts.Share.Of) {
		// Cut the largest pending row group: the hot partition's,
		// which would soon be cut anyway.
		var largest *eventsFile
		for _, o := range w.files {
			if largest == nil || o.bytes > largest.bytes || (o.bytes == largest.bytes && o.part.Part < largest.part.Part) {
				largest = o
			}
		}
		if largest == nil || largest.bytes == 0 {
			break
		}
		if err := w.flushGroup(largest); err != nil {
			return err
		}
	}
	return nil
}

// flushGroup ends f's current row group; a file that reached
// maxRowGroupsPerFile is closed, and its partition continues in a new part.
func (w *EventsWriter) flushGroup(f *eventsFile) error {
	if err := f.pw.Flush(); err != nil {
		return fmt.Errorf("write events %s: %w", f.part.Path(), err)
	}
	w.buffered -= f.bytes
	f.rows, f.bytes = 0, 0
	f.groups++
	if f.groups >= maxRowGroupsPerFile {
		return w.closeFile(f)
	}
	return nil
}

// file returns the open file of a partition, opening it (and closing the
// least recently used one) as needed.
func (w *EventsWriter) file(part Partition) (*eventsFile, error) {
	w.tick++
	if f := w.files[part]; f != nil {
		f.lastUse = w.tick
		return f, nil
	}
	if len(w.files) >= w.opts.MaxOpenFiles {
		var lru *eventsFile
		for _, o := range w.files {
			if lru == nil || o.lastUse < lru.lastUse {
				lru = o
			}
		}
		if err := w.closeFile(lru); err != nil {
			return nil, err
		}
	}
	p := part
	p.Part = w.opts.Share.Index + w.parts*w.opts.Share.Of
	w.parts++
	out, err := w.open(p)
	if err != nil {
		return nil, fmt.Errorf("open events %s: %w", p.Path(), err)
	}
	f := &eventsFile{part: p, out: out, lastUse: w.tick, pw: newEventsParquet(out, w.opts.RowsPerRowGroup, w.codec)}
	w.files[part] = f
	return f, nil
}

// newEventsParquet is the Parquet writer of one events file.
// Row groups are cut by flushGroup; the writer's own limit never triggers
// first.
func newEventsParquet(out io.Writer, rowsPerRowGroup int, codec *zstdCodec) *parquet.GenericWriter[EventRow] {
	opts := []parquet.WriterOption{
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(int64(rowsPerRowGroup)),
		parquet.PageBufferSize(pageBufferSize),
		parquet.DictionaryMaxBytes(maxDictionaryBytes),
		parquet.KeyValueMetadata("trailcover.table", "events"),
	}
	// JSON and free text get no min/max statistics: no query prunes row
	// groups by them, and the writer would keep them, for the footer, a
	// quarter of its metadata.
	for _, col := range []string{
		"user_agent", "error_message", "user_identity", "request_parameters", "response_elements",
		"additional_event_data", "service_event_details", "resources", "addendum", "tls_details",
		"edge_device_details", "insight_details",
	} {
		opts = append(opts, parquet.SkipPageBounds(col))
	}
	return parquet.NewGenericWriter[EventRow](out, opts...)
}

// closeFile finishes one file and forgets it.
func (w *EventsWriter) closeFile(f *eventsFile) error {
	key := f.part
	key.Part = 0
	delete(w.files, key)
	w.buffered -= f.bytes
	err := f.pw.Close()
	if cerr := f.out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close events %s: %w", f.part.Path(), err)
	}
	return nil
}

// Close finishes every open file. A table without rows still gets one
// empty file, so that queries over events/ find the schema.
func (w *EventsWriter) Close() error {
	files := make([]*eventsFile, 0, len(w.files))
	for _, f := range w.files {
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b *eventsFile) int { return cmp.Compare(a.part.Part, b.part.Part) })
	var errs []error
	if w.err != nil {
		errs = append(errs, w.err)
	}
	for _, f := range files {
		if err := w.closeFile(f); err != nil {
			errs = append(errs, err)
		}
	}
	if w.err == nil && w.parts == 0 && w.opts.Share.Index == 0 {
		// No row at all: a flat, empty file.
		p := Partition{Part: 0}
		w.parts++
		out, err := w.open(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("open events %s: %w", p.Path(), err))
		} else {
			f := &eventsFile{part: p, out: out, pw: newEventsParquet(out, w.opts.RowsPerRowGroup, w.codec)}
			if err := w.closeFile(f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if w.err == nil {
		w.err = errors.New("events writer closed")
	}
	return errors.Join(errs...)
}

// provenance is what the rows of one object share.
type provenance struct {
	key, kind, account, region string
	orgID                      *string
	objectTime                 *time.Time
	integrity                  string
	versionID                  *string
}

// perColumnCost is the estimate of a column's bookkeeping per row (levels,
// offsets) added to its data.
const perColumnCost = 4

// newEventRow builds the row of record i and estimates its size. String
// fields point into rec, which must outlive the write, and into the arena.
func newEventRow(rec *ingest.Record, i int, p *provenance, a *rowArena) (EventRow, int64) {
	u := &rec.UserIdentity
	sc := &u.SessionContext
	row := EventRow{
		EventID:            ref(&rec.EventID),
		EventName:          ref(&rec.EventName),
		EventSource:        ref(&rec.EventSource),
		AWSRegion:          ref(&rec.AWSRegion),
		RecipientAccountID: ref(&rec.RecipientAccountID),
		SourceIPAddress:    ref(&rec.SourceIPAddress),
		UserAgent:          ref(&rec.UserAgent),
		ErrorCode:          ref(&rec.ErrorCode),
		ErrorMessage:       ref(&rec.ErrorMessage),
		ReadOnly:           a.optBool(rec.ReadOnly),
		ManagementEvent:    a.optBool(rec.ManagementEvent),
		EventVersion:       ref(&rec.EventVersion),
		EventType:          ref(&rec.EventType),
		EventCategory:      ref(&rec.EventCategory),
		APIVersion:         ref(&rec.APIVersion),
		RequestID:          ref(&rec.RequestID),
		SharedEventID:      ref(&rec.SharedEventID),
		VPCEndpointID:      ref(&rec.VPCEndpointID),

		SessionCredentialFromConsole: a.textBool(rec.SessionCredentialFromConsole),

		UserType:              ref(&u.Type),
		UserARN:               ref(&u.ARN),
		UserPrincipalID:       ref(&u.PrincipalID),
		UserAccountID:         ref(&u.AccountID),
		UserAccessKeyID:       ref(&u.AccessKeyID),
		UserName:              ref(&u.UserName),
		InvokedBy:             ref(&u.InvokedBy),
		IdentityProvider:      ref(&u.IdentityProvider),
		SessionIssuerType:     ref(&sc.SessionIssuer.Type),
		SessionIssuerARN:      ref(&sc.SessionIssuer.ARN),
		SessionIssuerUserName: ref(&sc.SessionIssuer.UserName),
		SourceIdentity:        ref(&sc.SourceIdentity),
		MFAAuthenticated:      a.textBool(sc.Attributes.MFAAuthenticated),

		UserIdentity:        a.json(u.Raw),
		RequestParameters:   a.json(rec.RequestParameters),
		ResponseElements:    a.json(rec.ResponseElements),
		AdditionalEventData: a.json(rec.AdditionalEventData),
		ServiceEventDetails: a.json(rec.ServiceEventDetails),
		Resources:           a.json(rec.Resources),
		Addendum:            a.json(rec.Addendum),
		TLSDetails:          a.json(rec.TLSDetails),
		EdgeDeviceDetails:   a.json(rec.EdgeDeviceDetails),
		InsightDetails:      a.json(rec.InsightDetails),

		ObjectKey:       p.key,
		ObjectVersionID: p.versionID,
		RecordIndex:     int32(min(i, 1<<31-1)),
		ObjectKind:      p.kind,
		ObjectTime:      p.objectTime,
		AccountID:       p.account,
		Region:          p.region,
		OrgID:           p.orgID,
		Integrity:       p.integrity,
		EventTime:       a.time(rec.Time),
	}
	size := int64(len(rec.EventVersion) + len(rec.EventTime) + len(rec.EventSource) +
		len(rec.EventName) + len(rec.AWSRegion) + len(rec.SourceIPAddress) +
		len(rec.UserAgent) + len(rec.ErrorCode) + len(rec.ErrorMessage) +
		len(rec.RequestID) + len(rec.EventID) + len(rec.EventType) +
		len(rec.EventCategory) + len(rec.APIVersion) + len(rec.RecipientAccountID) +
		len(rec.SharedEventID) + len(rec.VPCEndpointID) +
		len(u.Raw) + len(rec.RequestParameters) + len(rec.ResponseElements) +
		len(rec.AdditionalEventData) + len(rec.ServiceEventDetails) + len(rec.Resources) +
		len(rec.Addendum) + len(rec.TLSDetails) + len(rec.EdgeDeviceDetails) +
		len(rec.InsightDetails) + len(p.key) + optLen(p.versionID) +
		// userIdentity's fields are written twice: as columns, and
		// within user_identity.
		len(u.Raw))
	size += perColumnCost * eventColumns
	// Dictionary-encoded columns hold each distinct value a second time,
	// in the dictionary and its hash table: counted as if every value
	// were distinct (the worst case), so that memory stays bounded.
	size += dictCost(len(rec.UserAgent), len(u.ARN), len(sc.SessionIssuer.ARN), len(u.Raw), len(rec.TLSDetails))
	return row, size
}

// dictEntryCost is the bookkeeping of one dictionary entry (hash table
// slot, string header, offset).
const dictEntryCost = 48

// dictCost is what values of these lengths cost a dictionary when each
// is distinct.
func dictCost(lengths ...int) int64 {
	var n int64
	for _, l := range lengths {
		if l > 0 {
			n += int64(l) + dictEntryCost
		}
	}
	return n
}

// eventColumns is the number of columns of EventRow (a test checks it).
const eventColumns = 52

// ref is nil for "" and s otherwise: the row points into the record.
// Strings decoded by encoding/json are valid UTF-8 already.
func ref(s *string) *string {
	if *s == "" {
		return nil
	}
	return s
}

// optString is nil for "" and a pointer to a copy of s otherwise.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// rowArena holds the values the rows of one object point to, so that an
// optional column costs a row no allocation: the rows are written before
// Write returns, and the arena is reset at the next one. A pointer taken
// before append grew a slice still points to the old array, which holds
// the same value and lives as long as the pointer.
type rowArena struct {
	strs  []string
	times []time.Time
	bools [2]bool
}

func (a *rowArena) reset() {
	clear(a.strs)
	clear(a.times)
	a.strs, a.times = a.strs[:0], a.times[:0]
	a.bools = [2]bool{false, true}
}

// json is raw JSON as text: nil when absent or null. The text shares the
// record's bytes, which nothing writes to after decoding (the decoder
// gives every record buffers of its own), instead of copying a kilobyte
// a row. Invalid UTF-8 (which would make readers such as DuckDB reject
// the file) becomes U+FFFD, in a copy.
func (a *rowArena) json(raw json.RawMessage) *string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s := unsafe.String(unsafe.SliceData(raw), len(raw))
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	a.strs = append(a.strs, s)
	return &a.strs[len(a.strs)-1]
}

// time is nil for the zero time and the time in UTC otherwise.
func (a *rowArena) time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	a.times = append(a.times, t.UTC())
	return &a.times[len(a.times)-1]
}

// boolean points to a true or false that every row shares (the writer
// only reads what rows point to).
func (a *rowArena) boolean(v bool) *bool {
	if v {
		return &a.bools[1]
	}
	return &a.bools[0]
}

// optBool is nil when the record had no such field.
func (a *rowArena) optBool(b ingest.Bool) *bool {
	if !b.Set {
		return nil
	}
	return a.boolean(b.Value)
}

// textBool reads CloudTrail's "true"/"false" strings; anything else is
// nil.
func (a *rowArena) textBool(t ingest.Text) *bool {
	switch {
	case strings.EqualFold(string(t), "true"):
		return a.boolean(true)
	case strings.EqualFold(string(t), "false"):
		return a.boolean(false)
	}
	return nil
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// optLen is the length of an optional string.
func optLen(s *string) int {
	if s == nil {
		return 0
	}
	return len(*s)
}
