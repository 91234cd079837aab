//! The per-operation delta-size sweep behind the `delta_sizes` experiment and `tests/delta_sizes.rs`.
//!
//! For every type and operation, over `n` replicas and `m` elements (or keys, or history length),
//! it builds a state the way a deployment would (each of the `n` replicas makes its own updates on
//! its own replica, then the replicas are merged pairwise), applies the operation at replica 0,
//! and measures the delta against the information floor defined in `docs/performance.md` (the
//! information floor).
//!
//! Bytes are `convergent::wire::encoded_len`: postcard (varints, no field names) plus one
//! format-version byte, so every delta and state carries one byte of framing.
//!
//! The floor is the minimal content of the delta, computed from the states (never from the delta
//! itself): the payload bytes the operation writes (element, key, value, timestamp, count) plus,
//! for causal types, the dots it adds or removes ([`dots_floor`]): each replica id written ONCE
//! at `s_id = 16` bytes (a UUID; our encoding writes each id once per value) and each event
//! number as a varint `s_c`. A dot-free type's entry is `s_id + s_c`. Varints are postcard's
//! (7 bits a byte).
//!
//! Shared by `#[path]` so the experiment and the test measure exactly the same thing.

use std::collections::{BTreeMap, HashSet};

use convergent::{
    CausalCounter, Decompose, Dot, EwFlag, GCounter, Lattice, LwwRegister, MvRegister, OrMap, OrSet,
    PnCounter, ReplicaId, Timestamp,
    causal::{Causal, DotStore},
    wire,
};

/// Replica counts of the full report.
pub(crate) const NS: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/// Element or key counts (history lengths for types without elements) of the full report.
pub(crate) const MS: [usize; 7] = [0, 1, 10, 100, 1_000, 10_000, 100_000];

/// Wall time of the first write, in ms (2023-11-14): realistic timestamps are 9-byte varints.
const WALL0: u64 = 1_700_000_000_000;

/// One measured operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The type, as a user names it.
    pub(crate) ty: &'static str,
    /// The operation (and which element or key it touches).
    pub(crate) op: &'static str,
    /// Replicas that contributed to the state.
    pub(crate) n: usize,
    /// Elements or keys in the state (history length for counters, registers and flags).
    pub(crate) m: usize,
    /// Encoded bytes of the delta.
    pub(crate) delta: usize,
    /// Encoded bytes of the state after the operation.
    pub(crate) state: usize,
    /// The information floor of the delta in bytes.
    pub(crate) floor: usize,
    /// Distinct replica ids the floor names (1 for the types without dots).
    pub(crate) replicas: usize,
    /// `Decompose::irreducible_count` of the delta.
    pub(crate) irreducibles: usize,
}

impl Row {
    /// `delta / floor`.
    pub(crate) fn over_floor(&self) -> f64 {
        self.delta as f64 / self.floor as f64
    }

    /// `delta / state`.
    pub(crate) fn over_state(&self) -> f64 {
        self.delta as f64 / self.state as f64
    }
}

/// The replica id of replica `i` (replica 0 performs every measured operation).
pub(crate) fn rid(i: usize) -> ReplicaId {
    ReplicaId::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + i as u128)
}

/// Bytes of `x` as a postcard varint.
pub(crate) fn varint(x: u64) -> usize {
    (64 - x.leading_zeros() as usize).div_ceil(7).max(1)
}

/// Bytes of a value's postcard encoding (no version byte): `s_e`, `s_k`, `s_v`.
pub(crate) fn payload<T: wire::Decode>(v: &T) -> usize {
    wire::encoded_len(v) - 1
}

/// Floor bytes of a set of dots: each distinct replica id once (16 bytes), then each maximal run
/// of consecutive event numbers of that replica by its ends (one varint for a lone dot, two for a
/// run). For at most two dots per replica this is the floor's `s_id + s_c` per dot; a run only
/// matters for removes of many dots (a clear), whose dots are mostly consecutive.
/// Returns the bytes and the number of replicas.
pub(crate) fn dots_floor(dots: impl IntoIterator<Item = Dot>) -> (usize, usize) {
    let mut by_replica: BTreeMap<ReplicaId, Vec<u64>> = BTreeMap::new();
    for d in dots {
        by_replica.entry(d.replica()).or_default().push(d.counter());
    }
    let replicas = by_replica.len();
    let mut bytes = 16 * replicas;
    for mut cs in by_replica.into_values() {
        cs.sort_unstable();
        let mut i = 0;
        while i < cs.len() {
            let mut j = i;
            while j + 1 < cs.len() && cs[j + 1] == cs[j] + 1 {
                j += 1;
            }
            bytes += varint(cs[i]) + if j > i { varint(cs[j]) } else { 0 };
            i = j + 1;
        }
    }
    (bytes, replicas)
}

/// The live dots of a causal state.
fn live<S: DotStore>(c: &Causal<S>) -> HashSet<Dot> {
    let mut out = HashSet::with_capacity(c.store().dot_count());
    c.store().for_each_dot(&mut |d| {
        out.insert(d);
    });
    out
}

/// The dots an operation added or removed: the symmetric difference of the live dots.
fn changed_dots<S: DotStore>(before: &Causal<S>, after: &Causal<S>) -> Vec<Dot> {
    let (b, a) = (live(before), live(after));
    b.symmetric_difference(&a).copied().collect()
}

/// How many updates replica `i` of `n` makes in a history of `m` (round robin, at least one each
/// for the types without elements, so that all `n` replicas are in the state).
fn share(i: usize, n: usize, m: usize) -> usize {
    (m / n + usize::from(i < m % n)).max(1)
}

/// Joins replicas pairwise (a balanced tree of merges, as anti-entropy would).
fn merge_all<T: Lattice>(mut reps: Vec<T>) -> T {
    while reps.len() > 1 {
        let mut next = Vec::with_capacity(reps.len().div_ceil(2));
        let mut it = reps.into_iter();
        while let Some(mut a) = it.next() {
            if let Some(b) = it.next() {
                a.join(b);
            }
            next.push(a);
        }
        reps = next;
    }
    reps.pop().unwrap_or_else(T::bottom)
}

/// Collects rows for one (type, n, m).
struct Out<'a> {
    ty: &'static str,
    n: usize,
    m: usize,
    rows: &'a mut Vec<Row>,
}

impl Out<'_> {
    fn push<T: wire::Decode + Decompose>(
        &mut self,
        op: &'static str,
        delta: &T,
        after: &T,
        (floor, replicas): (usize, usize),
    ) {
        self.rows.push(Row {
            ty: self.ty,
            op,
            n: self.n,
            m: self.m,
            delta: wire::encoded_len(delta),
            state: wire::encoded_len(after),
            floor,
            replicas,
            irreducibles: delta.irreducible_count(),
        });
    }

    /// A causal operation: `f` mutates a clone of `state` and returns the delta and the payload
    /// bytes it must carry; the dots it must carry come from the states.
    fn causal<T, S>(
        &mut self,
        op: &'static str,
        state: &T,
        causal: impl Fn(&T) -> &Causal<S>,
        f: impl FnOnce(&mut T) -> (T, usize),
    ) where
        T: Clone + PartialEq + wire::Decode + Decompose,
        S: DotStore,
    {
        let mut after = state.clone();
        let (delta, payload) = f(&mut after);
        debug_assert!(state.clone().joined(delta.clone()) == after, "{}: {op}: delta law", self.ty);
        let (dots, replicas) = dots_floor(changed_dots(causal(state), causal(&after)));
        self.push(op, &delta, &after, (payload + dots, replicas));
    }
}

/// Measures every operation of one type at one (n, m).
type Measure = fn(&mut Out<'_>);

/// Runs the sweep over `ns` x `ms`. Rows come type by type, then by `n`, then by `m`.
pub(crate) fn sweep(ns: &[usize], ms: &[usize]) -> Vec<Row> {
    let mut rows = Vec::new();
    let kinds: [(&'static str, Measure); 11] = [
        ("GCounter", gcounter),
        ("PnCounter", pncounter),
        ("LwwRegister", lww),
        ("MvRegister", mvreg),
        ("EwFlag", ewflag),
        ("CausalCounter", ccounter),
        ("OrSet", orset),
        ("OrMap<_, GCounter>", map_counter),
        ("OrMap<_, OrSet>", map_set),
        ("OrMap<_, LwwRegister>", map_lww),
        ("OrMap<_, MvRegister>", map_mv),
    ];
    for (ty, f) in kinds {
        for &n in ns {
            for &m in ms {
                f(&mut Out { ty, n, m, rows: &mut rows });
            }
        }
    }
    rows
}

fn gcounter(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    let s = merge_all(
        (0..n)
            .map(|i| {
                let mut c = GCounter::new();
                let _ = c.increment(rid(i), share(i, n, m) as u64);
                c
            })
            .collect(),
    );
    let mut after = s.clone();
    let d = after.increment(rid(0), 1);
    // The entry {replica 0: its new count}.
    let floor = 16 + varint(after.get(rid(0)));
    o.push("inc", &d, &after, (floor, 1));
}

fn pncounter(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    let s = merge_all(
        (0..n)
            .map(|i| {
                let mut c = PnCounter::new();
                let k = share(i, n, m) as u64;
                let _ = c.increment(rid(i), k);
                let _ = c.decrement(rid(i), k / 2);
                c
            })
            .collect(),
    );
    let mut after = s.clone();
    let d = after.increment(rid(0), 1);
    let floor = 16 + varint(after.increments().get(rid(0)));
    o.push("inc", &d, &after, (floor, 1));
    let mut after = s;
    let d = after.decrement(rid(0), 1);
    let floor = 16 + varint(after.decrements().get(rid(0)));
    o.push("dec", &d, &after, (floor, 1));
}

fn lww(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    // m writes (at least one per replica), write j by replica j % n at WALL0 + j ms.
    let total = m.max(n);
    let s = merge_all(
        (0..n)
            .map(|i| {
                let mut r = LwwRegister::new();
                for j in (i..total).step_by(n) {
                    let _ = r.write(rid(i), Timestamp::from_parts(WALL0 + j as u64, 0), j as u64);
                }
                r
            })
            .collect(),
    );
    let mut after = s;
    let (ts, v) = (Timestamp::from_parts(WALL0 + total as u64, 0), total as u64);
    let d = after.write(rid(0), ts, v);
    // The whole register: value, timestamp, writer.
    let floor = payload(&v) + varint(ts.as_u64()) + 16;
    o.push("write", &d, &after, (floor, 1));
}

fn mvreg(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    // Each replica writes its share on its own replica; merged, the n last writes are siblings.
    let s = merge_all(
        (0..n)
            .map(|i| {
                let mut r = MvRegister::new();
                for k in 0..share(i, n, m) {
                    let _ = r.write(rid(i), (k * n + i) as u64);
                }
                r
            })
            .collect(),
    );
    let v = m.max(n) as u64;
    o.causal("write (n siblings)", &s, MvRegister::as_causal, |r| (r.write(rid(0), v), payload(&v)));
    o.causal("clear (n siblings)", &s, MvRegister::as_causal, |r| (r.clear(rid(0)), 0));
}

fn ewflag(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    let s = merge_all(
        (0..n)
            .map(|i| {
                let mut f = EwFlag::new();
                for _ in 0..share(i, n, m) {
                    let _ = f.enable(rid(i));
                }
                f
            })
            .collect(),
    );
    o.causal("enable (n enables)", &s, EwFlag::as_causal, |f| (f.enable(rid(0)), 0));
    o.causal("disable (n enables)", &s, EwFlag::as_causal, |f| (f.disable(rid(0)), 0));
}

fn ccounter(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    let s = merge_all(
        (0..n)
            .map(|i| {
                let mut c = CausalCounter::new();
                for _ in 0..share(i, n, m) {
                    let _ = c.increment(rid(i), 1);
                }
                c
            })
            .collect(),
    );
    // The changed total of replica 0 (the other one is unchanged: the "+1 bit" of a PN entry).
    let p = share(0, n, m) as u64 + 1;
    o.causal("inc", &s, CausalCounter::as_causal, |c| (c.increment(rid(0), 1), varint(p)));
    o.causal("dec", &s, CausalCounter::as_causal, |c| (c.decrement(rid(0), 1), varint(1)));
}

/// The element (or key) layout of sets and maps: `0..m`, element `j` written by replica `j % n`;
/// element 0 (the "hot" one) also written concurrently by every replica, as its first update.
fn owner_shares(n: usize, m: usize) -> Vec<Vec<u64>> {
    (0..n)
        .map(|i| {
            let mut v: Vec<u64> = if m > 0 && i != 0 { vec![0] } else { Vec::new() };
            v.extend((i..m).step_by(n).map(|j| j as u64));
            v
        })
        .collect()
}

fn orset(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    let s = merge_all(
        owner_shares(n, m)
            .into_iter()
            .enumerate()
            .map(|(i, es)| {
                let mut s = OrSet::new();
                let _ = s.insert_all(rid(i), es);
                s
            })
            .collect(),
    );
    let new = m as u64;
    o.causal("insert new", &s, OrSet::as_causal, |s| (s.insert(rid(0), new), payload(&new)));
    if m >= 2 {
        // An element one other replica inserted (or replica 0 itself when n == 1): |D| = 1.
        let e = (m - 1) as u64;
        o.causal("re-insert (1 dot)", &s, OrSet::as_causal, |s| (s.insert(rid(0), e), payload(&e)));
        o.causal("remove (1 dot)", &s, OrSet::as_causal, |s| (s.remove(rid(0), &e), 0));
    }
    if m >= 1 {
        o.causal("re-insert (n dots)", &s, OrSet::as_causal, |s| (s.insert(rid(0), 0), payload(&0u64)));
        o.causal("remove (n dots)", &s, OrSet::as_causal, |s| (s.remove(rid(0), &0), 0));
        o.causal("clear", &s, OrSet::as_causal, |s| (s.clear(rid(0)), 0));
    }
}

/// A map built with [`owner_shares`]: `write(map, replica index, key)` does one update.
fn build_map<V: convergent::causal::Nested>(
    n: usize,
    m: usize,
    write: impl Fn(&mut OrMap<u64, V>, usize, u64),
) -> OrMap<u64, V>
where
    V::Store: DotStore,
{
    merge_all(
        owner_shares(n, m)
            .into_iter()
            .enumerate()
            .map(|(i, keys)| {
                let mut map = OrMap::new();
                for k in keys {
                    write(&mut map, i, k);
                }
                map
            })
            .collect(),
    )
}

fn map_counter(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    let s = build_map::<GCounter>(n, m, |map, i, k| {
        let _ = map.update(rid(i), k, |c| c.increment(1));
    });
    let new = m as u64;
    o.causal("update new key (inc)", &s, OrMap::as_causal, |map| {
        (map.update(rid(0), new, |c| c.increment(1)).0, payload(&new) + varint(1))
    });
    if m >= 1 {
        // Every replica has incremented key 0 once: replica 0 re-mints its own dot.
        o.causal("update hot key (inc)", &s, OrMap::as_causal, |map| {
            (map.update(rid(0), 0, |c| c.increment(1)).0, payload(&0u64) + varint(2))
        });
        o.causal("remove hot key", &s, OrMap::as_causal, |map| (map.remove(rid(0), &0), 0));
    }
}

fn map_set(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    // Key k's set holds element k + replica index (so the hot key 0 holds 0..n, one per replica).
    let s = build_map::<OrSet<u64>>(n, m, |map, i, k| {
        let _ = map.update(rid(i), k, |s| s.insert(k + i as u64));
    });
    let (new, e) = (m as u64, (m + n) as u64);
    o.causal("update new key (insert)", &s, OrMap::as_causal, |map| {
        (map.update(rid(0), new, |s| s.insert(e)).0, payload(&new) + payload(&e))
    });
    if m >= 1 {
        o.causal("update hot key (insert)", &s, OrMap::as_causal, |map| {
            (map.update(rid(0), 0, |s| s.insert(e)).0, payload(&0u64) + payload(&e))
        });
        o.causal("remove hot key", &s, OrMap::as_causal, |map| (map.remove(rid(0), &0), 0));
    }
}

fn map_lww(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    // Key k written by replica i at WALL0 + k*n + i ms: the hot key 0 holds n concurrent writes.
    let s = build_map::<LwwRegister<u64>>(n, m, |map, i, k| {
        let ts = Timestamp::from_parts(WALL0 + k * n as u64 + i as u64, 0);
        let _ = map.update(rid(i), k, |r| r.write_at(ts, k));
    });
    let ts = Timestamp::from_parts(WALL0 + (m * n + n) as u64, 0);
    let (new, v) = (m as u64, m as u64);
    let lww = payload(&v) + varint(ts.as_u64());
    o.causal("update new key (write)", &s, OrMap::as_causal, |map| {
        (map.update(rid(0), new, |r| r.write_at(ts, v)).0, payload(&new) + lww)
    });
    if m >= 1 {
        o.causal("update hot key (write)", &s, OrMap::as_causal, |map| {
            (map.update(rid(0), 0, |r| r.write_at(ts, v)).0, payload(&0u64) + lww)
        });
        o.causal("remove hot key", &s, OrMap::as_causal, |map| (map.remove(rid(0), &0), 0));
    }
}

fn map_mv(o: &mut Out<'_>) {
    let (n, m) = (o.n, o.m);
    let s = build_map::<MvRegister<u64>>(n, m, |map, i, k| {
        let _ = map.update(rid(i), k, |r| r.write(k + i as u64));
    });
    let (new, v) = (m as u64, (m + n) as u64);
    o.causal("update new key (write)", &s, OrMap::as_causal, |map| {
        (map.update(rid(0), new, |r| r.write(v)).0, payload(&new) + payload(&v))
    });
    if m >= 1 {
        o.causal("update hot key (write)", &s, OrMap::as_causal, |map| {
            (map.update(rid(0), 0, |r| r.write(v)).0, payload(&0u64) + payload(&v))
        });
        o.causal("remove hot key", &s, OrMap::as_causal, |map| (map.remove(rid(0), &0), 0));
    }
}
