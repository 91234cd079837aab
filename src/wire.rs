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
use serde::{Deserialize, Serialize, Serializer};

use crate::causal::{CausalContext, Dot, DotStore, ReplicaId};
use crate::error::Error;
use crate::limits::Limits;
use crate::receive::{Receive, ReceivePolicy};

mod fast;
mod ser;
mod state_size;
pub(crate) use state_size::Measure;
pub use state_size::{StateSize, receive_sized};

/// The format version written by [`to_bytes`] and accepted by [`from_bytes`].
pub const FORMAT_VERSION: u8 = 1;

/// The replica table of one encoded value: its context's replicas, in id order (the context
/// itself, borrowed: nothing is copied).
/// Plumbing: public only because it appears in public bounds; hidden from the docs and
/// not covered by semver.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ReplicaTable<'a> {
    ctx: &'a CausalContext,
}

impl<'a> ReplicaTable<'a> {
    /// The table of a context's replicas.
    #[inline]
    pub(crate) fn of(ctx: &'a CausalContext) -> Self {
        ReplicaTable { ctx }
    }

    /// The context the table indexes.
    #[inline]
    pub(crate) fn context(&self) -> &'a CausalContext {
        self.ctx
    }

    /// The index of `r`. Panics if absent: encoders only look up replicas of the context.
    /// A context of one replica (a delta's, usually) answers 0 without comparing: every live
    /// dot of a value lies in its context (checked in debug builds).
    #[inline]
    pub(crate) fn index(&self, r: &ReplicaId) -> u32 {
        if self.ctx.replica_at(1).is_none() {
            debug_assert_eq!(self.ctx.replica_index(r), Some(0), "replica of a live dot is in the context");
            return 0;
        }
        self.ctx.replica_index(r).expect("replica of a live dot is in the context") as u32
    }

    /// The wire form of a dot.
    pub(crate) fn dot(&self, d: &Dot) -> WireDot {
        WireDot(self.index(&d.replica()), d.counter())
    }

    /// The dot of a wire form, checked against the table and the limits.
    #[inline]
    pub(crate) fn resolve(&self, w: WireDot, cx: &DecodeCx) -> Result<Dot, Error> {
        let (r, _) = self
            .ctx
            .replica_at(w.0 as usize)
            .ok_or_else(|| Error::UnknownReplicaIndex { index: u64::from(w.0) })?;
        if w.1 > cx.limits.max_counter {
            return Err(Error::CounterOutOfRange { field: "dot", value: w.1, max: cx.limits.max_counter });
        }
        // `let else`, not `ok_or`: an error built eagerly is dropped on every success (measured).
        let Some(dot) = Dot::new(r, w.1) else {
            return Err(Error::CounterOutOfRange { field: "dot", value: 0, max: cx.limits.max_counter });
        };
        Ok(dot)
    }
}

/// A dot on the wire: `(index into the replica table, event number)`.
/// Plumbing: public only because it appears in public bounds; hidden from the docs and
/// not covered by semver.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WireDot(pub u32, pub u64);

/// State carried through a decode: the [`Limits`] and the current nesting depth.
///
/// Every checked conversion from a wire form receives one; [`from_bytes_with`] builds it from the
/// caller's limits, so every limit applies at every nesting level.
///
/// ```
/// use convergent::wire::DecodeCx;
/// use convergent::Limits;
///
/// let cx = DecodeCx::new(Limits { max_depth: 3, ..Limits::default() });
/// assert_eq!(cx.limits().max_depth, 3);
/// assert_eq!(cx.depth(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct DecodeCx {
    pub(crate) limits: Limits,
    pub(crate) depth: u32,
}

impl DecodeCx {
    /// A context at depth 0 with the given limits.
    ///
    /// ```
    /// # use convergent::{Limits, wire::DecodeCx};
    /// assert_eq!(DecodeCx::new(Limits::default()).limits(), &Limits::default());
    /// ```
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        DecodeCx { limits, depth: 0 }
    }

    /// The limits in force.
    ///
    /// ```
    /// # use convergent::{Limits, wire::DecodeCx};
    /// assert_eq!(DecodeCx::new(Limits::default()).limits().max_depth, 64);
    /// ```
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The nesting depth of the value being decoded (0 at the top).
    ///
    /// ```
    /// # use convergent::{Limits, wire::DecodeCx};
    /// assert_eq!(DecodeCx::new(Limits::default()).depth(), 0);
    /// ```
    #[must_use]
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Checks a length against a limit: [`Error::TooLarge`] naming `field` if `found > limit`.
    ///
    /// ```
    /// # use convergent::{Error, Limits, wire::DecodeCx};
    /// let cx = DecodeCx::new(Limits::default());
    /// assert!(cx.check_len("items", 3, 3).is_ok());
    /// assert_eq!(cx.check_len("items", 4, 3), Err(Error::TooLarge { field: "items", limit: 3, found: 4 }));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] when `found > limit`.
    pub fn check_len(&self, field: &'static str, found: usize, limit: usize) -> Result<(), Error> {
        if found > limit {
            Err(Error::TooLarge { field, limit: limit as u64, found: found as u64 })
        } else {
            Ok(())
        }
    }

    /// Enters one level of nesting: [`Error::TooDeep`] beyond [`Limits::max_depth`].
    pub(crate) fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            self.depth -= 1;
            return Err(Error::TooDeep { limit: self.limits.max_depth });
        }
        Ok(())
    }

    /// Leaves one level of nesting.
    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }
}

/// A type that decodes from the bytes of [`to_bytes`] with typed errors and every [`Limits`].
///
/// [`from_bytes`] and [`from_bytes_with`] call [`decode_body`](Self::decode_body) on the
/// postcard body (the bytes after the format-version byte). Every type of this crate implements
/// it in two steps: postcard decodes the body into a plain serde *wire form* (structural errors
/// only: [`Error::Malformed`]), then a checked conversion under the [`DecodeCx`] builds the value
/// and reports the precise [`Error`] (`TooLarge`, `NotCanonical`, `DotOutsideContext`,
/// `DuplicateDot`, `CounterOutOfRange`, `TooDeep`, ...). The types' serde `Deserialize` impls run
/// the same conversion with [`Limits::default`] (for other serde formats, where the error becomes
/// the format's custom error).
///
/// Your own lattice types (for a [`SyncEngine`](crate::sync::SyncEngine) or a
/// [`Simulation`](crate::sim::Simulation)) opt in with one line: the provided method decodes
/// with serde and reports any failure as [`Error::Malformed`].
///
/// Allocation: no length prefix makes decoding allocate more than the input holds (postcard
/// gives no size hint for a sequence longer than the bytes left, and the limits are checked
/// before the decoded value is built).
///
/// # Example
///
/// ```
/// use convergent::wire::{Decode, self};
/// use convergent::{Error, GCounter, Limits, ReplicaId};
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Note(String);
/// impl Decode for Note {}
///
/// let n = Note("hi".into());
/// assert_eq!(wire::from_bytes::<Note>(&wire::to_bytes(&n)), Ok(n));
///
/// // The crate's own types report what is wrong, under the caller's limits.
/// let mut c = GCounter::new();
/// let _ = c.increment(ReplicaId::from_u128(1), 1);
/// let _ = c.increment(ReplicaId::from_u128(2), 1);
/// let one = Limits { max_replicas: 1, ..Limits::default() };
/// assert!(matches!(
///     wire::from_bytes_with::<GCounter>(&wire::to_bytes(&c), &one),
///     Err(Error::TooLarge { field: "g-counter", limit: 1, found: 2 })
/// ));
/// ```
pub trait Decode: Serialize + DeserializeOwned {
    /// Appends the body of `self` to `out`: the bytes [`to_bytes`] writes after the
    /// format-version byte, which [`decode_body`](Self::decode_body) reads.
    ///
    /// The provided method serializes `self` through serde in postcard's format (the bytes of
    /// `postcard::to_allocvec`, written straight into `out`); the crate's types write the same
    /// bytes directly (no serde call per field, no intermediate copy of their contents). An
    /// override must write exactly the bytes of the provided method.
    ///
    /// # Panics
    ///
    /// If the type's `Serialize` impl fails (postcard refuses, for one, a sequence of unknown
    /// length); the crate's types never do.
    ///
    /// ```
    /// use convergent::wire::Decode;
    /// use convergent::{GCounter, ReplicaId, wire};
    ///
    /// let mut c = GCounter::new();
    /// let _ = c.increment(ReplicaId::from_u128(1), 5);
    /// let mut body = Vec::new();
    /// c.encode_body(&mut body);
    /// assert_eq!(&wire::to_bytes(&c)[1..], &body[..]);
    /// ```
    fn encode_body(&self, out: &mut Vec<u8>) {
        put_serde(out, self);
    }

    /// Decodes `body` (postcard, no version byte; all of it) under the limits of `cx`.
    ///
    /// The provided method decodes `Self` with serde and reports any failure as
    /// [`Error::Malformed`]; the crate's types override it with typed errors.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for bytes that do not decode (or are followed by trailing bytes),
    /// and any validation error of the type.
    ///
    /// ```
    /// use convergent::wire::{Decode, DecodeCx};
    /// use convergent::{Error, EwFlag, Limits};
    ///
    /// let mut cx = DecodeCx::new(Limits::default());
    /// assert_eq!(EwFlag::decode_body(&[0, 0], &mut cx), Ok(EwFlag::new()));
    /// assert_eq!(EwFlag::decode_body(&[0, 0, 7], &mut cx), Err(Error::Malformed { field: "bytes.trailing" }));
    /// ```
    fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
        match Self::decode_prefix(body, cx)? {
            (v, []) => Ok(v),
            // Trailing bytes: two encodings would decode to one value, breaking canonicality.
            _ => Err(Error::Malformed { field: "bytes.trailing" }),
        }
    }

    /// Decodes one value from the front of `bytes` under the limits of `cx`, and returns it with
    /// the bytes after it: how a composite value (a tuple, a `#[derive(Lattice)]` struct)
    /// decodes its parts in turn, each with its own typed errors and every limit.
    ///
    /// The provided method decodes `Self` with serde ([`Error::Malformed`] on failure); the
    /// crate's types override it with their checked conversion.
    ///
    /// # Errors
    ///
    /// As [`decode_body`](Self::decode_body), except that bytes after the value are returned,
    /// not refused.
    ///
    /// ```
    /// use convergent::wire::{Decode, DecodeCx};
    /// use convergent::{EwFlag, Limits};
    ///
    /// let mut cx = DecodeCx::new(Limits::default());
    /// assert_eq!(EwFlag::decode_prefix(&[0, 0, 7], &mut cx), Ok((EwFlag::new(), &[7u8][..])));
    /// ```
    fn decode_prefix<'b>(bytes: &'b [u8], cx: &mut DecodeCx) -> Result<(Self, &'b [u8]), Error> {
        decode_prefix_via(bytes, cx, |v, _| Ok(v))
    }

    /// [`decode_body`](Self::decode_body), and a check that `body` is the canonical encoding of
    /// the value: what [`from_bytes_with`] calls. The provided method encodes the value again
    /// against `body`; a type whose decoder refuses every non-canonical input as it reads
    /// (the causal types) overrides it with its decoder alone.
    ///
    /// # Errors
    ///
    /// As [`decode_body`](Self::decode_body), and [`Error::NotCanonical`] for a body that is
    /// not the value's canonical encoding.
    ///
    /// ```
    /// use convergent::wire::{Decode, DecodeCx};
    /// use convergent::{Error, Limits};
    ///
    /// let mut cx = DecodeCx::new(Limits::default());
    /// assert_eq!(u64::decode_canonical(&[5], &mut cx), Ok(5));
    /// // 5 written in two bytes: postcard reads it, the canonical check refuses it.
    /// assert_eq!(u64::decode_canonical(&[0x85, 0x00], &mut cx), Err(Error::NotCanonical { field: "encoding" }));
    /// ```
    fn decode_canonical(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
        let v = Self::decode_body(body, cx)?;
        if !is_canonical(&v, body) {
            return Err(Error::NotCanonical { field: "encoding" });
        }
        Ok(v)
    }
}

/// Decodes the wire form `W` from the front of `bytes`, then converts it with `f` under `cx`;
/// returns the value and the bytes after it.
pub(crate) fn decode_prefix_via<'b, W: DeserializeOwned, T>(
    bytes: &'b [u8],
    cx: &mut DecodeCx,
    f: impl FnOnce(W, &mut DecodeCx) -> Result<T, Error>,
) -> Result<(T, &'b [u8]), Error> {
    let (w, rest) = postcard::take_from_bytes::<W>(bytes).map_err(|_| Error::Malformed { field: "value" })?;
    Ok((f(w, cx)?, rest))
}

/// Decodes the wire form `W` from all of `body` (trailing bytes refused before any conversion),
/// then converts it with `f` under `cx`.
pub(crate) fn decode_via<W: DeserializeOwned, T>(
    body: &[u8],
    cx: &mut DecodeCx,
    f: impl FnOnce(W, &mut DecodeCx) -> Result<T, Error>,
) -> Result<T, Error> {
    match decode_prefix_via(body, cx, |w, _| Ok(w))? {
        (w, []) => f(w, cx),
        _ => Err(Error::Malformed { field: "bytes.trailing" }),
    }
}

/// `decode_body` and `decode_prefix` of a type decoded through a wire form and a checked
/// conversion `f`: the whole-body decoder refuses trailing bytes before converting.
macro_rules! decode_through {
    ($f:expr) => {
        fn decode_body(body: &[u8], cx: &mut $crate::wire::DecodeCx) -> Result<Self, $crate::Error> {
            $crate::wire::decode_via(body, cx, $f)
        }
        fn decode_prefix<'b>(
            body: &'b [u8],
            cx: &mut $crate::wire::DecodeCx,
        ) -> Result<(Self, &'b [u8]), $crate::Error> {
            $crate::wire::decode_prefix_via(body, cx, $f)
        }
    };
}
pub(crate) use decode_through;

/// A strict reader of the postcard format, for the decoders that read bytes directly instead of
/// through a serde wire form: every varint must be minimal (postcard itself also reads
/// over-long varints such as `[0x80, 0x00]` for 0), so a value read this way needs no
/// canonical re-encode afterwards, only the parts read through serde do (see
/// [`value`](Self::value)). Plumbing: public only because it appears in public bounds; hidden
/// from the docs and not covered by semver.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Reader<'b> {
    bytes: &'b [u8],
    /// Whether the value must end the bytes (a whole body, not a prefix).
    whole: bool,
}

impl<'b> Reader<'b> {
    /// A reader of a value at the front of `bytes`.
    pub(crate) fn prefix(bytes: &'b [u8]) -> Self {
        Reader { bytes, whole: false }
    }

    /// A reader of a value that must be all of `bytes`.
    pub(crate) fn whole(bytes: &'b [u8]) -> Self {
        Reader { bytes, whole: true }
    }

    /// For a whole-body reader, [`Error::Malformed`] (`bytes.trailing`) if bytes are left:
    /// called once the last part is read and before it is validated, so that a value followed by
    /// garbage is refused as malformed, as the serde decoders do.
    #[inline]
    pub(crate) fn check_end(&self) -> Result<(), Error> {
        if self.whole && !self.bytes.is_empty() {
            // Trailing bytes: two encodings would decode to one value, breaking canonicality.
            return Err(Error::Malformed { field: "bytes.trailing" });
        }
        Ok(())
    }

    /// The bytes not read yet.
    #[inline]
    pub(crate) fn rest(&self) -> &'b [u8] {
        self.bytes
    }

    /// A minimal LEB128 varint of at most `max_bytes` bytes whose last byte is at most `last_max`.
    #[inline]
    fn varint(&mut self, max_bytes: usize, last_max: u8) -> Result<u64, Error> {
        // One byte (below 128): the common case, always minimal.
        if let Some((&b, rest)) = self.bytes.split_first() {
            if b < 0x80 {
                self.bytes = rest;
                return Ok(u64::from(b));
            }
        }
        self.varint_long(max_bytes, last_max)
    }

    /// [`varint`](Self::varint) of two bytes or more.
    #[inline(always)]
    fn varint_long(&mut self, max_bytes: usize, last_max: u8) -> Result<u64, Error> {
        // Two bytes (below 16 384; minimal when the second is not zero): the next most common.
        if let [b, c, ref rest @ ..] = *self.bytes {
            if c < 0x80 && c != 0 && max_bytes > 2 {
                self.bytes = rest;
                return Ok(u64::from(b & 0x7f) | (u64::from(c) << 7));
            }
        }
        // Eight bytes at once (zeros past the end): the varint ends at the first byte without
        // its high bit; its 7-bit groups are packed together in three steps.
        let (w, avail) = match self.bytes.first_chunk::<8>() {
            Some(head) => (u64::from_le_bytes(*head), 8),
            None => (load_short(self.bytes), self.bytes.len()),
        };
        let n = ((!w & 0x8080_8080_8080_8080).trailing_zeros() / 8 + 1) as usize;
        if n <= avail && n <= max_bytes {
            let last = (w >> (8 * (n - 1))) as u8;
            if n == max_bytes && last > last_max {
                return Err(Error::Malformed { field: "value" });
            }
            if last == 0 {
                // A zero last byte after others (the first has its high bit): over-long.
                return Err(Error::NotCanonical { field: "encoding" });
            }
            let x = if n == 8 { w } else { w & ((1u64 << (8 * n)) - 1) } & 0x7f7f_7f7f_7f7f_7f7f;
            let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
            let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
            let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
            self.bytes = &self.bytes[n..];
            return Ok(x);
        }
        // Nine or ten bytes, or an error.
        self.varint_bytewise(max_bytes, last_max)
    }

    /// [`varint_long`](Self::varint_long) a byte at a time.
    fn varint_bytewise(&mut self, max_bytes: usize, last_max: u8) -> Result<u64, Error> {
        let b = self.bytes;
        let mut out = 0u64;
        let mut i = 0;
        while i < max_bytes && i < b.len() {
            let x = b[i];
            out |= u64::from(x & 0x7f) << (7 * i);
            if x < 0x80 {
                if i + 1 == max_bytes && x > last_max {
                    return Err(Error::Malformed { field: "value" });
                }
                // A zero last byte after others: an over-long encoding of a shorter varint.
                if x == 0 && i > 0 {
                    return Err(Error::NotCanonical { field: "encoding" });
                }
                self.bytes = &b[i + 1..];
                return Ok(out);
            }
            i += 1;
        }
        Err(Error::Malformed { field: "value" })
    }

    /// A `u64` varint.
    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        self.varint(10, 1)
    }

    /// A `u32` varint.
    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        // Fits: at most 5 bytes with a last byte of at most 4 bits.
        self.varint(5, 0x0f).map(|v| v as u32)
    }

    /// A sequence length (a `usize` varint; read as `u64`, saturating on 32-bit targets so that
    /// the caller's limit check refuses it).
    #[inline]
    pub(crate) fn len(&mut self) -> Result<usize, Error> {
        self.u64().map(|v| usize::try_from(v).unwrap_or(usize::MAX))
    }

    /// `N` raw bytes, if there are `N`.
    #[inline]
    fn raw_bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }

    /// Sixteen raw bytes (a replica id).
    #[inline]
    pub(crate) fn bytes16(&mut self) -> Result<[u8; 16], Error> {
        let Some((head, rest)) = self.bytes.split_first_chunk::<16>() else {
            return Err(Error::Malformed { field: "value" });
        };
        self.bytes = rest;
        Ok(*head)
    }

    /// A value read through serde, then checked canonical by encoding it again against the bytes
    /// it was read from (nothing allocated for the comparison).
    ///
    /// The strict reader of [`fast`] and the comparer of `ser.rs` first (no postcard call);
    /// postcard decides whenever they give up. The comparer takes the varints of two bytes or
    /// more that the strict reader noted ([`fast::Varints`]) by value instead of reading them
    /// again: the same answer as comparing the bytes, for every type (its `Deserialize` may read
    /// one value from several encodings, so the comparison itself stays).
    #[inline]
    pub(crate) fn value<T: Serialize + DeserializeOwned>(&mut self) -> Result<T, Error> {
        let start = self.bytes;
        let mut ahead = *self;
        let mut noted = fast::Varints::default();
        if let Ok(v) = fast::take_noted::<T>(&mut ahead, &mut noted) {
            // The varints the strict read noted are compared by value, not read again.
            if ser::same_noted(&v, &start[..start.len() - ahead.bytes.len()], &noted) {
                *self = ahead;
                return Ok(v);
            }
        }
        self.value_postcard()
    }

    /// [`value`](Self::value) through postcard: what decides when the fast path gives up.
    #[cold]
    #[inline(never)]
    fn value_postcard<T: Serialize + DeserializeOwned>(&mut self) -> Result<T, Error> {
        let start = self.bytes;
        let (v, rest) =
            postcard::take_from_bytes::<T>(start).map_err(|_| Error::Malformed { field: "value" })?;
        self.bytes = rest;
        if !is_canonical(&v, &start[..start.len() - rest.len()]) {
            return Err(Error::NotCanonical { field: "encoding" });
        }
        Ok(v)
    }

    /// A store's wire form read through serde and converted with [`WireStore::from_wire`], then
    /// checked canonical against the bytes it was read from. The last part of a value: a
    /// whole-body reader refuses trailing bytes before the conversion.
    pub(crate) fn store<S: WireStore>(
        &mut self,
        table: &ReplicaTable,
        cx: &mut DecodeCx,
    ) -> Result<S, Error> {
        let start = self.bytes;
        // The strict reader first; postcard decides when it gives up.
        let mut ahead = *self;
        let w = match fast::take::<S::Wire>(&mut ahead) {
            Ok(w) => w,
            Err(_) => {
                let (w, rest) = postcard::take_from_bytes::<S::Wire>(start)
                    .map_err(|_| Error::Malformed { field: "value" })?;
                ahead.bytes = rest;
                w
            }
        };
        self.bytes = ahead.bytes;
        self.check_end()?;
        let s = S::from_wire(w, table, cx)?;
        if !is_canonical(&StoreOut(&s, table), &start[..start.len() - self.bytes.len()]) {
            return Err(Error::NotCanonical { field: "encoding" });
        }
        Ok(s)
    }
}

/// A store's wire form, through [`WireStore::serialize_wire`].
pub(crate) struct StoreOut<'a, S>(pub(crate) &'a S, pub(crate) &'a ReplicaTable<'a>);

impl<S: WireStore> Serialize for StoreOut<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        self.0.serialize_wire(self.1, s)
    }
}

/// Runs a checked conversion with the default limits, for serde `Deserialize` impls.
pub(crate) fn checked_default<T, E: serde::de::Error>(
    f: impl FnOnce(&mut DecodeCx) -> Result<T, Error>,
) -> Result<T, E> {
    f(&mut DecodeCx::new(Limits::default())).map_err(E::custom)
}

/// A dot store with a wire form. Implemented by every store of this crate.
/// Plumbing: public only because it appears in public bounds; hidden from the docs, not
/// covered by semver, and sealed through [`DotStore`].
#[doc(hidden)]
pub trait WireStore: DotStore {
    /// The serde form of the store; dots are [`WireDot`]s into the value's replica table.
    type Wire: Serialize + DeserializeOwned;

    /// The wire form. Must be canonical: equal stores give equal wire forms.
    fn to_wire(&self, table: &ReplicaTable) -> Self::Wire;

    /// Serializes the wire form: the same output as serializing [`to_wire`](Self::to_wire),
    /// which a store may write without building it (no copy of its elements).
    fn serialize_wire<Z: Serializer>(&self, table: &ReplicaTable, s: Z) -> Result<Z::Ok, Z::Error> {
        self.to_wire(table).serialize(s)
    }

    /// Appends the wire form of the causal pair of this store and `context`: the context, then
    /// the store ([`encode_wire`](Self::encode_wire)), which the provided method writes in
    /// turn; a store may write its common small shapes (a delta's) in one go, the exact same
    /// bytes. What [`Decode::encode_body`] of a causal pair, and of each causal type, calls.
    #[doc(hidden)]
    #[inline(always)]
    fn encode_causal(&self, context: &CausalContext, w: &mut Writer<'_>) {
        context.encode_body(w.out);
        self.encode_wire(&ReplicaTable::of(context), w);
    }

    /// Appends the postcard encoding of the wire form to `out`: the bytes of
    /// [`serialize_wire`](Self::serialize_wire) through postcard, which the provided method
    /// calls; a store may write them directly.
    #[doc(hidden)]
    fn encode_wire(&self, table: &ReplicaTable, w: &mut Writer<'_>) {
        w.serde(&StoreOut(self, table));
    }

    /// The store of a wire form, checking its own invariants (canonical order, no dot twice,
    /// limits). The caller checks that every dot lies in the context.
    fn from_wire(wire: Self::Wire, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error>;

    /// Reads the store from the front of `r` (the last part of its value: call
    /// [`Reader::check_end`] once read, before validating) and checks that its bytes are
    /// canonical: the
    /// provided method reads the wire form through serde and re-encodes the store against the
    /// bytes read; a store may read its bytes directly instead (the set does for one element).
    /// The caller checks that every dot lies in the context.
    ///
    /// Also checks that every dot lies in the table's context, and the number of dots against
    /// [`Limits::max_dots`] ([`check_store_dots`]).
    #[doc(hidden)]
    fn decode_wire(r: &mut Reader<'_>, table: &ReplicaTable, cx: &mut DecodeCx) -> Result<Self, Error> {
        let s: Self = r.store(table, cx)?;
        check_store_dots(&s, table.context(), cx)?;
        Ok(s)
    }

    /// Decodes a whole causal pair of this store from `body` (all of it) and returns
    /// `wrap(pair)`: what [`Decode::decode_body`] of a causal pair, and of each causal type,
    /// calls (`wrap` builds the type around the pair where it is returned: a pair returned,
    /// then wrapped, was copied: 120 bytes for a set of `u64`). The provided method reads the
    /// context, then the store with [`decode_pair`](Self::decode_pair); a store may first try a
    /// one-pass read of its common small shapes, which must accept only bodies the provided
    /// method accepts and build exactly the value it builds (anything else goes to the provided
    /// path, which decides the error).
    #[doc(hidden)]
    #[inline(always)]
    fn decode_causal<R>(
        body: &[u8],
        cx: &mut DecodeCx,
        wrap: impl FnOnce(crate::causal::Causal<Self>) -> R,
    ) -> Result<R, Error> {
        crate::causal::read_causal_body(body, cx).map(wrap)
    }

    /// Reads the store after `context` (the last part of the value) with
    /// [`decode_wire`](Self::decode_wire) and returns the causal pair, built once where it is
    /// returned; a store may build the pair of a small store in place (no move of the store).
    #[doc(hidden)]
    #[inline(always)]
    fn decode_pair(
        r: &mut Reader<'_>,
        context: CausalContext,
        cx: &mut DecodeCx,
    ) -> Result<crate::causal::Causal<Self>, Error> {
        let store = Self::decode_wire(r, &ReplicaTable::of(&context), cx)?;
        r.check_end()?;
        Ok(crate::causal::Causal::from_parts(store, context))
    }
}

/// Checks a decoded store against its context: at most [`Limits::max_dots`] dots (field
/// `store.dots`), every one of them in `ctx` (else [`Error::DotOutsideContext`] naming the first
/// found).
pub(crate) fn check_store_dots<S: DotStore>(
    store: &S,
    ctx: &CausalContext,
    cx: &DecodeCx,
) -> Result<(), Error> {
    cx.check_len("store.dots", store.dot_count(), cx.limits.max_dots)?;
    let mut bad = None;
    store.for_each_dot(&mut |d| {
        if bad.is_none() && !ctx.contains(&d) {
            bad = Some(d);
        }
    });
    match bad {
        Some(dot) => Err(Error::DotOutsideContext { dot }),
        None => Ok(()),
    }
}

/// Plain values decode with serde: nothing to validate beyond their shape.
macro_rules! plain_decode {
    ($($t:ty),*) => { $(impl Decode for $t {})* };
}
plain_decode!((), bool, u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, alloc::string::String);

/// A varint.
impl Decode for crate::clock::Timestamp {}

/// Encodes `value` compactly: one format-version byte, then postcard (varints, no field names),
/// written by the type's [`Decode::encode_body`].
///
/// The bytes depend only on the value's contents (not on insertion order or hash seeds). The
/// crate's types write them directly (no serde call per field, no intermediate copy of their
/// contents); other types, such as your own lattice with `impl Decode for MyLattice {}`, through
/// their serde `Serialize` impl. One allocation for a value of up to 64 bytes; `O(value)`.
///
/// # Example
///
/// ```
/// use convergent::{GCounter, OrSet, ReplicaId, wire};
///
/// let mut c = GCounter::new();
/// let delta = c.increment(ReplicaId::from_u128(1), 5);
/// let bytes = wire::to_bytes(&delta);
/// let back: GCounter = wire::from_bytes(&bytes).unwrap();
/// assert_eq!(back, delta);
///
/// let mut s = OrSet::new();
/// let insert = s.insert(ReplicaId::from_u128(1), 7u64);
/// assert_eq!(wire::from_bytes::<OrSet<u64>>(&wire::to_bytes(&insert)), Ok(insert));
/// ```
#[must_use]
pub fn to_bytes<T: Decode>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT_VERSION);
    value.encode_body(&mut out);
    out
}

/// The bytes of [`to_bytes`] for any `Serialize` value, through serde: what the crate's tests
/// craft wire forms with.
#[cfg(test)]
pub(crate) fn serde_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = alloc::vec![FORMAT_VERSION];
    put_serde(&mut out, value);
    out
}

/// The bytes of `b` (fewer than eight) as a little-endian `u64`, zeros above them: two loads that
/// may overlap (an overlapping byte lands at the same place in both).
#[inline]
fn load_short(b: &[u8]) -> u64 {
    let n = b.len();
    match (b.first_chunk::<4>(), b.last_chunk::<4>(), b.first_chunk::<2>(), b.last_chunk::<2>()) {
        (Some(lo), Some(hi), _, _) => {
            u64::from(u32::from_le_bytes(*lo)) | (u64::from(u32::from_le_bytes(*hi)) << (8 * (n - 4)))
        }
        (_, _, Some(lo), Some(hi)) => {
            u64::from(u16::from_le_bytes(*lo)) | (u64::from(u16::from_le_bytes(*hi)) << (8 * (n - 2)))
        }
        _ => b.first().map_or(0, |&x| u64::from(x)),
    }
}

/// Appends the postcard encoding of `v` (through serde) to `out`.
///
/// # Panics
///
/// If `v`'s `Serialize` impl fails (see [`Decode::encode_body`]).
#[inline]
fn put_serde<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    Writer::new(out).serde(v);
}

/// The output of the direct encoders ([`Decode::encode_body`] of the crate's types): the bytes
/// of the postcard format appended to a vector, each field written in place (no serde call per
/// field). Plumbing: public only because it appears in public bounds; hidden from the docs and
/// not covered by semver.
#[doc(hidden)]
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// A writer appending to `out`.
    #[inline]
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Writer { out }
    }

    /// The output.
    #[inline(always)]
    pub(crate) fn out(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// One byte.
    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    /// A varint (LEB128, minimal): one byte below 128 pushed in place (most lengths, gaps and
    /// indices), longer ones by [`varint_long`](Self::varint_long).
    #[inline(always)]
    pub(crate) fn varint(&mut self, v: u64) {
        if v < 0x80 {
            self.out.push(v as u8);
        } else {
            self.varint_long(v);
        }
    }

    /// A varint of two bytes or more (at most 10). Below 2^56 (up to 8 bytes) without a loop:
    /// the 8-byte word of [`varint_word`] appended and cut to length.
    /// Near the end of the output's capacity it pushes byte by byte instead, so that the word
    /// never grows the output past what the varint needs.
    #[inline]
    fn varint_long(&mut self, v: u64) {
        if v >= 1 << 56 || self.out.capacity() - self.out.len() < 8 {
            self.varint_bytewise(v);
            return;
        }
        let (word, len) = varint_word(v);
        let start = self.out.len();
        self.out.extend_from_slice(&word.to_le_bytes());
        self.out.truncate(start + len);
    }

    /// A varint, one byte at a time (9 or 10 bytes, or the output nearly full).
    #[cold]
    fn varint_bytewise(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    /// Writes the bytes `f` puts in a [`Window`] of `N` bytes at the end of the output, if the
    /// output has room for `N` more bytes and `f` returns `true`; else writes nothing and
    /// returns `false` (the caller then writes the bytes another way). The room is zeroed once
    /// (no allocation: the window never grows the output), `f` writes into it by position, and
    /// the output is cut after the last byte written.
    ///
    /// For a short run of small fields of bounded size (a delta's context and store): a push
    /// checks the capacity and stores the length back through the output on every byte, a
    /// window checks each position against its constant size and keeps it in a register.
    #[inline(always)]
    pub(crate) fn window<const N: usize>(&mut self, f: impl FnOnce(&mut Window<'_, N>) -> bool) -> bool {
        let start = self.out.len();
        if self.out.capacity() - start < N {
            return false;
        }
        self.out.resize(start + N, 0);
        let Some(buf) = self.out[start..].first_chunk_mut::<N>() else {
            return false;
        };
        let mut win = Window { buf, pos: 0 };
        let done = f(&mut win);
        let end = if done { start + win.pos } else { start };
        self.out.truncate(end);
        done
    }

    /// A sequence length (a `usize` varint).
    #[inline]
    pub(crate) fn len(&mut self, n: usize) {
        self.varint(n as u64);
    }

    /// Sixteen raw bytes (a replica id).
    #[inline]
    pub(crate) fn bytes16(&mut self, b: &[u8; 16]) {
        self.out.extend_from_slice(b);
    }

    /// Raw bytes.
    #[inline]
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    /// A value through serde (postcard).
    ///
    /// # Panics
    ///
    /// If `v`'s `Serialize` impl fails (see [`Decode::encode_body`]).
    #[inline]
    pub(crate) fn serde<T: Serialize + ?Sized>(&mut self, v: &T) {
        // The writer is the serializer's sink (`ser.rs`): no postcard serializer built per value.
        v.serialize(&mut ser::Ser(self)).expect("serialization into memory");
    }
}

/// The varint of `v` (`0x80 <= v < 2^56`: 2 to 8 bytes) as a little-endian word, and its
/// length: the 7-bit groups spread to one per byte, the continuation bits set on all but the
/// last (the bytes past the length are zero).
#[inline(always)]
fn varint_word(v: u64) -> (u64, usize) {
    debug_assert!((0x80..1 << 56).contains(&v));
    // 56 bits to 8 bytes of 7: halves of 28 bits 32 apart, then quarters of 14 bits 16
    // apart, then groups of 7 bits 8 apart.
    let x = ((v & 0x00ff_ffff_f000_0000) << 4) | (v & 0x0fff_ffff);
    let x = ((x & 0x0fff_c000_0fff_c000) << 2) | (x & 0x0000_3fff_0000_3fff);
    let spread = ((x & 0x3f80_3f80_3f80_3f80) << 1) | (x & 0x007f_007f_007f_007f);
    // `ceil(bits / 7)` (exact for bits up to 70); `v >= 0x80`: 2 to 8 bytes, so the
    // continuation bits of the first `len - 1` bytes shift by 8 to 56.
    let bits = 64 - v.leading_zeros();
    let len = (((bits + 6) * 37) >> 8) as usize;
    let more = 0x8080_8080_8080_8080u64 >> (64 - 8 * (len - 1));
    (spread | more, len)
}

/// Bytes written by position into `N` bytes reserved at the end of the output
/// ([`Writer::window`]): each write checks its position against `N`, not the output's capacity.
/// The fixed parts of a value are written with [`byte`](Self::byte) and the like (a caller
/// sizes `N` for their most bytes: past it they panic), the parts of unbounded size (an
/// element) with [`serde`](Self::serde), which reports a value that does not fit.
/// Plumbing: public only because it appears in public bounds; hidden from the docs and not
/// covered by semver.
#[doc(hidden)]
#[derive(Debug)]
pub struct Window<'b, const N: usize> {
    buf: &'b mut [u8; N],
    pos: usize,
}

/// The most bytes [`Window::one_range_context`] writes: 1 + 16 + 1 + 10 + 10.
pub(crate) const ONE_RANGE_MAX: usize = 38;

impl<const N: usize> Window<'_, N> {
    /// The wire form of the context of one replica `r` with one range `lo..=hi` (a delta's):
    /// `[(r, [(lo - 1, hi - lo)])]`, at most [`ONE_RANGE_MAX`] bytes.
    #[inline(always)]
    pub(crate) fn one_range_context(&mut self, r: ReplicaId, lo: u64, hi: u64) {
        self.byte(1);
        self.bytes16(&r.to_bytes());
        self.byte(1);
        self.varint(lo - 1);
        self.varint(hi - lo);
    }

    /// One byte.
    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    /// Sixteen raw bytes (a replica id).
    #[inline(always)]
    pub(crate) fn bytes16(&mut self, b: &[u8; 16]) {
        self.buf[self.pos..self.pos + 16].copy_from_slice(b);
        self.pos += 16;
    }

    /// A varint: the bytes of [`Writer::varint`].
    #[inline(always)]
    pub(crate) fn varint(&mut self, v: u64) {
        if !self.try_varint(v) {
            window_full();
        }
    }

    /// [`varint`](Self::varint), or `false` (the position unchanged) if it does not fit.
    #[inline(always)]
    fn try_varint(&mut self, v: u64) -> bool {
        if v < 0x80 {
            let Some(b) = self.buf.get_mut(self.pos) else { return false };
            *b = v as u8;
            self.pos += 1;
            return true;
        }
        // Below 2^56: the word of `varint_word` stored whole when 8 bytes are left (the bytes
        // past the varint are overwritten or cut later).
        if v < 1 << 56 {
            if let Some(dst) = self.buf.get_mut(self.pos..self.pos + 8) {
                let (word, len) = varint_word(v);
                dst.copy_from_slice(&word.to_le_bytes());
                self.pos += len;
                return true;
            }
        }
        // A free function, not a method: the window stays in registers.
        match window_varint_bytewise(&mut self.buf[..], self.pos, v) {
            Some(end) => {
                self.pos = end;
                true
            }
            None => false,
        }
    }

    /// A value through serde (postcard), or `false` if it does not fit (or its `Serialize` impl
    /// fails): the bytes it wrote are then garbage, the caller gives up the window.
    #[inline(always)]
    pub(crate) fn serde<T: Serialize + ?Sized>(&mut self, v: &T) -> bool {
        v.serialize(&mut ser::Ser(self)).is_ok()
    }

    /// Raw bytes, or `false` if they do not fit.
    #[inline(always)]
    fn try_bytes(&mut self, b: &[u8]) -> bool {
        let Some(dst) = self.buf.get_mut(self.pos..self.pos + b.len()) else { return false };
        dst.copy_from_slice(b);
        self.pos += b.len();
        true
    }

    /// One byte, or `false` if it does not fit.
    #[inline(always)]
    fn try_byte(&mut self, b: u8) -> bool {
        let Some(d) = self.buf.get_mut(self.pos) else { return false };
        *d = b;
        self.pos += 1;
        true
    }
}

/// A fixed part written past the window's size: a caller sized it wrong.
#[cold]
#[inline(never)]
fn window_full() -> ! {
    panic!("a fixed part written past the end of its window")
}

/// [`Window::varint`] one byte at a time, into `buf` at `pos`: the position after it, or `None`
/// if it does not fit.
#[cold]
#[inline(never)]
fn window_varint_bytewise(buf: &mut [u8], mut pos: usize, mut v: u64) -> Option<usize> {
    loop {
        let b = buf.get_mut(pos)?;
        pos += 1;
        if v < 0x80 {
            *b = v as u8;
            return Some(pos);
        }
        *b = (v as u8) | 0x80;
        v >>= 7;
    }
}

/// Whether `rest` is exactly the canonical encoding of `v`: `v` is encoded again against it
/// (nothing allocated for the bytes; the first difference stops it).
#[inline]
fn is_canonical<T: Serialize + ?Sized>(v: &T, rest: &[u8]) -> bool {
    ser::same(v, rest)
}

/// Decodes bytes written by [`to_bytes`], checking the version and every invariant with the
/// default [`Limits`]. Never panics; on error nothing is returned.
///
/// The error is the precise one (see [`Decode`]): [`Error::Malformed`] only for bytes that do not
/// decode at all.
///
/// # Errors
///
/// [`Error::TooLarge`] for inputs over `max_bytes` (or a value over any other limit),
/// [`Error::UnsupportedVersion`], [`Error::Malformed`], [`Error::NotCanonical`] for a
/// non-canonical encoding, and any validation error of the type ([`Error::DotOutsideContext`],
/// [`Error::DuplicateDot`], [`Error::CounterOutOfRange`], [`Error::TooDeep`], ...).
///
/// # Example
///
/// ```
/// use convergent::{Error, GCounter, wire};
///
/// assert_eq!(wire::from_bytes::<GCounter>(&[9]), Err(Error::UnsupportedVersion { found: 9 }));
/// ```
#[inline]
pub fn from_bytes<T: Decode>(bytes: &[u8]) -> Result<T, Error> {
    // Not through `from_bytes_with`, which is not inlined for a large decoder: here the limits
    // are constants, so that the checks against them inlined below fold.
    decode_checked(bytes, &Limits::default())
}

/// [`from_bytes`] under explicit limits: every field of `limits` applies (the input size, and
/// replicas, ranges, dots, elements, counters and depth at every nesting level).
///
/// # Errors
///
/// As [`from_bytes`].
///
/// # Example
///
/// ```
/// use convergent::{Error, GCounter, Limits, wire};
///
/// let tight = Limits { max_bytes: 2, ..Limits::default() };
/// assert!(matches!(wire::from_bytes_with::<GCounter>(&[1, 0, 0], &tight), Err(Error::TooLarge { .. })));
/// ```
#[inline]
pub fn from_bytes_with<T: Decode>(bytes: &[u8], limits: &Limits) -> Result<T, Error> {
    decode_checked(bytes, limits)
}

/// [`from_bytes_with`], inlined in [`from_bytes`] too.
#[inline(always)]
fn decode_checked<T: Decode>(bytes: &[u8], limits: &Limits) -> Result<T, Error> {
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            field: "bytes",
            limit: limits.max_bytes as u64,
            found: bytes.len() as u64,
        });
    }
    match bytes.split_first() {
        None => Err(Error::Malformed { field: "version" }),
        Some((&FORMAT_VERSION, rest)) => {
            // Strict: only the canonical encoding is accepted (postcard itself also reads
            // over-long varints such as `[0x80, 0x00]` for 0), so bytes and values are in
            // one-to-one correspondence and hashes of encodings can be trusted.
            T::decode_canonical(rest, &mut DecodeCx::new(*limits))
        }
        Some((&v, _)) => Err(Error::UnsupportedVersion { found: v }),
    }
}

/// The size in bytes of `value` in the compact encoding of [`to_bytes`] (version byte included),
/// counted without building the bytes: through the value's `Serialize` impl, which writes the
/// same bytes as [`Decode::encode_body`] (tested on every type of the crate). `O(value)`.
///
/// ```
/// use convergent::{GCounter, ReplicaId, wire};
///
/// let mut c = GCounter::new();
/// let d = c.increment(ReplicaId::from_u128(1), 1);
/// assert_eq!(wire::encoded_len(&d), wire::to_bytes(&d).len());
/// ```
#[must_use]
pub fn encoded_len<T: Decode>(value: &T) -> usize {
    serde_len(value)
}

/// [`encoded_len`] of any `Serialize` value: the length of its postcard bytes (counted by the
/// serializer of `ser.rs`, nothing written), plus the version byte.
///
/// # Panics
///
/// If `value`'s `Serialize` impl fails (see [`Decode::encode_body`]).
pub(crate) fn serde_len<T: Serialize>(value: &T) -> usize {
    1 + ser::count(value).expect("serialization into memory")
}

/// Validated receipt from bytes: decodes `bytes` under `policy.limits` (all of them), validates
/// the value against `local` ([`Receive::validate_against`]), then joins it. Returns whether
/// `local` changed. Never panics; on ANY error `local` is exactly what it was.
///
/// # Errors
///
/// Every error of [`from_bytes_with`], then of [`Receive::validate_against`].
///
/// # Example
///
/// ```
/// use convergent::{Error, OrSet, ReceivePolicy, ReplicaId, wire};
///
/// let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut remote = OrSet::new();
/// let bytes = wire::to_bytes(&remote.insert(peer, 7u32));
///
/// let mut local = OrSet::<u32>::new();
/// let policy = ReceivePolicy::new(me, 1_700_000_000_000);
/// assert_eq!(wire::receive(&mut local, &bytes, &policy), Ok(true));
/// assert!(local.contains(&7));
///
/// let before = local.clone();
/// assert!(wire::receive(&mut local, &bytes[..bytes.len() - 1], &policy).is_err());
/// assert_eq!(local, before);
/// ```
pub fn receive<T: Decode + Receive>(
    local: &mut T,
    bytes: &[u8],
    policy: &ReceivePolicy,
) -> Result<bool, Error> {
    let incoming = from_bytes_with::<T>(bytes, &policy.limits)?;
    local.receive(incoming, policy)
}
