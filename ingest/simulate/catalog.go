package simulate

import (
	"math/rand/v2"
	"strings"
)

// genCtx is what a value generator may draw on for one record.
type genCtx struct {
	r      *rand.Rand
	w      *world
	clk    *clock
	sec    int64
	bucket string // the bucket the parameters named, for resources
}

// valueFn appends one JSON value (an object or array) to b.
type valueFn func(c *genCtx, b []byte) []byte

// errorSpec is an error an API call may fail with.
type errorSpec struct {
	code, message string
}

// identKind selects the callers of an event that only one identity type
// makes.
type identKind uint8

const (
	identPrincipal identKind = iota // someone of the event's classes
	identSAML
	identWebIdentity
	identUnknown
	identIdentityCenter
	identDirectory
)

// eventSpec is an API call as CloudTrail records it.
type eventSpec struct {
	source     string
	name       string
	readOnly   bool
	global     bool // a global service: logged in us-east-1 only
	weight     int
	who        []principalClass
	ident      identKind
	eventType  string // "" is AwsApiCall
	apiVersion string
	params     valueFn // nil writes null
	response   valueFn // nil writes null
	extra      valueFn // additionalEventData; nil leaves it out
	resources  valueFn // nil leaves it out
	details    valueFn // serviceEventDetails; nil leaves it out
	errPerMil  int
	errs       []errorSpec
	s3         bool // S3-style request IDs
	vpce       bool // some calls come through an interface VPC endpoint
	shared     bool // cross-account calls carry a sharedEventID
}

// Principal class sets.
var (
	people    = []principalClass{clsConsole, clsCLI}
	builders  = []principalClass{clsConsole, clsCLI, clsAutomation}
	workloads = []principalClass{clsInstance, clsLambda}
	readers   = []principalClass{clsConsole, clsCLI, clsAutomation, clsService, clsInstance}
	services  = []principalClass{clsService}
	anyone    = []principalClass{clsConsole, clsCLI, clsAutomation, clsInstance, clsLambda, clsService}
)

// Common errors.
var (
	errEC2Denied  = errorSpec{"Client.UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure message: "}
	errDenied     = errorSpec{"AccessDenied", "User is not authorized to perform this action because no identity-based policy allows it"}
	errDeniedExc  = errorSpec{"AccessDeniedException", "User is not authorized to perform this action because no identity-based policy allows it"}
	errThrottleEC = errorSpec{"Client.RequestLimitExceeded", "Request limit exceeded."}
)

// lit is a constant JSON value.
func lit(s string) valueFn {
	return func(_ *genCtx, b []byte) []byte { return append(b, s...) }
}

// regionalEvents are the calls of an active region.
var regionalEvents = []eventSpec{
	{source: "ec2.amazonaws.com", name: "DescribeInstances", readOnly: true, weight: 60, who: readers, errPerMil: 5, errs: []errorSpec{errThrottleEC, errEC2Denied},
		params: func(c *genCtx, b []byte) []byte {
			if c.r.IntN(2) == 0 {
				b = append(b, `{"instancesSet":{"items":[{"instanceId":"`...)
				b = append(b, pick(c.r, c.w.instances)...)
				return append(b, `"}]},"filterSet":{}}`...)
			}
			return append(b, `{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}}]}}`...)
		}},
	{source: "ec2.amazonaws.com", name: "DescribeInstanceStatus", readOnly: true, weight: 25, who: []principalClass{clsService, clsAutomation},
		params: lit(`{"instancesSet":{},"filterSet":{},"includeAllInstances":false}`)},
	{source: "ec2.amazonaws.com", name: "DescribeSecurityGroups", readOnly: true, weight: 20, who: readers,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"securityGroupSet":{},"securityGroupIdSet":{"items":[{"groupId":"`...)
			b = append(b, pick(c.r, c.w.groups)...)
			return append(b, `"}]},"filterSet":{}}`...)
		}},
	{source: "ec2.amazonaws.com", name: "DescribeVolumes", readOnly: true, weight: 12, who: readers,
		params: lit(`{"volumeSet":{},"filterSet":{}}`)},
	{source: "ec2.amazonaws.com", name: "DescribeVpcs", readOnly: true, weight: 8, who: readers,
		params: lit(`{"vpcSet":{},"filterSet":{}}`)},
	{source: "ec2.amazonaws.com", name: "DescribeSubnets", readOnly: true, weight: 6, who: readers,
		params: lit(`{"subnetSet":{},"filterSet":{}}`)},
	{source: "ec2.amazonaws.com", name: "DescribeNetworkInterfaces", readOnly: true, weight: 10, who: []principalClass{clsService, clsLambda, clsAutomation},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"networkInterfaceIdSet":{},"filterSet":{"items":[{"name":"vpc-id","valueSet":{"items":[{"value":"`...)
			b = append(b, c.w.vpc...)
			return append(b, `"}]}}]}}`...)
		}},
	{source: "ec2.amazonaws.com", name: "DescribeSnapshots", readOnly: true, weight: 5, who: readers,
		params: lit(`{"snapshotSet":{},"ownersSet":{"items":[{"owner":"self"}]},"restorableBySet":{},"filterSet":{}}`)},
	{source: "ec2.amazonaws.com", name: "DescribeRegions", readOnly: true, weight: 2, who: readers,
		params: lit(`{"regionSet":{},"allRegions":false}`)},
	{source: "ec2.amazonaws.com", name: "CreateTags", weight: 5, who: builders, errPerMil: 20, errs: []errorSpec{errEC2Denied},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"resourcesSet":{"items":[{"resourceId":"`...)
			b = append(b, pick(c.r, c.w.instances)...)
			b = append(b, `"}]},"tagSet":{"items":[{"key":"owner","value":"`...)
			b = append(b, pick(c.r, c.w.users)...)
			return append(b, `"}]}}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"requestId":"`...)
			b = appendUUID(b, c.r)
			return append(b, `","_return":true}`...)
		}},
	{source: "ec2.amazonaws.com", name: "RunInstances", weight: 1, who: []principalClass{clsAutomation, clsService},
		params: func(c *genCtx, b []byte) []byte {
			return appendRunInstancesParams(c, b, pick(c.r, []string{"t3.medium", "m6i.large", "c6g.xlarge", "r6i.large"}), 1)
		},
		response: func(c *genCtx, b []byte) []byte {
			return appendRunInstancesResponse(c, b, "m6i.large", 1)
		}},
	{source: "ec2.amazonaws.com", name: "TerminateInstances", weight: 1, who: []principalClass{clsAutomation, clsService},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"instancesSet":{"items":[{"instanceId":"`...)
			b = append(b, pick(c.r, c.w.instances)...)
			return append(b, `"}]}}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"requestId":"`...)
			b = appendUUID(b, c.r)
			b = append(b, `","instancesSet":{"items":[{"instanceId":"`...)
			b = append(b, pick(c.r, c.w.instances)...)
			return append(b, `","currentState":{"code":32,"name":"shutting-down"},"previousState":{"code":16,"name":"running"}}]}}`...)
		}},
	{source: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", weight: 1, who: builders, errPerMil: 80,
		errs: []errorSpec{{"Client.InvalidPermission.Duplicate", "the specified rule \"peer: 10.0.0.0/16, TCP, from port: 443, to port: 443, ALLOW\" already exists"}},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"groupId":"`...)
			b = append(b, pick(c.r, c.w.groups)...)
			return append(b, `","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"groups":{},"ipRanges":{"items":[{"cidrIp":"10.0.0.0/16"}]},"ipv6Ranges":{},"prefixListIds":{}}]}}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"requestId":"`...)
			b = appendUUID(b, c.r)
			b = append(b, `","_return":true,"securityGroupRuleSet":{"items":[{"groupOwnerId":"`...)
			b = append(b, c.w.account...)
			b = append(b, `","groupId":"`...)
			b = append(b, pick(c.r, c.w.groups)...)
			b = append(b, `","securityGroupRuleId":"sgr-0`...)
			b = appendHex(b, c.r, 16)
			return append(b, `","isEgress":false,"ipProtocol":"tcp","fromPort":443,"toPort":443,"cidrIpv4":"10.0.0.0/16"}]}}`...)
		}},
	{source: "ec2.amazonaws.com", name: "CreateNetworkInterface", weight: 2, who: services,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"subnetId":"`...)
			b = append(b, pick(c.r, c.w.subnets)...)
			b = append(b, `","description":"AWS Lambda VPC ENI-`...)
			b = append(b, pick(c.r, c.w.functions)...)
			b = append(b, `","groupSet":{"items":[{"groupId":"`...)
			b = append(b, pick(c.r, c.w.groups)...)
			return append(b, `"}]},"privateIpAddressesSet":{}}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"requestId":"`...)
			b = appendUUID(b, c.r)
			b = append(b, `","networkInterface":{"networkInterfaceId":"eni-0`...)
			b = appendHex(b, c.r, 16)
			b = append(b, `","subnetId":"`...)
			b = append(b, pick(c.r, c.w.subnets)...)
			b = append(b, `","vpcId":"`...)
			b = append(b, c.w.vpc...)
			return append(b, `","interfaceType":"lambda","status":"pending","sourceDestCheck":true}}`...)
		}},
	{source: "s3.amazonaws.com", name: "GetBucketAcl", readOnly: true, weight: 15, who: []principalClass{clsService, clsConsole}, s3: true,
		params:    func(c *genCtx, b []byte) []byte { return appendBucketParams(c, b, `"acl":""`) },
		extra:     appendS3Extra,
		resources: appendBucketResource},
	{source: "s3.amazonaws.com", name: "GetBucketLocation", readOnly: true, weight: 6, who: readers, s3: true,
		params:    func(c *genCtx, b []byte) []byte { return appendBucketParams(c, b, `"location":""`) },
		extra:     appendS3Extra,
		resources: appendBucketResource},
	{source: "s3.amazonaws.com", name: "GetBucketPolicy", readOnly: true, weight: 4, who: readers, s3: true, errPerMil: 300,
		errs:      []errorSpec{{"NoSuchBucketPolicy", "The bucket policy does not exist"}},
		params:    func(c *genCtx, b []byte) []byte { return appendBucketParams(c, b, `"policy":""`) },
		extra:     appendS3Extra,
		resources: appendBucketResource},
	{source: "s3.amazonaws.com", name: "GetBucketEncryption", readOnly: true, weight: 3, who: readers, s3: true,
		params:    func(c *genCtx, b []byte) []byte { return appendBucketParams(c, b, `"encryption":""`) },
		extra:     appendS3Extra,
		resources: appendBucketResource},
	{source: "s3.amazonaws.com", name: "ListBuckets", readOnly: true, weight: 4, who: people, s3: true,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"Host":"s3.`...)
			b = append(b, c.w.region...)
			return append(b, `.amazonaws.com"}`...)
		},
		extra: appendS3Extra},
	{source: "s3.amazonaws.com", name: "PutBucketPolicy", weight: 1, who: builders, s3: true, errPerMil: 50, errs: []errorSpec{errDenied},
		params: func(c *genCtx, b []byte) []byte {
			return appendBucketParams(c, b, `"bucketPolicy":{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]},"policy":""`)
		},
		extra:     appendS3Extra,
		resources: appendBucketResource},
	{source: "kms.amazonaws.com", name: "Decrypt", readOnly: true, weight: 40, who: []principalClass{clsService, clsInstance, clsLambda, clsCrossAccount}, shared: true, errPerMil: 3, errs: []errorSpec{errDeniedExc},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:`...)
			b = append(b, c.w.region...)
			b = append(b, ':')
			b = append(b, c.w.account...)
			b = append(b, `:function:`...)
			b = append(b, pick(c.r, c.w.functions)...)
			return append(b, `"}}`...)
		},
		resources: appendKeyResource},
	{source: "kms.amazonaws.com", name: "GenerateDataKey", readOnly: true, weight: 15, who: []principalClass{clsService, clsLambda},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"keyId":"arn:aws:kms:`...)
			b = append(b, c.w.region...)
			b = append(b, ':')
			b = append(b, c.w.account...)
			b = append(b, `:key/`...)
			b = append(b, pick(c.r, c.w.keys)...)
			b = append(b, `","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::`...)
			b = append(b, pick(c.r, c.w.buckets)...)
			return append(b, `"},"keySpec":"AES_256"}`...)
		},
		resources: appendKeyResource},
	{source: "kms.amazonaws.com", name: "RotateKey", weight: 1, eventType: "AwsServiceEvent", who: services,
		details: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"keyId":"`...)
			b = append(b, pick(c.r, c.w.keys)...)
			return append(b, `","rotationType":"AUTOMATIC"}`...)
		},
		resources: appendKeyResource},
	{source: "lambda.amazonaws.com", name: "ListFunctions20150331", readOnly: true, weight: 5, who: readers, apiVersion: "2015-03-31",
		params: lit(`{"functionVersion":"ALL"}`)},
	{source: "lambda.amazonaws.com", name: "GetFunction20150331v2", readOnly: true, weight: 4, who: builders, apiVersion: "2015-03-31",
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"functionName":"`...)
			b = append(b, pick(c.r, c.w.functions)...)
			return append(b, `"}`...)
		}},
	{source: "lambda.amazonaws.com", name: "UpdateFunctionCode20150331v2", weight: 1, who: []principalClass{clsAutomation}, apiVersion: "2015-03-31",
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"functionName":"`...)
			b = append(b, pick(c.r, c.w.functions)...)
			b = append(b, `","s3Bucket":"`...)
			b = append(b, c.w.buckets[0]...)
			b = append(b, `","s3Key":"builds/`...)
			b = appendHex(b, c.r, 40)
			return append(b, `.zip","publish":true,"dryRun":false}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			fn := pick(c.r, c.w.functions)
			b = append(b, `{"functionName":"`...)
			b = append(b, fn...)
			b = append(b, `","functionArn":"arn:aws:lambda:`...)
			b = append(b, c.w.region...)
			b = append(b, ':')
			b = append(b, c.w.account...)
			b = append(b, `:function:`...)
			b = append(b, fn...)
			b = append(b, `:`...)
			b = appendInt(b, int64(2+c.r.IntN(200)))
			b = append(b, `","runtime":"nodejs20.x","handler":"index.handler","codeSize":`...)
			b = appendInt(b, int64(100000+c.r.IntN(5000000)))
			b = append(b, `,"timeout":30,"memorySize":512,"codeSha256":"`...)
			b = appendHex(b, c.r, 43)
			return append(b, `=","state":"Active","lastUpdateStatus":"InProgress","packageType":"Zip","architectures":["arm64"]}`...)
		}},
	{source: "rds.amazonaws.com", name: "DescribeDBInstances", readOnly: true, weight: 8, who: readers,
		params: lit(`{"maxRecords":100}`)},
	{source: "rds.amazonaws.com", name: "DescribeDBSnapshots", readOnly: true, weight: 2, who: readers,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"dBInstanceIdentifier":"`...)
			b = append(b, pick(c.r, c.w.dbs)...)
			return append(b, `","snapshotType":"automated","includeShared":false,"includePublic":false}`...)
		}},
	{source: "rds.amazonaws.com", name: "CreateDBSnapshot", weight: 1, who: []principalClass{clsService},
		params: func(c *genCtx, b []byte) []byte {
			db := pick(c.r, c.w.dbs)
			b = append(b, `{"dBSnapshotIdentifier":"awsbackup:job-`...)
			b = appendUUID(b, c.r)
			b = append(b, `","dBInstanceIdentifier":"`...)
			b = append(b, db...)
			return append(b, `"}`...)
		}},
	{source: "cloudtrail.amazonaws.com", name: "DescribeTrails", readOnly: true, weight: 3, who: readers,
		params: lit(`{"includeShadowTrails":true}`)},
	{source: "cloudtrail.amazonaws.com", name: "GetTrailStatus", readOnly: true, weight: 2, who: readers,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"name":"arn:aws:cloudtrail:us-east-1:`...)
			b = append(b, c.w.account...)
			return append(b, `:trail/management-events"}`...)
		}},
	{source: "cloudtrail.amazonaws.com", name: "LookupEvents", readOnly: true, weight: 2, who: people,
		params: lit(`{"maxResults":50,"lookupAttributes":[{"attributeKey":"ReadOnly","attributeValue":"false"}]}`)},
	{source: "logs.amazonaws.com", name: "CreateLogStream", weight: 12, who: []principalClass{clsLambda, clsInstance},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"logGroupName":"/aws/lambda/`...)
			b = append(b, pick(c.r, c.w.functions)...)
			b = append(b, `","logStreamName":"2025/01/06/[$LATEST]`...)
			b = appendHex(b, c.r, 32)
			return append(b, `"}`...)
		}},
	{source: "logs.amazonaws.com", name: "DescribeLogGroups", readOnly: true, weight: 4, who: readers,
		params: lit(`{"includeLinkedAccounts":false}`)},
	{source: "monitoring.amazonaws.com", name: "DescribeAlarms", readOnly: true, weight: 6, who: readers,
		params: lit(`{"alarmTypes":["CompositeAlarm","MetricAlarm"],"maxRecords":100}`)},
	{source: "monitoring.amazonaws.com", name: "PutMetricAlarm", weight: 1, who: builders,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"alarmName":"`...)
			b = append(b, pick(c.r, c.w.functions)...)
			return append(b, `-errors","metricName":"Errors","namespace":"AWS/Lambda","statistic":"Sum","period":300,"evaluationPeriods":1,"threshold":1.0,"comparisonOperator":"GreaterThanOrEqualToThreshold","treatMissingData":"notBreaching"}`...)
		}},
	{source: "ssm.amazonaws.com", name: "UpdateInstanceInformation", weight: 18, who: []principalClass{clsInstance}, vpce: true,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"instanceId":"`...)
			b = append(b, pick(c.r, c.w.instances)...)
			return append(b, `","agentVersion":"3.3.1142.0","agentStatus":"Active","platformType":"Linux","platformName":"Amazon Linux","platformVersion":"2023","iPAddress":"10.0.12.7","computerName":"ip-10-0-12-7.ec2.internal","agentName":"amazon-ssm-agent","availabilityZone":"a","availabilityZoneId":"az1"}`...)
		}},
	{source: "ssm.amazonaws.com", name: "GetParameter", readOnly: true, weight: 10, who: workloads,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"name":"/`...)
			b = append(b, pick(c.r, c.w.functions)...)
			return append(b, `/config","withDecryption":true}`...)
		}},
	{source: "secretsmanager.amazonaws.com", name: "GetSecretValue", readOnly: true, weight: 6, who: workloads,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"secretId":"arn:aws:secretsmanager:`...)
			b = append(b, c.w.region...)
			b = append(b, ':')
			b = append(b, c.w.account...)
			b = append(b, `:secret:`...)
			b = append(b, pick(c.r, c.w.secrets)...)
			return append(b, `"}`...)
		}},
	{source: "dynamodb.amazonaws.com", name: "DescribeTable", readOnly: true, weight: 8, who: []principalClass{clsLambda, clsService, clsAutomation},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"tableName":"`...)
			b = append(b, pick(c.r, c.w.tables)...)
			return append(b, `"}`...)
		}},
	{source: "elasticloadbalancing.amazonaws.com", name: "DescribeTargetHealth", readOnly: true, weight: 8, who: []principalClass{clsService, clsAutomation}, apiVersion: "2015-12-01",
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"targetGroupArn":"arn:aws:elasticloadbalancing:`...)
			b = append(b, c.w.region...)
			b = append(b, ':')
			b = append(b, c.w.account...)
			b = append(b, `:targetgroup/`...)
			b = append(b, pick(c.r, c.w.functions)...)
			b = append(b, `/`...)
			b = appendHex(b, c.r, 16)
			return append(b, `"}`...)
		}},
	{source: "autoscaling.amazonaws.com", name: "DescribeAutoScalingGroups", readOnly: true, weight: 6, who: []principalClass{clsService, clsAutomation}, apiVersion: "2011-01-01"},
	{source: "config.amazonaws.com", name: "DescribeConfigurationRecorderStatus", readOnly: true, weight: 2, who: readers},
	{source: "sso.amazonaws.com", name: "ListAccountRoles", readOnly: true, weight: 1, ident: identIdentityCenter,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"accountId":"`...)
			b = append(b, c.w.account...)
			return append(b, `"}`...)
		}},
	{source: "workdocs.amazonaws.com", name: "DescribeUsers", readOnly: true, weight: 1, ident: identDirectory,
		params: lit(`{"organizationId":"d-9067a1b2c3","limit":50}`)},
}

// globalEvents are the calls of global services, logged in us-east-1.
var globalEvents = []eventSpec{
	{source: "sts.amazonaws.com", name: "AssumeRole", readOnly: true, global: true, weight: 50, who: []principalClass{clsService, clsCLI, clsAutomation, clsCrossAccount}, shared: true,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"roleArn":"arn:aws:iam::`...)
			b = append(b, c.w.account...)
			b = append(b, `:role/`...)
			b = append(b, pick(c.r, c.w.functions)...)
			b = append(b, `-role","roleSessionName":"`...)
			b = appendHex(b, c.r, 12)
			return append(b, `","durationSeconds":3600}`...)
		},
		response:  appendCredentials,
		resources: appendRoleResource},
	{source: "sts.amazonaws.com", name: "GetCallerIdentity", readOnly: true, global: true, weight: 10, who: []principalClass{clsCLI, clsAutomation, clsInstance}},
	{source: "sts.amazonaws.com", name: "AssumeRoleWithWebIdentity", readOnly: true, global: true, weight: 4, ident: identWebIdentity,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"roleArn":"arn:aws:iam::`...)
			b = append(b, c.w.account...)
			return append(b, `:role/github-actions-deploy","roleSessionName":"GitHubActions","durationSeconds":3600}`...)
		},
		response:  appendCredentials,
		resources: appendRoleResource},
	{source: "sts.amazonaws.com", name: "AssumeRoleWithSAML", readOnly: true, global: true, weight: 3, ident: identSAML,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"sAMLAssertionID":"_`...)
			b = appendHex(b, c.r, 32)
			b = append(b, `","roleSessionName":"`...)
			b = append(b, pick(c.r, c.w.users)...)
			b = append(b, `@example.com","principalArn":"arn:aws:iam::`...)
			b = append(b, c.w.account...)
			b = append(b, `:saml-provider/okta","roleArn":"arn:aws:iam::`...)
			b = append(b, c.w.account...)
			return append(b, `:role/okta-engineers","durationSeconds":43200}`...)
		},
		response:  appendCredentials,
		resources: appendRoleResource},
	{source: "sts.amazonaws.com", name: "GetSessionToken", readOnly: true, global: true, weight: 1, who: []principalClass{clsCLI},
		params:   lit(`{"durationSeconds":43200}`),
		response: appendCredentials},
	{source: "iam.amazonaws.com", name: "GetUser", readOnly: true, global: true, weight: 4, who: people, errPerMil: 40,
		errs: []errorSpec{{"NoSuchEntityException", "The user with name deploy-bot cannot be found."}},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"userName":"`...)
			b = append(b, pick(c.r, c.w.users)...)
			return append(b, `"}`...)
		}},
	{source: "iam.amazonaws.com", name: "ListUsers", readOnly: true, global: true, weight: 3, who: readers},
	{source: "iam.amazonaws.com", name: "ListRoles", readOnly: true, global: true, weight: 4, who: readers},
	{source: "iam.amazonaws.com", name: "GetRole", readOnly: true, global: true, weight: 6, who: []principalClass{clsAutomation, clsService, clsConsole},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"roleName":"`...)
			b = append(b, pick(c.r, c.w.functions)...)
			return append(b, `-role"}`...)
		}},
	{source: "iam.amazonaws.com", name: "ListAttachedRolePolicies", readOnly: true, global: true, weight: 3, who: []principalClass{clsAutomation, clsService},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"roleName":"`...)
			b = append(b, pick(c.r, c.w.roles)...)
			return append(b, `"}`...)
		}},
	{source: "iam.amazonaws.com", name: "GetPolicyVersion", readOnly: true, global: true, weight: 2, who: []principalClass{clsAutomation, clsService},
		params: lit(`{"policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess","versionId":"v124"}`)},
	{source: "iam.amazonaws.com", name: "CreateRole", global: true, weight: 1, who: []principalClass{clsAutomation},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"roleName":"`...)
			b = append(b, pick(c.r, c.w.functions)...)
			return append(b, `-role","assumeRolePolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			fn := pick(c.r, c.w.functions)
			b = append(b, `{"role":{"path":"/","roleName":"`...)
			b = append(b, fn...)
			b = append(b, `-role","roleId":"`...)
			b = appendChars(b, c.r, idChars, 21)
			b = append(b, `","arn":"arn:aws:iam::`...)
			b = append(b, c.w.account...)
			b = append(b, `:role/`...)
			b = append(b, fn...)
			b = append(b, `-role","createDate":"`...)
			b = append(b, `Jan 6, 2025, 10:00:00 AM"}}`...)
			return b
		}},
	{source: "iam.amazonaws.com", name: "AttachRolePolicy", global: true, weight: 1, who: []principalClass{clsAutomation},
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"roleName":"`...)
			b = append(b, pick(c.r, c.w.functions)...)
			return append(b, `-role","policyArn":"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}`...)
		}},
	{source: "iam.amazonaws.com", name: "CreateAccessKey", global: true, weight: 1, who: people,
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"userName":"`...)
			b = append(b, pick(c.r, c.w.users)...)
			return append(b, `"}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"accessKey":{"userName":"`...)
			b = append(b, pick(c.r, c.w.users)...)
			b = append(b, `","accessKeyId":"AKIA`...)
			b = appendChars(b, c.r, idChars, 16)
			return append(b, `","status":"Active","createDate":"Jan 6, 2025, 11:41:52 AM"}}`...)
		}},
	{source: "signin.amazonaws.com", name: "ConsoleLogin", global: true, weight: 3, who: []principalClass{clsConsole}, eventType: "AwsConsoleSignIn",
		response: lit(`{"ConsoleLogin":"Success"}`),
		extra: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"LoginTo":"https://console.aws.amazon.com/console/home?region=us-east-1&state=hashArgs%23&isauthcode=true","MobileVersion":"No","MFAIdentifier":"arn:aws:iam::`...)
			b = append(b, c.w.account...)
			b = append(b, `:mfa/`...)
			b = append(b, pick(c.r, c.w.users)...)
			return append(b, `","MFAUsed":"Yes"}`...)
		}},
	{source: "signin.amazonaws.com", name: "ConsoleLogin", global: true, weight: 1, ident: identUnknown, eventType: "AwsConsoleSignIn", errPerMil: 1000,
		errs:     []errorSpec{{"", "Failed authentication"}},
		response: lit(`{"ConsoleLogin":"Failure"}`),
		extra:    lit(`{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true","MobileVersion":"No","MFAUsed":"No"}`)},
	{source: "cloudfront.amazonaws.com", name: "ListDistributions", readOnly: true, global: true, weight: 3, who: readers, apiVersion: "2020_05_31"},
	{source: "cloudfront.amazonaws.com", name: "GetDistribution", readOnly: true, global: true, weight: 2, who: builders, apiVersion: "2020_05_31",
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"id":"`...)
			b = append(b, pick(c.r, c.w.distributions)...)
			return append(b, `"}`...)
		}},
	{source: "cloudfront.amazonaws.com", name: "CreateInvalidation", global: true, weight: 1, who: []principalClass{clsAutomation}, apiVersion: "2020_05_31",
		params: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"distributionId":"`...)
			b = append(b, pick(c.r, c.w.distributions)...)
			b = append(b, `","invalidationBatch":{"paths":{"quantity":1,"items":["/*"]},"callerReference":"`...)
			b = appendHex(b, c.r, 16)
			return append(b, `"}}`...)
		},
		response: func(c *genCtx, b []byte) []byte {
			b = append(b, `{"location":"https://cloudfront.amazonaws.com/2020-05-31/distribution/`...)
			b = append(b, pick(c.r, c.w.distributions)...)
			b = append(b, `/invalidation/I`...)
			b = appendChars(b, c.r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 25)
			return append(b, `","invalidation":{"status":"InProgress"}}`...)
		}},
}

// isGlobalSource reports whether eventSource is one of the global services
// whose events a trail records only with global service events on.
func isGlobalSource(source string) bool {
	switch source {
	case "iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com", "cloudfront.amazonaws.com":
		return true
	}
	return false
}

// hostHeader is the endpoint a call went to, for tlsDetails.
func hostHeader(source, region string) string {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	switch svc {
	case "iam", "sts", "cloudfront":
		return svc + ".amazonaws.com"
	case "signin":
		return "signin.aws.amazon.com"
	}
	return svc + "." + region + ".amazonaws.com"
}

// appendBucketParams writes a bucket call's requestParameters and
// remembers the bucket for its resources.
func appendBucketParams(c *genCtx, b []byte, extra string) []byte {
	bucket := pick(c.r, c.w.buckets)
	c.bucket = bucket
	b = append(b, `{"bucketName":"`...)
	b = append(b, bucket...)
	b = append(b, `","Host":"`...)
	b = append(b, bucket...)
	b = append(b, `.s3.`...)
	b = append(b, c.w.region...)
	b = append(b, `.amazonaws.com",`...)
	b = append(b, extra...)
	return append(b, '}')
}

// appendS3Extra writes the additionalEventData of S3 calls.
func appendS3Extra(c *genCtx, b []byte) []byte {
	b = append(b, `{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"`...)
	b = appendChars(b, c.r, alnum, 56)
	b = append(b, `=","bytesTransferredOut":`...)
	b = appendInt(b, int64(100+c.r.IntN(4000)))
	return append(b, '}')
}

// appendBucketResource writes resources naming the call's bucket.
func appendBucketResource(c *genCtx, b []byte) []byte {
	b = append(b, `[{"accountId":"`...)
	b = append(b, c.w.account...)
	b = append(b, `","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::`...)
	b = append(b, c.bucket...)
	return append(b, `"}]`...)
}

// appendKeyResource writes resources naming a KMS key.
func appendKeyResource(c *genCtx, b []byte) []byte {
	b = append(b, `[{"accountId":"`...)
	b = append(b, c.w.account...)
	b = append(b, `","type":"AWS::KMS::Key","ARN":"arn:aws:kms:`...)
	b = append(b, c.w.region...)
	b = append(b, ':')
	b = append(b, c.w.account...)
	b = append(b, `:key/`...)
	b = append(b, pick(c.r, c.w.keys)...)
	return append(b, `"}]`...)
}

// appendRoleResource writes resources naming an IAM role.
func appendRoleResource(c *genCtx, b []byte) []byte {
	b = append(b, `[{"accountId":"`...)
	b = append(b, c.w.account...)
	b = append(b, `","type":"AWS::IAM::Role","ARN":"arn:aws:iam::`...)
	b = append(b, c.w.account...)
	b = append(b, `:role/`...)
	b = append(b, pick(c.r, c.w.functions)...)
	return append(b, `-role"}]`...)
}

// appendCredentials writes the responseElements of STS calls.
func appendCredentials(c *genCtx, b []byte) []byte {
	b = append(b, `{"credentials":{"accessKeyId":"ASIA`...)
	b = appendChars(b, c.r, idChars, 16)
	b = append(b, `","sessionToken":"IQoJb3JpZ2luX2VjE`...)
	b = appendChars(b, c.r, alnum, 120)
	b = append(b, `","expiration":"`...)
	b = c.clk.append(b, c.sec+3600)
	b = append(b, `"},"assumedRoleUser":{"assumedRoleId":"AROA`...)
	b = appendChars(b, c.r, idChars, 17)
	b = append(b, `:`...)
	b = appendHex(b, c.r, 12)
	b = append(b, `","arn":"arn:aws:sts::`...)
	b = append(b, c.w.account...)
	b = append(b, `:assumed-role/`...)
	b = append(b, pick(c.r, c.w.functions)...)
	b = append(b, `-role/`...)
	b = appendHex(b, c.r, 12)
	return append(b, `"}}`...)
}

// appendRunInstancesParams writes RunInstances' requestParameters.
func appendRunInstancesParams(c *genCtx, b []byte, instanceType string, count int) []byte {
	b = append(b, `{"instancesSet":{"items":[{"imageId":"ami-0`...)
	b = appendHex(b, c.r, 16)
	b = append(b, `","minCount":`...)
	b = appendInt(b, int64(count))
	b = append(b, `,"maxCount":`...)
	b = appendInt(b, int64(count))
	b = append(b, `}]},"instanceType":"`...)
	b = append(b, instanceType...)
	b = append(b, `","blockDeviceMapping":{},"monitoring":{"enabled":false},"disableApiTermination":false,"disableApiStop":false,"clientToken":"`...)
	b = appendUUID(b, c.r)
	b = append(b, `","subnetId":"`...)
	b = append(b, pick(c.r, c.w.subnets)...)
	b = append(b, `","metadataOptions":{"httpTokens":"required"}}`...)
	return b
}

// appendRunInstancesResponse writes RunInstances' responseElements for
// count new instances.
func appendRunInstancesResponse(c *genCtx, b []byte, instanceType string, count int) []byte {
	b = append(b, `{"requestId":"`...)
	b = appendUUID(b, c.r)
	b = append(b, `","reservationId":"r-0`...)
	b = appendHex(b, c.r, 16)
	b = append(b, `","ownerId":"`...)
	b = append(b, c.w.account...)
	b = append(b, `","groupSet":{},"instancesSet":{"items":[`...)
	for i := range count {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"instanceId":"i-0`...)
		b = appendHex(b, c.r, 16)
		b = append(b, `","imageId":"ami-0`...)
		b = appendHex(b, c.r, 16)
		b = append(b, `","instanceState":{"code":0,"name":"pending"},"privateDnsName":"ip-10-0-`...)
		b = appendInt(b, int64(c.r.IntN(256)))
		b = append(b, '-')
		b = appendInt(b, int64(c.r.IntN(256)))
		b = append(b, `.`...)
		b = append(b, c.w.region...)
		b = append(b, `.compute.internal","amiLaunchIndex":`...)
		b = appendInt(b, int64(i))
		b = append(b, `,"productCodes":{},"instanceType":"`...)
		b = append(b, instanceType...)
		b = append(b, `","launchTime":`...)
		b = appendInt(b, c.sec*1000)
		b = append(b, `,"placement":{"availabilityZone":"`...)
		b = append(b, c.w.region...)
		b = append(b, `a","tenancy":"default"},"monitoring":{"state":"disabled"},"subnetId":"`...)
		b = append(b, pick(c.r, c.w.subnets)...)
		b = append(b, `","vpcId":"`...)
		b = append(b, c.w.vpc...)
		b = append(b, `","stateReason":{"code":"pending","message":"pending"},"architecture":"x86_64","rootDeviceType":"ebs","rootDeviceName":"/dev/xvda","blockDeviceMapping":{},"virtualizationType":"hvm","hypervisor":"xen","groupSet":{"items":[{"groupId":"`...)
		b = append(b, pick(c.r, c.w.groups)...)
		b = append(b, `","groupName":"default"}]},"sourceDestCheck":true,"ebsOptimized":false,"enaSupport":true,"cpuOptions":{"coreCount":2,"threadsPerCore":2},"metadataOptions":{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled"}}`...)
	}
	b = append(b, `]},"requesterId":"`...)
	b = append(b, c.w.account...)
	return append(b, `"}`...)
}
