//! Composite subjects: a tuple of subjects is a subject (each operation acts on one component),
//! and [`project`] gives a component's specification from the composite's history, for the
//! structs of `#[derive(Lattice)]` in the tests.

use convergent::ReplicaId;

use crate::{Event, OpCx, Ops, Rng, Subject, ops_in};

/// An operation on one component of a pair.
#[derive(Clone, Debug)]
pub enum Part2<A, B> {
    /// On the first component.
    First(A),
    /// On the second component.
    Second(B),
}

/// The history of one component: the events whose operation `pick` maps to one of the
/// component's, renumbered, with their pasts and `visible` restricted to them. A component of a
/// product lattice evolves by its own operations only, so its specification on this history is
/// what the composite must read in that component.
pub fn project<T: Subject, P: Subject>(
    events: &[Event<T>],
    visible: Ops,
    pick: impl Fn(&T::Op) -> Option<P::Op>,
) -> (Vec<Event<P>>, Ops) {
    let mut index = vec![None; events.len()];
    let mut out = Vec::new();
    for (k, e) in events.iter().enumerate() {
        if let Some(op) = pick(&e.op) {
            index[k] = Some(out.len());
            out.push(Event { replica: e.replica, id: e.id, op, past: 0, causal: e.causal });
        }
    }
    let remap = |m: Ops| ops_in(m).filter_map(|k| index[k]).fold(0, |acc: Ops, j| acc | 1 << j);
    for (k, e) in events.iter().enumerate() {
        if let Some(j) = index[k] {
            out[j].past = remap(e.past);
        }
    }
    (out, remap(visible))
}

/// A pair of subjects: each operation acts on one component (chosen at random), through the
/// component's own operations; the read is the pair of reads; the specification is each
/// component's on its own projection of the history.
impl<A: Subject, B: Subject> Subject for (A, B) {
    type Op = Part2<A::Op, B::Op>;
    type Read = (A::Read, B::Read);

    fn gen_op(rng: &mut Rng, cx: &OpCx<'_>, state: &Self) -> Self::Op {
        if rng.chance(50) {
            Part2::First(A::gen_op(rng, cx, &state.0))
        } else {
            Part2::Second(B::gen_op(rng, cx, &state.1))
        }
    }

    fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self {
        match op {
            Part2::First(o) => (self.0.apply(replica, o), B::bottom()),
            Part2::Second(o) => (A::bottom(), self.1.apply(replica, o)),
        }
    }

    fn read(&self) -> Self::Read {
        (self.0.read(), self.1.read())
    }

    fn check(&self) -> Result<(), String> {
        self.0.check().map_err(|e| format!("0: {e}"))?;
        self.1.check().map_err(|e| format!("1: {e}"))
    }

    fn spec(events: &[Event<Self>], visible: Ops) -> Option<Self::Read> {
        let (ea, va) = project::<Self, A>(events, visible, |op| match op {
            Part2::First(o) => Some(o.clone()),
            Part2::Second(_) => None,
        });
        let (eb, vb) = project::<Self, B>(events, visible, |op| match op {
            Part2::First(_) => None,
            Part2::Second(o) => Some(o.clone()),
        });
        Some((A::spec(&ea, va)?, B::spec(&eb, vb)?))
    }
}
