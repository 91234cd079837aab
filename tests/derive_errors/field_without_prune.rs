// A field of a user's own lattice that does not implement `Prune`: the struct is still a
// lattice, but not `Prune`, so an engine of it cannot retire ids; the error says how to opt in.
use convergent::sync::{Mode, SyncEngine};
use convergent::{Decompose, Lattice, OrSet, ReplicaId};

#[derive(Clone, Debug, PartialEq)]
struct Max(u64);
impl Lattice for Max {
    fn bottom() -> Self {
        Max(0)
    }
    fn is_bottom(&self) -> bool {
        self.0 == 0
    }
    fn join_ref(&mut self, other: &Self) -> bool {
        let changed = other.0 > self.0;
        self.0 = self.0.max(other.0);
        changed
    }
}
impl Decompose for Max {}
impl convergent::Receive for Max {}

#[derive(Clone, Debug, PartialEq, Lattice)]
struct Scores {
    players: OrSet<String>,
    best: Max,
}

fn main() {
    let mut e = SyncEngine::<Scores>::new(ReplicaId::from_u128(1), Mode::DeltaBpRr);
    e.retire(ReplicaId::from_u128(2));
}
