package otlp

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// family is one declared instrument as the producer sees it.
type family interface {
	// collect appends the instrument's metric, if it has points to
	// report, to out, and returns out.
	collect(c *collection, out []metricdata.Metrics) []metricdata.Metrics
	// commit forgets the delta values carried since the last delivered
	// export, once the collection that reported them was delivered.
	commit()
}

// collection is what every family needs to know of one collection.
type collection struct {
	now        time.Time
	delta      bool
	deltaStart time.Time // start of the period a delta point covers
}

// temporality returns the temporality of c's sums and histograms.
func (c *collection) temporality() metricdata.Temporality {
	if c.delta {
		return metricdata.DeltaTemporality
	}
	return metricdata.CumulativeTemporality
}

// producer is the sdk/metric Producer that hands a Backend's series to
// the PeriodicReader at each collection. Collections are serialised (the
// reader runs one at a time; the mutex makes sure), so the buffers the
// points are built in are reused from one collection to the next: the
// reader has exported them before it collects again.
type producer struct {
	delta, exponential bool

	mu       sync.Mutex // guards families
	families []family

	collectMu  sync.Mutex // one collection and its commit at a time
	deltaStart time.Time
	lastNow    time.Time
	out        []metricdata.Metrics
	scopes     [1]metricdata.ScopeMetrics
}

func newProducer(delta, exponential bool) *producer {
	return &producer{delta: delta, exponential: exponential, deltaStart: time.Now()}
}

// add registers f and returns it.
func (p *producer) add(f family) family {
	p.mu.Lock()
	p.families = append(p.families, f)
	p.mu.Unlock()
	return f
}

// Produce implements sdk/metric.Producer.
func (p *producer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	p.mu.Lock()
	fams := p.families[:len(p.families):len(p.families)]
	p.mu.Unlock()

	p.collectMu.Lock()
	defer p.collectMu.Unlock()
	c := collection{now: time.Now(), delta: p.delta, deltaStart: p.deltaStart}
	p.lastNow = c.now
	out := p.out[:0]
	for _, f := range fams {
		out = f.collect(&c, out)
	}
	p.out = out
	p.scopes[0] = metricdata.ScopeMetrics{
		Scope:   instrumentation.Scope{Name: ScopeName},
		Metrics: out,
	}
	return p.scopes[:], nil
}

// commit is told whether the last collection was delivered. With delta
// temporality a delivered collection's carried values are forgotten and
// the next period starts; an undelivered one's stay and are reported
// again, with what comes in the meantime.
func (p *producer) commit(delivered bool) {
	if !p.delta || !delivered {
		return
	}
	p.mu.Lock()
	fams := p.families[:len(p.families):len(p.families)]
	p.mu.Unlock()
	p.collectMu.Lock()
	defer p.collectMu.Unlock()
	for _, f := range fams {
		f.commit()
	}
	p.deltaStart = p.lastNow
}

// key joins label values into a map key; no valid UTF-8 string holds
// the byte 0xff.
func key(labelValues []string) string { return strings.Join(labelValues, "\xff") }
