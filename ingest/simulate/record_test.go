package simulate

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/trailcover/trailcover/ingest"
)

// TestRecords renders many records of every kind and checks them as
// CloudTrail writes them: valid JSON, the field types the format reference
// insists on, and every userIdentity type somewhere.
func TestRecords(t *testing.T) {
	w := newWorld(5, "123456789012", "us-east-1", []string{"123456789012", "210987654321"})
	g := newRecordGen(newRand(5, "records"), w, newEventTable(regionalEvents), newEventTable(globalEvents))
	// Every type, rare ones included, shows in many records; the field
	// checks decode the first few hundred.
	sec := DefaultStart().Unix() + 10*3600
	const n, checked = 6000, 600
	var all, body []byte
	for i := range n {
		if i > 0 {
			all = append(all, ',')
		}
		all, _ = g.appendRandom(all, sec+int64(i%300), i%3 == 0)
		if i == checked-1 {
			body = append(append([]byte(`{"Records":[`), all...), "]}"...)
		}
	}
	for _, want := range []string{"Root", "IAMUser", "AssumedRole", "Role", "FederatedUser", "Directory", "AWSAccount", "AWSService", "Unknown", "SAMLUser", "WebIdentityUser", "IdentityCenterUser"} {
		if !bytes.Contains(all, []byte(`"userIdentity":{"type":"`+want+`"`)) {
			t.Errorf("no record with userIdentity.type %s", want)
		}
	}
	for _, want := range []string{"iam", "sts", "signin", "cloudfront", "ec2", "s3", "kms", "rds", "lambda"} {
		if !bytes.Contains(all, []byte(`"eventSource":"`+want+`.amazonaws.com"`)) {
			t.Errorf("no %s event", want)
		}
	}

	var raw struct{ Records []map[string]any }
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	for _, r := range raw.Records {
		if _, ok := r["readOnly"].(bool); !ok {
			t.Fatalf("readOnly is %T, want a boolean: %v", r["readOnly"], r)
		}
		if _, ok := r["managementEvent"].(bool); !ok {
			t.Fatalf("managementEvent is %T, want a boolean", r["managementEvent"])
		}
		if v, ok := r["sessionCredentialFromConsole"]; ok && v != "true" {
			t.Fatalf("sessionCredentialFromConsole = %#v, want the string \"true\"", v)
		}
		for _, f := range []string{"requestParameters", "responseElements"} {
			if v, ok := r[f]; !ok {
				t.Fatalf("no %s", f)
			} else if _, isObj := v.(map[string]any); v != nil && !isObj {
				t.Fatalf("%s is %T, want an object or null", f, v)
			}
		}
		if id, ok := r["userIdentity"].(map[string]any); ok {
			if sc, ok := id["sessionContext"].(map[string]any); ok {
				attrs := sc["attributes"].(map[string]any)
				if _, ok := attrs["mfaAuthenticated"].(string); !ok {
					t.Fatalf("mfaAuthenticated is %T, want a string", attrs["mfaAuthenticated"])
				}
			}
		}
	}

	errs := 0
	_, err := ingest.DecodeLog(bytes.NewReader(body), ingest.DecodeOptions{}, func(r *ingest.Record) error {
		if r.ErrorCode != "" {
			errs++
		}
		if r.EventVersion != "1.11" || r.EventCategory != "Management" || r.RecipientAccountID != w.account {
			t.Errorf("record %s: version %s, category %s, recipient %s", r.EventID, r.EventVersion, r.EventCategory, r.RecipientAccountID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs == 0 || errs > checked/10 {
		t.Errorf("%d of %d records failed, want a few", errs, checked)
	}
}
