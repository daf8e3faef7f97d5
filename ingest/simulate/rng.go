package simulate

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
)

// streamSeed hashes the run seed and labels into 32 bytes. Every random
// stream of a run is derived this way from what it is for (an account, a
// region, a day), never from the order in which workers happen to run, so
// that the same Config always writes the same bytes.
func streamSeed(seed uint64, labels ...string) [32]byte {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	for _, l := range labels {
		h.Write([]byte(l))
		h.Write([]byte{0})
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// newRand returns a fast deterministic generator for one stream.
func newRand(seed uint64, labels ...string) *rand.Rand {
	s := streamSeed(seed, labels...)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(s[0:8]), binary.LittleEndian.Uint64(s[8:16])))
}

// mix64 is splitmix64's finalizer: a cheap hash used where a value must be
// a pure function of a few integers (a session key per principal and hour).
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// pick returns a uniformly chosen element of s.
func pick[T any](r *rand.Rand, s []T) T {
	return s[r.IntN(len(s))]
}
