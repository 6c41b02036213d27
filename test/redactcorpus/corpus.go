package redactcorpus

import (
	"math/rand/v2"
	"sort"
)

// Line is one generated log line.
type Line struct {
	Text    string
	Shape   string   // the shape's name; "clean" for lines with nothing to mask
	Planted []string // values that must not survive redaction
}

// Incident is a run of lines sharing one pool of values (one redaction
// session).
type Incident struct{ Lines []Line }

// Shapes lists the shape names, sorted.
func Shapes() []string {
	var out []string
	for _, s := range shapes {
		out = append(out, s.name)
	}
	sort.Strings(out)
	return out
}

// Generate makes n incidents of perIncident lines from split's templates
// and value pools; the same seed gives the same corpus. About one line in
// four is clean.
func Generate(split Split, n, perIncident int, seed uint64) []Incident {
	r := rand.New(rand.NewPCG(seed, uint64(split)+1))
	clean := cleanTune
	if split == Holdout {
		clean = cleanHoldout
	}
	out := make([]Incident, n)
	for i := range out {
		v := newValues(r, split)
		for len(out[i].Lines) < perIncident {
			if r.IntN(4) == 0 {
				out[i].Lines = append(out[i].Lines, Line{Text: pick(r, clean)(v), Shape: "clean"})
				continue
			}
			s := shapes[r.IntN(len(shapes))]
			ts := s.tune
			if split == Holdout {
				ts = s.holdout
			}
			text, planted := pick(r, ts)(v)
			out[i].Lines = append(out[i].Lines, Line{Text: text, Shape: s.name, Planted: planted})
		}
	}
	return out
}
