// Package middleware holds obskit's endpoint type and the middlewares that
// instrument it: metrics, tracing and logging for endpoints, a one-line
// helper for hand-written service decorators, and net/http middleware.
//
// An Endpoint is Go kit's endpoint made generic: with Req and Resp both
// any, it converts to and from Go kit's endpoint.Endpoint.
package middleware

import (
	"context"
	"reflect"
)

// Endpoint is one operation of a service: a request in, a response or an
// error out. Endpoint[any, any] has the same underlying type as Go kit's
// endpoint.Endpoint, so the two convert to each other.
type Endpoint[Req, Resp any] func(ctx context.Context, request Req) (response Resp, err error)

// Middleware wraps an Endpoint with behaviour of its own.
type Middleware[Req, Resp any] func(Endpoint[Req, Resp]) Endpoint[Req, Resp]

// Chain composes middlewares into one. The first is outermost: it sees the
// request first and the response last, as in Go kit.
func Chain[Req, Resp any](outer Middleware[Req, Resp], others ...Middleware[Req, Resp]) Middleware[Req, Resp] {
	return func(next Endpoint[Req, Resp]) Endpoint[Req, Resp] {
		for i := len(others) - 1; i >= 0; i-- {
			next = others[i](next)
		}
		return outer(next)
	}
}

// Failer is implemented by responses that carry a business error, as Go
// kit's endpoint.Failer. Instrumenting middlewares count a non-nil
// Failed() as an error even when the endpoint returned a nil error.
type Failer interface {
	Failed() error
}

// ResponseError returns err when it is not nil, else the business error
// that resp carries through Failer, else nil.
func ResponseError(resp any, err error) error {
	if err != nil {
		return err
	}
	if f, ok := resp.(Failer); ok {
		return f.Failed()
	}
	return nil
}

// CanFail reports whether a value of type Resp may carry a business error
// through Failer: Resp is an interface type, whose dynamic values are only
// known per call, or a type that implements Failer. Middlewares call it
// once, when they are built, and skip BusinessError on every call when it
// is false, which spares boxing a value response into an interface.
func CanFail[Resp any]() bool {
	t := reflect.TypeFor[Resp]()
	return t.Kind() == reflect.Interface || t.Implements(reflect.TypeFor[Failer]())
}

// BusinessError returns the business error that resp carries through
// Failer, or nil when it carries none or does not implement Failer.
func BusinessError[Resp any](resp Resp) error {
	if f, ok := any(resp).(Failer); ok {
		return f.Failed()
	}
	return nil
}
