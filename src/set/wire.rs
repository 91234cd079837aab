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
use crate::wire::{DecodeCx, Reader, ReplicaTable, StoreOut, WireDot, WireStore, Writer, check_store_dots};

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
        // copied into it: 208 bytes for `u64` elements).
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
/// body, checked against every limit the general path checks ([`read_context`] and
/// [`read_small`]), and builds the same pair; the general path decides the rest, error
/// included.
///
/// [`read_context`]: crate::causal
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
