package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/trailcover/trailcover/analyzer"
)

// TestRemediation: the fix is filled in with the archive's own account,
// trail, home region and bucket; tampering gets the investigation's next
// steps; every kind has a remediation; names an attacker chose never
// reach a command unquoted.
func TestRemediation(t *testing.T) {
	res := &analyzer.Result{
		Accounts: []analyzer.Account{{Account: "111111111111"}, {Account: "222222222222"}},
		Chains: []analyzer.Chain{
			{Account: "111111111111", Region: "eu-west-1", Trail: "legacy-trail", HomeRegion: "eu-west-1"},
			{Account: "222222222222", Region: "us-east-1", Trail: "x;touch /tmp/pwned", HomeRegion: "us-east-1"},
		},
	}
	run := Run{Source: "s3://audit-logs/org"}
	notLogged := analyzer.Finding{Kind: analyzer.KindRegionNotLogged, Severity: analyzer.High, Account: "111111111111", Region: "sa-east-1"}
	r := Remediate(run, res, &notLogged)
	want := "aws cloudtrail update-trail --name legacy-trail --is-multi-region-trail --include-global-service-events --enable-log-file-validation --region eu-west-1"
	if r.Type != RemediationFix || !slices.Contains(r.Commands, want) {
		t.Errorf("region-not-logged: %+v\nwant the command %q", r, want)
	}
	if !strings.Contains(strings.Join(r.Verify, "\n"), "trailcover analyze s3://audit-logs/org --accounts 111111111111") {
		t.Errorf("region-not-logged: no trailcover run to confirm it: %v", r.Verify)
	}

	hostile := analyzer.Finding{Kind: analyzer.KindLogFileModified, Severity: analyzer.Critical, Account: "222222222222", Region: "us-east-1",
		Evidence: map[string]any{"object_key": "AWSLogs/'; rm -rf ~ #/x.json.gz"}}
	r = Remediate(run, res, &hostile)
	all := strings.Join(slices.Concat(r.Commands, r.Verify), "\n")
	if r.Type != RemediationInvestigate || !strings.Contains(all, "trailcover acquire --versions s3://audit-logs/org evidence/") {
		t.Errorf("log-file-modified: %+v", r)
	}
	if strings.Contains(all, "touch /tmp/pwned") || !strings.Contains(all, `'AWSLogs/'\''; rm -rf ~ #/x.json.gz'`) {
		t.Errorf("hostile names reach the commands unquoted:\n%s", all)
	}
	if trail, _ := newRemedyContext(run, res).trail("222222222222"); trail != "<trail-name>" {
		t.Errorf("a trail name no trail can have was used: %q", trail)
	}

	for _, kind := range []string{
		analyzer.KindRegionNotLogged, analyzer.KindDeliveryGap, analyzer.KindDigestChainBreak, analyzer.KindDigestMissing,
		analyzer.KindDigestInvalid, analyzer.KindLogFileMissing, analyzer.KindLogFileModified, analyzer.KindLogFileUnlisted,
		analyzer.KindOutsideAllowlist, analyzer.KindGlobalEventsOff, analyzer.KindLoggingChanged, analyzer.KindUnreadableObject,
		analyzer.KindObjectDeleted, analyzer.KindObjectOverwritten,
	} {
		f := analyzer.Finding{Kind: kind, Severity: analyzer.High, Account: "111111111111", Region: "eu-west-1"}
		r := Remediate(run, res, &f)
		if r.Risk == "" || len(r.Steps) == 0 || len(r.Commands) == 0 || len(r.Verify) == 0 {
			t.Errorf("%s: incomplete remediation %+v", kind, r)
		}
		tampering := slices.Contains([]string{analyzer.KindDigestMissing, analyzer.KindDigestInvalid, analyzer.KindLogFileMissing,
			analyzer.KindLogFileModified, analyzer.KindLogFileUnlisted, analyzer.KindObjectDeleted, analyzer.KindObjectOverwritten}, kind)
		if tampering && (r.Type != RemediationInvestigate || !strings.Contains(strings.Join(r.Commands, "\n"), "acquire --versions")) {
			t.Errorf("%s: tampering without the evidence preserved first: %+v", kind, r)
		}
	}
}

// TestStories: several findings of one kind and account are told as one
// card with their table and the remediation once; fewer stay cards of
// their own, in order.
func TestStories(t *testing.T) {
	var fs []findingView
	for i, k := range []string{"a", "b", "a", "a", "b", "a"} {
		fs = append(fs, findingView{Anchor: "f" + string(rune('1'+i)), Kind: k, Account: "111111111111", Region: "r" + string(rune('1'+i)), Detail: "d"})
	}
	rem := &Remediation{Risk: "x"}
	got := stories(fs, map[string]shownRemedy{remedyKey("a", "111111111111"): {"f1", rem}})
	if len(got) != 3 || got[0].Single != nil || len(got[0].Members) != 4 || got[0].Remedy != rem ||
		got[1].Single == nil || got[1].Single.Anchor != "f2" || got[2].Single == nil || got[2].Single.Anchor != "f5" {
		t.Fatalf("stories: %+v", got)
	}
	if got[0].Regions != "r1, r3, r4, r6" {
		t.Errorf("cluster regions %q", got[0].Regions)
	}
}
