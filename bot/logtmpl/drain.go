package logtmpl

import (
	"strconv"
	"strings"
)

// Config tunes the miner; Default works across log sources.
type Config struct {
	Depth       int     // prefix tokens used to descend the tree
	Similarity  float64 // minimum share of equal tokens to join a cluster
	MaxChildren int     // children per tree node before new keys share a wildcard branch
	Split       string  // extra token separators besides white space
	WildSim     bool    // a template wildcard counts as a match
	// MergeLengths joins templates of different token counts whose constant
	// words agree at least this much (LCS ratio); 0 disables.
	MergeLengths float64
	// WordVariants: distinct words at one position before it becomes a
	// variable; 0 lets words vary freely (classic Drain).
	WordVariants int
}

// Default is the one configuration used for every log source.
var Default = Config{Depth: 2, Similarity: 0.6, MaxChildren: 100, Split: "=", WildSim: true, MergeLengths: 0.85, WordVariants: 4}

// Cluster is a template and how many lines matched it.
//
// Its ID is given when it is created and kept for good: the template's
// text generalizes as lines arrive (a token becomes <*>), the id does not.
// When two clusters turn out to be one template, the group keeps the
// older id and the merge is recorded (Merges), so an id handed out
// earlier still resolves.
type Cluster struct {
	ID       string
	Template []string
	Count    int
	words    []string
	parent   *Cluster
	seq      int      // creation order: the older identity wins a merge
	known    bool     // restored from a saved state: seen before
	path     []string // the tree keys leading to its leaf (saved with it)
	live     bool     // in a leaf (false once folded into another cluster)
	last     int      // the epoch in which it last matched a line
	text     string   // String's cache ("" when stale: the template changed)
}

// Merge records that the template group From is now Into.
type Merge struct {
	From string `json:"from"`
	Into string `json:"into"`
}

// String joins the template's tokens (cached until the template changes:
// callers ask once per line).
func (c *Cluster) String() string {
	if c.text == "" && len(c.Template) > 0 {
		c.text = strings.Join(c.Template, " ")
	}
	return c.text
}

type node struct {
	children map[string]*node
	clusters []*Cluster
}

// Miner mines templates from a stream of lines. Not safe for concurrent use.
type Miner struct {
	cfg      Config
	byLen    []*node // tree roots by token count
	clusters []*Cluster
	ids      map[string]*Cluster // every id given out (so none is given twice)
	seq      int
	epoch    int
	merges   []Merge
	aliases  map[string]string     // ids merged away in earlier runs → their group's id then
	byWord   map[string][]*Cluster // first constant word → clusters
	buf      []byte
	toks     []string
	fields   []field
	intern   map[string]string
	split    [256]bool
	empty    *Cluster
}

// mask masks a token, interning digit-run shapes so repeated shapes do not
// allocate.
func (m *Miner) mask(t string) (string, bool) {
	special := false
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c >= '0' && c <= '9') || c == '.' || c == ':' {
			special = true
			break
		}
	}
	if !special && (len(t) < 3 || len(t) > 9 || t[0] < 'A' || t[0] > 'Z' || !dateWords[t]) {
		return t, false
	}
	out, shape, ok := maskShape(t, m.buf[:0])
	if shape == nil {
		return out, ok
	}
	m.buf = shape[:0]
	if s, hit := m.intern[string(shape)]; hit {
		return s, true
	}
	out = string(shape)
	if len(m.intern) < 100000 {
		m.intern[out] = out
	}
	return out, true
}

var punct [256]bool

func init() {
	for _, c := range "()[]{}<>,;:'\"" {
		punct[c] = true
	}
}

func trimPunct(t string) string {
	for len(t) > 0 && punct[t[0]] {
		t = t[1:]
	}
	for len(t) > 0 && punct[t[len(t)-1]] {
		t = t[:len(t)-1]
	}
	return t
}

// NewMiner returns a miner.
func NewMiner(cfg Config) *Miner {
	if cfg.Depth <= 0 {
		cfg = Default
	}
	m := &Miner{cfg: cfg, byWord: map[string][]*Cluster{}, intern: map[string]string{}, ids: map[string]*Cluster{}}
	for i := 0; i < len(cfg.Split); i++ {
		m.split[cfg.Split[i]] = true
	}
	return m
}

// Clusters returns the clusters in creation order.
func (m *Miner) Clusters() []*Cluster { return m.clusters }

// Tokens splits content into masked tokens.
func (m *Miner) Tokens(content string) []string {
	m.toks = m.toks[:0]
	m.tokenize(content, func(raw, masked string) { m.toks = append(m.toks, masked) })
	return m.toks
}

// tokenize calls emit with each token's raw text and its masked form.
func (m *Miner) tokenize(content string, emit func(raw, masked string)) {
	m.fields = fieldsOf(content, m.fields)
	for _, x := range m.fields {
		f := content[x.a:x.b]
		// A whole field that is a variable (address, number, id) stays one
		// token; anything else is cut at the extra separators first.
		core := trimPunct(f)
		if core == "" {
			core = f
		}
		if t, ok := m.mask(core); ok && isVar(t) && strings.IndexByte(t[1:], '<') < 0 {
			emit(core, t)
			continue
		}
		start := 0
		for i := 0; i <= len(f); i++ {
			if i < len(f) && !m.split[f[i]] {
				continue
			}
			if i > start {
				t, _ := m.mask(f[start:i])
				emit(f[start:i], t)
			}
			start = i + 1
		}
	}
}

// Render writes a line against its cluster's template: variable positions
// show their type (and their value goes to vars), constant positions show
// the line's own masked token — so a caller that redacted the line first
// gets a template without the raw values ("[PASSWORD_1]" stays as it is).
func (m *Miner) Render(content string, c *Cluster) (string, []Var) {
	tmpl := c.Root().Template
	var toks []string
	var vars []Var
	i := 0
	aligned := true
	m.tokenize(content, func(raw, masked string) {
		if isPlaceholderToken(raw) {
			masked = raw
		}
		if i >= len(tmpl) {
			aligned = false
		} else if t := tmpl[i]; t == VarAny || t == VarNum || t == VarID || t == VarIP || strings.Contains(t, VarNum) {
			typ := t
			if strings.Contains(t, VarNum) && t != VarNum {
				typ = VarNum
			}
			// The type, not the cluster's token: that token was mined from
			// some raw line and may keep pieces of its value ("Tr<NUM>ub").
			toks = append(toks, typ)
			vars = append(vars, Var{Type: typ, Value: raw})
			i++
			return
		}
		toks = append(toks, masked)
		i++
	})
	if !aligned || i != len(tmpl) {
		return strings.Join(m.Tokens(content), " "), nil
	}
	return strings.Join(toks, " "), vars
}

// isPlaceholderToken: a redaction placeholder such as [IP_ADDRESS_1].
func isPlaceholderToken(t string) bool {
	t = strings.Trim(t, "()<>,;:'\"")
	if len(t) < 5 || t[0] != '[' || t[len(t)-1] != ']' {
		return false
	}
	for i := 1; i < len(t)-1; i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z') && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// Var is one variable field of a line.
type Var struct {
	Type  string `json:"type"`  // <NUM>, <ID>, <IP>, <*>
	Value string `json:"value"` // raw (untrusted) text
}

func isVar(t string) bool { return strings.HasPrefix(t, "<") && strings.Contains(t, ">") }

// isWord: letters only (with inner '-', '_', quotes), a candidate constant.
func isWord(t string) bool {
	w := t
	for len(w) > 0 && strings.IndexByte("'\".!?", w[0]) >= 0 {
		w = w[1:]
	}
	for len(w) > 0 && strings.IndexByte("'\".!?", w[len(w)-1]) >= 0 {
		w = w[:len(w)-1]
	}
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !isAlpha(w[i]) && w[i] != '-' && w[i] != '_' {
			return false
		}
	}
	return true
}

// Add mines one line's content and returns its cluster (Group gives the
// template group it belongs to now).
func (m *Miner) Add(content string) *Cluster {
	toks := m.Tokens(content)
	n := len(toks)
	if n == 0 {
		if m.empty == nil {
			m.empty = m.newCluster(nil)
		}
		m.empty.Count++
		m.empty.last = m.epoch
		return m.empty
	}
	for len(m.byLen) <= n {
		m.byLen = append(m.byLen, nil)
	}
	top := m.byLen[n]
	if top == nil {
		top = &node{children: map[string]*node{}}
		m.byLen[n] = top
	}
	leaf := top
	var path [8]string
	for d := 0; d < m.cfg.Depth && d < n; d++ {
		key := toks[d]
		if isVar(key) || strings.Count(key, ".") >= 2 || strings.Contains(key, "<NUM>") {
			key = VarAny // variables and dotted identifiers do not pick the branch
		}
		next := leaf.children[key]
		if next == nil {
			if len(leaf.children) >= m.cfg.MaxChildren {
				key = VarAny
				next = leaf.children[key]
			}
			if next == nil {
				next = &node{children: map[string]*node{}}
				leaf.children[key] = next
			}
		}
		if d < len(path) {
			path[d] = key
		}
		leaf = next
	}
	var best *Cluster
	bestSim, bestVars := -1.0, -1
	for _, c := range leaf.clusters {
		sim, vars, conflict := m.similarity(c.Template, toks)
		if conflict >= 0 {
			continue
		}
		if sim > bestSim || (sim == bestSim && vars > bestVars) {
			best, bestSim, bestVars = c, sim, vars
		}
	}
	if best != nil && bestSim >= m.cfg.Similarity {
		best.last = m.epoch
		if m.absorb(best, toks) {
			m.consolidate(leaf, best)
		}
		return best
	}
	if c := m.wordVariable(leaf, toks); c != nil {
		c.last = m.epoch
		return c
	}
	c := m.newCluster(toks)
	c.Count = 1
	c.path = append([]string(nil), path[:min(m.cfg.Depth, n, len(path))]...)
	c.words = constantWords(c.Template)
	m.group(c)
	leaf.clusters = append(leaf.clusters, c)
	return c
}

// newCluster makes a live cluster of template toks with a fresh id: the
// hash of its first text, deterministic for the same input.
func (m *Miner) newCluster(toks []string) *Cluster {
	c := &Cluster{Template: append([]string{}, toks...), seq: m.seq, live: true, last: m.epoch}
	m.seq++
	c.parent = c
	base := ID(strings.Join(toks, " "))
	c.ID = base
	for i := 2; m.ids[c.ID] != nil || m.aliases[c.ID] != ""; i++ {
		c.ID = base + "-" + strconv.Itoa(i)
	}
	m.ids[c.ID] = c
	m.clusters = append(m.clusters, c)
	return c
}

// absorb adds a line to c, turning differing positions into wildcards; it
// reports whether a word position became one.
func (m *Miner) absorb(c *Cluster, toks []string) bool {
	word := false
	for i, t := range toks {
		if c.Template[i] != t && c.Template[i] != VarAny {
			if isWord(c.Template[i]) {
				word = true
			}
			c.Template[i] = VarAny
			c.text = ""
		}
	}
	c.Count++
	return word
}

// consolidate folds into rep the clusters of its leaf that its (just
// generalised) template now covers: they were split off only by a word
// that has turned out to be a variable.
func (m *Miner) consolidate(leaf *node, rep *Cluster) {
	if m.cfg.WordVariants <= 0 {
		return
	}
	for i := 0; i < len(leaf.clusters); i++ {
		o := leaf.clusters[i]
		if o == rep {
			continue
		}
		sim, _, conflict := m.similarity(rep.Template, o.Template)
		if conflict >= 0 || sim < m.cfg.Similarity {
			continue
		}
		m.union(rep, o)
		for j, t := range o.Template {
			if rep.Template[j] != t {
				rep.Template[j] = VarAny
				rep.text = ""
			}
		}
		rep.Count += o.Count
		o.Count, o.live = 0, false
		leaf.clusters = append(leaf.clusters[:i], leaf.clusters[i+1:]...)
		i--
	}
}

// wordVariable: a line that differs from some clusters of its leaf only in
// one word makes that word a variable once WordVariants distinct words were
// seen there (user names); fewer stay separate templates (states, names of
// drivers), as people write templates.
func (m *Miner) wordVariable(leaf *node, toks []string) *Cluster {
	if m.cfg.WordVariants <= 0 {
		return nil
	}
	pos := -1
	var sibs []*Cluster
	seen := map[string]bool{}
	for _, c := range leaf.clusters {
		sim, _, conflict := m.similarity(c.Template, toks)
		if conflict < 0 || (pos >= 0 && conflict != pos) || sim < m.cfg.Similarity {
			continue
		}
		if pos < 0 {
			pos = conflict
		}
		// only one differing word position allowed
		if other := m.secondConflict(c.Template, toks, conflict); other {
			continue
		}
		sibs = append(sibs, c)
		seen[c.Template[conflict]] = true
	}
	if pos < 0 || len(sibs) == 0 {
		return nil
	}
	seen[toks[pos]] = true
	if len(seen) < m.cfg.WordVariants {
		return nil
	}
	rep := sibs[0]
	rep.Template[pos] = VarAny
	rep.text = ""
	for _, o := range sibs[1:] {
		m.union(rep, o)
		rep.Count += o.Count
		o.Count, o.live = 0, false
		removeCluster(leaf, o)
	}
	m.absorb(rep, toks)
	m.consolidate(leaf, rep)
	return rep
}

func removeCluster(leaf *node, c *Cluster) {
	for i, x := range leaf.clusters {
		if x == c {
			leaf.clusters = append(leaf.clusters[:i], leaf.clusters[i+1:]...)
			return
		}
	}
}

func (m *Miner) secondConflict(tmpl, toks []string, first int) bool {
	for i, t := range tmpl {
		if i != first && t != VarAny && t != toks[i] && isWord(t) && isWord(toks[i]) {
			return true
		}
	}
	return false
}

// find returns the cluster that represents c's group now.
func (c *Cluster) find() *Cluster {
	for c.parent != c {
		c.parent = c.parent.parent
		c = c.parent
	}
	return c
}

// Root is the cluster that represents c's template group now.
func (c *Cluster) Root() *Cluster { return c.find() }

// Group is the id of the template group c belongs to now (groups merge as
// variables are discovered; the older id stays).
func (c *Cluster) Group() string { return c.find().ID }

// Known reports whether c's group was seen before: restored from a saved
// state (Restore) or marked (MarkKnown), or merged with such a group.
func (c *Cluster) Known() bool { return c.find().known }

// union folds b's group into a's: a, the cluster that stays active, is
// the group's representative, and the group keeps the older of the two
// ids (so ids handed out first stay valid longest).
func (m *Miner) union(a, b *Cluster) {
	ra, rb := a.find(), b.find()
	if ra == rb {
		return
	}
	rb.parent = ra
	if rb.seq < ra.seq {
		ra.ID, rb.ID = rb.ID, ra.ID
		ra.seq, rb.seq = rb.seq, ra.seq
		m.ids[ra.ID], m.ids[rb.ID] = ra, rb
	}
	ra.known = ra.known || rb.known
	m.merged(rb.ID, ra.ID)
}

// merged records a merge (the newest maxMerges are kept for TakeMerges).
func (m *Miner) merged(from, into string) {
	if len(m.merges) >= maxMerges {
		m.merges = append(m.merges[:0], m.merges[len(m.merges)/2:]...)
	}
	m.merges = append(m.merges, Merge{From: from, Into: into})
}

const maxMerges = 10000

// TakeMerges returns the merges since the last call: ids handed out
// before that now stand for another group.
func (m *Miner) TakeMerges() []Merge {
	out := m.merges
	m.merges = nil
	return out
}

// group joins a new cluster to a cluster of another length whose constant
// words nearly agree (a variable spanning several tokens), or starts a
// new group.
func (m *Miner) group(c *Cluster) {
	if len(c.words) >= 3 && m.cfg.MergeLengths > 0 {
		for _, o := range m.byWord[c.words[0]] {
			if len(o.Template) == len(c.Template) {
				continue
			}
			l := lcs(c.words, o.words)
			if float64(l) >= m.cfg.MergeLengths*float64(max(len(c.words), len(o.words))) {
				c.parent = o.find() // from its first line on: nobody saw its own id
				return
			}
		}
	}
	if len(c.words) > 0 {
		m.byWord[c.words[0]] = append(m.byWord[c.words[0]], c)
	}
}

// constantWords are the template's tokens made of letters only.
func constantWords(tmpl []string) []string {
	var out []string
	for _, t := range tmpl {
		w := strings.Trim(t, ".,;:()[]{}'\"!?")
		if len(w) < 2 {
			continue
		}
		ok := true
		for i := 0; i < len(w); i++ {
			if !isAlpha(w[i]) && w[i] != '-' && w[i] != '_' {
				ok = false
				break
			}
		}
		if ok && !units[w] {
			out = append(out, w)
		}
	}
	return out
}

// units follow numbers ("10.2 KB", "<1 sec"); they are not template words.
var units = map[string]bool{"B": true, "KB": true, "MB": true, "GB": true, "TB": true, "kB": true, "bytes": false,
	"ms": true, "sec": true, "secs": true, "s": true, "min": true, "mins": true, "us": true, "ns": true}

func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// similarity is the share of positions where the template equals the
// token (a wildcard matches when WildSim); conflict is the first position
// where two different words meet (-1 if none).
func (m *Miner) similarity(tmpl, toks []string) (float64, int, int) {
	same, vars, conflict := 0, 0, -1
	for i, t := range tmpl {
		if t == VarAny {
			vars++
			if m.cfg.WildSim {
				same++
			}
			continue
		}
		if t == toks[i] {
			same++
		} else if conflict < 0 && m.cfg.WordVariants > 0 && isWord(t) && isWord(toks[i]) {
			conflict = i
		}
	}
	return float64(same) / float64(len(tmpl)), vars, conflict
}

// ID returns a stable id for a template text.
func ID(template string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(template); i++ {
		h ^= uint64(template[i])
		h *= 1099511628211
	}
	return strconv.FormatUint(h, 36)
}
