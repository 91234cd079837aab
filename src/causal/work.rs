//! Test instrumentation: a per-thread count of the work done by the sorted-run merges of dot
//! sets, dot functions and contexts (elements written by a merge, elements shifted by an insert
//! into the middle of a sorted vector, comparisons of a sort), the dots an OR-Set removal touches,
//! and the purges the engine runs on a payload. Tests assert the COUNT at two sizes
//! instead of timing the joins (issue 10, class 1). Compiled away outside the crate's own tests:
//! [`add`] is an empty inline function in every other build.

#[cfg(all(test, feature = "std"))]
std::thread_local! {
    static COUNT: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Adds `n` to this thread's count.
#[inline]
pub(crate) fn add(n: usize) {
    #[cfg(all(test, feature = "std"))]
    COUNT.with(|c| c.set(c.get() + n));
    let _ = n;
}

/// This thread's count, reset to zero.
#[cfg(all(test, feature = "std"))]
pub(crate) fn take() -> usize {
    COUNT.with(|c| c.replace(0))
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::take;
    use crate::causal::{CausalContext, Dot, ReplicaId};
    use crate::{EwFlag, Lattice, MvRegister};

    fn rid(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    /// One live dot of each replica in `lo..hi`, built by a balanced tree of joins.
    fn spread<L: Lattice + Clone>(lo: u128, hi: u128, one: &impl Fn(ReplicaId) -> L) -> L {
        if hi - lo == 1 {
            return one(rid(lo));
        }
        let mid = lo + (hi - lo) / 2;
        spread(lo, mid, one).joined(spread(mid, hi, one))
    }

    /// The work of joining `n` dots that all sort BEFORE the receiver's `n` dots (the worst order
    /// for one-at-a-time inserts: each shifted the whole vector).
    fn worst_join<L: Lattice + Clone>(n: u128, one: &impl Fn(ReplicaId) -> L) -> usize {
        let (low, mut high) = (spread(10, 10 + n, one), spread(10 + n, 10 + 2 * n, one));
        let _ = take();
        assert!(high.join_ref(&low));
        take()
    }

    /// The old join, one sorted insert per incoming dot, counted the same way (shifts): what the
    /// counter shows for a quadratic join.
    fn one_at_a_time(n: u128) -> usize {
        let (low, high) = (
            spread(10, 10 + n, &|r| EwFlag::new().enable(r)),
            spread(10 + n, 10 + 2 * n, &|r| EwFlag::new().enable(r)),
        );
        let mut dots = high.as_causal().store().clone();
        let _ = take();
        for d in low.as_causal().store().iter() {
            let _ = dots.insert(*d);
        }
        take()
    }

    /// Asserts linear work: at most `per` units per element at `n`, and about twice that at `2n`
    /// (at most 2.3x: `n log n` doubles to 2.1-2.2x at these sizes; `n^2` would give 4x).
    fn assert_linear(what: &str, per: usize, n: usize, w1: usize, w2: usize) {
        std::eprintln!("{what}: work {w1} at n = {n}, {w2} at 2n ({:.2}x)", w2 as f64 / w1 as f64);
        assert!(w1 <= per * n, "{what}: {w1} units of work for n = {n}");
        assert!(w2 * 10 <= w1 * 23, "{what}: doubling n took the work from {w1} to {w2}");
    }

    /// Issue 10, class 1: an `EwFlag` join (a dot set) of dots sorting before the receiver's. The
    /// old one-at-a-time inserts shift `n^2 / 2` elements (asserted here through the same
    /// counter, so the counter can see a quadratic join); the merge writes `O(n)`.
    #[test]
    fn class1_flag_join_work_is_linear_in_any_order() {
        let one = |r| EwFlag::new().enable(r);
        let (w1, w2) = (worst_join(8_000, &one), worst_join(16_000, &one));
        assert_linear("flag join (merge)", 8, 8_000, w1, w2);
        let (o1, o2) = (one_at_a_time(8_000), one_at_a_time(16_000));
        std::eprintln!("flag join (one at a time, old): {o1} at n = 8000, {o2} at 2n");
        assert!(o2 > 3 * o1 && o1 > 8_000 * 8_000 / 4, "the counter sees quadratic inserts");
    }

    /// Issue 10, class 1: an `MvRegister` join (a dot function), same shape.
    #[test]
    fn class1_mv_register_join_work_is_linear_in_any_order() {
        let one = |r| MvRegister::new().write(r, 7u8);
        let (w1, w2) = (worst_join(8_000, &one), worst_join(16_000, &one));
        assert_linear("mv-register join", 8, 8_000, w1, w2);
    }

    /// Issue 10, class 1: a context built from dots in descending and in scrambled order (each
    /// its own range): sorted once (`O(n log n)` comparisons), never shifted per dot.
    #[test]
    fn class1_context_from_dots_in_any_order_work_is_n_log_n() {
        let build = |n: u64, scramble: bool| {
            let mut c = CausalContext::new();
            let mut dots: alloc::vec::Vec<Dot> = (0..2 * n).map(|_| c.next_dot(rid(2))).step_by(2).collect();
            dots.reverse();
            if scramble {
                // A fixed permutation: index i goes to i * 7919 mod n (7919 is prime, coprime to n).
                let len = dots.len();
                let src = dots.clone();
                for (i, d) in src.into_iter().enumerate() {
                    dots[i * 7919 % len] = d;
                }
            }
            let _ = take();
            let ctx: CausalContext = dots.into_iter().collect();
            assert_eq!(ctx.range_count() as u64, n);
            take()
        };
        let (w1, w2) = (build(20_000, false), build(40_000, false));
        assert_linear("context from descending dots", 40, 20_000, w1, w2);
        // n log2 n is about 15 n at 20 000; doubling n adds one level: 2.1x.
        let (s1, s2) = (build(20_000, true), build(40_000, true));
        assert_linear("context from scrambled dots", 40, 20_000, s1, s2);
        // The old way, one `insert` per dot in descending order: every insert shifts the ranges.
        let mut c = CausalContext::new();
        let mut dots: alloc::vec::Vec<Dot> = (0..40_000).map(|_| c.next_dot(rid(2))).step_by(2).collect();
        dots.reverse();
        let mut old = CausalContext::new();
        let _ = take();
        dots.into_iter().for_each(|d| assert!(old.insert(d)));
        let o = take();
        std::eprintln!("context from descending dots, one insert at a time (old): work {o} at n = 20000");
        assert!(o > 20_000 * 20_000 / 4, "the counter sees the quadratic inserts");
    }
}
