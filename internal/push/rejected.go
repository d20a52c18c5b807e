package push

import "errors"

// ErrRejected marks a Transport error for a payload the server refused
// and that would be refused again (an HTTP 4xx answer: a parse error, a
// field type conflict, an unknown database). A Pusher does not retry such
// a payload: it drops it, counts its lines in Stats.DroppedRejected,
// reports the error and goes on with the next payload. Any other Send
// error keeps the payload queued for the next flush.
var ErrRejected = errors.New("rejected by the server")

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
