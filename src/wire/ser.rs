//! The postcard format written by serde, once, for every place its bytes go ([`Sink`]): the
//! output of the direct encoders (a [`Writer`], for the parts they do not write field by field:
//! elements, keys, values of other types), the canonical check of a decode ([`Compare`]: the
//! bytes of the value against the bytes it was read from, nothing written) and the encoded
//! length ([`Count`]).
//!
//! The same bytes as postcard's own serializer (`tests/wire.rs` compares them on every golden
//! value and on random histories): unsigned integers above `u8` as minimal LEB128 varints, signed
//! ones zigzagged first, `u8`/`i8`/`bool` as one byte, floats as little-endian bits, strings,
//! byte strings, sequences and maps after their length, `Option` as a 0/1 byte, enum variants
//! by their index as a varint, structs and tuples as their fields in order, no names. Each
//! method is small enough to inline into the caller's `Serialize` impl: a `u64` element costs
//! its varint, not a serializer built per element.

use core::fmt;

use serde::Serialize;
use serde::ser::{self, Serializer};

use super::fast::Varints;
use super::{Reader, Window, Writer};

/// The error of the serializer (and of `StateSize`'s scan): a sequence or map of unknown length
/// (postcard needs the length first, and refuses it too), a `Display` that failed inside
/// `collect_str`, a custom error of the value's own `Serialize` impl, or (a [`Compare`]) a byte
/// that differs from the expected one. Never raised by the crate's types into a [`Writer`] or a
/// [`Count`].
#[derive(Debug)]
pub(crate) struct SerError;

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value not serializable in the compact format")
    }
}

impl ser::StdError for SerError {}

impl ser::Error for SerError {
    fn custom<M: fmt::Display>(_msg: M) -> Self {
        SerError
    }
}

type Res = Result<(), SerError>;

/// Where the serializer's bytes go: the three operations of the postcard format.
pub(crate) trait Sink {
    /// One byte.
    fn byte(&mut self, b: u8) -> Res;

    /// Raw bytes.
    fn bytes(&mut self, b: &[u8]) -> Res;

    /// A `u64` varint (LEB128, minimal).
    fn varint(&mut self, v: u64) -> Res;

    /// A `u128` varint (LEB128, minimal), a byte at a time.
    fn varint128(&mut self, mut v: u128) -> Res {
        while v >= 0x80 {
            self.byte((v as u8) | 0x80)?;
            v >>= 7;
        }
        self.byte(v as u8)
    }
}

/// Appends the bytes (the direct encoders' output; borrowed, so that the serializer is one
/// pointer to the writer, as the direct encoders hold it).
impl Sink for &mut Writer<'_> {
    #[inline(always)]
    fn byte(&mut self, b: u8) -> Res {
        Writer::byte(self, b);
        Ok(())
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) -> Res {
        Writer::bytes(self, b);
        Ok(())
    }

    #[inline(always)]
    fn varint(&mut self, v: u64) -> Res {
        Writer::varint(self, v);
        Ok(())
    }
}

/// Writes into a window of the output ([`Window::serde`]); a value that does not fit fails.
impl<const N: usize> Sink for &mut Window<'_, N> {
    #[inline(always)]
    fn byte(&mut self, b: u8) -> Res {
        if self.try_byte(b) { Ok(()) } else { Err(SerError) }
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) -> Res {
        if self.try_bytes(b) { Ok(()) } else { Err(SerError) }
    }

    #[inline(always)]
    fn varint(&mut self, v: u64) -> Res {
        if self.try_varint(v) { Ok(()) } else { Err(SerError) }
    }
}

/// Checks the bytes against the expected bytes left, stopping at the first difference. A
/// varint is compared by value: its one byte below 128; else with the value a strict read of
/// the same bytes noted for the address it starts at, if any (see
/// [`Varints`](super::fast::Varints)), else read strictly from the bytes. Minimal encodings are
/// equal exactly when their values are (an over-long one never matches).
pub(crate) struct Compare<'a, 'n> {
    expected: Reader<'a>,
    noted: &'n Varints,
}

impl Sink for Compare<'_, '_> {
    #[inline]
    fn byte(&mut self, b: u8) -> Res {
        match self.expected.bytes.split_first() {
            Some((&x, rest)) if x == b => {
                self.expected.bytes = rest;
                Ok(())
            }
            _ => Err(SerError),
        }
    }

    #[inline]
    fn bytes(&mut self, b: &[u8]) -> Res {
        match self.expected.bytes.split_at_checked(b.len()) {
            Some((head, rest)) if equal_bytes(head, b) => {
                self.expected.bytes = rest;
                Ok(())
            }
            _ => Err(SerError),
        }
    }

    #[inline(always)]
    fn varint(&mut self, v: u64) -> Res {
        if v < 0x80 {
            // Its one byte; any byte from 128 up starts a varint of 128 or more.
            return self.byte(v as u8);
        }
        if let Some(x) = self.noted.at(self.expected.bytes.as_ptr() as usize) {
            // The bytes here are the minimal encoding of `x`: `v`'s matches them exactly when
            // `v == x`, and is `varint_len(v)` bytes long.
            if x != v {
                return Err(SerError);
            }
            self.expected.bytes = self.expected.bytes.get(varint_len(v)..).ok_or(SerError)?;
            return Ok(());
        }
        match self.expected.u64() {
            Ok(x) if x == v => Ok(()),
            _ => Err(SerError),
        }
    }
}

/// `a == b` for slices of the same length: up to 32 bytes inline, as two loads of a fixed size
/// from each that may overlap (a byte in both is compared twice); longer ones by `==` (a call
/// to `bcmp`, which a short string's compare spent more on than on comparing).
#[inline(always)]
fn equal_bytes(a: &[u8], b: &[u8]) -> bool {
    fn ends<const N: usize>(a: &[u8], b: &[u8]) -> Option<bool> {
        Some(a.first_chunk::<N>()? == b.first_chunk::<N>()? && a.last_chunk::<N>()? == b.last_chunk::<N>()?)
    }
    match a.len() {
        16..=32 => ends::<16>(a, b),
        8..=15 => ends::<8>(a, b),
        4..=7 => ends::<4>(a, b),
        _ => None,
    }
    .unwrap_or_else(|| a == b)
}

/// Counts the bytes.
pub(crate) struct Count(pub(crate) usize);

impl Sink for Count {
    #[inline]
    fn byte(&mut self, _: u8) -> Res {
        self.0 += 1;
        Ok(())
    }

    #[inline]
    fn bytes(&mut self, b: &[u8]) -> Res {
        self.0 += b.len();
        Ok(())
    }

    #[inline]
    fn varint(&mut self, v: u64) -> Res {
        self.0 += varint_len(v);
        Ok(())
    }
}

/// The bytes of `v` as a varint: one below 128 (most lengths and indices), else
/// `ceil(bits / 7)` by a multiply (exact for bits up to 70).
#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    if v < 0x80 {
        return 1;
    }
    let bits = 64 - v.leading_zeros();
    (((bits + 6) * 37) >> 8) as usize
}

/// Whether `expected` is exactly the postcard encoding of `v` (`false` also when postcard
/// refuses to encode `v`: a sequence of unknown length, a failing `Serialize` impl).
#[inline]
pub(crate) fn same<T: Serialize + ?Sized>(v: &T, expected: &[u8]) -> bool {
    same_noted(v, expected, &Varints::default())
}

/// [`same`], given the varints a strict read of `expected` noted: the same answer, for every
/// input, the noted varints compared by value instead of read again.
#[inline]
pub(crate) fn same_noted<T: Serialize + ?Sized>(v: &T, expected: &[u8], noted: &Varints) -> bool {
    let mut s = Ser(Compare { expected: Reader::prefix(expected), noted });
    v.serialize(&mut s).is_ok() && s.0.expected.bytes.is_empty()
}

/// The length of the postcard encoding of `v`, counted without writing it.
pub(crate) fn count<T: Serialize + ?Sized>(v: &T) -> Result<usize, SerError> {
    let mut s = Ser(Count(0));
    v.serialize(&mut s)?;
    Ok(s.0.0)
}

/// The serializer of the postcard format into a [`Sink`] (a crate-private wrapper: the writer
/// is public plumbing, and the serializer's error type is not).
pub(crate) struct Ser<S>(pub(crate) S);

impl<S: Sink> Ser<S> {
    #[inline(always)]
    fn len(&mut self, n: usize) -> Res {
        self.0.varint(n as u64)
    }
}

impl<S: Sink> Serializer for &mut Ser<S> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    #[inline]
    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Res {
        self.0.byte(u8::from(v))
    }

    #[inline]
    fn serialize_i8(self, v: i8) -> Res {
        self.0.byte(v as u8)
    }

    #[inline]
    fn serialize_i16(self, v: i16) -> Res {
        self.0.varint(u64::from(((v << 1) ^ (v >> 15)) as u16))
    }

    #[inline]
    fn serialize_i32(self, v: i32) -> Res {
        self.0.varint(u64::from(((v << 1) ^ (v >> 31)) as u32))
    }

    #[inline]
    fn serialize_i64(self, v: i64) -> Res {
        self.0.varint(((v << 1) ^ (v >> 63)) as u64)
    }

    #[inline]
    fn serialize_i128(self, v: i128) -> Res {
        self.0.varint128(((v << 1) ^ (v >> 127)) as u128)
    }

    #[inline]
    fn serialize_u8(self, v: u8) -> Res {
        self.0.byte(v)
    }

    #[inline]
    fn serialize_u16(self, v: u16) -> Res {
        self.0.varint(u64::from(v))
    }

    #[inline]
    fn serialize_u32(self, v: u32) -> Res {
        self.0.varint(u64::from(v))
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Res {
        self.0.varint(v)
    }

    #[inline]
    fn serialize_u128(self, v: u128) -> Res {
        self.0.varint128(v)
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Res {
        self.0.bytes(&v.to_bits().to_le_bytes())
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Res {
        self.0.bytes(&v.to_bits().to_le_bytes())
    }

    #[inline]
    fn serialize_char(self, v: char) -> Res {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Res {
        self.serialize_bytes(v.as_bytes())
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Res {
        self.len(v.len())?;
        self.0.bytes(v)
    }

    #[inline]
    fn serialize_none(self) -> Res {
        self.0.byte(0)
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Res {
        self.0.byte(1)?;
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Res {
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Res {
        Ok(())
    }

    #[inline]
    fn serialize_unit_variant(self, _name: &'static str, index: u32, _variant: &'static str) -> Res {
        self.0.varint(u64::from(index))
    }

    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, value: &T) -> Res {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Res {
        self.0.varint(u64::from(index))?;
        value.serialize(self)
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, SerError> {
        self.len(len.ok_or(SerError)?)?;
        Ok(self)
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Self, SerError> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self, SerError> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, SerError> {
        self.0.varint(u64::from(index))?;
        Ok(self)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self, SerError> {
        self.len(len.ok_or(SerError)?)?;
        Ok(self)
    }

    #[inline]
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, SerError> {
        Ok(self)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, SerError> {
        self.0.varint(u64::from(index))?;
        Ok(self)
    }

    /// The length first, so the text is formatted twice: once counted, once written.
    fn collect_str<T: ?Sized + fmt::Display>(self, value: &T) -> Res {
        struct Out<'x, S>(&'x mut S);
        impl<S: Sink> fmt::Write for Out<'_, S> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0.bytes(s.as_bytes()).map_err(|_| fmt::Error)
            }
        }
        let mut n = Count(0);
        fmt::write(&mut Out(&mut n), format_args!("{value}")).map_err(|_| SerError)?;
        self.len(n.0)?;
        fmt::write(&mut Out(&mut self.0), format_args!("{value}")).map_err(|_| SerError)
    }
}

/// The compound forms: their parts in order, nothing around them (lengths and variant indices
/// are taken when the compound starts). `$m` is the part method, `$name` a field name if it
/// has one.
macro_rules! parts {
    ($($tr:ident :: $m:ident ($($name:ident)?)),*) => {$(
        impl<S: Sink> ser::$tr for &mut Ser<S> {
            type Ok = ();
            type Error = SerError;

            #[inline]
            fn $m<T: ?Sized + Serialize>(&mut self, $($name: &'static str,)? value: &T) -> Res {
                value.serialize(&mut **self)
            }

            #[inline]
            fn end(self) -> Res {
                Ok(())
            }
        }
    )*};
}

parts!(
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(_name),
    SerializeStructVariant::serialize_field(_name)
);

impl<S: Sink> ser::SerializeMap for &mut Ser<S> {
    type Ok = ();
    type Error = SerError;

    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Res {
        key.serialize(&mut **self)
    }

    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Res {
        value.serialize(&mut **self)
    }

    #[inline]
    fn end(self) -> Res {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    use serde::{Serialize, Serializer};

    use super::Writer;

    /// The writer's bytes of `v`, after a byte already in the output of capacity `cap`.
    fn ours<T: Serialize + ?Sized>(v: &T, cap: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(cap);
        out.push(0xAA);
        Writer::new(&mut out).serde(v);
        out.split_off(1)
    }

    /// The same bytes as postcard, written into a roomy output and into a tight one; compared
    /// equal to them and to nothing else (one byte changed, one more, one fewer); counted.
    fn same<T: Serialize + ?Sized + core::fmt::Debug>(v: &T) {
        let expected = postcard::to_allocvec(v).expect("postcard");
        assert_eq!(ours(v, 1), expected, "{v:?}");
        assert_eq!(ours(v, 4096), expected, "{v:?}");
        assert!(super::same(v, &expected), "{v:?}");
        for i in 0..expected.len() {
            let mut changed = expected.clone();
            changed[i] ^= 1 << (i % 8);
            assert!(!super::same(v, &changed), "{v:?} byte {i}");
        }
        let mut longer = expected.clone();
        longer.push(0);
        assert!(!super::same(v, &longer), "{v:?}");
        if let Some((_, shorter)) = expected.split_last() {
            assert!(!super::same(v, shorter), "{v:?}");
        }
        assert_eq!(super::count(v).ok(), Some(expected.len()), "{v:?}");
    }

    #[derive(Serialize, Debug)]
    struct Unit;
    #[derive(Serialize, Debug)]
    struct Newtype(u32);
    #[derive(Serialize, Debug)]
    struct Pair(i16, String);
    #[derive(Serialize, Debug)]
    struct Fields {
        a: Option<u64>,
        b: Vec<(u8, bool)>,
        c: BTreeMap<String, i64>,
        d: [u8; 3],
    }
    #[derive(Serialize, Debug)]
    enum E {
        A,
        B(u128),
        C(i8, f32),
        D { x: f64, y: char },
    }
    /// Serializes through `collect_str` (formatted twice by both serializers).
    #[derive(Debug)]
    struct Shown(u32);
    impl Serialize for Shown {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("n={}-{}", self.0, "x".repeat(self.0 as usize)))
        }
    }

    /// Every serde data-model form gives postcard's bytes (written, compared, counted), at every
    /// varint width boundary.
    #[test]
    fn serializer_writes_compares_and_counts_postcard_bytes() {
        let mut edges: Vec<u64> = vec![0, 1, 0x7f, 0x80, 0xff, 300, u64::MAX, u64::MAX - 1];
        for k in 1..64 {
            edges.extend([(1u64 << k) - 1, 1u64 << k, (1u64 << k) + 1]);
        }
        for &v in &edges {
            same(&v);
            same(&(v as u32));
            same(&(v as u16));
            same(&(v as u8));
            same(&(v as i64));
            same(&(v as i64).wrapping_neg());
            same(&(v as i32));
            same(&(v as i16));
            same(&(v as i8));
            same(&u128::from(v));
            same(&(u128::from(v) << 64 | u128::from(v)));
            same(&(i128::from(v as i64) << 60));
            same(&f64::from_bits(v));
            same(&f32::from_bits(v as u32));
            // Room for the 8-byte word (a varint below 2^56 without a loop), and none (one byte
            // at a time).
            let expected = postcard::to_allocvec(&v).expect("postcard");
            for mut direct in [Vec::with_capacity(64), Vec::new()] {
                Writer::new(&mut direct).varint(v);
                assert_eq!(direct, expected, "varint {v}");
            }
        }
        same(&i128::MIN);
        same(&i128::MAX);
        same(&u128::MAX);
        same(&true);
        same(&false);
        same(&'a');
        same(&'\u{10FFFF}');
        same("");
        same("h\u{e9}llo");
        same(&"x".repeat(200));
        // Every length of the compare's fixed-size loads (4, 8, 16 bytes, overlapping) and past
        // them, with distinct bytes: a change anywhere is seen.
        for n in 0..=40u8 {
            let s: String = (0..n).map(|i| char::from(b'0' + i % 64)).collect();
            same(&s);
            same(&(n, s.clone(), n));
        }
        same(&serde_bytes_like(&[1, 2, 3]));
        same(&());
        same(&Unit);
        same(&Newtype(70_000));
        same(&Pair(-300, "p".into()));
        same(&Fields {
            a: Some(1 << 40),
            b: vec![(1, true), (255, false)],
            c: [("k".into(), -1), ("l".into(), i64::MIN)].into_iter().collect(),
            d: [7, 8, 9],
        });
        same(&Fields { a: None, b: vec![], c: BTreeMap::new(), d: [0; 3] });
        same(&[E::A, E::B(u128::MAX), E::C(-1, 1.5), E::D { x: -0.0, y: '\u{1F600}' }]);
        same(&Shown(0));
        same(&Shown(150));
        same(&(Some(Shown(3)), vec![Shown(1)]));
    }

    /// A window writes the writer's bytes: a varint of every width from every position of the
    /// window (the word stored whole, one byte at a time near the end, refused past it with
    /// the position unchanged), and values through serde, fitting or not (a value that does not
    /// fit is refused, its bytes cut with the window's). `Writer::window`
    /// keeps what its writer wrote only if the writer succeeds, writes nothing without the
    /// room, and never grows the output.
    #[test]
    fn window_writes_the_bytes_of_the_writer() {
        const N: usize = 24;
        /// `filler` bytes, then `put` into a window of `N` of an output holding one byte of
        /// capacity 64: whether `put` fitted, and the output.
        fn run(filler: usize, put: impl FnOnce(&mut super::Window<'_, N>) -> bool) -> (bool, Vec<u8>) {
            let mut out = Vec::with_capacity(64);
            out.push(0xAA);
            let fits = Writer::new(&mut out).window::<N>(|b| {
                for _ in 0..filler {
                    assert!(b.try_byte(0xEE));
                }
                put(b)
            });
            assert_eq!(out.capacity(), 64, "the window grew the output");
            (fits, out)
        }
        let expect = |filler: usize, bytes: &[u8]| -> Vec<u8> {
            let mut e = vec![0xAA];
            e.extend(core::iter::repeat_n(0xEE, filler));
            e.extend_from_slice(bytes);
            e
        };
        // What a refusable write into the window did: written as `bytes` after the filler when
        // they fit, nothing at all otherwise.
        let check = |filler: usize, bytes: &[u8], (fits, out): (bool, Vec<u8>), what: &str| {
            assert_eq!(fits, filler + bytes.len() <= N, "{what} after {filler}");
            assert_eq!(out, if fits { expect(filler, bytes) } else { vec![0xAA] }, "{what} after {filler}");
            fits
        };
        let mut edges: Vec<u64> = vec![0, 1, 0x7f, 0x80, 0xff, 300, u64::MAX, u64::MAX - 1];
        for k in 1..64 {
            edges.extend([(1u64 << k) - 1, 1u64 << k, (1u64 << k) + 1]);
        }
        for &v in &edges {
            let bytes = postcard::to_allocvec(&v).expect("postcard");
            for filler in 0..=N {
                let varint = run(filler, |b| {
                    let fits = b.try_varint(v);
                    assert!(fits || b.pos == filler, "a refused varint moved the position");
                    fits
                });
                check(filler, &bytes, varint, &alloc::format!("varint {v}"));
                if check(filler, &bytes, run(filler, |b| b.serde(&v)), &alloc::format!("serde {v}")) {
                    let (_, out) = run(filler, |b| {
                        b.varint(v);
                        true
                    });
                    assert_eq!(out, expect(filler, &bytes), "varint {v} after {filler}");
                }
            }
        }
        for n in 0..=N + 2 {
            let s: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let bytes = postcard::to_allocvec(&s).expect("postcard");
            for filler in 0..=N {
                check(filler, &bytes, run(filler, |b| b.serde(&s)), &alloc::format!("{s:?}"));
            }
        }
        let id: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
        let (_, out) = run(3, |b| {
            b.bytes16(&id);
            b.byte(9);
            true
        });
        assert_eq!(out, expect(3, &[&id[..], &[9]].concat()));
        // Every serde form, through the window's sink.
        let fields = Fields {
            a: Some(1 << 40),
            b: vec![(1, true), (255, false)],
            c: [("k".into(), -1), ("l".into(), i64::MIN)].into_iter().collect(),
            d: [7, 8, 9],
        };
        let mut out = Vec::with_capacity(200);
        assert!(Writer::new(&mut out).window::<100>(|b| b.serde(&fields)));
        assert_eq!(out, postcard::to_allocvec(&fields).expect("postcard"));
        // Without the room: nothing written, the writer not called.
        for cap in [0, 1, N - 1] {
            let mut out = Vec::with_capacity(cap);
            assert!(!Writer::new(&mut out).window::<N>(|_| unreachable!("called without the room")));
            assert!(out.is_empty() && out.capacity() == cap);
        }
        let mut out = Vec::with_capacity(N);
        assert!(Writer::new(&mut out).window::<N>(|b| b.serde(&(u64::MAX, 1u8))));
        assert_eq!(out, postcard::to_allocvec(&(u64::MAX, 1u8)).expect("postcard"));
    }

    /// A fixed part written past its window panics (a window sized wrong), not truncated.
    #[test]
    #[should_panic(expected = "past the end of its window")]
    fn a_fixed_varint_past_the_window_panics() {
        let mut out = Vec::with_capacity(8);
        let _ = Writer::new(&mut out).window::<4>(|b| {
            b.byte(1);
            b.varint(u64::MAX);
            true
        });
    }

    /// A byte string (serde's `serialize_bytes`).
    #[derive(Debug)]
    struct Bytes<'a>(&'a [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    fn serde_bytes_like(b: &[u8]) -> Bytes<'_> {
        Bytes(b)
    }

    /// A sequence of unknown length is refused (postcard refuses it too).
    #[test]
    #[should_panic(expected = "serialization into memory")]
    fn unknown_length_panics() {
        struct Unsized;
        impl Serialize for Unsized {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(core::iter::from_fn(|| None::<u8>).filter(|_| true))
            }
        }
        assert!(postcard::to_allocvec(&Unsized).is_err());
        assert!(!super::same(&Unsized, &[]) && !super::same(&Unsized, &[0]));
        assert!(super::count(&Unsized).is_err());
        let _ = ours(&Unsized, 1);
    }
}
