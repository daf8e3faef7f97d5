package analyzer

import (
	"slices"
	"strings"
	"testing"

	"github.com/trailcover/trailcover/ingest"
)

// TestRegionModel checks the embedded data against reference §6.
func TestRegionModel(t *testing.T) {
	m, err := LoadRegionModel()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Source, "partitions.json") || !strings.Contains(m.Source, "2026-08-07") {
		t.Errorf("Source = %q, want botocore partitions.json as of 2026-08-07", m.Source)
	}
	if m.OptInSource == "" {
		t.Error("no source for the opt-in column")
	}
	wantDefault := []string{
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
		"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	}
	if got := m.DefaultRegions("aws"); !slices.Equal(got, wantDefault) {
		t.Errorf("DefaultRegions(aws) =\n %v\nwant\n %v", got, wantDefault)
	}
	optIn := []string{
		"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
		"ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
		"me-central-1", "me-south-1", "mx-central-1",
	}
	for _, code := range optIn {
		if r := m.Region(code); !r.Known || !r.OptIn || r.Partition != "aws" || r.Name == "" {
			t.Errorf("Region(%s) = %+v, want a known aws opt-in region with a name", code, r)
		}
	}
	others := map[string][]string{
		"aws-us-gov": {"us-gov-east-1", "us-gov-west-1"},
		"aws-cn":     {"cn-north-1", "cn-northwest-1"},
		"aws-eusc":   {"eusc-de-east-1"},
		"aws-iso":    {"us-iso-east-1", "us-iso-west-1"},
		"aws-iso-b":  {"us-isob-east-1", "us-isob-west-1"},
		"aws-iso-e":  {"eu-isoe-west-1"},
		"aws-iso-f":  {"us-isof-east-1", "us-isof-south-1"},
	}
	total := len(wantDefault) + len(optIn)
	for p, codes := range others {
		if got := m.DefaultRegions(p); !slices.Equal(got, codes) {
			t.Errorf("DefaultRegions(%s) = %v, want %v", p, got, codes)
		}
		total += len(codes)
	}
	n := 0
	for _, p := range m.Partitions {
		n += len(p.Regions)
		if g := m.GlobalRegion(p.ID); g == "" || m.Region(g).Partition != p.ID {
			t.Errorf("GlobalRegion(%s) = %q", p.ID, g)
		}
		for _, r := range p.Regions {
			if !ingest.IsRegion(r.Code) {
				t.Errorf("%s is not shaped like a region for ingest.IsRegion", r.Code)
			}
		}
	}
	if n != total {
		t.Errorf("model has %d regions, want %d", n, total)
	}
	if g := m.GlobalRegion("aws"); g != "us-east-1" {
		t.Errorf("GlobalRegion(aws) = %q, want us-east-1", g)
	}
}

func TestRegionUnknown(t *testing.T) {
	m := mustLoadRegions()
	tests := []struct {
		code, partition string
	}{
		{"us-east-9", "aws"},
		{"ap-southeast-11", "aws"},
		{"us-gov-north-1", "aws-us-gov"},
		{"cn-south-1", "aws-cn"},
		{"us-isob-south-1", "aws-iso-b"},
		{"eusc-de-west-1", "aws-eusc"},
		{"zz-nowhere-1", "aws"},
	}
	for _, tt := range tests {
		r := m.Region(tt.code)
		if r.Known || !r.OptIn || r.Partition != tt.partition {
			t.Errorf("Region(%s) = %+v, want unknown, opt-in, partition %s", tt.code, r, tt.partition)
		}
	}
}

func TestPartitionOf(t *testing.T) {
	m := mustLoadRegions()
	tests := []struct {
		regions []string
		want    string
	}{
		{nil, "aws"},
		{[]string{"eu-west-1"}, "aws"},
		{[]string{"cn-north-1", "cn-northwest-1"}, "aws-cn"},
		{[]string{"us-gov-west-1", "us-east-1"}, "aws"}, // a tie goes to aws
		{[]string{"us-gov-west-1", "us-gov-east-1", "us-east-1"}, "aws-us-gov"},
	}
	for _, tt := range tests {
		if got := m.PartitionOf(tt.regions); got != tt.want {
			t.Errorf("PartitionOf(%v) = %s, want %s", tt.regions, got, tt.want)
		}
	}
}

func TestParseRegionModelErrors(t *testing.T) {
	tests := map[string]string{
		"not json":       `{`,
		"no source":      `{"partitions":[{"partition":"aws","region_regex":"^us-\\w+-\\d+$","regions":[]}]}`,
		"bad regex":      `{"source":"x","partitions":[{"partition":"aws","region_regex":"(","regions":[]}]}`,
		"off pattern":    `{"source":"x","partitions":[{"partition":"aws","region_regex":"^us-\\w+-\\d+$","regions":[{"code":"eu-west-1"}]}]}`,
		"duplicate":      `{"source":"x","partitions":[{"partition":"aws","region_regex":"^us-\\w+-\\d+$","regions":[{"code":"us-east-1"},{"code":"us-east-1"}]}]}`,
		"foreign global": `{"source":"x","partitions":[{"partition":"aws","global_region":"cn-north-1","region_regex":"^us-\\w+-\\d+$","regions":[{"code":"us-east-1"}]}]}`,
		"no aws":         `{"source":"x","partitions":[{"partition":"aws-cn","region_regex":"^cn-\\w+-\\d+$","regions":[{"code":"cn-north-1"}]}]}`,
	}
	for name, data := range tests {
		if _, err := ParseRegionModel([]byte(data)); err == nil {
			t.Errorf("%s: ParseRegionModel succeeded", name)
		}
	}
}
