//! `quickcheck::Arbitrary` impls (feature `quickcheck`), for property tests of this crate and of
//! users' code built on it.
//!
//! Values are drawn from tiny domains so that conflicts are frequent: replica ids are `r1..=r4`,
//! timestamps fall within a few milliseconds of each other. States are not random field values
//! but the result of a realistic history: 2 to 4 replicas apply local operations under their own
//! ids and merge each other's states at random points, and one replica's state is returned. Counts
//! stay within the default [`Limits::max_counter`](crate::Limits::max_counter), so every
//! generated value survives a round trip through the wire format.

use alloc::boxed::Box;
use alloc::vec::Vec;

use quickcheck::{Arbitrary, Gen};

use crate::LwwRegister;
use crate::causal::ReplicaId;
use crate::clock::{HybridClock, Timestamp};
use crate::counter::{GCounter, PnCounter};
use crate::lattice::Lattice;
use crate::limits::Limits;

/// How many distinct replica ids [`ReplicaId::arbitrary`] draws from.
const REPLICAS: u128 = 4;

/// The wall time (ms) around which arbitrary timestamps fall.
const BASE_MS: u64 = 1_000;

/// The longest history of a register: only the last few writes matter to its state, and short
/// histories keep the timestamps of independently generated registers close, so they tie often.
const LWW_STEPS: usize = 10;

/// A number in `0..n` (`n > 0`).
fn pick(g: &mut Gen, n: usize) -> usize {
    usize::arbitrary(g) % n
}

/// A small count, now and then a large one (within the default decode limit).
fn amount(g: &mut Gen, large: bool) -> u64 {
    if large && pick(g, 4) == 0 { 1 << (40 + pick(g, 12)) } else { 1 + pick(g, 5) as u64 }
}

/// Runs a random history of at most `max_steps` steps over 2 to 4 replicas (replica `i` has id
/// `r{i+1}`): each step either merges one replica's state into another's or applies `local` to one
/// replica. Returns the state of a random replica.
fn history<S: Lattice + Clone>(
    g: &mut Gen,
    max_steps: usize,
    mut local: impl FnMut(&mut Gen, usize, &mut S),
) -> S {
    let k = 2 + pick(g, 3);
    let mut states: Vec<S> = (0..k).map(|_| S::bottom()).collect();
    let steps = pick(g, max_steps + 1);
    for _ in 0..steps {
        let i = pick(g, k);
        if pick(g, 3) == 0 {
            let other = states[pick(g, k)].clone();
            states[i].join(other);
        } else {
            local(g, i, &mut states[i]);
        }
    }
    let i = pick(g, k);
    states.swap_remove(i)
}

/// A replica id drawn from the generator (deterministic from its seed, so a failing seed
/// replays), from 256 random bits: values generated independently get distinct ids, so any two of
/// them are histories of distinct replicas and can be joined meaningfully.
pub(crate) fn fresh_replica(g: &mut Gen) -> ReplicaId {
    let id = (0..4).fold(0u128, |acc, _| acc.rotate_left(64) ^ u128::from(u64::arbitrary(g)));
    ReplicaId::from_u128(id | 1 << 127)
}

fn replica(i: usize) -> ReplicaId {
    ReplicaId::from_u128(i as u128 + 1)
}

/// One of `r1..=r4`. Shrinks towards `r1`.
impl Arbitrary for ReplicaId {
    fn arbitrary(g: &mut Gen) -> Self {
        ReplicaId::from_u128(1 + u128::from(u8::arbitrary(g)) % REPLICAS)
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let n = self.as_uuid().as_u128();
        Box::new((1..n.min(REPLICAS + 1)).map(ReplicaId::from_u128))
    }
}

/// Within a few milliseconds of `1000ms` with a small logical part, so equal timestamps are
/// common; rarely the smallest or the largest timestamp. Shrinks towards `1000ms+0`.
impl Arbitrary for Timestamp {
    fn arbitrary(g: &mut Gen) -> Self {
        match pick(g, 32) {
            0 => Timestamp::from_u64(0),
            1 => Timestamp::from_u64(u64::MAX),
            _ => Timestamp::from_parts(BASE_MS + pick(g, 4) as u64, pick(g, 3) as u16),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let base = Timestamp::from_parts(BASE_MS, 0);
        let mut out = Vec::new();
        if *self != base {
            out.push(base);
        }
        if self.logical() > 0 {
            out.push(Timestamp::from_parts(self.wall_ms(), 0));
        }
        if self.wall_ms() > BASE_MS + 1 && self.wall_ms() < BASE_MS + 16 {
            out.push(Timestamp::from_parts(self.wall_ms() - 1, self.logical()));
        }
        Box::new(out.into_iter())
    }
}

/// Halving or dropping one entry at a time: every result is again a reachable counter.
fn shrink_entries(c: &GCounter) -> Vec<GCounter> {
    let entries: Vec<_> = c.iter().collect();
    let mut out = Vec::new();
    for k in 0..entries.len() {
        out.push(entries.iter().enumerate().filter(|&(i, _)| i != k).map(|(_, &e)| e).collect());
        if entries[k].1 > 1 {
            let mut e = entries.clone();
            e[k].1 /= 2;
            out.push(e.into_iter().collect());
        }
    }
    out
}

/// The state of one replica after a history of increments (by 1 to 5; in one history out of
/// eight, now and then by up to `2^51`) and merges.
impl Arbitrary for GCounter {
    fn arbitrary(g: &mut Gen) -> Self {
        let large = pick(g, 8) == 0;
        let max = Limits::default().max_counter;
        history(g, g.size(), |g, i, c: &mut GCounter| {
            let r = replica(i);
            let n = amount(g, large).min(max - c.get(r));
            let _ = c.increment(r, n);
        })
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(shrink_entries(self).into_iter())
    }
}

/// The state of one replica after a history of increments, decrements and merges (amounts as for
/// [`GCounter`]).
impl Arbitrary for PnCounter {
    fn arbitrary(g: &mut Gen) -> Self {
        let large = pick(g, 8) == 0;
        let max = Limits::default().max_counter;
        history(g, g.size(), |g, i, c: &mut PnCounter| {
            let r = replica(i);
            if bool::arbitrary(g) {
                let n = amount(g, large).min(max - c.increments().get(r));
                let _ = c.increment(r, n);
            } else {
                let n = amount(g, large).min(max - c.decrements().get(r));
                let _ = c.decrement(r, n);
            }
        })
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let (p, n) = (self.increments().clone(), self.decrements().clone());
        let ps = shrink_entries(&p).into_iter().map({
            let n = n.clone();
            move |p| PnCounter::from_parts(p, n.clone())
        });
        let ns = shrink_entries(&n).into_iter().map(move |n| PnCounter::from_parts(p.clone(), n));
        Box::new(ps.chain(ns).collect::<Vec<_>>().into_iter())
    }
}

/// The state of one replica after a history of up to 10 writes and merges.
/// Half the writes go through the replica's own [`HybridClock`], with a wall clock that mostly
/// stands still, sometimes advances by 1 ms and sometimes steps back; the other half use an
/// arbitrary [`Timestamp`], so equal timestamps are common and equal `(timestamp, replica)` pairs
/// with different values (a misbehaving writer) occur too.
impl<T: Arbitrary + Ord> Arbitrary for LwwRegister<T> {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut clocks = [HybridClock::new(); 4];
        let mut walls = [BASE_MS; 4];
        history(g, g.size().min(LWW_STEPS), |g, i, reg: &mut LwwRegister<T>| {
            let r = replica(i);
            let value = T::arbitrary(g);
            if bool::arbitrary(g) {
                let _ = reg.write(r, Timestamp::arbitrary(g), value);
            } else {
                walls[i] = match pick(g, 8) {
                    0 => walls[i].saturating_sub(2),
                    1 | 2 => walls[i] + 1,
                    _ => walls[i],
                };
                let _ = reg.write_with(r, &mut clocks[i], walls[i], value);
            }
        })
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let Some((t, r, v)) =
            self.timestamp().zip(self.writer()).zip(self.value()).map(|((t, r), v)| (t, r, v))
        else {
            return Box::new(core::iter::empty());
        };
        let mut out = alloc::vec![LwwRegister::new()];
        for v in v.shrink() {
            let mut x = LwwRegister::new();
            let _ = x.write(r, t, v);
            out.push(x);
        }
        for t in t.shrink() {
            let mut x = LwwRegister::new();
            let _ = x.write(r, t, v.clone());
            out.push(x);
        }
        Box::new(out.into_iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::Decompose;

    #[test]
    fn histories_have_conflicts_and_stay_in_limits() {
        let mut g = Gen::from_size_and_seed(60, 0x5eed);
        let (mut multi, mut ties, mut written) = (0, 0, 0);
        let max = Limits::default().max_counter;
        for _ in 0..300 {
            let c = GCounter::arbitrary(&mut g);
            assert!(c.iter().all(|(r, n)| n > 0 && n <= max && r.as_uuid().as_u128() <= REPLICAS));
            multi += usize::from(c.len() > 1);
            let p = PnCounter::arbitrary(&mut g);
            assert!(p.increments().iter().chain(p.decrements().iter()).all(|(_, n)| n <= max));
            let a = LwwRegister::<u8>::arbitrary(&mut g);
            let b = LwwRegister::<u8>::arbitrary(&mut g);
            written += usize::from(a.value().is_some());
            ties += usize::from(a.timestamp().is_some() && a.timestamp() == b.timestamp());
            assert_eq!(a.clone().joined(b.clone()), b.joined(a));
        }
        assert!(multi > 100, "merged states from several replicas: {multi}");
        assert!(written > 150, "{written}");
        assert!(ties > 5, "equal timestamps across registers: {ties}");
    }

    #[test]
    fn shrinks_are_smaller() {
        let mut g = Gen::from_size_and_seed(40, 7);
        for _ in 0..50 {
            let c = GCounter::arbitrary(&mut g);
            for s in c.shrink() {
                assert!(s.leq(&c) && s != c);
            }
            let p = PnCounter::arbitrary(&mut g);
            for s in p.shrink() {
                assert!(s.leq(&p) && s != p);
                assert!(s.irreducible_count() <= p.irreducible_count());
            }
        }
        let r = ReplicaId::from_u128(3);
        assert_eq!(r.shrink().collect::<Vec<_>>(), [ReplicaId::from_u128(1), ReplicaId::from_u128(2)]);
        assert!(Timestamp::from_parts(BASE_MS, 0).shrink().next().is_none());
    }
}
