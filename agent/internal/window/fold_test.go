package window

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelectTop checks selectTop against a sort, on groups in random,
// ascending and descending order, with ties, for several k.
func TestSelectTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 51, 52, 1000} {
		for _, order := range []string{"random", "ascending", "descending", "ties"} {
			bytes := make([]int, n)
			for i := range bytes {
				switch order {
				case "random":
					bytes[i] = rng.IntN(1 << 20)
				case "ascending":
					bytes[i] = i
				case "descending":
					bytes[i] = n - i
				case "ties":
					bytes[i] = rng.IntN(3)
				}
			}
			// Largest first, then by index: a total order, as Fold's callers give.
			byBytes := func(a, b int) int { return cmp.Or(cmp.Compare(bytes[b], bytes[a]), cmp.Compare(a, b)) }
			for _, k := range []int{1, 2, 50} {
				if k >= n {
					continue
				}
				m := rng.Perm(n)
				if order != "random" {
					m = make([]int, n)
					for i := range m {
						m[i] = i
					}
				}
				keep, rest := selectTop(slices.Clone(m), k, byBytes)
				sorted := slices.SortedFunc(slices.Values(m), byBytes)
				if !slices.Equal(keep, sorted[:k]) {
					t.Errorf("n %d, %s, k %d: kept %v; want %v", n, order, k, keep, sorted[:k])
				}
				if len(rest) != n-k || rest[0] != sorted[k] {
					t.Errorf("n %d, %s, k %d: %d in the rest, first %d; want %d, first %d", n, order, k, len(rest), rest[0], n-k, sorted[k])
				}
				if got := slices.Sorted(slices.Values(append(slices.Clone(keep), rest...))); !slices.Equal(got, slices.Sorted(slices.Values(m))) {
					t.Errorf("n %d, %s, k %d: kept and rest are not the group", n, order, k)
				}
			}
		}
	}
}

// BenchmarkFold50k folds one group of 50,000 flows to its top 50, as a
// node whose flows all come from one workload (or from no pod: the
// node's own) does at each window's end, by selection (Fold) and by the
// full sort it replaced, in one run.
func BenchmarkFold50k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	bytes := make([]uint64, 50000)
	for i := range bytes {
		bytes[i] = rng.Uint64N(1 << 30)
	}
	byBytes := func(a, c int) int { return cmp.Or(cmp.Compare(bytes[c], bytes[a]), cmp.Compare(a, c)) }
	one := func(int) int { return 0 }
	b.Run("select", func(b *testing.B) {
		for b.Loop() {
			Fold(len(bytes), 50, one, byBytes)
		}
	})
	b.Run("sort", func(b *testing.B) {
		for b.Loop() {
			m := make([]int, len(bytes))
			for i := range m {
				m[i] = i
			}
			slices.SortFunc(m, byBytes)
		}
	})
}
