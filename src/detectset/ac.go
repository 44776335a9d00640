package detectset

// automaton is an Aho-Corasick automaton over ASCII literals, case-insensitive for ASCII letters: it finds,
// in one left-to-right pass over a value, every literal that occurs in it. The transition table is dense over
// byte classes (the bytes that occur in some literal, upper and lower case of a letter sharing a class; every
// other byte is class 0), so each input byte costs one table read.
type automaton struct {
	class    [256]uint8
	nclass   int
	delta    []int32 // state*nclass + class -> next state
	outStart []int32 // outputs of state s: outIDs[outStart[s]:outStart[s+1]]
	outIDs   []int32 // literal ids, including those reached through failure links
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// newAutomaton builds the automaton for lits (ASCII, non-empty); literal i reports ids[i].
func newAutomaton(lits []string, ids []int32) *automaton {
	a := &automaton{}
	// Byte classes: one per distinct lower-cased byte of the literals; class 0 is "no literal has it".
	n := 1
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			c := lowerASCII(l[i])
			if a.class[c] == 0 {
				a.class[c] = uint8(n)
				n++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		a.class[c] = a.class[c+'a'-'A']
	}
	a.nclass = n
	// Trie.
	type tnode struct {
		next map[uint8]int32
		out  []int32
	}
	nodes := []tnode{{next: map[uint8]int32{}}}
	for id, l := range lits {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := a.class[l[i]]
			nx, ok := nodes[s].next[c]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, tnode{next: map[uint8]int32{}})
				nodes[s].next[c] = nx
			}
			s = nx
		}
		nodes[s].out = append(nodes[s].out, ids[id])
	}
	// Breadth-first: failure links and the dense table; a state's outputs include its failure state's.
	a.delta = make([]int32, len(nodes)*n)
	fail := make([]int32, len(nodes))
	outs := make([][]int32, len(nodes))
	outs[0] = nodes[0].out
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := 0; c < n; c++ {
			nx, ok := nodes[s].next[uint8(c)]
			if !ok {
				if s == 0 {
					a.delta[c] = 0
				} else {
					a.delta[int(s)*n+c] = a.delta[int(fail[s])*n+c]
				}
				continue
			}
			if s != 0 {
				fail[nx] = a.delta[int(fail[s])*n+c]
			}
			a.delta[int(s)*n+c] = nx
			outs[nx] = append(append([]int32(nil), nodes[nx].out...), outs[fail[nx]]...)
			queue = append(queue, nx)
		}
	}
	a.outStart = make([]int32, len(nodes)+1)
	for s := range nodes {
		a.outStart[s] = int32(len(a.outIDs))
		a.outIDs = append(a.outIDs, outs[s]...)
	}
	a.outStart[len(nodes)] = int32(len(a.outIDs))
	return a
}

// run marks in hits (stamp == seq) every literal occurring in v, which must be ASCII, and appends the ids
// newly marked to list.
func (a *automaton) run(v []byte, hits []uint32, seq uint32, list []int32) []int32 {
	s := int32(0)
	n := int32(a.nclass)
	for _, c := range v {
		s = a.delta[s*n+int32(a.class[c])]
		if lo, hi := a.outStart[s], a.outStart[s+1]; lo < hi {
			for _, id := range a.outIDs[lo:hi] {
				if hits[id] != seq {
					hits[id] = seq
					list = append(list, id)
				}
			}
		}
	}
	return list
}
