package analyzer

// eventSet holds the 64-bit hashes of the eventIDs seen, each with the
// day of its event, for telling duplicates apart. It is an open-addressing
// table of 12 bytes a slot, at most three quarters full: some 16 bytes an
// event where a Go map takes about 34.
type eventSet struct {
	// hashes holds 0 in an empty slot; a hash that is 0 is stored as 1
	// (two eventIDs that share a hash already count as one).
	hashes []uint64
	days   []int32
	n      int
	shift  uint // 64 - log2(len(hashes))
}

const minEventSetSlots = 1 << 10

func (s *eventSet) len() int { return s.n }

func (s *eventSet) slot(h uint64) uint64 {
	// Fibonacci hashing spreads FNV's bits over the table.
	return (h * 0x9E3779B97F4A7C15) >> s.shift
}

// add records h for day and reports whether it is new.
func (s *eventSet) add(h uint64, day int32) bool {
	if h == 0 {
		h = 1
	}
	if s.hashes == nil {
		s.resize(minEventSetSlots)
	}
	mask := uint64(len(s.hashes) - 1)
	for i := s.slot(h); ; i = (i + 1) & mask {
		switch s.hashes[i] {
		case h:
			return false
		case 0:
			s.hashes[i], s.days[i] = h, day
			s.n++
			if s.n*4 > len(s.hashes)*3 {
				s.resize(2 * len(s.hashes))
			}
			return true
		}
	}
}

// each calls fn for every hash held, in no order.
func (s *eventSet) each(fn func(h uint64, day int32)) {
	for i, h := range s.hashes {
		if h != 0 {
			fn(h, s.days[i])
		}
	}
}

// keepFrom forgets the hashes of days before cutoff, in place: the table
// keeps its size, and no second table is made (at the cap, a copy would
// double the set's memory for a moment).
func (s *eventSet) keepFrom(cutoff int32) {
	if s.n == 0 {
		return
	}
	for i, h := range s.hashes {
		if h != 0 && s.days[i] < cutoff {
			s.hashes[i] = 0
			s.n--
		}
	}
	// A dropped slot may have split a probe run, leaving hashes after it
	// out of reach. Walking the table once from an empty slot and adding
	// each hash again seats every one at or before where it was: the
	// slots before it on its run are either seated already or empty.
	mask := len(s.hashes) - 1
	start := 0
	for s.hashes[start] != 0 {
		start++ // the table is at most three quarters full
	}
	for k := 1; k <= len(s.hashes); k++ {
		i := (start + k) & mask
		h := s.hashes[i]
		if h == 0 {
			continue
		}
		day := s.days[i]
		s.hashes[i] = 0
		s.n--
		s.add(h, day)
	}
}

// resize rehashes the table into slots slots, a power of two.
func (s *eventSet) resize(slots int) {
	old, oldDays := s.hashes, s.days
	s.hashes, s.days, s.n = make([]uint64, slots), make([]int32, slots), 0
	s.shift = 64
	for n := slots; n > 1; n >>= 1 {
		s.shift--
	}
	for i, h := range old {
		if h != 0 {
			s.add(h, oldDays[i])
		}
	}
}
