//! Issue 10: valid input that used to cost the receiver out of proportion (quadratic joins,
//! forged claims, a state past its own limits, unbounded engine buffers, remote panics through
//! the engine's default validator). One named regression test per class of the issue.
//!
//! The complexity of classes 1 and 2 is counted in the crate's own tests (see below), not timed.

#![cfg(feature = "serde")]

use std::sync::{Mutex, MutexGuard};

use convergent::sync::{Message, Mode, SyncEngine};
use convergent::wire;
use convergent::{
    CausalContext, Error, EwFlag, GCounter, Lattice, Limits, OrMap, OrSet, Receive, ReceivePolicy, ReplicaId,
    counter::MAX_COUNT,
};

fn id(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

const ME: u128 = 1;

fn policy() -> ReceivePolicy {
    ReceivePolicy::new(id(ME), 0)
}

/// Tests run one at a time (allocation and work counts are per process or per thread).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// Class 1 (quadratic joins) is counted, not timed, inside the crate: `causal::work::tests`
// (`class1_flag_join_work_is_linear_in_any_order`, `class1_mv_register_join_work_is_linear_in_any_order`,
// `class1_context_from_dots_in_any_order_work_is_n_log_n`) count the elements written, shifted
// and compared by the sorted-run merges at two sizes, with a counter compiled only into the
// crate's own tests; the OR-Set remove is `set::tests::removing_an_element_with_many_dots_is_linear_in_its_dots`.

/// The bytes of a causal value (a flag, a set: any with an empty store encoded as one `0`) whose
/// context claims `x`'s events `1..=n`: `[1 replica] [x] [1 range] [gap 0] [n - 1] [0]`.
fn claim(x: ReplicaId, n: u64) -> Vec<u8> {
    let mut b = vec![wire::FORMAT_VERSION, 1];
    b.extend_from_slice(&x.to_bytes());
    b.extend_from_slice(&[1, 0]);
    let mut n = n - 1;
    while n >= 0x80 {
        b.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    b.push(n as u8);
    b.push(0);
    b
}

// Class 2 (a few bytes claiming `2^44` events making the RR step walk the state) is counted,
// not timed, inside the crate: `sync::engine::tests::class2_claimed_range_work_does_not_follow_the_state`
// counts the work of the whole `on_message` at 50k and 100k dots (7 and 7; the old walk of the
// state counted 50 006 and 100 006).

/// Class 4: through the engine's DEFAULT validator, an OR-Set delta that needs a 65 537th
/// replica (which panicked inside `on_bytes`) is taken: the set widens its packing; `restore`
/// refuses a sequence number no engine issues.
#[test]
fn class4_default_engine_refuses_what_would_panic() {
    assert!(matches!(
        SyncEngine::<EwFlag>::restore(id(ME), Mode::DeltaBpRr, EwFlag::new(), u64::MAX),
        Err(Error::CounterOutOfRange { field: "seq", .. })
    ));
    // A receiver whose set holds live elements of 65 536 replicas, with a roomy replica limit.
    let full = 65_536u32;
    let mut set = OrSet::new();
    for i in 0..full {
        let _ = set.insert(id(10 + u128::from(i)), i);
    }
    let roomy = Limits { max_replicas: 1 << 20, ..Limits::default() };
    let mut e = SyncEngine::restore(id(ME), Mode::DeltaBpRr, set, 0).unwrap().with_limits(roomy);
    let one_more =
        Message::Delta { seq: 1, delta: OrSet::new().insert(id(5_000_000), 7_000_000u32) }.to_bytes();
    assert_eq!(e.on_bytes(id(2), &one_more), Ok(()));
    assert_eq!(e.state().len(), full as usize + 1);
    assert!(e.state().contains(&7_000_000u32));
}

/// Class 4: a context naming the receiver's own events beyond what it issued, relayed by an
/// honest-looking peer, is refused by the default engine (it used to panic the next insert).
#[test]
fn class4_default_engine_refuses_own_events_from_the_future() {
    let mut impostor = EwFlag::new();
    let _ = impostor.enable(id(ME));
    let forged = impostor.enable(id(ME));
    let mut e = SyncEngine::<EwFlag>::new(id(ME), Mode::DeltaBpRr);
    assert!(matches!(
        e.on_message(id(2), Message::Delta { seq: 1, delta: forged }),
        Err(Error::OwnDotFromFuture { .. })
    ));
}

/// Class 5: two deltas each within `max_ranges` whose join would not be: the second is refused,
/// so the receiver's own state always decodes at its peers.
#[test]
fn class5_join_past_the_limits_is_refused() {
    let p = policy().with_limits(Limits { max_ranges: 3, ..Limits::default() });
    // Replica 2 enables and disables 8 times: each disable's delta carries one event `{k}`.
    let mut src = EwFlag::new();
    let offs: Vec<EwFlag> = (0..8)
        .map(|_| {
            let _ = src.enable(id(2));
            src.disable(id(2))
        })
        .collect();
    let first = offs[0].clone().joined(offs[2].clone()); // {1, 3}: two ranges
    let second = offs[4].clone().joined(offs[6].clone()); // {5, 7}: two ranges
    let mut local = EwFlag::new();
    assert_eq!(local.receive(first, &p), Ok(true));
    let before = local.clone();
    assert_eq!(
        local.receive(second, &p),
        Err(Error::TooLarge { field: "context.ranges", limit: 3, found: 4 })
    );
    assert_eq!(local, before);
    // A message that fills a gap instead (and so merges ranges) is fine.
    assert_eq!(local.receive(offs[1].clone(), &p), Ok(true));
}

/// Class 5: two sets each within `max_elements` whose join would not be: the second is refused,
/// by `receive` and by the engine's default validator, with the state unchanged. A set already
/// held is no growth. (Issue 10: the joined-state check covered only ranges and dots.)
#[test]
fn class5_join_past_max_elements_is_refused() {
    let limits = Limits { max_elements: 4, ..Limits::default() };
    let p = policy().with_limits(limits);
    let mut a = OrSet::new();
    let first = a.insert_all(id(2), 0..3u32);
    let mut b = OrSet::new();
    let second = b.insert_all(id(3), 2..5u32); // {2, 3, 4}: with {0, 1, 2} five elements
    let mut local = OrSet::new();
    assert_eq!(local.receive(first.clone(), &p), Ok(true));
    let before = local.clone();
    let refused = Err(Error::TooLarge { field: "set.elements", limit: 4, found: 5 });
    assert_eq!(local.receive(second.clone(), &p), refused);
    assert_eq!(local, before);
    let mut e = SyncEngine::restore(id(ME), Mode::DeltaBpRr, local.clone(), 0).unwrap().with_limits(limits);
    assert_eq!(e.on_message(id(3), Message::Delta { seq: 1, delta: second }), refused.map(|_| ()));
    assert!(e.state() == &before);
    // Elements the receiver holds already (here: all of them, by another replica) fit.
    let again = OrSet::new().insert_all(id(4), 0..3u32);
    assert_eq!(local.receive(again, &p), Ok(true));
    assert_eq!(local.len(), 3);
}

/// Class 5: two OR-Map deltas, each within `max_elements` keys, whose join is not (the joined
/// state's own snapshot would be refused by every peer with the same limits): refused with
/// `TooLarge { field: "map.keys" }`, the state unchanged, at the top level and one level down.
#[test]
fn class5_map_join_past_max_elements_is_refused() {
    type Flags = OrMap<u32, EwFlag>;
    let limits = Limits { max_elements: 4, ..Limits::default() };
    let p = policy().with_limits(limits);
    let keys = |r: u128, ks: core::ops::Range<u32>| {
        Flags::new().mutate(id(r), |h| ks.for_each(|k| h.update(k, |f| f.enable()))).0
    };
    let (first, second) = (keys(2, 0..3), keys(3, 2..5)); // {0, 1, 2} and {2, 3, 4}: five keys
    // What the join would leave: a state that no peer with these limits decodes.
    let joined = first.clone().joined(second.clone());
    assert!(matches!(
        wire::from_bytes_with::<Flags>(&wire::to_bytes(&joined), &limits),
        Err(Error::TooLarge { field: "map.keys", .. })
    ));
    let mut local = Flags::new();
    assert_eq!(local.receive(first.clone(), &p), Ok(true));
    let before = local.clone();
    let refused = Err(Error::TooLarge { field: "map.keys", limit: 4, found: 5 });
    assert_eq!(local.receive(second.clone(), &p), refused);
    assert_eq!(local, before);
    let mut e = SyncEngine::restore(id(ME), Mode::DeltaBpRr, local.clone(), 0).unwrap().with_limits(limits);
    assert_eq!(e.on_message(id(3), Message::Delta { seq: 1, delta: second }), refused.clone().map(|_| ()));
    assert!(e.state() == &before);
    // Keys the receiver holds already fit.
    assert_eq!(local.receive(keys(4, 0..3), &p), Ok(true));

    // One level down: the outer map has one key, its inner map would get five.
    type Nested = OrMap<u8, Flags>;
    let inner = |r: u128, ks: core::ops::Range<u32>| {
        Nested::new().update(id(r), 9, |inner| ks.for_each(|k| inner.update(k, |f| f.enable()))).0
    };
    let mut local = Nested::new();
    assert_eq!(local.receive(inner(2, 0..3), &p), Ok(true));
    let before = local.clone();
    assert_eq!(local.receive(inner(3, 2..5), &p), refused);
    assert_eq!(local, before);
}

/// Class 6: a neighbour that never acknowledges does not grow the buffer past the cap (it gets a
/// snapshot instead); acks owed to strangers are capped.
#[test]
fn class6_engine_buffers_are_bounded() {
    let b = id(2);
    let mut e = SyncEngine::<GCounter>::new(id(ME), Mode::DeltaBpRr).with_max_buffered(64);
    e.add_neighbour(b);
    for _ in 0..10_000 {
        e.update(|c, me| c.increment(me, 1));
    }
    assert!(e.buffered() <= 64, "{} buffered", e.buffered());
    assert!(matches!(&e.poll_outgoing()[..], [(_, Message::Snapshot { .. })]));
    for r in 0..1_000u128 {
        let mut g = GCounter::new();
        let d = g.increment(id(1_000 + r), 1);
        e.on_message(id(1_000 + r), Message::Delta { seq: 1, delta: d }).unwrap();
    }
    assert!(e.poll_acks().len() <= 64);
}

/// Class 8: a context claiming another replica's events up to `2^53` (which made every later
/// event of it vanish everywhere) and a counter entry at `MAX_COUNT` (which froze its count) are
/// refused: they claim more than `max_claim_ahead` beyond what the receiver has seen.
#[test]
fn class8_forged_claims_far_ahead_are_refused() {
    let x = id(3);
    let mut seen = CausalContext::new();
    let _ = seen.next_dot(x);
    let b = claim(x, MAX_COUNT);
    let mut local = EwFlag::new();
    let _ = local.enable(x);
    let before = local.clone();
    assert!(matches!(
        wire::receive(&mut local, &b, &policy()),
        Err(Error::ClaimTooFarAhead { found: MAX_COUNT, seen: 1, .. })
    ));
    assert_eq!(local, before);
    let mut forged = GCounter::new();
    let frozen = forged.increment(x, MAX_COUNT);
    assert!(matches!(
        frozen.validate_against(&GCounter::new(), &policy()),
        Err(Error::ClaimTooFarAhead { found: MAX_COUNT, seen: 0, .. })
    ));
    // Honest steps pass; the check can be turned off.
    let mut honest = GCounter::new();
    assert!(honest.increment(x, 1_000).validate_against(&GCounter::new(), &policy()).is_ok());
    let off = policy().with_limits(Limits { max_claim_ahead: u64::MAX, ..Limits::default() });
    assert!(frozen.validate_against(&GCounter::new(), &off).is_ok());
}

/// Class 5, `max_bytes`: two messages each under `max_bytes` whose join encodes above it. The
/// second is refused (`TooLarge { field: "state.bytes" }`), state unchanged, through
/// `wire::receive_sized` and through the engine's byte path; before, both were joined and the
/// receiver's own snapshot was then refused by every peer with the same limits.
#[test]
fn class5_join_past_max_bytes_is_refused() {
    let first = OrSet::new().insert_all(id(2), 0..40u64);
    let second = OrSet::new().insert_all(id(3), 100..140u64);
    let (b1, b2) = (wire::to_bytes(&first), wire::to_bytes(&second));
    let joined = first.clone().joined(second.clone());
    let limit = b1.len().max(b2.len()) + 30;
    assert!(wire::encoded_len(&joined) > limit, "the join must encode past the limit");
    let limits = Limits { max_bytes: limit, ..Limits::default() };
    // What accepting both would leave: a state no peer with these limits decodes.
    assert!(matches!(
        wire::from_bytes_with::<OrSet<u64>>(&wire::to_bytes(&joined), &limits),
        Err(Error::TooLarge { field: "bytes", .. })
    ));
    let p = policy().with_limits(limits);
    let refused = |found: u64| Error::TooLarge { field: "state.bytes", limit: limit as u64, found };

    let (mut local, mut size) = (OrSet::new(), wire::StateSize::new());
    assert_eq!(wire::receive_sized(&mut local, &b1, &p, &mut size), Ok(true));
    let before = local.clone();
    assert!(matches!(
        wire::receive_sized(&mut local, &b2, &p, &mut size),
        Err(Error::TooLarge { field: "state.bytes", .. })
    ));
    assert_eq!(local, before);
    // What it already holds is never refused, and the state stays decodable.
    assert_eq!(wire::receive_sized(&mut local, &b1, &p, &mut size), Ok(false));
    assert!(wire::encoded_len(&local) <= limit);

    let mut e = SyncEngine::<OrSet<u64>>::new(id(ME), Mode::DeltaBpRr).with_limits(limits);
    let m1 = Message::Delta { seq: 1, delta: first }.to_bytes();
    let m2 = Message::Delta { seq: 1, delta: second }.to_bytes();
    assert!(m1.len() <= limit && m2.len() <= limit);
    assert_eq!(e.on_bytes(id(2), &m1), Ok(()));
    let r = e.on_bytes(id(3), &m2);
    assert!(matches!(r, Err(Error::TooLarge { field: "state.bytes", .. })), "{r:?}");
    let _ = refused;
    assert!(e.state() == &before);
    assert!(wire::encoded_len(e.state()) <= e.state_size().unwrap().bound().unwrap());
}

/// Class 5, `max_bytes`, the one place where a join encodes larger than its two sides: a value
/// refers to replicas by their index in its replica table, so a new replica sorting first
/// shifts the others, and every reference to the replica pushed from index 127 to 128 grows
/// by a byte. A 60-byte message grows a map whose keys all name that replica by one byte per
/// key: the bound counts it (it charges the references within reach of a boundary), so the
/// state never passes the limit, and the message is refused when it would.
#[test]
fn class5_max_bytes_counts_replica_reindexing() {
    type Flags = OrMap<u32, EwFlag>;
    // 128 replicas, ids 1_000..1_128; the last one (index 127) enables 2 000 keys.
    let mut local = Flags::new();
    for r in 0..127u128 {
        let _ = local.update(id(1_000 + r), 1_000_000 + r as u32, |f| f.enable());
    }
    let heavy = id(1_127);
    let _ = local.mutate(heavy, |h| (0..2_000u32).for_each(|k| h.update(k, |f| f.enable())));
    let before_len = wire::encoded_len(&local);
    // A new replica with the smallest id: every index shifts by one, 127 becomes 128.
    let (msg, _) = Flags::new().update(id(2), 5_000_000, |f| f.enable());
    let msg_len = wire::encoded_len(&msg);
    let joined = local.clone().joined(msg.clone());
    let growth = wire::encoded_len(&joined) - before_len;
    assert!(growth >= msg_len + 1_990, "re-indexing grew the state by {growth} for a {msg_len}-byte message");
    // A limit the sum of the two sides fits, the join does not.
    let limit = before_len + msg_len + 1_000;
    let p = policy().with_limits(Limits { max_bytes: limit, ..Limits::default() });
    let (mut state, mut size) = (local.clone(), wire::StateSize::new());
    let before = state.clone();
    let r = wire::receive_sized(&mut state, &wire::to_bytes(&msg), &p, &mut size);
    assert!(matches!(r, Err(Error::TooLarge { field: "state.bytes", .. })), "{r:?}");
    assert_eq!(state, before);
    // With room for it, it is taken, and the bound covers the grown state.
    let roomy = policy().with_limits(Limits { max_bytes: before_len + growth + 64, ..Limits::default() });
    assert_eq!(wire::receive_sized(&mut state, &wire::to_bytes(&msg), &roomy, &mut size), Ok(true));
    assert!(wire::encoded_len(&state) <= size.bound().unwrap());

    // In a composite, a replica one part names is still new to another part's table.
    type Pair = (OrSet<u64>, Flags);
    let mut pair: Pair = (OrSet::new(), local.clone());
    let _ = pair.0.insert(id(2), 1);
    let msg: Pair = (OrSet::new(), msg);
    let limit = wire::encoded_len(&pair) + wire::encoded_len(&msg) + 1_000;
    let p = policy().with_limits(Limits { max_bytes: limit, ..Limits::default() });
    let (before, mut size) = (pair.clone(), wire::StateSize::new());
    let r = wire::receive_sized(&mut pair, &wire::to_bytes(&msg), &p, &mut size);
    assert!(matches!(r, Err(Error::TooLarge { field: "state.bytes", .. })), "{r:?}");
    assert_eq!(pair, before);
}

/// The work of the joined `max_bytes` check, counted: a receiver near its limit gets a stream of
/// small valid messages (each a new element), taken until the state is full, then refused.
/// The bytes walked by exact recounts are at most 16 per byte received (plus the first count),
/// at two state sizes, instead of the whole state per message (an exact check per receipt).
#[test]
fn max_bytes_recounts_are_amortised_over_the_bytes_received() {
    let _s = serial();
    let run = |n: u64| {
        let mut seed = OrSet::new();
        let _ = seed.insert_all(id(2), 0..n);
        let base = wire::encoded_len(&seed);
        let limit = base + base / 8;
        let limits = Limits { max_bytes: limit, ..Limits::default() };
        let mut e = SyncEngine::restore(id(ME), Mode::DeltaBpRr, seed, 0).unwrap().with_limits(limits);
        let mut src = OrSet::new();
        let (mut received, mut taken, mut refused) = (0usize, 0u32, 0u32);
        for i in 0..4_000u64 {
            let delta = src.insert(id(3), 1_000_000_000 + i);
            let bytes = Message::Delta { seq: i + 1, delta }.to_bytes();
            received += bytes.len();
            match e.on_bytes(id(3), &bytes) {
                Ok(()) => taken += 1,
                Err(Error::TooLarge { field: "state.bytes", .. }) => refused += 1,
                Err(other) => panic!("{other:?}"),
            }
            assert!(wire::encoded_len(e.state()) <= limit);
        }
        let (recounts, walked) = e.state_size().unwrap().recounts();
        // A full receiver under a flood counts at most once per `limit / 16` bytes received.
        let mut flood = 0usize;
        for i in 4_000..6_000u64 {
            let delta = src.insert(id(3), 1_000_000_000 + i);
            let bytes = Message::Delta { seq: i + 1, delta }.to_bytes();
            flood += bytes.len();
            let _ = e.on_bytes(id(3), &bytes);
        }
        let (tail, _) = e.state_size().unwrap().recounts();
        assert!(
            tail - recounts <= (flood / (limit / 16)) as u64 + 1,
            "{} recounts for {flood} B",
            tail - recounts
        );
        eprintln!(
            "state {base} B, limit {limit} B: {taken} taken, {refused} refused, {received} B received, \
             {recounts} recounts walking {walked} B ({:.2} B per B received); an exact check per \
             message would walk {} B",
            walked as f64 / received as f64,
            4_000 * base
        );
        assert!(taken > 0 && refused > 0);
        assert!(walked as usize <= 16 * received + 2 * limit, "{walked} B walked for {received} B received");
        (recounts, walked, received)
    };
    let (r1, w1, b1) = run(20_000);
    let (r2, w2, b2) = run(40_000);
    // Twice the state: about the same recounts (each twice as long), not twice per message.
    assert!(r2 <= r1 + 2, "recounts {r1} -> {r2}");
    assert!(w2 as f64 / b2 as f64 <= 2.5 * (w1 as f64 / b1 as f64) + 1.0);
}

/// Found walking the receive paths (issue 10, class 2 through chunking): a 27-byte message
/// claiming `2^22` (or `2^40`, within the default `max_claim_ahead`) events of a replica, joined
/// into a state, made the engine's next chunked snapshot decompose the state into one
/// irreducible per claimed event (`2^18`: 264 144 irreducibles, 194 ms; `2^40` would not fit
/// any memory). Such a payload now goes whole instead of in chunks, and the neighbour takes it.
#[test]
fn regression_claimed_range_does_not_blow_up_chunking() {
    for k in [22u32, 40] {
        let mut s = OrSet::new();
        let _ = s.insert_all(id(2), 0..2_000u64);
        let mut e = SyncEngine::restore(id(ME), Mode::DeltaBpRr, s, 0).unwrap().with_max_payload_bytes(1_000);
        let forged =
            Message::Delta { seq: 1, delta: wire::from_bytes::<OrSet<u64>>(&claim(id(3), 1 << k)).unwrap() };
        e.on_bytes(id(3), &forged.to_bytes()).unwrap();
        let b = id(4);
        e.add_neighbour(b);
        let data: Vec<Message<OrSet<u64>>> = e
            .poll_outgoing()
            .into_iter()
            .filter(|(to, m)| *to == b && m.payload().is_some())
            .map(|(_, m)| m)
            .collect();
        assert!(matches!(&data[..], [Message::Snapshot { .. }]), "2^{k}: {} messages", data.len());
        let mut other = SyncEngine::<OrSet<u64>>::new(b, Mode::DeltaBpRr);
        for m in data {
            other.on_message(id(ME), m).unwrap();
        }
        assert_eq!(other.state(), e.state());
    }
    // An honest large state still goes in chunks.
    let mut s = OrSet::new();
    let _ = s.insert_all(id(2), 0..2_000u64);
    let mut e = SyncEngine::restore(id(ME), Mode::DeltaBpRr, s, 0).unwrap().with_max_payload_bytes(1_000);
    e.add_neighbour(id(4));
    assert!(e.poll_outgoing().iter().filter(|(_, m)| matches!(m, Message::Chunk { .. })).count() > 1);
}

/// The size bound is an upper bound, on realistic histories: 300 replicas with random ids (so
/// new replicas sort anywhere in the table, and indices cross 128), inserting and removing in a
/// map of sets, some of them catching up with the receiver first (so that their removes remove
/// others' elements); their deltas reach the receiver in a random order, and the receiver makes
/// updates of its own. After every join the encoded state is at most the bound.
#[test]
fn max_bytes_bound_holds_on_random_histories() {
    type M = OrMap<u16, OrSet<u16>>;
    let mut seed = 0x5eed_u64;
    let mut next = move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let ids: Vec<ReplicaId> =
        (0..300).map(|_| ReplicaId::from_u128(u128::from(next()) << 64 | u128::from(next()))).collect();
    let mut sources: Vec<M> = vec![M::new(); ids.len()];
    let (mut local, mut size) = (M::new(), wire::StateSize::new());
    let p = ReceivePolicy::new(id(ME), 0);
    let mut queue: Vec<Vec<u8>> = Vec::new();
    let mut checked = 0;
    for step in 0..4_000u32 {
        let r = (next() % ids.len() as u64) as usize;
        let (k, e) = ((next() % 24) as u16, (next() % 8) as u16);
        match next() % 10 {
            0 => {
                let _ = sources[r].join_ref(&local);
            }
            1..=3 => queue.push(wire::to_bytes(&sources[r].update(ids[r], k, |s| s.remove(&e)).0)),
            _ => queue.push(wire::to_bytes(&sources[r].update(ids[r], k, |s| s.insert(e)).0)),
        }
        if step % 7 == 0 {
            let d = local.update(id(ME), k, |s| s.insert(e)).0;
            size.local(&d, &p.limits);
        }
        while !queue.is_empty() && next() % 3 != 0 {
            let i = (next() % queue.len() as u64) as usize;
            let bytes = queue.swap_remove(i);
            wire::receive_sized(&mut local, &bytes, &p, &mut size).unwrap();
            let (len, bound) = (wire::encoded_len(&local), size.bound().unwrap());
            assert!(len <= bound, "step {step}: the state encodes in {len} bytes, the bound says {bound}");
            checked += 1;
        }
    }
    assert!(local.context().replica_count() > 200 && checked > 1_000);
}
