//! Replica identifiers.

use core::fmt;

/// The identity of one replica (one incarnation of one copy of the state).
///
/// A `ReplicaId` wraps a 128-bit UUID: random ids from independent machines do not collide, so no
/// coordination is needed to create a replica. It is `Copy`, 16 bytes, and compares and hashes as
/// a `u128`.
///
/// # The one rule: lost state means a new id
///
/// A replica that lost its durable state (a wiped disk, a restore from an old backup, a fresh
/// container) **must take a new id**. The events of a replica are numbered `1, 2, 3, ...` under
/// its id, and every peer remembers which numbers it has seen. A replica that comes back under its
/// old id with a stale counter re-issues numbers its peers have already seen: their copies treat
/// the new writes as old news, and can delete them as "already removed" (riak_kv issue 679 lost
/// data exactly this way). A new id costs one more entry in every context and version vector, until
/// the old id is retired: [`SyncEngine::retire`](crate::sync::SyncEngine::retire) folds it into a
/// live replica and every replica forgets it (see [`Prune`](crate::Prune)).
///
/// # On the wire
///
/// Encoded states and deltas write each distinct replica id **once**, in a table at the front of
/// the value, and refer to it elsewhere by a one-byte (varint) index. A G-Counter increment delta
/// still carries the 16-byte id it speaks for; an OR-Set of 10 000 elements written by 3 replicas
/// pays 48 bytes of ids in all, not 16 per element.
///
/// # Example
///
/// ```
/// use convergent::ReplicaId;
///
/// let a = ReplicaId::random();
/// let b = ReplicaId::random();
/// assert_ne!(a, b);
///
/// // Ids you manage yourself: from a UUID, its 16 bytes, or a number (handy in tests).
/// let c = ReplicaId::from_bytes([7; 16]);
/// assert_eq!(c.to_bytes(), [7; 16]);
/// assert_eq!(ReplicaId::from_u128(1) < ReplicaId::from_u128(2), true);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReplicaId(uuid::Uuid);

/// Byte order (the order of the big-endian `u128`), compared as one 128-bit integer: ids are
/// compared in every binary search of a counter, a context and a replica table.
impl Ord for ReplicaId {
    #[inline]
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.as_u128().cmp(&other.0.as_u128())
    }
}

impl PartialOrd for ReplicaId {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ReplicaId {
    /// A new random (version 4) id. Use one per replica incarnation.
    ///
    /// ```
    /// # use convergent::ReplicaId;
    /// assert_ne!(ReplicaId::random(), ReplicaId::random());
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn random() -> Self {
        ReplicaId(uuid::Uuid::new_v4())
    }

    /// The id of a UUID you already have.
    ///
    /// ```
    /// # use convergent::ReplicaId;
    /// let u = uuid::Uuid::from_u128(42);
    /// assert_eq!(ReplicaId::from_uuid(u).as_uuid(), &u);
    /// ```
    #[must_use]
    pub const fn from_uuid(uuid: uuid::Uuid) -> Self {
        ReplicaId(uuid)
    }

    /// The id of 16 raw bytes.
    ///
    /// ```
    /// # use convergent::ReplicaId;
    /// assert_eq!(ReplicaId::from_bytes([1; 16]).to_bytes(), [1; 16]);
    /// ```
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        ReplicaId(uuid::Uuid::from_bytes(bytes))
    }

    /// The id of a number; ids `0..` sort in numeric order. Meant for tests and examples.
    ///
    /// ```
    /// # use convergent::ReplicaId;
    /// assert!(ReplicaId::from_u128(1) < ReplicaId::from_u128(2));
    /// ```
    #[must_use]
    pub const fn from_u128(n: u128) -> Self {
        ReplicaId(uuid::Uuid::from_u128(n))
    }

    /// The underlying UUID.
    ///
    /// ```
    /// # use convergent::ReplicaId;
    /// assert_eq!(ReplicaId::from_u128(5).as_uuid().as_u128(), 5);
    /// ```
    #[must_use]
    pub const fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }

    /// The 16 bytes of the id.
    ///
    /// ```
    /// # use convergent::ReplicaId;
    /// assert_eq!(ReplicaId::from_u128(1).to_bytes()[15], 1);
    /// ```
    #[must_use]
    pub const fn to_bytes(&self) -> [u8; 16] {
        *self.0.as_bytes()
    }
}

impl From<uuid::Uuid> for ReplicaId {
    fn from(u: uuid::Uuid) -> Self {
        ReplicaId(u)
    }
}

/// Short form: small test ids print as `r7`, others as the first 8 hex digits of the UUID.
impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Short form by default (`r7`, or the first 8 hex digits of the UUID, for logs); the full
/// hyphenated UUID with `{:#}`, which [`FromStr`](core::str::FromStr) parses back.
///
/// ```
/// use convergent::ReplicaId;
///
/// let id = ReplicaId::from_u128(0x0a11ce00_0000_4000_8000_0000000000a1);
/// assert_eq!(format!("{id}"), "0a11ce00");
/// assert_eq!(format!("{id:#}"), "0a11ce00-0000-4000-8000-0000000000a1");
/// assert_eq!(format!("{id:#}").parse::<ReplicaId>(), Ok(id));
/// assert_eq!(format!("{}", ReplicaId::from_u128(7)), "r7");
/// ```
impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return fmt::Display::fmt(&self.0.hyphenated(), f);
        }
        let n = self.0.as_u128();
        if n < 1 << 32 { write!(f, "r{n}") } else { write!(f, "{:08x}", (n >> 96) as u32) }
    }
}

/// Parses the full form printed by `{:#}` (a UUID: hyphenated, simple, braced or URN).
/// `O(1)`.
///
/// # Errors
///
/// [`Error::Malformed`](crate::Error::Malformed) `{ field: "replica-id" }` for anything else
/// (the short form is not an id: it drops digits).
///
/// ```
/// use convergent::{Error, ReplicaId};
///
/// let id: ReplicaId = "0a11ce00-0000-4000-8000-0000000000a1".parse().unwrap();
/// assert_eq!(id.as_uuid().as_u128(), 0x0a11ce00_0000_4000_8000_0000000000a1);
/// assert_eq!("0a11ce00".parse::<ReplicaId>(), Err(Error::Malformed { field: "replica-id" }));
/// ```
impl core::str::FromStr for ReplicaId {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::try_parse(s).map(ReplicaId).map_err(|_| crate::Error::Malformed { field: "replica-id" })
    }
}

/// 16 raw bytes in compact formats (no length prefix: 16 bytes, not 17), the hyphenated UUID in
/// human-readable ones such as JSON.
#[cfg(feature = "serde")]
impl serde::Serialize for ReplicaId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { self.0.serialize(s) } else { self.to_bytes().serialize(s) }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ReplicaId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            uuid::Uuid::deserialize(d).map(ReplicaId)
        } else {
            <[u8; 16]>::deserialize(d).map(ReplicaId::from_bytes)
        }
    }
}
