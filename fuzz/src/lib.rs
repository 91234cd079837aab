//! Shared harness of the fuzz targets: operation enums over tiny domains (so that conflicts are
//! constant), multi-replica histories, invariant checks and the lattice laws.
//!
//! Every target reads its first input byte as a type selector ([`dispatch!`]) and the rest as the
//! target's own structured input (through `arbitrary`).

use std::fmt::Debug;
use std::mem;

use arbitrary::{Arbitrary, Unstructured};
use convergent::{
    CausalCounter, Decompose, EwFlag, GCounter, Lattice, LwwRegister, MvRegister, OrMap, OrSet, PnCounter,
    ReplicaId, Timestamp,
    causal::{Causal, CheckInvariants, DotSet, DotStore, Handle, Nested},
    counter::{GCounterStore, MAX_COUNT, PnCounterStore},
    map::MapStore,
    register::{LwwStore, MvStore},
    set::SetStore,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod targets;

// ---------------------------------------------------------------------------------------------
// Replicas and small domains
// ---------------------------------------------------------------------------------------------

/// The most replicas of a history.
pub const MAX_REPLICAS: usize = 4;

/// The most steps of a history that are played (the rest of a long input is ignored).
pub const MAX_STEPS: usize = 40;

/// The replica ids of a history; not in index order, so nothing may depend on that.
pub fn replica_id(i: usize) -> ReplicaId {
    const RANK: [u128; MAX_REPLICAS] = [3, 1, 4, 2];
    ReplicaId::from_u128(RANK[i % MAX_REPLICAS] << 8 | i as u128)
}

/// An increment amount: mostly 0..=3, now and then huge, so saturation at `MAX_COUNT` happens.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Amount(pub u8);

impl Amount {
    pub fn get(self) -> u64 {
        match self.0 {
            0..=239 => u64::from(self.0 % 4),
            240..=249 => u64::MAX / 3,
            250..=252 => MAX_COUNT - 1,
            _ => u64::MAX,
        }
    }
}

/// At most `n` items of an arbitrary vector (keeps batches small).
fn few<T>(v: &[T], n: usize) -> &[T] {
    &v[..v.len().min(n)]
}

// ---------------------------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------------------------

/// A type under test: its operations and invariants.
pub trait Subject:
    Lattice
    + Decompose
    + Clone
    + PartialEq
    + Debug
    + Serialize
    + DeserializeOwned
    + convergent::wire::Decode
    + 'static
{
    /// A local operation: one call of a delta mutator (or a batch of them in one handle).
    type Op: for<'a> Arbitrary<'a> + Debug + Clone;

    /// Applies `op` at `replica`, mutating `self`; returns the delta.
    fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self;

    /// The type's invariants.
    fn check(&self) -> Result<(), String>;
}

/// Panics with a readable message if `x` breaks its invariants.
pub fn check<T: Subject>(what: &str, x: &T) {
    if let Err(e) = x.check() {
        panic!("{what}: invariant broken: {e}\n{x:?}");
    }
}

fn check_gcounter(c: &GCounter) -> Result<(), String> {
    let v: Vec<(ReplicaId, u64)> = c.iter().collect();
    if v.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err("G-Counter entries not strictly sorted".into());
    }
    if v.iter().any(|&(_, n)| n == 0 || n > MAX_COUNT) {
        return Err("G-Counter entry zero or above MAX_COUNT".into());
    }
    if v.len() != c.len() || c.is_empty() != v.is_empty() {
        return Err("G-Counter len() wrong".into());
    }
    let sum: u128 = v.iter().map(|&(_, n)| u128::from(n)).sum();
    if c.value_u128() != sum || u128::from(c.value()) != sum.min(u128::from(u64::MAX)) {
        return Err("G-Counter value wrong".into());
    }
    if v.iter().any(|&(r, n)| c.get(r) != n) {
        return Err("G-Counter get() disagrees with iter()".into());
    }
    Ok(())
}

impl Subject for GCounter {
    type Op = Amount;

    fn apply(&mut self, replica: ReplicaId, op: &Amount) -> Self {
        self.increment(replica, op.get())
    }

    fn check(&self) -> Result<(), String> {
        check_gcounter(self)
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum PnOp {
    Inc(Amount),
    Dec(Amount),
}

impl Subject for PnCounter {
    type Op = PnOp;

    fn apply(&mut self, replica: ReplicaId, op: &PnOp) -> Self {
        match op {
            PnOp::Inc(n) => self.increment(replica, n.get()),
            PnOp::Dec(n) => self.decrement(replica, n.get()),
        }
    }

    fn check(&self) -> Result<(), String> {
        check_gcounter(self.increments())?;
        check_gcounter(self.decrements())?;
        let v = self.value_i128();
        let want = self.increments().value_u128() as i128 - self.decrements().value_u128() as i128;
        if v != want {
            return Err("PN-Counter value_i128() is not increments - decrements".into());
        }
        if i128::from(self.value()) != v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) {
            return Err("PN-Counter value() is not the saturated value_i128()".into());
        }
        Ok(())
    }
}

/// An LWW write: timestamps 0..=3 ms with a logical part 0..=1 (equal timestamps are frequent),
/// values 0..=2.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct LwwOp {
    pub ms: u8,
    pub logical: u8,
    pub value: u8,
}

impl LwwOp {
    pub fn timestamp(self) -> Timestamp {
        Timestamp::from_parts(u64::from(self.ms % 4), u16::from(self.logical % 2))
    }

    pub fn value(self) -> u8 {
        self.value % 3
    }
}

impl Subject for LwwRegister<u8> {
    type Op = LwwOp;

    fn apply(&mut self, replica: ReplicaId, op: &LwwOp) -> Self {
        self.write(replica, op.timestamp(), op.value())
    }

    fn check(&self) -> Result<(), String> {
        let parts = [self.timestamp().is_some(), self.writer().is_some(), self.value().is_some()];
        if parts.iter().any(|&p| p != parts[0]) {
            return Err("LWW register: timestamp, writer and value not all set or all unset".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Causal types: an operation on a dot store through a handle, usable at the top and in maps
// ---------------------------------------------------------------------------------------------

/// A CRDT usable as a map value: its operations on its causal store.
pub trait Value: Nested + 'static {
    type NOp: for<'a> Arbitrary<'a> + Debug + Clone;

    fn apply_nop(h: &mut Handle<'_, Self::Store>, op: &Self::NOp);

    /// The store's invariants beyond the causal ones.
    fn check_store(s: &Self::Store) -> Result<(), String>;
}

/// The operation of a top-level causal type: one call of its own public method, or several
/// mutations through one handle (one delta).
#[derive(Arbitrary, Debug, Clone)]
pub enum Top<O> {
    One(O),
    Batch(Vec<O>),
}

/// The public top-level methods of a causal type.
pub trait TopApply: Value + Sized {
    fn apply_one(&mut self, replica: ReplicaId, op: &Self::NOp) -> Self;
}

/// Every store's causal invariants: each dot at most once, counts consistent.
pub fn check_dots<S: DotStore>(s: &S) -> Result<(), String> {
    let mut dots = Vec::new();
    s.for_each_dot(&mut |d| dots.push(d));
    let n = dots.len();
    if dots.iter().any(|d| !s.contains_dot(d)) {
        return Err("for_each_dot yields a dot contains_dot denies".into());
    }
    dots.sort();
    dots.dedup();
    if dots.len() != n {
        return Err("a dot occurs twice in the store".into());
    }
    if n != s.dot_count() || s.is_empty() != (n == 0) {
        return Err(format!("dot_count {} / is_empty disagree with {n} dots", s.dot_count()));
    }
    Ok(())
}

/// The causal invariants of a pair: canonical context, live dots inside it, dots unique.
pub fn check_causal<S: DotStore>(c: &Causal<S>) -> Result<(), String> {
    c.context().check_invariants().map_err(|e| e.to_string())?;
    if !c.store_within_context() {
        return Err("a live dot of the store is outside the context".into());
    }
    let mut n = 0u64;
    for (_, rs) in c.context().ranges() {
        for &(lo, hi) in rs {
            n += hi - lo + 1;
        }
    }
    if n != c.context().dot_count() {
        return Err("context dot_count disagrees with its ranges".into());
    }
    check_dots(c.store())
}

/// `impl Subject` for a causal type; with `, checked` the crate's `CheckInvariants` runs too.
macro_rules! causal_subject {
    ($t:ty $(, $checked:ident)?) => {
        impl Subject for $t {
            type Op = Top<<$t as Value>::NOp>;

            fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self {
                match op {
                    Top::One(o) => <$t as TopApply>::apply_one(self, replica, o),
                    Top::Batch(os) => {
                        let mut c = mem::take(self).into_causal();
                        let (d, ()) = c.mutate(replica, |h| {
                            for o in few(os, 3) {
                                <$t as Value>::apply_nop(h, o);
                            }
                        });
                        *self = <$t>::from(c);
                        <$t>::from(d)
                    }
                }
            }

            fn check(&self) -> Result<(), String> {
                check_causal(self.as_causal())?;
                $(
                    let _ = stringify!($checked);
                    CheckInvariants::check_invariants(self).map_err(|e| format!("CheckInvariants: {e}"))?;
                )?
                <$t as Value>::check_store(self.as_causal().store())
            }
        }
    };
}

#[derive(Arbitrary, Debug, Clone)]
pub enum FlagOp {
    Enable,
    Disable,
}

impl Value for EwFlag {
    type NOp = FlagOp;

    fn apply_nop(h: &mut Handle<'_, DotSet>, op: &FlagOp) {
        match op {
            FlagOp::Enable => h.enable(),
            FlagOp::Disable => h.disable(),
        }
    }

    fn check_store(_: &DotSet) -> Result<(), String> {
        Ok(())
    }
}

impl TopApply for EwFlag {
    fn apply_one(&mut self, replica: ReplicaId, op: &FlagOp) -> Self {
        let d = match op {
            FlagOp::Enable => self.enable(replica),
            FlagOp::Disable => self.disable(replica),
        };
        assert_eq!(self.is_enabled(), !self.as_causal().store().is_empty());
        d
    }
}

causal_subject!(EwFlag, checked);

/// Set elements 0..=3.
#[derive(Arbitrary, Debug, Clone)]
pub enum SetOp {
    Insert(u8),
    Remove(u8),
    InsertAll(Vec<u8>),
    RemoveAll(Vec<u8>),
    Clear,
}

fn elems(xs: &[u8]) -> impl Iterator<Item = u8> + '_ {
    few(xs, 3).iter().map(|x| x % 4)
}

impl Value for OrSet<u8> {
    type NOp = SetOp;

    fn apply_nop(h: &mut Handle<'_, SetStore<u8>>, op: &SetOp) {
        match op {
            SetOp::Insert(x) => {
                h.insert(x % 4);
            }
            SetOp::Remove(x) => {
                h.remove(&(x % 4));
            }
            SetOp::InsertAll(xs) => h.insert_all(elems(xs)),
            SetOp::RemoveAll(xs) => {
                let v: Vec<u8> = elems(xs).collect();
                h.remove_all(v.iter());
            }
            SetOp::Clear => h.clear(),
        }
    }

    fn check_store(s: &SetStore<u8>) -> Result<(), String> {
        let n = s.iter().count();
        if n != s.len() || s.is_empty() != (n == 0) {
            return Err(format!("set len() {} but iter() yields {n}", s.len()));
        }
        if s.iter().any(|x| !s.contains(x)) {
            return Err("set iter() yields an element contains() denies".into());
        }
        if n > s.dot_count() {
            return Err("set has an element without a dot".into());
        }
        Ok(())
    }
}

impl TopApply for OrSet<u8> {
    fn apply_one(&mut self, replica: ReplicaId, op: &SetOp) -> Self {
        match op {
            SetOp::Insert(x) => {
                let d = self.insert(replica, x % 4);
                assert!(self.contains(&(x % 4)), "inserted element missing");
                d
            }
            SetOp::Remove(x) => {
                let d = self.remove(replica, &(x % 4));
                assert!(!self.contains(&(x % 4)), "removed element still present");
                d
            }
            SetOp::InsertAll(xs) => self.insert_all(replica, elems(xs)),
            SetOp::RemoveAll(xs) => {
                let v: Vec<u8> = elems(xs).collect();
                self.remove_all(replica, v.iter())
            }
            SetOp::Clear => {
                let d = self.clear(replica);
                assert!(self.is_empty(), "cleared set not empty");
                d
            }
        }
    }
}

causal_subject!(OrSet<u8>);

/// Register values 0..=2.
#[derive(Arbitrary, Debug, Clone)]
pub enum MvOp {
    Write(u8),
    Clear,
}

impl Value for MvRegister<u8> {
    type NOp = MvOp;

    fn apply_nop(h: &mut Handle<'_, MvStore<u8>>, op: &MvOp) {
        match op {
            MvOp::Write(v) => h.write(v % 3),
            MvOp::Clear => h.clear(),
        }
    }

    fn check_store(s: &MvStore<u8>) -> Result<(), String> {
        if s.len() != s.values().count() || s.len() != s.dot_count() || s.is_empty() != (s.len() == 0) {
            return Err("register len() disagrees with its values or dots".into());
        }
        Ok(())
    }
}

impl TopApply for MvRegister<u8> {
    fn apply_one(&mut self, replica: ReplicaId, op: &MvOp) -> Self {
        match op {
            MvOp::Write(v) => {
                let d = self.write(replica, v % 3);
                assert_eq!(self.values().copied().collect::<Vec<_>>(), [v % 3], "write not alone");
                d
            }
            MvOp::Clear => {
                let d = self.clear(replica);
                assert!(self.is_empty(), "cleared register not empty");
                d
            }
        }
    }
}

causal_subject!(MvRegister<u8>, checked);

#[derive(Arbitrary, Debug, Clone)]
pub enum CounterOp {
    Inc(Amount),
    Dec(Amount),
    Reset,
}

fn apply_counter(h: &mut Handle<'_, PnCounterStore>, op: &CounterOp) {
    match op {
        CounterOp::Inc(n) => h.increment(n.get()),
        CounterOp::Dec(n) => h.decrement(n.get()),
        CounterOp::Reset => h.reset(),
    }
}

impl Value for CausalCounter {
    type NOp = CounterOp;

    fn apply_nop(h: &mut Handle<'_, PnCounterStore>, op: &CounterOp) {
        apply_counter(h, op);
    }

    fn check_store(_: &PnCounterStore) -> Result<(), String> {
        Ok(())
    }
}

impl TopApply for CausalCounter {
    fn apply_one(&mut self, replica: ReplicaId, op: &CounterOp) -> Self {
        match op {
            CounterOp::Inc(n) => self.increment(replica, n.get()),
            CounterOp::Dec(n) => self.decrement(replica, n.get()),
            CounterOp::Reset => {
                let d = self.reset(replica);
                assert_eq!(self.value(), 0, "reset counter not 0");
                d
            }
        }
    }
}

causal_subject!(CausalCounter, checked);

/// A `PnCounter` inside a map (its causal form, with reset).
impl Value for PnCounter {
    type NOp = CounterOp;

    fn apply_nop(h: &mut Handle<'_, PnCounterStore>, op: &CounterOp) {
        apply_counter(h, op);
    }

    fn check_store(_: &PnCounterStore) -> Result<(), String> {
        Ok(())
    }
}

/// A `GCounter` inside a map.
impl Value for GCounter {
    type NOp = Amount;

    fn apply_nop(h: &mut Handle<'_, GCounterStore>, op: &Amount) {
        h.increment(op.get());
    }

    fn check_store(_: &GCounterStore) -> Result<(), String> {
        Ok(())
    }
}

/// An `LwwRegister` inside a map.
impl Value for LwwRegister<u8> {
    type NOp = LwwOp;

    fn apply_nop(h: &mut Handle<'_, LwwStore<u8>>, op: &LwwOp) {
        h.write_at(op.timestamp(), op.value());
    }

    fn check_store(_: &LwwStore<u8>) -> Result<(), String> {
        Ok(())
    }
}

/// Map keys 0..=2; an update runs at most 2 operations of the value in one handle.
#[derive(Arbitrary, Debug, Clone)]
pub enum MapOp<O> {
    Update(u8, Vec<O>),
    Remove(u8),
    Clear,
}

impl<V: Value> Value for OrMap<u8, V> {
    type NOp = MapOp<V::NOp>;

    fn apply_nop(h: &mut Handle<'_, MapStore<u8, V::Store>>, op: &Self::NOp) {
        match op {
            MapOp::Update(k, ops) => h.update(k % 3, |v| {
                for o in few(ops, 2) {
                    V::apply_nop(v, o);
                }
            }),
            MapOp::Remove(k) => {
                h.remove(&(k % 3));
            }
            MapOp::Clear => h.clear(),
        }
    }

    fn check_store(s: &MapStore<u8, V::Store>) -> Result<(), String> {
        let n = s.iter().count();
        if n != s.len() || s.keys().count() != n || s.values().count() != n || s.is_empty() != (n == 0) {
            return Err("map len(), iter(), keys(), values() disagree".into());
        }
        for (k, v) in s.iter() {
            if v.is_empty() {
                return Err(format!("key {k} holds an empty value"));
            }
            if !s.contains_key(k) || s.get(k) != Some(v) {
                return Err(format!("get/contains_key disagree with iter on key {k}"));
            }
            check_dots(v).map_err(|e| format!("key {k}: {e}"))?;
            V::check_store(v).map_err(|e| format!("key {k}: {e}"))?;
        }
        Ok(())
    }
}

impl<V: Value> TopApply for OrMap<u8, V> {
    fn apply_one(&mut self, replica: ReplicaId, op: &Self::NOp) -> Self {
        match op {
            MapOp::Update(k, ops) => self.update(replica, k % 3, |v| {
                for o in few(ops, 2) {
                    V::apply_nop(v, o);
                }
            }),
            MapOp::Remove(k) => {
                let d = self.remove(replica, &(k % 3));
                assert!(!self.contains_key(&(k % 3)), "removed key still present");
                d
            }
            MapOp::Clear => {
                let d = self.clear(replica);
                assert!(self.is_empty(), "cleared map not empty");
                d
            }
        }
    }
}

causal_subject!(OrMap<u8, PnCounter>, checked);
causal_subject!(OrMap<u8, CausalCounter>, checked);
causal_subject!(OrMap<u8, GCounter>, checked);
causal_subject!(OrMap<u8, EwFlag>, checked);
causal_subject!(OrMap<u8, OrSet<u8>>);
causal_subject!(OrMap<u8, MvRegister<u8>>, checked);
causal_subject!(OrMap<u8, LwwRegister<u8>>, checked);
causal_subject!(OrMap<u8, OrMap<u8, MvRegister<u8>>>, checked);
causal_subject!(OrMap<u8, OrMap<u8, OrSet<u8>>>);
causal_subject!(OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>, checked);

/// The number of types [`dispatch!`] selects from.
pub const TYPES: u8 = 17;

/// Calls the generic function `$f::<T>(args)` for the type selected by `$sel` (mod [`TYPES`]).
#[macro_export]
macro_rules! dispatch {
    ($sel:expr, $f:ident ( $($arg:expr),* )) => {{
        use convergent::*;
        match $sel % $crate::TYPES {
            0 => $f::<GCounter>($($arg),*),
            1 => $f::<PnCounter>($($arg),*),
            2 => $f::<LwwRegister<u8>>($($arg),*),
            3 => $f::<MvRegister<u8>>($($arg),*),
            4 => $f::<EwFlag>($($arg),*),
            5 => $f::<CausalCounter>($($arg),*),
            6 => $f::<OrSet<u8>>($($arg),*),
            7 => $f::<OrMap<u8, PnCounter>>($($arg),*),
            8 => $f::<OrMap<u8, CausalCounter>>($($arg),*),
            9 => $f::<OrMap<u8, OrSet<u8>>>($($arg),*),
            10 => $f::<OrMap<u8, MvRegister<u8>>>($($arg),*),
            11 => $f::<OrMap<u8, OrMap<u8, MvRegister<u8>>>>($($arg),*),
            12 => $f::<OrMap<u8, EwFlag>>($($arg),*),
            13 => $f::<OrMap<u8, GCounter>>($($arg),*),
            14 => $f::<OrMap<u8, LwwRegister<u8>>>($($arg),*),
            15 => $f::<OrMap<u8, OrMap<u8, OrSet<u8>>>>($($arg),*),
            _ => $f::<OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>>($($arg),*),
        }
    }};
}

// ---------------------------------------------------------------------------------------------
// Histories
// ---------------------------------------------------------------------------------------------

/// One step of a history. Indices are taken modulo the replica count.
#[derive(Arbitrary, Debug, Clone)]
pub enum Step<O> {
    /// A local operation at replica `at`.
    Op { at: u8, op: O },
    /// Replica `to` joins the full state of replica `from`.
    Merge { from: u8, to: u8 },
    /// Replica `to` receives, as one delta-group, a window of `from`'s delta log (deltas arrive
    /// out of order, duplicated, or forwarded: a received group joins the receiver's log).
    Deliver { from: u8, to: u8, start: u8, len: u8 },
}

/// A multi-replica history: 2..=4 replicas, local operations interleaved with merges.
#[derive(Arbitrary, Debug, Clone)]
pub struct History<O> {
    pub replicas: u8,
    pub steps: Vec<Step<O>>,
}

/// What playing a history produced.
#[derive(Debug)]
pub struct Run<T> {
    /// The final state of each replica.
    pub states: Vec<T>,
    /// Every delta returned by a local operation, in order.
    pub deltas: Vec<T>,
    /// Every delta-group delivered.
    pub groups: Vec<T>,
}

impl<T: Subject> Run<T> {
    /// Every value of the run: states, deltas, groups.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.states.iter().chain(&self.deltas).chain(&self.groups)
    }
}

/// `x.join_ref(y)`, checking that the returned flag says exactly whether `x` changed, and that
/// `join` by value agrees.
pub fn join_checked<T: Subject>(x: &mut T, y: &T) {
    let before = x.clone();
    let changed = x.join_ref(y);
    assert_eq!(
        changed,
        *x != before,
        "join_ref returned {changed} but the state {} change",
        if changed { "did not" } else { "did" }
    );
    let mut by_value = before;
    assert_eq!(by_value.join(y.clone()), changed, "join and join_ref disagree on the change");
    assert_eq!(&by_value, x, "join and join_ref disagree");
}

/// Plays a history, checking every delta mutator on the way: `before ⊔ delta == after`,
/// `delta <= after`, invariants of every state, delta and group, and that a delta-group applied
/// at once equals its deltas applied one by one.
pub fn run<T: Subject>(h: &History<T::Op>) -> Run<T> {
    let n = 2 + usize::from(h.replicas) % (MAX_REPLICAS - 1);
    let mut states: Vec<T> = (0..n).map(|_| T::bottom()).collect();
    let mut logs: Vec<Vec<T>> = vec![Vec::new(); n];
    let mut deltas = Vec::new();
    let mut groups = Vec::new();
    for step in h.steps.iter().take(MAX_STEPS) {
        match step {
            Step::Op { at, op } => {
                let r = usize::from(*at) % n;
                let before = states[r].clone();
                let delta = states[r].apply(replica_id(r), op);
                let after = &states[r];
                check("state after an operation", after);
                check("delta", &delta);
                assert!(before.leq(after), "an operation lost information");
                assert!(delta.leq(after), "the delta is not below the new state");
                assert_eq!(&before.clone().joined(delta.clone()), after, "before ⊔ delta != after");
                logs[r].push(delta.clone());
                deltas.push(delta);
            }
            Step::Merge { from, to } => {
                let (f, t) = (usize::from(*from) % n, usize::from(*to) % n);
                let src = states[f].clone();
                join_checked(&mut states[t], &src);
                check("merged state", &states[t]);
                assert!(src.leq(&states[t]), "merge result not above the merged state");
            }
            Step::Deliver { from, to, start, len } => {
                let (f, t) = (usize::from(*from) % n, usize::from(*to) % n);
                let log = &logs[f];
                if log.is_empty() {
                    continue;
                }
                let s = usize::from(*start) % log.len();
                let e = (s + 1 + usize::from(*len) % 4).min(log.len());
                let window: Vec<T> = log[s..e].to_vec();
                let group = Lattice::join_all(window.iter().cloned());
                check("delta-group", &group);
                let mut one_by_one = states[t].clone();
                for d in &window {
                    join_checked(&mut one_by_one, d);
                    check("state during delivery", &one_by_one);
                }
                join_checked(&mut states[t], &group);
                assert_eq!(states[t], one_by_one, "a delta-group applied differs from its deltas one by one");
                check("state after delivery", &states[t]);
                logs[t].push(group.clone());
                groups.push(group);
            }
        }
    }
    Run { states, deltas, groups }
}

/// Parses a history of `T` from the rest of the input.
pub fn history<T: Subject>(u: Unstructured<'_>) -> Option<History<T::Op>> {
    History::<T::Op>::arbitrary_take_rest(u).ok()
}

// ---------------------------------------------------------------------------------------------
// Laws
// ---------------------------------------------------------------------------------------------

/// The lattice laws on three values, and the join decomposition of each.
pub fn laws<T: Subject>(a: &T, b: &T, c: &T) {
    let j = |x: &T, y: &T| x.clone().joined(y.clone());
    let ab = j(a, b);
    check("a ⊔ b", &ab);
    assert_eq!(ab, j(b, a), "join not commutative");
    assert_eq!(j(&ab, c), j(a, &j(b, c)), "join not associative");
    assert_eq!(j(a, a), *a, "join not idempotent");
    let mut aa = a.clone();
    assert!(!aa.join_ref(a), "joining a value into itself reported a change");

    let bot = T::bottom();
    assert!(bot.is_bottom(), "bottom() is not is_bottom()");
    assert_eq!(a.is_bottom(), *a == bot, "is_bottom() wrong");
    assert_eq!(j(&bot, a), *a, "bottom not a left identity");
    assert_eq!(j(a, &bot), *a, "bottom not a right identity");
    assert!(bot.leq(a), "bottom not below every value");

    assert!(a.leq(a), "leq not reflexive");
    assert!(a.leq(&ab) && b.leq(&ab), "a join not above its operands");
    assert_eq!(a.leq(b), ab == *b, "leq disagrees with join (a <= b iff a ⊔ b == b)");
    assert_eq!(b.leq(a), ab == *a, "leq disagrees with join (b <= a iff a ⊔ b == a)");
    let mut x = a.clone();
    join_checked(&mut x, b);

    decomposition(a);
    decomposition(&ab);
    // The optimal delta: the smallest d with d ⊔ b == a ⊔ b; below a.
    let d = a.delta(b);
    check("optimal delta", &d);
    assert_eq!(j(&d, b), ab, "a.delta(b) ⊔ b != a ⊔ b");
    assert!(d.leq(a), "a.delta(b) not below a");
    assert_eq!(d.is_bottom(), a.leq(b), "a.delta(b) is bottom iff a <= b");
}

/// `decompose()`: irreducibles whose join is the value, none below another.
pub fn decomposition<T: Subject>(a: &T) {
    let parts = a.decompose();
    assert_eq!(parts.len(), a.irreducible_count(), "irreducible_count() != decompose().len()");
    for p in &parts {
        assert!(!p.is_bottom(), "bottom in a decomposition");
        assert!(p.leq(a), "an irreducible is not below the value");
        check("irreducible", p);
    }
    if parts.len() <= 24 {
        for (i, p) in parts.iter().enumerate() {
            for (k, q) in parts.iter().enumerate() {
                assert!(i == k || !p.leq(q), "decomposition is redundant");
            }
        }
    }
    assert_eq!(&Lattice::join_all(parts), a, "the join of the decomposition is not the value");
}
