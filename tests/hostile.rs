//! Attacks a receiver must survive (notes/reliability.md, section 3), each expecting the RIGHT
//! typed error, and on every error the receiver's state exactly as before.
//!
//! Attack inputs are hand-crafted bytes, built with [`B`] from the layouts below, never values
//! made by internal constructors that bypass the decoder.
//!
//! # Byte layouts (postcard after the one-byte format version `1`)
//!
//! * varint: LEB128 (7 bits per byte, low first); `u8` is one raw byte; a replica id is 16 raw
//!   bytes; a `Vec` is a varint length and its items; a tuple is its fields in order.
//! * causal context: `[len] ([id16] [ranges len] ([gap] [len-1])*)*`, replicas sorted by id,
//!   ranges gap-encoded: range `lo..=hi` after the previous range ending at `prev` (0 at first)
//!   is `(lo - prev - 1, hi - lo)`. The context's replicas, in order, are the replica table:
//!   `WireDot` = `[replica index varint] [counter varint]`.
//! * [`EwFlag`]: context, then the dot set `[len] (WireDot)*`.
//! * [`OrSet<u8>`]: context, then `[groups] ([replica index] [dots] ([counter gap] [u8])*)*`.
//! * [`MvRegister<u8>`]: context, then `[len] (WireDot [u8])*`.
//! * [`CausalCounter`]: context, then `[len] (WireDot [increments] [decrements])*`.
//! * [`OrMap<u8, V>`]: context, then `[keys] ([u8 key] [V's store])*`, keys ascending; nested
//!   maps nest the store form.
//! * `LwwStore` (an LWW register inside a map): `[len] (WireDot [timestamp] [value])*`.
//! * [`LwwRegister<u64>`]: `0` (empty) or `1 [timestamp] [id16] [value varint]`; a timestamp is
//!   the varint `wall_ms << 16 | logical`.
//! * [`GCounter`]: `[len] ([id16] [count])*`; [`PnCounter`]: `[len] ([id16] [inc] [dec])*`.
//! * [`Message`]: `[1] [protocol 1] [kind: 0 state, 1 delta, 2 snapshot, 3 ack] [seq]? [payload]`.
//!
//! Nesting depth: the recursion of decoding, validation, join, `Drop` and `Debug` follows the
//! Rust type (an `OrMap<K, OrMap<K, V>>` has exactly two levels of maps), so input bytes cannot
//! make it deeper than the type; bytes that claim more levels than the type has are malformed.
//! [`deep_types_join_drop_and_debug_without_overflow`] exercises the deepest realistic type, six
//! levels of `OrMap`.

#![cfg(feature = "serde")]

use std::alloc::System;
use std::sync::{Mutex, MutexGuard};

use convergent::sync::{Message, Mode, OwnDotsCheck, ReceiveCheck, SyncEngine};
use convergent::wire::{self, Decode};
use convergent::{
    CausalContext, CausalCounter, Dot, Error, EwFlag, GCounter, Lattice, Limits, LwwRegister, MvRegister,
    OrMap, OrSet, PnCounter, Receive, ReceivePolicy, ReplicaId, causal::VersionVector, counter::MAX_COUNT,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Tests in this file run one at a time, so that the allocation counts of one are not polluted
/// by another running on a second thread.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The receiver.
const ME: u128 = 1;
/// A peer.
const PEER: u128 = 2;
/// The receiver's clock: 2023-11-14.
const NOW_MS: u64 = 1_700_000_000_000;

fn id(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

/// The dot `(r, n)`, decoded from its wire form `[id16] [counter]`.
fn dot(r: u128, n: u64) -> Dot {
    wire::from_bytes(&B::new().id(r).v(n).bytes()).unwrap()
}

fn policy() -> ReceivePolicy {
    ReceivePolicy::new(id(ME), NOW_MS)
}

fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

/// A byte builder for hand-crafted encodings (see the module docs for the layouts).
#[derive(Clone)]
struct B(Vec<u8>);

impl B {
    /// Starts with the format version byte.
    fn new() -> Self {
        B(vec![wire::FORMAT_VERSION])
    }
    /// A varint.
    fn v(mut self, mut n: u64) -> Self {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }
    /// Raw bytes.
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// A 16-byte replica id.
    fn id(self, n: u128) -> Self {
        self.raw(&id(n).to_bytes())
    }
    /// A causal context: `(replica, [(gap, len - 1)])`, replicas in ascending order.
    fn ctx(mut self, entries: &[(u128, &[(u64, u64)])]) -> Self {
        self = self.v(entries.len() as u64);
        for (r, ranges) in entries {
            self = self.id(*r).v(ranges.len() as u64);
            for &(gap, len) in *ranges {
                self = self.v(gap).v(len);
            }
        }
        self
    }
    /// A wire dot `(replica index, counter)`.
    fn wdot(self, index: u64, n: u64) -> Self {
        self.v(index).v(n)
    }
    fn bytes(self) -> Vec<u8> {
        self.0
    }
}

/// The replica `PEER` with events `1..=n`.
fn peer_ctx(n: u64) -> B {
    B::new().ctx(&[(PEER, &[(0, n - 1)])])
}

/// Receives `bytes` into `local` with [`wire::receive`], expecting an error and `local` unchanged.
fn refused<T: Decode + Receive + PartialEq + std::fmt::Debug + Clone>(local: &mut T, bytes: &[u8]) -> Error {
    refused_with(local, bytes, &policy())
}

fn refused_with<T: Decode + Receive + PartialEq + std::fmt::Debug + Clone>(
    local: &mut T,
    bytes: &[u8],
    policy: &ReceivePolicy,
) -> Error {
    let before = local.clone();
    let e = wire::receive(local, bytes, policy).expect_err("hostile input must be refused");
    assert_eq!(*local, before, "state changed on error {e:?}");
    e
}

/// Decodes with the default limits, expecting an error.
fn decode_err<T: Decode + std::fmt::Debug>(bytes: &[u8]) -> Error {
    wire::from_bytes::<T>(bytes).expect_err("hostile input must be refused")
}

fn decode_err_with<T: Decode + std::fmt::Debug>(bytes: &[u8], l: &Limits) -> Error {
    wire::from_bytes_with::<T>(bytes, l).expect_err("hostile input must be refused")
}

// ---------------------------------------------------------------------------------------------
// Counters and contexts at u64::MAX
// ---------------------------------------------------------------------------------------------

#[test]
fn context_entry_at_u64_max() {
    let _s = serial();
    // One range `u64::MAX..=u64::MAX` (gap u64::MAX - 1), empty store.
    let bytes = B::new().ctx(&[(PEER, &[(u64::MAX - 1, 0)])]).v(0).bytes();
    let want = Error::CounterOutOfRange { field: "context", value: u64::MAX, max: MAX_COUNT };
    assert_eq!(decode_err::<EwFlag>(&bytes), want);
    assert_eq!(decode_err::<OrSet<u8>>(&bytes), want);
    assert_eq!(decode_err::<MvRegister<u8>>(&bytes), want);
    assert_eq!(decode_err::<CausalCounter>(&bytes), want);
    assert_eq!(decode_err::<OrMap<u8, EwFlag>>(&bytes), want);
    assert_eq!(decode_err::<CausalContext>(&B::new().ctx(&[(PEER, &[(u64::MAX - 1, 0)])]).bytes()), want);
    // `1..=u64::MAX + 1`: the range end overflows.
    let bytes = B::new().ctx(&[(PEER, &[(0, u64::MAX)])]).v(0).bytes();
    assert_eq!(decode_err::<EwFlag>(&bytes), want);
    // Through validated receipt: refused, nothing applied.
    let mut local = OrSet::<u8>::new();
    let _ = local.insert(id(ME), 1);
    assert_eq!(refused(&mut local, &bytes), want);
    // The largest accepted entry is `max_counter` itself.
    let ok = B::new().ctx(&[(PEER, &[(MAX_COUNT - 1, 0)])]).v(0).bytes();
    assert!(wire::from_bytes::<EwFlag>(&ok).is_ok());
}

#[test]
fn counter_entry_at_u64_max() {
    let _s = serial();
    // G-Counter `[1 entry] [id] [u64::MAX]`.
    let g = B::new().v(1).id(PEER).v(u64::MAX).bytes();
    assert_eq!(
        decode_err::<GCounter>(&g),
        Error::CounterOutOfRange { field: "g-counter", value: u64::MAX, max: MAX_COUNT }
    );
    let mut local = GCounter::new();
    let _ = local.increment(id(ME), 3);
    assert!(matches!(refused(&mut local, &g), Error::CounterOutOfRange { field: "g-counter", .. }));
    // PN-Counter `[1 entry] [id] [0 increments] [u64::MAX decrements]`.
    let pn = B::new().v(1).id(PEER).v(0).v(u64::MAX).bytes();
    assert_eq!(
        decode_err::<PnCounter>(&pn),
        Error::CounterOutOfRange { field: "pn-counter", value: u64::MAX, max: MAX_COUNT }
    );
    // Causal counter: one dot holding a total of u64::MAX.
    let cc = peer_ctx(1).v(1).wdot(0, 1).v(u64::MAX).v(0).bytes();
    assert_eq!(
        decode_err::<CausalCounter>(&cc),
        Error::CounterOutOfRange { field: "counter-store.total", value: u64::MAX, max: MAX_COUNT }
    );
    // MAX_COUNT itself is a state a replica can reach, and is accepted.
    let ok = B::new().v(1).id(PEER).v(MAX_COUNT).bytes();
    assert_eq!(wire::from_bytes::<GCounter>(&ok).unwrap().value(), MAX_COUNT);
}

// ---------------------------------------------------------------------------------------------
// Far-future timestamps
// ---------------------------------------------------------------------------------------------

/// A timestamp on the wire: `wall_ms << 16 | logical`.
fn ts(wall_ms: u64) -> u64 {
    wall_ms << 16
}

#[test]
fn far_future_lww_timestamp() {
    let _s = serial();
    let skew = Limits::default().max_clock_skew_ms;
    let far = NOW_MS + 24 * 3600 * 1000;
    // LwwRegister<u64>: `1 [timestamp] [writer] [value]`.
    let reg = B::new().v(1).v(ts(far)).id(PEER).v(7).bytes();
    let decoded = wire::from_bytes::<LwwRegister<u64>>(&reg).expect("decoding has no clock");
    assert_eq!(decoded.value(), Some(&7));
    let want = Error::TimestampTooFarAhead { found_ms: far, now_ms: NOW_MS, max_skew_ms: skew };
    let mut local = LwwRegister::new();
    let _ = local.write(id(ME), convergent::Timestamp::from_parts(NOW_MS, 0), 1);
    assert_eq!(refused(&mut local, &reg), want);
    // Just within the skew: accepted.
    let near = B::new().v(1).v(ts(NOW_MS + skew)).id(PEER).v(7).bytes();
    assert_eq!(wire::receive(&mut local, &near, &policy()), Ok(true));
    // The largest timestamp there is.
    let max = B::new().v(1).v(u64::MAX).id(PEER).v(7).bytes();
    assert!(matches!(refused(&mut local, &max), Error::TimestampTooFarAhead { .. }));

    // Inside a map: OrMap<u8, LwwRegister<u64>>, key 0 holding one write under dot (PEER, 1).
    let map = peer_ctx(1).v(1).raw(&[0]).v(1).wdot(0, 1).v(ts(far)).v(7).bytes();
    let mut local = OrMap::<u8, LwwRegister<u64>>::new();
    assert_eq!(refused(&mut local, &map), want);
    // Nested two levels deep.
    let deep = peer_ctx(1).v(1).raw(&[0]).v(1).raw(&[3]).v(1).wdot(0, 1).v(ts(far)).v(7).bytes();
    let mut local = OrMap::<u8, OrMap<u8, LwwRegister<u64>>>::new();
    assert_eq!(refused(&mut local, &deep), want);

    // Through the sync engine with `ReceiveCheck`.
    let msg = [&[1u8, 1, 1, 1][..], &map[1..]].concat(); // format, protocol, Delta, seq 1
    fn clock() -> u64 {
        NOW_MS
    }
    let mut e = SyncEngine::<OrMap<u8, LwwRegister<u64>>>::new(id(ME), Mode::DeltaBpRr)
        .with_validator(ReceiveCheck::new(clock as fn() -> u64));
    let before = e.clone();
    // The writer is the sender: its own write gets the accept margin, half the skew.
    let first_hand = Error::TimestampTooFarAhead { found_ms: far, now_ms: NOW_MS, max_skew_ms: skew / 2 };
    assert_eq!(e.on_bytes(id(PEER), &msg), Err(first_hand));
    assert!(e == before, "engine unchanged");
    // Relayed by another peer: the whole skew.
    assert_eq!(e.on_bytes(id(PEER + 1), &msg), Err(want));
}

// ---------------------------------------------------------------------------------------------
// One dot, two payloads
// ---------------------------------------------------------------------------------------------

#[test]
fn one_dot_twice_within_one_value_is_a_duplicate() {
    let _s = serial();
    let want = Error::DuplicateDot { dot: dot(PEER, 1) };
    // EwFlag: the dot set `[(0, 1), (0, 1)]`.
    assert_eq!(decode_err::<EwFlag>(&peer_ctx(1).v(2).wdot(0, 1).wdot(0, 1).bytes()), want);
    // MvRegister<u8>: dot (PEER, 1) holding 5 and 6.
    assert_eq!(
        decode_err::<MvRegister<u8>>(&peer_ctx(1).v(2).wdot(0, 1).raw(&[5]).wdot(0, 1).raw(&[6]).bytes()),
        want
    );
    // CausalCounter: one dot with totals 3 and 4.
    let cc = peer_ctx(1).v(2).wdot(0, 1).v(3).v(0).wdot(0, 1).v(4).v(0).bytes();
    assert_eq!(decode_err::<CausalCounter>(&cc), want);
    // OrMap<u8, EwFlag>: the same dot under keys 0 and 1.
    let m = peer_ctx(1).v(2).raw(&[0]).v(1).wdot(0, 1).raw(&[1]).v(1).wdot(0, 1).bytes();
    assert_eq!(decode_err::<OrMap<u8, EwFlag>>(&m), want);
    // ... and under two keys of a nested map.
    let m = peer_ctx(1).v(1).raw(&[0]).v(2).raw(&[0]).v(1).wdot(0, 1).raw(&[1]).v(1).wdot(0, 1).bytes();
    assert_eq!(decode_err::<OrMap<u8, OrMap<u8, EwFlag>>>(&m), want);
    // An OR-Set cannot even say it: its dots are gap-encoded, strictly increasing per replica.
}

/// OrSet<u8> with the single element `e` under the dot (PEER, 1).
fn set_with(e: u8) -> Vec<u8> {
    peer_ctx(1).v(1).v(0).v(1).v(0).raw(&[e]).bytes()
}

#[test]
fn one_dot_two_payloads_against_the_receiver() {
    let _s = serial();
    // OR-Set: dot (PEER, 1) under element 10, then under 11.
    let mut s = OrSet::<u8>::new();
    assert_eq!(wire::receive(&mut s, &set_with(10), &policy()), Ok(true));
    assert_eq!(refused(&mut s, &set_with(11)), Error::ConflictingPayload { field: "set.element" });
    assert_eq!(wire::receive(&mut s, &set_with(10), &policy()), Ok(false), "the same payload again is fine");

    // OR-Map: dot (PEER, 1) under key 0, then under key 1.
    let key = |k: u8| peer_ctx(1).v(1).raw(&[k]).v(1).wdot(0, 1).bytes();
    let mut m = OrMap::<u8, EwFlag>::new();
    assert_eq!(wire::receive(&mut m, &key(0), &policy()), Ok(true));
    assert_eq!(refused(&mut m, &key(1)), Error::ConflictingPayload { field: "map.key" });

    // MV-Register: dot (PEER, 1) holding 5, then 6.
    let mv = |v: u8| peer_ctx(1).v(1).wdot(0, 1).raw(&[v]).bytes();
    let mut r = MvRegister::<u8>::new();
    assert_eq!(wire::receive(&mut r, &mv(5), &policy()), Ok(true));
    assert_eq!(refused(&mut r, &mv(6)), Error::ConflictingPayload { field: "mv-register.value" });

    // LWW value in a map: dot (PEER, 1) holding (t, 5), then (t, 6).
    let lww = |v: u64| peer_ctx(1).v(1).raw(&[0]).v(1).wdot(0, 1).v(ts(NOW_MS)).v(v).bytes();
    let mut m = OrMap::<u8, LwwRegister<u64>>::new();
    assert_eq!(wire::receive(&mut m, &lww(5), &policy()), Ok(true));
    assert_eq!(refused(&mut m, &lww(6)), Error::ConflictingPayload { field: "lww-store.value" });

    // Causal counter: dot (PEER, 1) with total 3, then 4.
    let cc = |t: u64| peer_ctx(1).v(1).wdot(0, 1).v(t).v(0).bytes();
    let mut c = CausalCounter::new();
    assert_eq!(wire::receive(&mut c, &cc(3), &policy()), Ok(true));
    assert_eq!(refused(&mut c, &cc(4)), Error::ConflictingPayload { field: "counter-store.total" });

    // LWW register (no dots): the same (timestamp, writer) with another value is accepted, as
    // the join orders writes totally by (timestamp, writer, value): no divergence either way.
    let reg = |v: u64| B::new().v(1).v(ts(NOW_MS)).id(PEER).v(v).bytes();
    let mut l = LwwRegister::<u64>::new();
    let mut m = LwwRegister::<u64>::new();
    assert_eq!(wire::receive(&mut l, &reg(5), &policy()), Ok(true));
    assert_eq!(wire::receive(&mut l, &reg(6), &policy()), Ok(true));
    assert_eq!(wire::receive(&mut m, &reg(6), &policy()), Ok(true));
    assert_eq!(wire::receive(&mut m, &reg(5), &policy()), Ok(false));
    assert_eq!(l, m);

    // Nested: a set inside a map, same key, same dot, another element.
    let nested = |e: u8| peer_ctx(1).v(1).raw(&[0]).v(1).v(0).v(1).v(0).raw(&[e]).bytes();
    let mut m = OrMap::<u8, OrSet<u8>>::new();
    assert_eq!(wire::receive(&mut m, &nested(1), &policy()), Ok(true));
    assert_eq!(refused(&mut m, &nested(2)), Error::ConflictingPayload { field: "set.element" });
}

/// What goes wrong without the check: two replicas that got the two payloads of one dot in
/// opposite orders keep different elements forever, even after exchanging full states (each
/// side's context already covers the dot, so the join keeps its own payload).
#[test]
fn one_dot_two_payloads_diverge_forever_without_the_check() {
    let _s = serial();
    let a: OrSet<u8> = wire::from_bytes(&set_with(10)).unwrap();
    let b: OrSet<u8> = wire::from_bytes(&set_with(11)).unwrap();
    let mut p = a.clone().joined(b.clone());
    let mut q = b.clone().joined(a.clone());
    assert_ne!(p, q, "order-dependent join");
    let (p0, q0) = (p.clone(), q.clone());
    p.join(q0);
    q.join(p0);
    assert_ne!(p, q, "full-state exchange does not repair it");
    assert!(p.contains(&10) && !p.contains(&11) && q.contains(&11) && !q.contains(&10));

    // With validated receipt, the second payload is refused at each replica, and so is the
    // exchange of states between them: the attack is detected instead of silently diverging.
    let mut p = OrSet::<u8>::new();
    let mut q = OrSet::<u8>::new();
    wire::receive(&mut p, &set_with(10), &policy()).unwrap();
    wire::receive(&mut q, &set_with(11), &policy()).unwrap();
    assert_eq!(refused(&mut p, &set_with(11)), Error::ConflictingPayload { field: "set.element" });
    assert_eq!(
        q.clone().receive(p.clone(), &policy()),
        Err(Error::ConflictingPayload { field: "set.element" })
    );
}

// ---------------------------------------------------------------------------------------------
// Length prefixes claiming millions: rejected without allocating
// ---------------------------------------------------------------------------------------------

/// Bytes allocated while running `f`.
fn allocated(mut f: impl FnMut()) -> usize {
    // The counting allocator sees every thread, and the test harness allocates on its own
    // threads (starting the next test, printing) while a test runs: such noise only ADDS, and
    // the decoder's own count is deterministic, so the least of a few runs is the decoder's.
    (0..5)
        .map(|_| {
            let region = Region::new(GLOBAL);
            f();
            region.change().bytes_allocated
        })
        .min()
        .expect("five runs")
}

/// The bound asserted below for a 20-byte input claiming 2^32 items.
const ALLOC_BOUND: usize = 1024;

/// A decoder under test, returning its error.
type Decoder = fn(&[u8]) -> Error;

fn message_err(b: &[u8]) -> Error {
    Message::<OrSet<u64>>::from_bytes(b, &Limits::default()).unwrap_err()
}

#[test]
fn length_prefixes_claiming_millions_do_not_allocate() {
    let _s = serial();
    let huge = 1u64 << 32;
    let pad = |b: B| {
        let mut v = b.bytes();
        v.resize(20.max(v.len()), 0);
        v
    };
    // Each input is 20 bytes, a few more where a context comes first.
    let cases: Vec<(&str, Vec<u8>, Decoder)> = vec![
        ("g-counter replicas", pad(B::new().v(huge)), decode_err::<GCounter>),
        ("pn-counter replicas", pad(B::new().v(huge)), decode_err::<PnCounter>),
        ("context replicas", pad(B::new().v(huge)), decode_err::<EwFlag>),
        ("context ranges", pad(B::new().v(1).id(PEER).v(huge)), decode_err::<EwFlag>),
        ("dot set dots", pad(B::new().v(0).v(huge)), decode_err::<EwFlag>),
        ("set groups", pad(B::new().v(0).v(huge)), decode_err::<OrSet<u64>>),
        ("set group dots", pad(peer_ctx(1).v(1).v(0).v(huge)), decode_err::<OrSet<u64>>),
        ("mv register dots", pad(B::new().v(0).v(huge)), decode_err::<MvRegister<u64>>),
        ("counter dots", pad(B::new().v(0).v(huge)), decode_err::<CausalCounter>),
        ("map.keys", pad(B::new().v(0).v(huge)), decode_err::<OrMap<u64, EwFlag>>),
        (
            "nested map keys",
            pad(B::new().v(0).v(1).raw(&[0]).v(huge)),
            decode_err::<OrMap<u8, OrMap<u64, EwFlag>>>,
        ),
        ("version-vector", pad(B::new().v(huge)), decode_err::<VersionVector>),
        ("message payload", pad(B(vec![1, 1, 1, 1]).v(0).v(huge)), message_err),
        ("string element", pad(peer_ctx(1).v(1).v(0).v(1).v(0).v(huge)), decode_err::<OrSet<String>>),
    ];
    let mut worst = 0;
    for (name, bytes, decode) in &cases {
        assert!(bytes.len() <= 32, "{name}: {} bytes", bytes.len());
        let mut err = None;
        let n = allocated(|| err = Some(decode(bytes)));
        let err = err.unwrap();
        assert!(matches!(err, Error::Malformed { .. } | Error::TooLarge { .. }), "{name}: {err:?}");
        assert!(n <= ALLOC_BOUND, "{name}: {n} bytes allocated for a {}-byte input", bytes.len());
        eprintln!("{name}: {err}, {n} bytes allocated");
        worst = worst.max(n);
    }
    eprintln!("worst case: {worst} bytes allocated (bound {ALLOC_BOUND})");
    // A million claimed items with nothing behind them: the same.
    let n = allocated(|| {
        let _ = decode_err::<OrSet<u64>>(&pad(B::new().v(0).v(1 << 20)));
    });
    assert!(n <= ALLOC_BOUND, "{n}");
}

// ---------------------------------------------------------------------------------------------
// Depth
// ---------------------------------------------------------------------------------------------

type Deep6 = OrMap<u8, OrMap<u8, OrMap<u8, OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>>>>;

#[test]
fn ten_thousand_levels_of_nesting_bytes() {
    let _s = serial();
    // An empty context, then 10 000 times `[1 key] [key 0]`, then an empty dot set.
    let mut b = B::new().v(0);
    for _ in 0..10_000 {
        b = b.v(1).raw(&[0]);
    }
    let bytes = b.v(0).bytes();
    // The decoder reads as many levels as the type has; what remains is not a valid value.
    assert!(matches!(decode_err::<Deep6>(&bytes), Error::Malformed { .. }));
    assert!(matches!(decode_err::<OrMap<u8, EwFlag>>(&bytes), Error::Malformed { .. }));
    assert!(matches!(decode_err::<OrMap<u8, OrMap<u8, EwFlag>>>(&bytes), Error::Malformed { .. }));
    let mut local = Deep6::new();
    assert!(matches!(refused(&mut local, &bytes), Error::Malformed { .. }));
}

#[test]
fn max_depth_gives_too_deep() {
    let _s = serial();
    // OrMap<u8, OrMap<u8, EwFlag>>: key 0 -> key 0 -> dot (PEER, 1).
    let two = peer_ctx(1).v(1).raw(&[0]).v(1).raw(&[0]).v(1).wdot(0, 1).bytes();
    type Two = OrMap<u8, OrMap<u8, EwFlag>>;
    assert!(wire::from_bytes::<Two>(&two).is_ok());
    assert_eq!(decode_err_with::<Two>(&two, &limits(|l| l.max_depth = 1)), Error::TooDeep { limit: 1 });
    assert_eq!(decode_err_with::<Two>(&two, &limits(|l| l.max_depth = 0)), Error::TooDeep { limit: 0 });
    assert!(wire::from_bytes_with::<Two>(&two, &limits(|l| l.max_depth = 2)).is_ok());
    // Six levels.
    let mut b = peer_ctx(1);
    for _ in 0..6 {
        b = b.v(1).raw(&[0]);
    }
    let six = b.v(1).wdot(0, 1).bytes();
    assert!(wire::from_bytes::<Deep6>(&six).is_ok());
    assert_eq!(decode_err_with::<Deep6>(&six, &limits(|l| l.max_depth = 5)), Error::TooDeep { limit: 5 });
    // And through validated receipt: the policy's limits apply.
    let mut local = Deep6::new();
    let p = policy().with_limits(limits(|l| l.max_depth = 3));
    assert_eq!(refused_with(&mut local, &six, &p), Error::TooDeep { limit: 3 });
}

/// The deepest realistic type, six levels of maps: join, `Drop`, `Debug`, encode and decode
/// recurse once per level of the TYPE, so none of them can overflow the stack, whatever the
/// input.
#[test]
fn deep_types_join_drop_and_debug_without_overflow() {
    let _s = serial();
    let mut a = Deep6::new();
    let mut b = Deep6::new();
    for k in 0..4u8 {
        let _ = a.update(id(ME), k, |h| {
            h.update(k, |h| h.update(1, |h| h.update(2, |h| h.update(3, |h| h.update(4, |f| f.enable())))))
        });
        let _ = b.update(id(PEER), k + 1, |h| {
            h.update(0, |h| h.update(1, |h| h.update(2, |h| h.update(3, |h| h.update(4, |f| f.enable())))))
        });
    }
    let j = a.clone().joined(b.clone());
    assert_eq!(j, b.clone().joined(a.clone()));
    assert!(format!("{j:?}").len() > 100);
    let back: Deep6 = wire::from_bytes(&wire::to_bytes(&j)).unwrap();
    assert_eq!(back, j);
    assert_eq!(j.clone().receive(a.clone(), &policy()), Ok(false));
    drop((a, b, j, back));
}

// ---------------------------------------------------------------------------------------------
// The receiver's own dots, dots outside the context
// ---------------------------------------------------------------------------------------------

#[test]
fn own_dot_from_the_future() {
    let _s = serial();
    let mut local = EwFlag::new();
    let _ = local.enable(id(ME)); // my counter is 1
    // A flag whose context says I made events 1..=5.
    let bytes = B::new().ctx(&[(ME, &[(0, 4)])]).v(0).bytes();
    let want = Error::OwnDotFromFuture { replica: id(ME), own_max: 1, found: 5 };
    assert_eq!(refused(&mut local, &bytes), want);
    // From another replica's point of view it is fine.
    let mut other = EwFlag::new();
    assert!(wire::receive(&mut other, &bytes, &ReceivePolicy::new(id(PEER), NOW_MS)).is_ok());
    // Counters: an entry for me above my own count.
    let mut c = GCounter::new();
    let _ = c.increment(id(ME), 2);
    let g = B::new().v(1).id(ME).v(9).bytes();
    assert_eq!(refused(&mut c, &g), Error::OwnDotFromFuture { replica: id(ME), own_max: 2, found: 9 });
    let pn = B::new().v(1).id(ME).v(0).v(9).bytes();
    let mut p = PnCounter::new();
    assert_eq!(refused(&mut p, &pn), Error::OwnDotFromFuture { replica: id(ME), own_max: 0, found: 9 });
    // Through the sync engine with `OwnDotsCheck`: a message with the same payload.
    let msg = [&[1u8, 1, 1, 1][..], &bytes[1..]].concat();
    let mut e = SyncEngine::<EwFlag>::new(id(ME), Mode::DeltaBpRr).with_validator(OwnDotsCheck);
    e.update(|f, me| f.enable(me));
    let before = e.clone();
    assert_eq!(e.on_bytes(id(PEER), &msg), Err(want));
    assert!(e == before);
}

#[test]
fn store_dot_outside_its_context() {
    let _s = serial();
    // Context {PEER: 1}, dot set {(PEER, 2)}.
    let bytes = peer_ctx(1).v(1).wdot(0, 2).bytes();
    let want = Error::DotOutsideContext { dot: dot(PEER, 2) };
    assert_eq!(decode_err::<EwFlag>(&bytes), want);
    let mut local = EwFlag::new();
    assert_eq!(refused(&mut local, &bytes), want);
    // In a set, in a map, in a register.
    assert_eq!(decode_err::<OrSet<u8>>(&peer_ctx(1).v(1).v(0).v(1).v(1).raw(&[9]).bytes()), want);
    assert_eq!(decode_err::<OrMap<u8, EwFlag>>(&peer_ctx(1).v(1).raw(&[0]).v(1).wdot(0, 2).bytes()), want);
    assert_eq!(decode_err::<MvRegister<u8>>(&peer_ctx(1).v(1).wdot(0, 2).raw(&[1]).bytes()), want);
    // A replica index outside the table.
    assert_eq!(
        decode_err::<EwFlag>(&peer_ctx(1).v(1).wdot(1, 1).bytes()),
        Error::UnknownReplicaIndex { index: 1 }
    );
}

/// Regression: `on_bytes` (and every `from_bytes`) used to report every validation failure as
/// `Malformed { field: "value" }`, because postcard drops serde's custom error messages.
#[test]
fn regression_typed_errors_reach_the_caller() {
    let _s = serial();
    let flag = peer_ctx(1).v(1).wdot(0, 2).bytes();
    let msg = [&[1u8, 1, 1, 1][..], &flag[1..]].concat();
    let mut e = SyncEngine::<EwFlag>::new(id(ME), Mode::DeltaBpRr);
    assert_eq!(e.on_bytes(id(PEER), &msg), Err(Error::DotOutsideContext { dot: dot(PEER, 2) }));
    assert_eq!(
        Message::<EwFlag>::from_bytes(&msg, &Limits::default()),
        Err(Error::DotOutsideContext { dot: dot(PEER, 2) })
    );
    // Unsorted context replicas: NotCanonical, not Malformed.
    let unsorted = B::new().ctx(&[(PEER, &[(0, 0)]), (ME, &[(0, 0)])]).v(0).bytes();
    assert_eq!(decode_err::<EwFlag>(&unsorted), Error::NotCanonical { field: "context" });
    // An over-long varint (0 as `[0x80, 0x00]`): the encoding is not canonical.
    assert_eq!(decode_err::<GCounter>(&[1, 0x80, 0x00]), Error::NotCanonical { field: "encoding" });
}

/// Regression: a lone `Dot` decoded with any counter up to `u64::MAX` (its `Deserialize` had no
/// `max_counter` check), and refused 0 as "0 is above the accepted maximum 0".
#[test]
fn regression_dot_decode_checks_max_counter() {
    let _s = serial();
    assert_eq!(
        decode_err::<Dot>(&B::new().id(PEER).v(u64::MAX).bytes()),
        Error::CounterOutOfRange { field: "dot", value: u64::MAX, max: MAX_COUNT }
    );
    assert_eq!(
        decode_err::<Dot>(&B::new().id(PEER).v(0).bytes()),
        Error::CounterOutOfRange { field: "dot", value: 0, max: MAX_COUNT }
    );
    let json = format!(r#"["00000000-0000-0000-0000-000000000002",{}]"#, u64::MAX);
    assert!(serde_json::from_str::<Dot>(&json).unwrap_err().to_string().starts_with("dot: "));
}

// ---------------------------------------------------------------------------------------------
// Every limit
// ---------------------------------------------------------------------------------------------

/// Regression: `from_bytes_with` applied only `max_bytes`; every other limit was the default.
#[test]
fn regression_every_limit_applies_at_every_level() {
    let _s = serial();
    let too_large = |e: Error| match e {
        Error::TooLarge { field, .. } => field,
        other => panic!("expected TooLarge, got {other:?}"),
    };
    // max_bytes.
    let flag = peer_ctx(1).v(1).wdot(0, 1).bytes();
    assert_eq!(
        decode_err_with::<EwFlag>(&flag, &limits(|l| l.max_bytes = 3)),
        Error::TooLarge { field: "bytes", limit: 3, found: flag.len() as u64 }
    );
    // max_replicas: a context, a G-Counter, a version vector with two replicas.
    let one = limits(|l| l.max_replicas = 1);
    let two_ctx = B::new().ctx(&[(ME, &[(0, 0)]), (PEER, &[(0, 0)])]).v(0).bytes();
    assert_eq!(
        decode_err_with::<EwFlag>(&two_ctx, &one),
        Error::TooLarge { field: "context.replicas", limit: 1, found: 2 }
    );
    let g = B::new().v(2).id(ME).v(1).id(PEER).v(1).bytes();
    assert_eq!(too_large(decode_err_with::<GCounter>(&g, &one)), "g-counter");
    let pn = B::new().v(2).id(ME).v(1).v(0).id(PEER).v(1).v(0).bytes();
    assert_eq!(too_large(decode_err_with::<PnCounter>(&pn, &one)), "pn-counter");
    assert_eq!(too_large(decode_err_with::<VersionVector>(&g, &one)), "version-vector");
    // max_ranges: events {1, 3} of one replica are two ranges.
    let gappy = B::new().ctx(&[(PEER, &[(0, 0), (1, 0)])]).v(0).bytes();
    assert!(wire::from_bytes::<EwFlag>(&gappy).is_ok());
    assert_eq!(
        decode_err_with::<EwFlag>(&gappy, &limits(|l| l.max_ranges = 1)),
        Error::TooLarge { field: "context.ranges", limit: 1, found: 2 }
    );
    // max_dots: a flag with two dots; an MV register nested in a map; the whole map's dots.
    let dots1 = limits(|l| l.max_dots = 1);
    let two_dots = peer_ctx(2).v(2).wdot(0, 1).wdot(0, 2).bytes();
    assert_eq!(too_large(decode_err_with::<EwFlag>(&two_dots, &dots1)), "dot-set");
    let nested_mv = peer_ctx(2).v(1).raw(&[0]).v(2).wdot(0, 1).raw(&[1]).wdot(0, 2).raw(&[2]).bytes();
    assert!(wire::from_bytes::<OrMap<u8, MvRegister<u8>>>(&nested_mv).is_ok());
    assert_eq!(too_large(decode_err_with::<OrMap<u8, MvRegister<u8>>>(&nested_mv, &dots1)), "mv-register");
    let two_keys = peer_ctx(2).v(2).raw(&[0]).v(1).wdot(0, 1).raw(&[1]).v(1).wdot(0, 2).bytes();
    assert_eq!(too_large(decode_err_with::<OrMap<u8, EwFlag>>(&two_keys, &dots1)), "store.dots");
    let set2 = peer_ctx(2).v(1).v(0).v(2).v(0).raw(&[1]).v(0).raw(&[2]).bytes();
    assert_eq!(too_large(decode_err_with::<OrSet<u8>>(&set2, &dots1)), "set.dots");
    // max_elements: set elements, map keys, a set nested in a map.
    let elems1 = limits(|l| l.max_elements = 1);
    assert_eq!(too_large(decode_err_with::<OrSet<u8>>(&set2, &elems1)), "set.elements");
    assert_eq!(too_large(decode_err_with::<OrMap<u8, EwFlag>>(&two_keys, &elems1)), "map.keys");
    let nested_set = peer_ctx(2).v(1).raw(&[0]).v(1).v(0).v(2).v(0).raw(&[1]).v(0).raw(&[2]).bytes();
    assert_eq!(too_large(decode_err_with::<OrMap<u8, OrSet<u8>>>(&nested_set, &elems1)), "set.elements");
    // max_counter: a context, a dot, a counter entry, a counter total, a message's seq.
    let ten = limits(|l| l.max_counter = 10);
    let ctx11 = B::new().ctx(&[(PEER, &[(0, 10)])]).v(0).bytes();
    assert_eq!(
        decode_err_with::<EwFlag>(&ctx11, &ten),
        Error::CounterOutOfRange { field: "context", value: 11, max: 10 }
    );
    let dot11 = B::new().id(PEER).v(11).bytes();
    assert_eq!(
        decode_err_with::<Dot>(&dot11, &ten),
        Error::CounterOutOfRange { field: "dot", value: 11, max: 10 }
    );
    let g11 = B::new().v(1).id(PEER).v(11).bytes();
    assert_eq!(
        decode_err_with::<GCounter>(&g11, &ten),
        Error::CounterOutOfRange { field: "g-counter", value: 11, max: 10 }
    );
    let cc11 = peer_ctx(1).v(1).wdot(0, 1).v(11).v(0).bytes();
    assert_eq!(
        decode_err_with::<CausalCounter>(&cc11, &ten),
        Error::CounterOutOfRange { field: "counter-store.total", value: 11, max: 10 }
    );
    let ack11 = [1u8, 1, 3, 11];
    assert_eq!(
        Message::<EwFlag>::from_bytes(&ack11, &ten),
        Err(Error::CounterOutOfRange { field: "seq", value: 11, max: 10 })
    );
    // max_depth: see `max_depth_gives_too_deep`. max_clock_skew_ms: through the policy.
    let reg = B::new().v(1).v(ts(NOW_MS + 2_000)).id(PEER).v(7).bytes();
    let mut l = LwwRegister::<u64>::new();
    let strict = policy().with_limits(limits(|l| l.max_clock_skew_ms = 1_000));
    assert_eq!(
        refused_with(&mut l, &reg, &strict),
        Error::TimestampTooFarAhead { found_ms: NOW_MS + 2_000, now_ms: NOW_MS, max_skew_ms: 1_000 }
    );
    assert_eq!(wire::receive(&mut l, &reg, &policy()), Ok(true));
    // The sync engine decodes under its own limits.
    let msg = [&[1u8, 1, 1, 1][..], &two_dots[1..]].concat();
    let mut e = SyncEngine::<EwFlag>::new(id(ME), Mode::DeltaBpRr).with_limits(dots1);
    assert!(matches!(e.on_bytes(id(PEER), &msg), Err(Error::TooLarge { field: "dot-set", .. })));
    assert!(e.state().is_bottom());
}

/// The limits inside every nested store kind, not only at the top.
#[test]
fn limits_inside_every_nested_store() {
    let _s = serial();
    let dots1 = limits(|l| l.max_dots = 1);
    let too_large = |e: Error| match e {
        Error::TooLarge { field, limit: 1, found: 2 } => field,
        other => panic!("expected TooLarge 2 > 1, got {other:?}"),
    };
    // OrMap<u8, CausalCounter>: key 0 holding the dots (PEER, 1) and (PEER, 2), totals 1 and 2.
    let cc = peer_ctx(2).v(1).raw(&[0]).v(2).wdot(0, 1).v(1).v(0).wdot(0, 2).v(2).v(0).bytes();
    assert!(wire::from_bytes::<OrMap<u8, CausalCounter>>(&cc).is_ok());
    assert_eq!(too_large(decode_err_with::<OrMap<u8, CausalCounter>>(&cc, &dots1)), "counter-store");
    // OrMap<u8, GCounter>: the nested G-Counter is a dot -> total store `[(dot, total)]`.
    let g = peer_ctx(2).v(1).raw(&[0]).v(2).wdot(0, 1).v(1).wdot(0, 2).v(2).bytes();
    assert!(wire::from_bytes::<OrMap<u8, GCounter>>(&g).is_ok());
    assert_eq!(too_large(decode_err_with::<OrMap<u8, GCounter>>(&g, &dots1)), "counter-store");
    let g_max = peer_ctx(1).v(1).raw(&[0]).v(1).wdot(0, 1).v(u64::MAX).bytes();
    assert_eq!(
        decode_err::<OrMap<u8, GCounter>>(&g_max),
        Error::CounterOutOfRange { field: "counter-store.total", value: u64::MAX, max: MAX_COUNT }
    );
    // OrMap<u8, LwwRegister<u64>>: two concurrent writes under one key.
    let lww = peer_ctx(2).v(1).raw(&[0]).v(2).wdot(0, 1).v(ts(1)).v(1).wdot(0, 2).v(ts(2)).v(2).bytes();
    assert!(wire::from_bytes::<OrMap<u8, LwwRegister<u64>>>(&lww).is_ok());
    assert_eq!(too_large(decode_err_with::<OrMap<u8, LwwRegister<u64>>>(&lww, &dots1)), "lww-store.value");
    // OrMap<u8, EwFlag> inside a map: the dot set's own limit.
    let flags = peer_ctx(2).v(1).raw(&[0]).v(1).raw(&[0]).v(2).wdot(0, 1).wdot(0, 2).bytes();
    assert_eq!(too_large(decode_err_with::<OrMap<u8, OrMap<u8, EwFlag>>>(&flags, &dots1)), "dot-set");
    // The replica limit applies to the context of a nested value's map too.
    let two = B::new().ctx(&[(ME, &[(0, 0)]), (PEER, &[(0, 0)])]).v(0).bytes();
    assert_eq!(
        too_large(decode_err_with::<OrMap<u8, OrSet<u8>>>(&two, &limits(|l| l.max_replicas = 1))),
        "context.replicas"
    );
}

/// Regression: an OR-Set named the replicas of its live dots through a 16-bit table, and a join
/// that would need a 65 537th replica with live dots panicked ("an OR-Set holds live elements of
/// at most 65 536 replicas"). Each delta passes decoding (one replica), so a peer could crash a
/// receiver with 65 537 tiny deltas. Under the default limits validated receipt refuses the
/// last one (the receiver's context would name too many replicas); with a larger replica limit
/// the set widens its packing and takes it.
#[test]
fn regression_set_replica_table_overflow_is_refused_not_a_panic() {
    let _s = serial();
    let full = 65_536u32;
    let mut s = OrSet::<u32>::new();
    // One message holding element i under the dot (replica 10 + i, 1) for every i: the state the
    // 65 536 tiny deltas build, in one receipt (receiving them one by one takes a minute in a
    // debug build; what is checked here is the refusal of the next one).
    let one: &[(u64, u64)] = &[(0, 0)];
    let entries: Vec<(u128, &[(u64, u64)])> = (0..full).map(|i| (10 + u128::from(i), one)).collect();
    let mut all = B::new().ctx(&entries).v(u64::from(full));
    for i in 0..u64::from(full) {
        // Replica index i, one dot, counter gap 0 (counter 1), element i (a u32 is a varint).
        all = all.v(i).v(1).v(0).v(i);
    }
    assert_eq!(wire::receive(&mut s, &all.bytes(), &policy()), Ok(true));
    assert_eq!(s.len(), full as usize);
    let one_more = B::new().ctx(&[(1_000_000, &[(0, 0)])]).v(1).v(0).v(1).v(0).v(7_000_000).bytes();
    // Under the default limits the receiver's context is full first...
    assert_eq!(
        refused(&mut s, &one_more),
        Error::TooLarge { field: "context.replicas", limit: 65_536, found: 65_537 }
    );
    assert_eq!(s.len(), full as usize);
    // ...and with a larger replica limit, the set takes it (it used to refuse it with
    // `TooLarge { field: "set.replicas" }`, or panic in a plain join).
    let roomy = limits(|l| l.max_replicas = 1 << 20);
    assert_eq!(wire::receive(&mut s, &one_more, &policy().with_limits(roomy)), Ok(true));
    assert_eq!(s.len(), full as usize + 1);
    // Its snapshot decodes at a peer with the same limits.
    assert_eq!(wire::from_bytes_with::<OrSet<u32>>(&wire::to_bytes(&s), &roomy).as_ref(), Ok(&s));
}

/// Replicas accumulate at the receiver one small delta at a time; validated receipt keeps the
/// receiver's state within `max_replicas` (beyond it, its own state would no longer decode at
/// its peers under the same limits).
#[test]
fn replicas_accumulating_at_the_receiver_are_bounded() {
    let _s = serial();
    let p = policy().with_limits(limits(|l| l.max_replicas = 3));
    let flag = |r: u128| B::new().ctx(&[(r, &[(0, 0)])]).v(1).wdot(0, 1).bytes();
    let mut f = EwFlag::new();
    for r in 10..13 {
        assert_eq!(wire::receive(&mut f, &flag(r), &p), Ok(true));
    }
    assert_eq!(wire::receive(&mut f, &flag(11), &p), Ok(false), "a known replica is fine");
    assert_eq!(
        refused_with(&mut f, &flag(13), &p),
        Error::TooLarge { field: "context.replicas", limit: 3, found: 4 }
    );
    let g = |r: u128| B::new().v(1).id(r).v(1).bytes();
    let mut c = GCounter::new();
    for r in 10..13 {
        assert_eq!(wire::receive(&mut c, &g(r), &p), Ok(true));
    }
    assert_eq!(refused_with(&mut c, &g(13), &p), Error::TooLarge { field: "g-counter", limit: 3, found: 4 });
    let pn = |r: u128| B::new().v(1).id(r).v(0).v(1).bytes();
    let mut c = PnCounter::new();
    for r in 10..13 {
        assert_eq!(wire::receive(&mut c, &pn(r), &p), Ok(true));
    }
    assert_eq!(
        refused_with(&mut c, &pn(13), &p),
        Error::TooLarge { field: "pn-counter", limit: 3, found: 4 }
    );
}

// ---------------------------------------------------------------------------------------------
// The typed decoder and the serde `Deserialize` impls agree
// ---------------------------------------------------------------------------------------------

/// The serde path: postcard through `Deserialize` (default limits), all bytes consumed, canonical.
fn via_serde<T: serde::Serialize + serde::de::DeserializeOwned>(b: &[u8]) -> Option<T> {
    let rest = b.strip_prefix(&[wire::FORMAT_VERSION])?;
    match postcard::take_from_bytes::<T>(rest) {
        Ok((v, [])) if postcard::to_allocvec(&v).ok()? == rest => Some(v),
        _ => None,
    }
}

/// Every truncation and many single-byte corruptions of `v`'s encoding: the typed decoder
/// accepts exactly what serde's `Deserialize` accepts (the same checked conversion), and never
/// panics.
fn agree<T: Decode + PartialEq + std::fmt::Debug>(v: &T) {
    let good = wire::to_bytes(v);
    assert_eq!(wire::from_bytes::<T>(&good).as_ref(), Ok(v));
    let mut inputs: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
    for i in 0..good.len() {
        for mask in [0x01u8, 0x02, 0x10, 0x80, 0xff] {
            let mut b = good.clone();
            b[i] ^= mask;
            inputs.push(b);
        }
    }
    for b in inputs {
        assert_eq!(wire::from_bytes::<T>(&b).ok(), via_serde::<T>(&b), "{b:?}");
    }
}

#[test]
fn typed_decoder_and_serde_agree_on_corrupted_inputs() {
    let _s = serial();
    let (a, b) = (id(ME), id(PEER));
    let mut g = GCounter::new();
    let _ = g.increment(a, 300);
    let _ = g.increment(b, 2);
    agree(&g);
    let mut pn = PnCounter::new();
    let _ = pn.increment(a, 5);
    let _ = pn.decrement(b, 1 << 20);
    agree(&pn);
    let mut s = OrSet::<u16>::new();
    for x in 0..6 {
        let _ = s.insert(if x % 2 == 0 { a } else { b }, x * 100);
    }
    let _ = s.remove(a, &200);
    agree(&s);
    let mut m = OrMap::<u8, OrMap<u8, MvRegister<u8>>>::new();
    for k in 0..3u8 {
        let _ = m.update(a, k, |h| h.update(k + 1, |r| r.write(k)));
        let _ = m.update(b, k, |h| h.update(k, |r| r.write(k + 7)));
    }
    let _ = m.remove(a, &1);
    agree(&m);
    let mut l = OrMap::<u8, LwwRegister<u64>>::new();
    let _ = l.update(b, 4, |r| r.write_at(convergent::Timestamp::from_parts(NOW_MS, 3), 99));
    agree(&l);
    let mut c = CausalCounter::new();
    let _ = c.increment(a, 9);
    let _ = c.decrement(b, 4);
    agree(&c);
    let mut f = EwFlag::new();
    let _ = f.enable(a);
    let _ = f.disable(b);
    let _ = f.enable(b);
    agree(&f);
    let mut reg = LwwRegister::new();
    let _ = reg.write(b, convergent::Timestamp::from_parts(NOW_MS, 1), String::from("hi"));
    agree(&reg);
    agree(f.context());
    agree(&f.context().version_vector());
}

// ---------------------------------------------------------------------------------------------
// Error messages
// ---------------------------------------------------------------------------------------------

#[test]
fn error_messages_are_lowercase_and_name_the_field() {
    let _s = serial();
    let cases = [
        (Error::Malformed { field: "value" }, "value"),
        (Error::UnsupportedVersion { found: 9 }, "version"),
        (Error::TooLarge { field: "context.replicas", limit: 1, found: 2 }, "context.replicas"),
        (Error::NotCanonical { field: "context" }, "context"),
        (Error::UnknownReplicaIndex { index: 3 }, "replica"),
        (Error::DotOutsideContext { dot: dot(PEER, 2) }, "store"),
        (Error::DuplicateDot { dot: dot(PEER, 2) }, "store"),
        (Error::ConflictingPayload { field: "set.element" }, "set.element"),
        (Error::CounterOutOfRange { field: "g-counter", value: 11, max: 10 }, "g-counter"),
        (Error::TimestampTooFarAhead { found_ms: 9, now_ms: 1, max_skew_ms: 2 }, "timestamp"),
        (
            Error::OwnDotFromFuture { replica: ReplicaId::from_u128(u128::MAX), own_max: 1, found: 5 },
            "context",
        ),
        (Error::TooDeep { limit: 4 }, "nesting"),
    ];
    for (e, field) in cases {
        let msg = e.to_string();
        assert_eq!(msg, msg.to_lowercase(), "{e:?}");
        assert!(msg.starts_with(&format!("{field}: ")), "{msg}");
    }
}

/// Issue 10, class 7: a write at the skew edge must not stall a relay. Writer W sends its own
/// writes to A; A relays to B, whose clock is 1 s behind A's. Before: A accepted W's write at
/// exactly `now_A + max_skew`, B refused every delta-group carrying it (and everything else in
/// the group), resent forever. Now A accepts W's OWN writes only within half the skew (the accept
/// margin) and any relay refuses only beyond the whole skew (the refuse margin): the edge write is
/// refused at A where it enters, and a write at A's accept edge passes B, with the rest of its
/// group, in one round.
#[test]
fn regression_skew_edge_write_does_not_stall_a_relay() {
    let _g = serial();
    type M = OrMap<u8, LwwRegister<u64>>;
    let skew: u64 = 10_000;
    let lim = Limits { max_clock_skew_ms: skew, ..Limits::default() };
    let (w, a, b) = (id(10), id(11), id(12));
    fn clock_a() -> u64 {
        NOW_MS
    }
    fn clock_b() -> u64 {
        NOW_MS - 1_000
    }
    let (mut ea, mut eb) = relay_pair::<M>((a, clock_a), (b, clock_b), lim);
    let at = |ms: u64| convergent::Timestamp::from_parts(ms, 0);
    let mut src = M::new();

    // W's own write at exactly A's refuse edge: refused where it enters, A unchanged.
    let edge = src.update(w, 1, |v| v.write_at(at(NOW_MS + skew), 7)).0;
    let before = ea.state().clone();
    assert!(matches!(
        ea.on_message(w, Message::Delta { seq: 1, delta: edge }),
        Err(Error::TimestampTooFarAhead { max_skew_ms: 5_000, .. })
    ));
    assert_eq!(ea.state(), &before);

    // W's own write at A's accept edge, and an ordinary write in the same group.
    let mut src = M::new();
    let mut group = src.update(w, 1, |v| v.write_at(at(NOW_MS + skew / 2), 7)).0;
    group.join(src.update(w, 2, |v| v.write_at(at(NOW_MS), 8)).0);
    ea.on_message(w, Message::Delta { seq: 1, delta: group }).unwrap();
    // And A's own write, stamped with A's clock: first hand at B, within B's accept margin.
    assert!(ea.update(|m, me| m.update(me, 4, |v| v.write_at(at(NOW_MS), 10)).0));
    // A relays to B (1 s behind): everything passes in one round, acked.
    for round in 0..4 {
        for (to, m) in ea.poll_outgoing() {
            if to == b {
                eb.on_message(a, m).unwrap_or_else(|e| panic!("round {round}: B refused: {e:?}"));
            }
        }
        for (to, m) in eb.poll_outgoing() {
            if to == a {
                ea.on_message(b, m).unwrap();
            }
        }
    }
    assert_eq!(eb.state(), ea.state());
    assert_eq!(eb.state().get(&1).and_then(|r| r.value().copied()), Some(7));
    assert_eq!(eb.state().get(&4).and_then(|r| r.value().copied()), Some(10));
    assert!(ea.caught_up(b));

    // Before: one margin for every write (a policy without a sender, as the engine validated
    // before). A takes W's edge write; B refuses every round, and the ordinary write in the same
    // group with it: the stall.
    let one_margin = move |now: u64| {
        move |i: &M, l: &M, me: ReplicaId| {
            i.validate_against(l, &ReceivePolicy::new(me, now).with_limits(lim))
        }
    };
    let mut oa = SyncEngine::<M>::new(a, Mode::DeltaBpRr).with_limits(lim).with_validator(one_margin(NOW_MS));
    let mut ob =
        SyncEngine::<M>::new(b, Mode::DeltaBpRr).with_limits(lim).with_validator(one_margin(NOW_MS - 1_000));
    oa.add_neighbour(b);
    ob.add_neighbour(a);
    let mut src = M::new();
    let mut group = src.update(w, 1, |v| v.write_at(at(NOW_MS + skew), 7)).0;
    group.join(src.update(w, 2, |v| v.write_at(at(NOW_MS), 8)).0);
    oa.on_message(w, Message::Delta { seq: 1, delta: group }).unwrap();
    let mut refusals = 0;
    for _ in 0..4 {
        for (to, m) in oa.poll_outgoing() {
            if to == b && matches!(m, Message::Delta { .. } | Message::Snapshot { .. }) {
                refusals += usize::from(ob.on_message(a, m).is_err());
            }
        }
    }
    eprintln!("one margin: B refused {refusals} of 4 rounds; two margins: 0");
    assert!(refusals >= 2 && ob.state().get(&2).is_none(), "one margin: B refused {refusals} times");

    // A write relayed from another writer (not the sender) keeps the whole margin at B.
    let mut far = M::new();
    let relayed = far.update(id(13), 3, |v| v.write_at(at(NOW_MS - 1_000 + skew), 9)).0;
    assert_eq!(eb.on_message(a, Message::Delta { seq: 9, delta: relayed.clone() }), Ok(()));
    // The same write first hand from its writer gets only the accept margin.
    assert!(matches!(
        eb.on_message(id(13), Message::Delta { seq: 1, delta: relayed }),
        Err(Error::TimestampTooFarAhead { max_skew_ms: 5_000, .. })
    ));
}

/// An engine checking LWW timestamps with its own clock.
type Relay<L> = SyncEngine<L, ReceiveCheck<fn() -> u64>>;

/// Two neighbouring engines `a` and `b` checking LWW timestamps with their own clocks.
fn relay_pair<L: Lattice + convergent::Decompose + Receive>(
    (a, clock_a): (ReplicaId, fn() -> u64),
    (b, clock_b): (ReplicaId, fn() -> u64),
    lim: Limits,
) -> (Relay<L>, Relay<L>) {
    let engine = |me, clock| {
        SyncEngine::<L>::new(me, Mode::DeltaBpRr).with_limits(lim).with_validator(ReceiveCheck::new(clock))
    };
    let (mut ea, mut eb) = (engine(a, clock_a), engine(b, clock_b));
    ea.add_neighbour(b);
    eb.add_neighbour(a);
    (ea, eb)
}

/// B's clock in `regression_forged_writer_stalls_a_lagging_relay_for_at_most_its_lag`.
static CLOCK_B: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Class 7 residue, measured: a peer P that forges a write in ANOTHER writer's name gets the
/// relay margin at A (the whole skew) and stalls B, whose clock lags A's by 1 s: B refuses every
/// group carrying it, and the ordinary write travelling with it, until B's clock reaches the
/// time A's showed when it accepted the write, that is for at most B's lag behind A (here:
/// refused at lag 1 ms, taken at lag 0). A forger who repeats such writes stalls the relay as
/// long as it repeats them: the bound is per write (see docs/receipt.md, "two skew margins").
#[test]
fn regression_forged_writer_stalls_a_lagging_relay_for_at_most_its_lag() {
    use std::sync::atomic::Ordering::SeqCst;
    let _g = serial();
    type M = OrMap<u8, LwwRegister<u64>>;
    let skew: u64 = 10_000;
    let lim = Limits { max_clock_skew_ms: skew, ..Limits::default() };
    let (w, forger, a, b) = (id(10), id(14), id(11), id(12));
    fn clock_a() -> u64 {
        NOW_MS
    }
    fn clock_b() -> u64 {
        CLOCK_B.load(SeqCst)
    }
    CLOCK_B.store(NOW_MS - 1_000, SeqCst);
    let (mut ea, mut eb) = relay_pair::<M>((a, clock_a), (b, clock_b), lim);
    let at = |ms: u64| convergent::Timestamp::from_parts(ms, 0);
    // The forger sends, as W's, a write at A's refuse edge with an ordinary write.
    let mut src = M::new();
    let mut group = src.update(w, 1, |v| v.write_at(at(NOW_MS + skew), 7)).0;
    group.join(src.update(w, 2, |v| v.write_at(at(NOW_MS), 8)).0);
    ea.on_message(forger, Message::Delta { seq: 1, delta: group }).unwrap();
    // Two polls of A (a resend is due after one), delivered to B: (groups B took, refused).
    let mut round = || {
        let (mut took, mut refused) = (0, 0);
        for _ in 0..2 {
            for (to, m) in ea.poll_outgoing() {
                if to == b && matches!(m, Message::Delta { .. } | Message::Snapshot { .. }) {
                    match eb.on_message(a, m) {
                        Ok(()) => took += 1,
                        Err(Error::TimestampTooFarAhead { .. }) => refused += 1,
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            for (to, m) in eb.poll_outgoing() {
                if to == a {
                    ea.on_message(b, m).unwrap();
                }
            }
        }
        (took, refused, eb.state().get(&2).is_some(), ea.caught_up(b))
    };
    // B's clock 1 000 ms, 500 ms, then 1 ms behind A's: refused, the ordinary write stalled too.
    for lag in [1_000, 500, 1] {
        CLOCK_B.store(NOW_MS - lag, SeqCst);
        let (took, refused, has_2, caught_up) = round();
        assert!(took == 0 && refused >= 1 && !has_2 && !caught_up, "B at lag {lag} ms");
    }
    // B's clock reaches the time A's showed: the group passes, acked.
    CLOCK_B.store(NOW_MS, SeqCst);
    let (took, refused, has_2, caught_up) = round();
    assert!(took >= 1 && refused == 0 && has_2 && caught_up);
    assert_eq!(eb.state(), ea.state());
}

/// Found walking the receive paths: any sender id is accepted, and every delta from one
/// recorded what this replica holds of it (the handshake's table, persisted in the sync record)
/// and every chunk its progress, without a bound: a flood of one-message strangers grew both
/// tables by one entry per stranger, forever (212 bytes each, measured with a counting
/// allocator: 425 824 bytes kept after 2 000 strangers, 847 424 after 4 000; 12 896 after both
/// now). Now, as for acks owed, strangers are kept only while the tables have fewer than
/// `max_buffered` entries (neighbours always): counted here by the handshake table and by the
/// chunk acks, which only a kept sender's progress produces.
#[test]
fn regression_strangers_do_not_grow_the_engine_tables() {
    // Serial like every test here: it allocates, and the counting allocator sees all threads
    // (without the lock it ran beside `length_prefixes_claiming_millions_do_not_allocate` and
    // made it count 1 721 bytes for a 20-byte input, about one run in three).
    let _s = serial();
    let run = |n: u128| {
        let mut e = SyncEngine::<EwFlag>::new(id(ME), Mode::DeltaBpRr).with_max_buffered(64);
        let mut chunk_acks = 0;
        for i in 0..n {
            let from = id(1_000 + i);
            e.on_message(from, Message::Delta { seq: 1, delta: EwFlag::new() }).unwrap();
            let chunk = Message::Chunk { seq: 1, index: 0, count: u32::MAX, part: EwFlag::new() };
            e.on_message(from, chunk).unwrap();
            if i % 100 == 99 || i + 1 == n {
                chunk_acks +=
                    e.poll_acks().iter().filter(|(_, m)| matches!(m, Message::ChunkAck { .. })).count();
            }
        }
        (e.sync_record().holds.len(), chunk_acks)
    };
    let (h1, c1) = run(2_000);
    let (h2, c2) = run(4_000);
    eprintln!("strangers: 2 000 -> {h1} held, {c1} chunk progresses; 4 000 -> {h2} held, {c2}");
    assert!(h1 <= 64 && h2 <= 64, "{h1} / {h2} senders held");
    assert!(c1 <= 64 && c2 <= 64, "{c1} / {c2} chunk progresses kept");
}

/// The joined-size check (`wire::StateSize`, run on every payload of the engine's byte paths)
/// allocates nothing for a small delta once the state is counted: its scan keeps a delta's
/// few replica ids inline.
#[test]
fn the_size_check_of_a_small_delta_allocates_nothing() {
    let _g = serial();
    let mut local = OrSet::new();
    let _ = local.insert_all(id(2), 0..100u64);
    let (mut src, mut size) = (OrSet::new(), wire::StateSize::new());
    let first = src.insert(id(3), 7u64);
    size.check(&local, &first, 30, &Limits::default()).unwrap(); // counts the state
    local.join_ref(&first);
    // The allocator counts every thread: the least of five checks (other tests add, never take).
    let least = (8..13u64)
        .map(|e| {
            let next = src.insert(id(3), e);
            let region = Region::new(GLOBAL);
            size.check(&local, &next, 30, &Limits::default()).unwrap();
            let n = region.change().allocations;
            local.join_ref(&next);
            n
        })
        .min();
    assert_eq!(least, Some(0));
}
