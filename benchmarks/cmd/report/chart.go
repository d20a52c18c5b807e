package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	colorObskitFaster = color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff}
	colorPeerFaster   = color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}
	colorTie          = color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
)

// ratioPoints are the pairs drawn in one colour.
type ratioPoints struct {
	plotter.XYs
	plotter.XErrors
}

// WriteChart draws every pair's ratio (baselines left out) as a point with its range on a log
// scale, one line per pair from the top down in report order, with a line
// at 1×, and writes it as SVG.
func WriteChart(w io.Writer, s *Summary) error {
	p, n, err := ratioPlot(s)
	if err != nil {
		return err
	}
	wt, err := p.WriterTo(10*vg.Inch, chartHeight(n), "svg")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// chartHeight is the height of a chart of n pairs.
func chartHeight(n int) vg.Length { return vg.Length(n)*vg.Points(11) + 1.5*vg.Inch }

// ratioPlot makes the chart of s's pairs, baselines left out, and
// returns it with the number of pairs drawn.
func ratioPlot(s *Summary) (*plot.Plot, int, error) {
	p := plot.New()
	p.Title.Text = "obskit ÷ peer, median time per op (left of 1×: obskit faster)"
	p.X.Label.Text = "obskit ÷ peer"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ratioTicks{}
	p.Y.Tick.Label.Font.Size = vg.Points(7)

	var pairs []*Pair
	for _, pr := range s.Pairs {
		if !pr.Peer.Baseline() {
			pairs = append(pairs, pr)
		}
	}
	n := len(pairs)
	groups := map[color.Color]*ratioPoints{}
	lo, hi := 1.0, 1.0
	var ticks plot.ConstantTicks
	for i, pr := range pairs {
		y := float64(n - i)
		ticks = append(ticks, plot.Tick{Value: y, Label: fmt.Sprintf("%s · %s", s.title(pr.Scenario), pr.Peer.Library)})
		c := colorTie
		switch {
		case pr.Significant() && pr.Ratio < 1:
			c = colorObskitFaster
		case pr.Significant():
			c = colorPeerFaster
		}
		g := groups[c]
		if g == nil {
			g = &ratioPoints{}
			groups[c] = g
		}
		// The range is drawn where it is finite and positive; a log scale
		// has no room for the rest.
		low, high := pr.Lo, pr.Hi
		if !(low > 0) || math.IsInf(low, 0) || low > pr.Ratio {
			low = pr.Ratio
		}
		if math.IsInf(high, 0) || math.IsNaN(high) || high < pr.Ratio {
			high = pr.Ratio
		}
		g.XYs = append(g.XYs, plotter.XY{X: pr.Ratio, Y: y})
		g.XErrors = append(g.XErrors, struct{ Low, High float64 }{pr.Ratio - low, high - pr.Ratio})
		lo, hi = math.Min(lo, low), math.Max(hi, high)
	}
	p.Y.Tick.Marker = ticks
	p.Y.Min, p.Y.Max = 0, float64(n+1)
	p.X.Min, p.X.Max = lo/1.5, hi*1.5

	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: 0}, {X: 1, Y: float64(n + 1)}})
	if err != nil {
		return nil, 0, err
	}
	one.LineStyle.Width = vg.Points(1)
	one.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	p.Add(one)
	for _, c := range []color.Color{colorObskitFaster, colorPeerFaster, colorTie} {
		g := groups[c]
		if g == nil {
			continue
		}
		bars, err := plotter.NewXErrorBars(g)
		if err != nil {
			return nil, 0, err
		}
		bars.LineStyle.Color = c
		bars.CapWidth = vg.Points(3)
		pts, err := plotter.NewScatter(g.XYs)
		if err != nil {
			return nil, 0, err
		}
		pts.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		p.Add(bars, pts)
	}
	return p, n, nil
}

// ratioTicks marks a log axis at 1-2-5 steps, labelled as ratios.
type ratioTicks struct{}

func (ratioTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64) + "×"})
		}
	}
	return ticks
}
