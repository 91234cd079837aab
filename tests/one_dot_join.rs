//! The join of a pair `({d}, {d})` (the delta of an insert, an enable, a write, a map update of
//! one new dot) takes a path of its own (`Causal::one_live_dot`: the receiver's context is
//! searched once, by inserting `d`). Against the general path, the same join the other way
//! round, on random histories of three replicas where such deltas arrive new, duplicated, after
//! a full state that already holds them, and after a remove that observed them.

use convergent::{EwFlag, Lattice, MvRegister, OrMap, OrSet, ReplicaId};
use testkit::Rng;

fn rid(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

/// Joins `delta` into `into` by value and by reference, checking both against the join the
/// other way round (`delta ⊔ into`: the general path) and the changed flags.
fn check<T: Lattice + Clone + PartialEq + core::fmt::Debug>(into: &mut T, delta: &T, what: &str) {
    let general = delta.clone().joined(into.clone());
    let mut by_ref = into.clone();
    let changed_ref = by_ref.join_ref(delta);
    let before = into.clone();
    let changed = into.join(delta.clone());
    assert_eq!(*into, general, "{what}: by value");
    assert_eq!(by_ref, general, "{what}: by reference");
    assert_eq!(changed, before != *into, "{what}: changed flag");
    assert_eq!(changed_ref, changed, "{what}: changed flag by reference");
}

/// `steps` random operations on three replicas of `T`; `op(rng, replica, state)` returns the
/// delta of one mutation; deltas are delivered late, twice, or after full states.
fn history<T: Lattice + Clone + PartialEq + core::fmt::Debug>(
    seed: u64,
    steps: usize,
    mut op: impl FnMut(&mut Rng, ReplicaId, &mut T) -> T,
) {
    let mut rng = Rng::new(seed);
    let ids = [rid(3), rid(1 << 70), rid(7)];
    let mut states: Vec<T> = vec![T::bottom(); 3];
    let mut inbox: Vec<(usize, T)> = Vec::new();
    for step in 0..steps {
        let r = rng.below(3);
        match rng.below(10) {
            0..5 => {
                let d = op(&mut rng, ids[r], &mut states[r]);
                for to in (0..3).filter(|&to| to != r) {
                    inbox.push((to, d.clone()));
                }
                // Sometimes the sender gets its own delta back (seen: nothing changes).
                if rng.below(4) == 0 {
                    inbox.push((r, d));
                }
            }
            5..8 if !inbox.is_empty() => {
                let k = rng.below(inbox.len());
                let (to, d) = if rng.below(3) == 0 { inbox[k].clone() } else { inbox.swap_remove(k) };
                check(&mut states[to], &d, &format!("seed {seed} step {step} to {to}"));
            }
            _ => {
                let from = states[rng.below(3)].clone();
                states[r].join(from);
            }
        }
    }
}

#[test]
fn one_dot_deltas_join_as_the_general_path_does() {
    for seed in 0..20 {
        history::<OrSet<u8>>(seed, 300, |rng, me, s| {
            let e = rng.below(6) as u8;
            if rng.below(3) == 0 { s.remove(me, &e) } else { s.insert(me, e) }
        });
        history::<EwFlag>(
            seed,
            200,
            |rng, me, f| if rng.below(2) == 0 { f.enable(me) } else { f.disable(me) },
        );
        history::<MvRegister<u8>>(seed, 200, |rng, me, r| r.write(me, rng.below(4) as u8));
        history::<OrMap<u8, OrSet<u8>>>(seed, 300, |rng, me, m| {
            let (k, e) = (rng.below(4) as u8, rng.below(4) as u8);
            match rng.below(4) {
                0 => m.remove(me, &k),
                1 => m.update(me, k, |s| s.remove(&e)).0,
                _ => m.update(me, k, |s| s.insert(e)).0,
            }
        });
    }
}
