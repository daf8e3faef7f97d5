package simulate

import (
	"fmt"
	"strings"
)

// call is one planted API call, rendered by a chain's recordGen.
type call struct {
	region string
	spec   *eventSpec
	who    *principal
	fail   *errorSpec
}

// classify sorts a call as the allowlist finding weighs it.
func classify(readOnly bool, fail *errorSpec) activityClass {
	switch {
	case fail != nil && isDenial(fail.code):
		return classDenied
	case readOnly:
		return classReadOnly
	case fail != nil:
		return classFailedWrite
	}
	return classSucceededWrite
}

// isDenial reports whether an error code says access was denied.
func isDenial(code string) bool {
	switch code {
	case "AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "UnauthorizedOperation", "VpceAccessDenied":
		return true
	}
	return false
}

// plant renders calls into their chains at times from at on, a few
// seconds to a minute apart. Calls into a region the account's trail does
// not log are not recorded anywhere, as in reality.
func (p *plan) plant(scenario int, stream, account string, at int64, calls []call, gap func() int64) {
	sec := at
	gens := map[string]*recordGen{}
	for _, cl := range calls {
		c := p.chain(account, cl.region)
		if c == nil {
			sec += gap()
			continue
		}
		g := gens[cl.region]
		if g == nil {
			w := newWorld(p.cfg.Seed, account, cl.region, p.cfg.Accounts)
			g = newRecordGen(newRand(p.cfg.Seed, "plant", fmt.Sprint(scenario), stream, cl.region), w, p.regional, p.global)
			gens[cl.region] = g
		}
		who := cl.who
		body, idAt := g.appendRecord(nil, sec, cl.spec, who, cl.fail)
		c.planted = append(c.planted, plantedEvent{
			sec:      sec,
			body:     body,
			eventID:  string(body[idAt : idAt+36]),
			scenario: scenario,
			class:    classify(cl.spec.readOnly, cl.fail),
		})
		sec += gap()
	}
}

// plantLoggingStopped plants StopLogging and StartLogging in the trail's
// home region and records the interval without logging.
func (p *plan) plantLoggingStopped(i int) error {
	s := p.cfg.Scenarios[i]
	a := p.account(s.Account)
	stop := s.At.Unix()
	restart := stop + int64(s.Hours)*3600
	if restart >= p.end {
		restart = 0
	}
	w := newWorld(p.cfg.Seed, a.id, a.home, p.cfg.Accounts)
	admin := *w.admin
	trailARN := "arn:aws:cloudtrail:" + a.home + ":" + a.id + ":trail/" + a.trail
	spec := func(name string) *eventSpec {
		return &eventSpec{source: "cloudtrail.amazonaws.com", name: name,
			params: lit(`{"name":"` + trailARN + `"}`)}
	}
	calls := []call{{region: a.home, spec: spec("StopLogging"), who: &admin}}
	p.plant(i, "stop", a.id, stop, calls, func() int64 { return 0 })
	sp := stopPlan{scenario: i, stop: stop, restart: restart}
	if c := p.chain(a.id, a.home); c != nil {
		sp.stopID = c.planted[len(c.planted)-1].eventID
		if restart != 0 {
			p.plant(i, "start", a.id, restart, []call{{region: a.home, spec: spec("StartLogging"), who: &admin}}, func() int64 { return 0 })
			sp.startID = c.planted[len(c.planted)-1].eventID
		}
		for j := range c.planted {
			if c.planted[j].scenario == i {
				c.planted[j].class = classLogging
			}
		}
	}
	a.stops = append(a.stops, sp)
	return nil
}

// plantActivity plants the calls of crypto-mining, snapshot-exfil and
// denied-attempts.
func (p *plan) plantActivity(i int) error {
	s := p.cfg.Scenarios[i]
	a := p.account(s.Account)
	r := newRand(p.cfg.Seed, "activity", fmt.Sprint(i))
	gap := func() int64 { return 4 + r.Int64N(40) }
	var calls []call
	switch s.Name {
	case ScenarioCryptoMining:
		w := newWorld(p.cfg.Seed, a.id, s.Region, p.cfg.Accounts)
		attacker := *w.leaked
		attacker.ip = fmt.Sprintf("185.220.%d.%d", 100+r.IntN(4), 2+r.IntN(250))
		attacker.agent = "Boto3/1.26.137 md/Botocore#1.29.137 ua/2.0 os/linux#5.15.0-1034-aws md/arch#x86_64 lang/python#3.8.10 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.29.137"
		calls = cryptoMiningCalls(s.Region, &attacker, s.Count)
	case ScenarioSnapshotExfil:
		src := ""
		for _, reg := range a.active {
			if reg != s.Region {
				src = reg
				break
			}
		}
		if src == "" {
			src = a.home
		}
		w := newWorld(p.cfg.Seed, a.id, src, p.cfg.Accounts)
		intruder := *w.admin
		intruder.console = false
		intruder.ip = fmt.Sprintf("45.137.%d.%d", r.IntN(256), 2+r.IntN(250))
		intruder.agent = cliUA[0]
		calls = snapshotExfilCalls(w, src, s.Region, &intruder)
	case ScenarioDeniedAttempts:
		w := newWorld(p.cfg.Seed, a.id, s.Region, p.cfg.Accounts)
		dev := *w.byClass[clsCLI][len(w.byClass[clsCLI])-1]
		calls = deniedCalls(w, s.Region, &dev, s.Count)
	}
	p.plant(i, "calls", a.id, s.At.Unix(), calls, gap)
	return nil
}

// ec2Response is the responseElements of a simple EC2 write.
func ec2Response(extra string) valueFn {
	return func(c *genCtx, b []byte) []byte {
		b = append(b, `{"requestId":"`...)
		b = appendUUID(b, c.r)
		b = append(b, '"')
		b = append(b, extra...)
		return append(b, '}')
	}
}

// cryptoMiningCalls are a miner's calls: reconnaissance, a security group
// open to the world, a key pair, then GPU instances; one launch fails on
// the vCPU quota.
func cryptoMiningCalls(region string, who *principal, launches int) []call {
	ec2 := func(name string, readOnly bool, params, response valueFn) *eventSpec {
		return &eventSpec{source: "ec2.amazonaws.com", name: name, readOnly: readOnly, params: params, response: response}
	}
	gpu := []string{"p3.16xlarge", "g4dn.12xlarge", "p4d.24xlarge", "g5.12xlarge"}
	calls := []call{
		{spec: ec2("DescribeRegions", true, lit(`{"regionSet":{},"allRegions":true}`), nil)},
		{spec: ec2("DescribeInstanceTypeOfferings", true, lit(`{"locationType":"region","filterSet":{"items":[{"name":"instance-type","valueSet":{"items":[{"value":"p3.16xlarge"},{"value":"g4dn.12xlarge"},{"value":"p4d.24xlarge"},{"value":"g5.12xlarge"}]}}]}}`), nil)},
		{spec: ec2("DescribeImages", true, lit(`{"executableBySet":{},"imagesSet":{},"ownersSet":{"items":[{"owner":"099720109477"}]},"filterSet":{"items":[{"name":"name","valueSet":{"items":[{"value":"ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"}]}}]}}`), nil)},
		{spec: ec2("DescribeVpcs", true, lit(`{"vpcSet":{},"filterSet":{}}`), nil)},
		{spec: ec2("CreateSecurityGroup", false,
			func(c *genCtx, b []byte) []byte {
				b = append(b, `{"groupName":"default-ssh-`...)
				b = appendHex(b, c.r, 6)
				b = append(b, `","groupDescription":"default","vpcId":"`...)
				b = append(b, c.w.vpc...)
				return append(b, `"}`...)
			},
			func(c *genCtx, b []byte) []byte {
				b = append(b, `{"requestId":"`...)
				b = appendUUID(b, c.r)
				b = append(b, `","_return":true,"groupId":"sg-0`...)
				b = appendHex(b, c.r, 16)
				return append(b, `"}`...)
			})},
		{spec: ec2("AuthorizeSecurityGroupIngress", false,
			func(c *genCtx, b []byte) []byte {
				b = append(b, `{"groupId":"sg-0`...)
				b = appendHex(b, c.r, 16)
				return append(b, `","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}}`...)
			}, ec2Response(`,"_return":true`))},
		{spec: ec2("ImportKeyPair", false, lit(`{"keyName":"xmr","publicKeyMaterial":"<sensitiveDataRemoved>"}`),
			func(c *genCtx, b []byte) []byte {
				b = append(b, `{"requestId":"`...)
				b = appendUUID(b, c.r)
				b = append(b, `","keyName":"xmr","keyFingerprint":"`...)
				for i := range 16 {
					if i > 0 {
						b = append(b, ':')
					}
					b = appendHex(b, c.r, 2)
				}
				b = append(b, `","keyPairId":"key-0`...)
				b = appendHex(b, c.r, 16)
				return append(b, `"}`...)
			})},
	}
	for i := range launches {
		typ := gpu[i%len(gpu)]
		n := 2 + i%3
		calls = append(calls, call{spec: ec2("RunInstances", false,
			func(c *genCtx, b []byte) []byte { return appendRunInstancesParams(c, b, typ, n) },
			func(c *genCtx, b []byte) []byte { return appendRunInstancesResponse(c, b, typ, n) })})
	}
	calls = append(calls,
		call{spec: ec2("RunInstances", false,
			func(c *genCtx, b []byte) []byte { return appendRunInstancesParams(c, b, "p4d.24xlarge", 8) }, nil),
			fail: &errorSpec{"Client.VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 384 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."}},
		call{spec: ec2("CreateTags", false, lit(`{"resourcesSet":{"items":[{"resourceId":"*"}]},"tagSet":{"items":[{"key":"Name","value":"worker"}]}}`), ec2Response(`,"_return":true`))},
	)
	for i := range calls {
		calls[i].region, calls[i].who = region, who
	}
	return calls
}

// snapshotExfilCalls are snapshots taken in src, copied to dst, restored
// there and opened up.
func snapshotExfilCalls(w *world, src, dst string, who *principal) []call {
	vol := w.volumes[0]
	db := w.dbs[0]
	snapName := "manual-export-" + db
	spec := func(source, name string, readOnly bool, params, response valueFn) *eventSpec {
		return &eventSpec{source: source, name: name, readOnly: readOnly, params: params, response: response}
	}
	snapID := "snap-0" + vol[5:]
	calls := []call{
		{region: src, spec: spec("ec2.amazonaws.com", "CreateSnapshot", false,
			lit(`{"volumeId":"`+vol+`","description":"pre-migration backup"}`),
			ec2Response(`,"snapshotId":"`+snapID+`","volumeId":"`+vol+`","status":"pending","startTime":1736160000000,"progress":"","ownerId":"`+w.account+`","volumeSize":200,"encrypted":false`))},
		{region: src, spec: spec("rds.amazonaws.com", "CreateDBSnapshot", false,
			lit(`{"dBSnapshotIdentifier":"`+snapName+`","dBInstanceIdentifier":"`+db+`"}`),
			lit(`{"dBSnapshotIdentifier":"`+snapName+`","dBInstanceIdentifier":"`+db+`","engine":"postgres","allocatedStorage":100,"status":"creating","port":5432,"masterUsername":"app","encrypted":false,"dBSnapshotArn":"arn:aws:rds:`+src+`:`+w.account+`:snapshot:`+snapName+`"}`))},
		{region: dst, spec: spec("ec2.amazonaws.com", "CopySnapshot", false,
			lit(`{"sourceRegion":"`+src+`","sourceSnapshotId":"`+snapID+`","description":"[Copied `+snapID+` from `+src+`] pre-migration backup","encrypted":false}`),
			ec2Response(`,"snapshotId":"snap-0`+vol[5:13]+`f00dbabe"`))},
		{region: dst, spec: spec("rds.amazonaws.com", "CopyDBSnapshot", false,
			lit(`{"sourceDBSnapshotIdentifier":"arn:aws:rds:`+src+`:`+w.account+`:snapshot:`+snapName+`","targetDBSnapshotIdentifier":"`+snapName+`-copy","copyTags":false,"sourceRegion":"`+src+`"}`),
			lit(`{"dBSnapshotIdentifier":"`+snapName+`-copy","dBInstanceIdentifier":"`+db+`","engine":"postgres","status":"pending","sourceRegion":"`+src+`","dBSnapshotArn":"arn:aws:rds:`+dst+`:`+w.account+`:snapshot:`+snapName+`-copy"}`))},
		{region: dst, spec: spec("rds.amazonaws.com", "DescribeDBSnapshots", true, lit(`{"dBSnapshotIdentifier":"`+snapName+`-copy","includeShared":false,"includePublic":false}`), nil)},
		{region: dst, spec: spec("rds.amazonaws.com", "DescribeDBSnapshots", true, lit(`{"dBSnapshotIdentifier":"`+snapName+`-copy","includeShared":false,"includePublic":false}`), nil)},
		{region: dst, spec: spec("rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot", false,
			lit(`{"dBInstanceIdentifier":"`+db+`-restore","dBSnapshotIdentifier":"`+snapName+`-copy","dBInstanceClass":"db.t3.medium","publiclyAccessible":true,"multiAZ":false}`),
			lit(`{"dBInstanceIdentifier":"`+db+`-restore","dBInstanceClass":"db.t3.medium","engine":"postgres","dBInstanceStatus":"creating","publiclyAccessible":true,"dBInstanceArn":"arn:aws:rds:`+dst+`:`+w.account+`:db:`+db+`-restore"}`))},
		{region: dst, spec: spec("rds.amazonaws.com", "ModifyDBInstance", false,
			lit(`{"dBInstanceIdentifier":"`+db+`-restore","masterUserPassword":"****","applyImmediately":true}`),
			lit(`{"dBInstanceIdentifier":"`+db+`-restore","dBInstanceStatus":"available","pendingModifiedValues":{"masterUserPassword":"****"}}`))},
		{region: dst, spec: spec("ec2.amazonaws.com", "CreateVolume", false,
			lit(`{"snapshotId":"snap-0`+vol[5:13]+`f00dbabe","availabilityZone":"`+dst+`a","volumeType":"gp3","encrypted":false}`),
			ec2Response(`,"volumeId":"vol-0`+vol[5:13]+`deadbeef","size":200,"snapshotId":"snap-0`+vol[5:13]+`f00dbabe","availabilityZone":"`+dst+`a","status":"creating","volumeType":"gp3"`))},
		{region: dst, spec: spec("rds.amazonaws.com", "DescribeDBInstances", true, lit(`{"dBInstanceIdentifier":"`+db+`-restore"}`), nil)},
	}
	for i := range calls {
		calls[i].who = who
	}
	return calls
}

// deniedCalls are count calls that an SCP region lock refuses.
func deniedCalls(w *world, region string, who *principal, count int) []call {
	type attempt struct {
		source, action, name string
		readOnly             bool
		code                 string
		params               string
	}
	attempts := []attempt{
		{"ec2.amazonaws.com", "ec2:DescribeInstances", "DescribeInstances", true, "Client.UnauthorizedOperation", `{"instancesSet":{},"filterSet":{}}`},
		{"ec2.amazonaws.com", "ec2:RunInstances", "RunInstances", false, "Client.UnauthorizedOperation", `{"instancesSet":{"items":[{"imageId":"ami-0c7217cdde317cfec","minCount":1,"maxCount":1}]},"instanceType":"t3.large"}`},
		{"s3.amazonaws.com", "s3:CreateBucket", "CreateBucket", false, "AccessDenied", `{"bucketName":"tmp-` + w.account + `-` + region + `","Host":"s3.` + region + `.amazonaws.com"}`},
		{"lambda.amazonaws.com", "lambda:ListFunctions", "ListFunctions20150331", true, "AccessDeniedException", `{"functionVersion":"ALL"}`},
		{"lambda.amazonaws.com", "lambda:CreateFunction", "CreateFunction20150331", false, "AccessDeniedException", `{"functionName":"sync","runtime":"python3.12","role":"arn:aws:iam::` + w.account + `:role/lambda-exec","handler":"app.handler","code":{},"publish":true}`},
		{"kms.amazonaws.com", "kms:CreateKey", "CreateKey", false, "AccessDeniedException", `{"keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS"}`},
		{"rds.amazonaws.com", "rds:DescribeDBInstances", "DescribeDBInstances", true, "AccessDenied", `{"maxRecords":100}`},
		{"ec2.amazonaws.com", "ec2:DescribeVpcs", "DescribeVpcs", true, "Client.UnauthorizedOperation", `{"vpcSet":{},"filterSet":{}}`},
	}
	arn := principalARN(who)
	var calls []call
	for i := range count {
		at := attempts[i%len(attempts)]
		msg := "User: " + arn + " is not authorized to perform: " + at.action + " with an explicit deny in a service control policy"
		if strings.HasPrefix(at.code, "Client.") {
			msg = "You are not authorized to perform this operation. " + msg + ". Encoded authorization failure message: "
		}
		calls = append(calls, call{
			region: region,
			who:    who,
			spec:   &eventSpec{source: at.source, name: at.name, readOnly: at.readOnly, params: lit(at.params), s3: at.source == "s3.amazonaws.com"},
			fail:   &errorSpec{code: at.code, message: msg},
		})
	}
	return calls
}

// principalARN is the arn member of p's userIdentity.
func principalARN(p *principal) string {
	_, rest, ok := strings.Cut(p.head, `"arn":"`)
	if !ok {
		return ""
	}
	arn, _, _ := strings.Cut(rest, `"`)
	return arn
}
