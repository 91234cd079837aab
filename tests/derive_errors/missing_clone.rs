// Deltas are values of the struct itself: it must be `Clone` (a decomposition copies it).
use convergent::{GCounter, Lattice};

#[derive(Debug, PartialEq, Lattice)]
struct Hits {
    count: GCounter,
}

fn main() {}
