//! The OrSet type.

use core::borrow::Borrow;
use core::fmt;
use core::hash::Hash;

use super::store::{Iter, SetStore};
use crate::causal::{Causal, Handle, Nested, ReplicaId};
use crate::macros::causal_newtype;

/// Delta mutators of a set, usable at the top level ([`OrSet`], whose mutators call these) and
/// inside an [`OrMap`](crate::OrMap) of sets, through the handle its update closure receives.
///
/// All mutations made through one handle form ONE delta.
///
/// # Example
///
/// ```
/// use convergent::{Lattice, ReplicaId, causal::Causal, set::SetStore};
///
/// let mut state = Causal::<SetStore<u32>>::default();
/// let before = state.clone();
/// let (delta, added) = state.mutate(ReplicaId::from_u128(1), |h| {
///     h.insert(1);
///     h.insert(2);
///     h.remove(&1)
/// });
/// assert!(added);
/// assert_eq!(before.joined(delta), state);
/// ```
impl<T: Hash + Eq + Clone> Handle<'_, SetStore<T>> {
    /// Inserts `value` under a new dot, replacing the dots it had; returns whether it was absent.
    ///
    /// Delta: `({value: {d}}, {d} ∪ old dots of value)`. `O(1 + old dots)` expected.
    ///
    /// # Panics
    ///
    /// If the replica has made more than [`SetStore::MAX_COUNTER`] events.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::Causal, set::SetStore};
    /// let mut s = Causal::<SetStore<&str>>::default();
    /// let (_, new) = s.mutate(ReplicaId::from_u128(1), |h| h.insert("a"));
    /// assert!(new && s.store().contains("a"));
    /// ```
    pub fn insert(&mut self, value: T) -> bool {
        let next = self.ctx.max(self.replica).saturating_add(1);
        assert!(
            next <= SetStore::<T>::MAX_COUNTER,
            "an OR-Set stores event numbers up to 2^48 - 1 (replica {} reached {next})",
            self.replica
        );
        let had = match self.store.take(&value) {
            Some(old) => {
                for d in old {
                    self.forget(d);
                }
                // An insert earlier in this same mutation is replaced in the delta too.
                if !self.dstore.is_empty() {
                    let _ = self.dstore.take(&value);
                }
                true
            }
            None => false,
        };
        let d = self.mint();
        self.store.add_dot(value.clone(), d);
        if self.dstore.is_empty() {
            // The delta of one insert: no allocation, no indexes (built if a later insert of
            // the same mutation needs them). `next <= MAX_COUNTER` is checked above.
            *self.dstore = SetStore::of_one(value, d);
        } else {
            self.dstore.add_dot(value, d);
        }
        !had
    }

    /// Removes `value`, exactly as far as this replica has seen it; returns whether it was
    /// present. Removing an absent element changes nothing and adds nothing to the delta.
    ///
    /// Delta: `(∅, dots of value)`. `O(1 + its dots)` expected.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::Causal, set::SetStore};
    /// let r = ReplicaId::from_u128(1);
    /// let mut s = Causal::<SetStore<&str>>::default();
    /// let _ = s.mutate(r, |h| h.insert("a"));
    /// let (delta, was) = s.mutate(r, |h| h.remove("a"));
    /// assert!(was && delta.store().is_empty() && delta.context().dot_count() == 1);
    /// ```
    pub fn remove<Q>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(old) = self.store.take(value) else { return false };
        for d in old {
            self.forget(d);
        }
        if !self.dstore.is_empty() {
            let _ = self.dstore.take(value);
        }
        true
    }

    /// Inserts every element of `values` (see [`insert`](Self::insert)). `O(values)` expected.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::Causal, set::SetStore};
    /// let mut s = Causal::<SetStore<u8>>::default();
    /// let (delta, ()) = s.mutate(ReplicaId::from_u128(1), |h| h.insert_all([1, 2, 3]));
    /// assert_eq!(delta.store().len(), 3);
    /// ```
    pub fn insert_all<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for v in values {
            self.insert(v);
        }
    }

    /// Removes every element of `values` (see [`remove`](Self::remove)). `O(values)` expected.
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::Causal, set::SetStore};
    /// let r = ReplicaId::from_u128(1);
    /// let mut s = Causal::<SetStore<u8>>::default();
    /// let _ = s.mutate(r, |h| h.insert_all([1, 2, 3]));
    /// let _ = s.mutate(r, |h| h.remove_all([1, 3]));
    /// assert_eq!(s.store().iter().collect::<Vec<_>>(), [&2]);
    /// ```
    pub fn remove_all<I>(&mut self, values: I)
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        for v in values {
            self.remove(v.borrow());
        }
    }

    /// Removes every element this replica has seen.
    ///
    /// Delta: `(∅, every live dot)`. `O(n log n)` for the `n` live dots (sorted so that the
    /// delta's context is built by appending).
    ///
    /// ```
    /// # use convergent::{ReplicaId, causal::Causal, set::SetStore};
    /// let r = ReplicaId::from_u128(1);
    /// let mut s = Causal::<SetStore<u8>>::default();
    /// let _ = s.mutate(r, |h| h.insert_all([1, 2]));
    /// let (delta, ()) = s.mutate(r, |h| h.clear());
    /// assert!(s.store().is_empty() && delta.context().dot_count() == 2);
    /// ```
    pub fn clear(&mut self) {
        for d in self.store.take_all() {
            self.forget(d);
        }
        let _ = self.dstore.take_all();
    }
}

/// An add-wins observed-remove set: a remove removes exactly the inserts it observed, and an
/// insert concurrent with a remove wins.
///
/// A delta-state CRDT: every mutator returns a small delta (a value of the same type) to send to
/// the other replicas, which [`join`](crate::Lattice::join) it, in any order, any number of
/// times. No tombstones are kept. Reads cost what a hash set's do; memory is about 32 bytes per
/// `u64` element; a join costs what the received delta or state holds, not the size of the set.
///
/// # Example
///
/// ```
/// use convergent::{Lattice, OrSet, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = OrSet::new();
/// let d1 = x.insert(a, "milk");
/// let mut y = OrSet::new();
/// y.join(d1);
///
/// let d2 = x.remove(a, "milk"); // a removes the milk it saw...
/// let d3 = y.insert(b, "milk"); // ...while b adds milk again, concurrently
/// x.join(d3);
/// y.join(d2);
/// assert_eq!(x, y);
/// assert!(x.contains("milk")); // add wins
/// ```
#[derive(Clone)]
pub struct OrSet<T> {
    pub(super) inner: Causal<SetStore<T>>,
}

causal_newtype!([T: Hash + Eq + Clone] OrSet<T> => SetStore<T>);

impl<T: Hash + Eq + Clone> Nested for OrSet<T> {
    type Store = SetStore<T>;
}

impl<T: Hash + Eq + Clone> OrSet<T> {
    /// An empty set that has seen nothing.
    ///
    /// ```
    /// # use convergent::OrSet;
    /// assert!(OrSet::<u8>::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `value` (replacing the inserts of it this replica has seen); returns the delta:
    /// one element and one dot, plus the replaced dots in its context. `O(1)` expected.
    ///
    /// # Panics
    ///
    /// If `replica` has made more than [`SetStore::MAX_COUNTER`] events.
    ///
    /// ```
    /// # use convergent::{Lattice, OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let before = s.clone();
    /// let d = s.insert(ReplicaId::from_u128(1), 5);
    /// assert_eq!(d.len(), 1);
    /// assert_eq!(before.joined(d), s);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn insert(&mut self, replica: ReplicaId, value: T) -> Self {
        self.mutate(replica, |h| {
            h.insert(value);
        })
        .0
    }

    /// Removes `value` as far as this replica has seen it; returns the delta: the observed dots
    /// only, no element, no new dot. Empty (bottom) if `value` is absent. `O(1)` expected.
    ///
    /// ```
    /// # use convergent::{Lattice, OrSet, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut s = OrSet::new();
    /// let _ = s.insert(r, 5);
    /// let d = s.remove(r, &5);
    /// assert!(!s.contains(&5) && d.is_empty() && d.context().dot_count() == 1);
    /// assert!(s.remove(r, &6).is_bottom());
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn remove<Q>(&mut self, replica: ReplicaId, value: &Q) -> Self
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.mutate(replica, |h| {
            h.remove(value);
        })
        .0
    }

    /// Inserts every element of `values`; returns ONE delta for all of them. `O(values)`.
    ///
    /// # Panics
    ///
    /// As [`insert`](Self::insert).
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let d = s.insert_all(ReplicaId::from_u128(1), 0..100);
    /// assert_eq!((s.len(), d.len()), (100, 100));
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn insert_all<I: IntoIterator<Item = T>>(&mut self, replica: ReplicaId, values: I) -> Self {
        self.mutate(replica, |h| h.insert_all(values)).0
    }

    /// Removes every element of `values`; returns ONE delta for all of them. `O(values)`.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut s = OrSet::new();
    /// let _ = s.insert_all(r, 0..10);
    /// let d = s.remove_all(r, [1, 2, 3, 42]);
    /// assert_eq!((s.len(), d.context().dot_count()), (7, 3));
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn remove_all<I>(&mut self, replica: ReplicaId, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        self.mutate(replica, |h| h.remove_all(values)).0
    }

    /// Removes every element this replica has seen; returns the delta (the observed dots).
    /// `O(n log n)`.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let r = ReplicaId::from_u128(1);
    /// let mut s = OrSet::new();
    /// let _ = s.insert_all(r, ["a", "b"]);
    /// let d = s.clear(r);
    /// assert!(s.is_empty() && d.context().dot_count() == 2);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn clear(&mut self, replica: ReplicaId) -> Self {
        self.mutate(replica, |h| h.clear()).0
    }

    /// Runs several mutations through one [`Handle`] and returns their ONE delta, with the
    /// closure's result.
    ///
    /// ```
    /// # use convergent::{Lattice, OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let before = s.clone();
    /// let (d, was_new) = s.mutate(ReplicaId::from_u128(1), |h| {
    ///     h.insert("a");
    ///     h.remove("b");
    ///     h.insert("c")
    /// });
    /// assert!(was_new);
    /// assert_eq!(before.joined(d), s);
    /// ```
    #[must_use = "the delta must be sent to other replicas"]
    pub fn mutate<R>(
        &mut self,
        replica: ReplicaId,
        f: impl FnOnce(&mut Handle<'_, SetStore<T>>) -> R,
    ) -> (Self, R) {
        let (inner, r) = self.inner.mutate(replica, f);
        (Self { inner }, r)
    }

    /// Whether `value` is in the set. `O(1)` expected.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let _ = s.insert(ReplicaId::from_u128(1), String::from("a"));
    /// assert!(s.contains("a"));
    /// ```
    #[must_use]
    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.store.contains(value)
    }
}

impl<T> OrSet<T> {
    /// The number of elements. `O(1)`.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let _ = s.insert_all(ReplicaId::from_u128(1), [3, 1, 3]);
    /// assert_eq!(s.len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.store.len()
    }

    /// Whether the set has no element (it may still have seen, and removed, some). `O(1)`.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// assert!(OrSet::<u8>::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.store.is_empty()
    }

    /// Iterates the elements, in no particular order.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let _ = s.insert_all(ReplicaId::from_u128(1), [2, 1]);
    /// let mut v: Vec<_> = s.iter().copied().collect();
    /// v.sort();
    /// assert_eq!(v, [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        self.inner.store.iter()
    }

    /// The store: the elements and their live dots.
    ///
    /// ```
    /// # use convergent::{OrSet, ReplicaId};
    /// let mut s = OrSet::new();
    /// let _ = s.insert(ReplicaId::from_u128(1), 'x');
    /// assert_eq!(s.store().len(), 1);
    /// ```
    pub fn store(&self) -> &SetStore<T> {
        &self.inner.store
    }

    /// Checks the invariants of the pair: the store's own, and every live dot in the context.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self)
    where
        T: Hash + Eq + Clone,
    {
        self.inner.store.check_invariants();
        assert!(self.inner.store_within_context(), "a live dot outside the context");
    }
}

/// Semantic: the same elements under the same dots, with the same context.
impl<T: Hash + Eq> PartialEq for OrSet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl<T: Hash + Eq> Eq for OrSet<T> {}

/// Shaped like the domain: `{1, 2}` (elements in no particular order).
impl<T: fmt::Debug> fmt::Debug for OrSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner.store, f)
    }
}

impl<'a, T> IntoIterator for &'a OrSet<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

#[cfg(feature = "quickcheck")]
impl<T> quickcheck::Arbitrary for OrSet<T>
where
    T: quickcheck::Arbitrary + Hash + Eq + Clone,
{
    /// A set from a real history: 1 to 3 replicas inserting and removing elements of a small
    /// pool (so that operations conflict), merging at random points.
    ///
    /// The replicas get fresh ids from the generator (a failing seed replays), so that independently generated sets never name the same
    /// event (two histories under one replica id would give one dot two meanings, which no
    /// causal CRDT can merge consistently).
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        use crate::Lattice;
        let pool: alloc::vec::Vec<T> = (0..1 + usize::arbitrary(g) % 4).map(|_| T::arbitrary(g)).collect();
        let n = 1 + usize::arbitrary(g) % 3;
        let ids: alloc::vec::Vec<ReplicaId> = (0..n).map(|_| crate::arbitrary::fresh_replica(g)).collect();
        let mut reps: alloc::vec::Vec<OrSet<T>> = (0..n).map(|_| OrSet::new()).collect();
        let ops = usize::arbitrary(g) % (g.size() + 1);
        for _ in 0..ops {
            let r = usize::arbitrary(g) % n;
            let id = ids[r];
            let e = g.choose(&pool).expect("pool is not empty").clone();
            match u8::arbitrary(g) % 8 {
                0..=3 => drop(reps[r].insert(id, e)),
                4 | 5 => drop(reps[r].remove(id, &e)),
                6 => drop(reps[r].clear(id)),
                _ => {
                    let from = reps[usize::arbitrary(g) % n].clone();
                    reps[r].join(from);
                }
            }
        }
        reps.swap_remove(usize::arbitrary(g) % n)
    }
}

/// A received delta joined by value (its element moved in, `DotStore::join_store_moving`) gives
/// the state a join by reference gives, whatever the delta's shape and however often it arrives.
#[cfg(test)]
mod join_by_value {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::*;
    use crate::Lattice;

    fn rid(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    #[test]
    fn by_value_equals_by_reference_on_a_three_replica_history() {
        // Three replicas insert, remove and re-insert; each delta goes to two receivers, one
        // joining by value and one by reference, in a rotated order with every third delta
        // delivered twice (the second time its dot is already seen).
        let mut reps: Vec<OrSet<String>> = (0..3).map(|_| OrSet::new()).collect();
        let mut deltas = Vec::new();
        for i in 0..60u32 {
            let r = (i % 3) as usize;
            let e = alloc::format!("e{}", i % 7);
            let d = if i % 5 == 4 {
                reps[r].remove(rid(r as u128 + 1), &e)
            } else {
                reps[r].insert(rid(r as u128 + 1), e)
            };
            deltas.push(d);
            if i % 11 == 10 {
                let other = reps[(r + 1) % 3].clone();
                reps[r].join(other);
            }
        }
        let (mut by_value, mut by_ref) = (OrSet::new(), OrSet::new());
        let n = deltas.len();
        for k in 0..n {
            let d = &deltas[(k * 7) % n];
            let again = k % 3 == 0;
            let a = by_value.join(d.clone());
            let b = by_ref.join_ref(d);
            assert_eq!(a, b, "changed, delta {k}");
            if again {
                assert!(!by_value.join(d.clone()), "a delta seen before changes nothing");
                assert!(!by_ref.join_ref(d));
            }
            assert_eq!(by_value, by_ref, "after delta {k}");
            by_value.check_invariants();
        }
        let all = reps.into_iter().fold(OrSet::new(), Lattice::joined);
        assert_eq!(by_value.clone().joined(all.clone()), by_ref.joined(all));
    }

    #[test]
    fn by_value_into_a_full_narrow_store_and_into_a_wide_one() {
        // A narrow store whose replica table is full (65 536 replicas with live elements): the
        // insert delta of a 65 537th replica cannot take the one-dot path, falls back to the
        // general join (which widens the store), and still moves nothing it should not.
        let mut full = OrSet::new();
        for r in 0..(1u128 << 16) {
            let _ = full.insert(rid(r + 10), r as u64);
        }
        assert!(!full.store().is_wide());
        let d = OrSet::new().insert(rid(1 << 40), 1 << 40);
        let (mut a, mut b) = (full.clone(), full);
        assert!(a.join(d.clone()));
        assert!(b.join_ref(&d));
        assert!(a.store().is_wide());
        assert_eq!(a, b);
        // The wide store receives a narrow insert delta by value: the one-dot path, moved.
        let e = OrSet::new().insert(rid(1 << 41), 1 << 41);
        assert!(a.join(e.clone()));
        assert!(b.join_ref(&e));
        assert!(!a.join(e), "seen");
        assert_eq!(a, b);
        assert!(a.contains(&(1 << 41)));
        a.check_invariants();
    }
}
