//! Fast paths for the serde parts of a decode (the elements of a set, the keys of a map, plain
//! values): a strict reader of the postcard format as a serde `Deserializer`; the canonical-form
//! check that follows it is the serializer of `ser.rs` comparing the postcard bytes of the value
//! with the bytes it was read from, writing them nowhere (given the long varints the reader
//! noted, [`Varints`], which it compares by value instead of reading them again).
//!
//! Both only ever speed a decode up, never decide it: when either gives up ([`GiveUp`]: an input
//! it does not take, such as an over-long varint, `bool` 2 or invalid UTF-8, a mismatch, or a
//! serde shape it does not handle) the caller runs the postcard path, whose outcome (value or
//! precise error) stands. So the reader must accept only what postcard accepts, reading the
//! same value from the same bytes, and the comparer may report a match only for bytes that
//! postcard writes for the value. The reader is stricter than postcard (minimal varints only):
//! every input it refuses postcard either refuses too or the canonical check refuses.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::Reader;

/// A fast path gave up: the postcard path decides.
#[derive(Debug)]
pub(super) struct GiveUp;

impl core::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("fast path gave up")
    }
}

impl de::StdError for GiveUp {}

impl de::Error for GiveUp {
    #[inline]
    fn custom<M: core::fmt::Display>(_: M) -> Self {
        GiveUp
    }
}

type Fast<T> = Result<T, GiveUp>;

/// The largest last byte of a minimal varint of `bytes` bytes holding `bits` bits.
const fn last_max(bits: u32) -> u8 {
    ((1u32 << (bits % 7)) - 1) as u8
}

/// Reads a value of the postcard format from the front of `r`, strictly: minimal varints,
/// `bool` 0 or 1, option tags 0 or 1, UTF-8 strings. On success `r` is past the value.
#[inline]
pub(super) fn take<'b, T: de::Deserialize<'b>>(r: &mut Reader<'b>) -> Fast<T> {
    let mut de = StrictDe { r: *r, noted: () };
    let v = T::deserialize(&mut de)?;
    *r = de.r;
    Ok(v)
}

/// [`take`], noting in `noted` where the first [`Varints::MAX`] varints of two bytes or more it
/// read start and their values: what the canonical check of the value (`ser::same_noted`)
/// compares the varints of its encoding with, instead of reading them again.
#[inline]
pub(super) fn take_noted<'b, T: de::Deserialize<'b>>(r: &mut Reader<'b>, noted: &mut Varints) -> Fast<T> {
    let mut de = StrictDe { r: *r, noted: &mut *noted };
    let v = T::deserialize(&mut de)?;
    *r = de.r;
    Ok(v)
}

/// What the strict reader notes of each varint of two bytes or more it reads (nothing, or
/// [`Varints`]).
trait Note {
    /// A varint of value `value` (at least 128) was read from the bytes starting at address
    /// `at`.
    fn varint(&mut self, at: usize, value: u64);
}

impl Note for () {
    #[inline(always)]
    fn varint(&mut self, _: usize, _: u64) {}
}

/// Varints of two bytes or more that a strict read read: the address of the first byte of each
/// and its value, for the first [`MAX`](Self::MAX) of them (an address of 0 marks a free entry:
/// no slice starts there).
///
/// An entry `(at, x)` says that the bytes at `at` are the minimal LEB128 encoding of `x` (the
/// strict reader reads no other varint), which is what the postcard serializer writes for a
/// varint of value `x`: so a varint of value `v` written at `at` matches the bytes there exactly
/// when `v == x` (minimal encodings are prefix-free: a longer or shorter one differs from them
/// in the high bit of some byte). The comparer uses that to compare a value instead of reading
/// the bytes again, and gives the answer a byte comparison gives, for every input. (One-byte
/// varints are not noted: comparing their byte is as cheap as comparing a value.)
#[derive(Debug, Default)]
pub(crate) struct Varints {
    at: [(usize, u64); Varints::MAX],
}

impl Varints {
    /// How many varints are noted (a `u64` element of `2^7` or more has one, a pair of them
    /// two); later ones are read again by the comparer.
    pub(crate) const MAX: usize = 2;

    /// The value of the varint noted at address `at`, if one is.
    #[inline(always)]
    pub(crate) fn at(&self, at: usize) -> Option<u64> {
        self.at.iter().find(|(a, _)| *a == at).map(|&(_, x)| x)
    }
}

impl Note for &mut Varints {
    #[inline(always)]
    fn varint(&mut self, at: usize, value: u64) {
        if let Some(free) = self.at.iter_mut().find(|(a, _)| *a == 0) {
            *free = (at, value);
        }
    }
}

/// The strict reader: a serde `Deserializer` over a [`Reader`], noting its varints in `noted`.
struct StrictDe<'b, N> {
    r: Reader<'b>,
    noted: N,
}

impl<'b, N: Note> StrictDe<'b, N> {
    #[inline]
    fn byte(&mut self) -> Fast<u8> {
        let Some((&b, rest)) = self.r.bytes.split_first() else {
            return Err(GiveUp);
        };
        self.r.bytes = rest;
        Ok(b)
    }

    /// A varint of `BITS` bits (its byte count and last-byte bound are constants).
    #[inline(always)]
    fn varint<const BITS: u32>(&mut self) -> Fast<u64> {
        let at = self.r.bytes.as_ptr() as usize;
        let v = self.r.varint(BITS.div_ceil(7) as usize, last_max(BITS)).map_err(|_| GiveUp)?;
        if v >= 0x80 {
            self.noted.varint(at, v);
        }
        Ok(v)
    }

    /// A length (a `usize` varint, as [`Reader::len`] reads it).
    #[inline(always)]
    fn len(&mut self) -> Fast<usize> {
        self.varint::<64>().map(|v| usize::try_from(v).unwrap_or(usize::MAX))
    }

    #[inline]
    fn take_n(&mut self) -> Fast<&'b [u8]> {
        let n = self.len()?;
        if n > self.r.bytes.len() {
            return Err(GiveUp);
        }
        let (head, rest) = self.r.bytes.split_at(n);
        self.r.bytes = rest;
        Ok(head)
    }
}

/// `n` values in a row (a tuple, a struct's fields, a sequence's elements, a map's entries).
struct Items<'a, 'b, N> {
    de: &'a mut StrictDe<'b, N>,
    left: usize,
}

impl<'b, N: Note> de::SeqAccess<'b> for Items<'_, 'b, N> {
    type Error = GiveUp;

    #[inline]
    fn next_element_seed<S: DeserializeSeed<'b>>(&mut self, seed: S) -> Fast<Option<S::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        // Never more than the bytes left (postcard's rule): a length prefix cannot make the
        // visitor reserve more than the input holds.
        (self.left <= self.de.r.bytes.len()).then_some(self.left)
    }
}

impl<'b, N: Note> de::MapAccess<'b> for Items<'_, 'b, N> {
    type Error = GiveUp;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'b>>(&mut self, seed: K) -> Fast<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'b>>(&mut self, seed: V) -> Fast<V::Value> {
        seed.deserialize(&mut *self.de)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        (self.left <= self.de.r.bytes.len()).then_some(self.left)
    }
}

impl<'b, N: Note> de::EnumAccess<'b> for &mut StrictDe<'b, N> {
    type Error = GiveUp;
    type Variant = Self;

    #[inline]
    fn variant_seed<V: DeserializeSeed<'b>>(self, seed: V) -> Fast<(V::Value, Self)> {
        let index = self.varint::<32>()? as u32;
        let v = seed.deserialize(IntoDeserializer::<GiveUp>::into_deserializer(index))?;
        Ok((v, self))
    }
}

impl<'b, N: Note> de::VariantAccess<'b> for &mut StrictDe<'b, N> {
    type Error = GiveUp;

    #[inline]
    fn unit_variant(self) -> Fast<()> {
        Ok(())
    }

    #[inline]
    fn newtype_variant_seed<V: DeserializeSeed<'b>>(self, seed: V) -> Fast<V::Value> {
        seed.deserialize(self)
    }

    #[inline]
    fn tuple_variant<V: Visitor<'b>>(self, len: usize, visitor: V) -> Fast<V::Value> {
        visitor.visit_seq(Items { de: self, left: len })
    }

    #[inline]
    fn struct_variant<V: Visitor<'b>>(self, fields: &'static [&'static str], visitor: V) -> Fast<V::Value> {
        visitor.visit_seq(Items { de: self, left: fields.len() })
    }
}

/// `deserialize_$name` of a varint of `$bits` bits, as `$t` (zig-zag for the signed types).
macro_rules! strict_varint {
    ($($name:ident, $visit:ident, $t:ty, $bits:expr, $signed:expr;)*) => {$(
        #[inline]
        fn $name<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
            let v = self.varint::<$bits>()?;
            if $signed {
                visitor.$visit(((v >> 1) as $t) ^ (-((v & 1) as i64) as $t))
            } else {
                visitor.$visit(v as $t)
            }
        }
    )*};
}

/// Shapes the strict reader leaves to postcard.
macro_rules! strict_give_up {
    ($($name:ident),*) => {$(
        #[inline]
        fn $name<V: Visitor<'b>>(self, _: V) -> Fast<V::Value> {
            Err(GiveUp)
        }
    )*};
}

impl<'b, N: Note> de::Deserializer<'b> for &mut StrictDe<'b, N> {
    type Error = GiveUp;

    strict_varint! {
        deserialize_u16, visit_u16, u16, 16, false;
        deserialize_u32, visit_u32, u32, 32, false;
        deserialize_u64, visit_u64, u64, 64, false;
        deserialize_i16, visit_i16, i16, 16, true;
        deserialize_i32, visit_i32, i32, 32, true;
        deserialize_i64, visit_i64, i64, 64, true;
    }

    strict_give_up!(
        deserialize_any,
        deserialize_u128,
        deserialize_i128,
        deserialize_identifier,
        deserialize_ignored_any
    );

    #[inline]
    fn deserialize_bool<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        match self.byte()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            _ => Err(GiveUp),
        }
    }

    #[inline]
    fn deserialize_u8<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let b = self.byte()?;
        visitor.visit_u8(b)
    }

    #[inline]
    fn deserialize_i8<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let b = self.byte()?;
        visitor.visit_i8(b as i8)
    }

    #[inline]
    fn deserialize_f32<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let b = self.r.raw_bytes::<4>().ok_or(GiveUp)?;
        visitor.visit_f32(f32::from_bits(u32::from_le_bytes(b)))
    }

    #[inline]
    fn deserialize_f64<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let b = self.r.raw_bytes::<8>().ok_or(GiveUp)?;
        visitor.visit_f64(f64::from_bits(u64::from_le_bytes(b)))
    }

    #[inline]
    fn deserialize_char<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        // Exactly one character (postcard takes the first of up to four bytes; the canonical
        // check refuses the rest).
        let s = core::str::from_utf8(self.take_n()?).map_err(|_| GiveUp)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(GiveUp),
        }
    }

    #[inline]
    fn deserialize_str<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let s = core::str::from_utf8(self.take_n()?).map_err(|_| GiveUp)?;
        visitor.visit_borrowed_str(s)
    }

    /// An owned string: the bytes copied into the string's own buffer, then checked UTF-8
    /// there (what a `String` does anyway: its one allocation). The check runs word by word
    /// on the buffer's aligned start, where on the input's (aligned anywhere) it ran byte by
    /// byte for a short string: 152 instructions for 20 ASCII bytes, against about 30.
    #[inline]
    fn deserialize_string<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let s = alloc::string::String::from_utf8(self.take_n()?.to_vec()).map_err(|_| GiveUp)?;
        visitor.visit_string(s)
    }

    #[inline]
    fn deserialize_bytes<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let b = self.take_n()?;
        visitor.visit_borrowed_bytes(b)
    }

    #[inline]
    fn deserialize_byte_buf<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        self.deserialize_bytes(visitor)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        match self.byte()? {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            _ => Err(GiveUp),
        }
    }

    #[inline]
    fn deserialize_unit<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        visitor.visit_unit()
    }

    #[inline]
    fn deserialize_unit_struct<V: Visitor<'b>>(self, _: &'static str, visitor: V) -> Fast<V::Value> {
        visitor.visit_unit()
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'b>>(self, _: &'static str, visitor: V) -> Fast<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let left = self.len()?;
        visitor.visit_seq(Items { de: self, left })
    }

    #[inline]
    fn deserialize_tuple<V: Visitor<'b>>(self, len: usize, visitor: V) -> Fast<V::Value> {
        visitor.visit_seq(Items { de: self, left: len })
    }

    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'b>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Fast<V::Value> {
        visitor.visit_seq(Items { de: self, left: len })
    }

    #[inline]
    fn deserialize_map<V: Visitor<'b>>(self, visitor: V) -> Fast<V::Value> {
        let left = self.len()?;
        visitor.visit_map(Items { de: self, left })
    }

    #[inline]
    fn deserialize_struct<V: Visitor<'b>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Fast<V::Value> {
        visitor.visit_seq(Items { de: self, left: fields.len() })
    }

    #[inline]
    fn deserialize_enum<V: Visitor<'b>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Fast<V::Value> {
        visitor.visit_enum(self)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use serde::ser::Serialize;

    use super::super::ser::same;
    use super::*;
    use crate::Error;
    use alloc::string::String;
    use alloc::vec;

    /// The word-at-a-time varint reader gives what the byte-at-a-time one gives (value, error
    /// and bytes left) on every input: canonical varints of every length with 0 to 9 bytes after
    /// them, their over-long forms, cut-short ones and random bytes.
    #[test]
    fn varint_word_path_agrees_with_the_bytewise_reader() {
        let check = |b: &[u8]| {
            for (max, last) in [(10, 1), (5, 0x0f), (3, 3)] {
                let (mut a, mut w) = (Reader::prefix(b), Reader::prefix(b));
                let x = a.varint(max, last);
                let y = if b.first().is_some_and(|&f| f >= 0x80) {
                    w.varint_bytewise(max, last)
                } else {
                    w.varint(max, last)
                };
                assert_eq!((x, a.rest()), (y, w.rest()), "{b:?} max {max}");
            }
        };
        let mut values = vec![0u64, 1, 127, 128, 300, 16_383, 16_384, u64::MAX, u64::MAX >> 1, 1 << 40];
        values.extend((0..64).flat_map(|k| [1u64 << k, (1u64 << k) - 1, (1u64 << k) + 1]));
        for v in values {
            let enc = postcard::to_allocvec(&v).expect("encode");
            for pad in 0..10 {
                let mut b = enc.clone();
                b.extend((0..pad).map(|i| 0x80 | i as u8));
                check(&b);
                let mut r = Reader::prefix(&b);
                assert_eq!(r.u64(), Ok(v));
                assert_eq!(r.rest().len(), pad);
                // Over-long: one more byte of zero bits.
                let mut long = enc.clone();
                *long.last_mut().expect("byte") |= 0x80;
                long.push(0);
                long.extend((0..pad).map(|i| i as u8));
                check(&long);
                if long.len() - pad <= 10 {
                    assert_eq!(
                        Reader::prefix(&long).u64(),
                        Err(Error::NotCanonical { field: "encoding" }),
                        "{long:?}"
                    );
                }
                // Cut short.
                check(&enc[..enc.len() - 1]);
            }
        }
        // Ten bytes with a last byte over 1, eleven bytes: malformed.
        let mut b = [0xffu8; 11];
        b[9] = 2;
        assert_eq!(Reader::prefix(&b[..10]).u64(), Err(Error::Malformed { field: "value" }));
        assert_eq!(Reader::prefix(&[0xff; 11]).u64(), Err(Error::Malformed { field: "value" }));
        // Random bytes, biased to high bits.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 12) as usize;
            let b: alloc::vec::Vec<u8> = (0..len)
                .map(|i| ((x >> (i * 5)) as u8) | if (x >> (40 + i)) & 3 != 0 { 0x80 } else { 0 })
                .collect();
            check(&b);
        }
    }

    /// The strict reader and the comparer accept what postcard writes, for every shape they
    /// handle, and give up on each non-canonical form.
    #[test]
    fn strict_reader_and_comparer_round_trip_and_give_up() {
        fn round<T>(v: T)
        where
            T: Serialize + serde::de::DeserializeOwned + PartialEq + core::fmt::Debug,
        {
            let b = postcard::to_allocvec(&v).expect("encode");
            let mut r = Reader::prefix(&b);
            assert_eq!(take::<T>(&mut r).ok(), Some(postcard::from_bytes::<T>(&b).expect("decode")));
            assert!(r.rest().is_empty());
            assert!(same(&v, &b), "{v:?}");
            let mut longer = b.clone();
            longer.push(0);
            assert!(!same(&v, &longer));
        }
        round(7u8);
        round(-7i8);
        round(65_535u16);
        round(-32_768i16);
        round(u32::MAX);
        round(i32::MIN);
        round(i64::MIN);
        round(u64::MAX);
        round(true);
        round(1.5f32);
        round(-2.25f64);
        round('é');
        round(String::from("héllo"));
        round(Some(3u32));
        round(None::<u32>);
        round(());
        round((1u8, String::from("x"), Some(false)));
        round(alloc::vec![1u64, 300, 1 << 40]);
        round(Ok::<u8, u16>(4));
        round(Err::<u8, u16>(400));
        let give_up = |b: &[u8]| take::<(bool, Option<u8>, String, char)>(&mut Reader::prefix(b)).is_err();
        assert!(!give_up(&[1, 1, 5, 1, b'a', 1, b'b']));
        assert!(give_up(&[2, 1, 5, 1, b'a', 1, b'b']), "bool 2");
        assert!(give_up(&[1, 2, 5, 1, b'a', 1, b'b']), "option tag 2");
        assert!(give_up(&[1, 1, 5, 1, 0xff, 1, b'b']), "invalid UTF-8");
        assert!(give_up(&[1, 1, 5, 0x81, 0, b'a', 1, b'b']), "over-long length");
        assert!(give_up(&[1, 1, 5, 1, b'a', 2, b'b', b'c']), "two characters");
        assert!(give_up(&[1, 1, 5, 1, b'a', 1]), "cut short");
    }

    /// Element types whose serde impls do not round-trip every input (the test kit's, shared
    /// with `tests/canonical_check.rs`).
    use testkit::hostile;

    /// The canonical check given the varints the strict read noted (`same_noted`) answers what
    /// the byte comparer (`same`) answers, which is whether the bytes read are postcard's bytes
    /// of the value: for element types whose serde impls do not round-trip (a value read from
    /// two byte strings, fields written in another order or twice, the same bytes through other
    /// serializer calls) and for plain ones, on their encodings, every one-byte change of them
    /// and random bytes. Returns how many reads were canonical (so that the test can see both
    /// answers).
    #[test]
    fn noted_varints_give_the_byte_comparers_answer() {
        use super::super::ser::same_noted;
        use hostile::{Dup, Leb, Moved, Odd, Swapped, Widened};
        use serde::de::DeserializeOwned;

        fn check<T: Serialize + DeserializeOwned + core::fmt::Debug>(b: &[u8]) -> (usize, usize) {
            let mut r = Reader::prefix(b);
            let mut noted = Varints::default();
            let Ok(v) = take_noted::<T>(&mut r, &mut noted) else { return (0, 0) };
            let read = &b[..b.len() - r.rest().len()];
            let answer = same(&v, read);
            assert_eq!(same_noted(&v, read, &noted), answer, "{v:?} from {read:?}");
            let postcard = postcard::to_allocvec(&v).expect("encode");
            assert_eq!(answer, postcard == read, "{v:?} from {read:?}");
            (usize::from(answer), usize::from(!answer))
        }
        fn around<T: Serialize + DeserializeOwned + core::fmt::Debug>(enc: &[u8]) -> (usize, usize) {
            let mut seen = check::<T>(enc);
            let mut add = |(a, b)| {
                seen.0 += a;
                seen.1 += b;
            };
            for i in 0..enc.len() {
                for x in [0u8, 1, 0x7f, 0x80, 0x81, 0xff, enc[i] ^ 1, enc[i] ^ 0x80, enc[i].wrapping_add(1)] {
                    let mut m = enc.to_vec();
                    m[i] = x;
                    add(check::<T>(&m));
                }
            }
            seen
        }
        let enc = |v: &dyn erased::Enc| v.bytes();
        let big = [0u64, 5, 127, 128, 300, 1 << 14, 1 << 20, (1 << 40) + 1, (1 << 40) + 7, 1 << 56, u64::MAX];
        let mut seen = (0, 0);
        let mut add = |(a, b): (usize, usize)| {
            seen.0 += a;
            seen.1 += b;
        };
        for &x in &big {
            add(around::<Odd>(&enc(&x)));
            add(around::<Leb>(&enc(&x)));
            add(around::<u64>(&enc(&x)));
            add(around::<i64>(&enc(&x)));
            add(around::<u32>(&enc(&(x as u32))));
            add(around::<Moved>(&enc(&(7u8, x))));
            add(around::<Widened>(&enc(&(x as u8))));
            add(around::<String>(&enc(&"x".repeat((x % 300) as usize))));
            for &y in &big {
                add(around::<Swapped>(&enc(&(x, y))));
                add(around::<Dup>(&enc(&(x, y))));
                add(around::<(u64, u64, u64)>(&enc(&(x, y, x ^ y))));
                add(around::<(String, u64)>(&enc(&(String::from("k"), y))));
            }
        }
        // Random bytes, biased to high bits (long varints).
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let b: alloc::vec::Vec<u8> = (0..len)
                .map(|i| ((x >> (i % 8 * 7)) as u8) | if (x >> (40 + i % 20)) & 3 != 0 { 0x80 } else { 0 })
                .collect();
            add(check::<Odd>(&b));
            add(check::<Swapped>(&b));
            add(check::<Dup>(&b));
            add(check::<Moved>(&b));
            add(check::<Widened>(&b));
            add(check::<(u64, u64, u64)>(&b));
        }
        assert!(seen.0 > 1_000 && seen.1 > 1_000, "canonical {}, not {}", seen.0, seen.1);
    }

    /// Postcard bytes of a value, behind a trait object (the test lists values of several types).
    mod erased {
        pub(super) trait Enc {
            fn bytes(&self) -> alloc::vec::Vec<u8>;
        }
        impl<T: serde::Serialize> Enc for T {
            fn bytes(&self) -> alloc::vec::Vec<u8> {
                postcard::to_allocvec(self).expect("encode")
            }
        }
    }

    /// Hostile element types are refused where they are not canonical: `2^40` read as `Odd`
    /// (kept as `2^40 + 1`), a swapped pair of different values, a pair whose second value is
    /// dropped and written as the first again (both of the same length, so that only the
    /// values tell them apart), a byte moved after the varint; and accepted where they are.
    #[test]
    fn hostile_elements_are_refused_unless_canonical() {
        use hostile::{Dup, Leb, Moved, Odd, Swapped};
        let p = |v: &dyn erased::Enc| v.bytes();
        let (a, b) = ((1u64 << 40) + 7, (1u64 << 40) + 9);
        let nc = Some(Error::NotCanonical { field: "encoding" });
        assert_eq!(Reader::whole(&p(&(1u64 << 40))).value::<Odd>().err(), nc);
        assert_eq!(Reader::whole(&p(&a)).value::<Odd>(), Ok(Odd(a)));
        assert_eq!(Reader::whole(&p(&(a, b))).value::<Swapped>().err(), nc);
        assert_eq!(Reader::whole(&p(&(a, a))).value::<Swapped>(), Ok(Swapped(a, a)));
        assert_eq!(Reader::whole(&p(&(a, b))).value::<Dup>().err(), nc);
        assert_eq!(Reader::whole(&p(&(b, a))).value::<Dup>().err(), nc);
        assert_eq!(Reader::whole(&p(&(a, a))).value::<Dup>(), Ok(Dup(a)));
        assert_eq!(Reader::whole(&p(&(7u8, a))).value::<Moved>().err(), nc);
        assert_eq!(Reader::whole(&[200]).value::<hostile::Widened>().err(), nc);
        assert_eq!(Reader::whole(&[100]).value::<hostile::Widened>(), Ok(hostile::Widened(100)));
        assert_eq!(Reader::whole(&p(&a)).value::<Leb>(), Ok(Leb(a)));
        assert_eq!(Reader::whole(&p(&(1u64 << 63))).value::<Leb>(), Ok(Leb(1 << 63)));
    }
}
