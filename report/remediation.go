package report

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
)

// Remediation is what to do about a finding. A configuration finding
// gets the fix; a finding that may be tampering gets what an investigator
// does next instead: no setting undoes a deleted log file.
type Remediation struct {
	// Type is "fix" (change the trail's configuration) or "investigate"
	// (preserve the evidence and find out what happened).
	Type string `json:"type"`
	// Risk says why the finding matters.
	Risk string `json:"risk"`
	// Steps are what to do, in order; Commands the AWS CLI and trailcover
	// commands that do it, filled in with what the archive tells (account,
	// trail, home region, bucket) and <placeholders> for the rest.
	Steps    []string `json:"steps"`
	Commands []string `json:"commands"`
	// Verify says how to confirm the fix, or what shows the
	// investigation's answer.
	Verify []string `json:"verify"`
}

// Remediation types.
const (
	RemediationFix         = "fix"
	RemediationInvestigate = "investigate"
)

// remedyContext is what the archive tells of where a finding's account
// logs: its trail, the trail's home region, the bucket.
type remedyContext struct {
	source, bucket, prefix string
	trails                 map[string][2]string // account → trail, home region
	start, end             time.Time
}

func newRemedyContext(run Run, res *analyzer.Result) *remedyContext {
	c := &remedyContext{source: run.Source, trails: map[string][2]string{}, start: run.Start, end: run.End}
	if rest, ok := strings.CutPrefix(run.Source, "s3://"); ok {
		c.bucket, c.prefix, _ = strings.Cut(rest, "/")
	}
	if c.bucket == "" {
		c.bucket = run.Bucket
	}
	// The trail of the most chains wins (an account logged by one trail
	// has one name everywhere); a tie goes to the first in name order.
	count := map[string]map[[2]string]int{}
	for _, ch := range res.Chains {
		if ch.Trail == "" || ch.Backfill {
			continue
		}
		if count[ch.Account] == nil {
			count[ch.Account] = map[[2]string]int{}
		}
		count[ch.Account][[2]string{ch.Trail, ch.HomeRegion}]++
	}
	for acct, m := range count {
		c.trails[acct] = slices.MinFunc(slices.Collect(maps.Keys(m)), func(x, y [2]string) int {
			return cmp.Or(cmp.Compare(m[y], m[x]), cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
		})
	}
	for _, a := range res.Accounts {
		if _, ok := c.trails[a.Account]; !ok && len(a.Trails) > 0 {
			c.trails[a.Account] = [2]string{a.Trails[0], ""}
		}
	}
	return c
}

// Everything put into a command comes from the archive, which an
// attacker may have written: names are used only when they have the
// shape AWS allows them (else a placeholder stands in), and keys are
// shell-quoted, so that a command pasted into a shell does what it says.
var (
	trailNameShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)
	bucketShape    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	accountShape   = regexp.MustCompile(`^[0-9]{12}$`)
	prefixShape    = regexp.MustCompile(`^[A-Za-z0-9!_.*'()/-]*$`)
)

func shaped(re *regexp.Regexp, v, placeholder string) string {
	if v != "" && re.MatchString(v) {
		return v
	}
	return placeholder
}

func regionOr(v, placeholder string) string {
	if ingest.IsRegion(v) {
		return v
	}
	return placeholder
}

// sh quotes a value for a POSIX shell.
func sh(v string) string { return shellQuote([]string{v}) }

func (c *remedyContext) trail(account string) (name, home string) {
	t := c.trails[account]
	return shaped(trailNameShape, t[0], "<trail-name>"), regionOr(t[1], "<home-region>")
}

func (c *remedyContext) bucketName() string { return shaped(bucketShape, c.bucket, "<bucket>") }

// bucketURL is s3://BUCKET[/PREFIX] of the archive.
func (c *remedyContext) bucketURL() string {
	u := "s3://" + c.bucketName()
	if p := strings.Trim(c.prefix, "/"); p != "" && prefixShape.MatchString(p) {
		u += "/" + p
	}
	return u
}

// analyzeAgain is the trailcover run that shows a finding gone, over the
// hours from start on.
func (c *remedyContext) analyzeAgain(f *analyzer.Finding, extra ...string) string {
	parts := []string{"trailcover analyze", sh(or(c.source, "<source>"))}
	if accountShape.MatchString(f.Account) {
		parts = append(parts, "--accounts", f.Account)
	}
	parts = append(parts, extra...)
	return strings.Join(parts, " ")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stampOr(t time.Time, def string) string {
	if t.IsZero() {
		return def
	}
	return t.UTC().Format(time.RFC3339)
}

func evidenceString(f *analyzer.Finding, key string) string {
	if s, ok := f.Evidence[key].(string); ok {
		return s
	}
	return ""
}

// Remediate says what to do about finding f of the analysis res.
func Remediate(run Run, res *analyzer.Result, f *analyzer.Finding) Remediation {
	return remediate(newRemedyContext(run, res), f)
}

// remediations is Remediate for every finding, sharing the context.
func remediations(run Run, res *analyzer.Result) []Remediation {
	c := newRemedyContext(run, res)
	out := make([]Remediation, len(res.Findings))
	for i := range res.Findings {
		out[i] = remediate(c, &res.Findings[i])
	}
	return out
}

func remediate(c *remedyContext, f *analyzer.Finding) Remediation {
	trail, home := c.trail(f.Account)
	region := regionOr(f.Region, "<region>")
	account := shaped(accountShape, f.Account, "<account>")
	bucket := c.bucketName()
	from, to := stampOr(f.Start, "<start>"), stampOr(f.End, "<end>")
	status := fmt.Sprintf("aws cloudtrail get-trail-status --name %s --region %s --query '{IsLogging:IsLogging,LatestDeliveryTime:LatestDeliveryTime,LatestDeliveryError:LatestDeliveryError,LatestDigestDeliveryError:LatestDigestDeliveryError}'", trail, home)
	describe := fmt.Sprintf("aws cloudtrail describe-trails --region %s --query 'trailList[?Name==`%s`].{Name:Name,MultiRegion:IsMultiRegionTrail,GlobalEvents:IncludeGlobalServiceEvents,Validation:LogFileValidationEnabled,Bucket:S3BucketName}'", home, trail)
	preserve := []string{
		fmt.Sprintf("aws s3api get-bucket-versioning --bucket %s", bucket),
		fmt.Sprintf("trailcover acquire --versions %s evidence/", c.bucketURL()),
	}
	history := fmt.Sprintf("aws cloudtrail lookup-events --region %s --start-time %s --end-time %s --lookup-attributes AttributeKey=EventSource,AttributeValue=cloudtrail.amazonaws.com", home, from, to)
	switch f.Kind {
	case analyzer.KindRegionNotLogged:
		r := Remediation{
			Type: RemediationFix,
			Risk: fmt.Sprintf("Nothing done in %s for account %s is on record: an intruder working there (instances for mining, a copied snapshot restored) leaves no trace. CIS AWS Foundations 3.1 asks for a trail that logs every region.", region, account),
			Steps: []string{
				fmt.Sprintf("Make the account's trail %s a multi-region trail with global service events, in its home region %s.", trail, home),
				"Make sure it is logging.",
				"If the account must never use the region, deny it with a service control policy as well.",
			},
			Commands: []string{
				fmt.Sprintf("aws cloudtrail update-trail --name %s --is-multi-region-trail --include-global-service-events --enable-log-file-validation --region %s", trail, home),
				fmt.Sprintf("aws cloudtrail start-logging --name %s --region %s", trail, home),
			},
			Verify: []string{describe, status, c.analyzeAgain(f, "--last", "2d") + "   # a day later: no region-not-logged for " + region},
		}
		if cause := evidenceString(f, "likely_cause"); strings.Contains(cause, "opt-in") {
			r.Steps = append([]string{fmt.Sprintf("%s is an opt-in region: a multi-region trail logs it once the account enables it. Enable it only if the account uses it; otherwise remove it from --expect-regions.", region)}, r.Steps...)
			r.Commands = append([]string{fmt.Sprintf("aws account get-region-opt-status --region-name %s --account-id %s", region, account)}, r.Commands...)
		}
		return r
	case analyzer.KindGlobalEventsOff:
		return Remediation{
			Type: RemediationFix,
			Risk: "IAM, STS, sign-in and CloudFront calls of the account are not recorded: new users, keys and role sessions, the first steps of most intrusions, go unseen.",
			Steps: []string{
				fmt.Sprintf("Turn on global service events on the trail %s (a multi-region trail records them in us-east-1).", trail),
			},
			Commands: []string{fmt.Sprintf("aws cloudtrail update-trail --name %s --include-global-service-events --is-multi-region-trail --region %s", trail, home)},
			Verify:   []string{describe, c.analyzeAgain(f, "--last", "2d") + "   # a day later: no global-events-missing"},
		}
	case analyzer.KindDeliveryGap:
		return Remediation{
			Type: RemediationInvestigate,
			Risk: "Nothing was delivered for these hours, so what was done then cannot be reviewed. Gaps follow logging stopped, a trail deleted or changed, or a bucket policy or KMS key that refused delivery.",
			Steps: []string{
				"Read the logging-changed findings of the same hours: a StopLogging, DeleteTrail or UpdateTrail explains most gaps.",
				"Ask CloudTrail why delivery failed (the trail status keeps the last delivery error).",
				"For the last 90 days, Event History still holds the management events of the gap: look them up in each region named.",
			},
			Commands: append([]string{status}, lookups(f, region, from, to)...),
			Verify:   []string{c.analyzeAgain(f, "--start", from, "--end", to) + "   # after restoring delivery, for a later window: no delivery-gap"},
		}
	case analyzer.KindLoggingChanged:
		return Remediation{
			Type: RemediationInvestigate,
			Risk: "Stopping or reconfiguring a trail is how an intruder blinds the record before acting. Each change must be traced to someone allowed to make it.",
			Steps: []string{
				"Confirm with the principal named that the change was intended and approved.",
				"If it was not, restore the trail (start logging, multi-region, validation on) and treat the principal's credentials as compromised.",
				"Alert on such calls from now on (CIS AWS Foundations 4.5: a metric filter and alarm for CloudTrail configuration changes).",
			},
			Commands: []string{
				fmt.Sprintf("aws cloudtrail start-logging --name %s --region %s", trail, home),
				fmt.Sprintf("aws cloudtrail update-trail --name %s --is-multi-region-trail --include-global-service-events --enable-log-file-validation --region %s", trail, home),
			},
			Verify: []string{status, describe},
		}
	case analyzer.KindOutsideAllowlist:
		return Remediation{
			Type: RemediationInvestigate,
			Risk: fmt.Sprintf("Calls in %s, outside the regions the organization uses, are the pattern of crypto mining, data copied away and attempts to escape monitoring. Succeeded writes may have left running resources there.", region),
			Steps: []string{
				"List who did what there (the principals and calls are in the finding's evidence and in events/).",
				"Look for what is still running or stored in the region.",
				"Deny the region with a service control policy unless it is needed (the Prowler check organizations_scp_check_deny_regions).",
			},
			Commands: []string{
				fmt.Sprintf("duckdb -c \"SELECT event_time, user_arn, event_name, error_code, source_ip_address FROM 'OUT/events/**/*.parquet' WHERE aws_region = '%s' AND account_id = '%s' ORDER BY event_time\"", region, account),
				fmt.Sprintf("aws ec2 describe-instances --region %s --query 'Reservations[].Instances[].{Id:InstanceId,Type:InstanceType,State:State.Name,Launched:LaunchTime}'", region),
				fmt.Sprintf("aws rds describe-db-instances --region %s --query 'DBInstances[].{Id:DBInstanceIdentifier,Created:InstanceCreateTime}'", region),
			},
			Verify: []string{c.analyzeAgain(f, "--allow-regions", "<allowed-regions>", "--last", "7d") + "   # no activity-outside-allowlist after the SCP"},
		}
	case analyzer.KindUnreadableObject:
		key := sh(or(evidenceString(f, "object_key"), "<key>"))
		return Remediation{
			Type: RemediationInvestigate,
			Risk: "An object that cannot be read cannot be verified: whatever it holds is missing from the analysis, and a damaged log file may hide what was done.",
			Steps: []string{
				"Check that the credentials may read it (s3:GetObject, and kms:Decrypt for SSE-KMS) and read it again.",
				"If it is damaged, look for an earlier version of it.",
			},
			Commands: []string{
				fmt.Sprintf("aws s3api head-object --bucket %s --key %s", bucket, key),
				fmt.Sprintf("aws s3api list-object-versions --bucket %s --prefix %s", bucket, key),
			},
			Verify: []string{c.analyzeAgain(f) + "   # no unreadable-object for that key"},
		}
	case analyzer.KindDigestInvalid:
		if f.Severity == analyzer.Info {
			return Remediation{
				Type:  RemediationFix,
				Risk:  "The newest digests of this copy cannot be verified: it did not keep the object metadata where CloudTrail stores each digest's signature.",
				Steps: []string{"Analyze the bucket itself, or a copy made by trailcover acquire, which keeps the metadata."},
				Commands: []string{
					fmt.Sprintf("trailcover acquire %s evidence/", c.bucketURL()),
				},
				Verify: []string{"trailcover analyze evidence/   # every digest verified"},
			}
		}
	}
	// Every other kind is evidence of tampering, or cannot rule it out:
	// preserve, find the original, find who.
	key := evidenceString(f, "object_key")
	if key == "" {
		key = or(evidenceString(f, "digest_key"), or(evidenceString(f, "missing_key"), "<key>"))
	}
	key = sh(key)
	return Remediation{
		Type: RemediationInvestigate,
		Risk: tamperRisk(f.Kind),
		Steps: []string{
			"Preserve the evidence before anything else changes: a copy with the bucket's version history and the objects' metadata.",
			"Look for the original: a deleted or overwritten object survives as a noncurrent version where versioning is on.",
			"Find who changed the bucket: S3 server access logs or CloudTrail data events for the bucket, around the finding's time; and whether logging was changed then.",
			"Protect the bucket from here on: versioning, MFA delete or S3 Object Lock, and a bucket policy that denies deletes.",
		},
		Commands: append(preserve,
			fmt.Sprintf("aws s3api list-object-versions --bucket %s --prefix %s", bucket, key),
			history,
		),
		Verify: []string{c.analyzeAgain(f, "--versions") + "   # with the version history: what was deleted or overwritten, and what the original held"},
	}
}

// lookups are the Event History queries of a finding's hours, one per
// region it names.
func lookups(f *analyzer.Finding, region, from, to string) []string {
	regions := []string{region}
	if f.Region == "" {
		if rs, ok := f.Evidence["regions"].([]string); ok && len(rs) > 0 {
			regions = nil
			for _, r := range rs {
				regions = append(regions, regionOr(r, "<region>"))
			}
		}
	}
	var out []string
	for _, r := range regions {
		out = append(out, fmt.Sprintf("aws cloudtrail lookup-events --region %s --start-time %s --end-time %s", r, from, to))
	}
	return out
}

// tamperRisk says why a finding that may be tampering matters.
func tamperRisk(kind string) string {
	switch kind {
	case analyzer.KindLogFileMissing:
		return "A log file CloudTrail delivered and signed for is gone: the calls it recorded are lost from the archive, which is what deleting evidence looks like."
	case analyzer.KindLogFileModified:
		return "A log file no longer holds what CloudTrail signed for: records were changed or removed after delivery, so the archive cannot be trusted for that hour."
	case analyzer.KindLogFileUnlisted:
		return "A log file CloudTrail did not deliver sits among the ones it did: injected records can make false activity look real or bury the true one."
	case analyzer.KindDigestMissing:
		return "A digest is gone: whatever it vouched for can no longer be proven, and deleting digests is how tampering with log files is hidden."
	case analyzer.KindDigestInvalid:
		return "A digest fails its checks: it was altered, forged or moved, so nothing it lists can be relied on."
	case analyzer.KindDigestChainBreak:
		return "The digest chain restarts: logging or validation was off for a while, and nothing delivered then is covered by a signature."
	case analyzer.KindObjectDeleted, analyzer.KindObjectOverwritten:
		return "An object of the archive was deleted or overwritten since it was first read: the record changed after the fact."
	}
	return "The archive's record cannot be fully trusted for the time named."
}
