//! Joined `max_bytes`: [`StateSize`], an upper bound on the encoded size of a receiver's state
//! kept across receipts, so that [`Limits::max_bytes`] bounds the state a join leaves, not only
//! the message, at `O(message)` per receipt (issue 10, class 5).
//!
//! **Why the bound holds.** For the types of this crate the encoding is subadditive under join
//! (`len(a ⊔ b) ≤ len(a) + len(b)`: contexts, stores, keys and counters of a join are unions or
//! maxima of the two sides, gap encodings only shrink), with one exception: a causal value
//! refers to replicas by their index in its replica table (a `u32` varint), so a join that adds
//! replicas to the table shifts the indices of the replicas sorting after them, and a reference
//! whose index crosses 128 (or 16 384, 2^21, 2^28) grows by a byte. The bound charges each join
//! `len(incoming) - 1` (the version byte is the state's own), plus for every `u32` of the
//! incoming value the bytes it may still grow by (up to the width of the largest index
//! [`Limits::max_replicas`] allows), plus the references of the counted state that the new
//! replicas could push across a width boundary: those whose value, at the count, lay within
//! `new replicas` below the boundary (a histogram of the `u32`s of the counted state below the
//! number of ids it names; a replica is new when neither the counted state nor the joins since
//! named it at that place in the value: its path through tuples and struct fields, one per
//! replica table of a composite).
//!
//! **When it recounts.** The exact size is counted on the first check, then only when the bound
//! would pass the limit, something was joined since the last count, and at least
//! `max_bytes / 16` bytes were offered since (received, refused or not, and local deltas);
//! otherwise the message is refused without a count (the last count was exact, or the counted
//! state was already within that margin of the limit). Near the limit a message first has its
//! part the receiver lacks computed (`incoming.delta(local)`, `O(incoming)`): a message the
//! receiver already holds is never refused. A count walks the state twice (its exact length,
//! then its `u32`s and replica ids): `O(state)`, so at most 16 state bytes walked per byte
//! offered.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::fmt;

use serde::ser::{self, Serialize, SerializeTuple};
use smallvec::SmallVec;

use crate::error::Error;
use crate::lattice::Decompose;
use crate::limits::Limits;
use crate::receive::{Receive, ReceivePolicy};

use super::ser::{SerError, varint_len};

/// Replica ids, each with the hash of its place in the value; inline for a delta's few.
type PlacedIds = SmallVec<[(u64, [u8; 16]); 4]>;

/// The index widths of a replica table: a reference crossing one of these grows by a byte.
const BOUNDARIES: [usize; 4] = [1 << 7, 1 << 14, 1 << 21, 1 << 28];

/// An upper bound on the encoded size of a receiver's state (what [`to_bytes`](super::to_bytes)
/// of it would return), kept next to the state across receipts, so that
/// [`Limits::max_bytes`] bounds the state a join would leave, not only the message. Without it
/// a receiver can accept two messages each under `max_bytes` whose join encodes above it, and
/// every peer with the same limits then refuses its snapshots forever.
///
/// [`receive_sized`] and the sync engine's byte paths
/// ([`SyncEngine::on_bytes`](crate::sync::SyncEngine::on_bytes)) keep one. Costs: a check is
/// `O(incoming)` while the bound stays under the limit (and allocates nothing for a small
/// delta); the exact size is counted (`O(state)`, allocating a histogram of at most one entry
/// per replica id the state names, and the set of those ids) on the first check and then at
/// most once per `max_bytes / 16` bytes offered, and a message is refused without a count when
/// the bound passes the limit before that (see `docs/receipt.md`, "Joined max_bytes").
/// Refusals are `TooLarge { field: "state.bytes" }`; the state is unchanged. A message that
/// would shrink the state is charged like one that grows it: a full receiver refuses it too
/// until a count shows room.
///
/// Every change to the state must pass through it: joins of received values through
/// [`check`](Self::check), local deltas through [`local`](Self::local); any other change
/// (a state replaced, a retirement fold joined) through [`invalidate`](Self::invalidate), after
/// which the next check counts again.
///
/// ```
/// use convergent::wire::{self, StateSize};
/// use convergent::{Error, Limits, OrSet, ReceivePolicy, ReplicaId};
///
/// let (me, a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3));
/// let policy = ReceivePolicy::new(me, 0).with_limits(Limits { max_bytes: 100, ..Limits::default() });
/// let first = wire::to_bytes(&OrSet::new().insert_all(a, 0..20u64));
/// let second = wire::to_bytes(&OrSet::new().insert_all(b, 20..40u64));
/// assert!(first.len() <= 100 && second.len() <= 100);
///
/// let (mut local, mut size) = (OrSet::<u64>::new(), StateSize::new());
/// assert_eq!(wire::receive_sized(&mut local, &first, &policy, &mut size), Ok(true));
/// let before = local.clone();
/// // The join of the two would encode above 100 bytes: refused, state unchanged.
/// assert!(matches!(
///     wire::receive_sized(&mut local, &second, &policy, &mut size),
///     Err(Error::TooLarge { field: "state.bytes", limit: 100, .. })
/// ));
/// assert_eq!(local, before);
/// assert!(wire::encoded_len(&local) <= 100);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateSize {
    /// The exact encoded size at the last count; `None` before the first (or after
    /// [`invalidate`](Self::invalidate)).
    counted: Option<usize>,
    /// An upper bound of what joins and local deltas added since the count.
    added: usize,
    /// Bytes offered since the count (received, accepted or not, and local deltas).
    credit: usize,
    /// Replica ids the counted state did not name, joined since the count.
    new_ids: usize,
    /// `prefix[v]`: how many `u32`s of the counted state are below `v`.
    prefix: Vec<usize>,
    /// The replica ids the counted state and the joins since name, each with where it stands
    /// in the value (a hash of its path through tuples and struct fields: one per replica table
    /// of a composite value).
    ids: BTreeSet<(u64, [u8; 16])>,
    /// Counts done, and the bytes they walked (for cost tests).
    recounts: u64,
    recounted_bytes: u64,
}

impl StateSize {
    /// A tracker that knows nothing yet: the first check counts the state. `O(1)`.
    ///
    /// ```
    /// # use convergent::wire::StateSize;
    /// assert_eq!(StateSize::new().bound(), None);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The current upper bound on the state's encoded size, `None` until the first count.
    /// `O(1)`.
    ///
    /// ```
    /// use convergent::wire::{self, StateSize};
    /// use convergent::{Limits, OrSet, ReplicaId};
    ///
    /// let mut set = OrSet::new();
    /// let mut size = StateSize::new();
    /// let d = set.insert(ReplicaId::from_u128(1), 7u64);
    /// size.check(&OrSet::new(), &d, 0, &Limits::default()).unwrap(); // counts the empty state
    /// assert!(size.bound().unwrap() >= wire::encoded_len(&set));
    /// ```
    #[must_use]
    pub fn bound(&self) -> Option<usize> {
        self.counted.map(|c| c.saturating_add(self.added))
    }

    /// How many times the state was counted exactly, and the bytes those counts walked (the
    /// sizes of the states counted). `O(1)`.
    ///
    /// ```
    /// # use convergent::wire::StateSize;
    /// assert_eq!(StateSize::new().recounts(), (0, 0));
    /// ```
    #[must_use]
    pub fn recounts(&self) -> (u64, u64) {
        (self.recounts, self.recounted_bytes)
    }

    /// Forgets the bound: the state changed in a way the tracker did not see. The next
    /// [`check`](Self::check) counts it again. `O(1)`.
    ///
    /// ```
    /// # use convergent::wire::StateSize;
    /// let mut s = StateSize::new();
    /// s.invalidate();
    /// assert_eq!(s.bound(), None);
    /// ```
    pub fn invalidate(&mut self) {
        self.counted = None;
    }

    /// Whether joining `incoming` (received as `received` bytes) into `local` leaves a state
    /// whose encoding fits [`Limits::max_bytes`]; if so it is charged to the bound, and the
    /// caller must then join it (a charge not joined only makes the bound looser). `O(incoming)`
    /// while the bound stays under the limit; see the type's docs for when it counts the state.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] (`field: "state.bytes"`, `found`: the bound the join would reach) if
    /// the joined state may pass the limit; nothing is charged then.
    ///
    /// ```
    /// use convergent::wire::StateSize;
    /// use convergent::{Error, GCounter, Limits, ReplicaId};
    ///
    /// let tiny = Limits { max_bytes: 20, ..Limits::default() };
    /// let mut size = StateSize::new();
    /// let one = GCounter::new().increment(ReplicaId::from_u128(2), 1);
    /// assert_eq!(size.check(&GCounter::new(), &one, 19, &tiny), Ok(()));
    /// let local = one.clone();
    /// let other = GCounter::new().increment(ReplicaId::from_u128(3), 1);
    /// assert!(matches!(size.check(&local, &other, 19, &tiny), Err(Error::TooLarge { field: "state.bytes", .. })));
    /// assert_eq!(size.check(&local, &one, 19, &tiny), Ok(())); // nothing new: never refused
    /// ```
    pub fn check<T: Decompose + Serialize>(
        &mut self,
        local: &T,
        incoming: &T,
        received: usize,
        limits: &Limits,
    ) -> Result<(), Error> {
        self.check_with(local, incoming, received, limits, Measure::serde())
    }

    /// Charges a delta of the receiver's own (a local update) to the bound. `O(delta)`.
    ///
    /// ```
    /// use convergent::wire::{self, StateSize};
    /// use convergent::{Limits, OrSet, ReplicaId};
    ///
    /// let mut set = OrSet::new();
    /// let mut size = StateSize::new();
    /// size.check(&set, &OrSet::new(), 0, &Limits::default()).unwrap();
    /// let d = set.insert(ReplicaId::from_u128(1), 7u64);
    /// size.local(&d, &Limits::default());
    /// assert!(size.bound().unwrap() >= wire::encoded_len(&set));
    /// ```
    pub fn local<T: Serialize>(&mut self, delta: &T, limits: &Limits) {
        self.local_with(delta, limits, Measure::serde());
    }

    pub(crate) fn local_with<T>(&mut self, delta: &T, limits: &Limits, m: Measure<T>) {
        if self.counted.is_some() {
            let (inc, ids) = self.charge(delta, limits, m);
            self.credit = self.credit.saturating_add(inc);
            self.admit(inc, ids);
        }
    }

    pub(crate) fn check_with<T: Decompose>(
        &mut self,
        local: &T,
        incoming: &T,
        received: usize,
        limits: &Limits,
        m: Measure<T>,
    ) -> Result<(), Error> {
        let limit = limits.max_bytes;
        if self.counted.is_none() {
            self.recount(local, limits, m);
        }
        let (inc, ids) = self.charge(incoming, limits, m);
        // A typed message (no bytes) offers what it would add.
        self.credit = self.credit.saturating_add(received.max(inc));
        if self.bound().unwrap_or(0).saturating_add(inc) <= limit {
            self.admit(inc, ids);
            return Ok(());
        }
        // Near the limit: only the part the receiver lacks can grow its state.
        let fresh = incoming.delta(local);
        if fresh.is_bottom() {
            return Ok(());
        }
        let (mut inc, mut ids) = self.charge(&fresh, limits, m);
        let mut found = self.bound().unwrap_or(0).saturating_add(inc);
        // A count is exact; it can only help if the state changed since the last one.
        if found > limit && self.added > 0 && self.credit >= (limit / 16).max(1) {
            self.recount(local, limits, m);
            (inc, ids) = self.charge(&fresh, limits, m);
            found = self.bound().unwrap_or(0).saturating_add(inc);
        }
        if found <= limit {
            self.admit(inc, ids);
            return Ok(());
        }
        Err(Error::TooLarge { field: "state.bytes", limit: limit as u64, found: found as u64 })
    }

    /// Counts `local` exactly: its length, the histogram of its `u32`s, its replica ids.
    fn recount<T>(&mut self, local: &T, limits: &Limits, m: Measure<T>) {
        let len = (m.len)(local);
        let mut scan = Scan::new(index_cap(limits), true);
        (m.scan)(local, &mut scan);
        let mut prefix = Vec::with_capacity(scan.hist.len() + 1);
        let mut sum = 0usize;
        prefix.push(0);
        for n in &scan.hist {
            sum += *n as usize;
            prefix.push(sum);
        }
        self.prefix = prefix;
        self.ids = scan.ids.into_iter().collect();
        self.counted = Some(len);
        self.added = 0;
        self.credit = 0;
        self.new_ids = 0;
        self.recounts += 1;
        self.recounted_bytes += len as u64;
    }

    /// What joining `v` may add to the state's encoding, and the replica ids it names that are
    /// new: its length, the growth of its `u32`s to the widest index, and the references of the
    /// counted state its new replicas may push across a width boundary.
    fn charge<T>(&self, v: &T, limits: &Limits, m: Measure<T>) -> (usize, PlacedIds) {
        let mut scan = Scan::new(index_cap(limits), false);
        (m.scan)(v, &mut scan);
        let mut ids = scan.ids;
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|id| !self.ids.contains(id));
        let widen = self.exposure(self.new_ids + ids.len()) - self.exposure(self.new_ids);
        // Its version byte is the state's own.
        ((m.len)(v).saturating_sub(1).saturating_add(scan.pad).saturating_add(widen), ids)
    }

    fn admit(&mut self, inc: usize, ids: PlacedIds) {
        self.added = self.added.saturating_add(inc);
        self.new_ids += ids.len();
        self.ids.extend(ids);
    }

    /// The `u32`s of the counted state that `j` new replicas may push across a boundary: those
    /// in `[b - j, b)` for each boundary `b`. `O(1)`.
    fn exposure(&self, j: usize) -> usize {
        if j == 0 || self.prefix.is_empty() {
            return 0;
        }
        let top = self.prefix.len() - 1;
        let at = |v: usize| self.prefix[v.min(top)];
        BOUNDARIES.iter().map(|&b| at(b) - at(b.saturating_sub(j))).sum()
    }
}

/// Validated receipt from bytes that also bounds the joined state's encoded size:
/// [`receive`](super::receive), plus [`StateSize::check`] between the validation and the
/// join. Keep one [`StateSize`] per state, and charge local deltas to it
/// ([`StateSize::local`]). Returns whether `local` changed. Never panics; on any error `local`
/// is exactly what it was.
///
/// # Errors
///
/// Every error of [`receive`](super::receive), and [`Error::TooLarge`] with
/// `field: "state.bytes"` when the joined state may encode above [`Limits::max_bytes`].
///
/// ```
/// use convergent::wire::{self, StateSize};
/// use convergent::{GCounter, ReceivePolicy, ReplicaId};
///
/// let me = ReplicaId::from_u128(1);
/// let bytes = wire::to_bytes(&GCounter::new().increment(ReplicaId::from_u128(2), 3));
/// let (mut local, mut size) = (GCounter::new(), StateSize::new());
/// assert_eq!(wire::receive_sized(&mut local, &bytes, &ReceivePolicy::new(me, 0), &mut size), Ok(true));
/// assert_eq!(local.value(), 3);
/// ```
pub fn receive_sized<T: super::Decode + Receive + Decompose>(
    local: &mut T,
    bytes: &[u8],
    policy: &ReceivePolicy,
    size: &mut StateSize,
) -> Result<bool, Error> {
    let incoming = super::from_bytes_with::<T>(bytes, &policy.limits)?;
    incoming.validate_against(local, policy)?;
    size.check(local, &incoming, bytes.len(), &policy.limits)?;
    Ok(local.join_ref(&incoming))
}

/// How to measure a value of type `T`: its encoded length and a scan of its `u32`s and
/// replica ids. Function pointers, so that the sync engine can keep one without a serde bound
/// on its other methods.
pub(crate) struct Measure<T> {
    pub(crate) len: fn(&T) -> usize,
    pub(crate) scan: fn(&T, &mut Scan),
}

impl<T> Clone for Measure<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Measure<T> {}

impl<T: Serialize> Measure<T> {
    pub(crate) fn serde() -> Self {
        Measure { len: super::serde_len::<T>, scan: scan_serde::<T> }
    }
}

fn scan_serde<T: Serialize>(v: &T, scan: &mut Scan) {
    // The scan itself never fails; a value whose `Serialize` does is not measured further.
    let _ = v.serialize(&mut *scan);
}

/// The largest replica index the limits allow, plus one (indices are below `max_replicas`).
fn index_cap(limits: &Limits) -> usize {
    limits.max_replicas.min(u32::MAX as usize)
}

/// A serde serializer that only looks: it collects the `u32`s (replica indices are `u32`s) and
/// the 16-byte tuples (replica ids) of a value, each id with where it stands in the value.
pub(crate) struct Scan {
    /// Indices are below this.
    cap: usize,
    /// Whether to build the histogram of `u32`s below `cap` (a count) or not (a charge).
    histogram: bool,
    hist: Vec<u32>,
    /// The bytes the `u32`s below `cap` may still grow by, to the width of the largest index.
    pad: usize,
    widest: usize,
    /// Inline for a delta's few ids: a scan of a small message allocates nothing.
    ids: PlacedIds,
    /// The last `u8` serialized, for the tuples of 16 that are replica ids.
    last_u8: Option<u8>,
    /// Where the scan stands: the field or element index in each enclosing tuple or struct
    /// (`u32::MAX` in a sequence or map: all their elements stand in one place).
    path: SmallVec<[u32; 8]>,
}

impl Scan {
    fn new(cap: usize, histogram: bool) -> Self {
        let widest = varint_len(cap.saturating_sub(1) as u64);
        Scan {
            cap,
            histogram,
            hist: Vec::new(),
            pad: 0,
            widest,
            ids: SmallVec::new(),
            last_u8: None,
            path: SmallVec::new(),
        }
    }

    fn u32(&mut self, v: u32) {
        // A replica index is below the size of its table, whose ids come first (a context
        // before its store): larger `u32`s are no index, and the histogram stays within the
        // ids the value names (a set of `u32` elements near `u32::MAX` with a roomy
        // `max_replicas` would otherwise make it allocate 16 GiB).
        let i = v as usize;
        if i >= self.cap || i >= self.ids.len() {
            return;
        }
        self.pad += self.widest.saturating_sub(varint_len(u64::from(v)));
        if self.histogram {
            if self.hist.len() <= i {
                self.hist.resize(i + 1, 0);
            }
            self.hist[i] += 1;
        }
    }

    /// A hash of the path (FNV-1a): one per replica table of a composite value, so that an id
    /// one part names is still new to another part's table.
    fn place(&self) -> u64 {
        self.path
            .iter()
            .fold(0xcbf2_9ce4_8422_2325, |h, &i| (h ^ u64::from(i)).wrapping_mul(0x0100_0000_01b3))
    }

    /// Opens a compound: a tuple or struct (`counted`), or a sequence or map.
    fn open(&mut self, counted: bool) {
        self.path.push(if counted { 0 } else { u32::MAX });
    }

    /// Moves to the next field of the innermost tuple or struct.
    fn next_field(&mut self) {
        if let Some(i) = self.path.last_mut().filter(|i| **i != u32::MAX) {
            *i += 1;
        }
    }

    fn close(&mut self) {
        self.path.pop();
    }

    /// Scans one part of a compound, then moves to the next.
    fn part<V: ?Sized + Serialize>(&mut self, v: &V) -> Result<(), SerError> {
        v.serialize(&mut *self)?;
        self.next_field();
        Ok(())
    }
}

/// A tuple being scanned: of 16 `u8`s it is a replica id.
pub(crate) struct Tuple<'a> {
    scan: &'a mut Scan,
    id: Option<([u8; 16], usize)>,
}

impl SerializeTuple for Tuple<'_> {
    type Ok = ();
    type Error = SerError;

    fn serialize_element<V: ?Sized + Serialize>(&mut self, v: &V) -> Result<(), SerError> {
        self.scan.last_u8 = None;
        self.scan.part(v)?;
        let b = self.scan.last_u8.take();
        if let Some((bytes, n)) = &mut self.id {
            match b {
                Some(b) if *n < 16 => {
                    bytes[*n] = b;
                    *n += 1;
                }
                _ => self.id = None,
            }
        }
        Ok(())
    }

    fn end(self) -> Result<(), SerError> {
        self.scan.close();
        if let Some((bytes, 16)) = self.id {
            let place = self.scan.place();
            self.scan.ids.push((place, bytes));
        }
        Ok(())
    }
}

/// Every other compound: its parts are scanned in turn.
macro_rules! scan_compound {
    ($($tr:ident :: $m:ident),*) => {$(
        impl ser::$tr for &mut Scan {
            type Ok = ();
            type Error = SerError;
            fn $m<V: ?Sized + Serialize>(&mut self, v: &V) -> Result<(), SerError> {
                self.part(v)
            }
            fn end(self) -> Result<(), SerError> {
                self.close();
                Ok(())
            }
        }
    )*};
}
scan_compound!(
    SerializeSeq::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Struct fields, by name.
macro_rules! scan_fields {
    ($($tr:ident),*) => {$(
        impl ser::$tr for &mut Scan {
            type Ok = ();
            type Error = SerError;
            fn serialize_field<V: ?Sized + Serialize>(&mut self, _: &'static str, v: &V) -> Result<(), SerError> {
                self.part(v)
            }
            fn end(self) -> Result<(), SerError> {
                self.close();
                Ok(())
            }
        }
    )*};
}
scan_fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for &mut Scan {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<V: ?Sized + Serialize>(&mut self, v: &V) -> Result<(), SerError> {
        v.serialize(&mut **self)
    }
    fn serialize_value<V: ?Sized + Serialize>(&mut self, v: &V) -> Result<(), SerError> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), SerError> {
        self.close();
        Ok(())
    }
}

/// Scalars that are neither a `u32` nor a `u8`: nothing to record.
macro_rules! scan_ignore {
    ($($m:ident: $t:ty),*) => {$(
        fn $m(self, _: $t) -> Result<(), SerError> {
            self.last_u8 = None;
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Scan {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = Self;
    type SerializeTuple = Tuple<'a>;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    scan_ignore!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u16: u16, serialize_u64: u64,
        serialize_u128: u128, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
        serialize_str: &str, serialize_bytes: &[u8]);

    fn serialize_u8(self, v: u8) -> Result<(), SerError> {
        self.last_u8 = Some(v);
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<(), SerError> {
        self.last_u8 = None;
        self.u32(v);
        Ok(())
    }

    fn serialize_none(self) -> Result<(), SerError> {
        Ok(())
    }

    fn serialize_some<V: ?Sized + Serialize>(self, v: &V) -> Result<(), SerError> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), SerError> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), SerError> {
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), SerError> {
        Ok(())
    }

    fn serialize_newtype_struct<V: ?Sized + Serialize>(self, _: &'static str, v: &V) -> Result<(), SerError> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &V,
    ) -> Result<(), SerError> {
        v.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, SerError> {
        self.open(false);
        Ok(self)
    }

    fn serialize_tuple(self, len: usize) -> Result<Tuple<'a>, SerError> {
        self.open(true);
        Ok(Tuple { scan: self, id: (len == 16).then_some(([0; 16], 0)) })
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, SerError> {
        self.open(true);
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, SerError> {
        self.open(true);
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, SerError> {
        self.open(false);
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, SerError> {
        self.open(true);
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, SerError> {
        self.open(true);
        Ok(self)
    }

    fn collect_str<V: ?Sized + fmt::Display>(self, _: &V) -> Result<(), SerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lattice, OrSet, ReplicaId};

    /// The scan sees every replica-index reference of an encoding: if an encoder stops writing
    /// indices as serde `u32`s, the bound would miss re-indexing, and this fails.
    #[test]
    fn the_scan_sees_the_replica_indices_and_ids() {
        let mut s = OrSet::new();
        for r in 0..200u128 {
            let _ = s.insert(ReplicaId::from_u128(10 + r), r as u64);
        }
        let mut scan = Scan::new(1 << 16, true);
        scan_serde(&s, &mut scan);
        assert_eq!(scan.ids.len(), 200);
        assert_eq!(scan.hist.len(), 200);
        assert!(scan.hist.iter().all(|n| *n >= 1), "a replica index the scan did not see");
        let _ = s.join_ref(&OrSet::new());
    }
}
