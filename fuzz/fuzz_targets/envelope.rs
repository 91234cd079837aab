//! Protocol version 2: arbitrary bytes into `sync::Envelope` of every type, delivered to an
//! engine with the digest handshake and chunking (first input byte even), or two engines
//! resynchronising through digests and chunks under arbitrary loss, duplication, reordering
//! and injected handshake and chunk messages (odd). Second byte: the type (see `dispatch!`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use testkit::dispatch;
use testkit::fuzz::{envelope_decode_of, handshake_of};

fuzz_target!(|data: &[u8]| {
    let [mode, sel, rest @ ..] = data else { return };
    if mode % 2 == 0 {
        dispatch!(sel, envelope_decode_of(rest));
    } else {
        dispatch!(sel, handshake_of(rest));
    }
});
