package logtmpl

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// State is a miner's templates, saved between runs so that a service's
// templates keep their ids across incidents and a line of an old event is
// recognised as such (Known) even when it comes alone.
type State struct {
	Version  int            `json:"v"`
	Depth    int            `json:"depth"` // the tree depth the paths were made with
	Epoch    int            `json:"epoch"`
	Clusters []SavedCluster `json:"clusters"`
	// Aliases map ids merged away to their group's id, so an id handed out
	// before a merge still resolves.
	Aliases map[string]string `json:"aliases,omitempty"`
}

// SavedCluster is one cluster of a State.
type SavedCluster struct {
	ID       string   `json:"id"`
	Template []string `json:"t"`
	Count    int      `json:"n"`
	Words    []string `json:"w,omitempty"`
	Path     []string `json:"p,omitempty"`
	Root     int      `json:"r"` // index of its group's representative; its own index when it is one
	Seq      int      `json:"s"`
	Last     int      `json:"l"` // epoch of its last line
}

const stateVersion = 1

// ErrState: a saved state that cannot be restored (another version or tree
// depth, or broken links); start afresh.
var ErrState = errors.New("logtmpl: saved state does not fit this miner")

// State returns the miner's live templates, at most max clusters (0: all):
// beyond that, the groups that matched a line least recently (then the
// smallest) are left out, whole.
func (m *Miner) State(max int) State {
	var live []*Cluster
	for _, c := range m.clusters {
		if c.live {
			live = append(live, c)
		}
	}
	if max > 0 && len(live) > max {
		type group struct {
			root  *Cluster
			last  int
			count int
			size  int
		}
		groups := map[*Cluster]*group{}
		for _, c := range live {
			r := c.find()
			g := groups[r]
			if g == nil {
				g = &group{root: r}
				groups[r] = g
			}
			g.last, g.count, g.size = maxInt(g.last, c.last), g.count+c.Count, g.size+1
		}
		order := make([]*group, 0, len(groups))
		for _, g := range groups {
			order = append(order, g)
		}
		slices.SortFunc(order, func(a, b *group) int {
			return cmp.Or(cmp.Compare(b.last, a.last), cmp.Compare(b.count, a.count), cmp.Compare(a.root.seq, b.root.seq))
		})
		keep := map[*Cluster]bool{}
		n := 0
		for _, g := range order {
			if n+g.size > max {
				continue
			}
			keep[g.root] = true
			n += g.size
		}
		kept := live[:0]
		for _, c := range live {
			if keep[c.find()] {
				kept = append(kept, c)
			}
		}
		live = kept
	}
	index := make(map[*Cluster]int, len(live))
	for i, c := range live {
		index[c] = i
	}
	s := State{Version: stateVersion, Depth: m.cfg.Depth, Epoch: m.epoch, Clusters: make([]SavedCluster, len(live))}
	for i, c := range live {
		root, ok := index[c.find()]
		if !ok {
			root = i
		}
		s.Clusters[i] = SavedCluster{ID: c.ID, Template: c.Template, Count: c.Count, Words: c.words, Path: c.path,
			Root: root, Seq: c.seq, Last: c.last}
	}
	// Ids merged away (this run's and earlier ones') resolve to their group.
	s.Aliases = map[string]string{}
	kept := func(c *Cluster) bool { _, ok := index[c.find()]; return ok }
	for id, to := range m.aliases {
		if r, ok := m.ids[to]; ok && kept(r) {
			s.Aliases[id] = r.find().ID
		}
	}
	for _, c := range m.clusters {
		if !c.live && kept(c) {
			s.Aliases[c.ID] = c.find().ID
		}
	}
	for len(s.Aliases) > 4*maxInt(len(live), 1000) { // bounded: the oldest aliases matter least
		for k := range s.Aliases {
			delete(s.Aliases, k)
			break
		}
	}
	return s
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Restore returns a miner holding a saved state's templates, all of them
// Known; the lines it mines next are new unless they match one.
func Restore(cfg Config, s State) (*Miner, error) {
	m := NewMiner(cfg)
	if s.Version != stateVersion || (len(s.Clusters) > 0 && s.Depth != m.cfg.Depth) {
		return nil, fmt.Errorf("%w: version %d, depth %d", ErrState, s.Version, s.Depth)
	}
	m.epoch = s.Epoch + 1
	m.aliases = map[string]string{}
	for k, v := range s.Aliases {
		m.aliases[k] = v
	}
	cs := make([]*Cluster, len(s.Clusters))
	for i, sc := range s.Clusters {
		if sc.ID == "" || len(sc.ID) > 64 {
			return nil, fmt.Errorf("%w: cluster %d has no usable id", ErrState, i)
		}
		if m.ids[sc.ID] != nil {
			return nil, fmt.Errorf("%w: id %s twice", ErrState, sc.ID)
		}
		c := &Cluster{ID: sc.ID, Template: sc.Template, Count: sc.Count, words: sc.Words, path: sc.Path, seq: sc.Seq,
			last: sc.Last, known: true, live: true}
		if c.Template == nil {
			c.Template = []string{}
		}
		c.parent = c
		cs[i] = c
		m.ids[c.ID] = c
		m.seq = maxInt(m.seq, c.seq+1)
	}
	for i, sc := range s.Clusters {
		if sc.Root < 0 || sc.Root >= len(cs) || s.Clusters[sc.Root].Root != sc.Root {
			return nil, fmt.Errorf("%w: cluster %d names a bad group", ErrState, i)
		}
		cs[i].parent = cs[sc.Root]
	}
	for _, c := range cs {
		m.clusters = append(m.clusters, c)
		n := len(c.Template)
		if n == 0 {
			m.empty = c
			continue
		}
		if len(c.path) != min(m.cfg.Depth, n) {
			return nil, fmt.Errorf("%w: cluster %s has a path of %d keys", ErrState, c.ID, len(c.path))
		}
		for len(m.byLen) <= n {
			m.byLen = append(m.byLen, nil)
		}
		if m.byLen[n] == nil {
			m.byLen[n] = &node{children: map[string]*node{}}
		}
		leaf := m.byLen[n]
		for _, key := range c.path {
			next := leaf.children[key]
			if next == nil {
				next = &node{children: map[string]*node{}}
				leaf.children[key] = next
			}
			leaf = next
		}
		leaf.clusters = append(leaf.clusters, c)
		if c.parent == c && len(c.words) > 0 {
			m.byWord[c.words[0]] = append(m.byWord[c.words[0]], c)
		}
	}
	return m, nil
}

// MarkKnown marks every template mined so far as known: the lines mined
// next are new unless they match one (as after Restore).
func (m *Miner) MarkKnown() {
	for _, c := range m.clusters {
		c.known = true
	}
	m.epoch++
}

// Resolve maps an id handed out earlier to its group's id now.
func (m *Miner) Resolve(id string) string {
	for range 8 { // aliases chain across runs; bounded
		if c, ok := m.ids[id]; ok {
			return c.find().ID
		}
		to, ok := m.aliases[id]
		if !ok {
			return id
		}
		id = to
	}
	return id
}
