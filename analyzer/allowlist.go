package analyzer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// exemption is a kind of event that activity-outside-allowlist ignores:
// calls to a global service, which CloudTrail logs in one fixed region
// whatever region the caller works in.
type exemption struct {
	source string
	// regions are where the exemption applies; nil means any region.
	regions []string
	// host, if set, limits the exemption to calls whose
	// tlsDetails.clientProvidedHostHeader names this endpoint.
	host string
	// home limits the exemption to calls made in the home region of a
	// trail of the account.
	home   bool
	reason string
	cite   string
}

// The sources exemptions cite.
const (
	citeGlobalEvents = "AWS CloudTrail User Guide, \"Global service events\" (cloudtrail-concepts)"
	citeSignIn       = "AWS CloudTrail User Guide, console sign-in events (the examples are logged in us-east-2)"
	citeHealth       = "AWS General Reference, \"AWS Health endpoints and quotas\"; AWS Health User Guide, \"Choosing endpoints for AWS Health API requests\""
	citeHomeRegion   = "AWS CloudTrail API Reference, StopLogging and UpdateTrail: \"must be called from the Region in which the trail was created\""
	citeRegionDeny   = "IAM User Guide, \"Denies access to AWS based on the requested Region\" (reference_policies_examples_aws_deny-requested-region): global services with a single endpoint"
)

// exemptions is the table of global-service events that never count as
// activity outside the allowlist. Result.Exemptions prints it.
var exemptions = []exemption{
	{source: "iam.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service, logged in us-east-1", cite: citeGlobalEvents},
	{source: "sts.amazonaws.com", regions: []string{"us-east-1"}, reason: "global endpoint of a global service, logged in us-east-1", cite: citeGlobalEvents},
	{source: "cloudfront.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service, logged in us-east-1", cite: citeGlobalEvents},
	{source: "iam.amazonaws.com", regions: []string{"us-east-2", "us-west-2"}, reason: "documented exception: some global service events are logged as occurring in US East (Ohio) or US West (Oregon)", cite: citeGlobalEvents},
	{source: "cloudfront.amazonaws.com", regions: []string{"us-east-2", "us-west-2"}, reason: "documented exception: some global service events are logged as occurring in US East (Ohio) or US West (Oregon)", cite: citeGlobalEvents},
	{source: "sts.amazonaws.com", host: "sts.amazonaws.com", reason: "a call to the global endpoint sts.amazonaws.com (tlsDetails.clientProvidedHostHeader); calls to regional STS endpoints are logged in their region and are not exempt", cite: citeGlobalEvents},
	{source: "signin.amazonaws.com", reason: "console sign-in, logged in us-east-1 or in the region of the sign-in endpoint used", cite: citeSignIn},
	{source: "cloudtrail.amazonaws.com", home: true, reason: "trail management, which must be done in the trail's home region (reported as logging-changed when it matters)", cite: citeHomeRegion},
	{source: "route53.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service with a single endpoint in us-east-1", cite: citeRegionDeny},
	{source: "support.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service with a single endpoint in us-east-1", cite: citeRegionDeny},
	{source: "organizations.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service with a single endpoint in us-east-1", cite: citeRegionDeny},
	{source: "budgets.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service with a single endpoint in us-east-1", cite: citeRegionDeny},
	{source: "importexport.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service with a single endpoint in us-east-1", cite: citeRegionDeny},
	{source: "waf.amazonaws.com", regions: []string{"us-east-1"}, reason: "global service with a single endpoint in us-east-1", cite: citeRegionDeny},
	{source: "health.amazonaws.com", regions: []string{"us-east-1", "us-east-2"}, reason: "global endpoint global.health.amazonaws.com, active in us-east-1 and failing over to us-east-2", cite: citeHealth},
	{source: "devicefarm.amazonaws.com", regions: []string{"us-west-2"}, reason: "global service with its endpoint in us-west-2", cite: citeRegionDeny},
	{source: "chatbot.amazonaws.com", regions: []string{"us-west-2"}, reason: "global service with its endpoint in us-west-2", cite: citeRegionDeny},
}

// String describes an exemption for the report.
func (e exemption) String() string {
	where := "any region"
	if len(e.regions) > 0 {
		where = strings.Join(e.regions, ", ")
	}
	if e.host != "" {
		where += " via " + e.host
	}
	if e.home {
		where = "a trail's home region"
	}
	return e.source + " in " + where + ": " + e.reason + " [" + e.cite + "]"
}

// exempt reports whether an event is a global-service event logged where
// that service logs, or trail management in the trail's home region, and
// so no sign of work in the region. homes are the home regions of the
// account's trails.
func exempt(rec *ingest.Record, region string, homes map[string]bool) bool {
	for _, e := range exemptions {
		if e.source != rec.EventSource {
			continue
		}
		if e.regions != nil && !slices.Contains(e.regions, region) {
			continue
		}
		if e.host != "" && hostHeader(rec) != e.host {
			continue
		}
		if e.home && !homes[region] && trailARNRegion(rec) != region {
			continue
		}
		return true
	}
	return false
}

// trailARNRegion returns the region of the trail ARN a CloudTrail call
// names, or "": the trail's home region.
func trailARNRegion(rec *ingest.Record) string {
	params := paramsOf(rec.RequestParameters)
	for _, k := range []string{"name", "trailName"} {
		if arn := stringParam(params, k); strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":trail/") {
			if parts := strings.SplitN(arn, ":", 5); len(parts) == 5 {
				return parts[3]
			}
		}
	}
	return ""
}

// Allowlist evidence limits.
const (
	// maxDistinct caps each count map of an account × region; further
	// values are counted as "(other)".
	maxDistinct = 10_000
	maxSamples  = 10
	topK        = 5
	topNames    = 20
)

// readPrefixes mark read-only calls when a record lacks readOnly.
var readPrefixes = []string{"Describe", "Get", "List", "Head", "Lookup", "BatchGet", "Search"}

// isReadOnly reports whether a call only reads.
func isReadOnly(rec *ingest.Record) bool {
	if rec.ReadOnly.Set {
		return rec.ReadOnly.Value
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(rec.EventName, p) {
			return true
		}
	}
	return false
}

// isDenied reports whether an error code means the call was refused by a
// policy or for lack of valid credentials, in any of the spellings
// services use (§2.5): AccessDenied, AccessDeniedException,
// Client.UnauthorizedOperation, VpceAccessDenied, AuthFailure, ….
func isDenied(code string) bool {
	c := strings.ToLower(code)
	switch {
	case strings.Contains(c, "accessdenied"), strings.Contains(c, "unauthorized"),
		strings.Contains(c, "authfailure"), strings.Contains(c, "forbidden"):
		return true
	}
	switch strings.TrimPrefix(c, "client.") {
	case "invalidclienttokenid", "signaturedoesnotmatch", "unrecognizedclientexception", "expiredtoken", "expiredtokenexception":
		return true
	}
	return false
}

// isServiceEvent reports whether AWS itself made the call, as CloudTrail
// records it: an AWSService identity, an AwsServiceEvent, or a
// service-linked role (only its service can assume one). Such events are
// counted apart and never raise a finding above low.
//
// userIdentity.invokedBy does not make a call AWS's own: CloudTrail sets it
// to signin.amazonaws.com for every call of a console session, and to a
// service's name when that service acts for the principal (CloudFormation,
// forward access sessions); those calls are the principal's, and the
// evidence shows invokedBy as "via" (CloudTrail User Guide, "CloudTrail
// userIdentity element": invokedBy, type).
func isServiceEvent(rec *ingest.Record) bool {
	u := &rec.UserIdentity
	switch {
	case u.Type == "AWSService", rec.EventType == "AwsServiceEvent":
		return true
	case strings.Contains(u.SessionContext.SessionIssuer.ARN, ":role/aws-service-role/"):
		return true
	}
	return false
}

// ValueCount is a value and how often it was seen, in evidence lists.
type ValueCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// counter counts values, at most maxDistinct of them.
type counter struct {
	counts map[string]int
	other  int
}

func (c *counter) add(v string) {
	if v == "" {
		v = "(none)"
	}
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	if _, ok := c.counts[v]; ok || len(c.counts) < maxDistinct {
		c.counts[v]++
		return
	}
	c.other++
}

// top returns the k most frequent values, ties by value, then the count
// of everything past the cap as "(other)".
func (c *counter) top(k int) []ValueCount {
	out := make([]ValueCount, 0, len(c.counts))
	for v, n := range c.counts {
		out = append(out, ValueCount{v, n})
	}
	slices.SortFunc(out, func(a, b ValueCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Value, b.Value))
	})
	if len(out) > k {
		out = out[:k]
	}
	if c.other > 0 {
		out = append(out, ValueCount{"(other)", c.other})
	}
	return out
}

// sample is an event kept as an example.
type sample struct {
	time time.Time
	id   string
}

// outsideActivity is what happened in one account × region outside the
// allowlist.
type outsideActivity struct {
	writes, denied, reads, failures int
	service, serviceWrites          int
	exempt                          int
	first, last                     time.Time
	principals, ips, names, keys    counter
	via                             counter
	errors                          counter
	samples                         []sample
}

func (o *outsideActivity) human() int { return o.writes + o.denied + o.reads + o.failures }

// keepSample keeps the maxSamples earliest events (by time, then ID), so
// that the choice does not depend on the order events arrive in.
func (o *outsideActivity) keepSample(s sample) {
	cmpSample := func(a, b sample) int { return cmp.Or(a.time.Compare(b.time), cmp.Compare(a.id, b.id)) }
	i, _ := slices.BinarySearchFunc(o.samples, s, cmpSample)
	if i >= maxSamples {
		return
	}
	o.samples = slices.Insert(o.samples, i, s)
	if len(o.samples) > maxSamples {
		o.samples = o.samples[:maxSamples]
	}
}

// allowlist reports activity-outside-allowlist.
type allowlist struct {
	allowed  map[string]bool
	regions  *RegionModel
	activity map[acctRegion]*outsideActivity
	// homes are the home regions of each account's trails, from digest
	// keys; digests are observed before log files.
	homes map[string]map[string]bool
}

func newAllowlist(cfg Config, regions *RegionModel) *allowlist {
	a := &allowlist{regions: regions, activity: map[acctRegion]*outsideActivity{}, homes: map[string]map[string]bool{}}
	for _, r := range cfg.AllowRegions {
		if r = strings.ToLower(strings.TrimSpace(r)); r != "" {
			if a.allowed == nil {
				a.allowed = map[string]bool{}
			}
			a.allowed[r] = true
		}
	}
	return a
}

func (a *allowlist) object(r *ingest.Result, _ *Verdict) {
	loc := r.Location
	if a.allowed == nil || loc.Kind != ingest.KindDigest || loc.HomeRegion == "" {
		return
	}
	if a.homes[loc.Account] == nil {
		a.homes[loc.Account] = map[string]bool{}
	}
	a.homes[loc.Account][loc.HomeRegion] = true
}

func (a *allowlist) event(rec *ingest.Record, r *ingest.Result) {
	if a.allowed == nil || !isAPIRecord(rec, r) {
		return
	}
	region := recordRegion(rec, r)
	if region == "" || a.allowed[region] {
		return
	}
	key := acctRegion{recordAccount(rec, r), region}
	o := a.activity[key]
	if o == nil {
		o = &outsideActivity{}
		a.activity[key] = o
	}
	if exempt(rec, region, a.homes[key.account]) {
		o.exempt++
		return
	}
	write := !isReadOnly(rec)
	switch {
	case isServiceEvent(rec):
		o.service++
		if write && rec.ErrorCode == "" {
			o.serviceWrites++
		}
	case rec.ErrorCode != "" && isDenied(rec.ErrorCode):
		o.denied++
	case rec.ErrorCode != "":
		o.failures++
	case write:
		o.writes++
	default:
		o.reads++
	}
	if o.first.IsZero() || rec.Time.Before(o.first) {
		o.first = rec.Time
	}
	if rec.Time.After(o.last) {
		o.last = rec.Time
	}
	o.principals.add(principalOf(rec))
	o.ips.add(rec.SourceIPAddress)
	o.names.add(rec.EventSource + ":" + rec.EventName)
	if rec.UserIdentity.InvokedBy != "" {
		o.via.add(rec.UserIdentity.InvokedBy)
	}
	if rec.UserIdentity.AccessKeyID != "" {
		o.keys.add(rec.UserIdentity.AccessKeyID)
	}
	if rec.ErrorCode != "" {
		o.errors.add(rec.ErrorCode)
	}
	o.keepSample(sample{rec.Time, rec.EventID})
}

func (a *allowlist) finish(res *Result) {
	if a.allowed == nil {
		return
	}
	for _, e := range exemptions {
		res.Exemptions = append(res.Exemptions, e.String())
	}
	slices.Sort(res.Exemptions)
	keys := make([]acctRegion, 0, len(a.activity))
	for k := range a.activity {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y acctRegion) int {
		return cmp.Or(cmp.Compare(x.account, y.account), cmp.Compare(x.region, y.region))
	})
	allowed := sortedKeys(a.allowed)
	for _, k := range keys {
		o := a.activity[k]
		if o.human()+o.service == 0 {
			continue
		}
		res.Findings = append(res.Findings, a.finding(k, o, allowed))
	}
}

func (a *allowlist) finding(k acctRegion, o *outsideActivity, allowed []string) Finding {
	var sev Severity
	var what string
	switch {
	case o.writes > 0:
		sev, what = Critical, "calls that changed something succeeded"
	case o.denied > 0:
		sev, what = High, "calls were attempted and denied"
	case o.reads+o.failures > 0:
		sev, what = Medium, "only read-only or failed calls were made"
	default:
		sev, what = Low, "only AWS services acted there"
	}
	var parts []string
	for _, p := range []struct {
		n    int
		name string
	}{
		{o.writes, "succeeded writes"}, {o.denied, "denied attempts"}, {o.reads, "read-only calls"},
		{o.failures, "other failed calls"}, {o.service, "AWS service events"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.name))
		}
	}
	ids := make([]string, len(o.samples))
	for i, s := range o.samples {
		ids[i] = s.id
	}
	ev := map[string]any{
		"allowlist":          allowed,
		"succeeded_writes":   o.writes,
		"denied_attempts":    o.denied,
		"read_only_calls":    o.reads,
		"other_failures":     o.failures,
		"service_events":     o.service,
		"service_writes":     o.serviceWrites,
		"exempt_events":      o.exempt,
		"first_seen":         formatEvidenceTime(o.first),
		"last_seen":          formatEvidenceTime(o.last),
		"top_principals":     o.principals.top(topK),
		"top_source_ips":     o.ips.top(topK),
		"top_access_keys":    o.keys.top(topK),
		"via":                o.via.top(topK),
		"event_names":        o.names.top(topNames),
		"error_codes":        o.errors.top(topNames),
		"sample_event_ids":   ids,
		"severity_rationale": "succeeded writes: critical; denied attempts: high; read-only or other failed calls: medium; AWS service events alone: low",
	}
	if reg := a.regions.Region(k.region); reg.Name != "" {
		ev["region_name"] = reg.Name
	}
	return Finding{
		Kind:     KindOutsideAllowlist,
		Severity: sev,
		Account:  k.account,
		Region:   k.region,
		Start:    o.first,
		End:      o.last,
		Title:    fmt.Sprintf("Activity in %s, outside the allowlist: %s", k.region, strings.Join(parts, ", ")),
		Detail: fmt.Sprintf("Account %s made calls in %s, which is not in the allowlist (%s), from %s to %s: %s; %s. Global-service events logged where their service logs are exempt (%d here).",
			k.account, k.region, strings.Join(allowed, ", "), formatEvidenceTime(o.first), formatEvidenceTime(o.last),
			strings.Join(parts, ", "), what, o.exempt),
		Evidence: ev,
	}
}
