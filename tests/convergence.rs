//! Convergence: however the deltas of a history travel (in order, shuffled, duplicated,
//! pre-joined into groups, through optimal deltas), every replica ends where full-state merging
//! ends, and all replicas read the same.

mod common;

use common::{History, Script, Subject, check, ensure, run, same};
#[allow(unused_imports)]
use convergent::{
    CausalContext, CausalCounter, Decompose, EwFlag, GCounter, Lattice, LwwRegister, MvRegister, OrMap,
    OrSet, PnCounter, causal::VersionVector,
};

/// The deltas of every operation, delivered to a fresh replica and to every replica of the
/// history in order, shuffled, duplicated and pre-joined, give the join of the final states.
fn delivery_orders<T: Subject>(s: Script) -> Result<(), String> {
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
fn anti_entropy<T: Subject>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    let full = h.full();
    let n = h.replicas.len();
    let mut states = h.replicas.clone();
    // Random gossip, then a star through replica 0 to finish.
    for _ in 0..n * n {
        let (a, b) = (h.rng.below(n), h.rng.below(n));
        let sa = states[a].clone();
        states[b].join_ref(&sa);
    }
    for i in 1..n {
        let si = states[i].clone();
        states[0].join_ref(&si);
    }
    for i in 1..n {
        let s0 = states[0].clone();
        states[i].join_ref(&s0);
    }
    for st in &states {
        same("replica after anti-entropy == ⊔ final states", st, &full)?;
        ensure(st.read() == states[0].read(), || {
            "replicas read differently after exchanging everything".into()
        })?;
        #[cfg(feature = "serde")]
        ensure(convergent::wire::to_bytes(st) == convergent::wire::to_bytes(&states[0]), || {
            "converged replicas encode differently".into()
        })?;
    }
    Ok(())
}

/// Delta-based anti-entropy with optimal deltas `Δ(a, b)`: same end as full-state merging, and a
/// replica that already has everything is sent ⊥.
fn optimal_delta_sync<T: Subject + Decompose>(s: Script) -> Result<(), String> {
    let mut h: History<T> = run(&s)?;
    let full = h.full();
    let n = h.replicas.len();
    let mut states = h.replicas.clone();
    for _ in 0..n * n {
        let (a, b) = (h.rng.below(n), h.rng.below(n));
        let d = states[a].delta(&states[b]);
        states[b].join(d);
    }
    for i in 1..n {
        let d = states[i].delta(&states[0]);
        states[0].join(d);
    }
    for i in 1..n {
        let d = states[0].delta(&states[i]);
        states[i].join(d);
    }
    for (i, st) in states.iter().enumerate() {
        same("replica after optimal-delta sync == ⊔ final states", st, &full)?;
        let d = full.delta(st);
        ensure(d.is_bottom(), || format!("converged r{i} is still sent a non-empty delta: {}", d.show()))?;
    }
    Ok(())
}

macro_rules! convergence {
    ($m:ident, $t:ty $(, $extra:ident)*) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn delivery_orders() { check(super::delivery_orders::<$t>) }
            #[test]
            fn anti_entropy() { check(super::anti_entropy::<$t>) }
            $( convergence!(@$extra $t); )*
        }
    };
    (@decompose $t:ty) => {
        #[test]
        fn optimal_delta_sync() { check(super::optimal_delta_sync::<$t>) }
    };
}

convergence!(causal_context, CausalContext);
convergence!(version_vector, VersionVector);
convergence!(g_counter, GCounter, decompose);
convergence!(pn_counter, PnCounter, decompose);
convergence!(lww_register, LwwRegister<u8>, decompose);
convergence!(ew_flag, EwFlag, decompose);
convergence!(or_set, OrSet<u8>, decompose);
convergence!(mv_register, MvRegister<u8>, decompose);
convergence!(causal_counter, CausalCounter, decompose);
convergence!(map_of_flags, OrMap<u8, EwFlag>, decompose);
convergence!(map_of_sets, OrMap<u8, OrSet<u8>>, decompose);
convergence!(map_of_mv_registers, OrMap<u8, MvRegister<u8>>, decompose);
convergence!(map_of_causal_counters, OrMap<u8, CausalCounter>, decompose);
convergence!(map_of_g_counters, OrMap<u8, GCounter>, decompose);
convergence!(map_of_pn_counters, OrMap<u8, PnCounter>, decompose);
convergence!(map_of_lww_registers, OrMap<u8, LwwRegister<u8>>, decompose);
convergence!(map_of_maps_of_sets, OrMap<u8, OrMap<u8, OrSet<u8>>>, decompose);
convergence!(map_of_maps_of_mv_registers, OrMap<u8, OrMap<u8, MvRegister<u8>>>, decompose);
convergence!(map_of_maps_of_counters, OrMap<u8, OrMap<u8, PnCounter>>, decompose);
convergence!(map3_of_flags, OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>, decompose);
