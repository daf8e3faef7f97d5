package simulate

// Truth is what an archive holds by construction: what an analyzer of it
// must find. Generate returns it and writes it to StateDir/truth.json.
// Every list is sorted, so the file is as deterministic as the archive.
type Truth struct {
	Generator string `json:"generator"`
	// Config is the normalized configuration: Generate with it writes the
	// same archive again.
	Config Config `json:"config"`
	Bucket string `json:"bucket"`
	// Prefix is the key prefix as ingest.Location.Prefix has it: with its
	// trailing slash, or "".
	Prefix         string          `json:"prefix"`
	Window         TruthWindow     `json:"window"`
	PublicKeys     []TruthKey      `json:"public_keys"`
	Accounts       []AccountTruth  `json:"accounts"`
	Chains         []ChainTruth    `json:"chains"`
	Scenarios      []ScenarioTruth `json:"scenarios"`
	Activity       []ActivityTruth `json:"activity"`
	Duplicates     DuplicateTruth  `json:"duplicates"`
	NoiseObjects   []NoiseObject   `json:"noise_objects"`
	CorruptObjects []CorruptObject `json:"corrupt_objects"`
	Records        RecordTruth     `json:"records"`
	Objects        ObjectTruth     `json:"objects"`
}

// TruthWindow is the simulated activity: [Start, End), RFC 3339.
type TruthWindow struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// TruthKey names the public key that signs a region's digests.
type TruthKey struct {
	Region      string `json:"region"`
	Fingerprint string `json:"fingerprint"`
}

// AccountTruth is one account's coverage.
type AccountTruth struct {
	Account     string `json:"account"`
	OrgID       string `json:"org_id,omitempty"`
	Trail       string `json:"trail"`
	HomeRegion  string `json:"home_region"`
	MultiRegion bool   `json:"multi_region"`
	// GlobalEvents tells whether IAM, STS, sign-in and CloudFront events
	// are logged (in us-east-1).
	GlobalEvents bool `json:"global_events"`
	// RegionsEnabled are Config.EnabledRegions; RegionsLogged those the
	// trail covers (each has a digest chain); RegionsNotLogged the
	// difference; RegionsActive those with regular traffic;
	// RegionsDelivering those with at least one log file or digest.
	RegionsEnabled    []string      `json:"regions_enabled"`
	RegionsLogged     []string      `json:"regions_logged"`
	RegionsNotLogged  []string      `json:"regions_not_logged"`
	RegionsActive     []string      `json:"regions_active"`
	RegionsDelivering []string      `json:"regions_delivering"`
	LoggingStops      []LoggingStop `json:"logging_stops"`
	// Records counts the physical records in the account's readable log
	// files, GlobalRecords those of global services.
	Records       int64 `json:"records"`
	GlobalRecords int64 `json:"global_records"`
}

// LoggingStop is an interval without logging: StopLogging at Stopped,
// StartLogging at Restarted ("" if logging stayed off).
type LoggingStop struct {
	Stopped      string `json:"stopped"`
	Restarted    string `json:"restarted,omitempty"`
	StopEventID  string `json:"stop_event_id,omitempty"`
	StartEventID string `json:"start_event_id,omitempty"`
}

// ChainTruth is one account × region: its digest chain and log files.
type ChainTruth struct {
	Account    string `json:"account"`
	Region     string `json:"region"`
	OrgID      string `json:"org_id,omitempty"`
	Trail      string `json:"trail"`
	HomeRegion string `json:"home_region"`
	// FirstDigest and LastDigest are the keys of the chain's first and
	// last digests (whether or not on disk).
	FirstDigest string `json:"first_digest"`
	LastDigest  string `json:"last_digest"`
	// DigestsWritten are on disk (bad signatures included), DigestsEmpty
	// of those list no log file.
	DigestsWritten      int `json:"digests_written"`
	DigestsEmpty        int `json:"digests_empty"`
	DigestsDeleted      int `json:"digests_deleted"`
	DigestsBadSignature int `json:"digests_bad_signature"`
	// ChainStarts counts starting digests (all previous* null): the first
	// of the chain and one per restart of logging.
	ChainStarts         int      `json:"chain_starts"`
	StartDigests        []string `json:"start_digests"`
	DeletedDigests      []string `json:"deleted_digests"`
	BadSignatureDigests []string `json:"bad_signature_digests"`
	// UnsignedDigests are on disk without the signature metadata
	// CloudTrail stores with each digest (signature-removed); their bytes
	// are CloudTrail's. ForgedDigests are backfill digests CloudTrail never
	// wrote, without a signature, listing injected log files
	// (digest-forged); they are not among DigestsWritten.
	UnsignedDigests []string `json:"unsigned_digests"`
	ForgedDigests   []string `json:"forged_digests"`
	// Cut, when set, is the time from which the chain delivered nothing
	// more, neither log files nor digests, though the archive's window
	// goes on (tail-cut): its last digest ends there.
	Cut string `json:"cut,omitempty"`
	// LogsWritten are objects at log keys on disk (corrupt ones included).
	// LogsListed are listed by some digest, on disk or deleted;
	// LogsListedInDeletedDigests by a deleted one. LogsUnlisted are on disk
	// but listed by no digest, deleted or not: injected and corrupt
	// unlisted objects. LogsOnlyInDeletedDigests are on disk and listed
	// only by a deleted digest: genuine, though nothing left can show it.
	LogsWritten                int           `json:"logs_written"`
	LogsListed                 int           `json:"logs_listed"`
	LogsListedInDeletedDigests int           `json:"logs_listed_in_deleted_digests"`
	LogsUnlisted               int           `json:"logs_unlisted"`
	LogsOnlyInDeletedDigests   int           `json:"logs_only_in_deleted_digests"`
	LogsDeleted                int           `json:"logs_deleted"`
	LogsModified               int           `json:"logs_modified"`
	LogsInjected               int           `json:"logs_injected"`
	LogsCorrupt                int           `json:"logs_corrupt"`
	DeletedLogs                []string      `json:"deleted_logs"`
	ModifiedLogs               []string      `json:"modified_logs"`
	InjectedLogs               []string      `json:"injected_logs"`
	Gaps                       []TruthWindow `json:"gaps"`
	// Records counts physical records in the chain's readable log files;
	// RecordsLost those that a delivery gap kept from being delivered.
	Records     int64 `json:"records"`
	RecordsLost int64 `json:"records_lost"`
}

// ScenarioTruth is a scenario with every parameter resolved, and what it
// planted. Applied is false when the archive left no room for all of it
// (a time with no log file after it, a region the trail does not log).
type ScenarioTruth struct {
	Scenario
	Applied  bool     `json:"applied"`
	Objects  []string `json:"objects,omitempty"`
	EventIDs []string `json:"event_ids,omitempty"`
}

// ActivityTruth is planted activity in one account and region, counted
// as the allowlist finding weighs it. OutsideAllowlist is true when Region
// is not in Config.Regions.
type ActivityTruth struct {
	Scenario         string   `json:"scenario"`
	Account          string   `json:"account"`
	Region           string   `json:"region"`
	OutsideAllowlist bool     `json:"outside_allowlist"`
	SucceededWrites  int      `json:"succeeded_writes"`
	FailedWrites     int      `json:"failed_writes"`
	Denied           int      `json:"denied"`
	ReadOnly         int      `json:"read_only"`
	EventIDs         []string `json:"event_ids"`
}

// DuplicateTruth counts records delivered a second time: Count physical
// copies whose eventID had already been delivered.
type DuplicateTruth struct {
	Count    int      `json:"count"`
	EventIDs []string `json:"event_ids"`
}

// NoiseObject is an object that is not CloudTrail's. Keys ending in "/"
// cannot exist in a directory copy: OnDisk is false for them, and tests
// that upload the archive to S3 create them (see KeysNotOnDisk).
type NoiseObject struct {
	Key    string `json:"key"`
	What   string `json:"what"`
	OnDisk bool   `json:"on_disk"`
	Size   int    `json:"size"`
}

// CorruptObject is an unreadable object under a valid log key. What is
// "truncated-gzip" (a listed log file cut in the middle of its gzip
// stream), "garbage" (random bytes) or "empty" (zero bytes). Listed tells
// whether a digest lists it; Records is what CloudTrail wrote in it and
// RecordsDecodable what ingest.DecodeLog still yields before failing.
type CorruptObject struct {
	Key              string `json:"key"`
	What             string `json:"what"`
	Listed           bool   `json:"listed"`
	Records          int    `json:"records"`
	RecordsDecodable int    `json:"records_decodable"`
}

// RecordTruth counts records. Total is every physical record of every
// readable log file (duplicates included, corrupt files excluded);
// Duplicates those whose eventID appeared before; Unique the rest.
type RecordTruth struct {
	Total                 int64 `json:"total"`
	Duplicates            int64 `json:"duplicates"`
	Unique                int64 `json:"unique"`
	GlobalService         int64 `json:"global_service"`
	InDeletedLogs         int64 `json:"in_deleted_logs"`
	InCorruptLogs         int64 `json:"in_corrupt_logs"`
	RemovedByModification int64 `json:"removed_by_modification"`
	LostInGaps            int64 `json:"lost_in_gaps"`
}

// ObjectTruth counts the bucket's objects. OnDisk = LogFiles + DigestFiles
// + Other (files below the directory, StateDir excepted); Unreadable are
// the corrupt objects among LogFiles; NotOnDisk the folder keys.
type ObjectTruth struct {
	OnDisk      int   `json:"on_disk"`
	Bytes       int64 `json:"bytes"`
	LogFiles    int   `json:"log_files"`
	DigestFiles int   `json:"digest_files"`
	Other       int   `json:"other"`
	Unreadable  int   `json:"unreadable"`
	NotOnDisk   int   `json:"not_on_disk"`
}

// KeysNotOnDisk returns the keys that belong to the bucket but cannot be
// files of a directory copy (folder keys ending in "/"): create them as
// empty objects when uploading the archive to S3.
func (t *Truth) KeysNotOnDisk() []string {
	var keys []string
	for _, o := range t.NoiseObjects {
		if !o.OnDisk {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// Scenario returns the first scenario named name, or nil.
func (t *Truth) Scenario(name string) *ScenarioTruth {
	for i := range t.Scenarios {
		if t.Scenarios[i].Name == name {
			return &t.Scenarios[i]
		}
	}
	return nil
}

// Chain returns the chain of account in region, or nil.
func (t *Truth) Chain(account, region string) *ChainTruth {
	for i := range t.Chains {
		if t.Chains[i].Account == account && t.Chains[i].Region == region {
			return &t.Chains[i]
		}
	}
	return nil
}

// Account returns the truth of account, or nil.
func (t *Truth) Account(id string) *AccountTruth {
	for i := range t.Accounts {
		if t.Accounts[i].Account == id {
			return &t.Accounts[i]
		}
	}
	return nil
}
