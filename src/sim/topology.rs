//! Network topologies for the simulator: who talks to whom.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// An undirected graph of `n` replicas `0..n`: each replica syncs with its neighbours only.
///
/// Neighbour lists keep the order they were given in (the simulator sends in that order, which
/// fixes the interleaving of messages in a round).
///
/// ```
/// use convergent::sim::Topology;
///
/// let t = Topology::ring(5);
/// assert_eq!(t.len(), 5);
/// assert_eq!(t.neighbours(0), &[1, 4]);
/// assert_eq!(t.edge_count(), 5);
/// assert!(t.is_connected());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Topology {
    adj: Vec<Vec<usize>>,
}

impl Topology {
    /// A topology from undirected edges over `n` nodes (duplicates and self-loops ignored).
    /// `O(n + edges²/n)`.
    ///
    /// # Panics
    ///
    /// If an edge names a node `>= n`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// let t = Topology::from_edges(3, &[(0, 1), (1, 2), (2, 1)]);
    /// assert_eq!(t.neighbours(1), &[0, 2]);
    /// ```
    #[must_use]
    pub fn from_edges(n: usize, edges: &[(usize, usize)]) -> Self {
        let mut t = Topology { adj: vec![Vec::new(); n] };
        for &(a, b) in edges {
            assert!(a < n && b < n, "edge ({a}, {b}) outside 0..{n}");
            t.link(a, b);
        }
        t
    }

    /// A topology from adjacency lists, made symmetric (an edge listed on one side only is
    /// added to the other side's list, at its end). `O(n + edges²/n)`.
    ///
    /// # Panics
    ///
    /// If a list names a node `>= n`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// let t = Topology::from_adjacency(&[vec![1], vec![]]);
    /// assert_eq!(t.neighbours(1), &[0]);
    /// ```
    #[must_use]
    pub fn from_adjacency(lists: &[Vec<usize>]) -> Self {
        let n = lists.len();
        let mut t = Topology { adj: vec![Vec::new(); n] };
        for (a, l) in lists.iter().enumerate() {
            for &b in l {
                assert!(b < n, "neighbour {b} of {a} outside 0..{n}");
                t.link(a, b);
            }
        }
        t
    }

    fn link(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        if !self.adj[a].contains(&b) {
            self.adj[a].push(b);
        }
        if !self.adj[b].contains(&a) {
            self.adj[b].push(a);
        }
    }

    /// `0 - 1 - 2 - ... - (n-1)`. `O(n)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert_eq!(Topology::line(3).neighbours(1), &[0, 2]);
    /// ```
    #[must_use]
    pub fn line(n: usize) -> Self {
        let edges: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
        Self::from_edges(n, &edges)
    }

    /// A line closed into a cycle. `O(n)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert_eq!(Topology::ring(4).neighbours(3), &[2, 0]);
    /// ```
    #[must_use]
    pub fn ring(n: usize) -> Self {
        let mut edges: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
        if n > 2 {
            edges.push((n - 1, 0));
        }
        Self::from_edges(n, &edges)
    }

    /// A complete `arity`-ary tree in breadth-first order (node `i`'s parent is
    /// `(i - 1) / arity`). `O(n)`.
    ///
    /// # Panics
    ///
    /// If `arity` is 0.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// let t = Topology::tree(7, 2);
    /// assert_eq!(t.neighbours(1), &[0, 3, 4]);
    /// ```
    #[must_use]
    pub fn tree(n: usize, arity: usize) -> Self {
        assert!(arity > 0, "a tree needs arity >= 1");
        let edges: Vec<_> = (1..n).map(|i| ((i - 1) / arity, i)).collect();
        Self::from_edges(n, &edges)
    }

    /// Everyone is everyone's neighbour. `O(n²)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert_eq!(Topology::full_mesh(4).edge_count(), 6);
    /// ```
    #[must_use]
    pub fn full_mesh(n: usize) -> Self {
        let mut edges = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                edges.push((a, b));
            }
        }
        Self::from_edges(n, &edges)
    }

    /// The partial mesh of the ICDE 2019 paper: the neighbours of `i` are `i+1, i-1, i+4, i-4`
    /// modulo `n` (4-regular for `n >= 9`). `O(n)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// let t = Topology::partial_mesh(15);
    /// assert_eq!(t.neighbours(0), &[1, 14, 4, 11]);
    /// assert!((0..15).all(|i| t.neighbours(i).len() == 4));
    /// ```
    #[must_use]
    pub fn partial_mesh(n: usize) -> Self {
        // The rule is symmetric (`j = i + k` iff `i = j - k`), so the lists are too.
        let mut t = Topology { adj: vec![Vec::new(); n] };
        for i in 0..n {
            let mut l = Vec::new();
            for off in [1, n.wrapping_sub(1), 4, n.wrapping_sub(4)] {
                let j = (i + off % n) % n;
                if j != i && !l.contains(&j) {
                    l.push(j);
                }
            }
            t.adj[i] = l;
        }
        t
    }

    /// The 15-node tree (degree at most 3) of the ICDE 2019 experiments.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// let t = Topology::icde_tree();
    /// assert_eq!((t.len(), t.edge_count()), (15, 14));
    /// assert_eq!(t.neighbours(5), &[4, 6, 2]);
    /// ```
    #[must_use]
    pub fn icde_tree() -> Self {
        let lists: [&[usize]; 15] = [
            &[1, 8, 13],
            &[0, 6],
            &[5],
            &[10],
            &[5],
            &[4, 6, 2],
            &[1, 10, 5],
            &[13],
            &[9, 0, 14],
            &[8],
            &[12, 3, 6],
            &[13],
            &[10],
            &[11, 0, 7],
            &[8],
        ];
        Topology { adj: lists.iter().map(|l| l.to_vec()).collect() }
    }

    /// The 15-node partial mesh of the ICDE 2019 experiments: [`partial_mesh(15)`](Self::partial_mesh).
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert_eq!(Topology::icde_mesh(), Topology::partial_mesh(15));
    /// ```
    #[must_use]
    pub fn icde_mesh() -> Self {
        Self::partial_mesh(15)
    }

    /// The number of nodes. `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert_eq!(Topology::line(3).len(), 3);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.adj.len()
    }

    /// Whether there is no node. `O(1)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert!(Topology::line(0).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.adj.is_empty()
    }

    /// The neighbours of `node`, in the order given. `O(1)`.
    ///
    /// # Panics
    ///
    /// If `node >= len()`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert_eq!(Topology::line(2).neighbours(0), &[1]);
    /// ```
    #[must_use]
    pub fn neighbours(&self, node: usize) -> &[usize] {
        &self.adj[node]
    }

    /// The number of undirected edges. `O(n)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert_eq!(Topology::partial_mesh(16).edge_count(), 32);
    /// ```
    #[must_use]
    pub fn edge_count(&self) -> usize {
        self.adj.iter().map(Vec::len).sum::<usize>() / 2
    }

    /// Whether every node reaches every other. `O(n + edges)`.
    ///
    /// ```
    /// # use convergent::sim::Topology;
    /// assert!(!Topology::from_edges(3, &[(0, 1)]).is_connected());
    /// ```
    #[must_use]
    pub fn is_connected(&self) -> bool {
        let n = self.len();
        if n == 0 {
            return true;
        }
        let mut seen = vec![false; n];
        let mut stack = vec![0];
        seen[0] = true;
        let mut count = 1;
        while let Some(a) = stack.pop() {
            for &b in &self.adj[a] {
                if !seen[b] {
                    seen[b] = true;
                    count += 1;
                    stack.push(b);
                }
            }
        }
        count == n
    }
}

/// Adjacency lists: `{0: [1, 8, 13], 1: [0, 6], ...}`.
impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.adj.iter().enumerate()).finish()
    }
}
