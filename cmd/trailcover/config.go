package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// maxConfigSize bounds what is read of a configuration file: a real one
// is a few hundred bytes, and the TOML parser takes seconds and hundreds
// of megabytes over a megabyte of nested tables.
const maxConfigSize = 64 << 10

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
//	state = "/var/lib/trailcover/state"
//
// Flags given on the command line win over the file. Unknown names are
// errors: a misspelt setting must not be silently ignored.
type jobConfig struct {
	values map[string]any
	order  []string
}

func loadJobConfig(name string) (*jobConfig, error) {
	// Read with a limit, not by the size Stat reports: a pipe or a device
	// reports none.
	data, err := readSmallFile(name, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseJobConfig(name, data)
}

func parseJobConfig(name string, data []byte) (*jobConfig, error) {
	if err := checkNesting(data); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
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

// maxConfigNesting bounds how deeply a configuration file nests arrays
// and inline tables; dotted keys, each dot one more level, are bounded at
// twice that per line. Settings are flat, and the TOML parser's time and
// memory grow faster than the depth (a megabyte of "{b=" or of "a." takes
// it minutes), so deeper files are refused before they are parsed.
const maxConfigNesting = 8

// checkNesting scans TOML outside strings and comments and refuses what
// nests deeper than maxConfigNesting.
func checkNesting(data []byte) error {
	depth, dots, line := 0, 0, 1
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			dots = 0
			line++
		case '#':
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
		case '[', '{':
			if depth++; depth > maxConfigNesting {
				return fmt.Errorf("line %d: nested deeper than %d; settings are flat", line, maxConfigNesting)
			}
		case ']', '}':
			depth = max(depth-1, 0)
		case '.':
			if dots++; dots > 2*maxConfigNesting {
				return fmt.Errorf("line %d: more than %d dots outside strings; settings are flat", line, 2*maxConfigNesting)
			}
		case '"', '\'':
			end := skipString(data, i)
			line += bytes.Count(data[i:end], []byte{'\n'})
			i = end - 1
		}
	}
	return nil
}

// skipString returns the index after the TOML string that starts at
// data[i]: basic ("…", with backslash escapes) or literal ('…'), on one
// line or, tripled, on several. A multi-line string may end in up to two
// quotes of its own before the closing three.
func skipString(data []byte, i int) int {
	q := data[i]
	multi := bytes.HasPrefix(data[i:], []byte{q, q, q})
	if multi {
		i += 3
	} else {
		i++
	}
	for ; i < len(data); i++ {
		switch c := data[i]; {
		case c == '\\' && q == '"':
			i++
		case c == '\n' && !multi:
			return i
		case c == q && !multi:
			return i + 1
		case c == q && bytes.HasPrefix(data[i:], []byte{q, q, q}):
			run := 3
			for run < 5 && i+run < len(data) && data[i+run] == q {
				run++
			}
			return i + run
		}
	}
	return len(data)
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
// parseInterspersed parses flags before, between and after the positional
// arguments, as users type them (trailcover analyze s3://bucket --last 7d);
// "--" ends the flags, and everything after it is positional. It returns
// the positional arguments in order.
//
// -h and --help print the usage to help (stdout) and return
// flag.ErrHelp; a bad flag prints the error and the usage to the flag
// set's output (stderr).
func parseInterspersed(fs *flag.FlagSet, help io.Writer, args []string) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) && help != nil {
				out := fs.Output()
				fs.SetOutput(help)
				usage()
				fs.SetOutput(out)
			} else {
				usage()
			}
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			// Parse stops after "--"; unless it was a flag's value.
			if f := flagBefore(fs, args[:used-1]); f == nil || isBoolFlag(f) {
				return append(positional, rest...), nil
			}
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagBefore returns the flag an argument list ends with when that flag
// takes its value from the next argument (-name, not -name=value).
func flagBefore(fs *flag.FlagSet, args []string) *flag.Flag {
	if len(args) == 0 {
		return nil
	}
	name := strings.TrimLeft(args[len(args)-1], "-")
	if !strings.HasPrefix(args[len(args)-1], "-") || name == "" || strings.Contains(name, "=") {
		return nil
	}
	return fs.Lookup(name)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func withConfig(fs *flag.FlagSet, help io.Writer, args []string, positional ...string) ([]string, error) {
	configPath := fs.String("config", "", "a TOML `FILE` holding any of these flags by name (and "+strings.Join(positional, ", ")+"); the command line wins")
	args, err := parseInterspersed(fs, help, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if *configPath == "" {
		return args, nil
	}
	cfg, err := loadJobConfig(*configPath)
	if err != nil {
		return nil, err
	}
	fromFile, err := cfg.apply(fs, positional...)
	if err != nil {
		return nil, err
	}
	if len(args) > 0 {
		return args, nil
	}
	var out []string
	for _, a := range fromFile {
		if a != "" {
			out = append(out, a)
		}
	}
	return out, nil
}
