package simulate

import (
	"math/rand/v2"
	"strconv"
	"time"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. escapeSlash writes '/' as "\/",
// as CloudTrail's digest files do; log files keep '/' as it is.
func appendString(b []byte, s string, escapeSlash bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '/' && escapeSlash:
			esc = `\/`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c < 0x20:
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			start = i + 1
			continue
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendField appends "name":"value", with a leading comma, for values
// known to need no escaping (identifiers, times, hex).
func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':', '"')
	b = append(b, value...)
	return append(b, '"')
}

// appendHex appends n random lower-case hex digits.
func appendHex(b []byte, r *rand.Rand, n int) []byte {
	for n > 0 {
		v := r.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[v&0xf])
			v >>= 4
			n--
		}
	}
	return b
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// appendChars appends n random characters of set.
func appendChars(b []byte, r *rand.Rand, set string, n int) []byte {
	for n > 0 {
		v := r.Uint64()
		for i := 0; i < 8 && n > 0; i++ {
			b = append(b, set[int(v&0xff)%len(set)])
			v >>= 8
			n--
		}
	}
	return b
}

// appendUUID appends a random version-4 UUID, the form of eventID and of
// most requestIDs.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12
	lo = lo&^(0x3<<62) | 0x2<<62
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// newUUID returns a random version-4 UUID as a string.
func newUUID(r *rand.Rand) string {
	return string(appendUUID(make([]byte, 0, 36), r))
}

// timeLayout is CloudTrail's timestamp format: RFC 3339, UTC, seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// clock formats Unix seconds as CloudTrail timestamps quickly: the date
// part is cached, as a worker formats thousands of times of the same day.
type clock struct {
	day  int64
	date []byte // "YYYY-MM-DDT"
}

// append appends sec, Unix seconds, as a CloudTrail timestamp.
func (c *clock) append(b []byte, sec int64) []byte {
	day := sec / 86400
	if c.date == nil || day != c.day {
		c.day = day
		c.date = time.Unix(day*86400, 0).UTC().AppendFormat(c.date[:0], "2006-01-02T")
	}
	b = append(b, c.date...)
	s := sec - day*86400
	h, m, ss := s/3600, s/60%60, s%60
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':',
		byte('0'+ss/10), byte('0'+ss%10), 'Z')
}

// formatTime formats t as a CloudTrail timestamp.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// appendInt appends n in decimal.
func appendInt(b []byte, n int64) []byte {
	return strconv.AppendInt(b, n, 10)
}
