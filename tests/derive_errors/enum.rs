// An enum has no join: the derive refuses it and says what to use instead.
use convergent::Lattice;

#[derive(Clone, Lattice)]
enum Status {
    Open,
    Closed,
}

fn main() {}
