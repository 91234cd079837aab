//! The one test kit of `convergent`, used by the integration tests (`tests/`) and the fuzz
//! targets (`fuzz/`), so that a fix to the harness reaches both.
//!
//! * [`Rng`]: the one PRNG (SplitMix64), seeded, so every history replays exactly.
//! * [`Subject`] is what a type provides to be tested, and [`subjects`] holds one instance per
//!   type of the crate: its operations over a tiny domain (the one op source), its invariants
//!   (the one invariant checker) and its concurrent specification (one per type).
//! * [`Script`] is the plan of a realistic multi-replica history: 2-5 replicas, each step a local
//!   operation, a full-state merge, or the delivery of a group of buffered deltas (any window of
//!   the sender's delta log, so deltas arrive out of order, duplicated or forwarded). quickcheck
//!   generates and shrinks it; under the `fuzz` feature `arbitrary` builds it from fuzzer bytes.
//!   [`run`] plays a script for a type and records every state, delta and group (the one history
//!   generator).
//! * [`laws`] holds the laws (lattice, delta-mutator, decomposition, encoding, specification,
//!   convergence), each one generic function of a script, and [`check`] runs one through
//!   quickcheck with [`cases`] cases (1 000 unless `CONVERGENT_CASES` says otherwise).
//! * `fuzz` (feature `fuzz`): the bodies of the fuzz targets and the type selector `dispatch!`.
//!
//! A failing law prints the shrunk script as Rust (`script(3, 7, &[op(0, 1), sync(0, 1)])`): paste
//! it into a `regression_*` test with [`replay`].
#![forbid(unsafe_code)]

pub mod composite;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod gset;
pub mod hostile;
pub mod laws;
pub mod subjects;
pub mod workload;

use std::fmt::{self, Debug};

use std::collections::BTreeSet;

use convergent::{Dot, Lattice, ReplicaId};
use quickcheck::{Arbitrary, Gen, QuickCheck};

// ---------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------

/// A small deterministic PRNG (SplitMix64), seeded from a script, so a script replays exactly.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6A09_E667_F3BC_C909)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent / 100`.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    /// Shuffles `xs` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------------------------

/// What an operation generator may know: the replicas of the history and which one acts.
#[derive(Debug)]
pub struct OpCx<'a> {
    /// The replicas of the history.
    pub ids: &'a [ReplicaId],
    /// The index of the acting replica.
    pub me: usize,
}

impl OpCx<'_> {
    /// The acting replica's id.
    pub fn replica(&self) -> ReplicaId {
        self.ids[self.me]
    }
}

/// A type under test.
pub trait Subject: Lattice + Clone + PartialEq + Debug + convergent::wire::Decode + 'static {
    /// A local operation (a call of one delta mutator with its arguments).
    type Op: Clone + Debug;
    /// What users read; equal states must read equal (and the laws compare both).
    type Read: PartialEq + Debug;

    /// An operation over a tiny domain (2-4 elements, keys, values) so conflicts are constant.
    fn gen_op(rng: &mut Rng, cx: &OpCx<'_>, state: &Self) -> Self::Op;

    /// Applies `op` at `replica`, mutating `self`, and returns the delta.
    fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self;

    /// The value as users read it.
    fn read(&self) -> Self::Read;

    /// The type's invariants (checked after every operation and merge, and on every delta).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// A full rendering for failure messages (the domain-shaped `Debug` may hide the context).
    fn show(&self) -> String {
        format!("{self:?}")
    }

    /// For a causal type: its live dots (the store's) and the dots of its context, for the
    /// dot-level observed-remove law. `None` (the default) skips that law.
    fn dots(&self) -> Option<(BTreeSet<Dot>, BTreeSet<Dot>)> {
        None
    }

    /// The type's concurrent specification, if it has one: what a replica that has seen exactly
    /// the operations `visible` (bit `k` is `events[k]`; causally closed, each made on a causally
    /// closed view) must read. `events[k].past` is what event `k` had seen.
    /// `None` (the default) skips the `specification` law.
    fn spec(events: &[Event<Self>], visible: Ops) -> Option<Self::Read> {
        let _ = (events, visible);
        None
    }
}

/// A set of operations of a history, by index (bit `k` is the `k`-th local operation).
pub type Ops = u128;

/// The most operations a history may have for the `specification` law (bits of [`Ops`]).
pub const MAX_SPEC_OPS: usize = 128;

/// Iterates the indices in a set of operations.
pub fn ops_in(mut m: Ops) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (m != 0).then(|| {
            let k = m.trailing_zeros() as usize;
            m &= m - 1;
            k
        })
    })
}

/// One local operation as the specification sees it: who did what, having seen what.
#[derive(Clone, Debug)]
pub struct Event<T: Subject> {
    /// The index of the replica that made the operation.
    pub replica: usize,
    /// Its id.
    pub id: ReplicaId,
    /// The operation.
    pub op: T::Op,
    /// The operations the replica had received when it did this one.
    pub past: Ops,
    /// Whether `past` was causally closed (every operation's own past received too): only then
    /// is the state it acted on the one causal delivery would give, and the spec applies.
    pub causal: bool,
}

impl<T: Subject> Event<T> {
    /// Whether event `k` happened before this one.
    pub fn saw(&self, k: usize) -> bool {
        self.past >> k & 1 == 1
    }
}

/// Whether op `k` is overwritten: some visible op `j` has `k` in its past and `covers(&events[j])`.
pub fn covered<T: Subject>(
    events: &[Event<T>],
    visible: Ops,
    k: usize,
    covers: impl Fn(&Event<T>) -> bool,
) -> bool {
    ops_in(visible).any(|j| events[j].saw(k) && covers(&events[j]))
}

/// The replica ids of a history: not in index order, so nothing may depend on that. They print
/// as `r30, r11, r42, r23, r54`: the last digit is the replica's index in the script.
pub fn replica_ids(n: usize) -> Vec<ReplicaId> {
    const RANK: [u128; 5] = [3, 1, 4, 2, 5];
    (0..n).map(|i| ReplicaId::from_u128(10 * RANK[i] + i as u128)).collect()
}

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

/// One step of a history. Indices are taken modulo the replica count, so every shrink (and every
/// fuzzer input) is valid.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "fuzz", derive(arbitrary::Arbitrary))]
pub enum Step {
    /// A local operation at replica `at`, generated from `seed`.
    Op {
        /// The acting replica.
        at: u8,
        /// The seed of the operation.
        seed: u64,
    },
    /// Replica `to` joins the full state of replica `from`.
    Sync {
        /// The sender.
        from: u8,
        /// The receiver.
        to: u8,
    },
    /// Replica `to` receives, as one delta-group, the window `start.., len` of `from`'s delta log
    /// (its own deltas and the groups it received), and logs the group for forwarding.
    Deliver {
        /// The sender.
        from: u8,
        /// The receiver.
        to: u8,
        /// The window's start in the sender's log (mod its length).
        start: u8,
        /// The window's length (at least 1).
        len: u8,
    },
}

/// A local operation at `at`, generated from `seed`.
pub fn op(at: u8, seed: u64) -> Step {
    Step::Op { at, seed }
}
/// A full-state merge of `from` into `to`.
pub fn sync(from: u8, to: u8) -> Step {
    Step::Sync { from, to }
}
/// The delivery of a window of `from`'s delta log to `to`.
pub fn deliver(from: u8, to: u8, start: u8, len: u8) -> Step {
    Step::Deliver { from, to, start, len }
}

impl Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Step::Op { at, seed } => write!(f, "op({at}, {seed})"),
            Step::Sync { from, to } => write!(f, "sync({from}, {to})"),
            Step::Deliver { from, to, start, len } => write!(f, "deliver({from}, {to}, {start}, {len})"),
        }
    }
}

/// The plan of a history: replica count (2-5), a seed for the laws' own choices, and the steps.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "fuzz", derive(arbitrary::Arbitrary))]
pub struct Script {
    /// Replica count (2-5; other values are taken as `2 + replicas % 4`).
    pub replicas: u8,
    /// The seed of the laws' own random choices.
    pub seed: u64,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A script (for regression tests and printed counterexamples).
pub fn script(replicas: u8, seed: u64, steps: &[Step]) -> Script {
    Script { replicas, seed, steps: steps.to_vec() }
}

/// Printed as the Rust that rebuilds it.
impl Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "script({}, {}, &{:?})", self.replicas, self.seed, self.steps)
    }
}

impl Script {
    /// The number of replicas: `replicas` if it is 2-5, else `2 + replicas % 4`.
    pub fn n(&self) -> usize {
        usize::from(if (2..=5).contains(&self.replicas) { self.replicas } else { 2 + self.replicas % 4 })
    }

    /// Two distinct replicas from raw indices.
    fn pair(&self, from: u8, to: u8) -> (usize, usize) {
        let n = self.n();
        let f = usize::from(from) % n;
        let t = (f + 1 + usize::from(to) % (n - 1)) % n;
        (f, t)
    }
}

/// The longest generated history.
pub const MAX_STEPS: usize = 40;

impl Arbitrary for Step {
    fn arbitrary(g: &mut Gen) -> Self {
        let kind = u8::arbitrary(g) % 20;
        let (a, b) = (u8::arbitrary(g) % 5, u8::arbitrary(g) % 5);
        match kind {
            0..=9 => Step::Op { at: a, seed: u64::arbitrary(g) },
            10..=12 => Step::Sync { from: a, to: b },
            _ => Step::Deliver { from: a, to: b, start: u8::arbitrary(g), len: 1 + u8::arbitrary(g) % 4 },
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let mut out = Vec::new();
        match *self {
            Step::Op { at, seed } => {
                if at > 0 {
                    out.push(Step::Op { at: 0, seed });
                }
                out.extend(seed.shrink().take(8).map(|seed| Step::Op { at, seed }));
            }
            Step::Sync { from, to } => {
                if (from, to) != (0, 0) {
                    out.push(Step::Sync { from: 0, to: 0 });
                }
            }
            Step::Deliver { from, to, start, len } => {
                out.push(Step::Sync { from, to });
                if len > 1 {
                    out.push(Step::Deliver { from, to, start, len: 1 });
                }
                if start > 0 {
                    out.push(Step::Deliver { from, to, start: 0, len });
                }
            }
        }
        Box::new(out.into_iter())
    }
}

impl Arbitrary for Script {
    fn arbitrary(g: &mut Gen) -> Self {
        let replicas = 2 + u8::arbitrary(g) % 4;
        let len = usize::arbitrary(g) % (MAX_STEPS.min(g.size()) + 1);
        Script { replicas, seed: u64::arbitrary(g), steps: (0..len).map(|_| Step::arbitrary(g)).collect() }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let mut out = Vec::new();
        if self.replicas > 2 {
            out.push(Script { replicas: self.replicas - 1, ..self.clone() });
        }
        if self.seed != 0 {
            out.push(Script { seed: 0, ..self.clone() });
        }
        let me = self.clone();
        Box::new(out.into_iter().chain(self.steps.shrink().map(move |steps| Script {
            replicas: me.replicas,
            seed: me.seed,
            steps,
        })))
    }
}

// ---------------------------------------------------------------------------------------------
// Histories
// ---------------------------------------------------------------------------------------------

/// One local operation as it happened.
#[derive(Clone, Debug)]
pub struct OpRecord<T: Subject> {
    /// The step of the script.
    pub step: usize,
    /// The acting replica.
    pub replica: usize,
    /// The operation.
    pub op: T::Op,
    /// The state before.
    pub before: T,
    /// The delta returned.
    pub delta: T,
    /// The state after.
    pub after: T,
}

/// Everything a played script produced.
#[derive(Clone, Debug)]
pub struct History<T: Subject> {
    /// The replica ids.
    pub ids: Vec<ReplicaId>,
    /// The final state of each replica.
    pub replicas: Vec<T>,
    /// Every local operation, in order.
    pub ops: Vec<OpRecord<T>>,
    /// Every delivered delta-group.
    pub groups: Vec<T>,
    /// States of receivers just before a merge.
    pub snapshots: Vec<T>,
    /// Each replica's delta log (own deltas and received groups), in order.
    pub logs: Vec<Vec<T>>,
    /// The script's own randomness, for the laws' choices.
    pub rng: Rng,
    /// Every local operation with its causal past (for the specification).
    pub events: Vec<Event<T>>,
    /// After every step, the replica that changed, the operations it has seen, and its state
    /// (recorded by [`run_checked`] only).
    pub trace: Vec<(usize, Ops, T)>,
}

/// `m` with the pasts of its operations, transitively: the causally closed set it implies.
pub fn closure<T: Subject>(events: &[Event<T>], m: Ops) -> Ops {
    let mut acc = m;
    loop {
        let next = ops_in(acc).fold(acc, |a, k| a | events[k].past);
        if next == acc {
            return acc;
        }
        acc = next;
    }
}

/// Whether a replica that has received exactly `seen` is in a state causal delivery could give:
/// `seen` is causally closed and every operation in it was made on a causally closed view.
pub fn causally_consistent<T: Subject>(events: &[Event<T>], seen: Ops) -> bool {
    closure(events, seen) == seen && ops_in(seen).all(|k| events[k].causal)
}

fn checked<T: Subject>(what: &str, step: usize, x: &T) -> Result<(), String> {
    x.check().map_err(|e| format!("invariant broken in {what} at step {step}: {e}\n  value: {}", x.show()))
}

/// Plays `script` for `T`.
pub fn run<T: Subject>(script: &Script) -> Result<History<T>, String> {
    play(script, false)
}

/// Plays `script` for `T`, checking `T::check` on every state after every step and on every
/// delta and group, and recording the trace of every replica's view for the specification.
pub fn run_checked<T: Subject>(script: &Script) -> Result<History<T>, String> {
    play(script, true)
}

fn play<T: Subject>(script: &Script, full: bool) -> Result<History<T>, String> {
    let checked = |what: &str, step: usize, x: &T| if full { checked(what, step, x) } else { Ok(()) };
    let n = script.n();
    let ids = replica_ids(n);
    let mut states = vec![T::bottom(); n];
    let mut logs: Vec<Vec<T>> = vec![Vec::new(); n];
    let (mut ops, mut groups, mut snapshots) = (Vec::new(), Vec::new(), Vec::new());
    // Visibility, for the specification: what each replica has seen, what each log entry carries.
    let mut seen: Vec<Ops> = vec![0; n];
    let mut log_masks: Vec<Vec<Ops>> = vec![Vec::new(); n];
    let mut events: Vec<Event<T>> = Vec::new();
    let mut trace = Vec::new();
    for (i, step) in script.steps.iter().enumerate() {
        match *step {
            Step::Op { at, seed } => {
                let r = usize::from(at) % n;
                let op = T::gen_op(&mut Rng::new(seed), &OpCx { ids: &ids, me: r }, &states[r]);
                let before = states[r].clone();
                let delta = states[r].apply(ids[r], &op);
                checked("delta", i, &delta)?;
                checked("state after op", i, &states[r])?;
                let k = ops.len();
                if k < MAX_SPEC_OPS {
                    let past = seen[r];
                    let causal = closure(&events, past) == past;
                    events.push(Event { replica: r, id: ids[r], op: op.clone(), past, causal });
                    seen[r] |= 1 << k;
                    log_masks[r].push(1 << k);
                } else {
                    log_masks[r].push(0);
                }
                let after = states[r].clone();
                ops.push(OpRecord { step: i, replica: r, op, before, delta: delta.clone(), after });
                logs[r].push(delta);
                if full {
                    trace.push((r, seen[r], states[r].clone()));
                }
            }
            Step::Sync { from, to } => {
                let (f, t) = script.pair(from, to);
                let s = states[f].clone();
                snapshots.push(states[t].clone());
                if full {
                    join_checked(&mut states[t], &s).map_err(|e| format!("sync at step {i}: {e}"))?;
                } else {
                    states[t].join_ref(&s);
                }
                checked("state after sync", i, &states[t])?;
                seen[t] |= seen[f];
                if full {
                    trace.push((t, seen[t], states[t].clone()));
                }
            }
            Step::Deliver { from, to, start, len } => {
                let (f, t) = script.pair(from, to);
                if logs[f].is_empty() {
                    continue;
                }
                let lo = usize::from(start) % logs[f].len();
                let hi = (lo + usize::from(len.max(1))).min(logs[f].len());
                let group = convergent::Lattice::join_all(logs[f][lo..hi].iter().cloned());
                checked("delta-group", i, &group)?;
                snapshots.push(states[t].clone());
                if full {
                    // (A group received at once == its deltas one by one: the `delta_groups` law.)
                    join_checked(&mut states[t], &group).map_err(|e| format!("delivery at step {i}: {e}"))?;
                } else {
                    states[t].join_ref(&group);
                }
                checked("state after delivery", i, &states[t])?;
                logs[t].push(group.clone());
                groups.push(group);
                let m = log_masks[f][lo..hi].iter().fold(0, |a, b| a | b);
                seen[t] |= m;
                log_masks[t].push(m);
                if full {
                    trace.push((t, seen[t], states[t].clone()));
                }
            }
        }
    }
    let rng = Rng::new(script.seed);
    Ok(History { ids, replicas: states, ops, groups, snapshots, logs, rng, events, trace })
}

impl<T: Subject> History<T> {
    /// Every state and delta the history produced, plus bottom: the values the laws draw from.
    pub fn pool(&self) -> Vec<&T> {
        let mut v: Vec<&T> = Vec::new();
        v.extend(self.replicas.iter());
        v.extend(self.snapshots.iter());
        for o in &self.ops {
            v.push(&o.before);
            v.push(&o.delta);
        }
        v.extend(self.groups.iter());
        v
    }

    /// One random value of the pool, or bottom.
    fn draw(&mut self) -> T {
        let n = self.replicas.len() + self.snapshots.len() + 2 * self.ops.len() + self.groups.len() + 1;
        let mut i = self.rng.below(n);
        if i < self.replicas.len() {
            return self.replicas[i].clone();
        }
        i -= self.replicas.len();
        if i < self.snapshots.len() {
            return self.snapshots[i].clone();
        }
        i -= self.snapshots.len();
        if i < 2 * self.ops.len() {
            let o = &self.ops[i / 2];
            return if i % 2 == 0 { o.before.clone() } else { o.delta.clone() };
        }
        i -= 2 * self.ops.len();
        if i < self.groups.len() {
            return self.groups[i].clone();
        }
        T::bottom()
    }

    /// `k` random draws from the pool (with bottom among the candidates), plus every final state.
    pub fn sample(&mut self, k: usize) -> Vec<T> {
        let mut out: Vec<T> = self.replicas.clone();
        for _ in 0..k {
            out.push(self.draw());
        }
        out
    }

    /// `k` random tuples of `m` values drawn from the pool, and the final states in order.
    pub fn tuples(&mut self, k: usize, m: usize) -> Vec<Vec<T>> {
        let n = self.replicas.len();
        let mut out = vec![(0..m).map(|i| self.replicas[i % n].clone()).collect()];
        for _ in 0..k {
            out.push((0..m).map(|_| self.draw()).collect());
        }
        out
    }

    /// The join of every final state: where full-state anti-entropy ends.
    pub fn full(&self) -> T {
        convergent::Lattice::join_all(self.replicas.iter().cloned())
    }

    /// Every delta of every local operation, in the order they were made.
    pub fn deltas(&self) -> Vec<T> {
        self.ops.iter().map(|o| o.delta.clone()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------

/// `a` and `b` are the same state and read the same; `what` names the claim.
pub fn same<T: Subject>(what: &str, a: &T, b: &T) -> Result<(), String> {
    let (ra, rb) = (a.read(), b.read());
    if a != b {
        return Err(format!(
            "{what}: states differ\n  left:  {}\n  right: {}\n  reads: {ra:?} / {rb:?}",
            a.show(),
            b.show()
        ));
    }
    if ra != rb {
        return Err(format!(
            "{what}: equal states read differently\n  state: {}\n  reads: {ra:?} / {rb:?}",
            a.show()
        ));
    }
    Ok(())
}

/// `x.join_ref(y)`, checking that the returned flag says exactly whether `x` changed and that
/// `join` by value agrees (flag and result).
pub fn join_checked<T: Lattice + Clone + PartialEq + Debug>(x: &mut T, y: &T) -> Result<(), String> {
    let before = x.clone();
    let changed = x.join_ref(y);
    ensure(changed == (*x != before), || {
        format!(
            "join_ref reported changed = {changed} but the state {} change",
            if changed { "did not" } else { "did" }
        )
    })?;
    let mut by_value = before;
    ensure(by_value.join(y.clone()) == changed, || "join and join_ref disagree on the change flag".into())?;
    ensure(by_value == *x, || "join and join_ref disagree on the result".into())
}

/// Fails with `msg` (built lazily) unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Cases per law: 1 000, or `CONVERGENT_CASES` (for long soak runs).
pub fn cases() -> u64 {
    std::env::var("CONVERGENT_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000)
}

/// A law: plays a script and checks one claim.
pub type Law = fn(Script) -> Result<(), String>;

/// Runs `law` on [`cases`] generated scripts; panics with the shrunk script on failure.
pub fn check(law: Law) {
    QuickCheck::new().tests(cases()).max_tests(cases() * 10).rng(Gen::new(MAX_STEPS)).quickcheck(law);
}

/// Runs `law` on one script (for regression tests), panicking with the law's message.
pub fn replay(law: Law, s: Script) {
    if let Err(e) = law(s.clone()) {
        panic!("{s:?}\n{e}");
    }
}

/// A step-by-step account of a history, for debugging a failing script.
pub fn explain<T: Subject>(s: &Script) -> String {
    let mut out = format!("{s:?}\n");
    let mut prefix = Script { steps: Vec::new(), ..s.clone() };
    for step in &s.steps {
        prefix.steps.push(*step);
        match run_checked::<T>(&prefix) {
            Ok(h) => {
                let what = match h.ops.last() {
                    Some(o) if o.step == prefix.steps.len() - 1 => {
                        format!("  r{} {:?} -> delta {}", o.replica, o.op, o.delta.show())
                    }
                    _ => String::new(),
                };
                out += &format!("{step:?}{what}\n");
                for (i, r) in h.replicas.iter().enumerate() {
                    out += &format!("    r{i}: {} reads {:?}\n", r.show(), r.read());
                }
            }
            Err(e) => {
                out += &format!("{step:?}: {e}\n");
                break;
            }
        }
    }
    out
}
