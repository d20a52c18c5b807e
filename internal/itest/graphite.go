package itest

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// GraphiteSeries is one series of graphite-web's /render?format=json.
type GraphiteSeries struct {
	Target     string            `json:"target"`
	Tags       map[string]string `json:"tags"`
	Datapoints [][2]*float64     `json:"datapoints"`
}

// Points returns the series' non-null values, oldest first.
func (s GraphiteSeries) Points() []float64 {
	var out []float64
	for _, p := range s.Datapoints {
		if p[0] != nil {
			out = append(out, *p[0])
		}
	}
	return out
}

// Sum returns the sum of the series' non-null values.
func (s GraphiteSeries) Sum() float64 {
	var sum float64
	for _, v := range s.Points() {
		sum += v
	}
	return sum
}

// Last returns the series' last non-null value and whether there is one.
func (s GraphiteSeries) Last() (float64, bool) {
	p := s.Points()
	if len(p) == 0 {
		return 0, false
	}
	return p[len(p)-1], true
}

// GraphiteRender asks graphite-web at base for target over the last
// `from` (a Graphite time such as "-10min") as JSON.
func GraphiteRender(base, target, from string) ([]GraphiteSeries, error) {
	q := url.Values{"target": {target}, "from": {from}, "format": {"json"}}
	var out []GraphiteSeries
	if err := GetJSON(&http.Client{Timeout: 10 * time.Second}, base+"/render?"+q.Encode(), &out); err != nil {
		return nil, fmt.Errorf("render %q: %w", target, err)
	}
	return out, nil
}
