package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
)

// verifyStats is what the verify process prints.
type verifyStats struct {
	Records int64            `json:"records"`
	Chains  []analyzer.Chain `json:"chains"`
}

// runVerify is the "integrity path" contestant, run as `trailcover-bench
// verify -endpoint-url URL -public-keys FILE s3://BUCKET` in its own
// process: what `trailcover analyze` does to check integrity (the scan,
// digests first, then log files, each observed by the analyzer), without
// the events table, the reports and the other outputs. The scan still
// decodes every record: ingest has no mode that only hashes.
func runVerify(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("verify", flag.ContinueOnError)
	endpoint := flags.String("endpoint-url", "", "S3 endpoint")
	publicKeys := flags.String("public-keys", "", "output of aws cloudtrail list-public-keys")
	workers := flags.Int("workers", 0, "objects fetched at once (0: ingest's default)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() != 1 || *publicKeys == "" {
		return errors.New("usage: trailcover-bench verify -endpoint-url URL -public-keys FILE s3://BUCKET[/PREFIX]")
	}
	data, err := os.ReadFile(*publicKeys)
	if err != nil {
		return err
	}
	keys, err := analyzer.ParsePublicKeys(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *publicKeys, err)
	}
	src, err := ingest.NewS3Source(ctx, flags.Arg(0), ingest.S3Options{EndpointURL: *endpoint})
	if err != nil {
		return err
	}
	a := analyzer.New(analyzer.Config{Bucket: src.Bucket(), Source: src.String(), PublicKeys: keys})
	inv := &ingest.Inventory{}
	for _, kinds := range [][]ingest.Kind{
		{ingest.KindDigest},
		{ingest.KindLog, ingest.KindInsight, ingest.KindOther},
	} {
		part, err := ingest.Scan(ctx, src, ingest.ScanOptions{Prefix: src.Prefix(), Kinds: kinds, Workers: *workers},
			func(r *ingest.Result) error {
				a.Observe(r)
				return nil
			})
		if err != nil {
			return fmt.Errorf("scan %s: %w", src, err)
		}
		inv.Scopes = append(inv.Scopes, part.Scopes...)
	}
	res := a.Finish(inv)
	return json.NewEncoder(stdout).Encode(verifyStats{Records: int64(res.Records.Total), Chains: res.Chains})
}
