package simulate

import (
	"fmt"
	"time"
)

// writeNoise writes the noise-objects scenario's objects for account in
// region: what other AWS services and the S3 console leave in a trail
// bucket. Folder keys are returned but not written: a directory copy
// cannot hold a file whose name ends in "/".
func (g *generator) writeNoise(fw *fileWriter, scenario int) ([]NoiseObject, error) {
	s := g.cfg.Scenarios[scenario]
	a := g.plan.account(s.Account)
	pfx := g.plan.prefix()
	base := pfx + "AWSLogs/"
	trailBase := base
	if a.orgID != "" {
		trailBase += a.orgID + "/"
	}
	day := g.cfg.Start.AddDate(0, 0, g.cfg.Days/2)
	at := day.Add(7*time.Hour + 13*time.Minute).Unix()
	y, m, d := day.Date()
	stamp := day.Add(time.Hour + 12*time.Minute + 26*time.Second).Format("20060102T150405Z")
	stamp2 := day.Add(2*time.Hour + 58*time.Minute + 45*time.Second).Format("20060102T150405Z")
	history := fmt.Sprintf(`{"fileVersion":"1.0","configurationItems":[{"relatedEvents":[],"relationships":[],"configuration":{"instanceId":"i-0f00ba5e12345678a","instanceType":"t3.micro","state":{"code":16,"name":"running"}},"supplementaryConfiguration":{},"tags":{},"configurationItemVersion":"1.3","configurationItemCaptureTime":"%s","configurationStateId":1736125946123,"awsAccountId":"%s","configurationItemStatus":"OK","resourceType":"AWS::EC2::Instance","resourceId":"i-0f00ba5e12345678a","awsRegion":"%s","availabilityZone":"%sa","configurationStateMd5Hash":""}]}`,
		day.Add(time.Hour).Format("2006-01-02T15:04:05.000Z"), a.id, s.Region, s.Region)
	z, err := fw.gzip([]byte(history))
	if err != nil {
		return nil, err
	}
	historyGz := append([]byte(nil), z...)
	objects := []struct {
		key, what string
		data      []byte
	}{
		{base + a.id + "/Config/ConfigWritabilityCheckFile", "config-writability-check", []byte{}},
		{base + a.id + "/ELBAccessLogTestFile", "elb-access-log-test-file",
			[]byte("Enable AccessLog for ELB: app/web-alb/50dc6c495c0c9188 at " + day.Add(7*time.Hour).Format("2006-01-02T15:04:05.000Z"))},
		{fmt.Sprintf("%s%s/Config/%s/%d/%d/%d/ConfigHistory/%s_Config_%s_ConfigHistory_AWS::EC2::Instance_%s_%s_1.json.gz",
			base, a.id, s.Region, y, int(m), d, a.id, s.Region, stamp, stamp2), "config-history", historyGz},
	}
	var out []NoiseObject
	for _, o := range objects {
		if err := fw.write(o.key, o.data, at); err != nil {
			return nil, err
		}
		out = append(out, NoiseObject{Key: o.key, What: o.what, OnDisk: true, Size: len(o.data)})
	}
	folders := []string{base, trailBase + a.id + "/", trailBase + a.id + "/CloudTrail/", trailBase + a.id + "/CloudTrail/" + s.Region + "/"}
	if pfx != "" {
		folders = append(folders, pfx)
	}
	for _, f := range folders {
		out = append(out, NoiseObject{Key: f, What: "folder-key", OnDisk: false})
	}
	return out, nil
}
