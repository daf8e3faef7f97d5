// Package simulate writes synthetic CloudTrail archives with known ground
// truth: the bucket layout CloudTrail writes (organization and
// single-account trails, any key prefix, several accounts, multi- and
// single-region trails), log files about every five minutes with
// realistic records, hourly signed digests per account and region, and
// scenarios that plant exactly what an analyzer must find. It owns the
// simulator behind `trailcover simulate` and its Truth; of trailcover it
// may import only ingest (for key layout, the directory-copy format and
// decoding checks), never analyzer, report or cmd.
//
// # Output
//
// Generate(ctx, cfg, dir) writes dir as the bucket copy that acquire
// makes, which ingest.DirSource reads:
//
//	<key>                                   every object at its S3 key; the
//	                                        file's mtime is its delivery time
//	.trailcover/source.json                 ingest.SourceInfo{bucket, prefix}
//	.trailcover/meta/<digest key>.json      ingest.Sidecar with metadata
//	                                        signature (hex) and
//	                                        signature-algorithm SHA256withRSA
//	.trailcover/public-keys.json            `aws cloudtrail list-public-keys`
//	                                        output, every region's key
//	.trailcover/public-keys/<region>.json   the same, one region each
//	.trailcover/truth.json                  the Truth
//
// Keys are built with ingest.Location.ObjectKey. Log files hold compact
// {"Records":[…]} with eventVersion 1.11 records of every userIdentity
// type; global-service events (IAM, STS, sign-in, CloudFront) appear only
// in us-east-1. A file is delivered 20 to 150 seconds after its name's
// five-minute slot and listed by the digest whose one-hour window holds
// that delivery time. Digests are compact JSON in CloudTrail's member
// order with '/' written as "\/", signed with RSASSA-PKCS1-v1_5/SHA-256
// over CloudTrail's signing string by a 2048-bit key per region derived
// from the seed. Multi-region trails deliver a digest every hour in every
// enabled region, empty ones included.
//
// # Determinism
//
// The same Config writes byte-identical files (and modification times) on
// any number of workers: each random stream is seeded from the seed and
// what it is for (account, region, day), results are gathered by index,
// gzip headers carry no name and no time, and no map order or clock
// reaches the output. Work runs on Config.Workers goroutines: every
// account × region × day of log files, then every digest chain.
//
// # Scenarios
//
// Each is a Scenario{Name, Account, Region, At, Hours, Count}; zero
// parameters get defaults that keep scenarios apart (Config.Normalize).
//
//	region-not-logged  the account's trail logs one region only (the
//	                   account leaves an organization trail for its own,
//	                   single-account layout); the other enabled regions
//	                   have no object at all
//	delivery-gap       no log file and no digest in one account × region
//	                   for Hours whole hours; the events are lost and the
//	                   first digest after the gap continues the chain with a
//	                   longer window
//	logging-stopped    StopLogging at At in the home region, no event and no
//	                   delivery in any region for Hours, then StartLogging
//	                   and a new starting digest (previous* null) per region
//	crypto-mining      a leaked IAM user key, from an unknown IP, runs
//	                   reconnaissance, opens SSH to the world and launches
//	                   Count GPU RunInstances in an unused region (plus one
//	                   launch refused by the vCPU quota)
//	snapshot-exfil     EBS and RDS snapshots in an active region, copied to
//	                   Region (default ap-northeast-3) with CopySnapshot and
//	                   CopyDBSnapshot, restored, made public, given a volume
//	denied-attempts    Count calls refused by an SCP region lock in an
//	                   unused region (AccessDenied, AccessDeniedException,
//	                   Client.UnauthorizedOperation)
//	log-deleted        Count log files listed in their digest, not on disk
//	log-modified       Count log files lose their last record after their
//	                   digest was signed: valid gzip and JSON, wrong hash
//	log-injected       Count well-formed log files no digest lists
//	digest-deleted     one digest missing; the next one points to it
//	digests-deleted    Count consecutive digests missing
//	bad-signature      Count digests whose sidecar signature does not
//	                   verify (the next digest still carries the real one)
//	signature-removed  Count digests stored without the signature metadata
//	                   CloudTrail keeps with each one (their bytes unchanged;
//	                   a next digest, if any, still proves them)
//	digest-forged      Count log files injected at At and a backfill digest
//	                   without a signature, under the trail's real key
//	                   fingerprint, that lists them
//	tail-cut           the account's last Hours hours are gone in every
//	                   region: nothing after the last digest that ends
//	                   before the cut, though the window goes on
//	global-events-off  the account has no global-service events at all
//	duplicate-events   Count records delivered a second time, in another
//	                   file of the same slot, with the same eventID
//	noise-objects      ConfigWritabilityCheckFile, ELBAccessLogTestFile, a
//	                   Config history file with unpadded date folders, and
//	                   folder keys ending in "/", which a directory cannot
//	                   hold: they are only in the Truth (NoiseObjects with
//	                   OnDisk false, Truth.KeysNotOnDisk) for tests that
//	                   upload the archive to S3 to create
//	corrupt-objects    a listed log file truncated in the middle of its gzip
//	                   stream, garbage bytes and an empty object under valid
//	                   log keys that no digest lists
//
// "all" stands for every scenario. The Truth records, for each, what was
// planted (keys, event IDs), and Applied false when the archive left no
// room for it (no log file after At, a region the trail does not log).
//
// # The quick-start archive
//
// testdata/demo at the top of the module is regenerated, byte for byte
// (TestDemoUpToDate checks it), from the module root with:
//
//	rm -rf testdata/demo && go run ./cmd/trailcover simulate --seed 1 --accounts 2 \
//	  --regions us-east-1,eu-west-1,eu-central-1 --days 1 --events-per-hour 20 \
//	  --scenario crypto-mining --scenario snapshot-exfil --scenario denied-attempts \
//	  --scenario region-not-logged --scenario logging-stopped \
//	  --scenario log-deleted --scenario digest-deleted testdata/demo
package simulate
