//! The lattice laws, applied to every type of the crate on realistic multi-replica histories.
//!
//! Each `laws!` line gives a type one test per law (`cargo test --test laws <type>::`), each law
//! checked on 1 000 generated histories (`CONVERGENT_CASES` raises it for soak runs). The laws
//! themselves are written once, in `tests/common/laws.rs`; the instances in
//! `tests/common/subjects.rs`. Counterexamples found are kept below as `regression_*` tests.

mod common;

use common::{check, laws};
#[allow(unused_imports)]
use convergent::{CausalContext, EwFlag, VersionVector};

/// `laws!(module, Type)` checks the lattice laws (and, under the `serde` feature, the encoding);
/// `laws!(module, Type, decompose)` also the join-decomposition and optimal-delta laws.
macro_rules! laws {
    ($m:ident, $t:ty $(, $extra:ident)*) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn commutative() { check(laws::commutative::<$t>) }
            #[test]
            fn associative() { check(laws::associative::<$t>) }
            #[test]
            fn idempotent() { check(laws::idempotent::<$t>) }
            #[test]
            fn bottom_identity() { check(laws::bottom_identity::<$t>) }
            #[test]
            fn order() { check(laws::order::<$t>) }
            #[test]
            fn join_reports_change() { check(laws::join_reports_change::<$t>) }
            #[test]
            fn mutator_delta() { check(laws::mutator_delta::<$t>) }
            #[test]
            fn delta_groups() { check(laws::delta_groups::<$t>) }
            #[cfg(feature = "serde")]
            #[test]
            fn serde_round_trip() { check(laws::serde_round_trip::<$t>) }
            $( laws!(@$extra $t); )*
        }
    };
    (@decompose $t:ty) => {
        #[test]
        fn decomposition() { check(laws::decomposition::<$t>) }
        #[test]
        fn optimal_delta() { check(laws::optimal_delta::<$t>) }
    };
}

laws!(causal_context, CausalContext);
laws!(version_vector, VersionVector);
laws!(ew_flag, EwFlag, decompose);
