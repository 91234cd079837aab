//! Deltas of an arbitrary history delivered in any order, duplicated and grouped: every receiver
//! ends at the full-state merge. First byte: the type (see `dispatch!`).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use testkit::{dispatch, fuzz::convergence_of};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    dispatch!(sel, convergence_of(Unstructured::new(rest)));
});
