package main

import (
	"context"

	"github.com/obskit/obskit/middleware"
)

// observedService decorates a Service with metrics, a span and a log
// line per call: one deferred statement per method.
type observedService struct {
	obs  *middleware.Observer
	next Service
}

func (s observedService) Sum(ctx context.Context, a, b int) (v int, err error) {
	ctx, done := s.obs.Start(ctx, "Sum")
	defer done(&err)
	return s.next.Sum(ctx, a, b)
}

func (s observedService) Concat(ctx context.Context, a, b string) (v string, err error) {
	ctx, done := s.obs.Start(ctx, "Concat")
	defer done(&err)
	return s.next.Concat(ctx, a, b)
}
