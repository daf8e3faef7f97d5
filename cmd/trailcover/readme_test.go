package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// readmeBlock is one fenced code block of README.md.
type readmeBlock struct {
	lang, text string
}

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readmeBlock
	for _, m := range regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```").FindAllStringSubmatch(string(data), -1) {
		blocks = append(blocks, readmeBlock{m[1], m[2]})
	}
	return blocks
}

// readmeCommands are the trailcover command lines of the README's shell
// blocks, comments cut.
func readmeCommands(blocks []readmeBlock) []string {
	var out []string
	for _, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		for _, line := range strings.Split(b.text, "\n") {
			line = strings.TrimSpace(line)
			if i := strings.Index(line, " #"); i >= 0 {
				line = strings.TrimSpace(line[:i])
			}
			for _, p := range []string{"go run ./cmd/trailcover ", "./trailcover ", "trailcover "} {
				if strings.HasPrefix(line, p) {
					out = append(out, strings.TrimPrefix(line, p))
					break
				}
			}
		}
	}
	return out
}

// TestReadmeExamples runs every trailcover command line of README.md, as
// written but for names that stand for the reader's own (the bucket, a
// copy, output folders, the example dates), against the demo archive: in
// a directory, and uploaded to a real S3 server (versitygw) for s3://
// sources. Each must run (exit 0, or 3 for findings), never fail or be
// refused. Every SQL block then runs through DuckDB against the outputs,
// flat and Hive-partitioned, as the README says.
func TestReadmeExamples(t *testing.T) {
	blocks := readmeBlocks(t)
	commands := readmeCommands(blocks)
	if len(commands) < 6 {
		t.Fatalf("only %d trailcover command lines found in README.md", len(commands))
	}
	demo, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	srv := s3test.StartVersity(t)
	useServer(t, srv)
	bucket := simulate.DefaultBucket
	srv.CreateBucket(t, bucket)
	if err := s3test.UploadDir(t.Context(), srv.Client(t), bucket, demo); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// The prefix example reads the demo under a trail prefix.
	prefixed := filepath.Join(work, "prefixed")
	if err := os.CopyFS(filepath.Join(prefixed, "my-trail-prefix"), os.DirFS(demo)); err != nil {
		t.Fatal(err)
	}
	if err := s3test.UploadDir(t.Context(), srv.Client(t), bucket, prefixed); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(demo, ingest.StateDir, "public-keys.json")

	// The weekly job's configuration, paths made the test's.
	var toml string
	for _, b := range blocks {
		if b.lang == "toml" && strings.Contains(b.text, "/etc/trailcover/weekly.toml") {
			toml = b.text
		}
	}
	if toml == "" {
		t.Fatal("README.md has no weekly.toml block")
	}
	toml = strings.NewReplacer(
		"s3://my-cloudtrail-bucket", "s3://"+bucket,
		"/var/lib/trailcover/report", filepath.Join(work, "weekly-report"),
		"/var/lib/trailcover/state", filepath.Join(work, "weekly-state"),
		"/etc/trailcover/public-keys.json", keys,
	).Replace(toml) + "endpoint-url = \"" + srv.Endpoint + "\"\n"
	config := filepath.Join(work, "weekly.toml")
	if err := os.WriteFile(config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}

	names := strings.NewReplacer(
		"s3://my-cloudtrail-bucket", "s3://"+bucket,
		"./local-copy-of-the-bucket", demo,
		"testdata/demo", demo,
		"evidence/", filepath.Join(work, "evidence")+"/",
		"/etc/trailcover/weekly.toml", config,
		"keys.json", keys,
		"/tmp/trailcover-demo", filepath.Join(work, "quick-start"),
		"report/", filepath.Join(work, "report")+"/",
		// The examples' dates, moved to the demo's day.
		"2026-01-01", "2025-01-06", "2026-02-01", "2025-01-07",
		"2026-03-01", "2025-01-06", "2026-04-01", "2025-01-07",
	)
	now := simulate.DefaultStart().Add(30 * time.Hour)
	for _, line := range commands {
		t.Run(line, func(t *testing.T) {
			args := strings.Fields(names.Replace(line))
			if strings.Contains(strings.Join(args, " "), "s3://") && !strings.Contains(line, "--config") {
				args = append(args, "--endpoint-url", srv.Endpoint)
			}
			if args[0] == "analyze" && !slices.Contains(args, "--out") && !strings.Contains(line, "--config") {
				args = append(args, "--out", filepath.Join(t.TempDir(), "out"))
			}
			var stderr bytes.Buffer
			err := run(t.Context(), args, &bytes.Buffer{}, &stderr, func() time.Time { return now })
			if code := exitCode(err, false, &stderr); code != exitOK && code != exitFindings {
				t.Errorf("trailcover %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
			}
		})
	}

	// The SQL, in one DuckDB session per layout.
	var statements []string
	for _, b := range blocks {
		if b.lang != "sql" {
			continue
		}
		for _, st := range strings.SplitAfter(b.text, ";\n") {
			if st = strings.TrimSpace(st); st != "" {
				statements = append(statements, st)
			}
		}
	}
	if len(statements) < 5 {
		t.Fatalf("only %d SQL statements found in README.md", len(statements))
	}
	node, script := duckDB(t)
	for _, layout := range []struct {
		name string
		args []string
	}{{"flat", nil}, {"hive", []string{"--hive-partitions"}}} {
		t.Run("sql/"+layout.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"analyze", demo, "--allow-regions", "us-east-1,eu-west-1,eu-central-1", "--out", out}, layout.args...)
			if err := run(t.Context(), args, &bytes.Buffer{}, &bytes.Buffer{}, func() time.Time { return now }); err != nil && exitCode(err, false, &bytes.Buffer{}) != exitFindings {
				t.Fatal(err)
			}
			var sqls []string
			for _, st := range statements {
				sqls = append(sqls, strings.ReplaceAll(st, "'OUT/", "'"+out+"/"))
			}
			list := filepath.Join(t.TempDir(), "statements.json")
			data, _ := json.Marshal(sqls)
			if err := os.WriteFile(list, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), node, script, list)
			cmd.Dir = filepath.Dir(script)
			if output, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("README SQL over the %s layout: %v\n%s", layout.name, err, output)
			}
		})
	}
}

// duckDB finds node and @duckdb/node-api (installed by .ci/run into
// TRAILCOVER_DUCKDB_DIR), and returns node and the runner script placed
// where node resolves the package. Without them the test skips, except
// with TRAILCOVER_REQUIRE_DUCKDB=1, as CI sets.
func duckDB(t *testing.T) (node, script string) {
	t.Helper()
	skip := func(why string) {
		if os.Getenv("TRAILCOVER_REQUIRE_DUCKDB") == "1" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed")
	}
	dir := os.Getenv("TRAILCOVER_DUCKDB_DIR")
	if dir == "" {
		skip("TRAILCOVER_DUCKDB_DIR names no folder holding node_modules/@duckdb/node-api")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		skip("@duckdb/node-api is not installed in " + dir)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "readme-sql.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, "trailcover-readme-sql.mjs")
	if err := os.WriteFile(script, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return node, script
}
