package source

import (
	"cmp"
	"encoding/binary"
	"maps"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// Duplicate is a file, or part of one, whose records Read counted once
// because another file holds them too: a second name of the same file (a
// link), or a copy of an agent's windows (x.jsonl.gz beside x.jsonl, a
// store copied into itself).
type Duplicate struct {
	File    string // the file whose records were left out
	Of      string // the file counted instead
	Records int64  // records of File left out
	Link    bool   // File is Of under another name
}

// Overlap is two files that hold records of one agent (cluster and node)
// for more than one same window, but not the same records: a partial copy
// (a file gzipped while the agent still wrote to it), or two agents on one
// node at once. Read counts both; the caller says what to do.
type Overlap struct {
	File, Other   string
	Cluster, Node string
	Start, End    time.Time // the windows both hold
}

// How copies are found. An agent writes each window's records whole, into
// one file, and two runs of one node's agent share at most one window: the
// one a restart splits. So what one file holds of an agent (its cluster,
// node, region and window length) is a range of windows, and two files
// whose ranges meet in more than that one window hold copies, or the
// records of two agents at once. Each file's range is known, with
// fingerprints of its first window, its last and all its records, after
// one read, in memory that grows with files times agents, not records:
//   - the same range and fingerprint in two files: one is a copy, counted once;
//   - one window in common: its records are a copy if the fingerprints of
//     that window agree (counted once), else the two runs' halves of it;
//   - more in common, different records: an Overlap, counted twice.
// Leaving copies out takes a second read, which only a store holding some
// pays for.

// print is a fingerprint of lines: their number, length and a sum of
// hashes of their ends, where the byte and packet counts are. Sums make it
// add up over blocks read in any order.
type print struct{ lines, length, hash uint64 }

func (p *print) add(q print) {
	p.lines += q.lines
	p.length += q.length
	p.hash += q.hash
}

// linePrint fingerprints one line by its last 32 bytes.
func linePrint(l []byte) print {
	t := l
	if len(l) < 32 {
		var pad [32]byte
		copy(pad[32-len(l):], l)
		t = pad[:]
	}
	t = t[len(t)-32:]
	h1, l1 := bits.Mul64(binary.LittleEndian.Uint64(t)^0x9e3779b97f4a7c15,
		binary.LittleEndian.Uint64(t[8:])^0xc2b2ae3d27d4eb4f)
	h2, l2 := bits.Mul64(binary.LittleEndian.Uint64(t[16:])^0x165667b19e3779f9,
		binary.LittleEndian.Uint64(t[24:])^0xd6e8feb86659fd93)
	return print{lines: 1, length: uint64(len(l)), hash: (h1 ^ l1) + bits.RotateLeft64(h2^l2, 31)}
}

// agent names the records of one agent.
type agent struct {
	cluster, node, region string
	windowS               int64
}

// fileAgent is what one file holds of one agent's records: the windows
// from first to last (ts, Unix nanoseconds) and fingerprints of the first
// window, the last and all.
type fileAgent struct {
	file            int
	agent           agent
	first, last     int64
	head, tail, all print
}

// add adds the fingerprint of lines of window ts.
func (s *fileAgent) add(ts int64, p print) {
	if s.all.lines == 0 {
		s.first, s.last = ts, ts
	}
	switch {
	case ts < s.first:
		s.first, s.head = ts, p
	case ts == s.first:
		s.head.add(p)
	}
	switch {
	case ts > s.last:
		s.last, s.tail = ts, p
	case ts == s.last:
		s.tail.add(p)
	}
	s.all.add(p)
}

func (s *fileAgent) merge(o *fileAgent) {
	if s.all.lines == 0 {
		*s = *o
		return
	}
	switch {
	case o.first < s.first:
		s.first, s.head = o.first, o.head
	case o.first == s.first:
		s.head.add(o.head)
	}
	switch {
	case o.last > s.last:
		s.last, s.tail = o.last, o.tail
	case o.last == s.last:
		s.tail.add(o.tail)
	}
	s.all.add(o.all)
}

type fileAgentKey struct {
	file int
	agent
}

// tally collects one worker's fileAgents.
type tally struct {
	m map[fileAgentKey]*fileAgent
	// cache holds the fileAgents last used, by a hash of the node: a file
	// of many agents' records mixes a few at a time, and a map look-up for
	// each line would cost a tenth of the read.
	cache [2048]*fileAgent
	// The run of lines of one agent's window in hand, added to its
	// fileAgent when it ends.
	cur   *fileAgent
	curTS int64
	run   print
}

// nodeSlot is the cache slot of a node: a hash of its first, middle and
// last eight bytes, where names such as ip-10-16-100-10.ec2.internal differ.
func nodeSlot(node string) int {
	n := len(node)
	if n < 8 {
		return n
	}
	h := le64(node) ^ bits.RotateLeft64(le64(node[n/2-4:]), 21) ^ bits.RotateLeft64(le64(node[n-8:]), 42)
	return int((h * 0x9e3779b97f4a7c15) >> 53)
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// add tallies a line of file, r decoded from it with ts, r.TS in Unix
// nanoseconds. same says that the line began with the previous line's
// leading fields (flows.Decoder.SameHead): the same agent and window.
// Call end after a line not tallied, at the end of a block and before
// merging.
func (t *tally) add(file int, r *flows.Record, ts int64, line []byte, same bool) {
	p := linePrint(line)
	if same && t.cur != nil {
		t.run.add(p)
		return
	}
	t.end()
	slot := nodeSlot(r.Node)
	s := t.cache[slot]
	if s == nil || s.file != file || s.agent.node != r.Node || s.agent.cluster != r.Cluster ||
		s.agent.region != r.Region || s.agent.windowS != r.WindowS {
		k := fileAgentKey{file, agent{r.Cluster, r.Node, r.Region, r.WindowS}}
		if s = t.m[k]; s == nil {
			// The record's strings may alias the read buffer.
			k.cluster, k.node, k.region = strings.Clone(k.cluster), strings.Clone(k.node), strings.Clone(k.region)
			s = &fileAgent{file: file, agent: k.agent}
			if t.m == nil {
				t.m = map[fileAgentKey]*fileAgent{}
			}
			t.m[k] = s
		}
		t.cache[slot] = s
	}
	t.cur, t.curTS, t.run = s, ts, p
}

// end adds the run in hand to its fileAgent.
func (t *tally) end() {
	if t.cur != nil {
		t.cur.add(t.curTS, t.run)
		t.cur = nil
	}
}

func (t *tally) merge(o *tally) {
	o.end()
	for k, s := range o.m {
		if mine := t.m[k]; mine != nil {
			mine.merge(s)
		} else {
			if t.m == nil {
				t.m = map[fileAgentKey]*fileAgent{}
			}
			t.m[k] = s
		}
	}
}

// window is a range of windows [from, to] by ts, Unix nanoseconds.
type window struct{ from, to int64 }

// plan is what a second read leaves out: whole files, or some agents'
// windows in others.
type plan struct {
	skip    []bool
	windows []map[agent]window // by file; nil: nothing left out
}

// leaves reports whether the plan leaves r, read from file, out.
func (p *plan) leaves(file int, r *flows.Record) bool {
	if p == nil || p.windows[file] == nil {
		return false
	}
	w, ok := p.windows[file][agent{r.Cluster, r.Node, r.Region, r.WindowS}]
	ts := r.TS.UnixNano()
	return ok && ts >= w.from && ts <= w.to
}

// decide finds the copies among what the files hold of each agent (see
// above): the plan to leave them out (nil if there are none), what it
// leaves out, and the overlaps it cannot settle.
func decide(files []string, t *tally) (*plan, []Duplicate, []Overlap) {
	byAgent := map[agent][]*fileAgent{}
	agents := make([]int, len(files)) // by file
	for _, s := range t.m {
		byAgent[s.agent] = append(byAgent[s.agent], s)
		agents[s.file]++
	}
	p := &plan{skip: make([]bool, len(files)), windows: make([]map[agent]window, len(files))}
	dups := map[[2]int]int64{} // [file, of] -> records
	var overlaps []Overlap
	whole := make([]int, len(files)) // agents left out whole, by file
	for _, a := range slices.SortedFunc(maps.Keys(byAgent), func(a, b agent) int {
		return cmp.Or(strings.Compare(a.cluster, b.cluster), strings.Compare(a.node, b.node),
			strings.Compare(a.region, b.region), cmp.Compare(a.windowS, b.windowS))
	}) {
		ss := byAgent[a]
		if len(ss) < 2 {
			continue
		}
		// Of two copies, the first is counted: the one of a file that holds
		// fewer agents (an agent's own file holds one, a concatenation
		// many), then the one less deep (agents write to the top of a
		// store; copies go in folders), then a plain file (faster to read).
		depth := func(s *fileAgent) int { return strings.Count(files[s.file], string(filepath.Separator)) }
		gz := func(s *fileAgent) int {
			if strings.HasSuffix(files[s.file], ".gz") {
				return 1
			}
			return 0
		}
		slices.SortFunc(ss, func(x, y *fileAgent) int {
			return cmp.Or(cmp.Compare(x.first, y.first), cmp.Compare(x.last, y.last),
				cmp.Compare(agents[x.file], agents[y.file]), cmp.Compare(depth(x), depth(y)), cmp.Compare(gz(x), gz(y)),
				cmp.Compare(x.file, y.file))
		})
		leave := func(s, of *fileAgent, w window, n uint64) {
			if p.windows[s.file] == nil {
				p.windows[s.file] = map[agent]window{}
			}
			if old, ok := p.windows[s.file][a]; ok {
				w = window{min(w.from, old.from), max(w.to, old.to)}
			}
			p.windows[s.file][a] = w
			dups[[2]int{s.file, of.file}] += int64(n)
		}
		var kept []*fileAgent
	next:
		for _, s := range ss {
			for _, k := range kept {
				switch {
				case k.last < s.first:
				case k.last == s.first: // one window in common
					if k.tail == s.head {
						leave(s, k, window{s.first, s.first}, s.head.lines)
						if s.first == s.last {
							whole[s.file]++
							continue next
						}
					}
				case k.first == s.first && k.last == s.last && k.all == s.all:
					leave(s, k, window{s.first, s.last}, s.all.lines)
					whole[s.file]++
					continue next
				case a.node != "": // records without a node are not an agent's
					f, o := files[k.file], files[s.file]
					if o < f {
						f, o = o, f
					}
					end := time.Duration(a.windowS) * time.Second
					overlaps = append(overlaps, Overlap{File: f, Other: o, Cluster: a.cluster, Node: a.node,
						Start: time.Unix(0, s.first).UTC(), End: time.Unix(0, min(k.last, s.last)).UTC().Add(end)})
				}
			}
			kept = append(kept, s)
		}
	}
	if len(dups) == 0 {
		return nil, nil, overlaps
	}
	for f := range files {
		if agents[f] > 0 && whole[f] == agents[f] {
			p.skip[f], p.windows[f] = true, nil
		}
	}
	out := make([]Duplicate, 0, len(dups))
	for k, n := range dups {
		out = append(out, Duplicate{File: files[k[0]], Of: files[k[1]], Records: n})
	}
	slices.SortFunc(out, func(a, b Duplicate) int {
		return cmp.Or(strings.Compare(a.File, b.File), strings.Compare(a.Of, b.Of))
	})
	return p, out, overlaps
}

// sameFiles drops the files that another name in files already reaches
// (hard links, links to files), keeping the first name, and returns them
// as Duplicates of it. Files that cannot be stated are kept, for the open
// to report.
func sameFiles(files []string) ([]string, []Duplicate) {
	type sizeTime struct {
		size int64
		mod  time.Time
	}
	seen := map[sizeTime][]int{} // candidates share size and time; os.SameFile decides
	stats := make([]os.FileInfo, len(files))
	var kept []string
	var links []Duplicate
next:
	for i, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			kept = append(kept, f)
			continue
		}
		stats[i] = st
		k := sizeTime{st.Size(), st.ModTime()}
		for _, j := range seen[k] {
			if os.SameFile(st, stats[j]) {
				links = append(links, Duplicate{File: f, Of: files[j], Link: true})
				continue next
			}
		}
		seen[k] = append(seen[k], i)
		kept = append(kept, f)
	}
	return kept, links
}
