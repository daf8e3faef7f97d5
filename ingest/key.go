package ingest

import (
	"net/netip"
	"strings"
	"time"
)

// Kind says what a key in a CloudTrail bucket holds.
type Kind uint8

const (
	// KindOther is everything that is not a CloudTrail log, digest or
	// Insights file: Config and ELB objects, folder keys, injected junk.
	// Its bytes are never parsed as CloudTrail records.
	KindOther Kind = iota
	// KindLog is a CloudTrail log file under CloudTrail/.
	KindLog
	// KindDigest is a log-file-integrity digest under CloudTrail-Digest/.
	KindDigest
	// KindInsight is a CloudTrail Insights file under CloudTrail-Insight/.
	KindInsight
	// KindNetworkActivity is a file of VPC endpoint network activity
	// events (eventCategory NetworkActivity) under
	// CloudTrail-NetworkActivity/.
	KindNetworkActivity
	// KindAggregated is a file of aggregated data events (eventCategory
	// Aggregated, five-minute summaries) under CloudTrail-Aggregated/.
	KindAggregated
)

// HoldsRecords reports whether objects of kind are files of records,
// {"Records":[...]}: every kind but digests and other objects.
func (k Kind) HoldsRecords() bool {
	switch k {
	case KindLog, KindInsight, KindNetworkActivity, KindAggregated:
		return true
	}
	return false
}

func (k Kind) String() string {
	switch k {
	case KindLog:
		return "log"
	case KindDigest:
		return "digest"
	case KindInsight:
		return "insight"
	case KindNetworkActivity:
		return "network_activity"
	case KindAggregated:
		return "aggregated"
	}
	return "other"
}

// The folder names CloudTrail writes below AWSLogs/<account>/.
const (
	folderLog     = "CloudTrail"
	folderDigest  = "CloudTrail-Digest"
	folderInsight = "CloudTrail-Insight"
	folderNetwork = "CloudTrail-NetworkActivity"
	folderAggreg  = "CloudTrail-Aggregated"
	awsLogs       = "AWSLogs"
)

// Time layouts of the timestamps in file names: log and Insights files carry
// minutes, digests carry seconds.
const (
	logTimeLayout    = "20060102T1504Z"
	digestTimeLayout = "20060102T150405Z"
)

// Location is a parsed object key. For KindOther only Key and, when the key
// sits inside a CloudTrail folder but breaks its grammar, Anomaly are set.
type Location struct {
	Key  string
	Kind Kind
	// Prefix is the part of the key before "AWSLogs/", with its trailing
	// slash, or "" when the key starts with AWSLogs/. It is the trail's S3
	// key prefix.
	Prefix string
	// OrgID is the organization ID of an organization trail, or "".
	OrgID   string
	Account string
	// Region is the region the object was delivered from: the folder
	// region. For digests this is the source region of the chain.
	Region string
	// Time is the file-name timestamp: the delivery slot of a log or
	// Insights file (minute precision), the end of a digest's window.
	Time time.Time
	// Unique is the 16-character string that keeps log file names apart.
	Unique string
	// Trail and HomeRegion are set for digests only.
	Trail      string
	HomeRegion string
	// Backfill marks a backfill digest (a second chain per trail).
	Backfill bool
	// Anomaly explains why a key under a CloudTrail, CloudTrail-Digest or
	// CloudTrail-Insight folder was classified as KindOther. Such keys are
	// not written by CloudTrail and deserve a look.
	Anomaly string
	// Layout, when not empty, says how a CloudTrail object's key departs
	// from where CloudTrail writes it: a file recognised by its name
	// outside the AWSLogs/ folders (an export, a SIEM dump, a re-laid
	// copy), or one stored uncompressed (.json). ObjectKey is then the
	// key CloudTrail wrote, which digests list, and Prefix is unknown.
	Layout string
}

// The Layout notes.
const (
	LayoutRelaid       = "outside CloudTrail's folder layout (recognised by its file name)"
	LayoutUncompressed = "stored uncompressed (.json, not .json.gz)"
)

// ParseKey classifies an object key of a CloudTrail bucket. It never fails:
// a key that does not follow CloudTrail's grammar exactly is KindOther.
// Prefixes of any depth, organization trails and the Control Tower layout
// (the organization ID as prefix and again below AWSLogs/) are recognized.
func ParseKey(key string) Location {
	loc := Location{Key: key}
	// Parse from the right: the grammar's tail has a fixed number of
	// segments, while the prefix may hold any number of slashes.
	file, rest, ok := cutLast(key)
	if !ok {
		return parseByName(key, key)
	}
	day, rest, ok1 := cutLast(rest)
	month, rest, ok2 := cutLast(rest)
	year, rest, ok3 := cutLast(rest)
	region, rest, ok4 := cutLast(rest)
	folder, rest, ok5 := cutLast(rest)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return parseByName(key, file)
	}
	kind, ok := kindOfFolder(folder)
	if !ok {
		return parseByName(key, file)
	}
	// From here on the key claims to be CloudTrail's; every mismatch is an
	// anomaly worth reporting.
	fail := func(why string) Location {
		return Location{Key: key, Anomaly: why}
	}
	account, rest, ok := cutLast(rest)
	if !ok {
		return fail("no account folder")
	}
	if !IsAccountID(account) {
		return fail("account folder is not a 12-digit account ID")
	}
	// What is left is "[<prefix>/]AWSLogs[/<org>]". cutLast reports
	// ok=false when it reached the start of the key: no prefix.
	seg, rest, hasPrefix := cutLast(rest)
	if seg != awsLogs {
		if !IsOrgID(seg) {
			return fail("the folder above the account is neither AWSLogs nor an organization ID")
		}
		loc.OrgID = seg
		if !hasPrefix {
			return fail("no AWSLogs folder above the organization ID")
		}
		seg, rest, hasPrefix = cutLast(rest)
		if seg != awsLogs {
			return fail("no AWSLogs folder above the organization ID")
		}
	}
	if hasPrefix {
		loc.Prefix = rest + "/"
	}
	if !IsRegion(region) {
		return fail("region folder is not a region name")
	}
	folderDate, ok := parseFolderDate(year, month, day)
	if !ok {
		return fail("date folders are not YYYY/MM/DD")
	}
	loc.Account = account
	loc.Region = region

	var why string
	switch kind {
	case KindLog, KindInsight, KindNetworkActivity, KindAggregated:
		why = parseLogName(&loc, file, folder)
	case KindDigest:
		why = parseDigestName(&loc, file)
	}
	if why != "" {
		return fail(why)
	}
	if y, m, d := loc.Time.Date(); y != folderDate.Year() || m != folderDate.Month() || d != folderDate.Day() {
		return fail("file-name date differs from the date folders")
	}
	loc.Kind = kind
	if strings.HasSuffix(file, ".json") {
		loc.Layout = LayoutUncompressed
	}
	return loc
}

// parseByName recognises a CloudTrail object by its file name alone, for
// a key outside the AWSLogs/ folders: <account>_<folder>_<region>_… as
// CloudTrail names log, digest and Insights files. Anything else is
// KindOther.
func parseByName(key, file string) Location {
	other := Location{Key: key}
	if len(file) < 13 || file[12] != '_' || !IsAccountID(file[:12]) {
		return other
	}
	folder, rest, ok := strings.Cut(file[13:], "_")
	if !ok {
		return other
	}
	kind, ok := kindOfFolder(folder)
	if !ok {
		return other
	}
	region, _, ok := strings.Cut(rest, "_")
	if !ok || !IsRegion(region) {
		return other
	}
	loc := Location{Key: key, Account: file[:12], Region: region}
	var why string
	if kind == KindDigest {
		why = parseDigestName(&loc, file)
	} else {
		why = parseLogName(&loc, file, folder)
	}
	if why != "" {
		return other
	}
	loc.Kind = kind
	loc.Layout = LayoutRelaid
	if strings.HasSuffix(file, ".json") {
		loc.Layout += "; " + LayoutUncompressed
	}
	return loc
}

// parseLogName checks a log or Insights file name,
// <account>_<folder>_<region>_<YYYYMMDDTHHmmZ>_<16 alphanumerics>.json.gz,
// against the folders and fills loc.Time and loc.Unique.
func parseLogName(loc *Location, file, folder string) string {
	name, ok := cutJSONSuffix(file)
	if !ok {
		return "file name does not end in .json.gz"
	}
	head := loc.Account + "_" + folder + "_" + loc.Region + "_"
	tail, ok := strings.CutPrefix(name, head)
	if !ok {
		return "file name does not repeat the account, folder and region"
	}
	const tsLen = len(logTimeLayout)
	if len(tail) != tsLen+1+16 || tail[tsLen] != '_' {
		return "file name does not end in _<timestamp>_<16 characters>"
	}
	t, ok := parseStamp(tail[:tsLen], logTimeLayout)
	if !ok {
		return "file-name timestamp is not YYYYMMDDTHHmmZ"
	}
	unique := tail[tsLen+1:]
	for i := 0; i < len(unique); i++ {
		if !isAlnum(unique[i]) {
			return "unique string is not alphanumeric"
		}
	}
	loc.Time = t
	loc.Unique = unique
	return ""
}

// parseDigestName checks a digest file name,
// <account>_CloudTrail-Digest_<src-region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz.
// Trail names may hold '_' and '.', so the name is taken apart from the
// right: the timestamp and the home region have fixed shapes.
func parseDigestName(loc *Location, file string) string {
	name, ok := cutJSONSuffix(file)
	if !ok {
		return "file name does not end in .json.gz"
	}
	name, loc.Backfill = strings.CutSuffix(name, "_backfill")
	const tsLen = len(digestTimeLayout)
	if len(name) < tsLen+1 || name[len(name)-tsLen-1] != '_' {
		return "file name does not end in _<timestamp>"
	}
	t, ok := parseStamp(name[len(name)-tsLen:], digestTimeLayout)
	if !ok {
		return "file-name timestamp is not YYYYMMDDTHHMMSSZ"
	}
	name = name[:len(name)-tsLen-1]
	i := strings.LastIndexByte(name, '_')
	if i < 0 || !IsRegion(name[i+1:]) {
		return "no home region before the timestamp"
	}
	home := name[i+1:]
	head := loc.Account + "_" + folderDigest + "_" + loc.Region + "_"
	trail, ok := strings.CutPrefix(name[:i], head)
	if !ok {
		return "file name does not repeat the account and source region"
	}
	if !IsTrailName(trail) {
		return "trail name breaks CloudTrail's naming rules"
	}
	loc.Time = t
	loc.Trail = trail
	loc.HomeRegion = home
	return ""
}

// cutJSONSuffix cuts the .json.gz CloudTrail writes, or the .json of a
// copy someone decompressed.
func cutJSONSuffix(file string) (string, bool) {
	if name, ok := strings.CutSuffix(file, ".json.gz"); ok {
		return name, true
	}
	return strings.CutSuffix(file, ".json")
}

// ObjectKey builds the key CloudTrail would write for loc. For a Location
// that ParseKey returned with a kind other than KindOther and no Layout
// note, ObjectKey() == Key.
func (l Location) ObjectKey() string {
	if l.Kind == KindOther {
		return l.Key
	}
	var b strings.Builder
	b.Grow(160)
	b.WriteString(l.Prefix)
	b.WriteString(awsLogs + "/")
	if l.OrgID != "" {
		b.WriteString(l.OrgID + "/")
	}
	folder := folderOf(l.Kind)
	t := l.Time.UTC()
	b.WriteString(l.Account + "/" + folder + "/" + l.Region + "/" + t.Format("2006/01/02") + "/")
	b.WriteString(l.Account + "_" + folder + "_" + l.Region + "_")
	if l.Kind == KindDigest {
		b.WriteString(l.Trail + "_" + l.HomeRegion + "_" + t.Format(digestTimeLayout))
		if l.Backfill {
			b.WriteString("_backfill")
		}
	} else {
		b.WriteString(t.Format(logTimeLayout) + "_" + l.Unique)
	}
	b.WriteString(".json.gz")
	return b.String()
}

// RegionFolder is the prefix of one account's region folder of a kind:
// <prefix>AWSLogs/[<org>/]<account>/<folder>/<region>/.
func (l Location) RegionFolder() string {
	var b strings.Builder
	b.WriteString(l.Prefix + awsLogs + "/")
	if l.OrgID != "" {
		b.WriteString(l.OrgID + "/")
	}
	folder := folderOf(l.Kind)
	b.WriteString(l.Account + "/" + folder + "/" + l.Region + "/")
	return b.String()
}

// kindOfFolder is the kind of object CloudTrail delivers to the account
// folder named folder, if it is one of CloudTrail's.
func kindOfFolder(folder string) (Kind, bool) {
	switch folder {
	case folderLog:
		return KindLog, true
	case folderDigest:
		return KindDigest, true
	case folderInsight:
		return KindInsight, true
	case folderNetwork:
		return KindNetworkActivity, true
	case folderAggreg:
		return KindAggregated, true
	}
	return KindOther, false
}

// folderOf is the account folder CloudTrail delivers objects of kind to
// (log files' for any kind that is not a digest or Insights file).
func folderOf(kind Kind) string {
	switch kind {
	case KindDigest:
		return folderDigest
	case KindInsight:
		return folderInsight
	case KindNetworkActivity:
		return folderNetwork
	case KindAggregated:
		return folderAggreg
	}
	return folderLog
}

// cutLast splits s at its last slash: cutLast("a/b/c") = "c", "a/b", true.
// Without a slash it returns s, "", false.
func cutLast(s string) (last, rest string, ok bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return s, "", false
	}
	return s[i+1:], s[:i], true
}

func parseFolderDate(year, month, day string) (time.Time, bool) {
	if len(year) != 4 || len(month) != 2 || len(day) != 2 {
		return time.Time{}, false
	}
	return parseStamp(year+month+day, "20060102")
}

// parseStamp parses a fixed-width UTC timestamp and insists on digits and
// on the value printing back to the same text, so "20230230" or "+0230101"
// are rejected.
func parseStamp(s, layout string) (time.Time, bool) {
	if len(s) != len(layout) {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		if isDigit(layout[i]) != isDigit(s[i]) {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(layout, s)
	if err != nil || t.Format(layout) != s {
		return time.Time{}, false
	}
	return t, true
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// IsOrgID reports whether s is an AWS Organizations ID, o-[a-z0-9]{10,32}.
func IsOrgID(s string) bool {
	id, ok := strings.CutPrefix(s, "o-")
	if !ok || len(id) < 10 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isDigit(id[i]) && (id[i] < 'a' || id[i] > 'z') {
			return false
		}
	}
	return true
}

// IsRegion reports whether s has the shape of a region name in any
// partition: two to four lower-case letters, one or more lower-case words,
// a number (us-east-1, us-gov-west-1, cn-northwest-1, eusc-de-east-1,
// us-isob-east-1). The shape, not a list, so that regions launched after
// this build are still read.
func IsRegion(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	if n := len(parts[0]); n < 2 || n > 4 || !allLower(parts[0]) {
		return false
	}
	for _, p := range parts[1 : len(parts)-1] {
		if p == "" || !allLower(p) {
			return false
		}
	}
	num := parts[len(parts)-1]
	if num == "" || len(num) > 2 {
		return false
	}
	for i := 0; i < len(num); i++ {
		if !isDigit(num[i]) {
			return false
		}
	}
	return true
}

// IsTrailName reports whether s follows CloudTrail's trail naming rules:
// 3 to 128 ASCII letters, digits, '.', '_' or '-', starting and ending with
// a letter or digit, with no two of '.', '_', '-' next to each other, and
// not in IP address form.
func IsTrailName(s string) bool {
	if len(s) < 3 || len(s) > 128 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) {
			continue
		}
		if c != '.' && c != '_' && c != '-' {
			return false
		}
		if !isAlnum(s[i-1]) {
			return false
		}
	}
	return true
}

func allLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
