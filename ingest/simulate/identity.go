package simulate

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// principalClass groups the callers an event is made by.
type principalClass uint8

const (
	clsConsole      principalClass = iota // people in the console
	clsCLI                                // people with the CLI or SDKs
	clsAutomation                         // CI/CD, infrastructure as code
	clsInstance                           // EC2 instance profiles
	clsLambda                             // Lambda execution roles
	clsService                            // AWS services acting for the account
	clsCrossAccount                       // principals of another account
	numClasses
)

// principal is a caller with a pre-rendered userIdentity. Session
// principals render as head + session access key + mid + creation date +
// tail; static ones are head alone.
type principal struct {
	class   principalClass
	typ     string
	head    string
	session bool
	mid     string
	tail    string
	ip      string
	agent   string
	console bool
	// tls tells whether calls carry tlsDetails (AWS services calling on the
	// account's behalf do not).
	tls bool
	id  uint64 // stable number for per-hour session keys
}

// world is what one account × region's records are made of: its callers
// and the names of its resources. It depends only on the seed, the account
// and the region.
type world struct {
	account, region string
	other           string // another account, for cross-account callers
	byClass         [numClasses][]*principal
	saml, webID     *principal
	unknown, idc    *principal
	directory       *principal
	admin           *principal // who stops and starts logging
	leaked          *principal // the IAM user whose key an attacker uses
	instances       []string
	groups          []string
	volumes         []string
	subnets         []string
	vpc             string
	vpce            string
	buckets         []string
	keys            []string
	functions       []string
	dbs             []string
	tables          []string
	secrets         []string
	roles           []string
	users           []string
	distributions   []string
}

// Name pools.
var (
	personNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter"}
	appNames    = []string{"orders", "billing", "catalog", "search", "checkout", "inventory", "payments", "reports", "auth", "media"}
	browserUA   = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
	}
	cliUA = []string{
		"aws-cli/2.22.12 md/awscrt#0.22.0 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off",
		"aws-cli/2.19.1 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-1019-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24",
		"Boto3/1.35.81 md/Botocore#1.35.81 ua/2.0 os/linux#5.10.228-219.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.81",
		"aws-sdk-go-v2/1.32.6 ua/2.1 os/linux lang/go#1.23.4 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.198.1",
	}
	terraformUA = "APN/1.0 HashiCorp/1.0 Terraform/1.10.2 (+https://www.terraform.io) terraform-provider-aws/5.81.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.6 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.196.0"
	instanceUA  = []string{
		"aws-sdk-java/2.29.29 Linux/6.1.115-126.197.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/21.0.5+11-LTS Java/21.0.5 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_EC2 io/sync http/Apache cfg/retry-mode/legacy",
		"amazon-ssm-agent/3.3.1142.0",
		"aws-sdk-go/1.55.5 (go1.22.9; linux; amd64)",
	}
	lambdaUA = []string{
		"aws-sdk-nodejs/3.709.0 ua/2.1 os/linux#5.10.228-240.888.amzn2.x86_64 lang/js md/nodejs#20.18.1 api/dynamodb#3.709.0 exec-env/AWS_Lambda_nodejs20.x",
		"Boto3/1.35.76 md/Botocore#1.35.76 ua/2.0 os/linux#5.10.228-240.888.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.35.76",
	}
	servicePrincipals = []string{"ec2.amazonaws.com", "lambda.amazonaws.com", "autoscaling.amazonaws.com", "config.amazonaws.com", "cloudtrail.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ssm.amazonaws.com", "backup.amazonaws.com"}
)

// idChars are the characters of IAM unique IDs and access keys.
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// iamID returns a random IAM unique ID or access key ID with prefix.
func iamID(r *rand.Rand, prefix string) string {
	return string(appendChars([]byte(prefix), r, idChars, 17))
}

// publicIP returns a random address from blocks that look public.
func publicIP(r *rand.Rand) string {
	firsts := []int{3, 18, 34, 52, 81, 91, 109, 145, 176, 185, 198, 203}
	return fmt.Sprintf("%d.%d.%d.%d", pick(r, firsts), r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

// newWorld builds the callers and resources of account in region. Names
// and IAM IDs come from a stream of the account alone, so a user is the
// same in every region; instances and volumes from one of the region.
func newWorld(seed uint64, account, region string, accounts []string) *world {
	ar := newRand(seed, "world", account)
	rr := newRand(seed, "world", account, region)
	w := &world{account: account, region: region}
	w.other = accounts[0]
	for _, a := range accounts {
		if a != account {
			w.other = a
			break
		}
	}
	if w.other == account {
		w.other = "999988887777"
	}
	people := append([]string(nil), personNames...)
	ar.Shuffle(len(people), func(i, j int) { people[i], people[j] = people[j], people[i] })
	apps := append([]string(nil), appNames...)
	ar.Shuffle(len(apps), func(i, j int) { apps[i], apps[j] = apps[j], apps[i] })
	apps = apps[:4]
	acct := account
	var nextID uint64
	add := func(c principalClass, p *principal) *principal {
		nextID++
		p.id = nextID
		p.class = c
		w.byClass[c] = append(w.byClass[c], p)
		return p
	}
	roleIssuer := func(roleID, roleName, path string) string {
		return `"sessionIssuer":{"type":"Role","principalId":"` + roleID + `","arn":"arn:aws:iam::` + acct + `:role/` + path + roleName + `","accountId":"` + acct + `","userName":"` + roleName + `"}`
	}
	assumed := func(roleID, roleName, path, session, mfa, extra, after string) *principal {
		return &principal{
			typ:     "AssumedRole",
			session: true,
			head: `{"type":"AssumedRole","principalId":"` + roleID + `:` + session + `","arn":"arn:aws:sts::` + acct + `:assumed-role/` + roleName + `/` + session +
				`","accountId":"` + acct + `","accessKeyId":"`,
			mid:  `","sessionContext":{` + roleIssuer(roleID, roleName, path) + `,"webIdFederationData":{},"attributes":{"creationDate":"`,
			tail: `","mfaAuthenticated":"` + mfa + `"}` + extra + `}` + after + `}`,
			tls:  true,
		}
	}

	// People in the console.
	w.users = people[:6]
	add(clsConsole, &principal{
		typ: "Root", session: true,
		head:    `{"type":"Root","principalId":"` + acct + `","arn":"arn:aws:iam::` + acct + `:root","accountId":"` + acct + `","accessKeyId":"`,
		mid:     `","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"`,
		tail:    `","mfaAuthenticated":"true"}}}`,
		ip:      publicIP(ar),
		agent:   pick(ar, browserUA),
		console: true, tls: true,
	})
	for _, u := range people[:2] {
		add(clsConsole, &principal{
			typ: "IAMUser", session: true,
			head: `{"type":"IAMUser","principalId":"` + iamID(ar, "AIDA") + `","arn":"arn:aws:iam::` + acct + `:user/` + u + `","accountId":"` + acct + `","accessKeyId":"`,
			// Console sessions of IAM users carry invokedBy
			// signin.amazonaws.com, as genuine records do: the calls are
			// still the user's.
			mid:     `","userName":"` + u + `","invokedBy":"signin.amazonaws.com","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"`,
			tail:    `","mfaAuthenticated":"true"}}}`,
			ip:      publicIP(ar),
			agent:   pick(ar, browserUA),
			console: true, tls: true,
		})
	}
	ssoHome := "eu-west-1"
	ssoAdmin := "AWSReservedSSO_AdministratorAccess_" + string(appendHex(nil, ar, 16))
	ssoRead := "AWSReservedSSO_ReadOnlyAccess_" + string(appendHex(nil, ar, 16))
	ssoPower := "AWSReservedSSO_PowerUserAccess_" + string(appendHex(nil, ar, 16))
	adminID, readID, powerID := iamID(ar, "AROA"), iamID(ar, "AROA"), iamID(ar, "AROA")
	ssoPath := "aws-reserved/sso.amazonaws.com/" + ssoHome + "/"
	w.roles = []string{ssoAdmin, ssoRead, ssoPower}
	for i, u := range people[2:5] {
		role, id := ssoAdmin, adminID
		if i == 1 {
			role, id = ssoRead, readID
		}
		p := assumed(id, role, ssoPath, u+"@example.com", "false", "", "")
		p.ip, p.agent, p.console = publicIP(ar), pick(ar, browserUA), true
		add(clsConsole, p)
		if i == 0 {
			w.admin = p
		}
	}
	brokerID := iamID(ar, "AIDA")
	fed := people[5]
	add(clsConsole, &principal{
		typ: "FederatedUser", session: true,
		head: `{"type":"FederatedUser","principalId":"` + acct + `:` + fed + `","arn":"arn:aws:sts::` + acct + `:federated-user/` + fed + `","accountId":"` + acct + `","accessKeyId":"`,
		mid: `","sessionContext":{"sessionIssuer":{"type":"IAMUser","principalId":"` + brokerID + `","arn":"arn:aws:iam::` + acct + `:user/federation-broker","accountId":"` + acct +
			`","userName":"federation-broker"},"webIdFederationData":{},"attributes":{"creationDate":"`,
		tail:  `","mfaAuthenticated":"false"}}}`,
		ip:    publicIP(ar),
		agent: pick(ar, browserUA), console: true, tls: true,
	})

	// People with the CLI.
	for i, u := range []string{people[6], "ci-deploy"} {
		p := add(clsCLI, &principal{
			typ:   "IAMUser",
			head:  `{"type":"IAMUser","principalId":"` + iamID(ar, "AIDA") + `","arn":"arn:aws:iam::` + acct + `:user/` + u + `","accountId":"` + acct + `","accessKeyId":"` + iamID(ar, "AKIA")[:20] + `","userName":"` + u + `"}`,
			ip:    publicIP(ar),
			agent: cliUA[i%len(cliUA)], tls: true,
		})
		if u == "ci-deploy" {
			w.leaked = p
		}
		w.users = append(w.users, u)
	}
	for i, u := range people[2:4] {
		role, id := ssoPower, powerID
		if i == 1 {
			role, id = ssoRead, readID
		}
		p := assumed(id, role, ssoPath, u+"@example.com", "false", "", "")
		p.ip, p.agent = publicIP(ar), pick(ar, cliUA)
		add(clsCLI, p)
	}

	// Automation.
	ghID := iamID(ar, "AROA")
	gh := assumed(ghID, "github-actions-deploy", "", "GitHubActions", "false", "", "")
	gh.mid = `","sessionContext":{` + roleIssuer(ghID, "github-actions-deploy", "") +
		`,"webIdFederationData":{"federatedProvider":"arn:aws:iam::` + acct + `:oidc-provider/token.actions.githubusercontent.com","attributes":{}},"attributes":{"creationDate":"`
	gh.ip, gh.agent = publicIP(ar), terraformUA
	add(clsAutomation, gh)
	opsID := iamID(ar, "AROA")
	add(clsAutomation, &principal{
		typ:  "Role",
		head: `{"type":"Role","principalId":"` + opsID + `","arn":"arn:aws:iam::` + acct + `:role/ops-automation","accountId":"` + acct + `","userName":"ops-automation"}`,
		ip:   publicIP(ar), agent: cliUA[2], tls: true,
	})
	cfnID := iamID(ar, "AROA")
	cfn := assumed(cfnID, "cfn-exec-role", "", "AWSCloudFormation", "false", "", `,"invokedBy":"cloudformation.amazonaws.com"`)
	cfn.ip, cfn.agent, cfn.tls = "cloudformation.amazonaws.com", "cloudformation.amazonaws.com", false
	add(clsAutomation, cfn)

	// Workloads: instance profiles and Lambda functions of this region.
	instRoleID := iamID(ar, "AROA")
	for range 3 {
		id := "i-0" + string(appendHex(nil, rr, 16))
		w.instances = append(w.instances, id)
		p := assumed(instRoleID, "app-server-role", "", id, "false",
			`,"ec2RoleDelivery":"2.0"`,
			`,"inScopeOf":{"issuerType":"AWS::EC2::Instance","credentialsIssuedTo":"arn:aws:ec2:`+region+`:`+acct+`:instance/`+id+`"}`)
		p.ip = fmt.Sprintf("10.%d.%d.%d", rr.IntN(256), rr.IntN(256), 1+rr.IntN(254))
		p.agent = pick(rr, instanceUA)
		add(clsInstance, p)
	}
	for _, app := range apps {
		fn := app + "-handler"
		w.functions = append(w.functions, fn)
		p := assumed(iamID(ar, "AROA"), app+"-lambda-role", "service-role/", fn, "false", "", "")
		p.ip, p.agent = publicIP(rr), pick(rr, lambdaUA)
		add(clsLambda, p)
	}

	// AWS services.
	for _, svc := range servicePrincipals {
		add(clsService, &principal{
			typ:  "AWSService",
			head: `{"type":"AWSService","invokedBy":"` + svc + `"}`,
			ip:   svc, agent: svc,
		})
	}
	cfgID := iamID(ar, "AROA")
	cfgRole := assumed(cfgID, "AWSServiceRoleForConfig", "aws-service-role/config.amazonaws.com/", "AWSConfig-Describe", "false", "", `,"invokedBy":"config.amazonaws.com"`)
	cfgRole.ip, cfgRole.agent, cfgRole.tls = "config.amazonaws.com", "config.amazonaws.com", false
	add(clsService, cfgRole)
	asgID := iamID(ar, "AROA")
	asg := assumed(asgID, "AWSServiceRoleForAutoScaling", "aws-service-role/autoscaling.amazonaws.com/", "AutoScaling", "false", "", `,"invokedBy":"autoscaling.amazonaws.com"`)
	asg.ip, asg.agent, asg.tls = "autoscaling.amazonaws.com", "autoscaling.amazonaws.com", false
	add(clsService, asg)

	// Another account's principals.
	add(clsCrossAccount, &principal{
		typ:  "AWSAccount",
		head: `{"type":"AWSAccount","principalId":"` + iamID(ar, "AROA") + `:shared-services","accountId":"` + w.other + `"}`,
		ip:   publicIP(ar), agent: cliUA[3], tls: true,
	})

	// Identities that only particular events have.
	w.saml = &principal{typ: "SAMLUser",
		head: `{"type":"SAMLUser","principalId":"` + string(appendChars(nil, ar, alnum, 28)) + `=:` + people[7] + `@example.com","userName":"` + people[7] +
			`@example.com","identityProvider":"` + string(appendChars(nil, ar, alnum, 28)) + `="}`,
		ip: publicIP(ar), agent: "aws-internal/3 aws-sdk-java/1.12.780 Linux/5.10.228 OpenJDK_64-Bit_Server_VM/25.432-b06 java/1.8.0_432 vendor/Oracle_Corporation cfg/retry-mode/standard", tls: true}
	repo := "repo:acme/" + apps[0] + ":ref:refs/heads/main"
	w.webID = &principal{typ: "WebIdentityUser",
		head: `{"type":"WebIdentityUser","principalId":"arn:aws:iam::` + acct + `:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:` + repo +
			`","userName":"` + repo + `","identityProvider":"arn:aws:iam::` + acct + `:oidc-provider/token.actions.githubusercontent.com"}`,
		ip: gh.ip, agent: "aws-sdk-js/2.1692.0 promise", tls: true}
	w.unknown = &principal{typ: "Unknown",
		head: `{"type":"Unknown","principalId":"","arn":"","accountId":"` + acct + `","accessKeyId":"","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"}`,
		ip:   publicIP(rr), agent: pick(ar, browserUA), tls: true}
	storeID := "d-" + string(appendHex(nil, ar, 10))
	w.idc = &principal{typ: "IdentityCenterUser",
		head: `{"type":"IdentityCenterUser","accountId":"` + acct + `","onBehalfOf":{"userId":"` + newUUID(ar) + `","identityStoreArn":"arn:aws:identitystore::` + acct +
			`:identitystore/` + storeID + `"},"credentialId":"` + string(appendChars(nil, ar, alnum, 40)) + `"}`,
		ip: publicIP(ar), agent: pick(ar, browserUA), tls: true}
	w.directory = &principal{typ: "Directory",
		head: `{"type":"Directory","principalId":"S-1-5-21-` + fmt.Sprint(1000000000+ar.IntN(999999999)) + `-` + fmt.Sprint(1000+ar.IntN(8999)) + `","accountId":"` + acct +
			`","userName":"` + people[8] + `"}`,
		ip: publicIP(ar), agent: pick(ar, browserUA), tls: true}

	// Resources.
	w.vpc = "vpc-0" + string(appendHex(nil, rr, 16))
	w.vpce = "vpce-0" + string(appendHex(nil, rr, 16))
	for range 3 {
		w.groups = append(w.groups, "sg-0"+string(appendHex(nil, rr, 16)))
		w.subnets = append(w.subnets, "subnet-0"+string(appendHex(nil, rr, 16)))
		w.volumes = append(w.volumes, "vol-0"+string(appendHex(nil, rr, 16)))
		w.keys = append(w.keys, newUUID(rr))
		w.secrets = append(w.secrets, "prod/"+pick(rr, apps)+"/db-"+string(appendChars(nil, rr, alnum, 6)))
	}
	for _, app := range apps {
		w.buckets = append(w.buckets, "acme-"+app+"-"+acct+"-"+region)
		w.dbs = append(w.dbs, app+"-db")
		w.tables = append(w.tables, strings.ToUpper(app[:1])+app[1:]+"Table")
	}
	for range 2 {
		w.distributions = append(w.distributions, "E"+string(appendChars(nil, ar, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13)))
	}
	return w
}

// appendIdentity renders p's userIdentity for an event at sec. A session
// principal keeps one session per hour: its temporary access key and
// creation date are a pure function of the principal and the hour, so
// that the events of one session share them.
func appendIdentity(b []byte, p *principal, sec int64, acctSalt uint64, clk *clock) []byte {
	b = append(b, p.head...)
	if !p.session {
		return b
	}
	hour := sec / 3600
	h := mix64(acctSalt ^ p.id<<32 ^ uint64(hour))
	b = append(b, "ASIA"...)
	for i := 0; i < 16; i++ {
		b = append(b, idChars[h&31])
		h = h>>5 | h<<59
		if i == 11 {
			h = mix64(h)
		}
	}
	b = append(b, p.mid...)
	created := hour*3600 - int64(mix64(h)%1800)
	b = clk.append(b, created)
	return append(b, p.tail...)
}
