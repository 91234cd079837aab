//! Convergence: however the deltas of a history travel (in order, shuffled, duplicated,
//! pre-joined into groups, through optimal deltas), every replica ends where full-state merging
//! ends, and all replicas read the same.
//!
//! The laws are written once, in the test kit (`testkit::laws`).

#[allow(unused_imports)]
use convergent::causal::VersionVector;
#[allow(unused_imports)]
use convergent::{
    CausalContext, CausalCounter, EwFlag, GCounter, LwwRegister, MvRegister, OrMap, OrSet, PnCounter,
};
use testkit::{check, laws};

macro_rules! convergence {
    ($m:ident, $t:ty $(, $extra:ident)*) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn delivery_orders() { check(laws::delivery_orders::<$t>) }
            #[test]
            fn anti_entropy() { check(laws::anti_entropy::<$t>) }
            $( convergence!(@$extra $t); )*
        }
    };
    (@decompose $t:ty) => {
        #[test]
        fn optimal_delta_sync() { check(laws::optimal_delta_sync::<$t>) }
    };
}

convergence!(causal_context, CausalContext);
convergence!(version_vector, VersionVector);
convergence!(g_counter, GCounter, decompose);
convergence!(pn_counter, PnCounter, decompose);
convergence!(lww_register, LwwRegister<u8>, decompose);
convergence!(ew_flag, EwFlag, decompose);
convergence!(or_set, OrSet<u8>, decompose);
convergence!(mv_register, MvRegister<u8>, decompose);
convergence!(causal_counter, CausalCounter, decompose);
convergence!(map_of_flags, OrMap<u8, EwFlag>, decompose);
convergence!(map_of_sets, OrMap<u8, OrSet<u8>>, decompose);
convergence!(map_of_mv_registers, OrMap<u8, MvRegister<u8>>, decompose);
convergence!(map_of_causal_counters, OrMap<u8, CausalCounter>, decompose);
convergence!(map_of_g_counters, OrMap<u8, GCounter>, decompose);
convergence!(map_of_pn_counters, OrMap<u8, PnCounter>, decompose);
convergence!(map_of_lww_registers, OrMap<u8, LwwRegister<u8>>, decompose);
convergence!(map_of_maps_of_sets, OrMap<u8, OrMap<u8, OrSet<u8>>>, decompose);
convergence!(map_of_maps_of_mv_registers, OrMap<u8, OrMap<u8, MvRegister<u8>>>, decompose);
convergence!(map_of_maps_of_counters, OrMap<u8, OrMap<u8, PnCounter>>, decompose);
convergence!(map3_of_flags, OrMap<u8, OrMap<u8, OrMap<u8, EwFlag>>>, decompose);
