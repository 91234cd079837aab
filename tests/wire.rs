//! Wire-format regressions found by fuzzing and review.
#![cfg(feature = "serde")]

use convergent::{CausalContext, Error, EwFlag, ReplicaId, wire};

/// Found by `fuzz/decode_flag`: postcard reads the over-long varint `[0x80, 0x00]` as 0, so two
/// byte strings decoded to the same empty context. Only the canonical encoding is accepted now.
#[test]
fn regression_overlong_varint_is_rejected() {
    assert_eq!(wire::from_bytes::<CausalContext>(&[1, 0]), Ok(CausalContext::new()));
    assert_eq!(
        wire::from_bytes::<CausalContext>(&[1, 0x80, 0x00]),
        Err(Error::NotCanonical { field: "encoding" })
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    assert_eq!(
        wire::from_bytes::<CausalContext>(&[1, 0, 0]),
        Err(Error::Malformed { field: "bytes.trailing" })
    );
}

#[test]
fn flag_round_trips_and_store_dot_outside_context_is_rejected() {
    let mut f = EwFlag::new();
    let _ = f.enable(ReplicaId::from_u128(1));
    let bytes = wire::to_bytes(&f);
    assert_eq!(wire::from_bytes::<EwFlag>(&bytes), Ok(f.clone()));
    // Layout: version, 1 replica entry (16-byte id, 1 range (gap 0, len-1 0)), store [(0, 1)].
    // Point the store dot at event 2, which the context does not hold.
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    assert_eq!(bad[last], 1);
    bad[last] = 2;
    assert!(wire::from_bytes::<EwFlag>(&bad).is_err());
}

/// The reference decoder: the serde wire form (postcard + the checked conversion), then the
/// canonical re-encode. The direct readers of causal pairs and one-element set deltas must accept
/// exactly what it accepts, and give the same value.
fn reference<T: wire::Decode + PartialEq>(bytes: &[u8]) -> Option<T> {
    let body = bytes.strip_prefix(&[wire::FORMAT_VERSION])?;
    let v: T = postcard::from_bytes(body).ok()?;
    (wire::to_bytes(&v) == bytes).then_some(v)
}

/// Every one-byte change, every truncation and one appended byte of `bytes`: the direct decoder
/// and the reference accept the same inputs and decode them to the same values.
fn agrees_with_reference<T: wire::Decode + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> usize {
    let mut accepted = 0;
    let mut check = |b: &[u8]| {
        let ours = wire::from_bytes::<T>(b).ok();
        assert_eq!(ours, reference::<T>(b), "input {b:?}");
        accepted += usize::from(ours.is_some());
    };
    check(bytes);
    for i in 1..bytes.len() {
        for v in [0u8, 1, 2, 0x7f, 0x80, 0x81, 0xff, bytes[i] ^ 1, bytes[i].wrapping_add(1)] {
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

/// The one-element set deltas (insert: one group of one element; remove: no element) take the
/// direct reader, which must agree with the serde path on every nearby input.
#[test]
fn one_element_set_deltas_decode_as_the_reference_does() {
    use convergent::OrSet;
    let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(9));
    let mut s = OrSet::new();
    for e in 0..300u64 {
        let _ = s.insert(if e % 2 == 0 { me } else { peer }, e);
    }
    let ins = s.insert(peer, 1 << 40);
    let rm = s.remove(me, &4);
    assert!(agrees_with_reference::<OrSet<u64>>(&wire::to_bytes(&ins)) >= 1);
    assert!(agrees_with_reference::<OrSet<u64>>(&wire::to_bytes(&rm)) >= 1);
    let mut t = OrSet::new();
    let _ = t.insert(me, String::from("a"));
    let sins = t.insert(peer, String::from("element"));
    assert!(agrees_with_reference::<OrSet<String>>(&wire::to_bytes(&sins)) >= 1);
    // A two-element state takes the serde path: the same answers.
    let _ = t.insert(me, String::from("b"));
    assert!(agrees_with_reference::<OrSet<String>>(&wire::to_bytes(&t)) >= 1);
}

/// Over-long varints anywhere in a one-element delta are refused: in the context, in the store's
/// replica index and counter gap (read directly) and inside the element (read through serde,
/// then checked against its own bytes).
#[test]
fn overlong_varints_in_a_one_element_delta_are_refused() {
    use convergent::OrSet;
    let peer = ReplicaId::from_u128(9);
    let mut s = OrSet::new();
    let d = s.insert(peer, 5u64);
    let bytes = wire::to_bytes(&d);
    // version, [1 entry: 16-byte id, [1 range: (gap 0, len 0)]], store [1 group: (index 0,
    // [1 dot: (gap 0, element 5)])]
    assert_eq!(bytes.len(), 1 + 1 + 16 + 3 + 5);
    let tail = &bytes[18..];
    assert_eq!(tail, [1, 0, 0, 1, 0, 1, 0, 5]);
    assert_eq!(wire::from_bytes::<OrSet<u64>>(&bytes), Ok(d));
    for at in 18..bytes.len() {
        assert_eq!(
            wire::from_bytes::<OrSet<u64>>(&overlong_at(&bytes, at)),
            Err(Error::NotCanonical { field: "encoding" }),
            "at {at}"
        );
    }
}

/// A decoded one-insert delta holds its element without indexes (two allocations); every
/// operation on it must behave as on the delta that was encoded: reads, inserts (a new element,
/// the same element under a concurrent dot), removes, and joins either way. Each step is checked
/// against the same step on the original, with the store's invariant checker.
#[test]
fn a_decoded_one_element_delta_behaves_as_the_original_under_every_operation() {
    use convergent::causal::CheckInvariants;
    use convergent::{Lattice, OrSet};
    let (me, peer, third) = (ReplicaId::from_u128(1), ReplicaId::from_u128(9), ReplicaId::from_u128(5));
    let mut src = OrSet::new();
    for e in 0..50u64 {
        let _ = src.insert(if e % 2 == 0 { me } else { peer }, e);
    }
    let delta = src.insert(peer, 1000);
    let decoded = || wire::from_bytes::<OrSet<u64>>(&wire::to_bytes(&delta)).expect("valid");
    let check = |a: &OrSet<u64>, b: &OrSet<u64>, what: &str| {
        assert_eq!(a, b, "{what}");
        assert_eq!(a.as_causal().store().check_invariants(), Ok(()), "{what}");
        assert_eq!(wire::to_bytes(a), wire::to_bytes(b), "{what}");
    };
    check(&decoded(), &delta, "decoded");
    assert!(decoded().contains(&1000) && !decoded().contains(&999));
    type Step = fn(&mut OrSet<u64>, [ReplicaId; 3]);
    let steps: [(&str, Step); 8] = [
        ("insert a new element", |s, [me, ..]| drop(s.insert(me, 7))),
        ("insert the same element at another replica", |s, [_, _, third]| drop(s.insert(third, 1000))),
        ("insert it again at its own replica", |s, [_, peer, _]| drop(s.insert(peer, 1000))),
        ("remove it", |s, [me, ..]| drop(s.remove(me, &1000))),
        ("remove an absent element", |s, [me, ..]| drop(s.remove(me, &3))),
        ("insert two, remove the first", |s, [me, peer, _]| {
            let _ = s.insert(me, 1);
            let _ = s.insert(peer, 2);
            let _ = s.remove(me, &1000);
        }),
        ("join a state into it", |s, [me, ..]| {
            let mut o = OrSet::new();
            let _ = o.insert(me, 1000);
            let _ = o.insert(me, 8);
            s.join(o);
        }),
        ("join another delta into it", |s, [_, _, third]| {
            let mut o = OrSet::new();
            s.join(o.insert(third, 9));
        }),
    ];
    for (what, step) in steps {
        let (mut a, mut b) = (decoded(), delta.clone());
        step(&mut a, [me, peer, third]);
        step(&mut b, [me, peer, third]);
        check(&a, &b, what);
        // A clone, and a second step on top.
        let (mut a2, mut b2) = (a.clone(), b.clone());
        let _ = a2.insert(third, 11);
        let _ = b2.insert(third, 11);
        check(&a2, &b2, what);
    }
    // Joined into a state, and a remove delta joined into it.
    let (mut s1, mut s2) = (src.clone(), src.clone());
    s1.join(decoded());
    s2.join(delta.clone());
    check(&s1, &s2, "joined into the source");
    let rm = src.remove(me, &1000);
    let (mut a, mut b) = (decoded(), delta.clone());
    a.join(rm.clone());
    b.join(rm);
    check(&a, &b, "a remove delta joined into it");
    assert!(a.is_empty());
}

#[path = "data/vectors.rs"]
mod vectors;

/// The bytes of a value through its serde `Serialize` impl (postcard), after the format-version
/// byte: the reference the direct encoders (`Decode::encode_body`, which `wire::to_bytes`
/// writes through) must match byte for byte.
fn serde_bytes<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut b = vec![wire::FORMAT_VERSION];
    b.extend(postcard::to_allocvec(v).expect("serialization into memory"));
    b
}

/// Every payload-carrying message kind around `v`, bare and in an envelope: the message encoders
/// write their header and then the payload's own `encode_body`, which must give the serde bytes.
fn check_messages<T: wire::Decode + Clone + PartialEq + std::fmt::Debug>(v: &T, seq: u64) {
    use convergent::sync::{Envelope, Message};
    let (a, b) = (ReplicaId::from_u128(0xA1), ReplicaId::from_u128(0xB2));
    let messages = [
        Message::State { state: v.clone() },
        Message::Delta { seq, delta: v.clone() },
        Message::Snapshot { seq, state: v.clone() },
        Message::Ack { seq },
        Message::Chunk { seq, index: 3, count: 200, part: v.clone() },
        Message::ChunkAck { seq, index: 300 },
    ];
    for m in messages {
        let bytes = m.to_bytes();
        assert_eq!(bytes, serde_bytes(&m), "{m:?}");
        assert_eq!(m.encoded_len(), bytes.len(), "{m:?}");
        let e = Envelope { from: a, to: b, message: m };
        assert_eq!(e.to_bytes(), serde_bytes(&e), "{e:?}");
        assert_eq!(Envelope::<T>::from_bytes(&e.to_bytes(), &convergent::Limits::default()).as_ref(), Ok(&e));
    }
}

/// `wire::to_bytes` (the crate's direct encoders, no serde per field) writes exactly the bytes
/// of postcard through serde and of the stored golden vector, for every type.
#[test]
fn direct_encoder_writes_the_golden_bytes() {
    use convergent::EwFlag;
    use convergent::sync::Message;
    fn same<T: wire::Decode>(name: &str, v: T) {
        let direct = wire::to_bytes(&v);
        assert_eq!(direct, serde_bytes(&v), "{name}");
        assert_eq!(wire::encoded_len(&v), direct.len(), "{name}");
        let path = format!("{}/tests/data/{name}.bin", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(direct, std::fs::read(&path).expect("stored vector"), "{name}");
        let mut body = vec![7u8];
        v.encode_body(&mut body);
        assert_eq!(&body[1..], &direct[1..], "{name}: encode_body appends");
    }
    same("gcounter", vectors::gcounter());
    same("pncounter", vectors::pncounter());
    same("lww_string", vectors::lww_string());
    same("lww_u64", vectors::lww_u64());
    same("mvregister_string", vectors::mvregister());
    same("ewflag", vectors::ewflag());
    same("causal_counter", vectors::causal_counter());
    same("orset_string", vectors::orset_string());
    same("orset_string_delta_group", vectors::orset_string_delta_group());
    same("orset_u64", vectors::orset_u64());
    same("ormap_string_causal_counter", vectors::ormap_ccounter());
    same("ormap_string_gcounter", vectors::ormap_gcounter());
    same("ormap_string_pncounter", vectors::ormap_pncounter());
    same("ormap_string_orset_string", vectors::ormap_orset());
    same("ormap_string_mvregister_string", vectors::ormap_mvreg());
    same("ormap_string_lww_string", vectors::ormap_lww());
    same("ormap_remove_delta", vectors::ormap_remove_delta());
    same("ormap_3_levels", vectors::ormap3());
    same("causal_context_gaps", vectors::causal_context_gaps());
    same("version_vector", vectors::version_vector());
    same("dot", vectors::dot());
    same("derived_shopping_list", vectors::shopping_list());
    same("message_state_gcounter", Message::State { state: vectors::gcounter() });
    same("message_ack", Message::<EwFlag>::Ack { seq: 1_000_000 });
    // Every message kind around every golden value (no stored vectors of their own).
    check_messages(&vectors::ormap3(), 1 << 35);
    check_messages(&vectors::orset_string_delta_group(), 0);
    check_messages(&vectors::lww_string(), 127);
    check_messages(&vectors::mvregister(), 128);
    check_messages(&vectors::causal_context_gaps(), 5);
    let digest = Message::<EwFlag>::Digest { digest: vec![vectors::version_vector(); 3], asks_back: true };
    assert_eq!(digest.to_bytes(), serde_bytes(&digest));
    assert_eq!(digest.encoded_len(), digest.to_bytes().len());
}

/// The direct encoders against postcard through serde on the values of realistic histories:
/// four replicas inserting, removing, incrementing and joining each other's deltas and states
/// (so stores hold one element, none, several replicas' groups, elements with concurrent dots,
/// contexts with gaps); every delta and every state encodes to the serde bytes and decodes back.
#[test]
fn direct_encoder_agrees_with_serde_on_random_histories() {
    use convergent::{GCounter, Lattice, OrMap, OrSet, PnCounter};
    fn check<T: wire::Decode + Clone + PartialEq + std::fmt::Debug>(v: &T) {
        let direct = wire::to_bytes(v);
        assert_eq!(direct, serde_bytes(v), "{v:?}");
        assert_eq!(wire::encoded_len(v), direct.len(), "{v:?}");
        assert_eq!(wire::from_bytes::<T>(&direct).as_ref(), Ok(v));
        check_messages(v, direct.len() as u64 * 997);
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rng = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let ids: Vec<ReplicaId> = (1..=4).map(|i| ReplicaId::from_u128(i * 0x0101_0101_0101)).collect();
    let mut sets: Vec<OrSet<u64>> = vec![OrSet::new(); 4];
    let mut words: Vec<OrSet<String>> = vec![OrSet::new(); 4];
    let mut maps: Vec<OrMap<String, PnCounter>> = vec![OrMap::new(); 4];
    let mut nested: Vec<OrMap<u64, OrSet<String>>> = vec![OrMap::new(); 4];
    let mut counters: Vec<GCounter> = vec![GCounter::new(); 4];
    let mut pn: Vec<PnCounter> = vec![PnCounter::new(); 4];
    for step in 0..1_500u64 {
        let r = rng(4) as usize;
        let (id, other) = (ids[r], rng(4) as usize);
        let e = rng(40);
        let word = format!("w{}", rng(20));
        match rng(8) {
            0 | 1 => {
                let d = sets[r].insert(id, e << rng(50));
                check(&d);
                sets[other].join_ref(&d);
                let d = words[r].insert(id, word.clone());
                check(&d);
                words[other].join_ref(&d);
            }
            2 => {
                let d = sets[r].remove(id, &e);
                check(&d);
                let d = words[r].remove(id, &word);
                check(&d);
                words[other].join_ref(&d);
            }
            3 => {
                let d = maps[r]
                    .update(id, word.clone(), |c| {
                        if e % 2 == 0 { c.increment(e + 1) } else { c.decrement(e + 1) }
                    })
                    .0;
                check(&d);
                maps[other].join_ref(&d);
                let d = nested[r].update(id, e, |s| s.insert(word.clone())).0;
                check(&d);
                nested[other].join_ref(&d);
            }
            4 => {
                let d = maps[r].remove(id, &word);
                check(&d);
                let d = nested[r].remove(id, &e);
                check(&d);
                nested[other].join_ref(&d);
            }
            5 => {
                let d = counters[r].increment(id, e + 1);
                check(&d);
                let d = if e % 2 == 0 { pn[r].increment(id, e + 1) } else { pn[r].decrement(id, e + 1) };
                check(&d);
                pn[other].join_ref(&d);
            }
            _ => {
                let (s, w, m, n, c) = (
                    sets[other].clone(),
                    words[other].clone(),
                    maps[other].clone(),
                    nested[other].clone(),
                    counters[other].clone(),
                );
                sets[r].join(s);
                words[r].join(w);
                maps[r].join(m);
                nested[r].join(n);
                counters[r].join(c);
            }
        }
        if step % 50 == 0 {
            check(&sets[r]);
            check(&words[r]);
            check(&maps[r]);
            check(&nested[r]);
            check(&counters[r]);
            check(&pn[r]);
            check(sets[r].as_causal().context());
        }
    }
    for r in 0..4 {
        check(&sets[r]);
        check(&words[r]);
        check(&maps[r]);
        check(&nested[r]);
        check(&counters[r]);
        check(&pn[r]);
    }
    assert!(sets.iter().any(|s| s.len() > 5) && maps.iter().any(|m| m.len() > 3));
}

/// `bytes` with the one-byte varint at `at` written over-long: the byte `v` as the two bytes
/// `v | 0x80, 0` (the same number, not in canonical form).
fn overlong_at(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes[..at].to_vec();
    b.extend([bytes[at] | 0x80, 0]);
    b.extend(&bytes[at + 1..]);
    b
}

/// The bytes of a one-insert delta of `elem` by replica 9 (a fresh replica: event 1), and the
/// offset of the element in them: version, context `[1 entry: 16-byte id, [(gap 0, len 0)]]`,
/// store `[1 group: (index 0, [1 dot: (gap 0, element)])]`.
fn one_insert<T>(elem: T) -> (Vec<u8>, usize)
where
    T: serde::Serialize + serde::de::DeserializeOwned + std::hash::Hash + Eq + Clone,
{
    let mut s = convergent::OrSet::new();
    let bytes = wire::to_bytes(&s.insert(ReplicaId::from_u128(9), elem));
    assert_eq!(&bytes[18..23], [1, 0, 0, 1, 0], "layout of a one-insert delta");
    (bytes, 25)
}

/// The strict element reader gives up on an over-long varint inside the element; the postcard
/// path then reads it and the canonical check refuses it: the same error as before the reader.
#[test]
fn fast_path_refuses_an_overlong_varint_in_the_element() {
    use convergent::OrSet;
    // u64 300 is `[0xac, 0x02]`; written as `[0xac, 0x82, 0x00]`.
    let (bytes, at) = one_insert(300u64);
    assert_eq!(&bytes[at..], [0xac, 0x02]);
    let mut b = bytes[..at].to_vec();
    b.extend([0xac, 0x82, 0x00]);
    assert_eq!(wire::from_bytes::<OrSet<u64>>(&b), Err(Error::NotCanonical { field: "encoding" }));
    // A signed element (zig-zag) and a string's length prefix.
    let (bytes, at) = one_insert(-3i32);
    assert_eq!(&bytes[at..], [5]);
    let mut b = bytes[..at].to_vec();
    b.extend([0x85, 0x00]);
    assert_eq!(wire::from_bytes::<OrSet<i32>>(&b), Err(Error::NotCanonical { field: "encoding" }));
    let (bytes, at) = one_insert(String::from("ab"));
    assert_eq!(&bytes[at..], [2, b'a', b'b']);
    let mut b = bytes[..at].to_vec();
    b.extend([0x82, 0x00, b'a', b'b']);
    assert_eq!(wire::from_bytes::<OrSet<String>>(&b), Err(Error::NotCanonical { field: "encoding" }));
}

/// Over-long varints in the context (replica count, range count, gap, length) of a delta read
/// by the one-range context path.
#[test]
fn fast_path_refuses_an_overlong_varint_in_the_context() {
    use convergent::OrSet;
    let (bytes, _) = one_insert(5u64);
    for at in [1, 18, 19, 20] {
        assert_eq!(
            wire::from_bytes::<OrSet<u64>>(&overlong_at(&bytes, at)),
            Err(Error::NotCanonical { field: "encoding" }),
            "at {at}"
        );
    }
}

/// Over-long varints in the store of a one-element delta (group count, replica index, dot count,
/// counter gap), and in the empty store of a remove delta.
#[test]
fn fast_path_refuses_an_overlong_varint_in_the_store() {
    use convergent::OrSet;
    let (bytes, _) = one_insert(5u64);
    for at in 21..25 {
        assert_eq!(
            wire::from_bytes::<OrSet<u64>>(&overlong_at(&bytes, at)),
            Err(Error::NotCanonical { field: "encoding" }),
            "at {at}"
        );
    }
    let mut s = OrSet::new();
    let _ = s.insert(ReplicaId::from_u128(9), 5u64);
    let rm = wire::to_bytes(&s.remove(ReplicaId::from_u128(9), &5));
    assert_eq!(rm.last(), Some(&0));
    let mut b = rm[..rm.len() - 1].to_vec();
    b.extend([0x80, 0]);
    assert_eq!(wire::from_bytes::<OrSet<u64>>(&b), Err(Error::NotCanonical { field: "encoding" }));
}

/// `bool` 2 and an option tag 2 in an element: malformed (postcard refuses them too).
#[test]
fn fast_path_refuses_bool_2_and_option_tag_2() {
    use convergent::OrSet;
    let (bytes, at) = one_insert(true);
    assert_eq!(&bytes[at..], [1]);
    let mut b = bytes.clone();
    b[at] = 2;
    assert_eq!(wire::from_bytes::<OrSet<bool>>(&b), Err(Error::Malformed { field: "value" }));
    let (bytes, at) = one_insert(Some(7u32));
    assert_eq!(&bytes[at..], [1, 7]);
    let mut b = bytes.clone();
    b[at] = 2;
    assert_eq!(wire::from_bytes::<OrSet<Option<u32>>>(&b), Err(Error::Malformed { field: "value" }));
}

/// Invalid UTF-8 in a string element: malformed.
#[test]
fn fast_path_refuses_invalid_utf8() {
    use convergent::OrSet;
    let (bytes, at) = one_insert(String::from("ab"));
    let mut b = bytes.clone();
    b[at + 2] = 0xff;
    assert_eq!(wire::from_bytes::<OrSet<String>>(&b), Err(Error::Malformed { field: "value" }));
    // A string cut short: its length says more bytes than there are.
    assert_eq!(
        wire::from_bytes::<OrSet<String>>(&bytes[..bytes.len() - 1]),
        Err(Error::Malformed { field: "value" })
    );
}

/// Bytes after a one-element delta (insert or remove): malformed trailing bytes.
#[test]
fn fast_path_refuses_trailing_bytes() {
    use convergent::OrSet;
    let (mut bytes, _) = one_insert(5u64);
    bytes.push(0);
    assert_eq!(wire::from_bytes::<OrSet<u64>>(&bytes), Err(Error::Malformed { field: "bytes.trailing" }));
    let mut s = OrSet::new();
    let _ = s.insert(ReplicaId::from_u128(9), 5u64);
    let mut rm = wire::to_bytes(&s.remove(ReplicaId::from_u128(9), &5));
    rm.push(0);
    assert_eq!(wire::from_bytes::<OrSet<u64>>(&rm), Err(Error::Malformed { field: "bytes.trailing" }));
}

/// An element type with its own serde impls that does not round-trip every input (it reads any
/// `u64` and keeps it modulo 10): the strict reader takes its bytes, but the canonical check
/// still compares the value's encoding with them, so `15` is refused and `5` accepted.
#[test]
fn fast_path_keeps_the_canonical_check_for_types_with_their_own_serde() {
    use convergent::OrSet;
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct Mod10(u64);
    impl serde::Serialize for Mod10 {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_u64(self.0)
        }
    }
    impl<'de> serde::Deserialize<'de> for Mod10 {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            u64::deserialize(d).map(|v| Mod10(v % 10))
        }
    }
    let (bytes, at) = one_insert(Mod10(5));
    assert_eq!(wire::from_bytes::<OrSet<Mod10>>(&bytes).map(|s| s.contains(&Mod10(5))), Ok(true));
    let mut b = bytes.clone();
    b[at] = 15;
    assert_eq!(wire::from_bytes::<OrSet<Mod10>>(&b), Err(Error::NotCanonical { field: "encoding" }));
    assert!(agrees_with_reference::<OrSet<Mod10>>(&bytes) >= 1);
}

/// Property: on the deltas of random histories (three replicas inserting and removing elements
/// of several types, the deltas of every operation and the states), the fast paths (strict element
/// reader, comparer, one-range context, one-element store) and the serde reference accept the
/// same inputs, nearby inputs included, and decode them to the same values.
#[test]
fn fast_and_general_paths_agree_on_random_histories() {
    use convergent::OrSet;
    use quickcheck::{QuickCheck, TestResult};

    fn history<T>(ops: &[(u8, u8, u16)], elem: impl Fn(u16) -> T) -> usize
    where
        T: serde::Serialize + serde::de::DeserializeOwned + std::hash::Hash + Eq + Clone + std::fmt::Debug,
    {
        let ids = [1u128, 9, 1 << 100].map(ReplicaId::from_u128);
        let mut sets: [OrSet<T>; 3] = Default::default();
        let mut accepted = 0;
        for &(r, op, e) in ops {
            let r = usize::from(r % 3);
            let delta = match op % 4 {
                0 | 1 => sets[r].insert(ids[r], elem(e)),
                2 => sets[r].remove(ids[r], &elem(e)),
                _ => {
                    let other = sets[(r + 1) % 3].clone();
                    convergent::Lattice::join(&mut sets[r], other);
                    continue;
                }
            };
            accepted += agrees_with_reference::<OrSet<T>>(&wire::to_bytes(&delta));
        }
        accepted + agrees_with_reference::<OrSet<T>>(&wire::to_bytes(&sets[0]))
    }

    fn prop(ops: Vec<(u8, u8, u16)>) -> TestResult {
        let ops = &ops[..ops.len().min(12)];
        let accepted = history(ops, u64::from)
            + history(ops, |e| i64::from(e) - 300 + (i64::from(e) << 40))
            + history(ops, |e| format!("e{e}"))
            + history(ops, |e| e % 2 == 0)
            + history(ops, |e| (e % 3 != 0).then_some(u32::from(e)))
            + history(ops, |e| (u8::try_from(e % 256).unwrap_or(0), format!("{e:x}")));
        // Every valid encoding is accepted by both.
        TestResult::from_bool(accepted >= 6)
    }
    QuickCheck::new().tests(60).quickcheck(prop as fn(Vec<(u8, u8, u16)>) -> TestResult);
}
