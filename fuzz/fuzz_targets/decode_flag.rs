//! Arbitrary bytes into an enable-wins flag and the causal building blocks (causal context,
//! version vector, dot): never a panic; anything accepted is valid, canonical (re-encodes to the
//! same bytes) and joins into a live value.
#![no_main]

use convergent::{
    CausalContext, Dot, EwFlag, Lattice, ReplicaId,
    causal::{CheckInvariants, VersionVector},
    counter::MAX_COUNT,
    wire,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    if let Ok(ctx) = wire::from_bytes::<CausalContext>(data) {
        // Canonical: re-encoding gives the same bytes.
        assert_eq!(wire::to_bytes(&ctx), data);
        assert_eq!(ctx.check_invariants(), Ok(()));
        let mut live = CausalContext::new();
        let _ = live.next_dot(a);
        let _ = live.next_dot(b);
        let before = live.clone();
        live.join_ref(&ctx);
        assert!(ctx.leq(&live) && before.leq(&live));
        assert_eq!(live.check_invariants(), Ok(()));
    }
    if let Ok(vv) = wire::from_bytes::<VersionVector>(data) {
        assert_eq!(wire::to_bytes(&vv), data);
        let v: Vec<(ReplicaId, u64)> = vv.iter().collect();
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0), "version vector not sorted");
        assert!(v.iter().all(|&(_, n)| n > 0 && n <= MAX_COUNT), "version vector entry out of range");
        let mut live = VersionVector::new();
        live.raise(a, 3);
        live.join_ref(&vv);
        assert!(vv.leq(&live));
    }
    if let Ok(d) = wire::from_bytes::<Dot>(data) {
        assert_eq!(wire::to_bytes(&d), data);
        assert!(d.counter() > 0);
    }
    if let Ok(flag) = wire::from_bytes::<EwFlag>(data) {
        assert_eq!(wire::to_bytes(&flag), data);
        assert!(flag.as_causal().store_within_context());
        assert_eq!(flag.check_invariants(), Ok(()));
        let mut live = EwFlag::new();
        let _ = live.enable(a);
        live.join_ref(&flag);
        assert!(flag.leq(&live));
        assert_eq!(live.check_invariants(), Ok(()));
    }
});
