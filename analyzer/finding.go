package analyzer

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// Severity orders findings; a batch job fails at or above a chosen one.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, as --fail-on takes it.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// The finding kinds. Their names are part of trailcover's contract.
const (
	KindRegionNotLogged  = "region-not-logged"
	KindDeliveryGap      = "delivery-gap"
	KindDigestChainBreak = "digest-chain-break"
	KindDigestMissing    = "digest-missing"
	KindDigestInvalid    = "digest-invalid"
	KindLogFileMissing   = "log-file-missing"
	KindLogFileModified  = "log-file-modified"
	KindLogFileUnlisted  = "log-file-unlisted"
	KindOutsideAllowlist = "activity-outside-allowlist"
	KindGlobalEventsOff  = "global-events-missing"
	KindLoggingChanged   = "logging-changed"
	KindUnreadableObject = "unreadable-object"
	// KindObjectDeleted and KindObjectOverwritten come from a versioned
	// bucket's history (analyze --versions): CloudTrail objects deleted,
	// or written more than once, that no other finding reports.
	KindObjectDeleted     = "object-deleted"
	KindObjectOverwritten = "object-overwritten"
)

// Finding is one problem found in the archive, with its evidence.
type Finding struct {
	Kind     string
	Severity Severity
	Account  string
	Region   string
	// Start and End bound the time the finding is about; zero when it has
	// none.
	Start, End time.Time
	Title      string
	Detail     string
	// Evidence holds what an investigator needs to check the finding:
	// object keys, event IDs, counts. Values must marshal to JSON
	// deterministically (no maps of non-string keys).
	Evidence map[string]any
}

// compareFindings orders findings for output: most severe first, then by
// kind, account, region, time and title, so that the order never depends
// on the order objects were read in.
func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Account, b.Account),
		cmp.Compare(a.Region, b.Region),
		a.Start.Compare(b.Start),
		a.End.Compare(b.End),
		cmp.Compare(a.Title, b.Title),
		cmp.Compare(a.Detail, b.Detail),
	)
}
