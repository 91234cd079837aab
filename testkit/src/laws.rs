//! The laws, each written once for every [`Subject`]: the one law checker of the tests and the
//! fuzz targets. Each takes a [`Script`], plays it, and checks its claim on several values drawn
//! from the history (final states, intermediate states, deltas of operations, delivered
//! delta-groups, bottom), comparing states AND reads. The convergence laws (at the end) deliver
//! a history's deltas and states in other orders and groupings.

use convergent::Decompose;
use convergent::Lattice;

use std::collections::BTreeSet;

use convergent::Dot;

use super::{History, OpRecord, Script, Subject, ensure, join_checked, run, run_checked, same};

/// Draws per history for the pairwise and triple laws.
const DRAWS: usize = 6;

/// `a ⊔ b == b ⊔ a`, by value and by reference.
pub fn commutative<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    for t in h.tuples(DRAWS, 2) {
        let (a, b) = (&t[0], &t[1]);
        let ab = a.clone().joined(b.clone());
        let ba = b.clone().joined(a.clone());
        same("a ⊔ b == b ⊔ a", &ab, &ba)?;
        let mut r = b.clone();
        r.join_ref(a);
        same("b.join_ref(a) == a ⊔ b", &r, &ab)?;
        ab.check().map_err(|e| format!("invariant broken by a join: {e}\n  {}", ab.show()))?;
    }
    Ok(())
}

/// `(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)`.
pub fn associative<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    for t in h.tuples(DRAWS, 3) {
        let (a, b, c) = (&t[0], &t[1], &t[2]);
        let l = a.clone().joined(b.clone()).joined(c.clone());
        let r = a.clone().joined(b.clone().joined(c.clone()));
        same("(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)", &l, &r)?;
    }
    Ok(())
}

/// `a ⊔ a == a`, and receiving the same thing twice changes nothing the second time.
pub fn idempotent<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    for t in h.tuples(DRAWS, 2) {
        let (a, b) = (&t[0], &t[1]);
        same("a ⊔ a == a", &a.clone().joined(a.clone()), a)?;
        let mut x = a.clone();
        ensure(!x.join_ref(a), || format!("a.join_ref(&a) reported a change\n  a: {}", a.show()))?;
        let mut ab = a.clone().joined(b.clone());
        let once = ab.clone();
        ensure(!ab.join_ref(b), || {
            format!("(a ⊔ b).join_ref(&b) reported a change\n  a: {}\n  b: {}", a.show(), b.show())
        })?;
        same("(a ⊔ b) ⊔ b == a ⊔ b", &ab, &once)?;
    }
    Ok(())
}

/// `⊥ ⊔ a == a ⊔ ⊥ == a`, and `is_bottom` is exactly `== ⊥`.
pub fn bottom_identity<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    let bot = T::bottom();
    ensure(bot.is_bottom(), || "bottom().is_bottom() is false".into())?;
    bot.check()?;
    for a in h.sample(DRAWS) {
        same("⊥ ⊔ a == a", &T::bottom().joined(a.clone()), &a)?;
        same("a ⊔ ⊥ == a", &a.clone().joined(T::bottom()), &a)?;
        ensure(a.is_bottom() == (a == bot), || format!("is_bottom() is {} for {}", a.is_bottom(), a.show()))?;
        ensure(bot.leq(&a), || format!("⊥ ≤ a is false for {}", a.show()))?;
        let mut x = a.clone();
        ensure(!x.join_ref(&T::bottom()), || format!("a.join_ref(⊥) reported a change for {}", a.show()))?;
    }
    Ok(())
}

/// `a ≤ b ⟺ a ⊔ b == b`; `≤` is reflexive and antisymmetric; `a, b ≤ a ⊔ b`.
pub fn order<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    // Pairs that ARE ordered, so the `true` side of the law is exercised too.
    for t in pairs(&mut h, |o| [[&o.before, &o.after], [&o.delta, &o.after]]) {
        let (a, b) = (&t[0], &t[1]);
        let ab = a.clone().joined(b.clone());
        ensure(a.leq(b) == (ab == *b), || {
            format!(
                "a ≤ b is {} but (a ⊔ b == b) is {}\n  a: {}\n  b: {}",
                a.leq(b),
                ab == *b,
                a.show(),
                b.show()
            )
        })?;
        ensure(a.leq(a), || format!("a ≤ a is false for {}", a.show()))?;
        ensure(a.leq(&ab) && b.leq(&ab), || {
            format!("a or b not ≤ a ⊔ b\n  a: {}\n  b: {}", a.show(), b.show())
        })?;
        if a.leq(b) && b.leq(a) {
            same("a ≤ b ∧ b ≤ a ⇒ a == b", a, b)?;
        }
    }
    Ok(())
}

/// `join_ref` and `join` return `true` exactly when the receiver changed, and agree with `joined`.
pub fn join_reports_change<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    for t in pairs(&mut h, |o| [[&o.before, &o.delta], [&o.after, &o.delta]]) {
        let (a, b) = (&t[0], &t[1]);
        let mut x = a.clone();
        join_checked(&mut x, b).map_err(|e| format!("{e}\n  a: {}\n  b: {}", a.show(), b.show()))?;
        same("joined == join_ref", &a.clone().joined(b.clone()), &x)?;
    }
    Ok(())
}

/// [`DRAWS`] random pairs of the history (and its final states), plus two pairs made by `of_op`
/// from each of its first four operations.
fn pairs<T: Subject>(h: &mut History<T>, of_op: impl Fn(&OpRecord<T>) -> [[&T; 2]; 2]) -> Vec<Vec<T>> {
    let mut tuples = h.tuples(DRAWS, 2);
    for o in h.ops.iter().take(4) {
        tuples.extend(of_op(o).map(|[a, b]| vec![a.clone(), b.clone()]));
    }
    tuples
}

/// `m(X) == X ⊔ mδ(X)` for every operation of the history; the delta is below the new state, and
/// the new state is above the old one. Also checks the type's invariants on every state after
/// every step and on every delta and delta-group.
pub fn mutator_delta<T: Subject>(s: Script) -> Result<(), String> {
    let h: History<T> = run_checked(&s)?;
    for o in &h.ops {
        let ctx = || {
            format!(
                "op {:?} at r{} (step {})\n  before: {}\n  delta:  {}\n  after:  {}",
                o.op,
                o.replica,
                o.step,
                o.before.show(),
                o.delta.show(),
                o.after.show()
            )
        };
        same("m(X) == X ⊔ mδ(X)", &o.before.clone().joined(o.delta.clone()), &o.after)
            .map_err(|e| format!("{e}\n{}", ctx()))?;
        ensure(o.delta.leq(&o.after), || format!("delta not ≤ new state\n{}", ctx()))?;
        ensure(o.before.leq(&o.after), || format!("mutator is not an inflation\n{}", ctx()))?;
        // The operation replayed on a clone gives the same state and delta (mutators are functions).
        let mut again = o.before.clone();
        let d2 = again.apply(h.ids[o.replica], &o.op);
        same("replayed op: same state", &again, &o.after)?;
        same("replayed op: same delta", &d2, &o.delta)?;
    }
    Ok(())
}

/// A delta-group equals its deltas applied one by one: for runs of local operations (the join of
/// their deltas takes the state from before the first to after the last), and for groups of
/// logged deltas received by any state, however the group is split.
pub fn delta_groups<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    // Runs of consecutive operations at one replica with nothing merged in between.
    let mut i = 0;
    while i < h.ops.len() {
        let mut j = i + 1;
        while j < h.ops.len() && h.ops[j].replica == h.ops[i].replica && h.ops[j].before == h.ops[j - 1].after
        {
            j += 1;
        }
        let run = &h.ops[i..j];
        let group = Lattice::join_all(run.iter().map(|o| o.delta.clone()));
        same(
            "op run: X ⊔ (δ1 ⊔ … ⊔ δk) == m_k(…m_1(X))",
            &run[0].before.clone().joined(group.clone()),
            &run[run.len() - 1].after,
        )?;
        let one_by_one = run.iter().fold(run[0].before.clone(), |x, o| x.joined(o.delta.clone()));
        same("op run: deltas one by one", &one_by_one, &run[run.len() - 1].after)?;
        i = j;
    }
    // Windows of delta logs received by arbitrary states.
    let states = h.sample(2);
    for _ in 0..DRAWS {
        let r = h.rng.below(h.logs.len());
        if h.logs[r].is_empty() {
            continue;
        }
        let log = h.logs[r].clone();
        let lo = h.rng.below(log.len());
        let hi = lo + 1 + h.rng.below(log.len() - lo);
        let w = &log[lo..hi];
        let x = h.rng.pick(&states).clone();
        let group = Lattice::join_all(w.iter().cloned());
        let by_group = x.clone().joined(group.clone());
        let one_by_one = w.iter().fold(x.clone(), |acc, d| acc.joined(d.clone()));
        same("X ⊔ group == X ⊔ δ1 ⊔ … ⊔ δk", &by_group, &one_by_one)?;
        let k = h.rng.below(w.len() + 1);
        let split =
            Lattice::join_all(w[..k].iter().cloned()).joined(Lattice::join_all(w[k..].iter().cloned()));
        same("a group split anywhere joins back to the group", &split, &group)?;
    }
    Ok(())
}

/// Join decomposition: the irreducibles join back to the state, are irreducible, irredundant,
/// non-bottom, below the state, and as many as `irreducible_count` says.
pub fn decomposition<T: Subject + Decompose>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    ensure(T::bottom().decompose().is_empty(), || "⊥ decomposes into something".into())?;
    for x in h.sample(DRAWS) {
        decomposition_of(&x)?;
        let mut shuffled = x.decompose();
        h.rng.shuffle(&mut shuffled);
        same("⊔ shuffled decompose(x) == x", &Lattice::join_all(shuffled.iter().cloned()), &x)?;
    }
    Ok(())
}

/// The decomposition of one value: its irreducibles join back to it, are irreducible,
/// irredundant (checked up to 24 parts), non-bottom, below it and as many as `irreducible_count`.
pub fn decomposition_of<T: Subject + Decompose>(x: &T) -> Result<(), String> {
    let parts = x.decompose();
    ensure(parts.len() == x.irreducible_count(), || {
        format!(
            "irreducible_count() = {} but decompose() has {}\n  x: {}",
            x.irreducible_count(),
            parts.len(),
            x.show()
        )
    })?;
    same("⊔ decompose(x) == x", &Lattice::join_all(parts.iter().cloned()), x)?;
    for p in &parts {
        ensure(!p.is_bottom(), || format!("an irreducible is ⊥\n  x: {}", x.show()))?;
        ensure(p.leq(x), || format!("irreducible {} not ≤ x {}", p.show(), x.show()))?;
        p.check()?;
        let pp = p.decompose();
        ensure(pp.len() == 1 && pp[0] == *p, || {
            format!("irreducible {} decomposes into {} parts", p.show(), pp.len())
        })?;
    }
    if parts.len() <= 24 {
        for (i, p) in parts.iter().enumerate() {
            for (j, q) in parts.iter().enumerate() {
                ensure(i == j || !p.leq(q), || {
                    format!("redundant decomposition: {} ≤ {}\n  x: {}", p.show(), q.show(), x.show())
                })?;
            }
        }
    }
    Ok(())
}

/// Optimal deltas: `Δ(a, b) ⊔ b == a ⊔ b`, `Δ(a, b) ≤ a`, and `Δ(a, b)` is exactly the join of the
/// irreducibles of `a` not below `b` (so none of its irreducibles is below `b`).
pub fn optimal_delta<T: Subject + Decompose>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    let mut tuples = h.tuples(DRAWS, 2);
    for o in h.ops.iter().take(3) {
        tuples.push(vec![o.after.clone(), o.before.clone()]);
    }
    for t in tuples {
        let (a, b) = (&t[0], &t[1]);
        let d = a.delta(b);
        let ctx = || format!("\n  a: {}\n  b: {}\n  Δ(a, b): {}", a.show(), b.show(), d.show());
        d.check().map_err(|e| format!("invariant broken in Δ(a, b): {e}{}", ctx()))?;
        same("Δ(a, b) ⊔ b == a ⊔ b", &d.clone().joined(b.clone()), &a.clone().joined(b.clone()))
            .map_err(|e| e + &ctx())?;
        ensure(d.leq(a), || format!("Δ(a, b) not ≤ a{}", ctx()))?;
        for p in d.decompose() {
            ensure(!p.leq(b), || format!("irreducible {} of Δ(a, b) is ≤ b{}", p.show(), ctx()))?;
        }
        let expected = Lattice::join_all(a.decompose().into_iter().filter(|p| !p.leq(b)));
        same("Δ(a, b) == ⊔ {p ∈ decompose(a) | p ≰ b}", &d, &expected).map_err(|e| e + &ctx())?;
        ensure(a.delta(a).is_bottom(), || format!("Δ(a, a) is not ⊥: {}", a.delta(a).show()))?;
        same("Δ(a, ⊥) == a", &a.delta(&T::bottom()), a)?;
        ensure(T::bottom().delta(a).is_bottom(), || "Δ(⊥, a) is not ⊥".into())?;
    }
    Ok(())
}

/// Serde: round trips through `convergent::wire` and serde_json; the compact encoding is a
/// function of the state (equal states built in different orders encode to equal bytes);
/// `encoded_len` is exact; damaged bytes never panic and never yield a value breaking invariants.
pub fn serde_round_trip<T: Subject>(s: Script) -> Result<(), String> {
    use convergent::wire;
    let mut h: History<T> = run(&s)?;
    let mut all = h.sample(DRAWS);
    all.push(T::bottom());
    for x in &all {
        let bytes = wire::to_bytes(x);
        ensure(wire::encoded_len(x) == bytes.len(), || {
            format!("encoded_len {} != {} bytes", wire::encoded_len(x), bytes.len())
        })?;
        let back: T = wire::from_bytes(&bytes)
            .map_err(|e| format!("from_bytes(to_bytes(x)) failed: {e}\n  x: {}", x.show()))?;
        same("wire round trip", &back, x)?;
        ensure(wire::to_bytes(&back) == bytes, || "re-encoding a decoded value changed its bytes".into())?;
        let json = serde_json::to_string(x).map_err(|e| format!("serde_json: {e}"))?;
        let back: T =
            serde_json::from_str(&json).map_err(|e| format!("serde_json back: {e}\n  json: {json}"))?;
        same("json round trip", &back, x)?;
    }
    // Canonical: the same state reached in different orders has the same bytes.
    for t in h.tuples(DRAWS, 3) {
        let (a, b, c) = (&t[0], &t[1], &t[2]);
        let x = a.clone().joined(b.clone()).joined(c.clone());
        let y = c.clone().joined(b.clone().joined(a.clone()));
        let mut z = b.clone();
        z.join_ref(c);
        z.join_ref(a);
        same("same state three ways", &x, &y)?;
        same("same state three ways", &x, &z)?;
        ensure(wire::to_bytes(&x) == wire::to_bytes(&y) && wire::to_bytes(&x) == wire::to_bytes(&z), || {
            format!("equal states encode differently: {}", x.show())
        })?;
    }
    // One value, one encoding: bytes after a valid encoding are rejected.
    for x in &all {
        let mut bytes = wire::to_bytes(x);
        bytes.push(h.rng.below(256) as u8);
        ensure(wire::from_bytes::<T>(&bytes).is_err(), || {
            format!("trailing byte accepted after {}", x.show())
        })?;
    }
    // Damaged input: truncations and bit flips of one encoding.
    let x = h.rng.pick(&all).clone();
    let bytes = wire::to_bytes(&x);
    let mut damaged: Vec<Vec<u8>> = (0..8).map(|_| bytes[..h.rng.below(bytes.len())].to_vec()).collect();
    for _ in 0..8 {
        let mut b = bytes.clone();
        let i = h.rng.below(b.len());
        b[i] ^= 1 << h.rng.below(8);
        damaged.push(b);
    }
    for b in damaged {
        if let Ok(v) = wire::from_bytes::<T>(&b) {
            v.check().map_err(|e| {
                format!("decoding damaged bytes {b:?} gave a value breaking invariants: {e}\n  {}", v.show())
            })?;
            ensure(wire::to_bytes(&v) == b, || {
                format!("non-canonical bytes {b:?} accepted for {}", v.show())
            })?;
            let again: T = wire::from_bytes(&wire::to_bytes(&v))
                .map_err(|e| format!("a value decoded from damaged bytes does not round trip: {e}"))?;
            same("decoded-from-damaged round trip", &again, &v)?;
        }
    }
    Ok(())
}

/// The concurrent specification (AntidoteDB-style): after every step, a replica whose view is
/// one causal delivery could give reads what `Subject::spec` says for the operations it has seen.
/// (Deltas received out of causal order can make a replica read otherwise until the gap fills,
/// and operations made on such a view act on it; those views are skipped here. Convergence and
/// the lattice laws are checked on every history regardless.)
pub fn specification<T: Subject>(s: Script) -> Result<(), String> {
    let h: History<T> = run_checked(&s)?;
    if h.ops.len() > super::MAX_SPEC_OPS || T::spec(&h.events, 0).is_none() {
        return Ok(());
    }
    for (r, seen, state) in &h.trace {
        if !super::causally_consistent(&h.events, *seen) {
            continue;
        }
        let want = T::spec(&h.events, *seen).expect("spec");
        let got = state.read();
        ensure(got == want, || {
            let ops: Vec<String> = super::ops_in(*seen)
                .map(|k| {
                    let e = &h.events[k];
                    format!(
                        "#{k} r{} {:?} having seen {:?}",
                        e.replica,
                        e.op,
                        super::ops_in(e.past).collect::<Vec<_>>()
                    )
                })
                .collect();
            format!(
                "r{r} reads {got:?}, the specification says {want:?}\n  seen: {ops:#?}\n  state: {}",
                state.show()
            )
        })?;
    }
    Ok(())
}

/// Observed-remove at the level of dots, for causal types:
/// every operation mints only new dots of its own replica and removes only dots it has seen (or
/// its own); after every step, a replica's live dots are exactly the dots minted by the operations
/// it has received and removed by none of them, and its context is every dot they minted or
/// removed. So nothing a remove, clear, reset or overwrite saw ever comes back, through any order
/// of merges and deliveries.
pub fn observed_remove<T: Subject>(s: Script) -> Result<(), String> {
    let h: History<T> = run_checked(&s)?;
    if h.ops.len() > super::MAX_SPEC_OPS || T::bottom().dots().is_none() {
        return Ok(());
    }
    let dots = |x: &T| x.dots().expect("a causal type has dots");
    let (mut minted, mut killed): (Vec<BTreeSet<Dot>>, Vec<BTreeSet<Dot>>) = (Vec::new(), Vec::new());
    for o in &h.ops {
        let (m, ctx) = dots(&o.delta);
        let (_, seen) = dots(&o.before);
        let id = h.ids[o.replica];
        let ctx_of =
            || format!("op {:?} at r{} (step {})\n  before: {}", o.op, o.replica, o.step, o.before.show());
        for d in &m {
            ensure(!seen.contains(d) && d.replica() == id, || {
                format!("minted dot {d:?} already seen or not the acting replica's\n{}", ctx_of())
            })?;
        }
        let k: BTreeSet<Dot> = ctx.difference(&m).copied().collect();
        for d in &k {
            ensure(seen.contains(d) || d.replica() == id, || {
                format!("removed dot {d:?} the operation had not seen\n{}", ctx_of())
            })?;
        }
        minted.push(m);
        killed.push(k);
    }
    for (r, seen, state) in &h.trace {
        let (mut m, mut k) = (BTreeSet::new(), BTreeSet::new());
        for i in super::ops_in(*seen) {
            m.extend(minted[i].iter().copied());
            k.extend(killed[i].iter().copied());
        }
        let ctx: BTreeSet<Dot> = m.union(&k).copied().collect();
        let live: BTreeSet<Dot> = m.difference(&k).copied().collect();
        let (got_live, got_ctx) = dots(state);
        ensure(got_live == live, || {
            format!(
                "r{r}: live dots {got_live:?}, the observed-remove specification says {live:?}\n  state: {}",
                state.show()
            )
        })?;
        ensure(got_ctx == ctx, || {
            format!("r{r}: context {got_ctx:?}, the specification says {ctx:?}\n  state: {}", state.show())
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Convergence: however the deltas of a history travel (in order, shuffled, duplicated, pre-joined
// into groups, through optimal deltas), every replica ends where full-state merging ends.
// ---------------------------------------------------------------------------------------------

/// The deltas of every operation, delivered to a fresh replica and to every replica of the
/// history in order, shuffled, duplicated and pre-joined, give the join of the final states.
pub fn delivery_orders<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    let full = h.full();
    let deltas = h.deltas();
    same("⊔ final states == ⊔ all deltas", &Lattice::join_all(deltas.iter().cloned()), &full)?;
    let in_order = deltas.iter().fold(T::bottom(), |x, d| x.joined(d.clone()));
    same("deltas in order", &in_order, &full)?;
    let mut shuffled = deltas.clone();
    h.rng.shuffle(&mut shuffled);
    let mut x = T::bottom();
    for d in &shuffled {
        x.join_ref(d);
    }
    same("deltas shuffled", &x, &full)?;
    let mut dup = Vec::new();
    for d in &deltas {
        for _ in 0..1 + h.rng.below(3) {
            dup.push(d.clone());
        }
    }
    h.rng.shuffle(&mut dup);
    same("deltas duplicated and shuffled", &Lattice::join_all(dup.iter().cloned()), &full)?;
    // Pre-joined: random groups of the duplicated stream, the groups themselves shuffled.
    let mut groups = Vec::new();
    let mut i = 0;
    while i < dup.len() {
        let k = 1 + h.rng.below(4);
        groups.push(Lattice::join_all(dup[i..(i + k).min(dup.len())].iter().cloned()));
        i += k;
    }
    h.rng.shuffle(&mut groups);
    same("deltas pre-joined in groups", &Lattice::join_all(groups.iter().cloned()), &full)?;
    // Every replica, from where it stands, receiving every delta (shuffled) reaches the same.
    for r in h.replicas.clone() {
        let mut ds = deltas.clone();
        h.rng.shuffle(&mut ds);
        let got = ds.into_iter().fold(r, |x, d| x.joined(d));
        same("a replica receiving every delta", &got, &full)?;
    }
    Ok(())
}

/// Full-state anti-entropy in random orders: every replica ends with the same state, reads the
/// same, and (with serde) encodes to the same bytes.
pub fn anti_entropy<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    let full = h.full();
    let states = gossip(&mut h, |from, to| {
        to.join_ref(from);
    });
    for st in &states {
        same("replica after anti-entropy == ⊔ final states", st, &full)?;
        ensure(st.read() == states[0].read(), || {
            "replicas read differently after exchanging everything".into()
        })?;
        ensure(convergent::wire::to_bytes(st) == convergent::wire::to_bytes(&states[0]), || {
            "converged replicas encode differently".into()
        })?;
    }
    Ok(())
}

/// Delta-based anti-entropy with optimal deltas `Δ(a, b)`: same end as full-state merging, and a
/// replica that already has everything is sent ⊥.
pub fn optimal_delta_sync<T: Subject + Decompose>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    let full = h.full();
    let states = gossip(&mut h, |from, to| {
        to.join(from.delta(to));
    });
    for (i, st) in states.iter().enumerate() {
        same("replica after optimal-delta sync == ⊔ final states", st, &full)?;
        let d = full.delta(st);
        ensure(d.is_bottom(), || format!("converged r{i} is still sent a non-empty delta: {}", d.show()))?;
    }
    Ok(())
}

/// The final states of `h` after anti-entropy: `n²` exchanges between random pairs, then a star
/// through replica 0 (everyone to 0, 0 to everyone). `send(from, to)` brings `from`'s news to `to`.
fn gossip<T: Subject>(h: &mut History<T>, send: impl Fn(&T, &mut T)) -> Vec<T> {
    let n = h.replicas.len();
    let mut states = h.replicas.clone();
    let exchange = |states: &mut [T], a: usize, b: usize| {
        let from = states[a].clone();
        send(&from, &mut states[b]);
    };
    for _ in 0..n * n {
        let (a, b) = (h.rng.below(n), h.rng.below(n));
        exchange(&mut states, a, b);
    }
    for i in 1..n {
        exchange(&mut states, i, 0);
    }
    for i in 1..n {
        exchange(&mut states, 0, i);
    }
    states
}
