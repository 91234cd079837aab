//! Runs `examples/own_lattice.rs`: a user's own lattice through the sync engine, with only
//! `Lattice`, an empty `Decompose` impl and serde.
#![cfg(feature = "serde")]

#[path = "../examples/own_lattice.rs"]
#[allow(dead_code)]
mod own_lattice;

#[test]
fn own_lattice_example_converges() {
    own_lattice::main();
}
