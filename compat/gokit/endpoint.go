package gokit

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/go-kit/kit/endpoint"

	"github.com/obskit/obskit/middleware"
)

// ErrType reports a request or response whose dynamic type is not the
// Req or Resp of the obskit endpoint it crosses to or from. Errors that
// wrap it name both types.
var ErrType = errors.New("gokit: request or response of unexpected type")

// ToKitEndpoint returns e as a Go kit endpoint.Endpoint. A request must
// be a Req (a nil request is Req's zero value); any other is not passed
// to e and returns an error wrapping ErrType. For Req and Resp both any
// the conversion is free: the two types have the same underlying type.
func ToKitEndpoint[Req, Resp any](e middleware.Endpoint[Req, Resp]) endpoint.Endpoint {
	if e == nil {
		return nil
	}
	if same, ok := any(e).(middleware.Endpoint[any, any]); ok {
		return endpoint.Endpoint(same)
	}
	return func(ctx context.Context, request any) (any, error) {
		req, err := as[Req](request, "request")
		if err != nil {
			return nil, err
		}
		return e(ctx, req)
	}
}

// FromKitEndpoint returns e as an obskit endpoint taking Req and
// returning Resp. A response that e returns must be a Resp (a nil
// response is Resp's zero value); any other returns Resp's zero value and
// an error wrapping ErrType, joined with e's own error if it returned one.
func FromKitEndpoint[Req, Resp any](e endpoint.Endpoint) middleware.Endpoint[Req, Resp] {
	if e == nil {
		return nil
	}
	var zero middleware.Endpoint[Req, Resp]
	if _, ok := any(zero).(middleware.Endpoint[any, any]); ok {
		return any(middleware.Endpoint[any, any](e)).(middleware.Endpoint[Req, Resp])
	}
	return func(ctx context.Context, req Req) (Resp, error) {
		response, err := e(ctx, req)
		resp, typeErr := as[Resp](response, "response")
		if typeErr != nil {
			return resp, errors.Join(typeErr, err)
		}
		return resp, err
	}
}

// ToKitMiddleware returns m as a Go kit endpoint.Middleware, so that an
// obskit middleware (instrumenting, tracing, logging) wraps Go kit
// endpoints. The endpoint it wraps must return Resp responses and is
// called with Req requests; see FromKitEndpoint and ToKitEndpoint for
// what happens to others.
func ToKitMiddleware[Req, Resp any](m middleware.Middleware[Req, Resp]) endpoint.Middleware {
	if m == nil {
		return nil
	}
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return ToKitEndpoint(m(FromKitEndpoint[Req, Resp](next)))
	}
}

// FromKitMiddleware returns m as an obskit middleware, so that Go kit's
// middlewares (circuit breakers, rate limiters) wrap obskit endpoints.
func FromKitMiddleware[Req, Resp any](m endpoint.Middleware) middleware.Middleware[Req, Resp] {
	if m == nil {
		return nil
	}
	return func(next middleware.Endpoint[Req, Resp]) middleware.Endpoint[Req, Resp] {
		return FromKitEndpoint[Req, Resp](m(ToKitEndpoint(next)))
	}
}

// as returns v as a T: nil is T's zero value, a value of another type is
// an error wrapping ErrType.
func as[T any](v any, what string) (T, error) {
	var zero T
	if v == nil {
		return zero, nil
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %s is %T, want %v", ErrType, what, v, reflect.TypeFor[T]())
	}
	return t, nil
}
