// Package middleware holds obskit's endpoint type and the middlewares that
// instrument it: metrics, tracing and logging for endpoints, a one-line
// helper for hand-written service decorators, and net/http middleware.
//
// An Endpoint is Go kit's endpoint made generic: with Req and Resp both
// any, it converts to and from Go kit's endpoint.Endpoint.
//
// # Conventions shared by every obskit package
//
// A constructor that can be configured takes an Options struct by value
// (InstrumentingOptions, ObserverOptions, HTTPOptions;
// tracing.Options, tracing.EndpointOptions; logging.Options,
// logging.EndpointOptions; each backend's Options), never functional
// options, and the zero value of every Options struct is valid: it means
// the documented defaults. The same setting has the same field name and
// meaning wherever it appears: IgnoreBusinessErrors counts, traces or
// logs a response that reports an error through Failer as a success in
// InstrumentingOptions, tracing.EndpointOptions and
// logging.EndpointOptions alike. A constant such as a log key is defined
// once and imported: LogOperationKey, LogDurationKey and LogErrorKey
// here serve the Observer and logging.EndpointMiddleware.
//
// Every endpoint middleware (Instrument, Observer, the tracing and
// logging middlewares) sees a panic in the endpoint as a failed call,
// records it as such, and lets the panic go on with the same value, so
// that the transport's recover (NewHTTPHandler's) still answers.
package middleware

import (
	"context"
	"reflect"
)

// Endpoint is one operation of a service: a request in, a response or an
// error out. Endpoint[any, any] has the same underlying type as Go kit's
// endpoint.Endpoint, so the two convert to each other.
type Endpoint[Req, Resp any] func(ctx context.Context, request Req) (response Resp, err error)

// Middleware wraps an Endpoint with behaviour of its own. The
// middlewares of this module given a nil Endpoint return one that fails
// every call with an error wrapping metrics.ErrInvalidOption, instead of
// panicking in the call.
type Middleware[Req, Resp any] func(Endpoint[Req, Resp]) Endpoint[Req, Resp]

// Chain composes middlewares into one. The first is outermost: it sees the
// request first and the response last, as in Go kit. A nil middleware
// adds nothing.
func Chain[Req, Resp any](outer Middleware[Req, Resp], others ...Middleware[Req, Resp]) Middleware[Req, Resp] {
	return func(next Endpoint[Req, Resp]) Endpoint[Req, Resp] {
		for i := len(others) - 1; i >= 0; i-- {
			if others[i] != nil {
				next = others[i](next)
			}
		}
		if outer == nil {
			return next
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

// FailedFunc returns a function that returns the business error a Resp
// carries through Failer, or nil when no value of type Resp can carry one
// (Resp is neither an interface type nor a type that implements Failer).
// Middlewares call it once, when they are built: for a concrete Resp the
// function calls Failed directly, without boxing a value response into
// an interface, so it makes no allocation; for an interface Resp it is
// BusinessError.
func FailedFunc[Resp any]() func(Resp) error {
	t := reflect.TypeFor[Resp]()
	if t.Kind() == reflect.Interface {
		return BusinessError[Resp]
	}
	if !t.Implements(reflect.TypeFor[Failer]()) {
		return nil
	}
	// The method expression Resp.Failed, as a func value.
	if m, ok := t.MethodByName("Failed"); ok {
		if f, ok := m.Func.Interface().(func(Resp) error); ok {
			return f
		}
	}
	return BusinessError[Resp]
}

// BusinessError returns the business error that resp carries through
// Failer, or nil when it carries none or does not implement Failer.
func BusinessError[Resp any](resp Resp) error {
	if f, ok := any(resp).(Failer); ok {
		return f.Failed()
	}
	return nil
}

// failingEndpoint returns an Endpoint that fails every call with err:
// what a middleware of this package returns for a nil next.
func failingEndpoint[Req, Resp any](err error) Endpoint[Req, Resp] {
	return func(context.Context, Req) (Resp, error) {
		var zero Resp
		return zero, err
	}
}
