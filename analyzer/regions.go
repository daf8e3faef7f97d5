package analyzer

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
)

// regionsJSON is the region model: every partition's regions, their names
// and whether they need opt-in. The file names its source; to update it,
// copy the region codes and descriptions of a newer botocore
// partitions.json and apply the opt-in rule that opt_in_source states.
//
//go:embed regions.json
var regionsJSON []byte

// Region is one AWS region as the region model knows it.
type Region struct {
	Partition string
	Code      string
	Name      string
	// OptIn marks a region that is disabled until the account enables it
	// (launched after March 20, 2019). A multi-region trail logs it only
	// once enabled.
	OptIn bool
	// Known is false for a region code the model does not list: one
	// launched after the model was written. Its partition is guessed from
	// the partition's region pattern and it is taken to need opt-in, as
	// every region launched since 2019 does.
	Known bool
}

// Partition is an AWS partition: a set of regions that one multi-region
// trail can cover.
type Partition struct {
	ID string
	// GlobalRegion is where the partition's global services (IAM, STS's
	// global endpoint, CloudFront) are signed and logged: botocore's
	// implicitGlobalRegion.
	GlobalRegion string
	Regions      []Region
	pattern      *regexp.Regexp
}

// RegionModel is the embedded region data, parsed.
type RegionModel struct {
	// Source and OptInSource name where the data comes from.
	Source      string
	OptInSource string
	Partitions  []Partition
	byCode      map[string]Region
}

// LoadRegionModel parses the embedded region model.
func LoadRegionModel() (*RegionModel, error) {
	return ParseRegionModel(regionsJSON)
}

// mustLoadRegions parses the embedded region model. The data is part of
// the build and TestRegionModel checks it, so failure is a build defect.
func mustLoadRegions() *RegionModel {
	m, err := LoadRegionModel()
	if err != nil {
		panic("analyzer: embedded regions.json: " + err.Error())
	}
	return m
}

// ParseRegionModel reads a region model in the layout of regions.json.
func ParseRegionModel(data []byte) (*RegionModel, error) {
	var doc struct {
		Source      string `json:"source"`
		OptInSource string `json:"opt_in_source"`
		Partitions  []struct {
			Partition    string `json:"partition"`
			GlobalRegion string `json:"global_region"`
			RegionRegex  string `json:"region_regex"`
			Regions      []struct {
				Code  string `json:"code"`
				Name  string `json:"name"`
				OptIn bool   `json:"opt_in"`
			} `json:"regions"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("region model: %w", err)
	}
	if doc.Source == "" {
		return nil, fmt.Errorf("region model: no source named")
	}
	m := &RegionModel{Source: doc.Source, OptInSource: doc.OptInSource, byCode: map[string]Region{}}
	for _, p := range doc.Partitions {
		re, err := regexp.Compile(p.RegionRegex)
		if err != nil {
			return nil, fmt.Errorf("region model: partition %s: %w", p.Partition, err)
		}
		part := Partition{ID: p.Partition, GlobalRegion: p.GlobalRegion, pattern: re}
		for _, r := range p.Regions {
			if !re.MatchString(r.Code) {
				return nil, fmt.Errorf("region model: %s does not match the pattern of partition %s", r.Code, p.Partition)
			}
			if _, dup := m.byCode[r.Code]; dup {
				return nil, fmt.Errorf("region model: %s listed twice", r.Code)
			}
			reg := Region{Partition: p.Partition, Code: r.Code, Name: r.Name, OptIn: r.OptIn, Known: true}
			m.byCode[r.Code] = reg
			part.Regions = append(part.Regions, reg)
		}
		if part.GlobalRegion != "" {
			if r, ok := m.byCode[part.GlobalRegion]; !ok || r.Partition != p.Partition {
				return nil, fmt.Errorf("region model: global region %s of partition %s is not one of its regions", part.GlobalRegion, p.Partition)
			}
		}
		m.Partitions = append(m.Partitions, part)
	}
	if _, ok := m.partition("aws"); !ok {
		return nil, fmt.Errorf("region model: no aws partition")
	}
	return m, nil
}

// Region describes a region code. Codes the model does not list get the
// partition whose pattern they match (aws when none does) and OptIn true.
func (m *RegionModel) Region(code string) Region {
	if r, ok := m.byCode[code]; ok {
		return r
	}
	r := Region{Partition: "aws", Code: code, OptIn: true}
	for _, p := range m.Partitions {
		if p.pattern.MatchString(code) {
			r.Partition = p.ID
			break
		}
	}
	return r
}

// Closest is the region code the model lists that is fewest edits away
// from code (the first in code order among equals), for "did you mean"
// in a usage error.
func (m *RegionModel) Closest(code string) string {
	best, bestDist := "", -1
	for _, c := range sortedKeys(m.byCode) {
		if d := editDistance(code, c); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (m *RegionModel) partition(id string) (*Partition, bool) {
	for i := range m.Partitions {
		if m.Partitions[i].ID == id {
			return &m.Partitions[i], true
		}
	}
	return nil, false
}

// DefaultRegions returns, sorted, the regions of a partition that need no
// opt-in: those a multi-region trail covers in an account that enabled
// nothing.
func (m *RegionModel) DefaultRegions(partition string) []string {
	p, ok := m.partition(partition)
	if !ok {
		return nil
	}
	var out []string
	for _, r := range p.Regions {
		if !r.OptIn {
			out = append(out, r.Code)
		}
	}
	slices.Sort(out)
	return out
}

// GlobalRegion returns where a partition logs its global-service events,
// or "" for an unknown partition.
func (m *RegionModel) GlobalRegion(partition string) string {
	if p, ok := m.partition(partition); ok {
		return p.GlobalRegion
	}
	return ""
}

// PartitionOf returns the partition most of regions belong to; ties and
// an empty list give aws, the partition nearly every archive is from.
func (m *RegionModel) PartitionOf(regions []string) string {
	count := map[string]int{}
	for _, r := range regions {
		count[m.Region(r).Partition]++
	}
	best, n := "aws", count["aws"]
	for _, id := range sortedKeys(count) {
		if count[id] > n {
			best, n = id, count[id]
		}
	}
	return best
}
