package metrics

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/obskit/obskit/internal/sanitize"
)

// instrument is one declared instrument: its backend family and the cache
// of its series, one per label set.
type instrument[H any] struct {
	reg  *Registry
	desc *Desc
	name string // desc.FullName("."), for messages
	seed uint64
	fam  Family[H]
	root *series[H]
	// fallback makes a series' slow handle: it validates values and
	// binds lazily, so that the hot path makes one call either way.
	fallback func(*series[H]) H

	// table is read without locking; mu serialises inserts, growth and
	// binding.
	table    atomic.Pointer[table[H]]
	mu       sync.Mutex
	size     int         // series in table, under mu
	n        int         // label sets made by With (not the root or overflow), under mu
	full     atomic.Bool // n reached the cardinality limit
	overflow atomic.Pointer[series[H]]
	reported atomic.Uint32 // one bit per Problem already reported

	// recent is the identity cache in front of table (see identity.go).
	recent recentCache[H]
}

// series is one label set of an instrument. The concrete metric types
// are series under another name.
type series[H any] struct {
	inst   *instrument[H]
	values []string // one per declared label, in declaration order
	hash   uint64
	// A series whose every label has a value is bound when made: h is
	// set before the series is published and never changes, so the hot
	// path reads it with no atomic load or check. Other series (the root of a
	// labelled instrument, intermediate children of a cumulative With)
	// bind on first record into lazy, so they never become empty series
	// in a backend.
	h     H
	eager bool
	lazy  atomic.Pointer[H]
	// slow checks values and binds on first use. The hot path records a
	// valid value into h, anything else into slow: one call either way.
	// A series that is not eager has h == slow.
	slow H
	// For histograms: plain observes without a context (what h provides
	// when it has the optional ValueObserver method), slowPlain through slow.
	plain, slowPlain valueObserver
}

func newInstrument[H any](r *Registry, d *Desc, fam Family[H], fallback func(*series[H]) H) *instrument[H] {
	inst := &instrument[H]{reg: r, desc: d, name: d.FullName("."), seed: r.seed, fam: fam, fallback: fallback}
	inst.table.Store(newTable[H](8))
	vals := make([]string, len(d.Labels))
	for i := range vals {
		vals[i] = UnsetLabelValue
	}
	// An instrument without labels has a complete root, bound now: it
	// exists from its declaration, as client_golang's does. Labelled
	// series appear when first used.
	inst.mu.Lock()
	inst.root = inst.insertLocked(inst.hashValues(vals), vals)
	inst.mu.Unlock()
	return inst
}

// with returns the series for s's label values overridden by the
// name/value pairs in kv. It makes no allocation when the series exists.
func (s *series[H]) with(kv []string) *series[H] {
	inst := s.inst
	if len(kv) == 0 {
		return s
	}
	labels := inst.desc.Labels
	if len(kv) == 2*len(labels) {
		if len(labels) <= recentLabels && !inst.recent.off.Load() {
			id := identity(inst.seed, kv)
			if found := inst.recent.find(id, kv); found != nil {
				return found
			}
			if found := inst.findInOrder(kv); found != nil {
				inst.recent.remember(id, kv, found)
				return found
			}
		} else if found := inst.findInOrder(kv); found != nil {
			return found
		}
	}
	return s.withSlow(kv)
}

// withSlow is with for label sets not found in place: names out of
// order, missing or undeclared, or a label set not yet made. It is apart
// from with so that the hot path's frame holds no buffer to zero.
func (s *series[H]) withSlow(kv []string) *series[H] {
	inst := s.inst
	labels := inst.desc.Labels
	var buf [8]string
	var vals []string
	if len(labels) <= len(buf) {
		vals = buf[:len(labels)]
	} else {
		vals = make([]string, len(labels))
	}
	copy(vals, s.values)
	even := len(kv) &^ 1
	for i := 0; i < even; i += 2 {
		// Fast path: names given in declaration order.
		if j := i / 2; j < len(labels) && labels[j] == kv[i] {
			vals[j] = kv[i+1]
			continue
		}
		inst.set(vals, kv[i], kv[i+1])
	}
	if even != len(kv) {
		inst.problem(ProblemOddLabelValues, kv[even])
		inst.set(vals, kv[even], UnsetLabelValue)
	}
	h := inst.hashValues(vals)
	if found := inst.table.Load().find(h, vals); found != nil {
		// Every stored value is valid UTF-8, so a hit needs no check.
		return found
	}
	return inst.miss(h, vals)
}

// findInOrder looks up the series when kv names every declared label in
// declaration order, the common case, hashing the values in place. It
// returns nil when kv is not in that form or the series does not exist.
func (inst *instrument[H]) findInOrder(kv []string) *series[H] {
	labels := inst.desc.Labels
	h := inst.seed
	for i, l := range labels {
		if !sameString(kv[2*i], l) {
			return nil
		}
		h = hashShort(h, kv[2*i+1])
	}
	t := inst.table.Load()
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i].Load()
		if s == nil {
			return nil
		}
		if s.hash == h && equalPairs(s.values, kv) {
			return s
		}
	}
}

func equalPairs(vals, kv []string) bool {
	for i, v := range vals {
		if !sameString(kv[2*i+1], v) {
			return false
		}
	}
	return true
}

// set stores value for the label name in vals, or counts the problem.
func (inst *instrument[H]) set(vals []string, name, value string) {
	for i, l := range inst.desc.Labels {
		if l == name {
			vals[i] = value
			return
		}
	}
	inst.problem(ProblemUndeclaredLabel, name)
}

func (inst *instrument[H]) hashValues(vals []string) uint64 {
	h := inst.seed
	for _, v := range vals {
		h = hashString(h, v)
	}
	return h
}

// miss handles a label set not found in the table: it repairs invalid
// UTF-8 and cuts values past the length limit, then finds or makes the
// series, or returns the overflow series past the cardinality limit.
func (inst *instrument[H]) miss(h uint64, vals []string) *series[H] {
	repaired := false
	for i, v := range vals {
		if !utf8.ValidString(v) {
			inst.problem(ProblemInvalidUTF8, inst.desc.Labels[i])
			v = strings.ToValidUTF8(v, "\uFFFD")
			vals[i], repaired = v, true
		}
		if len(v) > inst.reg.maxValueLen {
			inst.problem(ProblemLongLabelValue, inst.desc.Labels[i]+": "+strconv.Itoa(len(v))+" bytes")
			vals[i], repaired = sanitize.Prefix(v, inst.reg.maxValueLen), true // insertLocked copies it
		}
	}
	if repaired {
		h = inst.hashValues(vals)
		if s := inst.table.Load().find(h, vals); s != nil {
			return s
		}
	}
	if inst.full.Load() {
		return inst.overflowSeries()
	}
	inst.mu.Lock()
	s := inst.table.Load().find(h, vals)
	if s == nil && inst.n < inst.reg.limit {
		s = inst.insertLocked(h, vals)
		inst.n++
	}
	inst.mu.Unlock()
	if s == nil {
		inst.full.Store(true)
		return inst.overflowSeries()
	}
	return s
}

// overflowSeries counts a label set past the limit and returns the series
// that takes its values.
func (inst *instrument[H]) overflowSeries() *series[H] {
	if inst.count(ProblemCardinality) {
		inst.report(ProblemCardinality, "limit "+strconv.Itoa(inst.reg.limit))
	}
	if s := inst.overflow.Load(); s != nil {
		return s
	}
	vals := make([]string, len(inst.desc.Labels))
	for i := range vals {
		vals[i] = OverflowLabelValue
	}
	h := inst.hashValues(vals)
	inst.mu.Lock()
	defer inst.mu.Unlock()
	s := inst.table.Load().find(h, vals)
	if s == nil {
		s = inst.insertLocked(h, vals)
	}
	inst.overflow.Store(s)
	return s
}

// insertLocked adds a series for a copy of vals; inst.mu is held.
func (inst *instrument[H]) insertLocked(h uint64, vals []string) *series[H] {
	own := make([]string, len(vals))
	for i, v := range vals {
		own[i] = strings.Clone(v) // never keep a caller's larger buffer alive
	}
	s := &series[H]{inst: inst, values: own, hash: h}
	s.slow = inst.fallback(s)
	if hh, ok := any(s.slow).(HistogramHandle); ok {
		s.slowPlain = backgroundObserver{hh}
	}
	if !slices.Contains(own, UnsetLabelValue) {
		s.h, s.eager = inst.bind(own), true
		if p, ok := any(s.h).(valueObserverProvider); ok {
			s.plain = p.ValueObserver() // nil: as if there were none
		}
		if hh, ok := any(s.h).(HistogramHandle); ok && s.plain == nil {
			s.plain = backgroundObserver{hh}
		}
	} else {
		s.h, s.plain = s.slow, s.slowPlain
	}
	t := inst.table.Load()
	if (inst.size+1)*2 > len(t.slots) {
		t = t.grow()
		inst.table.Store(t)
	}
	t.put(s)
	inst.size++
	return s
}

// handle returns the series' backend handle, binding it on first use.
func (s *series[H]) handle() H {
	if s.eager {
		return s.h
	}
	if p := s.lazy.Load(); p != nil {
		return *p
	}
	return s.bind()
}

func (s *series[H]) bind() H {
	s.inst.mu.Lock()
	defer s.inst.mu.Unlock()
	if p := s.lazy.Load(); p != nil {
		return *p
	}
	h := s.inst.bind(s.values)
	s.lazy.Store(&h)
	return h
}

// bind asks the backend for a label set's handle. A backend that returns
// none gets its values dropped, counted as ProblemBackend, rather than a
// panic on the hot path.
func (inst *instrument[H]) bind(values []string) H {
	h := inst.fam.Bind(values)
	if any(h) == nil {
		// Reported here, counted per value dropped (dropBackend), as
		// Stats.BackendDrops says.
		if inst.first(ProblemBackend) {
			inst.report(ProblemBackend, "Bind returned a nil handle for "+strings.Join(values, ","))
		}
		return any(dropBackend{inst.reg}).(H)
	}
	return h
}

// problem counts p and reports it the first time this instrument meets it.
func (inst *instrument[H]) problem(p Problem, detail string) {
	if inst.count(p) {
		inst.report(p, detail)
	}
}

// count counts p and reports whether this is the first time this
// instrument meets it, when the caller must report it. Callers whose
// detail costs an allocation build it only then, so that a repeated
// problem costs no allocation.
func (inst *instrument[H]) count(p Problem) bool {
	inst.reg.problems[p].Add(1)
	return inst.first(p)
}

// first reports whether this is the first time this instrument meets p.
func (inst *instrument[H]) first(p Problem) bool {
	bit := uint32(1) << p
	return inst.reported.Load()&bit == 0 && inst.reported.Or(bit)&bit == 0
}

// report hands the first occurrence of p to the error handler.
func (inst *instrument[H]) report(p Problem, detail string) {
	if inst.reg.onError != nil {
		inst.reg.onError(&HotPathError{Metric: inst.name, Problem: p, Detail: strings.Clone(detail)})
	}
}

// table is an open-addressing hash table of series, read without locks:
// slots are only ever filled, and growth publishes a new table.
type table[H any] struct {
	mask  uint64
	slots []atomic.Pointer[series[H]]
}

func newTable[H any](size int) *table[H] {
	return &table[H]{mask: uint64(size - 1), slots: make([]atomic.Pointer[series[H]], size)}
}

func (t *table[H]) find(h uint64, vals []string) *series[H] {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i].Load()
		if s == nil {
			return nil
		}
		if s.hash == h && equalValues(s.values, vals) {
			return s
		}
	}
}

func (t *table[H]) put(s *series[H]) {
	for i := s.hash & t.mask; ; i = (i + 1) & t.mask {
		if t.slots[i].Load() == nil {
			t.slots[i].Store(s)
			return
		}
	}
}

func (t *table[H]) grow() *table[H] {
	nt := newTable[H](2 * len(t.slots))
	for i := range t.slots {
		if s := t.slots[i].Load(); s != nil {
			nt.put(s)
		}
	}
	return nt
}

func equalValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
