package console

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// chart is the activity chart, laid out for an inline SVG.
type chart struct {
	Width, Height, Baseline int
	Bars                    []bar
	Max                     int
	Acknowledged, Failed    int
	Summary                 string
	PerDestination          []destTotal
	From, To                time.Time
	Ticks                   []tick
}

type bar struct {
	Start               time.Time
	Acknowledged        int
	Failed              int
	X, AckY, AckH       int
	FailX, FailY, FailH int
	W                   int
}

type tick struct {
	X     int
	Label string
}

type destTotal struct {
	Destination          string
	Acknowledged, Failed int
}

// buildChart lays out n buckets from since: per bucket an acknowledged and a
// failed bar, all destinations together.
func buildChart(buckets []ActivityBucket, since time.Time, step time.Duration, n int) *chart {
	const width, height, top, bottom, left = 720, 180, 10, 24, 8
	c := &chart{Width: width, Height: height, Baseline: height - bottom, From: since, To: since.Add(time.Duration(n) * step)}
	c.Bars = make([]bar, n)
	for i := range c.Bars {
		c.Bars[i].Start = since.Add(time.Duration(i) * step)
	}
	per := map[string]*destTotal{}
	var order []string
	for _, b := range buckets {
		i := int(b.Start.Sub(since) / step)
		if i < 0 || i >= n {
			continue
		}
		c.Bars[i].Acknowledged += b.Acknowledged
		c.Bars[i].Failed += b.Failed
		c.Acknowledged += b.Acknowledged
		c.Failed += b.Failed
		t, ok := per[b.Destination]
		if !ok {
			t = &destTotal{Destination: b.Destination}
			per[b.Destination] = t
			order = append(order, b.Destination)
		}
		t.Acknowledged += b.Acknowledged
		t.Failed += b.Failed
	}
	for _, d := range order {
		c.PerDestination = append(c.PerDestination, *per[d])
	}
	for _, b := range c.Bars {
		c.Max = max(c.Max, b.Acknowledged, b.Failed)
	}
	scale := 1.0
	if c.Max > 0 {
		scale = float64(c.Baseline-top) / float64(c.Max)
	}
	slot := (width - left) / n
	bw := max(1, slot/2-1)
	for i := range c.Bars {
		b := &c.Bars[i]
		b.W = bw
		b.X = left + i*slot
		b.AckH = int(float64(b.Acknowledged)*scale + 0.5)
		b.AckY = c.Baseline - b.AckH
		b.FailX = b.X + bw
		b.FailH = int(float64(b.Failed)*scale + 0.5)
		b.FailY = c.Baseline - b.FailH
		if i%4 == 0 {
			c.Ticks = append(c.Ticks, tick{X: b.X, Label: b.Start.UTC().Format("15:04")})
		}
	}
	c.Summary = fmt.Sprintf("From %s to %s UTC: %d attempts acknowledged and %d failed or rejected; the busiest 15 minutes had %d.",
		c.From.UTC().Format("15:04"), c.To.UTC().Format("15:04"), c.Acknowledged, c.Failed, c.Max)
	return c
}

// prettyXML indents an XML document; anything it cannot read is returned
// as it is.
func prettyXML(raw string) string {
	if strings.TrimSpace(raw) == "" || !strings.HasPrefix(strings.TrimSpace(raw), "<") {
		return raw
	}
	dec := xml.NewDecoder(strings.NewReader(raw))
	var sb strings.Builder
	enc := xml.NewEncoder(&sb)
	enc.Indent("", "  ")
	// RawToken keeps the prefixes as written; folding them into the local
	// name stops the encoder from inventing namespace declarations.
	flat := func(n xml.Name) xml.Name {
		if n.Space != "" {
			return xml.Name{Local: n.Space + ":" + n.Local}
		}
		return n
	}
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return raw
		}
		switch t := tok.(type) {
		case xml.StartElement:
			t.Name = flat(t.Name)
			attrs := make([]xml.Attr, len(t.Attr))
			for i, a := range t.Attr {
				attrs[i] = xml.Attr{Name: flat(a.Name), Value: a.Value}
			}
			t.Attr = attrs
			tok = t
		case xml.EndElement:
			t.Name = flat(t.Name)
			tok = t
		case xml.CharData:
			if strings.TrimSpace(string(t)) == "" {
				continue
			}
		}
		if err := enc.EncodeToken(xml.CopyToken(tok)); err != nil {
			return raw
		}
	}
	if err := enc.Flush(); err != nil {
		return raw
	}
	return sb.String()
}
