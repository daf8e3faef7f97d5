package simulate

import (
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// KeyRing holds the signing key of each region, derived from a seed. Go's
// crypto/rsa.GenerateKey ignores the caller's random source since Go 1.26,
// so the keys are built here from primes found in a seeded ChaCha8 stream:
// the same seed always gives the same keys, hence byte-identical digests
// and signatures. A KeyRing is safe for concurrent use; each region's key
// is generated once, on first use.
type KeyRing struct {
	seed uint64
	mu   sync.Mutex
	keys map[string]*regionKey
}

// regionKey is one region's key pair, generated once.
type regionKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	der  []byte // PKCS#1 DER of the public key, what ListPublicKeys returns
	fp   string // lower-case hex MD5 of der
	err  error
}

// keyBits is the size of CloudTrail's digest signing keys.
const keyBits = 2048

// NewKeyRing returns an empty key ring for seed.
func NewKeyRing(seed uint64) *KeyRing {
	return &KeyRing{seed: seed, keys: map[string]*regionKey{}}
}

// get returns region's key, generating it on first use.
func (k *KeyRing) get(region string) (*regionKey, error) {
	k.mu.Lock()
	rk := k.keys[region]
	if rk == nil {
		rk = &regionKey{}
		k.keys[region] = rk
	}
	k.mu.Unlock()
	rk.once.Do(func() {
		rk.key, rk.err = deterministicKey(k.seed, region)
		if rk.err != nil {
			return
		}
		rk.der = x509.MarshalPKCS1PublicKey(&rk.key.PublicKey)
		sum := md5.Sum(rk.der)
		rk.fp = hex.EncodeToString(sum[:])
	})
	return rk, rk.err
}

// PublicKey returns region's public key and its fingerprint.
func (k *KeyRing) PublicKey(region string) (*rsa.PublicKey, string, error) {
	rk, err := k.get(region)
	if err != nil {
		return nil, "", err
	}
	return &rk.key.PublicKey, rk.fp, nil
}

// deterministicKey derives an RSA-2048 key with e = 65537 from seed and
// region.
func deterministicKey(seed uint64, region string) (*rsa.PrivateKey, error) {
	r := rand.New(rand.NewChaCha8(streamSeed(seed, "rsa-key", region)))
	e := big.NewInt(65537)
	one := big.NewInt(1)
	sieve := smallPrimes()
	for range 100 {
		p := findPrime(r, keyBits/2, sieve)
		q := findPrime(r, keyBits/2, sieve)
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != keyBits {
			continue
		}
		pm1 := new(big.Int).Sub(p, one)
		qm1 := new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm1, qm1)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		if p.Cmp(q) < 0 {
			p, q = q, p
		}
		key := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: n, E: 65537},
			D:         d,
			Primes:    []*big.Int{p, q},
		}
		key.Precompute()
		if err := key.Validate(); err != nil {
			return nil, fmt.Errorf("key for %s: %w", region, err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("key for %s: no usable primes found", region)
}

// smallPrimes are the odd primes below 2^14, used to sieve candidates
// before the expensive primality test.
func smallPrimes() []uint64 {
	var ps []uint64
	for n := uint64(3); n < 1<<14; n += 2 {
		prime := true
		for _, p := range ps {
			if p*p > n {
				break
			}
			if n%p == 0 {
				prime = false
				break
			}
		}
		if prime {
			ps = append(ps, n)
		}
	}
	return ps
}

// findPrime returns a prime of exactly bits bits with its two top bits set
// (so that the product of two has 2·bits bits): a random odd start, then
// the first prime above it, with a sieve of small primes updated
// incrementally.
func findPrime(r *rand.Rand, bits int, primes []uint64) *big.Int {
	buf := make([]byte, bits/8)
	for {
		for i := 0; i < len(buf); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8 && i+j < len(buf); j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		buf[0] |= 0xc0
		buf[len(buf)-1] |= 1
		start := new(big.Int).SetBytes(buf)
		rem := make([]uint64, len(primes))
		m := new(big.Int)
		for i, p := range primes {
			rem[i] = m.Mod(start, new(big.Int).SetUint64(p)).Uint64()
		}
		cand := new(big.Int)
		for delta := uint64(0); delta < 1<<16; delta += 2 {
			ok := true
			for i, p := range primes {
				if (rem[i]+delta)%p == 0 {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			cand.Add(start, new(big.Int).SetUint64(delta))
			if cand.BitLen() != bits {
				break
			}
			if cand.ProbablyPrime(20) {
				return cand
			}
		}
	}
}

// PublicKeyList is the JSON that `aws cloudtrail list-public-keys` prints.
type PublicKeyList struct {
	PublicKeyList []PublicKey `json:"PublicKeyList"`
}

// PublicKey is one entry of PublicKeyList: Value is the base64 PKCS#1 DER
// public key, Fingerprint the lower-case hex MD5 of that DER, the times
// ISO 8601 as AWS CLI v2 prints them.
type PublicKey struct {
	Value             string `json:"Value"`
	ValidityStartTime string `json:"ValidityStartTime"`
	ValidityEndTime   string `json:"ValidityEndTime"`
	Fingerprint       string `json:"Fingerprint"`
}

// cliTimeLayout is how AWS CLI v2 prints timestamps.
const cliTimeLayout = "2006-01-02T15:04:05-07:00"

// publicKeysJSON renders the keys of regions, sorted by region, valid from
// a day before from to two days after to (real keys are valid 30 days; one
// key per region is kept for the whole archive for simplicity).
func (k *KeyRing) publicKeysJSON(regions []string, from, to time.Time) ([]byte, error) {
	regions = slices.Clone(regions)
	slices.Sort(regions)
	start := from.Add(-24 * time.Hour).Add(17*time.Minute + 42*time.Second)
	end := start.Add(30 * 24 * time.Hour)
	if min := to.Add(48 * time.Hour); end.Before(min) {
		end = min
	}
	list := PublicKeyList{PublicKeyList: []PublicKey{}}
	for _, r := range regions {
		rk, err := k.get(r)
		if err != nil {
			return nil, err
		}
		list.PublicKeyList = append(list.PublicKeyList, PublicKey{
			Value:             base64.StdEncoding.EncodeToString(rk.der),
			ValidityStartTime: start.UTC().Format(cliTimeLayout),
			ValidityEndTime:   end.UTC().Format(cliTimeLayout),
			Fingerprint:       rk.fp,
		})
	}
	b, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
