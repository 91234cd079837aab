//! Arbitrary bytes into an enable-wins flag and a causal context: never a panic; anything
//! accepted is valid and joins into a live replica.
#![no_main]

use convergent::{CausalContext, EwFlag, Lattice, ReplicaId, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ctx) = wire::from_bytes::<CausalContext>(data) {
        // Canonical: re-encoding gives the same bytes.
        assert_eq!(wire::to_bytes(&ctx), data);
    }
    if let Ok(flag) = wire::from_bytes::<EwFlag>(data) {
        assert!(flag.as_causal().store_within_context());
        let mut live = EwFlag::new();
        let _ = live.enable(ReplicaId::from_u128(1));
        live.join_ref(&flag);
        assert!(flag.leq(&live));
    }
});
