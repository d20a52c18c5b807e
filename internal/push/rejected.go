package push

// PartialError is a rejection of part of a payload: the server stored
// the other lines (InfluxDB's "partial write: … dropped=N"). A Pusher
// counts Dropped lines in Stats.DroppedRejected and the rest as sent. It
// wraps ErrRejected and Err.
type PartialError struct {
	Dropped int
	Err     error
}

// Error returns Err's message.
func (e *PartialError) Error() string { return e.Err.Error() }

// Unwrap returns ErrRejected and Err.
func (e *PartialError) Unwrap() []error { return []error{ErrRejected, e.Err} }
