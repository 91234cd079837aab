//! Every value of an arbitrary history through the compact encoding, JSON and sync messages:
//! the same value back, and canonical bytes. First byte: the type (see `dispatch!`).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use testkit::{dispatch, fuzz::round_trip_of};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    dispatch!(sel, round_trip_of(Unstructured::new(rest)));
});
