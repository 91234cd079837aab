//! Wire forms. A G-Counter is its sorted entries `[(id, count)]`; a PN-Counter is ONE sorted list
//! `[(id, increments, decrements)]`, so a replica that both incremented and decremented pays its
//! id once. Ids are 16 raw bytes each (no length prefix) in compact formats, the UUID string in
//! human-readable ones. Decoding checks canonical order, no zero entry, counts within
//! [`Limits::max_counter`](crate::Limits::max_counter) and at most
//! [`Limits::max_replicas`](crate::Limits::max_replicas) entries (before allocating for them).
//!
//! The causal counters' stores ([`GCounterStore`], [`PnCounterStore`]) are dot functions:
//! `[(dot, total)]` and `[(dot, increments, decrements)]` in dot order, totals within
//! `max_counter`.

use alloc::vec::Vec;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{GCounter, PnCounter};
use crate::causal::ReplicaId;
use crate::error::Error;
use crate::wire::{Decode, DecodeCx, Writer, checked_default};

/// One wire entry with its replica and its counts.
trait Entry {
    fn replica(&self) -> ReplicaId;
    fn counts(&self) -> [u64; 2];
}

impl Entry for (ReplicaId, u64) {
    fn replica(&self) -> ReplicaId {
        self.0
    }
    fn counts(&self) -> [u64; 2] {
        [self.1, 0]
    }
}

impl Entry for (ReplicaId, u64, u64) {
    fn replica(&self) -> ReplicaId {
        self.0
    }
    fn counts(&self) -> [u64; 2] {
        [self.1, self.2]
    }
}

/// Checks a decoded entry list: at most `max_replicas` entries, sorted by replica with no
/// replica twice, no all-zero entry, every count within `max_counter`.
fn check_entries<E: Entry>(v: &[E], field: &'static str, cx: &DecodeCx) -> Result<(), Error> {
    let (max_replicas, max_counter) = (cx.limits.max_replicas, cx.limits.max_counter);
    cx.check_len(field, v.len(), max_replicas)?;
    let mut last: Option<ReplicaId> = None;
    for e in v {
        let counts = e.counts();
        if counts == [0, 0] {
            return Err(Error::NotCanonical { field });
        }
        if let Some(&value) = counts.iter().find(|&&c| c > max_counter) {
            return Err(Error::CounterOutOfRange { field, value, max: max_counter });
        }
        if last.is_some_and(|l| l >= e.replica()) {
            return Err(Error::NotCanonical { field });
        }
        last = Some(e.replica());
    }
    Ok(())
}

fn gcounter_from_wire(v: Vec<(ReplicaId, u64)>, cx: &DecodeCx) -> Result<GCounter, Error> {
    check_entries(&v, "g-counter", cx)?;
    Ok(GCounter::from_canonical(v))
}

fn pncounter_from_wire(v: Vec<(ReplicaId, u64, u64)>, cx: &DecodeCx) -> Result<PnCounter, Error> {
    check_entries(&v, "pn-counter", cx)?;
    let p = v.iter().filter(|e| e.1 > 0).map(|e| (e.0, e.1)).collect();
    let n = v.iter().filter(|e| e.2 > 0).map(|e| (e.0, e.2)).collect();
    Ok(PnCounter { p: GCounter::from_canonical(p), n: GCounter::from_canonical(n) })
}

impl Serialize for GCounter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.entries.iter().map(|&(r, n)| (r, n)))
    }
}

impl<'de> Deserialize<'de> for GCounter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<(ReplicaId, u64)>::deserialize(d)?;
        checked_default(|cx| gcounter_from_wire(v, cx))
    }
}

/// `[(16-byte id, count)]`.
impl Decode for GCounter {
    crate::wire::decode_through!(|v, cx| gcounter_from_wire(v, cx));

    /// The bytes of the `Serialize` impl, written directly.
    fn encode_body(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.len(self.entries.len());
        for (r, n) in &self.entries {
            w.bytes16(&r.to_bytes());
            w.varint(*n);
        }
    }
}

impl PnCounter {
    /// The one sorted list of the wire form, `(id, increments, decrements)`, merged from the two
    /// G-Counters on the fly.
    fn wire_entries(&self) -> impl Iterator<Item = (ReplicaId, u64, u64)> + '_ {
        let (p, n) = (&self.p.entries, &self.n.entries);
        let (mut i, mut j) = (0, 0);
        core::iter::from_fn(move || {
            let next = match (p.get(i), n.get(j)) {
                (Some(a), Some(b)) if a.0 == b.0 => (a.0, a.1, b.1),
                (Some(a), Some(b)) if a.0 < b.0 => (a.0, a.1, 0),
                (Some(a), None) => (a.0, a.1, 0),
                (_, Some(b)) => (b.0, 0, b.1),
                (None, None) => return None,
            };
            i += usize::from(p.get(i).is_some_and(|a| a.0 == next.0));
            j += usize::from(n.get(j).is_some_and(|b| b.0 == next.0));
            Some(next)
        })
    }

    /// The number of entries of [`wire_entries`](Self::wire_entries).
    fn wire_len(&self) -> usize {
        self.wire_entries().count()
    }
}

impl Serialize for PnCounter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.wire_len()))?;
        for e in self.wire_entries() {
            seq.serialize_element(&e)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for PnCounter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<(ReplicaId, u64, u64)>::deserialize(d)?;
        checked_default(|cx| pncounter_from_wire(v, cx))
    }
}

/// `[(16-byte id, increments, decrements)]`.
impl Decode for PnCounter {
    crate::wire::decode_through!(|v, cx| pncounter_from_wire(v, cx));

    /// The bytes of the `Serialize` impl, written directly.
    fn encode_body(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.len(self.wire_len());
        for (r, p, n) in self.wire_entries() {
            w.bytes16(&r.to_bytes());
            w.varint(p);
            w.varint(n);
        }
    }
}

/// A causal counter store's total within [`Limits::max_counter`](crate::Limits::max_counter)
/// (the checked decode of its payloads).
pub(super) fn check_total(v: u64, cx: &DecodeCx) -> Result<u64, Error> {
    if v > cx.limits.max_counter {
        Err(Error::CounterOutOfRange { field: "counter-store.total", value: v, max: cx.limits.max_counter })
    } else {
        Ok(v)
    }
}
