package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// duckdbPackage is the npm package of the DuckDB contestant, pinned so
// that runs compare.
const duckdbPackage = "@duckdb/node-api@1.5.6-r.1"

//go:embed duckdb.mjs
var duckdbScript []byte

// runDuckDB turns the archive's log files into one Parquet file with
// DuckDB: the same records and columns as trailcover's events table, read
// with an explicit schema (CloudTrail's free-form fields as JSON text;
// DuckDB's detection fails on their varying shapes), zstd, row groups of
// 32,768 rows as trailcover's.
func (b *bench) runDuckDB(ctx context.Context, a *archive) *result {
	r := &result{name: "DuckDB read_json → Parquet (node " + duckdbPackage + ")"}
	node, err := exec.LookPath("node")
	if err != nil {
		r.skipped = "node is not installed"
		return r
	}
	dir := filepath.Join(b.cfg.cacheDir, "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		if !b.cfg.install {
			r.skipped = fmt.Sprintf("%s is not installed in %s and -install=false", duckdbPackage, dir)
			return r
		}
		if r.skipped, r.err = b.installDuckDB(ctx, dir); r.skipped != "" || r.err != nil {
			return r
		}
	}
	script := filepath.Join(dir, "trailcover-bench-duckdb.mjs")
	if err := os.WriteFile(script, duckdbScript, 0o644); err != nil {
		r.err = err
		return r
	}
	scratch := filepath.Join(b.work, "duckdb")
	if err := os.RemoveAll(scratch); err != nil {
		r.err = err
		return r
	}
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		r.err = err
		return r
	}
	out := filepath.Join(scratch, "events.parquet")
	sqlFile := filepath.Join(scratch, "copy.sql")
	query := duckdbCopySQL(filepath.Join(a.dir, "AWSLogs", "*", "CloudTrail", "*", "*", "*", "*", "*.json.gz"), out)
	if err := os.WriteFile(sqlFile, []byte(query), 0o644); err != nil {
		r.err = err
		return r
	}
	cmd := command(ctx, node, script, sqlFile)
	// DuckDB spills to .tmp in the working directory.
	cmd.Dir = scratch
	r.command = "node trailcover-bench-duckdb.mjs copy.sql (the SQL: " + sqlFile + ")"
	stdout, m, err := measure(cmd, filepath.Join(b.work, "duckdb.stderr"))
	r.m = m
	if err != nil {
		r.err = err
		return r
	}
	var res struct {
		Rows    int64  `json:"rows"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(stdout, &res); err != nil {
		r.err = fmt.Errorf("duckdb script printed %q: %w", stdout, err)
		return r
	}
	r.records = res.Rows
	r.objects, r.bytes = a.logs.files, a.logs.bytes
	r.outBytes = dirSize(scratch)
	r.name = fmt.Sprintf("DuckDB %s read_json → Parquet", res.Version)
	r.note = "log files only (digests hold no records); node's own memory included in peak RSS"
	if !b.cfg.keep {
		os.Remove(out)
	}
	return r
}

// installDuckDB installs duckdbPackage with npm into dir. A missing npm
// skips the contestant; a failed install is an error.
func (b *bench) installDuckDB(ctx context.Context, dir string) (skipped string, err error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "npm is not installed", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	pkg := filepath.Join(dir, "package.json")
	if _, err := os.Stat(pkg); err != nil {
		if err := os.WriteFile(pkg, []byte(`{"private": true, "description": "trailcover-bench's DuckDB contestant"}`+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	b.log.Info("installing", "package", duckdbPackage, "dir", dir)
	cmd := command(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", dir, duckdbPackage)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %v\n%s", duckdbPackage, err, out)
	}
	return "", nil
}

// duckdbColumns are the typed fields of a CloudTrail record DuckDB reads,
// each with the events column it becomes; JSON fields are written as
// their text.
var duckdbColumns = []struct{ field, typ, column string }{
	{"eventTime", "TIMESTAMP", "event_time"},
	{"eventID", "VARCHAR", "event_id"},
	{"eventName", "VARCHAR", "event_name"},
	{"eventSource", "VARCHAR", "event_source"},
	{"awsRegion", "VARCHAR", "aws_region"},
	{"recipientAccountId", "VARCHAR", "recipient_account_id"},
	{"sourceIPAddress", "VARCHAR", "source_ip_address"},
	{"userAgent", "VARCHAR", "user_agent"},
	{"errorCode", "VARCHAR", "error_code"},
	{"errorMessage", "VARCHAR", "error_message"},
	{"readOnly", "BOOLEAN", "read_only"},
	{"managementEvent", "BOOLEAN", "management_event"},
	{"eventVersion", "VARCHAR", "event_version"},
	{"eventType", "VARCHAR", "event_type"},
	{"eventCategory", "VARCHAR", "event_category"},
	{"apiVersion", "VARCHAR", "api_version"},
	{"requestID", "VARCHAR", "request_id"},
	{"sharedEventID", "VARCHAR", "shared_event_id"},
	{"vpcEndpointId", "VARCHAR", "vpc_endpoint_id"},
	{"sessionCredentialFromConsole", "BOOLEAN", "session_credential_from_console"},
	{"userIdentity", "JSON", "user_identity"},
	{"requestParameters", "JSON", "request_parameters"},
	{"responseElements", "JSON", "response_elements"},
	{"additionalEventData", "JSON", "additional_event_data"},
	{"serviceEventDetails", "JSON", "service_event_details"},
	{"resources", "JSON", "resources"},
	{"addendum", "JSON", "addendum"},
	{"tlsDetails", "JSON", "tls_details"},
	{"edgeDeviceDetails", "JSON", "edge_device_details"},
	{"insightDetails", "JSON", "insight_details"},
}

// duckdbIdentity are the userIdentity fields trailcover flattens into
// columns, extracted from the JSON in one pass.
var duckdbIdentity = []struct{ path, column string }{
	{"$.type", "user_type"},
	{"$.arn", "user_arn"},
	{"$.principalId", "user_principal_id"},
	{"$.accountId", "user_account_id"},
	{"$.accessKeyId", "user_access_key_id"},
	{"$.userName", "user_name"},
	{"$.invokedBy", "invoked_by"},
	{"$.identityProvider", "identity_provider"},
	{"$.sessionContext.sessionIssuer.type", "session_issuer_type"},
	{"$.sessionContext.sessionIssuer.arn", "session_issuer_arn"},
	{"$.sessionContext.sessionIssuer.userName", "session_issuer_user_name"},
	{"$.sessionContext.sourceIdentity", "source_identity"},
	{"$.sessionContext.attributes.mfaAuthenticated", "mfa_authenticated"},
}

// duckdbCopySQL is the COPY statement of the DuckDB contestant: the log
// files matching glob, one row per record with its file and index, to out.
func duckdbCopySQL(glob, out string) string {
	var fields, cols, paths []string
	for _, c := range duckdbColumns {
		fields = append(fields, c.field+" "+c.typ)
		if c.typ == "JSON" {
			cols = append(cols, fmt.Sprintf("r.%s::VARCHAR AS %s", c.field, c.column))
		} else {
			cols = append(cols, fmt.Sprintf("r.%s AS %s", c.field, c.column))
		}
	}
	for i, f := range duckdbIdentity {
		paths = append(paths, sqlString(f.path))
		if f.column == "mfa_authenticated" {
			cols = append(cols, fmt.Sprintf("u[%d] = 'true' AS %s", i+1, f.column))
		} else {
			cols = append(cols, fmt.Sprintf("u[%d] AS %s", i+1, f.column))
		}
	}
	cols = append(cols, "filename AS object_key", "record_index::INTEGER AS record_index")
	recordType := "STRUCT(" + strings.Join(fields, ", ") + ")[]"
	return fmt.Sprintf(`COPY (
  WITH files AS (
    SELECT filename, Records FROM read_json(%s,
      format = 'auto', records = true, filename = true, maximum_object_size = 268435456,
      columns = {Records: %s})
  ), recs AS (
    SELECT filename, unnest(Records) AS r, generate_subscripts(Records, 1) - 1 AS record_index FROM files
  ), flat AS (
    SELECT *, json_extract_string(r.userIdentity, [%s]) AS u FROM recs
  )
  SELECT
    %s
  FROM flat
) TO %s (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 32768)
`, sqlString(glob), sqlString(recordType), strings.Join(paths, ", "), strings.Join(cols, ",\n    "), sqlString(out))
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
