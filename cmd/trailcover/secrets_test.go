package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/parquet-go/parquet-go"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// TestSecretsNeverInOutputs runs analyze and acquire as the command, with
// AWS credentials whose secret access key and session token are unique
// markers, over a real S3 server, through faults that make it retry, with
// an unreadable object that makes it log an error,
// with both log formats, with the secret in the endpoint URL, and with
// access denied and a missing bucket;
// then reads every file the runs wrote (summary.json, report.html, every
// Parquet file decoded row by row, the manifest, sidecars, the copied
// objects) and everything they printed: neither marker may appear.
//
// Secrets inside CloudTrail records are another matter. A record is
// evidence and reaches the events table verbatim: requestParameters a
// service logged with a password in it, or responseElements with the
// sessionToken of an AssumeRole (CloudTrail logs those; it writes
// "HIDDEN_DUE_TO_SECURITY_REASONS" in place of secret access keys).
// Redacting them would alter the evidence; trailcover must only add no
// secret of its own. The test plants such records and checks both sides:
// they are in the events table as written, and never in the logs.
func TestSecretsNeverInOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and runs the command seven times")
	}
	secretMarker := "TCSECRETMARKER" + rand.Text()
	tokenMarker := "TCTOKENMARKER" + rand.Text() + "/+" + strings.Repeat("Zm9vYmFy", 40) + "=="
	plantedPassword := "TCPLANTEDPASSWORD" + rand.Text()
	plantedToken := "TCPLANTEDTOKEN" + rand.Text()

	archive := filepath.Join(t.TempDir(), "archive")
	cfg := simulate.Config{
		Seed: 5, AccountCount: 1, Regions: []string{"us-east-1"}, EnabledRegions: []string{"us-east-1"},
		Days: 1, EventsPerHour: 5,
	}
	if _, err := simulate.Generate(t.Context(), cfg, archive); err != nil {
		t.Fatal(err)
	}
	// The planted file goes beside the simulator's log files, named as
	// CloudTrail names them; one of those is made to fail for good.
	var logs []ingest.Location
	err := filepath.WalkDir(archive, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(archive, p)
		if loc := ingest.ParseKey(filepath.ToSlash(rel)); loc.Kind == ingest.KindLog {
			logs = append(logs, loc)
		}
		return nil
	})
	if err != nil || len(logs) == 0 {
		t.Fatalf("simulated archive: %d log files, %v", len(logs), err)
	}
	loc := logs[0]
	loc.Unique = "PlantedSecrets01"
	account, date := loc.Account, loc.Time.Format(time.DateOnly)
	planted := filepath.Join(archive, filepath.FromSlash(loc.ObjectKey()))
	rec := func(id, name, params, response string) string {
		return `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::` + account + `:user/alice","accountId":"` + account + `"},` +
			`"eventTime":"` + date + `T00:04:00Z","eventSource":"iam.amazonaws.com","eventName":"` + name + `","awsRegion":"us-east-1",` +
			`"requestParameters":` + params + `,"responseElements":` + response + `,"eventID":"` + id + `","recipientAccountId":"` + account + `"}`
	}
	body := records(
		rec("planted-password", "CreateUser", `{"userName":"bob","password":"`+plantedPassword+`"}`, `null`),
		rec("planted-token", "AssumeRole", `{"roleArn":"arn:aws:iam::`+account+`:role/x"}`,
			`{"credentials":{"accessKeyId":"ASIAPLANTEDEXAMPLE","sessionToken":"`+plantedToken+`","expiration":"Jan 1, 2024, 1:04:00 AM"}}`),
		rec("planted-hidden", "CreateAccessKey", `{"userName":"bob"}`,
			`{"accessKey":{"accessKeyId":"AKIAPLANTEDEXAMPLE","secretAccessKey":"HIDDEN_DUE_TO_SECURITY_REASONS","status":"Active"}}`),
	)
	if err := os.MkdirAll(filepath.Dir(planted), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planted, gzipped([]byte(body)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A truncated copy of it, so that the runs log an unreadable object.
	loc.Unique = "TruncatedCopy001"
	if err := os.WriteFile(filepath.Join(archive, filepath.FromSlash(loc.ObjectKey())), gzipped([]byte(body))[:100], 0o644); err != nil {
		t.Fatal(err)
	}

	srv := s3test.StartVersity(t)
	srv.CreateBucket(t, simulate.DefaultBucket)
	if err := s3test.UploadDir(t.Context(), srv.Client(t), simulate.DefaultBucket, archive); err != nil {
		t.Fatal(err)
	}
	// Some requests fail and are retried; the re-signing proxy lets the
	// marker credentials through.
	faults := s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{InternalError: 0.05, SlowDown: 0.05})
	faulty := startResigningProxy(t, faults.Endpoint, srv)
	clean := startResigningProxy(t, srv.Endpoint, srv)
	denied := startResigningProxy(t, s3test.StartFaultProxy(t, srv.Endpoint, s3test.Faults{Forbidden: true}).Endpoint, srv)

	env := append(environWithoutAWS(), "TRAILCOVER_TEST_RUN_MAIN=1",
		"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+secretMarker, "AWS_SESSION_TOKEN="+tokenMarker,
		"AWS_REGION="+srv.Region, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_CLOUDTRAIL="+noCloudTrail)
	bucket := "s3://" + simulate.DefaultBucket
	work := t.TempDir()
	var printed bytes.Buffer
	runs := []struct {
		name     string
		args     []string
		wantExit []int
	}{
		{"analyze-json", []string{"analyze", "--log-format", "json", "--out", filepath.Join(work, "out-json"), "--endpoint-url", faulty, bucket}, []int{exitOK, exitFindings}},
		{"analyze-text", []string{"analyze", "--log-format", "text", "--out", filepath.Join(work, "out-text"), "--endpoint-url", clean, bucket}, []int{exitOK, exitFindings}},
		{"acquire-json", []string{"acquire", "--log-format", "json", "--endpoint-url", faulty, bucket, filepath.Join(work, "copy-json")}, []int{exitOK}},
		{"acquire-text", []string{"acquire", "--log-format", "text", "--endpoint-url", clean, bucket, filepath.Join(work, "copy-text")}, []int{exitOK}},
		// Credentials in the endpoint URL: the SDK ignores them, the
		// reports that record the command line must not keep them.
		{"analyze-userinfo", []string{"analyze", "--out", filepath.Join(work, "out-userinfo"), "--endpoint-url",
			strings.Replace(clean, "http://", "http://AKIAUSERINFO:"+secretMarker+"@", 1), bucket}, []int{exitOK, exitFindings}},
		{"analyze-denied", []string{"analyze", "--out", filepath.Join(work, "out-denied"), "--endpoint-url", denied, bucket}, []int{exitError}},
		{"acquire-missing", []string{"acquire", "--endpoint-url", clean, "s3://no-such-bucket", filepath.Join(work, "copy-missing")}, []int{exitError}},
	}
	for _, r := range runs {
		cmd := exec.Command(os.Args[0], r.args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		exit := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			exit = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		found := false
		for _, w := range r.wantExit {
			found = found || w == exit
		}
		if !found {
			t.Errorf("%s: exit %d, want one of %v\n%s", r.name, exit, r.wantExit, stderr.String())
		}
		fmt.Fprintf(&printed, "== %s\n%s%s", r.name, stdout.String(), stderr.String())
	}
	if faults.Injected.Load() == 0 {
		t.Error("no faults injected: the retry paths were not exercised")
	}
	if !strings.Contains(printed.String(), "TruncatedCopy001") {
		t.Error("no run logged the unreadable object")
	}

	// What the runs printed: no credential, and no record content.
	for _, s := range []string{secretMarker, tokenMarker, credentialCore(tokenMarker)} {
		if i := strings.Index(printed.String(), s); i >= 0 {
			t.Errorf("a credential was printed: …%s…", printed.String()[max(0, i-80):i])
		}
	}
	for _, s := range []string{plantedPassword, plantedToken} {
		if strings.Contains(printed.String(), s) {
			t.Errorf("record content %q reached the logs", s)
		}
	}

	// What the runs wrote.
	text := map[string]string{}
	err = filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".parquet") {
			data = append(data, parquetText(t, data)...)
		}
		text[p] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(text) < 10 {
		t.Fatalf("only %d files written", len(text))
	}
	for p, s := range text {
		for _, m := range []string{secretMarker, credentialCore(secretMarker), credentialCore(tokenMarker)} {
			if strings.Contains(s, m) {
				t.Errorf("%s holds a credential of the run", p)
			}
		}
	}
	// The planted records are evidence: in the events table as written.
	events := ""
	for p, s := range text {
		if strings.Contains(p, string(filepath.Separator)+"events"+string(filepath.Separator)) {
			events += s
		}
	}
	for _, s := range []string{plantedPassword, plantedToken, "HIDDEN_DUE_TO_SECURITY_REASONS"} {
		if !strings.Contains(events, s) {
			t.Errorf("the events table lacks %q: a record's content was altered", s)
		}
	}
	t.Logf("%d files read, %d bytes printed, %d faults injected", len(text), printed.Len(), faults.Injected.Load())
}

// credentialCore is the leading run of letters and digits of a marker:
// what survives any escaping (JSON, URL, HTML) of the whole.
func credentialCore(marker string) string {
	i := strings.IndexFunc(marker, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	if i < 0 {
		return marker
	}
	return marker[:i]
}

// parquetText is every value of every row of a Parquet file, and its
// key-value metadata, as text: the file itself is compressed.
func parquetText(t *testing.T, data []byte) []byte {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("parquet: %v", err)
	}
	var out bytes.Buffer
	for _, kv := range f.Metadata().KeyValueMetadata {
		fmt.Fprintf(&out, "%s=%s\n", kv.Key, kv.Value)
	}
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				for _, v := range row {
					if v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray {
						out.Write(v.ByteArray())
					} else {
						out.WriteString(v.String())
					}
					out.WriteByte('\t')
				}
				out.WriteByte('\n')
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("parquet rows: %v", err)
			}
		}
		rows.Close()
	}
	return out.Bytes()
}

// startResigningProxy forwards requests to target after signing them again
// with srv's own credentials, so that trailcover can run with credentials
// of the test's choosing: a secret versitygw does not know and a session
// token it would refuse.
func startResigningProxy(t *testing.T, target string, srv *s3test.Server) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	var saw, token atomic.Int64
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			out := pr.Out
			out.Host = u.Host
			saw.Add(1)
			if out.Header.Get("X-Amz-Security-Token") != "" {
				token.Add(1)
			}
			for _, h := range []string{"Authorization", "X-Amz-Security-Token", "X-Amz-Date"} {
				out.Header.Del(h)
			}
			payload := out.Header.Get("X-Amz-Content-Sha256")
			if payload == "" {
				payload = "UNSIGNED-PAYLOAD"
				out.Header.Set("X-Amz-Content-Sha256", payload)
			}
			if err := signer.SignHTTP(out.Context(), creds, out, payload, "s3", srv.Region, time.Now().UTC()); err != nil {
				t.Errorf("re-sign: %v", err)
			}
		},
	}
	ts := httptest.NewServer(rp)
	t.Cleanup(func() {
		ts.Close()
		if saw.Load() > 0 && token.Load() == 0 {
			t.Errorf("proxy for %s: no request carried the session token", target)
		}
	})
	return ts.URL
}

// environWithoutAWS is the environment minus AWS_ settings, so that a
// developer's profile cannot change what the runs use.
func environWithoutAWS() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}
