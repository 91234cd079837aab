//! Pruning of retired replica ids: [`Prune`], implemented by every type of this crate.
//!
//! A replica id that will never write again (its process is gone, it restarted under a new id
//! after losing its state, or membership removed it) is *retired*. Without pruning it stays in
//! every context, version vector and counter forever. Pruning takes two steps (the design, its
//! guarantees and its one assumption are in `docs/pruning.md`):
//!
//! 1. **Fold**, once, at one surviving replica, the *heir*: [`Prune::fold`] re-issues the
//!    retired id's live contributions under fresh events of the heir (a live dot becomes a new
//!    dot of the heir carrying the same payload; a counter entry is added to the heir's entry).
//!    The result is an ordinary delta of the heir: joined anywhere, it means what it says.
//! 2. **Purge**, at every replica once it holds the heir's fold: [`Prune::purge`] forgets the
//!    retired id entirely (context entries, counter entries, any live dot still naming it).
//!
//! Purge is not a join: a replica that purged and one that did not converge only if the second
//! purges too before it joins the first's state again, and a late message naming the retired id
//! must be purged before it is joined. The [sync engine](crate::sync::SyncEngine::retire) does
//! both: the retirement record travels with the fold, neighbours acknowledge it before they get
//! any more data, and incoming data is purged while the record lives.

use alloc::vec::Vec;

use crate::causal::{
    Causal, CausalContext, Dot, DotSet, DotStore, FunStore, Handle, ReplicaId, fun_forget, fun_put,
};
use crate::lattice::Lattice;
use crate::map::MapStore;
use crate::set::SetStore;
use crate::{GCounter, LwwRegister, PnCounter};

/// A lattice whose retired replica ids can be folded into a surviving replica and forgotten.
///
/// Both methods have defaults that do nothing (no fold, nothing forgotten): correct for any
/// lattice, only without the savings. Every type of this crate, tuples of them and
/// `#[derive(Lattice)]` structs whose fields all implement it (field by field) implement both.
///
/// Costs: [`fold`](Self::fold) is `O(state)` (it looks for the retired id's live events);
/// [`purge`](Self::purge) is `O(state)`. Both run once per retirement, not per message.
///
/// # Example
///
/// ```
/// use convergent::{GCounter, Lattice, Prune, ReplicaId};
///
/// let (gone, heir) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut at_heir = GCounter::new();
/// let d = at_heir.increment(gone, 5);
/// let mut elsewhere = GCounter::new();
/// elsewhere.join(d);
///
/// let fold = at_heir.fold(gone, heir); // the heir takes over the 5
/// at_heir.purge(gone);
/// elsewhere.join(fold);
/// elsewhere.purge(gone);
/// assert_eq!(elsewhere, at_heir);
/// assert_eq!((at_heir.value(), at_heir.len()), (5, 1)); // same value, one id fewer
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Prune`, so its replica ids cannot be retired",
    label = "not `Prune`",
    note = "a `#[derive(Lattice)]` struct implements `Prune` when every field does; for a lattice of \
            your own, `impl Prune for MyType {{}}` opts it in (folding nothing), or implement `fold` and \
            `purge`"
)]
pub trait Prune: Lattice {
    /// Run by `heir` (and nowhere else, and once): re-issues the live contributions of `retired`
    /// as new events of `heir`, joins them into `self` and returns them as a delta. `self` still
    /// names `retired` afterwards; [`purge`](Self::purge) forgets it.
    ///
    /// Everything of `retired` that `self` does not hold when it folds is lost once replicas
    /// purge: fold only once the retired replica's last events reached the heir.
    ///
    /// ```
    /// use convergent::{Lattice, OrSet, Prune, ReplicaId};
    ///
    /// let (gone, heir) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut s = OrSet::new();
    /// let _ = s.insert(gone, "milk");
    /// let before = s.clone();
    /// let fold = s.fold(gone, heir);
    /// assert_eq!(before.joined(fold), s); // an ordinary delta
    /// assert!(s.contains(&"milk"));
    /// ```
    #[must_use = "the fold is a delta: other replicas must receive it"]
    fn fold(&mut self, retired: ReplicaId, heir: ReplicaId) -> Self {
        let _ = (retired, heir);
        Self::bottom()
    }

    /// Forgets `retired`: its context entries, counter entries and live events. Run by every
    /// replica once it holds the heir's [`fold`](Self::fold), and on data received while the
    /// retirement is known.
    ///
    /// ```
    /// use convergent::{EwFlag, Prune, ReplicaId};
    ///
    /// let (gone, heir) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut f = EwFlag::new();
    /// let _ = f.enable(gone);
    /// let _ = f.fold(gone, heir);
    /// f.purge(gone);
    /// assert!(f.is_enabled());
    /// assert_eq!(f.context().replica_count(), 1); // only the heir
    /// ```
    fn purge(&mut self, retired: ReplicaId) {
        let _ = retired;
    }

    /// `self` with `retired` purged, by value.
    ///
    /// ```
    /// use convergent::{GCounter, Prune, ReplicaId};
    ///
    /// let gone = ReplicaId::from_u128(1);
    /// let mut c = GCounter::new();
    /// let d = c.increment(gone, 3);
    /// assert!(d.purged(gone).is_empty()); // a late delta of a retired id: nothing left
    /// ```
    #[must_use]
    fn purged(mut self, retired: ReplicaId) -> Self {
        self.purge(retired);
        self
    }
}

/// A dot store whose retired replica's live contributions can be moved to the heir, through a
/// [`Handle`] of the heir (so the change is recorded in the fold's delta): what a fold needs.
/// Plumbing: public only because it appears in public bounds; hidden from the docs and not
/// covered by semver.
#[doc(hidden)]
pub trait FoldStore: DotStore {
    /// Replaces the live dots of `retired` by new dots of `h.replica()` meaning the same (for a
    /// counter: adds their totals to the heir's own running totals). `O(store)`.
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId);
}

/// The live dots of `retired`, removed from the state's store and recorded as removed in the
/// delta.
pub(crate) fn forget_retired<S: DotStore>(h: &mut Handle<'_, S>, retired: ReplicaId) -> usize {
    let mut gone: Vec<Dot> = Vec::new();
    h.store.for_each_dot(&mut |d| {
        if d.replica() == retired {
            gone.push(d);
        }
    });
    h.store.retain_dots(&mut |d| d.replica() != retired);
    for &d in &gone {
        h.forget(d);
    }
    gone.len()
}

/// Any number of live enables become ONE enable of the heir: a flag is on whatever their number.
impl FoldStore for DotSet {
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId) {
        if forget_retired(h, retired) > 0 {
            let d = h.mint();
            h.store.insert(d);
            h.dstore.insert(d);
        }
    }
}

/// Each value of the retired replica re-issued under a dot of the heir: the fold of a
/// dot-function store whose payloads are values (an MV-Register's, an LWW store's).
pub(crate) fn fold_values<S: FunStore>(h: &mut Handle<'_, S>, retired: ReplicaId) {
    let mut values = Vec::new();
    fun_forget(h, |d, v| {
        let mine = d.replica() == retired;
        if mine {
            values.push(v.clone());
        }
        mine
    });
    for v in values {
        fun_put(h, v);
    }
}

/// Each element the retired replica holds live gets one dot of the heir instead.
impl<T: core::hash::Hash + Eq + Clone> FoldStore for SetStore<T> {
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId) {
        let mut any = false;
        h.store.for_each_dot(&mut |d| any |= d.replica() == retired);
        if !any {
            return;
        }
        let elems: Vec<T> = h.store.iter().cloned().collect();
        for e in elems {
            let Some(dots) = h.store.take(&e) else { continue };
            let mut folded = false;
            for d in dots {
                if d.replica() == retired {
                    h.forget(d);
                    folded = true;
                } else {
                    h.store.add_dot(e.clone(), d);
                }
            }
            if folded {
                let d = h.mint();
                h.store.add_dot(e.clone(), d);
                h.dstore.add_dot(e, d);
            }
        }
    }
}

/// Every key whose value holds a live dot of the retired replica is folded by its value's store.
impl<K: core::hash::Hash + Eq + Clone, S: FoldStore> FoldStore for MapStore<K, S> {
    fn fold_store(h: &mut Handle<'_, Self>, retired: ReplicaId) {
        crate::map::prune::fold_map(h, retired);
    }
}

/// The context without any dot of `retired`. `O(replicas)`.
fn context_without(ctx: &CausalContext, retired: ReplicaId) -> CausalContext {
    let rs = ctx.ranges_of(&retired);
    if rs.is_empty() {
        return ctx.clone();
    }
    let only = CausalContext::from_canonical_parts(alloc::vec![(retired, rs.iter().copied().collect())])
        .expect("ranges of a canonical context");
    ctx.difference(&only)
}

/// The fold of a causal pair: a mutation by the heir that replaces every live dot of `retired`
/// by the heir's own. The delta's context holds the replaced dots, so that a replica that has
/// not purged yet drops them when it joins the fold: the fold alone never counts twice.
fn fold_causal<S: FoldStore>(c: &mut Causal<S>, retired: ReplicaId, heir: ReplicaId) -> Causal<S> {
    if retired == heir || c.context.ranges_of(&retired).is_empty() {
        return Causal::default();
    }
    c.mutate(heir, |h| S::fold_store(h, retired)).0
}

/// `O(log replicas)` when the context does not name `retired` (every live dot is in the
/// context), `O(state)` otherwise.
fn purge_causal<S: DotStore>(c: &mut Causal<S>, retired: ReplicaId) {
    if c.context.ranges_of(&retired).is_empty() {
        return;
    }
    c.store.retain_dots(&mut |d| d.replica() != retired);
    c.context = context_without(&c.context, retired);
}

impl<S: FoldStore> Prune for Causal<S> {
    fn fold(&mut self, retired: ReplicaId, heir: ReplicaId) -> Self {
        fold_causal(self, retired, heir)
    }

    fn purge(&mut self, retired: ReplicaId) {
        purge_causal(self, retired);
    }
}

/// The retired count is added to the heir's entry (saturating at
/// [`MAX_COUNT`](crate::counter::MAX_COUNT)), then the retired entry is dropped.
impl Prune for GCounter {
    fn fold(&mut self, retired: ReplicaId, heir: ReplicaId) -> Self {
        let n = self.get(retired);
        if retired == heir || n == 0 {
            return GCounter::new();
        }
        self.increment(heir, n)
    }

    fn purge(&mut self, retired: ReplicaId) {
        if self.get(retired) != 0 {
            *self = self.iter().filter(|(r, _)| *r != retired).collect();
        }
    }
}

/// Each half as a [`GCounter`].
impl Prune for PnCounter {
    fn fold(&mut self, retired: ReplicaId, heir: ReplicaId) -> Self {
        let (mut p, mut n) = (self.increments().clone(), self.decrements().clone());
        let delta = PnCounter::from_parts(p.fold(retired, heir), n.fold(retired, heir));
        *self = PnCounter::from_parts(p, n);
        delta
    }

    fn purge(&mut self, retired: ReplicaId) {
        let (p, n) = (self.increments().clone(), self.decrements().clone());
        *self = PnCounter::from_parts(p.purged(retired), n.purged(retired));
    }
}

/// Nothing to do: a register holds one write, whose replica id breaks timestamp ties. It names
/// at most one id whatever the churn, and rewriting it under the heir could reorder it against
/// a concurrent write with the same timestamp.
impl<T: Ord + Clone> Prune for LwwRegister<T> {}

macro_rules! prune_tuples {
    ($(($($T:ident $i:tt),+))+) => {$(
        /// Component by component.
        impl<$($T: Prune + Clone),+> Prune for ($($T,)+) {
            fn fold(&mut self, retired: ReplicaId, heir: ReplicaId) -> Self {
                ($(self.$i.fold(retired, heir),)+)
            }
            fn purge(&mut self, retired: ReplicaId) {
                $(self.$i.purge(retired);)+
            }
        }
    )+};
}

prune_tuples! {
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}
