package main

import (
	"context"
	"errors"
	"math"
)

// Service adds integers and concatenates strings: Go kit's addsvc.
type Service interface {
	Sum(ctx context.Context, a, b int) (int, error)
	Concat(ctx context.Context, a, b string) (string, error)
}

// The service's business errors. They travel in responses, so the
// instrumenting middleware counts them as business errors.
var (
	ErrTwoZeroes       = errors.New("can't sum two zeroes")
	ErrIntOverflow     = errors.New("integer overflow")
	ErrMaxSizeExceeded = errors.New("result exceeds maximum size")
)

// maxLen bounds the length of a Concat result.
const maxLen = 10

type basicService struct{}

// NewBasicService returns the plain implementation of Service.
func NewBasicService() Service { return basicService{} }

func (basicService) Sum(_ context.Context, a, b int) (int, error) {
	if a == 0 && b == 0 {
		return 0, ErrTwoZeroes
	}
	if (b > 0 && a > math.MaxInt-b) || (b < 0 && a < math.MinInt-b) {
		return 0, ErrIntOverflow
	}
	return a + b, nil
}

func (basicService) Concat(_ context.Context, a, b string) (string, error) {
	if len(a)+len(b) > maxLen {
		return "", ErrMaxSizeExceeded
	}
	return a + b, nil
}
