package main

import (
	"context"

	"github.com/obskit/obskit/middleware"
)

// SumRequest and the other request and response types are the endpoints'
// JSON bodies.
type SumRequest struct {
	A int `json:"a"`
	B int `json:"b"`
}

// SumResponse carries the sum or the business error.
type SumResponse struct {
	V   int   `json:"v"`
	Err error `json:"-"`
}

// Failed implements middleware.Failer, so a business error counts as one.
func (r SumResponse) Failed() error { return r.Err }

// ConcatRequest is the body of a concat call.
type ConcatRequest struct {
	A string `json:"a"`
	B string `json:"b"`
}

// ConcatResponse carries the concatenation or the business error.
type ConcatResponse struct {
	V   string `json:"v"`
	Err error  `json:"-"`
}

// Failed implements middleware.Failer.
func (r ConcatResponse) Failed() error { return r.Err }

// Endpoints holds one endpoint per method of the service.
type Endpoints struct {
	Sum    middleware.Endpoint[SumRequest, SumResponse]
	Concat middleware.Endpoint[ConcatRequest, ConcatResponse]
}

// MakeEndpoints turns each method of svc into an endpoint. Business
// errors go into the response; the returned error is for failures of the
// call itself.
func MakeEndpoints(svc Service) Endpoints {
	return Endpoints{
		Sum: func(ctx context.Context, req SumRequest) (SumResponse, error) {
			v, err := svc.Sum(ctx, req.A, req.B)
			return SumResponse{V: v, Err: err}, nil
		},
		Concat: func(ctx context.Context, req ConcatRequest) (ConcatResponse, error) {
			v, err := svc.Concat(ctx, req.A, req.B)
			return ConcatResponse{V: v, Err: err}, nil
		},
	}
}
