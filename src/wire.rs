//! The wire format: compact, deterministic, validated on the way in.
//!
//! Every value serializes through serde to a *wire form* in which each distinct replica id is
//! written once (in the causal context, sorted by id) and referred to elsewhere by its index
//! in that table; event numbers are varints, and per-replica ranges are gap-encoded, so a causal
//! context of `1..=n` for each of 3 replicas costs 3 ids and 6 small varints. The wire form of a
//! value is a function of its contents only: the same bytes whatever the insertion order or hash
//! seed.
//!
//! Decoding converts the wire form back and checks every invariant on the way in (see
//! [`Error`]); with the `serde` feature, [`to_bytes`] and [`from_bytes`] wrap this
//! with postcard and a one-byte format version.

use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::causal::{Causal, CausalContext, Dot, DotStore, Ranges, ReplicaId, VersionVector};
use crate::error::{Error, Limits};

/// The format version written by [`to_bytes`] and accepted by [`from_bytes`].
pub const FORMAT_VERSION: u8 = 1;

/// The replica table of one encoded value: its context's replicas, in id order.
#[derive(Debug, Clone, Default)]
pub struct ReplicaTable {
    ids: Vec<ReplicaId>,
}

impl ReplicaTable {
    /// The table of a context's replicas.
    pub(crate) fn of(ctx: &CausalContext) -> Self {
        ReplicaTable { ids: ctx.ranges().map(|(r, _)| r).collect() }
    }

    /// The index of `r`. Panics if absent: encoders only look up replicas of the context.
    pub(crate) fn index(&self, r: &ReplicaId) -> u32 {
        self.ids.binary_search(r).expect("replica of a live dot is in the context") as u32
    }

    /// The wire form of a dot.
    pub(crate) fn dot(&self, d: &Dot) -> WireDot {
        WireDot(self.index(&d.replica()), d.counter())
    }

    /// The dot of a wire form, checked against the table and the limits.
    pub(crate) fn resolve(&self, w: WireDot, cx: &DecodeCx) -> Result<Dot, Error> {
        let r = *self.ids.get(w.0 as usize).ok_or(Error::UnknownReplicaIndex { index: u64::from(w.0) })?;
        if w.1 > cx.limits.max_counter {
            return Err(Error::CounterOutOfRange { field: "dot", value: w.1, max: cx.limits.max_counter });
        }
        Dot::new(r, w.1).ok_or(Error::CounterOutOfRange {
            field: "dot",
            value: 0,
            max: cx.limits.max_counter,
        })
    }
}

/// A dot on the wire: `(index into the replica table, event number)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WireDot(pub u32, pub u64);

/// State carried through a decode: the limits and the nesting depth.
#[derive(Debug)]
pub struct DecodeCx {
    pub(crate) limits: Limits,
    pub(crate) depth: u32,
}

impl DecodeCx {
    pub(crate) fn new(limits: Limits) -> Self {
        DecodeCx { limits, depth: 0 }
    }

    /// Checks a length against a limit.
    pub(crate) fn check_len(&self, field: &'static str, found: usize, limit: usize) -> Result<(), Error> {
        if found > limit {
            Err(Error::TooLarge { field, limit: limit as u64, found: found as u64 })
        } else {
            Ok(())
        }
    }

    /// Enters one level of nesting.
    pub(crate) fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(Error::TooDeep { limit: self.limits.max_depth });
        }
        Ok(())
    }

    /// Leaves one level of nesting.
    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }
}

/// A dot store with a wire form. Implemented by every store of this crate.
pub trait WireStore: DotStore {
    /// The serde form of the store; dots are [`WireDot`]s into the value's replica table.
    type Wire: Serialize + DeserializeOwned;

    /// The wire form. Must be canonical: equal stores give equal wire forms.
    fn to_wire(&self, table: &ReplicaTable) -> Self::Wire;

    /// The store of a wire form, checking its own invariants (canonical order, no dot twice,
    /// limits). The caller checks that every dot lies in the context.
    fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error>;
}

/// One replica's entry of a context on the wire: the id and its ranges, gap-encoded as
/// `(first - previous_last - 1, last - first)` (so `1..=n` is `(0, n - 1)`).
type WireCtxEntry = (ReplicaId, Vec<(u64, u64)>);

pub(crate) fn context_to_wire(ctx: &CausalContext) -> Vec<WireCtxEntry> {
    ctx.ranges()
        .map(|(r, rs)| {
            let mut prev = 0u64;
            let v = rs
                .iter()
                .map(|&(lo, hi)| {
                    let e = (lo - prev - 1, hi - lo);
                    prev = hi;
                    e
                })
                .collect();
            (r, v)
        })
        .collect()
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
        let mut prev = 0u64;
        for (gap, len) in gaps {
            let lo = prev.checked_add(gap).and_then(|x| x.checked_add(1));
            let hi = lo.and_then(|lo| lo.checked_add(len));
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Err(Error::CounterOutOfRange {
                    field: "context",
                    value: u64::MAX,
                    max: l.max_counter,
                });
            };
            if hi > l.max_counter {
                return Err(Error::CounterOutOfRange { field: "context", value: hi, max: l.max_counter });
            }
            // Adjacent ranges (gap 0 after the first) are not canonical.
            if !rs.is_empty() && gap == 0 {
                return Err(Error::NotCanonical { field: "context" });
            }
            rs.push((lo, hi));
            prev = hi;
        }
        entries.push((r, rs));
    }
    CausalContext::from_canonical_parts(entries).ok_or(Error::NotCanonical { field: "context" })
}

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
        cx.check_len("store.dots", store.dot_count(), cx.limits.max_dots)?;
        let mut bad = None;
        store.for_each_dot(&mut |d| {
            if bad.is_none() && !context.contains(&d) {
                bad = Some(d);
            }
        });
        if let Some(dot) = bad {
            return Err(Error::DotOutsideContext { dot });
        }
        Ok(Causal::from_parts(store, context))
    }
}

impl<S: WireStore> Serialize for Causal<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let table = ReplicaTable::of(&self.context);
        CausalWire { context: context_to_wire(&self.context), store: self.store.to_wire(&table) }.serialize(s)
    }
}

impl<'de, S: WireStore> Deserialize<'de> for Causal<S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = CausalWire::<S::Wire>::deserialize(d)?;
        let mut cx = DecodeCx::new(Limits::default());
        Causal::from_wire_checked(w.context, w.store, &mut cx).map_err(serde::de::Error::custom)
    }
}

impl Serialize for CausalContext {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        context_to_wire(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for CausalContext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Vec::<WireCtxEntry>::deserialize(d)?;
        context_from_wire(w, &DecodeCx::new(Limits::default())).map_err(serde::de::Error::custom)
    }
}

impl Serialize for VersionVector {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for VersionVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<(ReplicaId, u64)>::deserialize(d)?;
        let limits = Limits::default();
        if v.len() > limits.max_replicas {
            return Err(serde::de::Error::custom(Error::TooLarge {
                field: "version vector",
                limit: limits.max_replicas as u64,
                found: v.len() as u64,
            }));
        }
        if let Some(&(_, n)) = v.iter().find(|(_, n)| *n > limits.max_counter) {
            return Err(serde::de::Error::custom(Error::CounterOutOfRange {
                field: "version vector",
                value: n,
                max: limits.max_counter,
            }));
        }
        VersionVector::from_canonical_parts(v)
            .ok_or_else(|| serde::de::Error::custom(Error::NotCanonical { field: "version vector" }))
    }
}

impl Serialize for Dot {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        (self.replica(), self.counter()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Dot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (r, n) = <(ReplicaId, u64)>::deserialize(d)?;
        Dot::new(r, n).ok_or_else(|| {
            serde::de::Error::custom(Error::CounterOutOfRange { field: "dot", value: 0, max: 0 })
        })
    }
}

/// Encodes `value` compactly: one format-version byte, then postcard (varints, no field names).
///
/// The bytes depend only on the value's contents (not on insertion order or hash seeds).
///
/// # Example
///
/// ```
/// use convergent::{wire, GCounter, ReplicaId};
///
/// let mut c = GCounter::new();
/// let delta = c.increment(ReplicaId::from_u128(1), 5);
/// let bytes = wire::to_bytes(&delta);
/// let back: GCounter = wire::from_bytes(&bytes).unwrap();
/// assert_eq!(back, delta);
/// ```
pub fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = alloc::vec![FORMAT_VERSION];
    // Serializing our types into a Vec cannot fail.
    out.extend(postcard::to_allocvec(value).expect("serialization into memory"));
    out
}

/// Decodes bytes written by [`to_bytes`], checking the version and every invariant with the
/// default [`Limits`]. Never panics; on error nothing is returned.
///
/// # Errors
///
/// [`Error::TooLarge`] for inputs over `max_bytes`, [`Error::UnsupportedVersion`],
/// [`Error::Malformed`], and any validation error of the type.
///
/// # Example
///
/// ```
/// use convergent::{wire, Error, GCounter};
///
/// assert_eq!(wire::from_bytes::<GCounter>(&[9]), Err(Error::UnsupportedVersion { found: 9 }));
/// ```
pub fn from_bytes<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    from_bytes_with(bytes, &Limits::default())
}

/// [`from_bytes`] with explicit limits on the input size.
///
/// # Errors
///
/// As [`from_bytes`].
///
/// # Example
///
/// ```
/// use convergent::{wire, Error, GCounter, Limits};
///
/// let tight = Limits { max_bytes: 2, ..Limits::default() };
/// assert!(matches!(wire::from_bytes_with::<GCounter>(&[1, 0, 0], &tight), Err(Error::TooLarge { .. })));
/// ```
pub fn from_bytes_with<T: Serialize + DeserializeOwned>(bytes: &[u8], limits: &Limits) -> Result<T, Error> {
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            field: "bytes",
            limit: limits.max_bytes as u64,
            found: bytes.len() as u64,
        });
    }
    match bytes.split_first() {
        None => Err(Error::Malformed { field: "version" }),
        Some((&FORMAT_VERSION, rest)) => match postcard::take_from_bytes::<T>(rest) {
            Ok((v, [])) => {
                // Strict: only the canonical encoding is accepted (postcard itself also reads
                // over-long varints such as `[0x80, 0x00]` for 0), so bytes and values are in
                // one-to-one correspondence and hashes of encodings can be trusted.
                if postcard::to_allocvec(&v).map_or(true, |b| b != rest) {
                    return Err(Error::NotCanonical { field: "encoding" });
                }
                Ok(v)
            }
            // Trailing bytes: two encodings would decode to one value, breaking canonicality.
            Ok(_) => Err(Error::Malformed { field: "trailing bytes" }),
            Err(_) => Err(Error::Malformed { field: "value" }),
        },
        Some((&v, _)) => Err(Error::UnsupportedVersion { found: v }),
    }
}

/// The size in bytes of `value` in the compact encoding of [`to_bytes`] (version byte included).
///
/// ```
/// use convergent::{wire, GCounter, ReplicaId};
///
/// let mut c = GCounter::new();
/// let d = c.increment(ReplicaId::from_u128(1), 1);
/// assert_eq!(wire::encoded_len(&d), wire::to_bytes(&d).len());
/// ```
pub fn encoded_len<T: Serialize>(value: &T) -> usize {
    1 + postcard::experimental::serialized_size(value).expect("serialization into memory")
}
