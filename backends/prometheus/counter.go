package prometheus

import (
	"strings"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/obskit/obskit/internal/atomicfloat"
	"github.com/obskit/obskit/metrics"
)

// counters is the collector of a counter family that this package
// registers itself. The Registry already caches one handle per label set,
// so unlike a CounterVec the family keeps no hash map of its children for
// the hot path: each child is handed out once and written at each scrape.
// A child's Add is the whole hot path, the same atomic add of whole
// deltas that client_golang's counters make, without their check for a
// negative delta, which the Registry has already made.
type counters struct {
	desc *prom.Desc

	mu       sync.Mutex
	byValues map[string]*counterChild // for Bind only
	children []*counterChild          // in the order bound
}

func newCounters(name, help string, labels []string, consts prom.Labels) *counters {
	return &counters{
		desc:     prom.NewDesc(name, help, labels, consts),
		byValues: make(map[string]*counterChild),
	}
}

// Describe implements prometheus.Collector.
func (c *counters) Describe(ch chan<- *prom.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *counters) Collect(ch chan<- prom.Metric) {
	c.mu.Lock()
	children := c.children[:len(c.children):len(c.children)]
	c.mu.Unlock()
	for _, k := range children {
		m, err := prom.NewConstMetricWithCreatedTimestamp(c.desc, prom.CounterValue, k.value(), k.created, k.labelValues...)
		if err != nil {
			m = prom.NewInvalidMetric(c.desc, err)
		}
		ch <- m
	}
}

// bind returns the child for labelValues, the same one for the same
// values, so that two Backends sharing a Registerer share its series.
func (c *counters) bind(labelValues []string) *counterChild {
	key := strings.Join(labelValues, "\xff")
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.byValues[key]; ok {
		return k
	}
	k := &counterChild{labelValues: labelValues, created: time.Now()}
	c.byValues[key] = k
	c.children = append(c.children, k)
	return k
}

// counterChild is one counter series. Its value v is the handle that
// Bind hands out, so that Add is one call with nothing in between.
type counterChild struct {
	v           atomicfloat.Counter
	labelValues []string
	created     time.Time
}

var _ metrics.CounterHandle = (*atomicfloat.Counter)(nil)

func (k *counterChild) value() float64 { return k.v.Load() }
