// A field mutator takes a delta mutator of the field: a closure that returns the field's
// delta. One that returns nothing is refused, with the type it must return.
use convergent::{Lattice, OrSet, ReplicaId};

#[derive(Clone, Debug, PartialEq, Lattice)]
struct Tags {
    tags: OrSet<String>,
}

fn main() {
    let mut t = Tags::bottom();
    let _ = t.update_tags(|tags| {
        let _ = tags.insert(ReplicaId::from_u128(1), "x".into());
    });
}
