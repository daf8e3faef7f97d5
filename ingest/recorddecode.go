package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// recordDecoder decodes one record at a time into a Record, without
// reflection. It accepts exactly what encoding/json.Unmarshal into a Record
// accepts and yields the same values, which the tests check on genuine
// archives and FuzzRecordDecoder checks on arbitrary bytes:
//
//   - The whole record must be valid JSON, nested at most 10000 deep,
//     unknown members included.
//   - Member names are unescaped, then matched exactly, then without regard
//     to case (Unicode simple folding), so "EventName" sets EventName.
//     CloudTrail never writes such names, but a forged file may; matching
//     them as encoding/json does means a record reads the same whichever
//     decoder reads it.
//   - A repeated member: the last one wins. null leaves a string or a
//     struct as it was, resets Bool, Text and UserIdentity, and makes a
//     raw member the four bytes null. Repeated struct members (such as two
//     sessionContext objects in one userIdentity) are merged.
//   - Strings: invalid UTF-8 becomes U+FFFD, one per bad byte, and so do
//     unpaired surrogate escapes; raw members keep their bytes as they are.
//
// Values never alias the input: a record outlives the scanner's buffer.
// Strings are copied one by one, so that keeping one field (an analyzer
// remembering every eventID) never keeps a whole record alive; short
// strings that repeat from record to record (event names, regions, ARNs)
// are shared through a small cache. A record's raw members share one
// allocation.
type recordDecoder struct {
	data  []byte // the record being decoded
	pos   int    // next byte of data
	depth int    // containers open at pos
	raws  [numRaws]span
	// limit is the deepest nesting decode accepts. spaced and long note
	// whitespace between tokens and numbers longer than maxLiteral, which
	// decodePrefix must leave to the scanner.
	limit  int
	spaced bool
	long   bool
	short  bool   // data ended inside the record
	quiet  bool   // errors are errDeclined, for decodePrefix
	buf    []byte // unescaped string
	stack  []byte // containers open while skipping a value
	seed   maphash.Seed
	cache  [internSlots / 2][2]string
}

// span is data[start:end]; the zero span is absent.
type span struct{ start, end int }

// Raw members of a record, in the order they share their allocation.
const (
	rawUserIdentity = iota
	rawRequestParameters
	rawResponseElements
	rawAdditionalEventData
	rawServiceEventDetails
	rawResources
	rawAddendum
	rawTLSDetails
	rawEdgeDeviceDetails
	rawInsightDetails
	numRaws
)

const (
	// maxJSONDepth is encoding/json's nesting limit. The scanner's own
	// limit is lower; this one matters when the decoder is given bytes
	// that did not pass through the scanner.
	maxJSONDepth = 10000
	// internSlots and maxInterned bound the cache of repeated strings.
	internSlots = 512
	maxInterned = 128
)

func newRecordDecoder() *recordDecoder {
	return &recordDecoder{seed: maphash.MakeSeed()}
}

// release lets go of the last record's bytes and of buffers that one
// unusual record made large, before d is pooled. The cache of repeated
// strings stays: strings are immutable, so sharing them with the next
// file's records is as safe as within one file.
func (d *recordDecoder) release() {
	d.data = nil
	if cap(d.buf) > 64<<10 {
		d.buf = nil
	}
	if cap(d.stack) > 64<<10 {
		d.stack = nil
	}
}

// errSyntax is wrapped by errors about malformed JSON.
var errSyntax = errors.New("invalid JSON")

// errDeclined is every error of decodePrefix, which the scanner never
// sees: describing them would only cost allocations.
var errDeclined = errors.New("left to the scanner")

func (d *recordDecoder) syntaxError(i int) error {
	if i >= len(d.data) {
		d.short = true
	}
	if d.quiet {
		return errDeclined
	}
	if i >= len(d.data) {
		return fmt.Errorf("%w: unexpected end of record", errSyntax)
	}
	return fmt.Errorf("%w: unexpected %q at offset %d", errSyntax, d.data[i], i)
}

// typeError describes a value of the wrong type at d.pos, or the syntax
// error there if it is not a value at all.
func (d *recordDecoder) typeError(want string) error {
	if d.quiet {
		return errDeclined
	}
	var got string
	switch c := d.at(d.pos); {
	case c == '{':
		got = "an object"
	case c == '[':
		got = "an array"
	case c == '"':
		got = "a string"
	case c == 't' || c == 'f':
		got = "a boolean"
	case c == 'n':
		got = "null"
	case c == '-' || isDigit(c):
		got = "a number"
	default:
		return d.syntaxError(d.pos)
	}
	return fmt.Errorf("want %s, got %s", want, got)
}

func (d *recordDecoder) depthError() error {
	if d.quiet {
		return errDeclined
	}
	return fmt.Errorf("%w: nested deeper than %d", errSyntax, d.limit)
}

// memberError says in which member err happened.
func (d *recordDecoder) memberError(name []byte, err error) error {
	if d.quiet {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// at returns data[i], or 0 past the end.
func (d *recordDecoder) at(i int) byte {
	if i < len(d.data) {
		return d.data[i]
	}
	return 0
}

// decode decodes data into r and derives r.Time. r is overwritten.
func (d *recordDecoder) decode(data []byte, r *Record) error {
	*r = Record{}
	d.reset(data, maxJSONDepth, false)
	d.pos = d.skipSpace(0)
	switch d.at(d.pos) {
	case '{':
		if err := d.record(r); err != nil {
			return err
		}
	case 'n':
		// A null record decodes to the zero Record, as in encoding/json.
		if err := d.literal("null"); err != nil {
			return err
		}
	default:
		return d.typeError("an object")
	}
	if d.pos = d.skipSpace(d.pos); d.pos != len(data) {
		return d.syntaxError(d.pos)
	}
	d.copyRaws(r)
	r.Time = parseEventTime(r.EventTime)
	return nil
}

func (d *recordDecoder) reset(data []byte, limit int, quiet bool) {
	d.data, d.pos, d.depth, d.limit, d.quiet = data, 0, 0, limit, quiet
	d.spaced, d.long, d.short = false, false, false
	d.raws = [numRaws]span{}
}

// decodePrefix decodes into r the record that starts buf, where the
// scanner found it, and returns its length. It saves the scanner from
// scanning and copying the record when the scanner would have passed the
// record's bytes unchanged and the decoder would have accepted them: the
// record is valid JSON with no whitespace between tokens, nested at most
// maxDepth deep, with no literal longer than maxLiteral and no more than
// max bytes. Otherwise it returns 0, and r holds garbage; more tells
// whether the record may yet qualify once buf holds more of it.
func (d *recordDecoder) decodePrefix(buf []byte, max int, r *Record) (n int, more bool) {
	capped := len(buf) > max
	if capped {
		buf = buf[:max]
	}
	*r = Record{}
	d.reset(buf, maxDepth, true)
	if len(buf) == 0 || buf[0] != '{' || d.record(r) != nil || d.spaced || d.long {
		return 0, d.short && !d.spaced && !d.long && !capped
	}
	d.copyRaws(r)
	r.Time = parseEventTime(r.EventTime)
	return d.pos, false
}

// copyRaws gives the record's raw members one allocation. Each is capped
// at its own length so that appending to one never overwrites the next.
func (d *recordDecoder) copyRaws(r *Record) {
	n := 0
	for _, s := range d.raws {
		n += s.end - s.start
	}
	if n == 0 {
		return
	}
	buf := make([]byte, n)
	dst := [numRaws]*json.RawMessage{
		rawUserIdentity:        &r.UserIdentity.Raw,
		rawRequestParameters:   &r.RequestParameters,
		rawResponseElements:    &r.ResponseElements,
		rawAdditionalEventData: &r.AdditionalEventData,
		rawServiceEventDetails: &r.ServiceEventDetails,
		rawResources:           &r.Resources,
		rawAddendum:            &r.Addendum,
		rawTLSDetails:          &r.TLSDetails,
		rawEdgeDeviceDetails:   &r.EdgeDeviceDetails,
		rawInsightDetails:      &r.InsightDetails,
	}
	off := 0
	for i, s := range d.raws {
		if s.end == 0 {
			continue
		}
		end := off + copy(buf[off:], d.data[s.start:s.end])
		*dst[i] = buf[off:end:end]
		off = end
	}
}

// Members of Record, in the order of recordNames.
const (
	fieldUnknown = iota - 1
	fieldEventVersion
	fieldUserIdentity
	fieldEventTime
	fieldEventSource
	fieldEventName
	fieldAWSRegion
	fieldSourceIPAddress
	fieldUserAgent
	fieldErrorCode
	fieldErrorMessage
	fieldRequestID
	fieldEventID
	fieldEventType
	fieldEventCategory
	fieldAPIVersion
	fieldReadOnly
	fieldManagementEvent
	fieldRecipientAccountID
	fieldSharedEventID
	fieldVPCEndpointID
	fieldSessionCredentialFromConsole
	fieldRequestParameters
	fieldResponseElements
	fieldAdditionalEventData
	fieldServiceEventDetails
	fieldResources
	fieldAddendum
	fieldTLSDetails
	fieldEdgeDeviceDetails
	fieldInsightDetails
)

// recordNames are the JSON names of Record's fields; the tests check them
// against the struct tags.
var recordNames = [...]string{
	fieldEventVersion:                 "eventVersion",
	fieldUserIdentity:                 "userIdentity",
	fieldEventTime:                    "eventTime",
	fieldEventSource:                  "eventSource",
	fieldEventName:                    "eventName",
	fieldAWSRegion:                    "awsRegion",
	fieldSourceIPAddress:              "sourceIPAddress",
	fieldUserAgent:                    "userAgent",
	fieldErrorCode:                    "errorCode",
	fieldErrorMessage:                 "errorMessage",
	fieldRequestID:                    "requestID",
	fieldEventID:                      "eventID",
	fieldEventType:                    "eventType",
	fieldEventCategory:                "eventCategory",
	fieldAPIVersion:                   "apiVersion",
	fieldReadOnly:                     "readOnly",
	fieldManagementEvent:              "managementEvent",
	fieldRecipientAccountID:           "recipientAccountId",
	fieldSharedEventID:                "sharedEventID",
	fieldVPCEndpointID:                "vpcEndpointId",
	fieldSessionCredentialFromConsole: "sessionCredentialFromConsole",
	fieldRequestParameters:            "requestParameters",
	fieldResponseElements:             "responseElements",
	fieldAdditionalEventData:          "additionalEventData",
	fieldServiceEventDetails:          "serviceEventDetails",
	fieldResources:                    "resources",
	fieldAddendum:                     "addendum",
	fieldTLSDetails:                   "tlsDetails",
	fieldEdgeDeviceDetails:            "edgeDeviceDetails",
	fieldInsightDetails:               "insightDetails",
}

func recordField(name []byte) int {
	switch string(name) {
	case "eventVersion":
		return fieldEventVersion
	case "userIdentity":
		return fieldUserIdentity
	case "eventTime":
		return fieldEventTime
	case "eventSource":
		return fieldEventSource
	case "eventName":
		return fieldEventName
	case "awsRegion":
		return fieldAWSRegion
	case "sourceIPAddress":
		return fieldSourceIPAddress
	case "userAgent":
		return fieldUserAgent
	case "errorCode":
		return fieldErrorCode
	case "errorMessage":
		return fieldErrorMessage
	case "requestID":
		return fieldRequestID
	case "eventID":
		return fieldEventID
	case "eventType":
		return fieldEventType
	case "eventCategory":
		return fieldEventCategory
	case "apiVersion":
		return fieldAPIVersion
	case "readOnly":
		return fieldReadOnly
	case "managementEvent":
		return fieldManagementEvent
	case "recipientAccountId":
		return fieldRecipientAccountID
	case "sharedEventID":
		return fieldSharedEventID
	case "vpcEndpointId":
		return fieldVPCEndpointID
	case "sessionCredentialFromConsole":
		return fieldSessionCredentialFromConsole
	case "requestParameters":
		return fieldRequestParameters
	case "responseElements":
		return fieldResponseElements
	case "additionalEventData":
		return fieldAdditionalEventData
	case "serviceEventDetails":
		return fieldServiceEventDetails
	case "resources":
		return fieldResources
	case "addendum":
		return fieldAddendum
	case "tlsDetails":
		return fieldTLSDetails
	case "edgeDeviceDetails":
		return fieldEdgeDeviceDetails
	case "insightDetails":
		return fieldInsightDetails
	}
	return foldedField(name, recordNames[:])
}

// foldedField finds name among names without regard to case, as
// encoding/json does when no name matches exactly.
func foldedField(name []byte, names []string) int {
	ascii := isASCII(name)
	for i, n := range names {
		// ASCII folds to ASCII of the same length; only a name holding
		// other letters (the Kelvin sign folds to k) can change length.
		if (len(n) == len(name) || !ascii) && bytes.EqualFold(name, []byte(n)) {
			return i
		}
	}
	return fieldUnknown
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (d *recordDecoder) record(r *Record) error {
	more, err := d.beginObject()
	for more && err == nil {
		var name []byte
		if name, err = d.name(); err != nil {
			break
		}
		if err = d.recordMember(r, recordField(name)); err != nil {
			return d.memberError(name, err)
		}
		more, err = d.endMember()
	}
	return err
}

func (d *recordDecoder) recordMember(r *Record, field int) error {
	switch field {
	case fieldEventVersion:
		return d.str(&r.EventVersion, true)
	case fieldUserIdentity:
		return d.userIdentity(&r.UserIdentity)
	case fieldEventTime:
		return d.str(&r.EventTime, true)
	case fieldEventSource:
		return d.str(&r.EventSource, true)
	case fieldEventName:
		return d.str(&r.EventName, true)
	case fieldAWSRegion:
		return d.str(&r.AWSRegion, true)
	case fieldSourceIPAddress:
		return d.str(&r.SourceIPAddress, true)
	case fieldUserAgent:
		return d.str(&r.UserAgent, true)
	case fieldErrorCode:
		return d.str(&r.ErrorCode, true)
	case fieldErrorMessage:
		return d.str(&r.ErrorMessage, true)
	case fieldRequestID:
		return d.str(&r.RequestID, false)
	case fieldEventID:
		return d.str(&r.EventID, false)
	case fieldEventType:
		return d.str(&r.EventType, true)
	case fieldEventCategory:
		return d.str(&r.EventCategory, true)
	case fieldAPIVersion:
		return d.str(&r.APIVersion, true)
	case fieldReadOnly:
		return d.boolean(&r.ReadOnly)
	case fieldManagementEvent:
		return d.boolean(&r.ManagementEvent)
	case fieldRecipientAccountID:
		return d.str(&r.RecipientAccountID, true)
	case fieldSharedEventID:
		return d.str(&r.SharedEventID, false)
	case fieldVPCEndpointID:
		return d.str(&r.VPCEndpointID, true)
	case fieldSessionCredentialFromConsole:
		return d.text(&r.SessionCredentialFromConsole)
	case fieldRequestParameters:
		return d.raw(rawRequestParameters)
	case fieldResponseElements:
		return d.raw(rawResponseElements)
	case fieldAdditionalEventData:
		return d.raw(rawAdditionalEventData)
	case fieldServiceEventDetails:
		return d.raw(rawServiceEventDetails)
	case fieldResources:
		return d.raw(rawResources)
	case fieldAddendum:
		return d.raw(rawAddendum)
	case fieldTLSDetails:
		return d.raw(rawTLSDetails)
	case fieldEdgeDeviceDetails:
		return d.raw(rawEdgeDeviceDetails)
	case fieldInsightDetails:
		return d.raw(rawInsightDetails)
	}
	return d.skip()
}

// Members of UserIdentity.
const (
	fieldType = iota
	fieldPrincipalID
	fieldARN
	fieldAccountID
	fieldAccessKeyID
	fieldUserName
	fieldInvokedBy
	fieldIdentityProvider
	fieldSessionContext
)

var userIdentityNames = [...]string{
	fieldType:             "type",
	fieldPrincipalID:      "principalId",
	fieldARN:              "arn",
	fieldAccountID:        "accountId",
	fieldAccessKeyID:      "accessKeyId",
	fieldUserName:         "userName",
	fieldInvokedBy:        "invokedBy",
	fieldIdentityProvider: "identityProvider",
	fieldSessionContext:   "sessionContext",
}

func userIdentityField(name []byte) int {
	switch string(name) {
	case "type":
		return fieldType
	case "principalId":
		return fieldPrincipalID
	case "arn":
		return fieldARN
	case "accountId":
		return fieldAccountID
	case "accessKeyId":
		return fieldAccessKeyID
	case "userName":
		return fieldUserName
	case "invokedBy":
		return fieldInvokedBy
	case "identityProvider":
		return fieldIdentityProvider
	case "sessionContext":
		return fieldSessionContext
	}
	return foldedField(name, userIdentityNames[:])
}

// userIdentity decodes as UserIdentity.UnmarshalJSON does: null resets it,
// an object replaces it whole, Raw included.
func (d *recordDecoder) userIdentity(u *UserIdentity) error {
	switch d.data[d.pos] {
	case 'n':
		*u = UserIdentity{}
		d.raws[rawUserIdentity] = span{}
		return d.literal("null")
	case '{':
	default:
		return d.typeError("an object")
	}
	*u = UserIdentity{}
	start := d.pos
	more, err := d.beginObject()
	for more && err == nil {
		var name []byte
		if name, err = d.name(); err != nil {
			break
		}
		switch userIdentityField(name) {
		case fieldType:
			err = d.str(&u.Type, true)
		case fieldPrincipalID:
			err = d.str(&u.PrincipalID, true)
		case fieldARN:
			err = d.str(&u.ARN, true)
		case fieldAccountID:
			err = d.str(&u.AccountID, true)
		case fieldAccessKeyID:
			err = d.str(&u.AccessKeyID, true)
		case fieldUserName:
			err = d.str(&u.UserName, true)
		case fieldInvokedBy:
			err = d.str(&u.InvokedBy, true)
		case fieldIdentityProvider:
			err = d.str(&u.IdentityProvider, true)
		case fieldSessionContext:
			err = d.sessionContext(&u.SessionContext)
		default:
			err = d.skip()
		}
		if err != nil {
			return d.memberError(name, err)
		}
		more, err = d.endMember()
	}
	if err != nil {
		return err
	}
	d.raws[rawUserIdentity] = span{start, d.pos}
	return nil
}

// Members of SessionContext and of its two inner structs.
const (
	fieldSessionIssuer = iota
	fieldAttributes
	fieldSourceIdentity
)

var sessionContextNames = [...]string{
	fieldSessionIssuer:  "sessionIssuer",
	fieldAttributes:     "attributes",
	fieldSourceIdentity: "sourceIdentity",
}

const (
	fieldIssuerType = iota
	fieldIssuerPrincipalID
	fieldIssuerARN
	fieldIssuerAccountID
	fieldIssuerUserName
)

var sessionIssuerNames = [...]string{
	fieldIssuerType:        "type",
	fieldIssuerPrincipalID: "principalId",
	fieldIssuerARN:         "arn",
	fieldIssuerAccountID:   "accountId",
	fieldIssuerUserName:    "userName",
}

const (
	fieldCreationDate = iota
	fieldMFAAuthenticated
)

var attributesNames = [...]string{
	fieldCreationDate:     "creationDate",
	fieldMFAAuthenticated: "mfaAuthenticated",
}

// sessionContext decodes into sc as encoding/json decodes into a struct:
// null leaves it unchanged and an object's members are merged into it.
func (d *recordDecoder) sessionContext(sc *SessionContext) error {
	more, err := d.beginStruct()
	for more && err == nil {
		var name []byte
		if name, err = d.name(); err != nil {
			break
		}
		field := fieldUnknown
		switch string(name) {
		case "sessionIssuer":
			field = fieldSessionIssuer
		case "attributes":
			field = fieldAttributes
		case "sourceIdentity":
			field = fieldSourceIdentity
		default:
			field = foldedField(name, sessionContextNames[:])
		}
		switch field {
		case fieldSessionIssuer:
			err = d.sessionIssuer(sc)
		case fieldAttributes:
			err = d.attributes(sc)
		case fieldSourceIdentity:
			err = d.str(&sc.SourceIdentity, true)
		default:
			err = d.skip()
		}
		if err != nil {
			return d.memberError(name, err)
		}
		more, err = d.endMember()
	}
	return err
}

func (d *recordDecoder) sessionIssuer(sc *SessionContext) error {
	si := &sc.SessionIssuer
	more, err := d.beginStruct()
	for more && err == nil {
		var name []byte
		if name, err = d.name(); err != nil {
			break
		}
		field := fieldUnknown
		switch string(name) {
		case "type":
			field = fieldIssuerType
		case "principalId":
			field = fieldIssuerPrincipalID
		case "arn":
			field = fieldIssuerARN
		case "accountId":
			field = fieldIssuerAccountID
		case "userName":
			field = fieldIssuerUserName
		default:
			field = foldedField(name, sessionIssuerNames[:])
		}
		switch field {
		case fieldIssuerType:
			err = d.str(&si.Type, true)
		case fieldIssuerPrincipalID:
			err = d.str(&si.PrincipalID, true)
		case fieldIssuerARN:
			err = d.str(&si.ARN, true)
		case fieldIssuerAccountID:
			err = d.str(&si.AccountID, true)
		case fieldIssuerUserName:
			err = d.str(&si.UserName, true)
		default:
			err = d.skip()
		}
		if err != nil {
			return d.memberError(name, err)
		}
		more, err = d.endMember()
	}
	return err
}

func (d *recordDecoder) attributes(sc *SessionContext) error {
	a := &sc.Attributes
	more, err := d.beginStruct()
	for more && err == nil {
		var name []byte
		if name, err = d.name(); err != nil {
			break
		}
		field := fieldUnknown
		switch string(name) {
		case "creationDate":
			field = fieldCreationDate
		case "mfaAuthenticated":
			field = fieldMFAAuthenticated
		default:
			field = foldedField(name, attributesNames[:])
		}
		switch field {
		case fieldCreationDate:
			err = d.str(&a.CreationDate, true)
		case fieldMFAAuthenticated:
			err = d.text(&a.MFAAuthenticated)
		default:
			err = d.skip()
		}
		if err != nil {
			return d.memberError(name, err)
		}
		more, err = d.endMember()
	}
	return err
}

// beginStruct starts a member that decodes into a plain struct: null is
// consumed and leaves the struct as it was.
func (d *recordDecoder) beginStruct() (more bool, err error) {
	switch d.data[d.pos] {
	case '{':
		return d.beginObject()
	case 'n':
		return false, d.literal("null")
	}
	return false, d.typeError("an object")
}

// beginObject consumes the '{' at d.pos and reports whether a member
// follows.
func (d *recordDecoder) beginObject() (more bool, err error) {
	if d.depth++; d.depth > d.limit {
		return false, d.depthError()
	}
	d.pos = d.skipSpace(d.pos + 1)
	if d.at(d.pos) == '}' {
		d.pos++
		d.depth--
		return false, nil
	}
	return true, nil
}

// endMember consumes the ',' or '}' after a member's value and reports
// whether another member follows.
func (d *recordDecoder) endMember() (more bool, err error) {
	i := d.skipSpace(d.pos)
	switch d.at(i) {
	case ',':
		d.pos = d.skipSpace(i + 1)
		return true, nil
	case '}':
		d.pos = i + 1
		d.depth--
		return false, nil
	}
	return false, d.syntaxError(i)
}

// name reads a member name and the colon after it, leaving d.pos at the
// value. The name aliases the record, or is a fresh copy when it had to
// be unescaped.
func (d *recordDecoder) name() ([]byte, error) {
	if d.at(d.pos) != '"' {
		return nil, d.syntaxError(d.pos)
	}
	start := d.pos + 1
	end, flags, err := d.scanString(start)
	if err != nil {
		return nil, err
	}
	name := d.data[start:end]
	if flags != 0 && !(flags == strNonASCII && utf8.Valid(name)) {
		name = unquote(nil, name)
	}
	i := d.skipSpace(end + 1)
	if d.at(i) != ':' {
		return nil, d.syntaxError(i)
	}
	d.pos = d.skipSpace(i + 1)
	if d.pos >= len(d.data) {
		return nil, d.syntaxError(d.pos)
	}
	return name, nil
}

// str decodes a string member. null leaves *dst unchanged, as
// encoding/json does for a string. intern shares the value with earlier
// records; unique values (IDs) skip the cache.
func (d *recordDecoder) str(dst *string, intern bool) error {
	switch d.data[d.pos] {
	case '"':
		b, err := d.stringValue()
		if err != nil {
			return err
		}
		if intern {
			*dst = d.intern(b)
		} else {
			*dst = string(b)
		}
		return nil
	case 'n':
		return d.literal("null")
	}
	return d.typeError("a string")
}

// text decodes as Text.UnmarshalJSON does.
func (d *recordDecoder) text(dst *Text) error {
	switch c := d.data[d.pos]; {
	case c == '"':
		b, err := d.stringValue()
		if err != nil {
			return err
		}
		*dst = Text(d.intern(b))
		return nil
	case c == 'n':
		*dst = ""
		return d.literal("null")
	case c == 't':
		*dst = "true"
		return d.literal("true")
	case c == 'f':
		*dst = "false"
		return d.literal("false")
	case c == '-' || isDigit(c):
		end, ok := d.number(d.pos)
		if !ok {
			return d.syntaxError(end)
		}
		*dst = Text(d.intern(d.data[d.pos:end]))
		d.pos = end
		return nil
	}
	return d.typeError("a string")
}

// boolean decodes as Bool.UnmarshalJSON does: the raw bytes must be true,
// false, "true", "false" or null, escapes not allowed.
func (d *recordDecoder) boolean(dst *Bool) error {
	switch d.data[d.pos] {
	case 't':
		*dst = Bool{Value: true, Set: true}
		return d.literal("true")
	case 'f':
		*dst = Bool{Value: false, Set: true}
		return d.literal("false")
	case 'n':
		*dst = Bool{}
		return d.literal("null")
	case '"':
		start := d.pos
		end, _, err := d.scanString(start + 1)
		if err != nil {
			return err
		}
		d.pos = end + 1
		switch string(d.data[start:d.pos]) {
		case `"true"`:
			*dst = Bool{Value: true, Set: true}
			return nil
		case `"false"`:
			*dst = Bool{Value: false, Set: true}
			return nil
		}
		if d.quiet {
			return errDeclined
		}
		return fmt.Errorf("want a boolean, got %.40s", d.data[start:d.pos])
	}
	return d.typeError("a boolean")
}

// raw keeps a member as raw JSON.
func (d *recordDecoder) raw(slot int) error {
	start := d.pos
	if err := d.skip(); err != nil {
		return err
	}
	d.raws[slot] = span{start, d.pos}
	return nil
}

// literal consumes want, which must be at d.pos.
func (d *recordDecoder) literal(want string) error {
	if end := d.pos + len(want); end <= len(d.data) && string(d.data[d.pos:end]) == want {
		d.pos = end
		return nil
	}
	i := d.pos
	for i < len(d.data) && i-d.pos < len(want) && d.data[i] == want[i-d.pos] {
		i++
	}
	return d.syntaxError(i)
}

// stringValue consumes the string at d.pos and returns its value, which
// aliases the record or d.buf.
func (d *recordDecoder) stringValue() ([]byte, error) {
	start := d.pos + 1
	end, flags, err := d.scanString(start)
	if err != nil {
		return nil, err
	}
	d.pos = end + 1
	s := d.data[start:end]
	if flags == 0 || (flags == strNonASCII && utf8.Valid(s)) {
		return s, nil
	}
	d.buf = unquote(d.buf[:0], s)
	return d.buf, nil
}

// intern returns b as a string, shared with an earlier equal one when the
// cache holds it. The cache is two-way set associative, least recently
// used out: two strings of a record that collide do not evict each other
// record after record. Collisions only cost an allocation.
func (d *recordDecoder) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInterned {
		return string(b)
	}
	set := &d.cache[maphash.Bytes(d.seed, b)%(internSlots/2)]
	if string(b) == set[0] {
		return set[0]
	}
	if string(b) == set[1] {
		set[0], set[1] = set[1], set[0]
		return set[0]
	}
	set[1] = set[0]
	set[0] = string(b)
	return set[0]
}

// skip validates the value at d.pos and moves past it.
func (d *recordDecoder) skip() error {
	data := d.data
	i := d.pos
	switch c := data[i]; {
	case c == '"':
		end, _, err := d.scanString(i + 1)
		if err != nil {
			return err
		}
		d.pos = end + 1
		return nil
	case c == '{' || c == '[':
		return d.skipContainer()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || isDigit(c):
		end, ok := d.number(i)
		if !ok {
			return d.syntaxError(end)
		}
		d.pos = end
		return nil
	}
	return d.syntaxError(i)
}

// States of skipContainer.
const (
	skipValue = iota
	skipValueOrClose
	skipName
	skipNameOrClose
	skipCommaOrClose
)

// skipContainer validates the object or array at d.pos and moves past it,
// without recursion whatever its depth.
func (d *recordDecoder) skipContainer() error {
	data := d.data
	stack := d.stack[:0]
	depth := d.depth
	i := d.pos
	state := skipValue
	for {
		i = d.skipSpace(i)
		if i >= len(data) {
			return d.syntaxError(i)
		}
		c := data[i]
		switch state {
		case skipName, skipNameOrClose:
			if c == '}' && state == skipNameOrClose {
				break // closed below
			}
			if c != '"' {
				return d.syntaxError(i)
			}
			end, _, err := d.scanString(i + 1)
			if err != nil {
				return err
			}
			if i = d.skipSpace(end + 1); i >= len(data) || data[i] != ':' {
				return d.syntaxError(i)
			}
			i++
			state = skipValue
			continue
		case skipCommaOrClose:
			if c == ',' {
				i++
				state = skipValue
				if stack[len(stack)-1] == '{' {
					state = skipName
				}
				continue
			}
		case skipValue, skipValueOrClose:
			if c == ']' && state == skipValueOrClose {
				break // closed below
			}
			switch {
			case c == '{' || c == '[':
				if depth++; depth > d.limit {
					d.stack = stack
					return d.depthError()
				}
				stack = append(stack, c)
				i++
				state = skipValueOrClose
				if c == '{' {
					state = skipNameOrClose
				}
				continue
			case c == '"':
				end, _, err := d.scanString(i + 1)
				if err != nil {
					return err
				}
				i = end + 1
			case c == 't' || c == 'f' || c == 'n':
				lit := "null"
				if c == 't' {
					lit = "true"
				} else if c == 'f' {
					lit = "false"
				}
				d.pos = i
				if err := d.literal(lit); err != nil {
					return err
				}
				i = d.pos
			case c == '-' || isDigit(c):
				end, ok := d.number(i)
				if !ok {
					return d.syntaxError(end)
				}
				i = end
			default:
				return d.syntaxError(i)
			}
			state = skipCommaOrClose
			continue
		}
		// c must close the innermost container.
		if len(stack) == 0 || (c != '}' && c != ']') || (stack[len(stack)-1] == '{') != (c == '}') {
			return d.syntaxError(i)
		}
		stack = stack[:len(stack)-1]
		depth--
		i++
		if len(stack) == 0 {
			d.stack = stack
			d.pos = i
			return nil
		}
		state = skipCommaOrClose
	}
}

// Flags of scanString.
const (
	strEscaped  = 1 << iota // holds a backslash escape
	strNonASCII             // holds a byte of 0x80 or more
)

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString validates the string whose first content byte is data[i]
// and returns the index of its closing quote.
func (d *recordDecoder) scanString(i int) (end int, flags int, err error) {
	data := d.data
	high := uint64(msb) // stop at bytes of 0x80 or more until one is seen
	for {
		// Eight bytes at a time, stop at the first quote, backslash,
		// control character or (until one is found) non-ASCII byte. The
		// lowest flagged byte is exact: borrows only run upwards.
		if i+8 <= len(data) {
			x := binary.LittleEndian.Uint64(data[i:])
			quote := x ^ ('"' * lsb)
			backslash := x ^ ('\\' * lsb)
			m := ((quote - lsb) &^ quote) | ((backslash - lsb) &^ backslash) | ((x - 0x20*lsb) &^ x) | (x & high)
			if m &= msb; m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else if i >= len(data) {
			return 0, 0, d.syntaxError(i)
		}
		switch c := data[i]; {
		case c == '"':
			return i, flags, nil
		case c == '\\':
			flags |= strEscaped
			switch d.at(i + 1) {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if !isHex(d.at(k)) {
						return 0, 0, d.syntaxError(k)
					}
				}
				i += 6
			default:
				return 0, 0, d.syntaxError(i + 1)
			}
		case c < 0x20:
			return 0, 0, d.syntaxError(i)
		case c >= utf8.RuneSelf:
			flags |= strNonASCII
			high = 0
			i++
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// number is scanNumber, noting literals longer than the scanner takes.
func (d *recordDecoder) number(i int) (int, bool) {
	end, ok := scanNumber(d.data, i)
	if end-i > maxLiteral {
		d.long = true
	}
	return end, ok
}

// scanNumber returns the end of the JSON number at data[i], or the index
// of the byte that breaks it and false.
func scanNumber(data []byte, i int) (int, bool) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return i, false
	case data[i] == '0':
		i++
	case '1' <= data[i] && data[i] <= '9':
		for i++; i < len(data) && isDigit(data[i]); i++ {
		}
	default:
		return i, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return i, false
		}
		for i++; i < len(data) && isDigit(data[i]); i++ {
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return i, false
		}
		for i++; i < len(data) && isDigit(data[i]); i++ {
		}
	}
	return i, true
}

// skipSpace returns the index of the first byte from i on that is not
// whitespace.
func (d *recordDecoder) skipSpace(i int) int {
	if i < len(d.data) && d.data[i] > ' ' {
		return i
	}
	start := i
	for i < len(d.data) {
		switch d.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	if i > start {
		d.spaced = true
	}
	return i
}

// unquote appends the value of the string content s, already validated
// by scanString, to dst. It follows encoding/json's unquote to the byte:
// invalid UTF-8 and unpaired surrogates become U+FFFD.
func unquote(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					var low rune = -1
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' && isHex4(s[i+2:i+6]) {
						low = hex4(s[i+2:])
					}
					if dec := utf16.DecodeRune(r, low); dec != unicode.ReplacementChar {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
					r = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			dst = utf8.AppendRune(dst, r)
			i += size
		}
	}
	return dst
}

func isHex4(b []byte) bool {
	return isHex(b[0]) && isHex(b[1]) && isHex(b[2]) && isHex(b[3])
}

// hex4 decodes four hex digits, already validated.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// parseEventTime is time.Parse(time.RFC3339, s).UTC(), or the zero Time,
// with a fast path for CloudTrail's own layout, 2006-01-02T15:04:05Z.
func parseEventTime(s string) time.Time {
	if len(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' {
		year, ok1 := atoiFixed(s[0:4])
		month, ok2 := atoiFixed(s[5:7])
		day, ok3 := atoiFixed(s[8:10])
		hour, ok4 := atoiFixed(s[11:13])
		minute, ok5 := atoiFixed(s[14:16])
		sec, ok6 := atoiFixed(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && 1 <= month && month <= 12 && 1 <= day && day <= daysIn(month, year) &&
			hour < 24 && minute < 60 && sec < 60 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// atoiFixed parses a field of decimal digits.
func atoiFixed(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
