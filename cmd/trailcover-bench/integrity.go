package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/ingest/s3test"
	"github.com/trailcover/trailcover/ingest/simulate"
)

// chain is the digest chain both integrity contestants check: one
// account and source region of the archive's trail, over the first days.
type chain struct {
	account, region, trail, homeRegion string
	start, end                         time.Time // validate-logs' window
	days                               int
	digests, logs                      fileSet
}

func (c *chain) objects() fileSet {
	return fileSet{c.digests.files + c.logs.files, c.digests.bytes + c.logs.bytes}
}

// integrityReport is the integrity contest over S3 at one added latency.
type integrityReport struct {
	chain   chain
	server  string
	latency time.Duration
	// trailcover is `trailcover analyze` (every output), integrityOnly
	// `trailcover analyze --integrity-only`, validate the AWS CLI.
	trailcover, integrityOnly, validate *result
}

func (r *integrityReport) rows() []*result {
	var rows []*result
	for _, c := range []*result{r.trailcover, r.integrityOnly, r.validate} {
		if c != nil {
			rows = append(rows, c)
		}
	}
	return rows
}

// check returns the failures of the contest: contestants that failed, and
// a contestant that checked other objects than the chain holds.
func (r *integrityReport) check() []error {
	var errs []error
	for _, c := range r.rows() {
		if c.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, c.err))
		}
		if c.ok() && c.objects != r.chain.objects().files {
			errs = append(errs, fmt.Errorf("%s verified %d objects, the chain holds %d digests and %d log files",
				c.name, c.objects, r.chain.digests.files, r.chain.logs.files))
		}
	}
	return errs
}

// runIntegrity serves one digest chain of a from a local S3 server
// (versitygw on a loopback port: a bucket holding only that chain's
// digests and the log files they list) and checks it with `aws cloudtrail
// validate-logs`, with `trailcover analyze` and with its integrity path
// alone: the same objects through the same server. It does so once per
// -s3-latency, each latency added to every request by a proxy in front of
// the server.
func (b *bench) runIntegrity(ctx context.Context, a *archive) ([]*integrityReport, error) {
	acct := a.truth.Accounts[0]
	c := chain{
		account: acct.Account, region: acct.HomeRegion, trail: acct.Trail, homeRegion: acct.HomeRegion,
		start: a.truth.Config.Start, days: min(b.cfg.chainDays, a.days),
	}
	newReport := func(latency time.Duration) *integrityReport {
		return &integrityReport{
			chain: c, latency: latency,
			trailcover:    &result{name: analyzeS3Name},
			integrityOnly: &result{name: integrityOnlyName},
			validate:      &result{name: validateName},
		}
	}
	var reps []*integrityReport
	bin, err := findVersity()
	if err != nil {
		why := fmt.Sprintf("versitygw not installed (%v): go install github.com/versity/versitygw/cmd/versitygw@v1.8.0", err)
		for _, latency := range b.cfg.latencies {
			rep := newReport(latency)
			rep.trailcover.skipped, rep.integrityOnly.skipped, rep.validate.skipped = why, why, why
			reps = append(reps, rep)
		}
		return reps, nil
	}
	awsCLI, awsErr := exec.LookPath("aws")

	chainDir := filepath.Join(b.work, "chain")
	if err := os.RemoveAll(chainDir); err != nil {
		return nil, err
	}
	if err := b.linkChain(a, &c, chainDir); err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	b.log.Info("chain", "account", c.account, "region", c.region, "days", c.days,
		"digests", c.digests.files, "log_files", c.logs.files)

	root := filepath.Join(b.work, "versitygw")
	if err := os.RemoveAll(root); err != nil {
		return nil, err
	}
	srv, err := startVersity(ctx, bin, root)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	server := strings.Join(strings.Fields("versitygw "+versityVersion(ctx, bin)), " ") + " on " + strings.TrimPrefix(srv.endpoint, "http://")
	client := s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(srv.accessKey, srv.secretKey, ""),
		BaseEndpoint:               aws.String(srv.endpoint),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		DisableLogOutputChecksumValidationSkipped: true,
	})
	bucket := a.truth.Bucket
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, fmt.Errorf("versitygw: create bucket %s: %w", bucket, err)
	}
	b.log.Info("uploading the chain", "bucket", bucket, "endpoint", srv.endpoint)
	if err := s3test.UploadDir(ctx, client, bucket, chainDir); err != nil {
		return nil, err
	}
	keys, err := startKeyServer(a.publicKeys())
	if err != nil {
		return nil, err
	}
	defer keys.Close()

	for _, latency := range b.cfg.latencies {
		rep := newReport(latency)
		rep.server = server
		endpoint := srv.endpoint
		if latency > 0 {
			proxy, err := startLatencyProxy(srv.endpoint, latency)
			if err != nil {
				return nil, err
			}
			defer proxy.Close()
			endpoint = "http://" + proxy.Addr
		}
		run := func(name string, f func() *result) *result {
			b.log.Info("running", "contestant", name, "added_latency", latency)
			r := b.best(f)
			if r.err != nil {
				b.log.Error("failed", "contestant", r.name, "error", r.err)
			} else {
				b.log.Info("done", "contestant", r.name, "wall", r.m.wall.Round(time.Millisecond), "objects", r.objects)
			}
			return r
		}
		rep.trailcover = run(analyzeS3Name, func() *result { return b.runAnalyzeS3(ctx, a, c, srv, endpoint, bucket, analyzeS3Name) })
		rep.integrityOnly = run(integrityOnlyName, func() *result {
			return b.runAnalyzeS3(ctx, a, c, srv, endpoint, bucket, integrityOnlyName, "--integrity-only")
		})
		if awsErr != nil {
			rep.validate.skipped = "the AWS CLI (aws) is not installed"
		} else {
			rep.validate = run(validateName, func() *result {
				return b.runValidateLogs(ctx, awsCLI, c, srv, endpoint, "http://"+keys.Addr, bucket)
			})
		}
		reps = append(reps, rep)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return reps, nil
}

// latencyProxy forwards every request to a server after a fixed delay: a
// stand-in for the round trip to a real S3 endpoint, which a loopback
// server lacks, and which a client that fetches one object at a time pays
// once per object.
type latencyProxy struct {
	Addr string
	srv  *http.Server
}

func (p *latencyProxy) Close() error { return p.srv.Close() }

// lowerMetadata sends x-amz-meta-* response headers in lower case, as S3
// and versitygw do. The proxy's copy of the server's headers canonicalizes
// their names (X-Amz-Meta-Signature), and botocore keeps the case of the
// name in the metadata key it reports: validate-logs would find no
// "signature" and fail every digest.
type lowerMetadata struct{ http.ResponseWriter }

func (w lowerMetadata) WriteHeader(code int) {
	h := w.Header()
	for k, v := range h {
		if lower := strings.ToLower(k); lower != k && strings.HasPrefix(lower, "x-amz-meta-") {
			delete(h, k)
			h[lower] = v // set directly: Header.Set would canonicalize again
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's Flush.
func (w lowerMetadata) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func startLatencyProxy(target string, delay time.Duration) (*latencyProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// SigV4 signs the Host header: keep the one the client
			// signed.
			pr.Out.Host = pr.In.Host
		},
		// DisableCompression: the proxy must pass bodies as they are, and
		// Go's transport would otherwise ask for gzip and decompress the
		// log files (stored with Content-Encoding gzip) on their way.
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute, DisableCompression: true},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(lowerMetadata{w}, r)
	})}
	go srv.Serve(l)
	return &latencyProxy{Addr: l.Addr().String(), srv: srv}, nil
}

// linkChain fills dir with the chain's objects, as hard links into the
// archive where the file system allows (copies elsewhere): the digests of
// the first c.days days and every log file they list, with their
// metadata sidecars. It sets c's counts and window.
func (b *bench) linkChain(a *archive, c *chain, dir string) error {
	folder := filepath.Join(a.dir, "AWSLogs", c.account, "CloudTrail-Digest", c.region)
	last := c.start.AddDate(0, 0, c.days)
	link := func(key string) (int64, error) {
		src := filepath.Join(a.dir, filepath.FromSlash(key))
		dst := filepath.Join(dir, filepath.FromSlash(key))
		info, err := os.Stat(src)
		if err != nil {
			return 0, err
		}
		if err := linkOrCopy(src, dst); err != nil {
			return 0, err
		}
		meta := filepath.Join(ingest.StateDir, "meta", filepath.FromSlash(key)+".json")
		if _, err := os.Stat(filepath.Join(a.dir, meta)); err == nil {
			if err := linkOrCopy(filepath.Join(a.dir, meta), filepath.Join(dir, meta)); err != nil {
				return 0, err
			}
		}
		return info.Size(), nil
	}
	return filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(a.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		loc := ingest.ParseKey(key)
		if loc.Kind != ingest.KindDigest || loc.Trail != c.trail || !loc.Time.Before(last) {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		digest, _, err := ingest.DecodeDigest(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		n, err := link(key)
		if err != nil {
			return err
		}
		c.digests.add(n)
		if loc.Time.After(c.end) {
			c.end = loc.Time
		}
		for _, lf := range digest.LogFiles {
			n, err := link(lf.S3Object)
			if err != nil {
				return fmt.Errorf("log file %s listed by %s: %w", lf.S3Object, key, err)
			}
			c.logs.add(n)
		}
		return nil
	})
}

func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// s3Env is the environment of a contestant talking to srv: its
// credentials, and nothing from the user's AWS configuration.
func s3Env(srv *versity, home string, extra ...string) []string {
	return envWithout([]string{"AWS_", "HOME="}, append([]string{
		"HOME=" + home,
		"AWS_ACCESS_KEY_ID=" + srv.accessKey,
		"AWS_SECRET_ACCESS_KEY=" + srv.secretKey,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}, extra...)...)
}

// Names of the integrity contestants.
const (
	analyzeS3Name     = "trailcover analyze (S3, all outputs)"
	integrityOnlyName = "trailcover analyze --integrity-only (S3)"
	validateName      = "aws cloudtrail validate-logs"
)

// runAnalyzeS3 runs `trailcover analyze`, with extra flags, on the
// chain's bucket.
func (b *bench) runAnalyzeS3(ctx context.Context, a *archive, c chain, srv *versity, endpoint, bucket, name string, extra ...string) *result {
	r := &result{name: name}
	out := filepath.Join(b.work, "trailcover-s3-out")
	if err := os.RemoveAll(out); err != nil {
		r.err = err
		return r
	}
	args := append([]string{"analyze", "--endpoint-url", endpoint, "--public-keys", a.publicKeys(), "--no-fetch-keys", "--out", out}, extra...)
	if b.cfg.workers > 0 {
		args = append(args, "--workers", fmt.Sprint(b.cfg.workers))
	}
	args = append(args, "s3://"+bucket)
	cmd := command(ctx, b.trailcover, args...)
	cmd.Env = s3Env(srv, b.work, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	r.command = strings.Replace(commandLine(cmd), b.trailcover, "trailcover", 1)
	cpu0, _ := srv.cpu()
	// Exit status 3: findings (the bucket holds one region of a
	// multi-region trail: the others are not logged).
	_, m, err := measure(cmd, filepath.Join(b.work, "trailcover-s3.stderr"), 3)
	cpu1, _ := srv.cpu()
	r.m, r.serverCPU = m, cpu1-cpu0
	if err != nil {
		r.err = err
		return r
	}
	s, err := readSummary(out)
	if err != nil {
		r.err = err
		return r
	}
	for _, sc := range s.Integrity.Chains {
		if sc.Account == c.account && sc.Region == c.region && sc.Trail == c.trail && !sc.Backfill {
			r.objects = int64(sc.DigestsValid + sc.LogsValid)
			r.note = fmt.Sprintf("%d digests and %d log files valid", sc.DigestsValid, sc.LogsValid)
		}
	}
	if r.note == "" {
		r.err = fmt.Errorf("summary.json has no chain for %s %s", c.account, c.region)
	}
	r.records, r.bytes = int64(s.Records.Total), c.objects().bytes
	r.outBytes = dirSize(out)
	if !b.cfg.keep {
		os.RemoveAll(out)
	}
	return r
}

// cliSummary matches validate-logs' summary lines, "48/48 digest files
// valid" and "576/576 log files valid".
var cliSummary = regexp.MustCompile(`(?m)^(\d+)/(\d+) (digest|log) files valid`)

// runValidateLogs runs `aws cloudtrail validate-logs` on the chain, its S3
// calls sent to srv (AWS_ENDPOINT_URL_S3) and its ListPublicKeys call to
// the stand-in at keysURL (--endpoint-url), as
// analyzer/integrity_e2e_test.go does.
func (b *bench) runValidateLogs(ctx context.Context, awsCLI string, c chain, srv *versity, endpoint, keysURL, bucket string) *result {
	r := &result{name: validateName}
	home := filepath.Join(b.work, "aws-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		r.err = err
		return r
	}
	config := filepath.Join(home, "config")
	// Path-style requests: the server is an IP address and port.
	if err := os.WriteFile(config, []byte("[default]\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		r.err = err
		return r
	}
	cmd := command(ctx, awsCLI, "cloudtrail", "validate-logs",
		"--trail-arn", fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", c.homeRegion, c.account, c.trail),
		"--start-time", c.start.UTC().Format(time.RFC3339),
		"--end-time", c.end.UTC().Format(time.RFC3339),
		"--s3-bucket", bucket,
		"--region", c.region,
		"--endpoint-url", keysURL,
	)
	cmd.Env = s3Env(srv, home,
		"AWS_CONFIG_FILE="+config,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_ENDPOINT_URL_S3="+endpoint,
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS=2",
	)
	r.command = "AWS_ENDPOINT_URL_S3=" + endpoint + " " + strings.Replace(commandLine(cmd), awsCLI, "aws", 1)
	cpu0, _ := srv.cpu()
	stdout, m, err := measure(cmd, filepath.Join(b.work, "validate-logs.stderr"))
	cpu1, _ := srv.cpu()
	r.m, r.serverCPU = m, cpu1-cpu0
	if err != nil {
		r.err = err
		return r
	}
	var valid = map[string]int64{}
	for _, m := range cliSummary.FindAllStringSubmatch(string(stdout), -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		valid[m[3]] = n
	}
	if len(valid) != 2 {
		r.err = fmt.Errorf("validate-logs printed no summary of digests and log files:\n%s", stdout)
		return r
	}
	r.objects = valid["digest"] + valid["log"]
	r.bytes = c.objects().bytes
	r.note = fmt.Sprintf("%d digests and %d log files valid; sequential by design", valid["digest"], valid["log"])
	if v, err := command(ctx, awsCLI, "--version").CombinedOutput(); err == nil {
		if f := strings.Fields(string(v)); len(f) > 0 {
			r.name += " (" + f[0] + ")"
		}
	}
	return r
}

// versity is a running versitygw process serving a directory as S3.
type versity struct {
	endpoint, accessKey, secretKey string
	cmd                            *exec.Cmd
	exited                         chan struct{}
	out                            *lockedBuffer
}

// findVersity looks for the versitygw binary on PATH, then where `go
// install` puts it.
func findVersity() (string, error) {
	if bin, err := exec.LookPath("versitygw"); err == nil {
		return bin, nil
	}
	gobin := filepath.Join(build.Default.GOPATH, "bin", "versitygw")
	if _, err := os.Stat(gobin); err != nil {
		return "", fmt.Errorf("not on PATH nor at %s", gobin)
	}
	return gobin, nil
}

// startVersity starts versitygw on a free loopback port serving root
// (with --sidecar metadata where the file system has no user extended
// attributes, as ingest/s3test does) and waits until it is healthy.
func startVersity(ctx context.Context, bin, root string) (*versity, error) {
	v, err := startVersityOnce(ctx, bin, root, false)
	if err != nil && strings.Contains(err.Error(), "xattr check failed") {
		v, err = startVersityOnce(ctx, bin, root, true)
	}
	return v, err
}

func startVersityOnce(ctx context.Context, bin, root string, sidecar bool) (*versity, error) {
	for _, d := range []string{"data", "versions", "sidecar"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{"--port", addr, "--health", "/health", "--quiet", "posix", "--versioning-dir", filepath.Join(root, "versions")}
	if sidecar {
		args = append(args, "--sidecar", filepath.Join(root, "sidecar"))
	}
	args = append(args, filepath.Join(root, "data"))
	v := &versity{
		endpoint:  "http://" + addr,
		accessKey: "bench-" + rand.Text()[:8],
		secretKey: rand.Text(),
		exited:    make(chan struct{}),
		out:       new(lockedBuffer),
	}
	v.cmd = exec.Command(bin, args...)
	v.cmd.Env = envWithout([]string{"VGW_", "ROOT_ACCESS_KEY=", "ROOT_SECRET_KEY="},
		"ROOT_ACCESS_KEY="+v.accessKey, "ROOT_SECRET_KEY="+v.secretKey)
	v.cmd.Stdout, v.cmd.Stderr = v.out, v.out
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		v.cmd.Wait()
		close(v.exited)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(v.endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return v, nil
			}
		}
		select {
		case <-v.exited:
			return nil, fmt.Errorf("versitygw exited before it was healthy:\n%s", v.out.String())
		case <-ctx.Done():
			v.stop()
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			v.stop()
			return nil, fmt.Errorf("versitygw on %s not healthy after 20s:\n%s", addr, v.out.String())
		}
	}
}

func (v *versity) stop() {
	v.cmd.Process.Kill()
	<-v.exited
}

// versityVersion is the module version the versitygw binary was built
// from (its own --version says "git" when installed with go install), or
// "" if neither says.
func versityVersion(ctx context.Context, bin string) string {
	if out, err := command(ctx, "go", "version", "-m", bin).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
				return f[2]
			}
		}
	}
	out, _ := command(ctx, bin, "--version").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Version" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// cpu is the CPU time the server has used so far, from /proc (Linux
// only; elsewhere an error).
func (v *versity) cpu() (time.Duration, error) {
	if runtime.GOOS != "linux" {
		return 0, errors.ErrUnsupported
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", v.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: utime and stime are the 12th and 13th, in clock ticks of
	// 1/100 s (USER_HZ on every Linux architecture Go supports).
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", v.cmd.Process.Pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// lockedBuffer collects a process's output, written from exec's copying
// goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// keyServer answers CloudTrail's ListPublicKeys (JSON 1.1) with the
// archive's public keys, as validate-logs fetches them: times as epoch
// seconds, the DER as base64.
type keyServer struct {
	Addr string
	srv  *http.Server
}

func (k *keyServer) Close() error { return k.srv.Close() }

func startKeyServer(publicKeys string) (*keyServer, error) {
	data, err := os.ReadFile(publicKeys)
	if err != nil {
		return nil, err
	}
	var list simulate.PublicKeyList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", publicKeys, err)
	}
	type key struct {
		Value             string
		ValidityStartTime float64
		ValidityEndTime   float64
		Fingerprint       string
	}
	var resp struct{ PublicKeyList []key }
	for _, k := range list.PublicKeyList {
		start, err1 := time.Parse(time.RFC3339, k.ValidityStartTime)
		end, err2 := time.Parse(time.RFC3339, k.ValidityEndTime)
		_, err3 := base64.StdEncoding.DecodeString(k.Value)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("%s: public key %s: %w", publicKeys, k.Fingerprint, err)
		}
		resp.PublicKeyList = append(resp.PublicKeyList, key{k.Value, float64(start.Unix()), float64(end.Unix()), k.Fingerprint})
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		// botocore sends the namespaced form,
		// com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys.
		if target := r.Header.Get("X-Amz-Target"); !strings.HasSuffix(target, "CloudTrail_20131101.ListPublicKeys") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"not served here: %s"}`, target)
			return
		}
		w.Write(body)
	})}
	go srv.Serve(l)
	return &keyServer{Addr: l.Addr().String(), srv: srv}, nil
}
