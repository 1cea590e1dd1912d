package models

// identifier is one way to name a person: kind is "phone", "email" or
// "id:<channel>", value is the identifier's keyed hash (the models never see
// raw identifiers).
type identifier struct {
	kind, value string
}

func (a identifier) less(b identifier) bool {
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.value < b.value
}

// unionFind is a disjoint-set forest over identifiers, with union by size
// and path halving.
type unionFind struct {
	index     map[identifier]int32
	nodes     []identifier
	parent    []int32
	size      []int32
	firstSeen []int64 // unix microseconds; the earliest event naming the identifier
}

func newUnionFind(n int) *unionFind {
	return &unionFind{
		index:     make(map[identifier]int32, n),
		nodes:     make([]identifier, 0, n),
		parent:    make([]int32, 0, n),
		size:      make([]int32, 0, n),
		firstSeen: make([]int64, 0, n),
	}
}

// node returns id's node, adding it with firstSeen when new, and keeps the
// earliest firstSeen.
func (u *unionFind) node(id identifier, firstSeen int64) int32 {
	if i, ok := u.index[id]; ok {
		if firstSeen < u.firstSeen[i] {
			u.firstSeen[i] = firstSeen
		}
		return i
	}
	i := int32(len(u.nodes))
	u.index[id] = i
	u.nodes = append(u.nodes, id)
	u.parent = append(u.parent, i)
	u.size = append(u.size, 1)
	u.firstSeen = append(u.firstSeen, firstSeen)
	return i
}

func (u *unionFind) find(i int32) int32 {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

func (u *unionFind) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
}

// representatives returns, for each root, the node that represents its
// component: the identifier seen first, ties broken by kind then value. It
// depends only on the components and the first-seen times, never on the
// order identifiers were added, so a rebuild and an incremental build agree.
func (u *unionFind) representatives() map[int32]int32 {
	rep := make(map[int32]int32)
	for i := range u.nodes {
		n := int32(i)
		r := u.find(n)
		cur, ok := rep[r]
		if !ok || u.before(n, cur) {
			rep[r] = n
		}
	}
	return rep
}

func (u *unionFind) before(a, b int32) bool {
	if u.firstSeen[a] != u.firstSeen[b] {
		return u.firstSeen[a] < u.firstSeen[b]
	}
	return u.nodes[a].less(u.nodes[b])
}
