// A generic struct is a lattice for the parameters its fields accept: `OrSet<f64>` is not one
// (set elements are `Hash + Eq`), and the error names the field that needs the bound.
use convergent::{Lattice, OrSet};

#[derive(Clone, Lattice)]
struct Tagged<T: Clone> {
    tags: OrSet<T>,
}

fn main() {
    let _ = Tagged::<f64>::bottom();
}
