//! The golden vectors: one small but non-trivial value per type of the crate, built
//! deterministically from realistic multi-replica histories (fixed replica ids, fixed
//! timestamps, concurrent writes, removes, deltas delivered out of causal order so that
//! contexts have gaps).
//!
//! Shared by `tests/golden.rs` (which pins the bytes and JSON of each value in
//! `tests/data/<name>.bin` and `tests/data/<name>.json`) and `tests/mutation_sweep.rs` (which
//! truncates and bit-flips every stored vector). Changing a builder changes a vector: re-bless
//! (`CONVERGENT_BLESS=1 cargo test --all-features --test golden`) and say why in the commit.
//!
//! Every call of the crate's encoder and decoder is made on a concrete crate type (through the
//! `golden_type!` macro), never through a generic `T: Serialize` bound, so that these tests keep
//! compiling if `wire::to_bytes`/`from_bytes` come to require a crate trait.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Debug;

use convergent::sync::Message;
use convergent::{
    CausalContext, CausalCounter, Dot, EwFlag, GCounter, Lattice, Limits, LwwRegister, MvRegister, OrMap,
    OrSet, PnCounter, ReplicaId, Timestamp,
    causal::{Causal, CheckInvariants, DotStore, VersionVector},
    wire,
};

// ---------------------------------------------------------------------------------------------
// Fixed ids and times
// ---------------------------------------------------------------------------------------------

/// Three replicas. Not 1, 2, 3: ids with bits set in several bytes make bit flips in the replica
/// table land on something other than zero bytes. Sorted: `A < B < C`.
pub const A: ReplicaId = ReplicaId::from_u128(0x0A11_CE00_0000_0000_0000_0000_0000_00A1);
pub const B: ReplicaId = ReplicaId::from_u128(0x0B0B_0000_0000_0000_0000_0000_0000_00B2);
pub const C: ReplicaId = ReplicaId::from_u128(0x0CA2_0100_0000_0000_0000_0000_0000_00C3);

/// 2023-11-14T22:13:20Z, and timestamps around it.
pub const T0_MS: u64 = 1_700_000_000_000;

pub fn ts(offset_ms: u64, logical: u16) -> Timestamp {
    Timestamp::from_parts(T0_MS + offset_ms, logical)
}

fn s(x: &str) -> String {
    x.to_string()
}

// ---------------------------------------------------------------------------------------------
// The per-type interface
// ---------------------------------------------------------------------------------------------

/// What a golden vector's type provides: its encoder and decoder (concrete calls), and the checks
/// a decoded value must pass to count as valid.
pub trait Golden:
    Clone + PartialEq + Debug + serde::Serialize + serde::de::DeserializeOwned + 'static
{
    /// `wire::to_bytes` (or `Message::to_bytes`).
    fn encode(&self) -> Vec<u8>;
    /// `wire::from_bytes` (or `Message::from_bytes` with the default limits); the error's
    /// `Display` on failure.
    fn decode(bytes: &[u8]) -> Result<Self, String>;
    /// The checks of a decoded value against a live replica `live` (the golden value itself):
    /// structural invariants, then a join into a copy of `live` that must be `>=` both inputs.
    fn validate(&self, live: &Self) -> Result<(), String>;
    /// Whether joining with `live` gives the same state in both orders. Not a validity check: a
    /// decoded value can be valid on its own and still carry, under a dot `live` also holds, a
    /// different payload; the sweep counts how often (see its report).
    fn commutes(&self, live: &Self) -> bool;
}

/// `live ⊔ v == v ⊔ live`.
pub fn commutes<T: Lattice + Clone + PartialEq>(v: &T, live: &T) -> bool {
    live.clone().joined(v.clone()) == v.clone().joined(live.clone())
}

/// Joins `v` into a copy of `live` and checks the lattice facts a receiver relies on: the result
/// is an upper bound of both, and joining `v` again changes nothing. Returns the joined state.
pub fn join_check<T: Lattice + Clone + PartialEq + Debug>(v: &T, live: &T) -> Result<T, String> {
    let mut joined = live.clone();
    joined.join_ref(v);
    if !v.leq(&joined) {
        return Err(format!("decoded value is not <= live ⊔ decoded\n decoded {v:?}\n joined {joined:?}"));
    }
    if !live.leq(&joined) {
        return Err(format!("live replica is not <= live ⊔ decoded\n live {live:?}\n joined {joined:?}"));
    }
    let mut again = joined.clone();
    if again.join_ref(v) {
        return Err(format!("join is not idempotent: joining {v:?} twice changed {joined:?}"));
    }
    // Bottom is the identity, on the decoded value too.
    let mut b = T::bottom();
    b.join_ref(v);
    if &b != v {
        return Err(format!("⊥ ⊔ decoded != decoded: {v:?} became {b:?}"));
    }
    Ok(joined)
}

/// A causal pair's own invariants: every live dot lies in the context.
fn within<S: DotStore>(c: &Causal<S>, what: &str) -> Result<(), String> {
    if c.store_within_context() { Ok(()) } else { Err(format!("{what}: a live dot is outside the context")) }
}

fn invariants<T: CheckInvariants>(v: &T, what: &str) -> Result<(), String> {
    v.check_invariants().map_err(|e| format!("{what}: check_invariants: {e}"))
}

macro_rules! golden_type {
    ($t:ty, |$v:ident, $live:ident| $validate:expr) => {
        golden_type!($t, |$v, $live| $validate, |v, live| commutes(v, live));
    };
    ($t:ty, |$v:ident, $live:ident| $validate:expr, |$cv:ident, $clive:ident| $commutes:expr) => {
        impl Golden for $t {
            fn encode(&self) -> Vec<u8> {
                wire::to_bytes(self)
            }
            fn decode(bytes: &[u8]) -> Result<Self, String> {
                wire::from_bytes::<$t>(bytes).map_err(|e| e.to_string())
            }
            fn validate(&self, live: &Self) -> Result<(), String> {
                let $v = self;
                let $live = live;
                $validate
            }
            fn commutes(&self, live: &Self) -> bool {
                let $cv = self;
                let $clive = live;
                $commutes
            }
        }
    };
}

/// A plain (non-causal) lattice: only the join checks.
macro_rules! golden_plain {
    ($t:ty) => {
        golden_type!($t, |v, live| join_check(v, live).map(drop));
    };
}

/// A causal type with `CheckInvariants`: invariants of the value and of the join.
macro_rules! golden_checked {
    ($t:ty) => {
        golden_type!($t, |v, live| {
            within(v.as_causal(), "decoded")?;
            invariants(v, "decoded")?;
            let j = join_check(v, live)?;
            within(j.as_causal(), "joined")?;
            invariants(&j, "joined")
        });
    };
}

/// A causal type without `CheckInvariants` (sets, maps of sets): the context check only.
macro_rules! golden_causal {
    ($t:ty) => {
        golden_type!($t, |v, live| {
            within(v.as_causal(), "decoded")?;
            let j = join_check(v, live)?;
            within(j.as_causal(), "joined")
        });
    };
}

/// A struct with `#[derive(Lattice)]` (the README's shopping list): its encoding is its fields'
/// back to back, and its decoder checks each field under the limits.
#[derive(Clone, Debug, PartialEq, convergent::Lattice)]
pub struct ShoppingList {
    pub title: LwwRegister<String>,
    pub tags: OrSet<String>,
    pub items: OrMap<String, PnCounter>,
}

golden_type!(ShoppingList, |v, live| {
    invariants(v, "decoded")?;
    let j = join_check(v, live)?;
    invariants(&j, "joined")
});

pub type Map3 = OrMap<String, OrMap<u64, OrMap<String, MvRegister<u64>>>>;

golden_plain!(GCounter);
golden_plain!(PnCounter);
golden_plain!(LwwRegister<String>);
golden_plain!(LwwRegister<u64>);
golden_plain!(VersionVector);
golden_checked!(MvRegister<String>);
golden_checked!(EwFlag);
golden_checked!(CausalCounter);
golden_causal!(OrSet<String>);
golden_causal!(OrSet<u64>);
golden_checked!(OrMap<String, CausalCounter>);
golden_checked!(OrMap<String, GCounter>);
golden_checked!(OrMap<String, PnCounter>);
golden_causal!(OrMap<String, OrSet<String>>);
golden_checked!(OrMap<String, MvRegister<String>>);
golden_checked!(OrMap<String, LwwRegister<String>>);
golden_checked!(Map3);
golden_type!(CausalContext, |v, live| {
    invariants(v, "decoded")?;
    let j = join_check(v, live)?;
    invariants(&j, "joined")
});
// A dot is no lattice: decoding it is all there is (re-encoding is checked by the caller).
golden_type!(
    Dot,
    |v, _live| if v.counter() >= 1 { Ok(()) } else { Err("dot with counter 0".into()) },
    |_v, _live| true
);

/// Messages decode through `Message::from_bytes` (which also checks the protocol byte and the
/// sequence number against the limits); the payload must pass its own type's checks.
macro_rules! golden_message {
    ($t:ty) => {
        impl Golden for Message<$t> {
            fn encode(&self) -> Vec<u8> {
                let b = self.to_bytes();
                assert_eq!(b, wire::to_bytes(self), "Message::to_bytes is wire::to_bytes");
                b
            }
            fn decode(bytes: &[u8]) -> Result<Self, String> {
                Message::<$t>::from_bytes(bytes, &Limits::default()).map_err(|e| e.to_string())
            }
            fn validate(&self, live: &Self) -> Result<(), String> {
                if let Some(seq) = self.seq() {
                    if seq > Limits::default().max_counter {
                        return Err(format!("sequence number {seq} above the limit was accepted"));
                    }
                }
                match (self.payload(), live.payload()) {
                    (Some(p), Some(l)) => p.validate(l),
                    (Some(p), None) => p.validate(&<$t as Lattice>::bottom()),
                    (None, _) => Ok(()),
                }
            }
            fn commutes(&self, live: &Self) -> bool {
                match (self.payload(), live.payload()) {
                    (Some(p), Some(l)) => p.commutes(l),
                    _ => true,
                }
            }
        }
    };
}

golden_message!(GCounter);
golden_message!(OrSet<String>);
golden_message!(OrMap<String, MvRegister<String>>);
golden_message!(EwFlag);

// ---------------------------------------------------------------------------------------------
// Type-erased vectors
// ---------------------------------------------------------------------------------------------

/// What became of one mutated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Refused with an error (its `Display`).
    Rejected(String),
    /// Accepted, re-encoded to the same bytes and passed every check.
    AcceptedValid,
}

pub trait Vector {
    fn name(&self) -> &'static str;
    /// The compact encoding of the freshly built value.
    fn bytes(&self) -> Vec<u8>;
    /// Its pretty JSON.
    fn json(&self) -> String;
    /// Decodes stored bytes and JSON and compares them with the freshly built value.
    fn check_stored(&self, bytes: &[u8], json: &str) -> Result<(), String>;
    /// Decodes `bytes` (a mutation of the stored vector); `Err` when the input was accepted but
    /// the decoded value is invalid.
    fn try_input(&self, bytes: &[u8]) -> Result<Outcome, String>;
    /// For an input that decodes: whether its join with the golden value commutes.
    fn commutes_with_golden(&self, bytes: &[u8]) -> Option<bool>;
}

struct Entry<T> {
    name: &'static str,
    value: T,
}

impl<T: Golden> Vector for Entry<T> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn bytes(&self) -> Vec<u8> {
        self.value.encode()
    }

    fn json(&self) -> String {
        serde_json::to_string_pretty(&self.value).expect("JSON of a crate value")
    }

    fn check_stored(&self, bytes: &[u8], json: &str) -> Result<(), String> {
        let from_bin = T::decode(bytes).map_err(|e| format!("stored bytes do not decode: {e}"))?;
        if from_bin != self.value {
            return Err(format!(
                "stored bytes decode to a different value\n stored {from_bin:?}\n built  {:?}",
                self.value
            ));
        }
        let from_json: T =
            serde_json::from_str(json).map_err(|e| format!("stored JSON does not decode: {e}"))?;
        if from_json != self.value {
            return Err(format!(
                "stored JSON decodes to a different value\n stored {from_json:?}\n built  {:?}",
                self.value
            ));
        }
        // The stored value is valid, by the same checks as the sweep's.
        self.value.validate(&self.value).map_err(|e| format!("the golden value itself fails a check: {e}"))
    }

    fn try_input(&self, bytes: &[u8]) -> Result<Outcome, String> {
        let v = match T::decode(bytes) {
            Err(e) if e.is_empty() => return Err("rejected with an empty error message".into()),
            Err(e) => return Ok(Outcome::Rejected(e)),
            Ok(v) => v,
        };
        let again = v.encode();
        if again != bytes {
            return Err(format!(
                "accepted non-canonical input: re-encodes to {} bytes, input {} bytes ({v:?})",
                again.len(),
                bytes.len()
            ));
        }
        // JSON round trip of the accepted value.
        let j = serde_json::to_string(&v).map_err(|e| format!("accepted value has no JSON: {e}"))?;
        let back: T =
            serde_json::from_str(&j).map_err(|e| format!("accepted value's JSON is refused: {e}"))?;
        if back != v {
            return Err(format!("accepted value's JSON decodes to another value: {v:?} vs {back:?}"));
        }
        v.validate(&self.value)?;
        Ok(Outcome::AcceptedValid)
    }

    fn commutes_with_golden(&self, bytes: &[u8]) -> Option<bool> {
        T::decode(bytes).ok().map(|v| v.commutes(&self.value))
    }
}

fn entry<T: Golden>(name: &'static str, value: T) -> Box<dyn Vector> {
    Box::new(Entry { name, value })
}

/// Every golden vector, in a fixed order.
pub fn all() -> Vec<Box<dyn Vector>> {
    vec![
        entry("gcounter", gcounter()),
        entry("pncounter", pncounter()),
        entry("lww_string", lww_string()),
        entry("lww_u64", lww_u64()),
        entry("mvregister_string", mvregister()),
        entry("ewflag", ewflag()),
        entry("causal_counter", causal_counter()),
        entry("orset_string", orset_string()),
        entry("orset_string_delta_group", orset_string_delta_group()),
        entry("orset_u64", orset_u64()),
        entry("ormap_string_causal_counter", ormap_ccounter()),
        entry("ormap_string_gcounter", ormap_gcounter()),
        entry("ormap_string_pncounter", ormap_pncounter()),
        entry("ormap_string_orset_string", ormap_orset()),
        entry("ormap_string_mvregister_string", ormap_mvreg()),
        entry("ormap_string_lww_string", ormap_lww()),
        entry("ormap_remove_delta", ormap_remove_delta()),
        entry("ormap_3_levels", ormap3()),
        entry("causal_context_gaps", causal_context_gaps()),
        entry("version_vector", version_vector()),
        entry("dot", dot()),
        entry("derived_shopping_list", shopping_list()),
        entry("message_state_gcounter", Message::State { state: gcounter() }),
        entry("message_delta_orset_string", Message::Delta { seq: 7, delta: orset_string_delta_group() }),
        entry("message_snapshot_ormap_mvregister", Message::Snapshot { seq: 300, state: ormap_mvreg() }),
        entry("message_ack", Message::<EwFlag>::Ack { seq: 1_000_000 }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The histories
// ---------------------------------------------------------------------------------------------

/// The shopping list of three replicas: A titles it and adds milk and eggs, B tags it and buys
/// bread, C removes the milk having seen A's edits while A, concurrently, buys more milk; a later
/// title by B wins.
pub fn shopping_list() -> ShoppingList {
    let (mut a, mut b, mut c) = (ShoppingList::bottom(), ShoppingList::bottom(), ShoppingList::bottom());
    let _ = a.transact(|tx| {
        tx.update_title(|t| t.write(A, ts(0, 0), s("groceries")))
            .update_items(|m| m.update(A, s("milk"), |q| q.increment(2)).0)
            .update_items(|m| m.update(A, s("eggs"), |q| q.increment(6)).0);
    });
    let _ = b.update_tags(|t| t.insert(B, s("weekly")));
    let _ = b.update_items(|m| m.update(B, s("bread"), |q| q.increment(1)).0);
    c.join_ref(&a);
    let _ = c.update_items(|m| m.remove(C, "milk"));
    let _ = a.update_items(|m| m.update(A, s("milk"), |q| q.increment(1)).0);
    let _ = b.update_title(|t| t.write(B, ts(5_000, 0), s("party")));
    a.join_ref(&b);
    a.join_ref(&c);
    a
}

/// A: +3, B: +5, C: +1 (all concurrent); A and B merge; A: +2; C merges everything.
pub fn gcounter() -> GCounter {
    let (mut a, mut b, mut c) = (GCounter::new(), GCounter::new(), GCounter::new());
    let _ = a.increment(A, 3);
    let _ = b.increment(B, 5);
    let _ = c.increment(C, 1);
    a.join_ref(&b);
    let d = a.increment(A, 2);
    b.join(d);
    c.join_ref(&a);
    c.join_ref(&b);
    // A counter beyond one varint byte.
    let _ = c.increment(C, 200_000);
    c
}

/// Increments and decrements by all three; B only decrements; C does both.
pub fn pncounter() -> PnCounter {
    let (mut a, mut b, mut c) = (PnCounter::new(), PnCounter::new(), PnCounter::new());
    let _ = a.increment(A, 10);
    let _ = b.decrement(B, 4);
    let _ = c.increment(C, 2);
    let d = c.decrement(C, 7);
    a.join(d);
    a.join_ref(&b);
    let _ = a.increment(A, 300);
    c.join_ref(&a);
    c
}

/// Concurrent writes in the same millisecond: B wins over A by replica id; C's older write loses.
pub fn lww_string() -> LwwRegister<String> {
    let (mut a, mut b, mut c) = (LwwRegister::new(), LwwRegister::new(), LwwRegister::new());
    let da = a.write(A, ts(5, 0), s("left"));
    let db = b.write(B, ts(5, 0), s("right"));
    let dc = c.write(C, ts(4, 9), s("older"));
    a.join(db);
    a.join(dc);
    b.join(da);
    assert_eq!(a.value(), Some(&s("right")));
    a
}

/// A later logical tick wins: C at (t0+7, logical 2) beats A at (t0+7, logical 1).
pub fn lww_u64() -> LwwRegister<u64> {
    let (mut a, mut c) = (LwwRegister::new(), LwwRegister::new());
    let _ = a.write(A, ts(7, 1), u64::MAX);
    let dc = c.write(C, ts(7, 2), 1 << 40);
    a.join(dc);
    assert_eq!(a.value(), Some(&(1 << 40)));
    a
}

/// A writes, B sees it; then A, B and C write concurrently: three concurrent values. C receives
/// only the second-generation deltas, so its context holds A:2 and, through B's overwrite, A:1.
pub fn mvregister() -> MvRegister<String> {
    let (mut a, mut b, mut c) = (MvRegister::new(), MvRegister::new(), MvRegister::new());
    let d1 = a.write(A, s("a1"));
    b.join_ref(&d1);
    let da = a.write(A, s("a2")); // overwrites a1
    let db = b.write(B, s("b1")); // overwrites a1, concurrently
    let _ = c.write(C, s("c1"));
    c.join(da);
    c.join(db);
    assert_eq!(c.len(), 3);
    c
}

/// A enables, B enables concurrently; A disables what it saw (its own enable); C received A's
/// disable and B's enable but not A's enable: the flag stays enabled by B, C's context has A:1
/// only through the disable.
pub fn ewflag() -> EwFlag {
    let (mut a, mut b, mut c) = (EwFlag::new(), EwFlag::new(), EwFlag::new());
    let _ = a.enable(A);
    let _ = a.enable(A); // re-enable: replaces A:1 by A:2
    let db = b.enable(B);
    let off = a.disable(A);
    c.join(off);
    c.join(db);
    assert!(c.is_enabled());
    c
}

/// Increments and decrements by three replicas; a reset by B that saw only A's count.
pub fn causal_counter() -> CausalCounter {
    let (mut a, mut b, mut c) = (CausalCounter::new(), CausalCounter::new(), CausalCounter::new());
    let d1 = a.increment(A, 5);
    let _ = a.decrement(A, 2);
    b.join_ref(&d1);
    let reset = b.reset(B); // removes A:1 (A's count of 5), not A's later dot
    let db = b.increment(B, 3);
    let dc = c.increment(C, 1_000);
    a.join(reset);
    a.join(db);
    a.join(dc);
    a
}

/// A inserts apple, banana, cherry; B sees them, removes banana and inserts date; C inserts banana
/// again concurrently (add wins); A removes apple. A ends with everything.
pub fn orset_string() -> OrSet<String> {
    let (mut a, mut b, mut c) = (OrSet::new(), OrSet::new(), OrSet::new());
    let d = a.insert_all(A, [s("apple"), s("banana"), s("cherry")]);
    b.join_ref(&d);
    let rm = b.remove(B, "banana");
    let add = b.insert(B, s("date"));
    let again = c.insert(C, s("banana"));
    let rm_apple = a.remove(A, "apple");
    a.join(rm);
    a.join(add);
    a.join(again);
    c.join(rm_apple); // C learns only of the remove: a context without the insert's store
    a.join(c);
    assert_eq!(a.len(), 3);
    a
}

/// A delta-group as the sync engine sends it: B's remove of cherry (A:3) and insert of date, and
/// A's remove of apple (A:1), without the inserts they replace: its context has gaps (A:2, A:4).
pub fn orset_string_delta_group() -> OrSet<String> {
    let (mut a, mut b) = (OrSet::new(), OrSet::new());
    let d = a.insert_all(A, [s("apple"), s("banana"), s("cherry")]);
    b.join_ref(&d);
    let _ = a.insert(A, s("elder"));
    let _ = a.insert(A, s("fig"));
    let mut group = b.remove(B, "cherry");
    group.join(b.insert(B, s("date")));
    group.join(a.remove(A, "apple"));
    group
}

/// Numbers across varint sizes, from three replicas, with removes.
pub fn orset_u64() -> OrSet<u64> {
    let (mut a, mut b, mut c) = (OrSet::new(), OrSet::new(), OrSet::new());
    let d = a.insert_all(A, [0, 1, 127, 128, 16_384]);
    b.join_ref(&d);
    let _ = b.remove(B, &127u64);
    let _ = b.insert(B, 1 << 40);
    let _ = c.insert(C, u64::MAX);
    let _ = c.insert(C, 1);
    let _ = a.remove(A, &0u64);
    a.join_ref(&b);
    a.join_ref(&c);
    let late = c.insert(C, 42);
    a.join(late);
    a
}

/// Counters under keys: concurrent increments, a remove of a key concurrent with an increment by
/// a replica the remover had not seen (it survives as just that increment).
pub fn ormap_ccounter() -> OrMap<String, CausalCounter> {
    let (mut a, mut b, mut c) = (
        OrMap::<String, CausalCounter>::new(),
        OrMap::<String, CausalCounter>::new(),
        OrMap::<String, CausalCounter>::new(),
    );
    let (d, _) = a.mutate(A, |h| {
        h.update(s("likes"), |n| n.increment(10));
        h.update(s("views"), |n| n.increment(1_000));
    });
    b.join_ref(&d);
    let rm = b.remove(B, "likes");
    let (dc, _) = c.update(C, s("likes"), |n| n.increment(2));
    let (db, _) = b.update(B, s("views"), |n| n.decrement(3));
    a.join(rm);
    a.join(dc);
    a.join(db);
    a
}

/// Grow-only counters under keys, with a removed key.
pub fn ormap_gcounter() -> OrMap<String, GCounter> {
    let (mut a, mut b) = (OrMap::<String, GCounter>::new(), OrMap::<String, GCounter>::new());
    let (d, _) = a.update(A, s("x"), |n| n.increment(4));
    b.join_ref(&d);
    let _ = b.update(B, s("x"), |n| n.increment(6));
    let _ = b.update(B, s("y"), |n| n.increment(1));
    let _ = a.update(A, s("z"), |n| n.increment(9));
    let _ = a.remove(A, "z");
    a.join_ref(&b);
    a
}

/// PN counters under keys.
pub fn ormap_pncounter() -> OrMap<String, PnCounter> {
    let (mut a, mut c) = (OrMap::<String, PnCounter>::new(), OrMap::<String, PnCounter>::new());
    let (d, _) = a.update(A, s("balance"), |n| {
        n.increment(100);
        n.decrement(30);
    });
    c.join_ref(&d);
    let _ = c.update(C, s("balance"), |n| n.decrement(5));
    let _ = c.update(C, s("debt"), |n| n.decrement(7));
    a.join_ref(&c);
    a
}

/// Sets under keys: a key removed by A while B adds to it (only B's element survives).
pub fn ormap_orset() -> OrMap<String, OrSet<String>> {
    let (mut a, mut b, mut c) = (
        OrMap::<String, OrSet<String>>::new(),
        OrMap::<String, OrSet<String>>::new(),
        OrMap::<String, OrSet<String>>::new(),
    );
    let (d, _) = a.mutate(A, |h| {
        h.update(s("fruit"), |set| set.insert_all([s("apple"), s("pear")]));
        h.update(s("veg"), |set| {
            set.insert(s("leek"));
        });
    });
    b.join_ref(&d);
    c.join_ref(&d);
    let rm = a.remove(A, "fruit");
    let _ = b.update(B, s("fruit"), |set| {
        set.insert(s("plum"));
    });
    let (dc, _) = c.update(C, s("veg"), |set| {
        set.remove("leek");
        set.insert(s("kale"));
    });
    b.join(rm);
    b.join(dc);
    assert_eq!(b.get("fruit").map(|f| f.len()), Some(1));
    b
}

/// Registers under keys: concurrent writes to one key, and a key removed then re-added.
pub fn ormap_mvreg() -> OrMap<String, MvRegister<String>> {
    let (mut a, mut b, mut c) = (
        OrMap::<String, MvRegister<String>>::new(),
        OrMap::<String, MvRegister<String>>::new(),
        OrMap::<String, MvRegister<String>>::new(),
    );
    let (d, _) = a.update(A, s("color"), |r| r.write(s("red")));
    b.join_ref(&d);
    let da = a.update(A, s("color"), |r| r.write(s("green")));
    let (db, _) = b.update(B, s("color"), |r| r.write(s("blue")));
    let dc = c.update(C, s("size"), |r| r.write(s("XL")));
    let rm = c.remove(C, "size");
    let (dc2, _) = c.update(C, s("size"), |r| r.write(s("M")));
    a.join(db);
    a.join(rm);
    a.join(dc2); // C's first write never reached A: a gap C:1
    let _ = (da, dc);
    assert_eq!(a.get("color").map(|r| r.len()), Some(2));
    a
}

/// LWW values under keys, with timestamps of the same millisecond.
pub fn ormap_lww() -> OrMap<String, LwwRegister<String>> {
    let (mut a, mut b) =
        (OrMap::<String, LwwRegister<String>>::new(), OrMap::<String, LwwRegister<String>>::new());
    let (d, _) = a.update(A, s("title"), |v| {
        v.write_at(ts(1, 0), s("Draft"));
    });
    b.join_ref(&d);
    let (da, _) = a.update(A, s("title"), |v| {
        v.write_at(ts(9, 0), s("Final"));
    });
    let (db, _) = b.update(B, s("title"), |v| {
        v.write_at(ts(9, 0), s("Final!"));
    });
    let _ = b.update(B, s("owner"), |v| {
        v.write_at(ts(2, 3), s("bob"));
    });
    a.join(db);
    b.join(da);
    a.join_ref(&b);
    a
}

/// A remove delta of a map: no store, a context of exactly the removed dots (with gaps).
pub fn ormap_remove_delta() -> OrMap<String, MvRegister<String>> {
    let mut m = ormap_mvreg();
    let _ = m.update(B, s("extra"), |r| r.write(s("x")));
    m.remove(A, "color")
}

/// Three levels: user -> device number -> setting -> register.
pub fn ormap3() -> Map3 {
    let (mut a, mut b, mut c) = (Map3::new(), Map3::new(), Map3::new());
    let (d, _) = a.update(A, s("alice"), |dev| {
        dev.update(1, |st| {
            st.update(s("volume"), |r| r.write(7));
            st.update(s("theme"), |r| r.write(2));
        });
        dev.update(2, |st| st.update(s("volume"), |r| r.write(3)));
    });
    b.join_ref(&d);
    c.join_ref(&d);
    let (db, _) = b.update(B, s("alice"), |dev| dev.update(1, |st| st.update(s("volume"), |r| r.write(8))));
    let (dc, _) = c.update(C, s("alice"), |dev| dev.update(1, |st| st.update(s("volume"), |r| r.write(9))));
    let (rm, _) = c.update(C, s("alice"), |dev| {
        dev.remove(&2u64);
    });
    let (dbob, _) =
        b.update(B, s("bob"), |dev| dev.update(1_000_000, |st| st.update(s("lang"), |r| r.write(44))));
    a.join(db);
    a.join(dc);
    a.join(rm);
    a.join(dbob);
    a
}

/// A context with gaps for three replicas: A holds 1..=3, 5, 9..=10; B holds 2 only; C holds
/// 1..=200 except 100.
pub fn causal_context_gaps() -> CausalContext {
    let mut full = CausalContext::new();
    for _ in 0..10 {
        let _ = full.next_dot(A);
    }
    let _ = full.next_dot(B);
    let _ = full.next_dot(B);
    for _ in 0..200 {
        let _ = full.next_dot(C);
    }
    full.dots()
        .filter(|d| {
            let n = d.counter();
            match d.replica() {
                r if r == A => matches!(n, 1..=3 | 5 | 9..=10),
                r if r == B => n == 2,
                _ => n != 100,
            }
        })
        .collect()
}

/// The version vector of the joined state of three replicas.
pub fn version_vector() -> VersionVector {
    let mut v: VersionVector = [(A, 3), (C, 129)].into_iter().collect();
    let _ = v.raise(B, 1);
    let _ = v.raise(A, 16_385);
    v
}

/// B's 300th event.
pub fn dot() -> Dot {
    let mut ctx = CausalContext::new();
    let mut d = ctx.next_dot(B);
    for _ in 1..300 {
        d = ctx.next_dot(B);
    }
    d
}
