package analyzer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// Event sources whose calls change what CloudTrail records.
const (
	sourceCloudTrail = "cloudtrail.amazonaws.com"
	sourceS3         = "s3.amazonaws.com"
)

// loggingCall describes one API call that changes logging: its severity
// when it succeeds, before the request parameters refine it, and what it
// does in words.
type loggingCall struct {
	severity Severity
	does     string
	// bucket marks S3 calls, which matter only on a trail bucket.
	bucket bool
	// stops marks calls that can explain a delivery gap.
	stops bool
	// starts marks calls that can explain the end of one.
	starts bool
}

// loggingCalls are the calls logging-changed reports, by event source and
// name. CloudTrail's own calls are always reported; S3 calls only when
// they name a bucket CloudTrail delivers to.
var loggingCalls = map[string]map[string]loggingCall{
	sourceCloudTrail: {
		"StopLogging":                 {severity: High, does: "stopped logging", stops: true},
		"DeleteTrail":                 {severity: High, does: "deleted a trail", stops: true},
		"UpdateTrail":                 {severity: Medium, does: "updated a trail", stops: true, starts: true},
		"PutEventSelectors":           {severity: Medium, does: "changed the event selectors", stops: true},
		"PutAdvancedEventSelectors":   {severity: Medium, does: "changed the advanced event selectors", stops: true},
		"PutInsightSelectors":         {severity: Low, does: "changed the Insights selectors"},
		"DeleteEventDataStore":        {severity: High, does: "deleted an event data store"},
		"StopEventDataStoreIngestion": {severity: High, does: "stopped event data store ingestion"},
		"UpdateEventDataStore":        {severity: Medium, does: "updated an event data store"},
		"StartLogging":                {severity: Info, does: "started logging", starts: true},
		"CreateTrail":                 {severity: Info, does: "created a trail", starts: true},
	},
	sourceS3: {
		"PutBucketPolicy":                 {severity: Medium, does: "replaced the trail bucket's policy", bucket: true, stops: true},
		"DeleteBucketPolicy":              {severity: High, does: "deleted the trail bucket's policy (CloudTrail can no longer write to it)", bucket: true, stops: true},
		"PutBucketLifecycle":              {severity: Medium, does: "changed the trail bucket's lifecycle rules", bucket: true},
		"PutBucketLifecycleConfiguration": {severity: Medium, does: "changed the trail bucket's lifecycle rules", bucket: true},
		"DeleteBucketLifecycle":           {severity: Low, does: "deleted the trail bucket's lifecycle rules", bucket: true},
		"PutBucketVersioning":             {severity: Medium, does: "changed the trail bucket's versioning", bucket: true},
		"PutBucketAcl":                    {severity: Medium, does: "changed the trail bucket's ACL", bucket: true},
		"DeleteBucketPublicAccessBlock":   {severity: Medium, does: "removed the trail bucket's public access block", bucket: true},
		"DeleteBucket":                    {severity: High, does: "deleted the trail bucket", bucket: true, stops: true},
	},
}

// globalSources are the event sources of the global services whose events
// a trail receives only with "include global service events" on
// (reference §2.4).
var globalSources = map[string]bool{
	"iam.amazonaws.com":        true,
	"sts.amazonaws.com":        true,
	"signin.amazonaws.com":     true,
	"cloudfront.amazonaws.com": true,
}

// maxLoggingChanges bounds the calls kept for logging-changed; an archive
// with more is reported as such, not held in memory (each call keeps its
// decoded request: at 100,000, the simulated 10 GB archive's 125,000
// calls held an estimated 100 MB). events/ holds every one of them.
const maxLoggingChanges = 10_000

// maxParamsEvidence caps the request parameters copied into evidence.
const maxParamsEvidence = 4096

// Global-events thresholds: how long an account must deliver from its
// partition's global region, and how many events it must record, before
// the absence of global-service events means something.
const (
	globalMinSpan      = 12 * time.Hour
	globalMinRecords   = 100
	globalHighSpan     = 24 * time.Hour
	globalHighRecords  = 1000
	gapLinkBefore      = 6 * time.Hour
	gapLinkAfter       = time.Hour
	gapResumeTolerance = time.Hour
)

// loggingChange is one call that changed, or tried to change, what is
// logged.
type loggingChange struct {
	account, region string
	time            time.Time
	source, name    string
	call            loggingCall
	eventID         string
	principal       string
	userType        string
	accessKey       string
	sourceIP        string
	userAgent       string
	errorCode       string
	errorMessage    string
	params          []byte         // for evidence: compacted, capped
	request         map[string]any // decoded whole, for the calls classify refines
	expires         bool           // a lifecycle configuration with an Expiration
	bucket          string         // S3 calls: requestParameters.bucketName
	trail           string         // CloudTrail calls: the trail or data store named
	object          string         // the log file the record came from

	// Set in finish.
	severity Severity
	why      string
	evidence map[string]any
}

// succeeded reports whether the call went through.
func (c *loggingChange) succeeded() bool { return c.errorCode == "" }

// span is the first and last time something was seen.
type span struct{ first, last time.Time }

func (s *span) add(t time.Time) {
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
}

func (s span) length() time.Duration { return s.last.Sub(s.first) }

// globalState is what global-events-missing knows of one account.
type globalState struct {
	// delivery spans log and digest objects in the window, by region.
	delivery map[string]*span
	records  int
	// global counts events that prove global-service events are
	// delivered; regional counts STS and sign-in events of regional
	// endpoints, which are logged whatever the setting.
	global   int
	regional int
	sources  map[string]int
}

// logging reports logging-changed and global-events-missing.
type logging struct {
	cfg     Config
	regions *RegionModel
	changes []*loggingChange
	dropped int
	// trailBuckets are the buckets CloudTrail is known to deliver to:
	// Config.Bucket, the buckets digests name, buckets trails are created
	// in. movedTo are the buckets UpdateTrail moved a trail to.
	trailBuckets map[string]bool
	movedTo      map[string]bool
	accounts     map[string]*globalState
}

func newLogging(cfg Config, regions *RegionModel) *logging {
	l := &logging{
		cfg:          cfg,
		regions:      regions,
		trailBuckets: map[string]bool{},
		movedTo:      map[string]bool{},
		accounts:     map[string]*globalState{},
	}
	if cfg.Bucket != "" {
		l.trailBuckets[cfg.Bucket] = true
	}
	return l
}

func (l *logging) account(id string) *globalState {
	s := l.accounts[id]
	if s == nil {
		s = &globalState{delivery: map[string]*span{}, sources: map[string]int{}}
		l.accounts[id] = s
	}
	return s
}

func (l *logging) object(r *ingest.Result, _ *Verdict) {
	loc := r.Location
	switch loc.Kind {
	case ingest.KindDigest:
		if d := r.Digest; d != nil {
			// The buckets digests name are where CloudTrail delivers.
			if d.DigestS3Bucket != "" {
				l.trailBuckets[d.DigestS3Bucket] = true
			}
			for _, f := range d.LogFiles {
				if f.S3Bucket != "" {
					l.trailBuckets[f.S3Bucket] = true
				}
			}
		}
	case ingest.KindLog:
	default:
		return
	}
	if !l.cfg.Window.Contains(loc.Time) || (r.Err != nil && len(r.Records) == 0) {
		return
	}
	s := l.account(loc.Account)
	sp := s.delivery[loc.Region]
	if sp == nil {
		sp = &span{}
		s.delivery[loc.Region] = sp
	}
	sp.add(loc.Time)
}

// recordAccount is the account a record belongs to: its log file's
// account folder, or the record's recipient when fed without a location.
func recordAccount(rec *ingest.Record, r *ingest.Result) string {
	if r != nil && r.Location.Account != "" {
		return r.Location.Account
	}
	if rec.RecipientAccountID != "" {
		return rec.RecipientAccountID
	}
	return rec.UserIdentity.AccountID
}

// recordRegion is the region a record's call was made in: awsRegion, or,
// when that is missing or not shaped like a region, the folder it was
// delivered to.
func recordRegion(rec *ingest.Record, r *ingest.Result) string {
	if ingest.IsRegion(rec.AWSRegion) {
		return rec.AWSRegion
	}
	if r != nil {
		return r.Location.Region
	}
	return ""
}

// isAPIRecord reports whether a record is an API call or service event,
// as opposed to an Insights record.
func isAPIRecord(rec *ingest.Record, r *ingest.Result) bool {
	if r != nil && (r.Location.Kind == ingest.KindInsight || r.Location.Kind == ingest.KindAggregated) {
		return false
	}
	// Aggregated events summarise data events: no call of their own.
	return rec.EventType != "AwsCloudTrailInsight" && rec.EventCategory != "Aggregated"
}

func (l *logging) event(rec *ingest.Record, r *ingest.Result) {
	if !isAPIRecord(rec, r) {
		return
	}
	acct := recordAccount(rec, r)
	s := l.account(acct)
	s.records++
	if globalSources[rec.EventSource] {
		s.sources[rec.EventSource]++
		if l.provesGlobal(rec, r) {
			s.global++
		} else {
			s.regional++
		}
	}
	call, ok := loggingCalls[rec.EventSource][rec.EventName]
	if !ok {
		return
	}
	params := paramsOf(rec.RequestParameters)
	c := &loggingChange{
		account:      acct,
		region:       recordRegion(rec, r),
		time:         rec.Time,
		source:       rec.EventSource,
		name:         rec.EventName,
		call:         call,
		eventID:      rec.EventID,
		principal:    principalOf(rec),
		userType:     rec.UserIdentity.Type,
		accessKey:    rec.UserIdentity.AccessKeyID,
		sourceIP:     rec.SourceIPAddress,
		userAgent:    rec.UserAgent,
		errorCode:    rec.ErrorCode,
		errorMessage: rec.ErrorMessage,
		params:       compactParams(rec.RequestParameters),
		bucket:       stringParam(params, "bucketName"),
	}
	if r != nil {
		c.object = r.Object.Key
	}
	switch c.name {
	case "UpdateTrail", "PutEventSelectors":
		c.request = params
	case "PutBucketLifecycle", "PutBucketLifecycleConfiguration":
		c.expires = bytes.Contains(rec.RequestParameters, []byte(`"Expiration"`))
	}
	if rec.EventSource == sourceCloudTrail {
		c.trail = cmp.Or(stringParam(params, "name"), stringParam(params, "trailName"), stringParam(params, "eventDataStore"))
		// A trail created in a bucket makes it a trail bucket; a bucket a
		// trail is moved to is one too, but not one logs were known to go
		// to, which is what tells a redirection.
		if b := stringParam(params, "s3BucketName"); b != "" && c.succeeded() {
			switch c.name {
			case "CreateTrail":
				l.trailBuckets[b] = true
			case "UpdateTrail":
				l.movedTo[b] = true
			}
		}
	}
	if len(l.changes) >= maxLoggingChanges {
		l.dropped++
		return
	}
	l.changes = append(l.changes, c)
}

// provesGlobal reports whether a global-service event shows that the
// trail receives global-service events. IAM and CloudFront events do
// wherever they are logged (some are logged outside us-east-1, §2.4); STS
// and sign-in events do only in the partition's global region, since their
// regional endpoints log in their own region whatever the trail's setting.
// An STS call that names a regional endpoint in tlsDetails does not.
func (l *logging) provesGlobal(rec *ingest.Record, r *ingest.Result) bool {
	switch rec.EventSource {
	case "iam.amazonaws.com", "cloudfront.amazonaws.com":
		return true
	}
	region := recordRegion(rec, r)
	global := l.regions.GlobalRegion(l.regions.Region(region).Partition)
	if region != global {
		return false
	}
	if rec.EventSource == "sts.amazonaws.com" {
		host := hostHeader(rec)
		return host == "" || host == "sts.amazonaws.com"
	}
	return true
}

// hostHeader returns tlsDetails.clientProvidedHostHeader, or "".
func hostHeader(rec *ingest.Record) string {
	if len(rec.TLSDetails) == 0 {
		return ""
	}
	var tls struct {
		Host string `json:"clientProvidedHostHeader"`
	}
	if json.Unmarshal(rec.TLSDetails, &tls) != nil {
		return ""
	}
	return strings.ToLower(tls.Host)
}

// principalOf names who made a call: the identity's ARN, else the role
// behind the session, else the service that invoked it.
func principalOf(rec *ingest.Record) string {
	u := &rec.UserIdentity
	switch {
	case u.ARN != "":
		return u.ARN
	case u.SessionContext.SessionIssuer.ARN != "":
		return u.SessionContext.SessionIssuer.ARN
	case u.InvokedBy != "":
		return u.InvokedBy
	case u.PrincipalID != "":
		return u.Type + ":" + u.PrincipalID
	case u.Type != "":
		return u.Type
	}
	return "(unknown)"
}

// paramsOf decodes requestParameters as an object; nil when it is not one.
func paramsOf(raw json.RawMessage) map[string]any {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func stringParam(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// boolParam reads a boolean request parameter, which some clients send as
// a string.
func boolParam(m map[string]any, key string) (value, set bool) {
	switch v := m[key].(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// compactParams copies requestParameters for evidence, compacted and
// capped; the copy outlives the decoder's buffers.
func compactParams(raw json.RawMessage) []byte {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil
	}
	out := b.Bytes()
	if len(out) > maxParamsEvidence {
		out = append(out[:maxParamsEvidence:maxParamsEvidence], "…"...)
	}
	return slices.Clone(out)
}

// classify sets a change's severity and explanation from its request
// parameters. It reports false for an S3 call on a bucket that is not a
// trail bucket.
func (l *logging) classify(c *loggingChange) bool {
	if c.call.bucket && !l.trailBuckets[c.bucket] && !l.movedTo[c.bucket] {
		return false
	}
	c.severity, c.why = c.call.severity, c.call.does
	params := c.request
	switch c.name {
	case "UpdateTrail":
		var off []string
		if v, set := boolParam(params, "isMultiRegionTrail"); set && !v {
			off = append(off, "made the trail single-region (isMultiRegionTrail=false)")
		}
		if v, set := boolParam(params, "includeGlobalServiceEvents"); set && !v {
			off = append(off, "turned global service events off (includeGlobalServiceEvents=false)")
		}
		if v, set := boolParam(params, "enableLogFileValidation"); set && !v {
			off = append(off, "turned log file validation off (enableLogFileValidation=false)")
		}
		if b := stringParam(params, "s3BucketName"); b != "" && len(l.trailBuckets) > 0 && !l.trailBuckets[b] {
			off = append(off, "redirected delivery to bucket "+b)
		}
		if len(off) > 0 {
			c.severity, c.why = High, strings.Join(off, "; ")
		}
	case "PutEventSelectors":
		if why := narrowSelectors(params); why != "" {
			c.severity, c.why = High, why
		}
	case "PutBucketLifecycle", "PutBucketLifecycleConfiguration":
		if c.expires {
			c.severity, c.why = High, "added lifecycle rules that expire objects in the trail bucket"
		}
	}
	if !c.succeeded() {
		// A refused or failed attempt changes nothing, but shows intent.
		c.severity = min(c.severity, Low)
		c.why = "the call failed (" + c.errorCode + "); had it succeeded it would have " + c.why
	}
	return true
}

// narrowSelectors explains how PutEventSelectors stops management events
// from being logged, or returns "".
func narrowSelectors(params map[string]any) string {
	list, _ := params["eventSelectors"].([]any)
	var why []string
	for _, s := range list {
		sel, _ := s.(map[string]any)
		if v, set := boolParam(sel, "includeManagementEvents"); set && !v {
			why = append(why, "management events excluded (includeManagementEvents=false)")
		}
		if rw := stringParam(sel, "readWriteType"); rw != "" && rw != "All" {
			why = append(why, "only "+rw+" events logged (readWriteType="+rw+")")
		}
		if ex, _ := sel["excludeManagementEventSources"].([]any); len(ex) > 0 {
			why = append(why, "management event sources excluded")
		}
	}
	if len(why) == 0 {
		return ""
	}
	slices.Sort(why)
	return "changed the event selectors: " + strings.Join(slices.Compact(why), "; ")
}

func (l *logging) finish(res *Result) {
	slices.SortFunc(l.changes, func(a, b *loggingChange) int {
		return cmp.Or(a.time.Compare(b.time), cmp.Compare(a.eventID, b.eventID), cmp.Compare(a.account, b.account))
	})
	for _, c := range l.changes {
		if !l.classify(c) {
			continue
		}
		res.Findings = append(res.Findings, l.changeFinding(c))
	}
	if l.dropped > 0 {
		res.Findings = append(res.Findings, Finding{
			Kind:     KindLoggingChanged,
			Severity: Info,
			Title:    fmt.Sprintf("%d more logging changes not reported", l.dropped),
			Detail:   fmt.Sprintf("Only the first %d calls that change logging are kept in memory.", maxLoggingChanges),
			Evidence: map[string]any{"not_reported": l.dropped},
		})
	}
	for i := range res.Accounts {
		if f, ok := l.globalFinding(&res.Accounts[i]); ok {
			res.Findings = append(res.Findings, f)
		}
	}
}

func (l *logging) changeFinding(c *loggingChange) Finding {
	c.evidence = map[string]any{
		"event_id":     c.eventID,
		"event_name":   c.name,
		"event_source": c.source,
		"event_time":   formatEvidenceTime(c.time),
		"principal":    c.principal,
		"user_type":    c.userType,
		"source_ip":    c.sourceIP,
		"user_agent":   c.userAgent,
		"aws_region":   c.region,
	}
	if c.accessKey != "" {
		c.evidence["access_key_id"] = c.accessKey
	}
	if c.errorCode != "" {
		c.evidence["error_code"] = c.errorCode
		c.evidence["error_message"] = c.errorMessage
	}
	if c.params != nil {
		c.evidence["request_parameters"] = string(c.params)
	}
	if c.trail != "" {
		c.evidence["trail"] = c.trail
	}
	if c.bucket != "" {
		c.evidence["bucket"] = c.bucket
	}
	if c.object != "" {
		c.evidence["object_key"] = c.object
	}
	target := ""
	switch {
	case c.trail != "":
		target = " (" + c.trail + ")"
	case c.bucket != "":
		target = " (" + c.bucket + ")"
	}
	return Finding{
		Kind:     KindLoggingChanged,
		Severity: c.severity,
		Account:  c.account,
		Region:   c.region,
		Start:    c.time,
		End:      c.time,
		Title:    c.name + target + " by " + c.principal,
		Detail: fmt.Sprintf("%s %s at %s from %s: %s.", c.principal, c.name, formatEvidenceTime(c.time),
			cmp.Or(c.sourceIP, "an unknown address"), c.why),
		Evidence: c.evidence,
	}
}

// globalFinding reports an account that delivers long enough to expect
// global-service events and shows none. Where the account delivers from
// its partition's global region, the trail's "include global service
// events" setting is off; where it does not, no trail logs the region
// those events are recorded in (since November 2021 CloudTrail records
// them in us-east-1 for every trail), so they go unlogged all the same:
// a single-region trail elsewhere is the usual cause.
func (l *logging) globalFinding(a *Account) (Finding, bool) {
	s := l.accounts[a.Account]
	if s == nil || s.global > 0 {
		return Finding{}, false
	}
	partition := l.regions.PartitionOf(a.RegionsDelivering)
	global := l.regions.GlobalRegion(partition)
	sp, inGlobal := s.delivery[global], true
	if sp == nil {
		// The span the account delivers over, from any region.
		inGlobal = false
		for _, region := range sortedKeys(s.delivery) {
			if d := s.delivery[region]; sp == nil {
				sp = &span{first: d.first, last: d.last}
			} else {
				sp.add(d.first)
				sp.add(d.last)
			}
		}
	}
	if sp == nil || sp.length() < globalMinSpan || s.records < globalMinRecords {
		return Finding{}, false
	}
	sev := Medium
	if !inGlobal || (sp.length() >= globalHighSpan && s.records >= globalHighRecords) {
		sev = High
	}
	ev := map[string]any{
		"global_region":          global,
		"delivers_from_global":   inGlobal,
		"delivery_hours":         int(sp.length().Hours()),
		"records":                s.records,
		"global_service_events":  0,
		"regional_sts_or_signin": s.regional,
		"sources_checked":        sortedKeys(globalSources),
		"regions_delivering":     sortedKeys(s.delivery),
	}
	if a.Trails != nil {
		ev["trails"] = a.Trails
	}
	why := fmt.Sprintf("%s delivered for %.0f hours and %d events were recorded, but none from IAM, CloudFront, or STS and sign-in in %s: "+
		"the trail's \"include global service events\" is probably off, so IAM changes, role assumptions and console sign-ins go unlogged. "+
		"STS and sign-in events outside %s (%d) come from regional endpoints and are logged either way.",
		global, sp.length().Hours(), s.records, global, global, s.regional)
	if !inGlobal {
		why = fmt.Sprintf("The account delivered for %.0f hours, only from %s, and %d events were recorded, none from IAM, CloudFront, or STS and sign-in in %s. "+
			"CloudTrail records global-service events in %s, which no trail of this account logs (a single-region trail elsewhere turns them off), "+
			"so IAM changes, role assumptions and console sign-ins go unlogged. STS and sign-in events of regional endpoints (%d) are logged either way.",
			sp.length().Hours(), strings.Join(sortedKeys(s.delivery), ", "), s.records, global, global, s.regional)
	}
	return Finding{
		Kind:     KindGlobalEventsOff,
		Severity: sev,
		Account:  a.Account,
		Start:    sp.first,
		End:      sp.last,
		Title:    "No global-service events for account " + a.Account,
		Detail:   why,
		Evidence: ev,
	}, true
}

// explainGap finds the logging change that best explains a delivery gap
// of account from start to end: the latest successful call able to stop
// delivery made shortly before the gap began, and the first call able to
// restart it near the gap's end. trails are the account's trail names, so
// that an organization trail stopped from the management account counts.
func (l *logging) explainGap(account string, trails []string, start, end time.Time) (stop, resume *loggingChange) {
	for _, c := range l.changes {
		if c.evidence == nil || !c.succeeded() || !c.concerns(account, trails) {
			continue
		}
		if c.call.stops && c.severity >= Medium && !c.time.Before(start.Add(-gapLinkBefore)) && c.time.Before(start.Add(gapLinkAfter)) {
			stop = c // changes are sorted by time: the last one wins
		}
		if c.call.starts && resume == nil && !c.time.Before(end.Add(-gapResumeTolerance)) && !c.time.After(end.Add(gapResumeTolerance)) {
			resume = c
		}
	}
	return stop, resume
}

// concerns reports whether a change was made in account, or names one of
// its trails (an organization trail is managed from another account).
func (c *loggingChange) concerns(account string, trails []string) bool {
	if c.account == account {
		return true
	}
	if c.trail == "" {
		return false
	}
	name := c.trail
	if i := strings.LastIndex(name, ":trail/"); i >= 0 {
		name = name[i+len(":trail/"):]
	}
	return slices.Contains(trails, name)
}

func formatEvidenceTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
