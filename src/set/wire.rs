//! The wire form of a set: live dots grouped by replica, gap-encoded, each with its element.
//!
//! `[(replica index, [(counter gap, element), ...]), ...]`, groups in table order and dots in
//! counter order, so the bytes depend only on the set's contents. A replica's own inserts are
//! usually consecutive events, so a gap is one byte: an element costs its own bytes plus one
//! (3 bytes for `u64` elements below 16 384 in postcard).

use alloc::vec::Vec;
use core::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::SetStore;
use crate::Error;
use crate::causal::{Causal, CausalContext, Dot, ReplicaId};
use crate::wire::Decode as _;
use crate::wire::{
    DecodeCx, ONE_RANGE_MAX, Reader, ReplicaTable, StoreOut, WireDot, WireStore, Writer, check_store_dots,
};

/// The wire form of a store of two elements or more: grouped and sorted by reference, through
/// serde straight into the output.
#[inline(never)]
fn encode_groups<T>(s: &SetStore<T>, table: &ReplicaTable, w: &mut Writer<'_>)
where
    T: Serialize + DeserializeOwned + Hash + Eq + Clone,
{
    w.serde(&StoreOut(s, table));
}

impl<T> WireStore for SetStore<T>
where
    T: Serialize + DeserializeOwned + Hash + Eq + Clone,
{
    type Wire = Vec<(u32, Vec<(u64, T)>)>;

    fn to_wire(&self, table: &ReplicaTable) -> Self::Wire {
        let mut groups: Vec<(u32, Vec<(u64, T)>)> = self
            .dots_by_replica()
            .into_iter()
            .map(|(id, mut dots)| {
                dots.sort_unstable_by_key(|(n, _)| *n);
                let mut prev = 0u64;
                let v = dots
                    .into_iter()
                    .map(|(n, e)| {
                        let gap = n - prev - 1;
                        prev = n;
                        (gap, e.clone())
                    })
                    .collect();
                (table.index(&id), v)
            })
            .collect();
        groups.sort_unstable_by_key(|(i, _)| *i);
        groups
    }

    /// Writes the wire form from references to the elements: a single element (a delta)
    /// directly, more grouped and sorted by reference, never cloned.
    fn serialize_wire<Z: serde::Serializer>(&self, table: &ReplicaTable, s: Z) -> Result<Z::Ok, Z::Error> {
        if let Some((id, n, elem)) = self.single() {
            // Slices: a sequence with its length, as the vectors of the wire form.
            let one: &[(u64, &T)] = &[(n - 1, elem)];
            let groups: &[(u32, &[(u64, &T)])] = &[(table.index(&id), one)];
            return groups.serialize(s);
        }
        let mut groups: Vec<(u32, Vec<(u64, &T)>)> = self
            .dots_by_replica()
            .into_iter()
            .map(|(id, mut dots)| {
                dots.sort_unstable_by_key(|(n, _)| *n);
                let mut prev = 0u64;
                for d in &mut dots {
                    let n = d.0;
                    d.0 = n - prev - 1;
                    prev = n;
                }
                (table.index(&id), dots)
            })
            .collect();
        groups.sort_unstable_by_key(|(i, _)| *i);
        groups.serialize(s)
    }

    /// Writes the bytes of [`serialize_wire`](Self::serialize_wire): an empty store and a single
    /// element (a delta) directly, without building anything, inline in the caller; more out of
    /// line through [`serialize_wire`](Self::serialize_wire) (grouped and sorted by reference,
    /// never cloned).
    #[inline]
    fn encode_wire(&self, table: &ReplicaTable, w: &mut Writer<'_>) {
        if self.is_empty() {
            w.byte(0);
            return;
        }
        if let Some((id, n, elem)) = self.single() {
            // One group of one dot: `[(index, [(n - 1, element)])]`, each byte pushed in place
            // (a stack buffer copied out in one block was slower: its byte stores cannot be
            // forwarded to the block's wide loads).
            let index = u64::from(table.index(&id));
            w.byte(1);
            w.varint(index);
            w.byte(1);
            w.varint(n - 1);
            w.serde(elem);
            return;
        }
        encode_groups(self, table, w);
    }

    /// A delta of one replica's operation (a context of one replica with one range, and no
    /// element or one element, of that replica) written in one window of the output
    /// ([`Writer::window`]: [`DELTA_WINDOW`] bytes of room, as after the version byte of
    /// [`to_bytes`](crate::wire::to_bytes)); any other pair, a delta whose element does not fit,
    /// and an output without the room, part by part.
    ///
    /// Pushed byte by byte, each push reloaded the output's length, checked the capacity and
    /// stored the length back: a chain through memory from byte to byte. In the window the
    /// position stays in a register and the checks are against a constant. Measured (callgrind,
    /// `to_bytes` of a `u64` insert delta, malloc and free included): 391 instructions to 365
    /// (bincode of crdts' op: 365), and in time 0.9x of bincode's to 1.3x; a `String` insert
    /// 382 to 352, a remove delta 261 to 253. Most of the rest: the allocation (about 140),
    /// [`SetStore::single`] (about 40) and the element's varint (about 40).
    #[inline(always)]
    fn encode_causal(&self, context: &CausalContext, w: &mut Writer<'_>) {
        if let (Some((r, &[(lo, hi)])), None) = (context.replica_at(0), context.replica_at(1)) {
            let written = if self.is_empty() {
                // `[]`.
                w.window::<DELTA_WINDOW>(|b| {
                    b.one_range_context(r, lo, hi);
                    b.byte(0);
                    true
                })
            } else if let Some((id, n, elem)) = self.single() {
                // `[(0, [(n - 1, element)])]`: the one dot is `r`'s (every dot of a pair lies in
                // its context), index 0 of the table.
                w.window::<DELTA_WINDOW>(|b| {
                    debug_assert_eq!(id, r, "the dot of a one-element store lies in its context");
                    b.one_range_context(r, lo, hi);
                    b.byte(1);
                    b.byte(0);
                    b.byte(1);
                    b.varint(n - 1);
                    b.serde(elem)
                })
            } else {
                false
            };
            if written {
                return;
            }
        }
        encode_pair(self, context, w);
    }

    /// Reads an empty store (a remove delta) or a one-element store (an insert delta) directly
    /// from the bytes ([`read_small`]), building nothing but the store of that element; anything
    /// larger through the serde wire form.
    #[inline]
    fn decode_wire(r: &mut Reader<'_>, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
        match read_small(r, table, cx)? {
            Small::Empty => Ok(SetStore::default()),
            Small::One(elem, dot) => Ok(SetStore::of_one(elem, dot)),
            Small::Larger => {
                let s: Self = r.store(table, cx)?;
                check_store_dots(&s, table.context(), cx)?;
                Ok(s)
            }
        }
    }

    /// [`decode_wire`](Self::decode_wire), with the pair of an empty or one-element store built
    /// where it is returned (the store is not moved into it).
    #[inline(always)]
    fn decode_pair(
        r: &mut Reader<'_>,
        context: CausalContext,
        cx: &mut DecodeCx,
    ) -> Result<Causal<Self>, Error> {
        match read_small(r, &ReplicaTable::of(&context), cx)? {
            Small::Empty => Ok(Causal::from_parts(SetStore::default(), context)),
            Small::One(elem, dot) => Ok(Causal::from_parts(SetStore::of_one(elem, dot), context)),
            Small::Larger => {
                let store = Self::decode_wire(r, &ReplicaTable::of(&context), cx)?;
                r.check_end()?;
                Ok(Causal::from_parts(store, context))
            }
        }
    }

    /// The body of a delta of one replica's operation (a context of one replica with one
    /// range, and no element or one element of that replica) in one pass ([`read_delta`]);
    /// any other body, and every error, through the general path.
    #[inline(always)]
    fn decode_causal<R>(
        body: &[u8],
        cx: &mut DecodeCx,
        wrap: impl FnOnce(Causal<Self>) -> R,
    ) -> Result<R, Error> {
        // The pair is built here, in the returned value (a pair returned by `read_delta` was
        // copied into it: 208 bytes for `u64` elements before the store's index went into a box,
        // 120 since).
        match read_delta::<T>(body, cx) {
            Some(Delta { id, lo, hi, insert: None }) => {
                Ok(wrap(Causal::from_parts(SetStore::default(), CausalContext::of_range(id, lo, hi))))
            }
            Some(Delta { id, lo, hi, insert: Some((elem, dot)) }) => {
                Ok(wrap(Causal::from_parts(SetStore::of_one(elem, dot), CausalContext::of_range(id, lo, hi))))
            }
            None => read_general(body, cx).map(wrap),
        }
    }

    fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
        cx.check_len("set.replicas", wire.len(), SetStore::<T>::MAX_REPLICAS)?;
        let total = wire.iter().fold(0usize, |acc, (_, g)| acc.saturating_add(g.len()));
        cx.check_len("set.dots", total, cx.limits.max_dots)?;
        let mut store = SetStore::default();
        store.reserve(total);
        let mut last_index = None;
        for (index, group) in wire {
            if group.is_empty() || last_index.is_some_and(|l| l >= index) {
                return Err(Error::NotCanonical { field: "set" });
            }
            last_index = Some(index);
            let mut prev = 0u64;
            for (gap, elem) in group {
                let Some(n) = prev.checked_add(gap).and_then(|x| x.checked_add(1)) else {
                    return Err(Error::CounterOutOfRange {
                        field: "set",
                        value: u64::MAX,
                        max: SetStore::<T>::MAX_COUNTER,
                    });
                };
                let dot = table.resolve(WireDot(index, n), cx)?;
                if n > SetStore::<T>::MAX_COUNTER {
                    return Err(Error::CounterOutOfRange {
                        field: "set",
                        value: n,
                        max: SetStore::<T>::MAX_COUNTER,
                    });
                }
                // Strictly increasing counters in distinct groups: no dot can occur twice.
                store.add_dot(elem, dot);
                prev = n;
            }
        }
        cx.check_len("set.elements", store.len(), cx.limits.max_elements)?;
        Ok(store)
    }
}

/// [`WireStore::encode_causal`] of a set part by part: the context, then the store.
#[inline(never)]
fn encode_pair<T>(s: &SetStore<T>, context: &CausalContext, w: &mut Writer<'_>)
where
    T: Serialize + DeserializeOwned + Hash + Eq + Clone,
{
    context.encode_body(w.out());
    s.encode_wire(&ReplicaTable::of(context), w);
}

/// The window of a delta's bytes ([`WireStore::encode_causal`] of a set): a context of one
/// range and a one-element store's header (at most [`ONE_RANGE_MAX`] + 13 bytes), then the
/// element: room for an element of 12 bytes or more (a `u64`'s at most 10), or 40 and more
/// for the usual context of some 20 bytes. The room after the version byte of a new
/// [`to_bytes`](crate::wire::to_bytes) output (64 bytes).
const DELTA_WINDOW: usize = 63;
const _: () = assert!(ONE_RANGE_MAX + 13 + 10 <= DELTA_WINDOW);

/// [`WireStore::decode_causal`] of a set through the general path: what decides every body the
/// one-pass read does not take.
#[inline(never)]
fn read_general<T>(body: &[u8], cx: &mut DecodeCx) -> Result<Causal<SetStore<T>>, Error>
where
    T: Serialize + DeserializeOwned + Hash + Eq + Clone,
{
    crate::causal::read_causal_body(body, cx)
}

/// The pair of a delta of one replica's operation, read in one pass from a whole body: the
/// context `[(id, [(gap, len)])]` (one replica, one range), then the store `[]` (a remove delta)
/// or `[(0, [(gap, element)])]` (an insert delta: its one dot in that range). `None` for any
/// other body and for any body the general path refuses: this path only ever takes a valid
/// body, checked against every limit the general path checks (the context reader of
/// `causal::wire`, and [`read_small`]), and builds the same pair; the general path decides
/// the rest, error included.
#[inline(always)]
fn read_delta<T>(body: &[u8], cx: &DecodeCx) -> Option<Delta<T>>
where
    T: Serialize + DeserializeOwned + Hash + Eq + Clone,
{
    let l = &cx.limits;
    // One replica (its id), one range.
    let ([1], rest) = body.split_first_chunk::<1>()? else { return None };
    let (id, rest) = rest.split_first_chunk::<16>()?;
    let ([1], rest) = rest.split_first_chunk::<1>()? else { return None };
    if l.max_replicas == 0 || l.max_ranges == 0 {
        return None;
    }
    let mut r = Reader::whole(rest);
    let (gap, len) = (r.u64().ok()?, r.u64().ok()?);
    let lo = gap.checked_add(1)?;
    let hi = lo.checked_add(len)?;
    if hi > l.max_counter {
        return None;
    }
    let id = ReplicaId::from_bytes(*id);
    let insert = match r.rest() {
        [0] => None,
        // One group, of replica index 0, of one dot.
        [1, 0, 1, tail @ ..] => {
            if l.max_dots == 0 || l.max_elements == 0 {
                return None;
            }
            let mut r = Reader::whole(tail);
            let gap = r.u64().ok()?;
            let elem: T = r.value().ok()?;
            r.check_end().ok()?;
            let n = gap.checked_add(1)?;
            // In the range (so within `max_counter`), and within what the store packs.
            if n < lo || n > hi || n > SetStore::<T>::MAX_COUNTER {
                return None;
            }
            Some((elem, Dot::new(id, n)?))
        }
        _ => return None,
    };
    Some(Delta { id, lo, hi, insert })
}

/// A delta as [`read_delta`] found it: its context's one replica and range, and its one
/// element with its dot (an insert) or none (a remove).
struct Delta<T> {
    id: ReplicaId,
    lo: u64,
    hi: u64,
    insert: Option<(T, Dot)>,
}

/// A store as [`read_small`] found it.
enum Small<T> {
    /// No element (a remove delta).
    Empty,
    /// One element with its dot, checked.
    One(T, Dot),
    /// More: the reader is back at the start of the store.
    Larger,
}

/// Reads an empty or one-element store directly from the bytes (the last part of the value),
/// with the same checks, in the same order, as [`from_wire`](WireStore::from_wire), and that
/// the dot lies in the context; leaves a larger store unread.
#[inline(always)]
fn read_small<T: Serialize + DeserializeOwned>(
    r: &mut Reader<'_>,
    table: &ReplicaTable,
    cx: &mut DecodeCx,
) -> Result<Small<T>, Error> {
    let start = *r;
    // `[(index, [(gap, element)])]`: one group of one element, or none.
    let index = match r.len()? {
        0 => {
            r.check_end()?;
            return Ok(Small::Empty);
        }
        1 => r.u32()?,
        _ => u32::MAX,
    };
    if index == u32::MAX || r.len() != Ok(1) {
        *r = start;
        return Ok(Small::Larger);
    }
    let max = SetStore::<T>::MAX_COUNTER;
    cx.check_len("set.dots", 1, cx.limits.max_dots)?;
    let gap = r.u64()?;
    let elem: T = r.value()?;
    r.check_end()?;
    let Some(n) = gap.checked_add(1) else {
        return Err(Error::CounterOutOfRange { field: "set", value: u64::MAX, max });
    };
    let dot = table.resolve(WireDot(index, n), cx)?;
    if n > max {
        return Err(Error::CounterOutOfRange { field: "set", value: n, max });
    }
    cx.check_len("set.elements", 1, cx.limits.max_elements)?;
    // One dot: `set.dots` above checked it against `max_dots`, as `store.dots` would.
    if !table.context().contains_at(index as usize, n) {
        return Err(Error::DotOutsideContext { dot });
    }
    Ok(Small::One(elem, dot))
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::causal::read_causal_body;
    use crate::wire::{Decode, to_bytes};
    use crate::{Lattice, Limits, OrSet};

    type Pair<T> = Causal<SetStore<T>>;

    /// Decodes `body` both ways (the store's `decode_causal`, which tries the one-pass read
    /// first, and the general path alone) and checks that they agree: the same error, or the
    /// same pair, down to its bytes, its replica table and its allocations. Returns whether the
    /// one-pass read took the body.
    fn agree<T>(body: &[u8], limits: &Limits) -> bool
    where
        T: Serialize + DeserializeOwned + Hash + Eq + Clone + core::fmt::Debug,
    {
        let fast = Pair::<T>::decode_body(body, &mut DecodeCx::new(*limits));
        let general = read_causal_body::<SetStore<T>>(body, &mut DecodeCx::new(*limits));
        let took = read_delta::<T>(body, &DecodeCx::new(*limits)).is_some();
        match (&fast, &general) {
            (Ok(a), Ok(b)) => {
                assert!(a == b, "values differ on {body:?}");
                a.store.check_invariants();
                let (mut x, mut y) = (Vec::new(), Vec::new());
                a.encode_body(&mut x);
                b.encode_body(&mut y);
                assert_eq!(x, y, "{body:?}");
                assert_eq!(a.store.room(), b.store.room(), "{body:?}");
                assert_eq!(a.store.replica_table_len(), b.store.replica_table_len(), "{body:?}");
                assert_eq!(
                    a.store.single().map(|(r, n, _)| (r, n)),
                    b.store.single().map(|(r, n, _)| (r, n))
                );
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "{body:?}");
                assert!(!took, "the one-pass read took a body the general path refuses: {body:?}");
            }
            _ => panic!("{body:?}: one-pass {:?}, general {:?}", fast.is_ok(), general.is_ok()),
        }
        took
    }

    /// A random history of four replicas (inserts and removes of `elems` elements, 5 and 3 in
    /// 10 steps, joins of another replica's state in random order the other 2): `see` gets each
    /// operation's delta with the state of the replica that made it.
    fn history<T>(
        seed: u64,
        steps: usize,
        elems: u64,
        elem: impl Fn(u64) -> T,
        mut see: impl FnMut(&OrSet<T>, &OrSet<T>),
    ) where
        T: Serialize + DeserializeOwned + Hash + Eq + Clone,
    {
        let mut rng = SmallRng::seed_from_u64(seed);
        let ids: Vec<ReplicaId> = (0..4).map(|i| ReplicaId::from_u128(7 + i * 1_000_003)).collect();
        let mut states: Vec<OrSet<T>> = (0..4).map(|_| OrSet::new()).collect();
        for _ in 0..steps {
            let i = rng.gen_range(0..4);
            let e = elem(rng.gen_range(0..elems));
            let delta = match rng.gen_range(0..10) {
                0..=4 => states[i].insert(ids[i], e),
                5..=7 => states[i].remove(ids[i], &e),
                _ => {
                    let j = rng.gen_range(0..4);
                    let other = states[j].clone();
                    let _ = states[i].join(other);
                    continue;
                }
            };
            see(&delta, &states[i]);
        }
    }

    /// The bytes of `pair` written part by part (the general path of `encode_causal`; its
    /// context of one range in the window of `put_context`, which the `Serialize` impl checks:
    /// [`encodes_alike`] compares with both).
    fn general<T>(pair: &Pair<T>) -> Vec<u8>
    where
        T: Serialize + DeserializeOwned + Hash + Eq + Clone,
    {
        let mut out = alloc::vec![crate::wire::FORMAT_VERSION];
        encode_pair(&pair.store, &pair.context, &mut Writer::new(&mut out));
        out
    }

    /// Whether `encode_causal` writes `pair` in its window from `to_bytes` (a context of one
    /// range, at most one element, fitting).
    fn windowed<T>(pair: &Pair<T>) -> bool
    where
        T: Serialize + DeserializeOwned + Hash + Eq + Clone,
    {
        let one_range = pair.context.replica_count() == 1 && pair.context.range_count() == 1;
        let ctx = crate::wire::encoded_len(&pair.context) - 1;
        match (pair.store.len(), pair.store.single()) {
            (0, _) => one_range,
            (1, Some((_, n, e))) => {
                let elem = crate::wire::serde_len(e) - 1;
                one_range && ctx + 3 + crate::wire::serde_len(&(n - 1)) - 1 + elem <= DELTA_WINDOW
            }
            _ => false,
        }
    }

    /// `to_bytes` of `pair` (its window, when it has one) writes the bytes of the general path
    /// and of the `Serialize` impl; so does `encode_body` after a prefix into outputs of every
    /// spare capacity around the window's (too little room: the general path), allocating only
    /// when the bytes need it. Returns whether `to_bytes` used the window.
    fn encodes_alike<T>(pair: &Pair<T>) -> bool
    where
        T: Serialize + DeserializeOwned + Hash + Eq + Clone + core::fmt::Debug,
    {
        let expected = general(pair);
        assert_eq!(to_bytes(pair), expected, "{pair:?}");
        assert_eq!(crate::wire::serde_bytes(pair), expected, "{pair:?}");
        for room in (0..=DELTA_WINDOW + 8).chain([expected.len() - 1]) {
            let mut out = Vec::with_capacity(room + 2);
            out.extend_from_slice(&[0xAA, 0xBB]);
            pair.encode_body(&mut out);
            assert_eq!(out[2..], expected[1..], "room {room}: {pair:?}");
            if room >= expected.len() - 1 {
                assert_eq!(out.capacity(), room + 2, "room {room}: grown for {pair:?}");
            }
        }
        windowed(pair)
    }

    /// Every delta of random histories on several replicas (inserts, removes, re-inserts of
    /// elements other replicas hold, joins in random order), and each replica's state, encodes
    /// to the bytes of the general path and of the `Serialize` impl (into any output), with
    /// elements of every size around what the window holds; the window takes over a third of
    /// the deltas, and no state of more than one element.
    #[test]
    fn delta_window_writes_the_general_path_bytes_on_random_histories() {
        fn run<T>(elem: impl Fn(u64) -> T, seed: u64) -> (usize, usize)
        where
            T: Serialize + DeserializeOwned + Hash + Eq + Clone + core::fmt::Debug,
        {
            let (mut taken, mut total) = (0, 0);
            history(seed, 300, 60, elem, |delta, state| {
                total += 1;
                taken += usize::from(encodes_alike(&delta.inner));
                let took = encodes_alike(&state.inner);
                assert!(!took || state.len() <= 1, "a state of several elements");
            });
            (taken, total)
        }
        for seed in 0..4 {
            let (taken, total) = run(|e| e.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (e % 64), seed);
            assert!(taken * 3 > total, "u64: the window took {taken} of {total} deltas");
            // Strings of 0 to 59 characters: the longer ones do not fit the window.
            let (taken, total) = run(|e| "s".repeat(e as usize), seed);
            assert!(taken * 5 > total, "String: the window took {taken} of {total} deltas");
        }
    }

    /// A delta of every varint width in its context (`lo - 1` and `hi - lo`: one byte to ten, a
    /// byte at a time past 2^56) and its dot (`n - 1`, up to the store's 48 bits), empty or
    /// with an element of every size around what the window holds: the bytes of the general
    /// path and of the `Serialize` impl.
    #[test]
    fn delta_window_writes_every_varint_width() {
        // Each width's least and greatest value.
        let mut edges: Vec<u64> = alloc::vec![0, u64::MAX - 1];
        for k in (7..64).step_by(7) {
            edges.extend([(1u64 << k) - 1, 1u64 << k]);
        }
        let id = ReplicaId::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        let max = SetStore::<u64>::MAX_COUNTER;
        let (mut taken, mut total) = (0, 0);
        for &a in &edges {
            for &b in &edges {
                // `lo - 1 = a`, `hi - lo = b`, within `u64`.
                let Some(hi) = a.checked_add(1).and_then(|lo| lo.checked_add(b)) else { continue };
                let lo = a + 1;
                let ctx = CausalContext::of_range(id, lo, hi);
                total += 1;
                taken +=
                    usize::from(encodes_alike(&Pair::<u64>::from_parts(SetStore::default(), ctx.clone())));
                for n in [lo, lo + b / 2, hi] {
                    if n > max {
                        continue;
                    }
                    let dot = Dot::new(id, n).expect("n >= 1");
                    for e in [0, 0x80, 1 << 40, u64::MAX] {
                        let pair = Pair::from_parts(SetStore::of_one(e, dot), ctx.clone());
                        total += 1;
                        taken += usize::from(encodes_alike(&pair));
                    }
                    for len in [0, 12, 20, 30, 40, 45, 50, 70] {
                        let pair = Pair::from_parts(SetStore::of_one("x".repeat(len), dot), ctx.clone());
                        total += 1;
                        taken += usize::from(encodes_alike(&pair));
                    }
                }
            }
        }
        assert!(taken * 2 > total, "the window took {taken} of {total}");
    }

    /// Every delta of random histories on several replicas (inserts, removes, re-inserts of
    /// elements other replicas hold, joins in random order), and each replica's state, decodes
    /// alike through the one-pass read and the general path; the one-pass read takes the
    /// deltas of one replica's single insert or remove whose context is one range (over a
    /// third of them here: an insert that replaces another replica's dots, or a remove of such
    /// dots, carries a larger context), and no state of more than one element.
    #[test]
    fn one_pass_delta_read_agrees_with_the_general_path_on_random_histories() {
        fn run<T>(elem: fn(u64) -> T, seed: u64) -> (usize, usize)
        where
            T: Serialize + DeserializeOwned + Hash + Eq + Clone + core::fmt::Debug,
        {
            let (mut taken, mut total) = (0, 0);
            let limits = Limits::default();
            history(seed, 400, 12, elem, |delta, state| {
                let bytes = to_bytes(delta);
                total += 1;
                taken += usize::from(agree::<T>(&bytes[1..], &limits));
                let bytes = to_bytes(state);
                let took = agree::<T>(&bytes[1..], &limits);
                assert!(!took || state.len() <= 1, "a state of several elements");
            });
            (taken, total)
        }
        for seed in 0..6 {
            let (taken, total) = run(|e| e * 1_000_000_007, seed);
            assert!(taken * 3 > total, "u64: the one-pass read took {taken} of {total} deltas");
            let (taken, total) = run(|e| format!("element-{e}"), seed);
            assert!(taken * 3 > total, "String: the one-pass read took {taken} of {total} deltas");
        }
    }

    /// Every one-byte change, cut and extension of an insert delta (`u64` and `String`) and of
    /// a remove delta decodes alike through the one-pass read and the general path (the same
    /// error, or the same pair), under the default limits and under limits that refuse each
    /// part of a delta (no replica, range, dot or element allowed; a counter bound inside the
    /// range).
    #[test]
    fn every_mutation_of_a_delta_decodes_as_the_general_path() {
        fn bodies<T: Decode>(delta: &T) -> Vec<Vec<u8>> {
            let body = to_bytes(delta)[1..].to_vec();
            let mut out = Vec::new();
            for i in 0..body.len() {
                for b in 0..=255u8 {
                    let mut m = body.clone();
                    m[i] = b;
                    out.push(m);
                }
                out.push(body[..i].to_vec());
            }
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut m = body.clone();
                m.push(b);
                out.push(m);
            }
            out.push(body);
            out
        }
        let d = Limits::default();
        let limits = [
            d,
            Limits { max_replicas: 0, ..d },
            Limits { max_ranges: 0, ..d },
            Limits { max_dots: 0, ..d },
            Limits { max_elements: 0, ..d },
            Limits { max_counter: 300, ..d },
        ];
        let peer = ReplicaId::from_u128(99);
        let mut s = OrSet::<u64>::new();
        let mut t = OrSet::<String>::new();
        for i in 0..300 {
            let _ = s.insert(peer, i);
            let _ = t.insert(peer, format!("e{i}"));
        }
        let insert = s.insert(peer, 1 << 40);
        let remove = s.remove(ReplicaId::from_u128(5), &7);
        let sinsert = t.insert(peer, String::from("element-1099511627776"));
        let (mut taken, mut total) = (0usize, 0usize);
        for l in &limits {
            for b in bodies(&insert).iter().chain(&bodies(&remove)) {
                taken += usize::from(agree::<u64>(b, l));
                total += 1;
            }
            for b in &bodies(&sinsert) {
                taken += usize::from(agree::<String>(b, l));
                total += 1;
            }
        }
        // The one-pass read took the valid ones (the deltas, and each mutation that is still a
        // valid delta of that shape).
        assert!(taken > 6 && taken < total / 4, "took {taken} of {total}");
    }
}
