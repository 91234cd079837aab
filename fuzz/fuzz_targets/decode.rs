//! Arbitrary bytes into every type and into `sync::Message` of it: never a panic; anything
//! accepted is valid, canonical, and joins into a live replica. First byte: the type (see
//! `dispatch!`); the rest is the encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use testkit::{dispatch, fuzz::decode_of};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    dispatch!(sel, decode_of(rest));
});
