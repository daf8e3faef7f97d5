package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/trailcover/trailcover/ingest"
)

// generator is one run of Generate.
type generator struct {
	cfg  *Config
	plan *plan
	keys *KeyRing
	out  *output
}

// Generate writes the archive that cfg describes into dir, which must not
// exist or be empty, and returns its truth. dir becomes a copy of the
// bucket as acquire makes it: objects at their keys, and StateDir with
// source.json, the digests' metadata sidecars, public-keys.json (all
// regions; public-keys/<region>.json per region) and truth.json.
//
// The same Config always writes byte-identical files, whatever the number
// of workers: every random choice comes from a stream named after what it
// is for, and results are gathered by index, never by completion order.
// Work is spread over cfg.Workers goroutines: first every account ×
// region × day of log files, then every account × region's digest chain.
// An error or a cancelled ctx leaves dir partly written.
func Generate(ctx context.Context, cfg Config, dir string) (*Truth, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if err := prepareDir(dir); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	p, err := newPlan(&cfg)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	keys := cfg.Keys
	if keys == nil {
		keys = NewKeyRing(cfg.Seed)
	}
	g := &generator{cfg: &cfg, plan: p, keys: keys, out: &output{dir: dir, level: cfg.GzipLevel}}
	t, err := g.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	return t, nil
}

// prepareDir makes dir, or checks that it is an empty directory.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// run generates keys, log files, digests and noise, then the Truth and
// the state files.
func (g *generator) run(ctx context.Context) (*Truth, error) {
	p := g.plan
	workers := g.cfg.Workers
	writers := make([]*fileWriter, workers)
	writer := func(w int) *fileWriter {
		if writers[w] == nil {
			writers[w] = g.out.writer()
		}
		return writers[w]
	}

	// Keys first, one region per worker: prime search is the slowest part
	// of a small archive.
	var regions []string
	for _, c := range p.chains {
		regions = append(regions, c.region)
	}
	slices.Sort(regions)
	regions = slices.Compact(regions)
	if err := parallel(ctx, workers, len(regions), func(_ context.Context, _, i int) error {
		_, err := g.keys.get(regions[i])
		return err
	}); err != nil {
		return nil, err
	}

	// Log files: every chain × day, the busiest first.
	type dayJob struct {
		chain *chainPlan
		day   int
	}
	var jobs []dayJob
	for _, c := range p.chains {
		for d := range g.cfg.Days {
			jobs = append(jobs, dayJob{c, d})
		}
	}
	weight := func(c *chainPlan) int {
		w := 0
		if c.active {
			w += 2
		}
		if c.global {
			w++
		}
		return w
	}
	slices.SortStableFunc(jobs, func(a, b dayJob) int { return weight(b.chain) - weight(a.chain) })
	days := make([]*dayResult, len(jobs))
	if err := parallel(ctx, workers, len(jobs), func(ctx context.Context, w, i int) error {
		res, err := g.logDay(ctx, writer(w), jobs[i].chain, jobs[i].day)
		days[i] = res
		return err
	}); err != nil {
		return nil, err
	}
	byChain := make([][]*dayResult, len(p.chains))
	for i, j := range jobs {
		byChain[j.chain.index] = append(byChain[j.chain.index], days[i])
	}

	// Digest chains, each over its log entries.
	chains := make([]*chainResult, len(p.chains))
	if err := parallel(ctx, workers, len(p.chains), func(ctx context.Context, w, i int) error {
		var entries []logEntry
		for _, d := range byChain[i] {
			entries = append(entries, d.entries...)
		}
		if g.cfg.NoDigests {
			// Log file validation off: nothing lists the files.
			for j := range entries {
				entries[j].listed = false
			}
			chains[i] = &chainResult{onDiskListed: map[string]bool{}, deletedListed: map[string]bool{}}
			return nil
		}
		res, err := g.digestChain(ctx, writer(w), p.chains[i], entries)
		chains[i] = res
		return err
	}); err != nil {
		return nil, err
	}

	var noise []NoiseObject
	for i, s := range g.cfg.Scenarios {
		if s.Name != ScenarioNoiseObjects {
			continue
		}
		objs, err := g.writeNoise(writer(0), i)
		if err != nil {
			return nil, err
		}
		noise = append(noise, objs...)
	}

	t, err := g.truth(byChain, chains, noise, regions)
	if err != nil {
		return nil, err
	}
	if err := g.writeState(t, regions); err != nil {
		return nil, err
	}
	return t, nil
}

// writeState writes StateDir: source.json, public keys and truth.json.
func (g *generator) writeState(t *Truth, regions []string) error {
	state := filepath.Join(g.out.dir, ingest.StateDir)
	if err := os.MkdirAll(filepath.Join(state, "public-keys"), 0o755); err != nil {
		return err
	}
	write := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(state, name), append(b, '\n'), 0o644)
	}
	if err := write("source.json", ingest.SourceInfo{Bucket: g.cfg.Bucket, Prefix: g.plan.prefix()}); err != nil {
		return err
	}
	from, to := g.cfg.Start, g.cfg.End()
	all, err := g.keys.publicKeysJSON(regions, from, to)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(state, "public-keys.json"), all, 0o644); err != nil {
		return err
	}
	for _, r := range regions {
		one, err := g.keys.publicKeysJSON([]string{r}, from, to)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(state, "public-keys", r+".json"), one, 0o644); err != nil {
			return err
		}
	}
	return write("truth.json", t)
}
