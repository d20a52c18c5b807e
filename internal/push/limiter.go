package push

import (
	"fmt"
	"time"
)

// ReportLimiter rate-limits the delivery errors handed to an error
// handler: at most one per Interval, the next one counting those held
// back. The zero value passes every error. It is not safe for concurrent
// use; its owner serialises the calls.
type ReportLimiter struct {
	Interval time.Duration
	last     time.Time
	held     uint64 // errors held back since last
}

// Pass returns err to report at now, with the count of errors held back
// since the last one reported, or nil when err is nil or must be held
// back.
func (l *ReportLimiter) Pass(now time.Time, err error) error {
	if err == nil {
		return nil
	}
	if !l.last.IsZero() && now.Sub(l.last) < l.Interval {
		l.held++
		return nil
	}
	if l.held > 0 {
		err = fmt.Errorf("%w (and %d more delivery errors since %s)", err, l.held, l.last.Format(time.RFC3339))
	}
	l.last, l.held = now, 0
	return err
}
