//! Seeded inputs shared by the benches that stand beside `crdts` 7.3.2 (`ops`, `compare`): the
//! same states on both sides, element or key k written by replica `k % 3 + 1`, replicas merged.
//! `crdts` actors are `u128`, the size of our UUID replica ids.
#![allow(dead_code)] // each bench uses a part

use convergent::{GCounter, Lattice, MvRegister, OrMap, OrSet, PnCounter, ReplicaId};
use crdts::{CmRDT, CvRDT, Orswot};

/// The replica every measured local operation runs at.
pub(crate) const ME: u128 = 1;
/// A peer that has seen the whole state and sends one update.
pub(crate) const PEER: u128 = 9;

pub(crate) fn rid(i: u128) -> ReplicaId {
    ReplicaId::from_u128(i)
}

/// A G-Counter incremented by each of `n` replicas, ours and crdts'.
pub(crate) fn gcounters(n: usize) -> (GCounter, crdts::GCounter<u128>) {
    let mut ours = GCounter::new();
    let mut theirs = crdts::GCounter::new();
    for i in 1..=n as u128 {
        let _ = ours.increment(rid(i), i as u64);
        theirs.apply(theirs.inc_many(i, i as u64));
    }
    (ours, theirs)
}

/// A PN-Counter incremented by 10 and decremented by 3 by each of `n` replicas.
pub(crate) fn pncounters(n: usize) -> (PnCounter, crdts::PNCounter<u128>) {
    let mut ours = PnCounter::new();
    let mut theirs = crdts::PNCounter::new();
    for i in 1..=n as u128 {
        let _ = ours.increment(rid(i), 10);
        let _ = ours.decrement(rid(i), 3);
        theirs.apply(theirs.inc_many(i, 10));
        theirs.apply(theirs.dec_many(i, 3));
    }
    (ours, theirs)
}

/// Folds three replicas' states into one, ours and crdts'.
fn merged<O: Lattice + Default, T: CvRDT + Default>(ours: Vec<O>, theirs: Vec<T>) -> (O, T) {
    let ours = ours.into_iter().fold(O::default(), Lattice::joined);
    let theirs = theirs.into_iter().fold(T::default(), |mut a, b| {
        a.merge(b);
        a
    });
    (ours, theirs)
}

/// Elements `elem(0..m)`: ours and the same in `crdts::Orswot`.
pub(crate) fn sets<T>(m: u64, elem: impl Fn(u64) -> T) -> (OrSet<T>, Orswot<T, u128>)
where
    T: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug,
{
    let mut ours: Vec<OrSet<T>> = (0..3).map(|_| OrSet::new()).collect();
    let mut theirs: Vec<Orswot<T, u128>> = (0..3).map(|_| Orswot::new()).collect();
    for e in 0..m {
        let r = (e % 3) as usize;
        let _ = ours[r].insert(rid(r as u128 + 1), elem(e));
        let op = theirs[r].add(elem(e), theirs[r].read_ctx().derive_add_ctx(r as u128 + 1));
        theirs[r].apply(op);
    }
    merged(ours, theirs)
}

pub(crate) fn string_elem(e: u64) -> String {
    format!("element-{e:08}")
}

pub(crate) type TheirMvMap = crdts::Map<u64, crdts::MVReg<u64, u128>, u128>;

/// crdts' "write `v` under `key`": make the op, apply it, return it.
pub(crate) fn crdts_map_write(
    map: &mut TheirMvMap,
    actor: u128,
    key: u64,
    v: u64,
) -> crdts::map::Op<u64, crdts::MVReg<u64, u128>, u128> {
    let ctx = map.read_ctx().derive_add_ctx(actor);
    let op = map.update(key, ctx, |reg, ctx| reg.write(v, ctx));
    map.apply(op.clone());
    op
}

/// `m` keys to multi-value registers: ours and crdts'.
pub(crate) fn mv_maps(m: u64) -> (OrMap<u64, MvRegister<u64>>, TheirMvMap) {
    let mut ours: Vec<OrMap<u64, MvRegister<u64>>> = (0..3).map(|_| OrMap::new()).collect();
    let mut theirs: Vec<TheirMvMap> = (0..3).map(|_| crdts::Map::new()).collect();
    for k in 0..m {
        let r = (k % 3) as usize;
        let _ = ours[r].update(rid(r as u128 + 1), k, |reg| reg.write(k));
        let _ = crdts_map_write(&mut theirs[r], r as u128 + 1, k, k);
    }
    merged(ours, theirs)
}

pub(crate) type TheirPnMap<K> = crdts::Map<K, crdts::PNCounter<u128>, u128>;

/// `m` keys `key(0..m)` to PN-Counters incremented once: ours and crdts'.
pub(crate) fn pn_maps<K>(m: u64, key: impl Fn(u64) -> K) -> (OrMap<K, PnCounter>, TheirPnMap<K>)
where
    K: Clone + std::hash::Hash + Eq + Ord + std::fmt::Debug,
{
    let mut ours: Vec<OrMap<K, PnCounter>> = (0..3).map(|_| OrMap::new()).collect();
    let mut theirs: Vec<TheirPnMap<K>> = (0..3).map(|_| crdts::Map::new()).collect();
    for k in 0..m {
        let r = (k % 3) as usize;
        let a = r as u128 + 1;
        let _ = ours[r].update(rid(a), key(k), |c| c.increment(1));
        let op = theirs[r].update(key(k), theirs[r].read_ctx().derive_add_ctx(a), |c, _| c.inc(a));
        theirs[r].apply(op);
    }
    merged(ours, theirs)
}
