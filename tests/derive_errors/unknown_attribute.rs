// The one container attribute is `crate = "path"`.
use convergent::{GCounter, Lattice};

#[derive(Clone, Lattice)]
#[lattice(skip)]
struct Hits {
    count: GCounter,
}

fn main() {}
