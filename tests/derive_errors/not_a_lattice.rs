// A field whose type is not a lattice: one error, at that field.
use convergent::{Lattice, OrSet};

#[derive(Clone, Debug, PartialEq, Lattice)]
struct Basket {
    fruit: OrSet<String>,
    count: u32,
}

fn main() {}
