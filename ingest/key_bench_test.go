package ingest_test

import (
	"testing"

	"github.com/trailcover/trailcover/ingest"
)

// benchKeys are the shapes of key a bucket holds, with the kind each must
// parse to: a benchmark that measured the rejection path by mistake would
// flatter the parser.
var benchKeys = []struct {
	name string
	key  string
	kind ingest.Kind
}{
	{"log", "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1_20240301T0005Z_AbCdEfGh12345678.json.gz", ingest.KindLog},
	{"org-log", "o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789016/CloudTrail/ca-central-1/2020/08/30/123456789016_CloudTrail_ca-central-1_20200830T0115Z_3YQJxwt5qUaOzMtL.json.gz", ingest.KindLog},
	{"digest", "AWSLogs/327878933619/CloudTrail-Digest/ap-northeast-1/2023/10/15/327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20231015T230404Z.json.gz", ingest.KindDigest},
	{"insight", "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/03/01/111122223333_CloudTrail-Insight_us-east-1_20240301T0100Z_Insight000000001.json.gz", ingest.KindInsight},
	{"other", "AWSLogs/111122223333/CloudTrail/us-east-1/ConfigWritabilityCheckFile", ingest.KindOther},
}

// sinkLocation keeps the compiler from dropping the parse.
var sinkLocation ingest.Location

// BenchmarkParseKey parses one key per op, for each shape of key; MB/s
// counts key bytes. Every listed object goes through ParseKey at least
// once, so it must stay far below the cost of fetching the object.
func BenchmarkParseKey(b *testing.B) {
	for _, k := range benchKeys {
		if got := ingest.ParseKey(k.key).Kind; got != k.kind {
			b.Fatalf("ParseKey(%q).Kind = %v, want %v", k.key, got, k.kind)
		}
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(k.key)))
			b.ReportAllocs()
			for b.Loop() {
				sinkLocation = ingest.ParseKey(k.key)
			}
		})
	}
}
