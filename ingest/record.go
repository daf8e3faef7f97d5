package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one CloudTrail event. Fields whose shape varies by service stay
// raw JSON; fields CloudTrail writes as either booleans or strings are
// typed to accept both. Unknown fields are ignored.
//
// The tags and UnmarshalJSON methods define how a record decodes with
// encoding/json. DecodeLog uses its own decoder (recorddecode.go), which
// the tests hold to the same result.
type Record struct {
	EventVersion       string       `json:"eventVersion"`
	UserIdentity       UserIdentity `json:"userIdentity"`
	EventTime          string       `json:"eventTime"`
	EventSource        string       `json:"eventSource"`
	EventName          string       `json:"eventName"`
	AWSRegion          string       `json:"awsRegion"`
	SourceIPAddress    string       `json:"sourceIPAddress"`
	UserAgent          string       `json:"userAgent"`
	ErrorCode          string       `json:"errorCode"`
	ErrorMessage       string       `json:"errorMessage"`
	RequestID          string       `json:"requestID"`
	EventID            string       `json:"eventID"`
	EventType          string       `json:"eventType"`
	EventCategory      string       `json:"eventCategory"`
	APIVersion         string       `json:"apiVersion"`
	ReadOnly           Bool         `json:"readOnly"`
	ManagementEvent    Bool         `json:"managementEvent"`
	RecipientAccountID string       `json:"recipientAccountId"`
	SharedEventID      string       `json:"sharedEventID"`
	VPCEndpointID      string       `json:"vpcEndpointId"`
	// SessionCredentialFromConsole is the string "true" when set.
	SessionCredentialFromConsole Text `json:"sessionCredentialFromConsole"`

	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData json.RawMessage `json:"additionalEventData"`
	ServiceEventDetails json.RawMessage `json:"serviceEventDetails"`
	Resources           json.RawMessage `json:"resources"`
	Addendum            json.RawMessage `json:"addendum"`
	TLSDetails          json.RawMessage `json:"tlsDetails"`
	EdgeDeviceDetails   json.RawMessage `json:"edgeDeviceDetails"`
	InsightDetails      json.RawMessage `json:"insightDetails"`

	// Time is EventTime parsed; zero when EventTime is missing or not
	// RFC 3339.
	Time time.Time `json:"-"`
}

// UserIdentity is the record's userIdentity. Raw keeps the whole object,
// newer fields included, for output.
type UserIdentity struct {
	Type             string         `json:"type"`
	PrincipalID      string         `json:"principalId"`
	ARN              string         `json:"arn"`
	AccountID        string         `json:"accountId"`
	AccessKeyID      string         `json:"accessKeyId"`
	UserName         string         `json:"userName"`
	InvokedBy        string         `json:"invokedBy"`
	IdentityProvider string         `json:"identityProvider"`
	SessionContext   SessionContext `json:"sessionContext"`

	Raw json.RawMessage `json:"-"`
}

// SessionContext is userIdentity.sessionContext.
type SessionContext struct {
	SessionIssuer struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		UserName    string `json:"userName"`
	} `json:"sessionIssuer"`
	Attributes struct {
		CreationDate string `json:"creationDate"`
		// MFAAuthenticated is the string "true" or "false".
		MFAAuthenticated Text `json:"mfaAuthenticated"`
	} `json:"attributes"`
	SourceIdentity string `json:"sourceIdentity"`
}

// UnmarshalJSON keeps the raw object beside the parsed fields.
func (u *UserIdentity) UnmarshalJSON(b []byte) error {
	type plain UserIdentity
	var p plain
	if bytes.Equal(b, []byte("null")) {
		*u = UserIdentity{}
		return nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*u = UserIdentity(p)
	u.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Bool is a JSON boolean that CloudTrail may also write as a string. Set
// tells an absent or null value from false.
type Bool struct {
	Value bool
	Set   bool
}

// UnmarshalJSON accepts true, false, "true", "false" and null.
func (b *Bool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = Bool{Value: true, Set: true}
	case "false", `"false"`:
		*b = Bool{Value: false, Set: true}
	case "null":
		*b = Bool{}
	default:
		return fmt.Errorf("want a boolean, got %.40s", data)
	}
	return nil
}

// Text is a JSON string that CloudTrail may also write as a boolean or a
// number; it keeps the value's text.
type Text string

// UnmarshalJSON accepts a string, a boolean, a number or null.
func (t *Text) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*t = Text(s)
		return nil
	}
	switch {
	case string(data) == "null":
		*t = ""
	case string(data) == "true" || string(data) == "false" || (len(data) > 0 && (data[0] == '-' || isDigit(data[0]))):
		*t = Text(data)
	default:
		return fmt.Errorf("want a string, got %.40s", data)
	}
	return nil
}

// ParseEventVersion splits "major.minor" into integers, so that "1.10" is
// newer than "1.09" (CloudTrail's minor versions are not decimals).
func ParseEventVersion(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(v, ".")
	if !found || !allDigits(a) || !allDigits(b) || len(a) > 4 || len(b) > 4 {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(a)
	minor, _ = strconv.Atoi(b)
	return major, minor, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
