//! The canonical check of a set element read by the one-pass delta reader, through
//! `wire::from_bytes`: element types whose serde impls do not round-trip every input (a value
//! read from two byte strings, fields written in another order or twice, a byte written as a
//! varint) are refused as `NotCanonical` wherever their bytes are not the encoding of the value
//! read from them, and every nearby input decodes as the reference does (postcard, then the
//! value encoded again and compared with the input).
//!
//! The check compares the varints of the value's encoding with the values the strict reader
//! noted for the same bytes (`src/wire/fast.rs`, `Varints`) instead of reading them again; these
//! types are the ones a wrong shortcut would let through: long varints (two bytes or more, the
//! noted ones) of equal length, so that only their values tell them apart.
#![cfg(feature = "serde")]

use convergent::{Error, OrSet, ReplicaId, wire};
use serde::Serialize;
use serde::de::DeserializeOwned;
use testkit::hostile::{Dup, Odd, Swapped, Widened};

/// The reference decoder: postcard, then the value encoded again and compared with the input.
fn reference<T: wire::Decode + PartialEq>(bytes: &[u8]) -> Option<T> {
    let body = bytes.strip_prefix(&[wire::FORMAT_VERSION])?;
    let v: T = postcard::from_bytes(body).ok()?;
    (wire::to_bytes(&v) == bytes).then_some(v)
}

/// A one-insert delta of `elem` by a fresh replica, its element bytes replaced by `element`.
fn delta_with<T>(elem: T, element: &[u8]) -> Vec<u8>
where
    T: Serialize + DeserializeOwned + std::hash::Hash + Eq + Clone,
{
    let mut s = OrSet::new();
    let bytes = wire::to_bytes(&s.insert(ReplicaId::from_u128(9), elem));
    // version, context [1 entry: 16-byte id, [(gap 0, len 0)]], store [(index 0, [(gap 0, e)])]
    assert_eq!(&bytes[18..25], [1, 0, 0, 1, 0, 1, 0], "layout of a one-insert delta");
    let mut b = bytes[..25].to_vec();
    b.extend_from_slice(element);
    b
}

/// `bytes`, every one-byte change of it (to a few values), every cut and one byte more: ours
/// and the reference accept the same inputs, with the same value. Returns how many were
/// accepted.
fn agrees<T: wire::Decode + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> usize {
    let mut accepted = 0;
    let mut check = |b: &[u8]| {
        let ours = wire::from_bytes::<T>(b).ok();
        assert_eq!(ours, reference::<T>(b), "input {b:?}");
        accepted += usize::from(ours.is_some());
    };
    check(bytes);
    for i in 1..bytes.len() {
        for v in [0u8, 1, 0x7f, 0x80, 0x81, 0xff, bytes[i] ^ 1, bytes[i] ^ 0x80, bytes[i].wrapping_add(1)] {
            let mut b = bytes.to_vec();
            b[i] = v;
            check(&b);
        }
        check(&bytes[..i]);
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    check(&longer);
    accepted
}

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).expect("encode")
}

const NOT_CANONICAL: Error = Error::NotCanonical { field: "encoding" };

/// `2^40` read as `Odd` is kept as `2^40 + 1`, whose encoding (of the same length) differs from
/// the input in its first byte only: refused. `2^40 + 7` is canonical.
#[test]
fn an_element_read_from_two_encodings_is_refused_for_the_other_one() {
    let a = (1u64 << 40) + 7;
    let ok = delta_with(Odd(a), &enc(&a));
    assert!(wire::from_bytes::<OrSet<Odd>>(&ok).is_ok_and(|s| s.contains(&Odd(a))));
    let even = delta_with(Odd(a), &enc(&(1u64 << 40)));
    assert_eq!(wire::from_bytes::<OrSet<Odd>>(&even), Err(NOT_CANONICAL));
    assert!(agrees::<OrSet<Odd>>(&ok) >= 1);
    agrees::<OrSet<Odd>>(&even);
}

/// Two long varints of equal length written in the other order, or the first written twice:
/// refused unless they are equal.
#[test]
fn an_element_written_in_another_order_or_twice_is_refused() {
    let (a, b) = ((1u64 << 40) + 7, (1u64 << 40) + 9);
    let same_pair = enc(&(a, a));
    let pair = enc(&(a, b));
    let swapped = delta_with(Swapped(a, a), &pair);
    assert_eq!(wire::from_bytes::<OrSet<Swapped>>(&swapped), Err(NOT_CANONICAL));
    let equal = delta_with(Swapped(a, a), &same_pair);
    assert!(wire::from_bytes::<OrSet<Swapped>>(&equal).is_ok_and(|s| s.contains(&Swapped(a, a))));
    let dup = delta_with(Dup(a), &pair);
    assert_eq!(wire::from_bytes::<OrSet<Dup>>(&dup), Err(NOT_CANONICAL));
    let dup_back = delta_with(Dup(b), &enc(&(b, a)));
    assert_eq!(wire::from_bytes::<OrSet<Dup>>(&dup_back), Err(NOT_CANONICAL));
    let dup_ok = delta_with(Dup(a), &same_pair);
    assert!(wire::from_bytes::<OrSet<Dup>>(&dup_ok).is_ok_and(|s| s.contains(&Dup(a))));
    assert!(agrees::<OrSet<Swapped>>(&equal) >= 1);
    agrees::<OrSet<Swapped>>(&swapped);
    assert!(agrees::<OrSet<Dup>>(&dup_ok) >= 1);
    agrees::<OrSet<Dup>>(&dup);
}

/// A byte from 128 up read as `u8` and written as a varint (two bytes): refused; below 128
/// (one byte either way) accepted.
#[test]
fn a_byte_written_as_a_long_varint_is_refused() {
    let wide = delta_with(Widened(5), &[200]);
    assert_eq!(wire::from_bytes::<OrSet<Widened>>(&wide), Err(NOT_CANONICAL));
    let narrow = delta_with(Widened(5), &[100]);
    assert!(wire::from_bytes::<OrSet<Widened>>(&narrow).is_ok_and(|s| s.contains(&Widened(100))));
    assert!(agrees::<OrSet<Widened>>(&narrow) >= 1);
    agrees::<OrSet<Widened>>(&wide);
}

/// Plain elements with long varints (a `u64`, a pair, a string of 200 bytes: a two-byte
/// length) decode as the reference does on every nearby input.
#[test]
fn plain_elements_with_long_varints_decode_as_the_reference_does() {
    let a = (1u64 << 40) + 7;
    assert!(agrees::<OrSet<u64>>(&delta_with(a, &enc(&a))) >= 1);
    assert!(agrees::<OrSet<(u64, u64)>>(&delta_with((a, a), &enc(&(a, 1u64 << 20)))) >= 1);
    assert!(agrees::<OrSet<(u64, u64, u64)>>(&delta_with((a, a, a), &enc(&(a, 300u64, a)))) >= 1);
    let long = "x".repeat(200);
    assert!(agrees::<OrSet<String>>(&delta_with(long.clone(), &enc(&long))) >= 1);
}
