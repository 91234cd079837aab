//! Wire-format regressions found by fuzzing and review.
#![cfg(feature = "serde")]

use convergent::{CausalContext, Error, EwFlag, ReplicaId, wire};

/// Found by `fuzz/decode_flag`: postcard reads the over-long varint `[0x80, 0x00]` as 0, so two
/// byte strings decoded to the same empty context. Only the canonical encoding is accepted now.
#[test]
fn regression_overlong_varint_is_rejected() {
    assert_eq!(wire::from_bytes::<CausalContext>(&[1, 0]), Ok(CausalContext::new()));
    assert_eq!(
        wire::from_bytes::<CausalContext>(&[1, 0x80, 0x00]),
        Err(Error::NotCanonical { field: "encoding" })
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    assert_eq!(
        wire::from_bytes::<CausalContext>(&[1, 0, 0]),
        Err(Error::Malformed { field: "bytes.trailing" })
    );
}

#[test]
fn flag_round_trips_and_store_dot_outside_context_is_rejected() {
    let mut f = EwFlag::new();
    let _ = f.enable(ReplicaId::from_u128(1));
    let bytes = wire::to_bytes(&f);
    assert_eq!(wire::from_bytes::<EwFlag>(&bytes), Ok(f.clone()));
    // Layout: version, 1 replica entry (16-byte id, 1 range (gap 0, len-1 0)), store [(0, 1)].
    // Point the store dot at event 2, which the context does not hold.
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    assert_eq!(bad[last], 1);
    bad[last] = 2;
    assert!(wire::from_bytes::<EwFlag>(&bad).is_err());
}
