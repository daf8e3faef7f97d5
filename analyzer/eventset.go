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

// keepFrom forgets the hashes of days before cutoff, shrinking the table
// to what is left.
func (s *eventSet) keepFrom(cutoff int32) {
	old, oldDays := s.hashes, s.days
	left := 0
	for i, h := range old {
		if h != 0 && oldDays[i] >= cutoff {
			left++
		}
	}
	slots := minEventSetSlots
	for slots*3 < left*4*2 { // room to grow by half before the next resize
		slots *= 2
	}
	s.hashes, s.days, s.n = nil, nil, 0
	s.resize(slots)
	for i, h := range old {
		if h != 0 && oldDays[i] >= cutoff {
			s.add(h, oldDays[i])
		}
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
