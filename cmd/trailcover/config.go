package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// maxConfigSize bounds what is read of a configuration file.
const maxConfigSize = 1 << 20

// jobConfig is a configuration file (--config FILE, TOML): every flag of
// the command by its flag name, plus the positional arguments by name
// ("source", and "dir" for acquire), so that a batch job's definition is
// a file rather than a shell line:
//
//	source = "s3://my-cloudtrail-bucket"
//	out = "/var/lib/trailcover/report"
//	last = "7d"
//	allow-regions = ["us-east-1", "eu-west-1"]
//	public-keys = ["/etc/trailcover/keys-us-east-1.json"]
//	state = "/var/lib/trailcover/state.json"
//
// Flags given on the command line win over the file. Unknown names are
// errors: a misspelt setting must not be silently ignored.
type jobConfig struct {
	values map[string]any
	order  []string
}

func loadJobConfig(name string) (*jobConfig, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if info.Size() > maxConfigSize {
		return nil, fmt.Errorf("config %s: larger than %d bytes", name, maxConfigSize)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseJobConfig(name, data)
}

func parseJobConfig(name string, data []byte) (*jobConfig, error) {
	values := map[string]any{}
	md, err := toml.Decode(string(data), &values)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	c := &jobConfig{values: values}
	for _, k := range md.Keys() {
		if len(k) != 1 {
			return nil, fmt.Errorf("config %s: %q: tables are not supported; use top-level settings named like the flags", name, k.String())
		}
		c.order = append(c.order, k[0])
	}
	return c, nil
}

// apply sets every flag of fs that the file names and the command line
// did not set. positional names the settings that stand for positional
// arguments; their values are returned in that order ("" if absent).
func (c *jobConfig) apply(fs *flag.FlagSet, positional ...string) ([]string, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	args := make([]string, len(positional))
	for _, name := range c.order {
		v := c.values[name]
		if i := slices.Index(positional, name); i >= 0 {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%w: config: %s must be a string", errUsage, name)
			}
			args[i] = s
			continue
		}
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return nil, fmt.Errorf("%w: config: unknown setting %q", errUsage, name)
		}
		if set[name] {
			continue
		}
		values, err := configStrings(v)
		if err != nil {
			return nil, fmt.Errorf("%w: config: %s: %v", errUsage, name, err)
		}
		if _, isList := f.Value.(*listFlag); len(values) != 1 && !isList {
			return nil, fmt.Errorf("%w: config: %s takes one value, not a list", errUsage, name)
		}
		for _, s := range values {
			if err := fs.Set(name, s); err != nil {
				return nil, fmt.Errorf("%w: config: %s: %v", errUsage, name, err)
			}
		}
	}
	return args, nil
}

// configStrings turns a TOML value into the flag strings it stands for.
func configStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case bool:
		return []string{strconv.FormatBool(v)}, nil
	case int64:
		return []string{strconv.FormatInt(v, 10)}, nil
	case []any:
		var out []string
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("lists must hold strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value %v", v)
}

// withConfig parses args with fs, then fills in from --config, returning
// the positional arguments: those of the command line, or else the
// file's.
func withConfig(fs *flag.FlagSet, args []string, positional ...string) ([]string, error) {
	configPath := fs.String("config", "", "a TOML `FILE` holding any of these flags by name (and "+strings.Join(positional, ", ")+"); the command line wins")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if *configPath == "" {
		return fs.Args(), nil
	}
	cfg, err := loadJobConfig(*configPath)
	if err != nil {
		return nil, err
	}
	fromFile, err := cfg.apply(fs, positional...)
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return fs.Args(), nil
	}
	var out []string
	for _, a := range fromFile {
		if a != "" {
			out = append(out, a)
		}
	}
	return out, nil
}
