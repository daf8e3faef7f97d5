package analyzer

import (
	"time"

	"github.com/trailcover/trailcover/ingest"
)

// KeySet holds CloudTrail public keys by fingerprint.
type KeySet struct{}

// Chain is one digest chain (account × source region × trail, standard or
// backfill) and what verifying it found.
type Chain struct {
	Account    string
	OrgID      string
	Region     string // the source region: where the digests were delivered from
	Trail      string
	HomeRegion string
	Backfill   bool
	// First and Last bound the digest windows seen.
	First, Last time.Time

	DigestsValid        int
	DigestsInvalid      int
	DigestsMissing      int
	DigestsUnverifiable int
	LogsValid           int
	LogsInvalid         int
	LogsMissing         int
	LogsUnlisted        int
}

type integrity struct{}

func newIntegrity(Config) *integrity                    { return &integrity{} }
func (*integrity) object(*ingest.Result, *Verdict)      {}
func (*integrity) event(*ingest.Record, *ingest.Result) {}
func (*integrity) finish(*Result)                       {}
