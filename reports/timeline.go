package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// px is an SVG coordinate or length. It prints with one decimal and never as NaN or Inf, so the
// template can put it straight into an attribute.
type px float64

// String formats p for an SVG attribute.
func (p px) String() string {
	return strconv.FormatFloat(finite(float64(p)), 'f', 1, 64)
}

// The timeline's fixed geometry, in SVG user units; the SVG scales to the page width.
const (
	tlWidth     = 960
	tlHeight    = 220
	tlPadLeft   = 44
	tlPadRight  = 20
	tlPadTop    = 8
	tlPadBottom = 24
	tlLabelStep = 13 // vertical distance between staggered fault labels
	tlLabelRows = 3  // fault labels cycle through this many rows, in a band above the bars
	tlMaxTicks  = 10
)

// svgTimeline is the view-model of one scenario's timeline: every number the template prints is
// computed here.
type svgTimeline struct {
	Width, Height px
	Left, Top     px // the plot area's top-left corner
	Right, Bottom px // the plot area's bottom-right corner
	BarTop        px // the top of the tallest bar, below the fault labels
	TickEnd       px // where tick marks below the time axis end
	MaxLabel      string
	Ticks         []svgTick
	Bars          []svgBar
	Faults        []svgFault
}

// svgTick is one labelled mark on the time axis.
type svgTick struct {
	X     px
	Label string
}

// svgBar is one bucket's stacked bar with its tooltip.
type svgBar struct {
	Title    string
	Segments []svgRect
}

// svgRect is one segment of a stacked bar; Class is ok, failed or unknown.
type svgRect struct {
	X, Y, W, H px
	Class      string
}

// svgFault is the shaded window of one fault and its label.
type svgFault struct {
	X, Y, W, H     px
	LabelX, LabelY px
	Anchor         string // text-anchor of the label: start, or end near the right edge
	Label, Title   string
}

// timelineScale maps scenario seconds and operation counts onto the plot area.
type timelineScale struct {
	span     float64 // seconds shown; always > 0
	maxCount int     // tallest bar; 0 if there are no operations
	barTop   float64 // y of the tallest bar's top
}

func (s timelineScale) x(t float64) float64 {
	return tlPadLeft + clamp01(finite(t)/s.span)*(tlWidth-tlPadLeft-tlPadRight)
}

func (s timelineScale) h(n int) float64 {
	if s.maxCount <= 0 || n <= 0 {
		return 0
	}
	return float64(n) / float64(s.maxCount) * (tlHeight - tlPadBottom - s.barTop)
}

// labelBand is the height kept free above the bars for fault labels.
func labelBand(faults int) float64 {
	if faults == 0 {
		return 0
	}
	return float64(tlLabelStep*min(faults, tlLabelRows) + 4)
}

func clamp01(x float64) float64 {
	return math.Min(1, math.Max(0, x))
}

// newTimeline lays out a scenario's buckets and faults, or returns nil when there is nothing to draw.
func newTimeline(s Scenario) *svgTimeline {
	if len(s.Timeline) == 0 && len(s.Faults) == 0 {
		return nil
	}
	width := bucketWidth(s.Timeline, s.DurationSeconds)
	sc := timelineScale{span: timeSpan(s, width), maxCount: maxCount(s.Timeline), barTop: tlPadTop + labelBand(len(s.Faults))}
	return &svgTimeline{
		Width: tlWidth, Height: tlHeight,
		Left: tlPadLeft, Top: tlPadTop,
		Right: tlWidth - tlPadRight, Bottom: tlHeight - tlPadBottom,
		BarTop: px(sc.barTop), TickEnd: tlHeight - tlPadBottom + 4,
		MaxLabel: maxLabel(sc.maxCount),
		Ticks:    ticks(sc),
		Bars:     bars(s.Timeline, width, sc),
		Faults:   faultWindows(s.Faults, sc),
	}
}

// bucketWidth is the smallest gap between bucket starts; a lone bucket runs to the scenario's end,
// or one second if that is not after it.
func bucketWidth(buckets []Bucket, duration float64) float64 {
	starts := make([]float64, 0, len(buckets))
	for _, b := range buckets {
		starts = append(starts, finite(b.StartSeconds))
	}
	slices.Sort(starts)
	w := math.Inf(1)
	for i := 1; i < len(starts); i++ {
		if d := starts[i] - starts[i-1]; d > 0 && d < w {
			w = d
		}
	}
	if !math.IsInf(w, 1) {
		return w
	}
	if len(starts) > 0 && finite(duration) > starts[0] {
		return finite(duration) - starts[0]
	}
	return 1
}

// timeSpan is the seconds the x axis covers: the scenario, every bucket and every fault.
func timeSpan(s Scenario, width float64) float64 {
	span := finite(s.DurationSeconds)
	for _, b := range s.Timeline {
		span = math.Max(span, finite(b.StartSeconds)+width)
	}
	for _, f := range s.Faults {
		span = math.Max(span, math.Max(finite(f.StartSeconds), finite(f.EndSeconds)))
	}
	if span <= 0 {
		return 1
	}
	return span
}

// maxLabel labels the top of the count axis; with no operations there is nothing to label.
func maxLabel(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func maxCount(buckets []Bucket) int {
	m := 0
	for _, b := range buckets {
		m = max(m, bucketTotal(b))
	}
	return m
}

func bucketTotal(b Bucket) int {
	return max(b.OK, 0) + max(b.Failed, 0) + max(b.Unknown, 0)
}

// ticks marks the time axis at a round step, from 0 to the end of the span.
func ticks(sc timelineScale) []svgTick {
	step := niceStep(sc.span / tlMaxTicks)
	var out []svgTick
	for i := 0; i <= tlMaxTicks*2; i++ {
		t := float64(i) * step
		if t > sc.span*(1+1e-9) {
			break
		}
		out = append(out, svgTick{X: px(sc.x(t)), Label: secs(t)})
	}
	return out
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// bars stacks each bucket's outcomes bottom-up: ok, failed, unknown.
func bars(buckets []Bucket, width float64, sc timelineScale) []svgBar {
	out := make([]svgBar, 0, len(buckets))
	for _, b := range buckets {
		x0, x1 := sc.x(b.StartSeconds), sc.x(finite(b.StartSeconds)+width)
		w := math.Max(x1-x0, 0.5)
		if w > 3 {
			w-- // a gap between neighbouring bars
		}
		bar := svgBar{Title: fmt.Sprintf("%s: %d ok, %d failed, %d unknown", secs(b.StartSeconds), b.OK, b.Failed, b.Unknown)}
		y := float64(tlHeight - tlPadBottom)
		for _, seg := range []struct {
			class string
			n     int
		}{{"ok", b.OK}, {"failed", b.Failed}, {"unknown", b.Unknown}} {
			h := sc.h(seg.n)
			if h <= 0 {
				continue
			}
			y -= h
			bar.Segments = append(bar.Segments, svgRect{X: px(x0), Y: px(y), W: px(w), H: px(h), Class: seg.class})
		}
		if len(bar.Segments) > 0 {
			out = append(out, bar)
		}
	}
	return out
}

// faultWindows shades each fault from its start to its end. A fault whose end is before its start
// was still in force when the scenario ended, so it is drawn to the end of the axis.
func faultWindows(faults []Fault, sc timelineScale) []svgFault {
	out := make([]svgFault, 0, len(faults))
	for i, f := range faults {
		start, end := finite(f.StartSeconds), finite(f.EndSeconds)
		if end < start {
			end = sc.span
		}
		x0, x1 := sc.x(start), sc.x(end)
		labelX, anchor := x0+3, "start"
		if x0 > tlWidth*3/4 {
			labelX, anchor = math.Max(x1, x0+2)-3, "end"
		}
		out = append(out, svgFault{
			X: px(x0), Y: tlPadTop, W: px(math.Max(x1-x0, 2)), H: tlHeight - tlPadTop - tlPadBottom,
			LabelX: px(labelX), LabelY: px(tlPadTop + tlLabelStep*(1+i%tlLabelRows)), Anchor: anchor,
			Label: faultLabel(f),
			Title: fmt.Sprintf("%s from %s to %s", faultLabel(f), secs(f.StartSeconds), secs(f.EndSeconds)),
		})
	}
	return out
}
