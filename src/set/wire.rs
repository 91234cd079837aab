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
use crate::causal::{Causal, CausalContext, Dot};
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
