//! Element types whose serde impls do not round-trip every input, for the canonical check of
//! decoded values (`src/wire/fast.rs`' unit tests and `tests/canonical_check.rs`): a decoder
//! must refuse every byte string that is not exactly the encoding of the value read from it.
//! The long varints (two bytes or more) of equal length are what a wrong shortcut in the check
//! would let through: only their values tell them apart.

use serde::de::Deserializer;
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

/// Reads any `u64` and keeps it with its low bit set: `2k` and `2k + 1` read alike.
///
/// ```
/// let v: testkit::hostile::Odd = serde_json::from_str("4").unwrap();
/// assert_eq!(v, testkit::hostile::Odd(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Odd(pub u64);
impl Serialize for Odd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}
impl<'de> Deserialize<'de> for Odd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(|v| Odd(v | 1))
    }
}

/// Reads `(a, b)`, writes `(b, a)`: canonical only when `a == b`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Swapped(pub u64, pub u64);
impl Serialize for Swapped {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.0, self.1).serialize(s)
    }
}
impl<'de> Deserialize<'de> for Swapped {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <(u64, u64)>::deserialize(d).map(|(a, b)| Swapped(b, a))
    }
}

/// Reads `(x, y)` and keeps `x`, writes `(x, x)`: canonical only when `y == x`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dup(pub u64);
impl Serialize for Dup {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.0, self.0).serialize(s)
    }
}
impl<'de> Deserialize<'de> for Dup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <(u64, u64)>::deserialize(d).map(|(x, _)| Dup(x))
    }
}

/// Reads a `u64` varint, writes its bytes one by one (a tuple of `u8`): the same bytes through
/// other serializer calls, so always canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Leb(pub u64);
impl Serialize for Leb {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        let mut v = self.0;
        while v >= 0x80 {
            bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        bytes.push(v as u8);
        let mut t = s.serialize_tuple(bytes.len())?;
        for b in &bytes {
            t.serialize_element(b)?;
        }
        t.end()
    }
}
impl<'de> Deserialize<'de> for Leb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Leb)
    }
}

/// Reads a byte, writes it as a `u64` varint: canonical below 128 only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Widened(pub u8);
impl Serialize for Widened {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::from(self.0))
    }
}
impl<'de> Deserialize<'de> for Widened {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u8::deserialize(d).map(Widened)
    }
}

/// Reads a byte and a `u64`, writes the `u64` first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Moved(pub u8, pub u64);
impl Serialize for Moved {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.1, self.0).serialize(s)
    }
}
impl<'de> Deserialize<'de> for Moved {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <(u8, u64)>::deserialize(d).map(|(t, x)| Moved(t, x))
    }
}
