//! The wire forms of the causal primitives: dots, version vectors, causal contexts and causal
//! pairs (the format itself, varints and framing, is in [`crate::wire`]).
//!
//! A context is `[(replica id, [(gap, length)])]`, sorted by id, each replica's ranges gap-encoded
//! as `(first - previous_last - 1, last - first)`; it is also the replica table the store of a
//! causal pair refers to by index.

use alloc::vec::Vec;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Causal, CausalContext, Dot, Ranges, ReplicaId, VersionVector};
use crate::error::Error;
use crate::wire::{
    Decode, DecodeCx, ONE_RANGE_MAX, Reader, ReplicaTable, StoreOut, WireStore, Writer, checked_default,
    decode_through,
};

/// One replica's entry of a context on the wire: the id and its ranges, gap-encoded as
/// `(first - previous_last - 1, last - first)` (so `1..=n` is `(0, n - 1)`).
type WireCtxEntry = (ReplicaId, Vec<(u64, u64)>);

/// The wire form of a context (a sequence of [`WireCtxEntry`]), written straight from it
/// without building the entries.
struct ContextOut<'a>(&'a CausalContext);

impl Serialize for ContextOut<'_> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.replica_count()))?;
        for (r, rs) in self.0.ranges() {
            seq.serialize_element(&(r, GapsOut(rs)))?;
        }
        seq.end()
    }
}

/// One replica's ranges, gap-encoded as `(first - previous_last - 1, last - first)`.
struct GapsOut<'a>(&'a [(u64, u64)]);

impl Serialize for GapsOut<'_> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        let mut prev = 0u64;
        for &(lo, hi) in self.0 {
            seq.serialize_element(&(lo - prev - 1, hi - lo))?;
            prev = hi;
        }
        seq.end()
    }
}

/// Writes the wire form of a context directly: the bytes of [`ContextOut`] through postcard.
/// A delta's context (one replica, one range) inline in the caller; others out of line.
#[inline(always)]
fn put_context(w: &mut Writer<'_>, ctx: &CausalContext) {
    if let (Some((r, &[(lo, hi)])), None) = (ctx.replica_at(0), ctx.replica_at(1)) {
        let written = w.window::<ONE_RANGE_MAX>(|b| {
            b.one_range_context(r, lo, hi);
            true
        });
        if !written {
            // Without the room: the general path, the same bytes.
            put_context_ranges(w, ctx);
        }
    } else {
        put_context_ranges(w, ctx);
    }
}

/// [`put_context`] of any context.
#[inline(never)]
fn put_context_ranges(w: &mut Writer<'_>, ctx: &CausalContext) {
    w.len(ctx.replica_count());
    for (r, rs) in ctx.ranges() {
        w.bytes16(&r.to_bytes());
        w.len(rs.len());
        let mut prev = 0u64;
        for &(lo, hi) in rs {
            w.varint(lo - prev - 1);
            w.varint(hi - lo);
            prev = hi;
        }
    }
}

/// Appends the range `(gap, len)` of the wire form (`first - previous_last - 1`, `last - first`)
/// to a replica's ranges, checking it: within `max_counter`, and apart from the previous range
/// (adjacent ranges are not canonical).
#[inline]
fn push_range(rs: &mut Ranges, gap: u64, len: u64, cx: &DecodeCx) -> Result<(), Error> {
    let prev = rs.last().map_or(0, |&(_, hi)| hi);
    let range = range_after(prev, gap, len, cx)?;
    if !rs.is_empty() && gap == 0 {
        return Err(Error::NotCanonical { field: "context" });
    }
    rs.push(range);
    Ok(())
}

/// The range `(gap, len)` of the wire form after a range ending at `prev` (0 for the first),
/// checked within `max_counter`.
#[inline]
fn range_after(prev: u64, gap: u64, len: u64, cx: &DecodeCx) -> Result<(u64, u64), Error> {
    let max = cx.limits.max_counter;
    let lo = prev.checked_add(gap).and_then(|x| x.checked_add(1));
    let hi = lo.and_then(|lo| lo.checked_add(len));
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Err(Error::CounterOutOfRange { field: "context", value: u64::MAX, max });
    };
    if hi > max {
        return Err(Error::CounterOutOfRange { field: "context", value: hi, max });
    }
    Ok((lo, hi))
}

pub(crate) fn context_from_wire(w: Vec<WireCtxEntry>, cx: &DecodeCx) -> Result<CausalContext, Error> {
    let l = &cx.limits;
    cx.check_len("context.replicas", w.len(), l.max_replicas)?;
    let total: usize = w.iter().map(|(_, v)| v.len()).sum();
    cx.check_len("context.ranges", total, l.max_ranges)?;
    let mut entries = Vec::with_capacity(w.len());
    for (r, gaps) in w {
        if gaps.is_empty() {
            return Err(Error::NotCanonical { field: "context" });
        }
        let mut rs = Ranges::new();
        for (gap, len) in gaps {
            push_range(&mut rs, gap, len, cx)?;
        }
        entries.push((r, rs));
    }
    CausalContext::from_canonical_parts(entries).ok_or(Error::NotCanonical { field: "context" })
}

/// A context read directly from the bytes, checked as it is read (the same checks as
/// [`context_from_wire`], and minimal varints): nothing is built but the context.
#[inline(always)]
fn read_context(r: &mut Reader<'_>, cx: &DecodeCx) -> Result<CausalContext, Error> {
    let l = &cx.limits;
    let n = r.len()?;
    cx.check_len("context.replicas", n, l.max_replicas)?;
    if n == 1 {
        // One replica (the context of a delta of one replica's operation): read directly into
        // an inline context when it has one range, the same checks in the same order.
        let mut ahead = *r;
        let id = ReplicaId::from_bytes(ahead.bytes16()?);
        if ahead.len()? == 1 {
            cx.check_len("context.ranges", 1, l.max_ranges)?;
            let (gap, len) = (ahead.u64()?, ahead.u64()?);
            let (lo, hi) = range_after(0, gap, len, cx)?;
            *r = ahead;
            return Ok(CausalContext::of_range(id, lo, hi));
        }
    }
    // At most one entry per 18 bytes left (16-byte id, a length, a range): a length prefix
    // never makes this allocate more than the input holds.
    let mut entries = super::context::Entries::with_capacity(n.min(r.rest().len() / 18));
    let mut total = 0usize;
    for _ in 0..n {
        let id = ReplicaId::from_bytes(r.bytes16()?);
        if entries.last().is_some_and(|(last, _): &(ReplicaId, Ranges)| *last >= id) {
            return Err(Error::NotCanonical { field: "context" });
        }
        let k = r.len()?;
        if k == 0 {
            return Err(Error::NotCanonical { field: "context" });
        }
        total = total.saturating_add(k);
        cx.check_len("context.ranges", total, l.max_ranges)?;
        let mut rs = Ranges::new();
        for _ in 0..k {
            let (gap, len) = (r.u64()?, r.u64()?);
            push_range(&mut rs, gap, len, cx)?;
        }
        entries.push((id, rs));
    }
    CausalContext::from_canonical_parts(entries).ok_or(Error::NotCanonical { field: "context" })
}

/// A whole causal pair read from `body`, part by part: the context, then the store
/// ([`WireStore::decode_pair`]), the pair built once at the end (no intermediate pair is moved).
/// What [`WireStore::decode_causal`] provides.
#[inline(always)]
pub(crate) fn read_causal_body<S: WireStore>(body: &[u8], cx: &mut DecodeCx) -> Result<Causal<S>, Error> {
    let mut r = Reader::whole(body);
    let context = read_context(&mut r, cx)?;
    S::decode_pair(&mut r, context, cx)
}

/// The wire form of a causal pair: the context (which is also the replica table), then the store.
#[derive(Serialize, Deserialize)]
struct CausalWire<W> {
    context: Vec<WireCtxEntry>,
    store: W,
}

impl<S: WireStore> Causal<S> {
    /// Decodes and validates a causal pair from its wire form.
    pub(crate) fn from_wire_checked(
        context: Vec<WireCtxEntry>,
        store: S::Wire,
        cx: &mut DecodeCx,
    ) -> Result<Self, Error> {
        let context = context_from_wire(context, cx)?;
        let table = ReplicaTable::of(&context);
        let store = S::from_wire(store, &table, cx)?;
        Self::check_dots(store, context, cx)
    }

    /// Reads and validates a causal pair from the front of `r`, refusing any non-canonical
    /// encoding as it reads: the context directly, then the store
    /// ([`WireStore::decode_wire`], which also checks that its dots lie in the context).
    #[inline(always)]
    fn read(r: &mut Reader<'_>, cx: &mut DecodeCx) -> Result<Self, Error> {
        let context = read_context(r, cx)?;
        let store = S::decode_wire(r, &ReplicaTable::of(&context), cx)?;
        Ok(Causal::from_parts(store, context))
    }

    /// [`Decode::decode_canonical`] of a causal type around a pair: `wrap(pair)` for the pair
    /// `body` holds, built where it is returned ([`WireStore::decode_causal`]).
    #[inline(always)]
    pub(crate) fn decode_wrapped<R>(
        body: &[u8],
        cx: &mut DecodeCx,
        wrap: impl FnOnce(Self) -> R,
    ) -> Result<R, Error> {
        // The reader refuses every non-canonical input as it reads (see `decode_canonical`).
        S::decode_causal(body, cx, wrap)
    }

    /// The pair of a decoded store and context, if the store's dots are within the limits and
    /// the context.
    fn check_dots(store: S, context: CausalContext, cx: &DecodeCx) -> Result<Self, Error> {
        crate::wire::check_store_dots(&store, &context, cx)?;
        Ok(Causal::from_parts(store, context))
    }

    /// Appends the wire form to `out`, written directly: the context, then the store
    /// ([`WireStore::encode_causal`], which a store may write in one go for a delta). The bytes
    /// of the `Serialize` impl through postcard.
    #[inline]
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        self.store.encode_causal(&self.context, &mut Writer::new(out));
    }
}

impl<S: WireStore> Serialize for Causal<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeStruct;
        // The fields of `CausalWire`, written without building it.
        let table = ReplicaTable::of(&self.context);
        let mut w = s.serialize_struct("CausalWire", 2)?;
        w.serialize_field("context", &ContextOut(&self.context))?;
        w.serialize_field("store", &StoreOut(&self.store, &table))?;
        w.end()
    }
}

impl<'de, S: WireStore> Deserialize<'de> for Causal<S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = CausalWire::<S::Wire>::deserialize(d)?;
        checked_default(|cx| Causal::from_wire_checked(w.context, w.store, cx))
    }
}

/// `[(context entry)] [store]`: the context, then the store's wire form.
impl<S: WireStore> Decode for Causal<S> {
    fn encode_body(&self, out: &mut Vec<u8>) {
        self.encode_into(out);
    }

    #[inline(always)]
    fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
        S::decode_causal(body, cx, |pair| pair)
    }

    fn decode_prefix<'b>(body: &'b [u8], cx: &mut DecodeCx) -> Result<(Self, &'b [u8]), Error> {
        let mut r = Reader::prefix(body);
        let v = Self::read(&mut r, cx)?;
        Ok((v, r.rest()))
    }

    /// The reader refuses every non-canonical input as it reads: no re-encode.
    #[inline(always)]
    fn decode_canonical(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
        Self::decode_body(body, cx)
    }
}

impl Serialize for CausalContext {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        ContextOut(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for CausalContext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Vec::<WireCtxEntry>::deserialize(d)?;
        checked_default(|cx| context_from_wire(w, cx))
    }
}

/// `[(replica id, [(gap, length)])]`, sorted by id.
impl Decode for CausalContext {
    decode_through!(|w, cx| context_from_wire(w, cx));

    #[inline]
    fn encode_body(&self, out: &mut Vec<u8>) {
        put_context(&mut Writer::new(out), self);
    }
}

impl Serialize for VersionVector {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        s.collect_seq(self.iter())
    }
}

fn vv_from_wire(v: Vec<(ReplicaId, u64)>, cx: &DecodeCx) -> Result<VersionVector, Error> {
    let limits = &cx.limits;
    cx.check_len("version-vector", v.len(), limits.max_replicas)?;
    if let Some(&(_, n)) = v.iter().find(|(_, n)| *n > limits.max_counter) {
        return Err(Error::CounterOutOfRange { field: "version-vector", value: n, max: limits.max_counter });
    }
    VersionVector::from_canonical_parts(v).ok_or(Error::NotCanonical { field: "version-vector" })
}

impl<'de> Deserialize<'de> for VersionVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<(ReplicaId, u64)>::deserialize(d)?;
        checked_default(|cx| vv_from_wire(v, cx))
    }
}

/// `[(replica id, counter)]`, sorted by id, no zero counter.
impl Decode for VersionVector {
    decode_through!(|w, cx| vv_from_wire(w, cx));
}

impl Serialize for Dot {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        (self.replica(), self.counter()).serialize(s)
    }
}

fn dot_from_wire((r, n): (ReplicaId, u64), cx: &DecodeCx) -> Result<Dot, Error> {
    let max = cx.limits.max_counter;
    if n > max {
        return Err(Error::CounterOutOfRange { field: "dot", value: n, max });
    }
    Dot::new(r, n).ok_or(Error::CounterOutOfRange { field: "dot", value: 0, max })
}

impl<'de> Deserialize<'de> for Dot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = <(ReplicaId, u64)>::deserialize(d)?;
        checked_default(|cx| dot_from_wire(w, cx))
    }
}

/// `(replica id, counter)`, the counter in `1..=max_counter`.
impl Decode for Dot {
    decode_through!(|w, cx| dot_from_wire(w, cx));
}

/// Sixteen raw bytes.
impl Decode for ReplicaId {}
