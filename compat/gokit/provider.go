package gokit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/discard"

	"github.com/obskit/obskit/metrics"
)

// DefaultStopTimeout bounds ProviderOptions.Closer's Close in Stop when
// ProviderOptions.Timeout is zero.
const DefaultStopTimeout = 5 * time.Second

// ProviderOptions configures a Provider. The zero value is usable: every
// instrument is declared with no labels, its Go kit name as help, and
// histograms with metrics.DefaultBuckets.
type ProviderOptions struct {
	// Instruments declares what Go kit's Provider interface cannot say,
	// keyed by the name the Go kit code passes to NewCounter, NewGauge or
	// NewHistogram: help, unit, label names and histogram buckets. An
	// entry's Name, when set, is the obskit name to declare instead (for
	// example "request.duration" with Unit metrics.UnitSeconds for Go
	// kit's "request_duration_seconds"); empty means the Go kit name. An
	// empty Help means the Go kit name, as Go kit's Prometheus provider
	// does. Names not listed are declared with no labels.
	Instruments map[string]metrics.Opts
	// ErrorHandler receives every error of the Provider: a declaration
	// the Registry rejected, and Closer's error in Stop. Nil means the
	// errors are only kept for Err.
	ErrorHandler func(error)
	// Closer, when set, is closed by Stop: pass a push backend so that
	// Go kit's Provider.Stop delivers everything recorded.
	Closer interface{ Close(context.Context) error }
	// Timeout bounds Closer's Close in Stop; zero means
	// DefaultStopTimeout.
	Timeout time.Duration
}

// Provider is a Go kit provider.Provider over an obskit Registry. It is
// safe for concurrent use.
//
// Go kit names instruments without declaring labels; obskit declares
// each instrument once with its label names (ProviderOptions.Instruments).
// A label the Go kit code sets with With that was not declared is dropped
// and counted in the Registry's Stats().UndeclaredLabels, where Go kit's
// Prometheus provider would panic. Asking twice for the same name and
// kind returns the same instrument.
//
// Go kit's name becomes obskit's name with every byte other than an ASCII
// letter, digit, '_' or '.' turned into '_' ("request-count" becomes
// "request_count"). A name that is still invalid, or a declaration the
// Registry or its backend rejects (another kind under the same name, a
// name that collides in the backend), is reported to
// ProviderOptions.ErrorHandler and by Err, and the instrument returned
// records nothing: a Provider never panics.
type Provider struct {
	reg     *metrics.Registry
	opts    map[string]metrics.Opts
	onError func(error)
	closer  interface{ Close(context.Context) error }
	timeout time.Duration

	mu   sync.Mutex
	errs []error // the first maxKeptErrors
	more int     // errors past those
	stop sync.Once
}

// NewProvider returns a Provider that declares Go kit's instruments on
// reg. It returns an error wrapping metrics.ErrInvalidOption when reg is
// nil, Timeout is negative or an Instruments key is empty.
func NewProvider(reg *metrics.Registry, o ProviderOptions) (*Provider, error) {
	if reg == nil {
		return nil, fmt.Errorf("gokit: %w: nil *metrics.Registry", metrics.ErrInvalidOption)
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("gokit: %w: Timeout %v, want ≥ 0", metrics.ErrInvalidOption, o.Timeout)
	}
	p := &Provider{
		reg:     reg,
		opts:    make(map[string]metrics.Opts, len(o.Instruments)),
		onError: o.ErrorHandler,
		closer:  o.Closer,
		timeout: o.Timeout,
	}
	if p.timeout == 0 {
		p.timeout = DefaultStopTimeout
	}
	for name, opts := range o.Instruments {
		if name == "" {
			return nil, fmt.Errorf("gokit: %w: Instruments has an empty name", metrics.ErrInvalidOption)
		}
		p.opts[name] = opts
	}
	return p, nil
}

// NewCounter implements Go kit's provider.Provider.
func (p *Provider) NewCounter(name string) kitmetrics.Counter {
	c, err := p.reg.NewCounter(p.declaration(name))
	if err != nil {
		p.report(err)
		return discard.NewCounter()
	}
	return ToKitCounter(c)
}

// NewGauge implements Go kit's provider.Provider.
func (p *Provider) NewGauge(name string) kitmetrics.Gauge {
	g, err := p.reg.NewGauge(p.declaration(name))
	if err != nil {
		p.report(err)
		return discard.NewGauge()
	}
	return ToKitGauge(g)
}

// NewHistogram implements Go kit's provider.Provider. The number of
// buckets is ignored, as Go kit's Prometheus provider ignores it: the
// bucket bounds are ProviderOptions.Instruments' Buckets, else
// metrics.DefaultBuckets (seconds). Backends that report quantiles
// (expvar, statsd, …) compute them from all observations whatever the
// buckets.
func (p *Provider) NewHistogram(name string, _ int) kitmetrics.Histogram {
	h, err := p.reg.NewHistogram(p.declaration(name))
	if err != nil {
		p.report(err)
		return discard.NewHistogram()
	}
	return ToKitHistogram(h)
}

// Stop implements Go kit's provider.Provider: it closes
// ProviderOptions.Closer, if any, once, within ProviderOptions.Timeout,
// and reports its error. Instruments stay usable; what they record after
// Stop is up to the backend (push backends drop it).
func (p *Provider) Stop() {
	p.stop.Do(func() {
		if p.closer == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		defer cancel()
		if err := p.closer.Close(ctx); err != nil {
			p.report(fmt.Errorf("gokit: stop: %w", err))
		}
	})
}

// maxKeptErrors bounds the errors a Provider keeps for Err, so that code
// asking again and again for a rejected instrument costs bounded memory.
const maxKeptErrors = 16

// Err returns the errors the Provider has met so far, joined, or nil: the
// first 16 of them, and a count of any others.
func (p *Provider) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.more > 0 {
		return errors.Join(append(slices.Clip(p.errs), fmt.Errorf("gokit: %d more errors", p.more))...)
	}
	return errors.Join(p.errs...)
}

func (p *Provider) report(err error) {
	p.mu.Lock()
	if len(p.errs) < maxKeptErrors {
		p.errs = append(p.errs, err)
	} else {
		p.more++
	}
	p.mu.Unlock()
	if p.onError != nil {
		p.onError(err)
	}
}

// declaration returns the obskit declaration of Go kit's name.
func (p *Provider) declaration(name string) metrics.Opts {
	o := p.opts[name]
	if o.Name == "" {
		o.Name = SanitizeName(name)
	}
	if o.Help == "" {
		o.Help = name
	}
	return o
}

// SanitizeName returns Go kit's metric name as the Provider declares it
// in obskit: every byte other than an ASCII letter, digit, '_' or '.'
// becomes '_'. The result may still be invalid (a segment that starts
// with a digit, for example); the Registry then rejects it.
func SanitizeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
}
