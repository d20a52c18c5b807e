package metrics

import "fmt"

// Problem is a kind of bad input met on the hot path.
type Problem uint8

// The problems the hot path recovers from; see the package documentation
// for each fallback.
const (
	ProblemOddLabelValues  Problem = iota // With got an odd number of arguments
	ProblemUndeclaredLabel                // With named a label that was not declared
	ProblemInvalidUTF8                    // a label value was not valid UTF-8
	ProblemInvalidValue                   // a negative, NaN or infinite counter delta; a NaN or infinite gauge or histogram value
	ProblemCardinality                    // a With whose label set is new past the cardinality limit
	ProblemBackend                        // the backend returned no handle for a label set; its values are dropped
	ProblemLongLabelValue                 // a label value was longer than the registry's limit
	numProblems
)

// String describes the problem in a few words.
func (p Problem) String() string {
	switch p {
	case ProblemOddLabelValues:
		return "odd number of label arguments"
	case ProblemUndeclaredLabel:
		return "undeclared label"
	case ProblemInvalidUTF8:
		return "label value not valid UTF-8"
	case ProblemInvalidValue:
		return "invalid value"
	case ProblemCardinality:
		return "cardinality limit reached"
	case ProblemBackend:
		return "backend returned no handle"
	case ProblemLongLabelValue:
		return "label value too long"
	}
	return "unknown problem"
}

// HotPathError is what the error handler receives for a Problem, once
// per instrument and Problem.
type HotPathError struct {
	Metric  string // the instrument's full name, namespace.name
	Problem Problem
	Detail  string // the label name, value or limit involved
}

// Error implements error.
func (e *HotPathError) Error() string {
	return fmt.Sprintf("metrics: %s: %s (%s); recorded with the documented fallback, further occurrences are only counted", e.Metric, e.Problem, e.Detail)
}

// Stats counts the hot-path problems a Registry has met, over all its
// instruments, since it was made.
type Stats struct {
	OddLabelValues   uint64
	UndeclaredLabels uint64
	InvalidUTF8      uint64
	InvalidValues    uint64
	// Overflows counts the With (and Bind) calls that returned an
	// instrument's overflow series because their label set was new and
	// the instrument had reached its cardinality limit. A label set
	// looked up again counts again; a child bound once and recorded into
	// many times counts once.
	Overflows uint64
	// BackendDrops counts values dropped because the backend returned no
	// handle for their label set.
	BackendDrops uint64
	// LongLabelValues counts the label values cut to the registry's
	// length limit, on With or Bind calls whose label set was not found
	// as given (a value cut once and passed again uncut counts again).
	LongLabelValues uint64
}

// Stats returns the registry's problem counts.
func (r *Registry) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	return Stats{
		OddLabelValues:   r.problems[ProblemOddLabelValues].Load(),
		UndeclaredLabels: r.problems[ProblemUndeclaredLabel].Load(),
		InvalidUTF8:      r.problems[ProblemInvalidUTF8].Load(),
		InvalidValues:    r.problems[ProblemInvalidValue].Load(),
		Overflows:        r.problems[ProblemCardinality].Load(),
		BackendDrops:     r.problems[ProblemBackend].Load(),
		LongLabelValues:  r.problems[ProblemLongLabelValue].Load(),
	}
}
