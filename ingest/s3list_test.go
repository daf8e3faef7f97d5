package ingest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestListedKey: keys of a listing asked with EncodingType=url are decoded
// when the server encoded them (S3 does; versitygw and gofakes3 ignore the
// request and send keys as they are, which must stay as they are).
func TestListedKey(t *testing.T) {
	for _, tt := range []struct {
		enc       types.EncodingType
		raw, want string
	}{
		{types.EncodingTypeUrl, "AWSLogs/1/control%01char", "AWSLogs/1/control\x01char"},
		{types.EncodingTypeUrl, "a+b%2Bc%20d", "a b+c d"},
		{types.EncodingTypeUrl, "caf%C3%A9/%E2%80%AE", "café/\u202e"},
		{"", "a+b%2Bc", "a+b%2Bc"},
	} {
		if got := listedKey(tt.enc)(aws.String(tt.raw)); got != tt.want {
			t.Errorf("listedKey(%q)(%q) = %q, want %q", tt.enc, tt.raw, got, tt.want)
		}
	}
}
