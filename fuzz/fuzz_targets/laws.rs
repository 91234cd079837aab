//! The lattice laws and delta-mutator correctness of every type, on the states, deltas and
//! delta-groups of an arbitrary multi-replica history. First byte: the type (see `dispatch!`).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use testkit::{dispatch, fuzz::laws_of};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    dispatch!(sel, laws_of(Unstructured::new(rest)));
});
