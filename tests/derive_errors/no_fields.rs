// A struct without fields has nothing to replicate.
use convergent::Lattice;

#[derive(Clone, Lattice)]
struct Nothing;

fn main() {}
