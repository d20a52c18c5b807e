// Package failer decides once, when a middleware is built, whether the
// responses of an endpoint can carry a business error, so that the
// middleware's hot path skips the check (and the boxing of the response
// into an interface) when they cannot.
package failer

import (
	"reflect"

	"github.com/obskit/obskit/middleware"
)

// Possible reports whether a value of type Resp may implement
// middleware.Failer: Resp is an interface type, whose dynamic values are
// only known per call, or a type that implements it.
func Possible[Resp any]() bool {
	t := reflect.TypeFor[Resp]()
	return t.Kind() == reflect.Interface || t.Implements(reflect.TypeFor[middleware.Failer]())
}

// Err returns the business error that resp carries through
// middleware.Failer, or nil. Callers check Possible first.
func Err[Resp any](resp Resp) error {
	if f, ok := any(resp).(middleware.Failer); ok {
		return f.Failed()
	}
	return nil
}
