package simulate

import (
	"math/rand/v2"
)

// eventTable picks events by weight.
type eventTable struct {
	specs []eventSpec
	cum   []int
	total int
}

// newEventTable indexes specs by cumulative weight.
func newEventTable(specs []eventSpec) *eventTable {
	t := &eventTable{specs: specs, cum: make([]int, len(specs))}
	for i, s := range specs {
		t.total += s.weight
		t.cum[i] = t.total
	}
	return t
}

// pick draws an event, each with the probability of its weight.
func (t *eventTable) pick(r *rand.Rand) *eventSpec {
	x := r.IntN(t.total)
	lo, hi := 0, len(t.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if t.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return &t.specs[lo]
}

// recordGen writes the records of one account × region. It is owned by
// one goroutine.
type recordGen struct {
	r        *rand.Rand
	w        *world
	clk      clock
	salt     uint64 // keeps session keys of different accounts apart
	regional *eventTable
	global   *eventTable
	hosts    map[string]string
	ctx      genCtx
}

// newRecordGen returns a generator drawing from r.
func newRecordGen(r *rand.Rand, w *world, regional, global *eventTable) *recordGen {
	g := &recordGen{r: r, w: w, regional: regional, global: global, hosts: map[string]string{}}
	for _, c := range w.account {
		g.salt = g.salt*31 + uint64(c)
	}
	g.salt = mix64(g.salt)
	g.ctx = genCtx{r: r, w: w, clk: &g.clk}
	return g
}

// caller picks who makes a call of spec.
func (g *recordGen) caller(spec *eventSpec) *principal {
	switch spec.ident {
	case identSAML:
		return g.w.saml
	case identWebIdentity:
		return g.w.webID
	case identUnknown:
		return g.w.unknown
	case identIdentityCenter:
		return g.w.idc
	case identDirectory:
		return g.w.directory
	}
	who := spec.who
	if len(who) == 0 {
		who = anyone
	}
	for range 4 {
		if ps := g.w.byClass[pick(g.r, who)]; len(ps) > 0 {
			return pick(g.r, ps)
		}
	}
	return pick(g.r, g.w.byClass[clsCLI])
}

// failure decides whether a call of spec fails, and how.
func (g *recordGen) failure(spec *eventSpec) *errorSpec {
	if spec.errPerMil == 0 || len(spec.errs) == 0 || g.r.IntN(1000) >= spec.errPerMil {
		return nil
	}
	return &spec.errs[g.r.IntN(len(spec.errs))]
}

// host is the endpoint of source in the world's region, cached.
func (g *recordGen) host(source string) string {
	h, ok := g.hosts[source]
	if !ok {
		h = hostHeader(source, g.w.region)
		g.hosts[source] = h
	}
	return h
}

// appendRecord writes one record of spec made by p at sec, failing with
// fail if not nil. It returns the buffer and the offset of the event ID.
func (g *recordGen) appendRecord(b []byte, sec int64, spec *eventSpec, p *principal, fail *errorSpec) ([]byte, int) {
	c := &g.ctx
	c.sec = sec
	service := spec.eventType == "AwsServiceEvent"
	b = append(b, `{"eventVersion":"1.11","userIdentity":`...)
	ip, agent := p.ip, p.agent
	if service {
		b = append(b, `{"accountId":"`...)
		b = append(b, g.w.account...)
		b = append(b, `","invokedBy":"`...)
		b = append(b, spec.source...)
		b = append(b, `"}`...)
		ip, agent = spec.source, spec.source
	} else {
		b = appendIdentity(b, p, sec, g.salt, &g.clk)
	}
	b = append(b, `,"eventTime":"`...)
	b = g.clk.append(b, sec)
	b = append(b, '"')
	b = appendField(b, "eventSource", spec.source)
	b = appendField(b, "eventName", spec.name)
	b = appendField(b, "awsRegion", g.w.region)
	b = appendField(b, "sourceIPAddress", ip)
	b = append(b, `,"userAgent":`...)
	b = appendString(b, agent, false)
	if fail != nil {
		if fail.code != "" {
			b = appendField(b, "errorCode", fail.code)
		}
		b = append(b, `,"errorMessage":`...)
		msg := fail.message
		if fail.code == "Client.UnauthorizedOperation" {
			b = appendString(b, msg, false)
			b = b[:len(b)-1]
			b = appendChars(b, g.r, alnum, 48)
			b = append(b, '"')
		} else {
			b = appendString(b, msg, false)
		}
	}
	b = append(b, `,"requestParameters":`...)
	if spec.params != nil {
		b = spec.params(c, b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"responseElements":`...)
	if spec.response != nil && (fail == nil || spec.name == "ConsoleLogin") {
		b = spec.response(c, b)
	} else {
		b = append(b, "null"...)
	}
	if spec.extra != nil {
		b = append(b, `,"additionalEventData":`...)
		b = spec.extra(c, b)
	}
	if !service {
		b = append(b, `,"requestID":"`...)
		if spec.s3 {
			b = appendChars(b, g.r, "0123456789ABCDEF", 16)
		} else {
			b = appendUUID(b, g.r)
		}
		b = append(b, '"')
	}
	b = append(b, `,"eventID":"`...)
	idAt := len(b)
	b = appendUUID(b, g.r)
	b = append(b, `","readOnly":`...)
	if spec.readOnly {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	if spec.resources != nil {
		b = append(b, `,"resources":`...)
		b = spec.resources(c, b)
	}
	eventType := spec.eventType
	if eventType == "" {
		eventType = "AwsApiCall"
	}
	b = appendField(b, "eventType", eventType)
	if spec.apiVersion != "" {
		b = appendField(b, "apiVersion", spec.apiVersion)
	}
	b = append(b, `,"managementEvent":true`...)
	b = appendField(b, "recipientAccountId", g.w.account)
	if spec.shared && p.class == clsCrossAccount {
		b = append(b, `,"sharedEventID":"`...)
		b = appendUUID(b, g.r)
		b = append(b, '"')
	}
	if spec.details != nil {
		b = append(b, `,"serviceEventDetails":`...)
		b = spec.details(c, b)
	}
	if spec.vpce && g.r.IntN(2) == 0 {
		b = appendField(b, "vpcEndpointId", g.w.vpce)
		b = appendField(b, "vpcEndpointAccountId", g.w.account)
	}
	b = append(b, `,"eventCategory":"Management"`...)
	if p.console && !service {
		b = append(b, `,"sessionCredentialFromConsole":"true"`...)
	}
	if p.tls && !service {
		b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
		b = append(b, g.host(spec.source)...)
		b = append(b, `"}`...)
	}
	return append(b, '}'), idAt
}

// appendRandom writes one regular event at sec: a global-service event if
// global, else a regional one. It returns the offset of the event ID too.
func (g *recordGen) appendRandom(b []byte, sec int64, global bool) ([]byte, int) {
	t := g.regional
	if global {
		t = g.global
	}
	spec := t.pick(g.r)
	return g.appendRecord(b, sec, spec, g.caller(spec), g.failure(spec))
}
