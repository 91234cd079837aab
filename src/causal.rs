//! Causal primitives: replica ids, dots, version vectors, causal contexts, and the dot stores the
//! causal types are built of ([`DotSet`], the dot function, [`Causal`] pairs).
//!
//! Layering: [`Lattice`](crate::Lattice) → `causal` → the types → format, limits, errors,
//! receipt → [`sync`](crate::sync). Nothing here knows the types built on it.

pub(crate) mod context;
pub(crate) mod dot;
mod dot_fun;
mod dot_set;
mod invariants;
pub(crate) mod replica;
mod store;

/// The seal of the store traits ([`DotStore`], and through it `ReceiveStore` and `WireStore`):
/// each store of this crate implements it beside its `DotStore` impl (`fun_dot_store!` does, for
/// the dot-function stores). A store of another crate would bypass the invariants that joins,
/// receipt and the wire format rely on.
pub(crate) mod sealed {
    /// Implemented by this crate's dot stores only.
    #[allow(unnameable_types)] // NOTE: unnameable on purpose: that is the seal.
    pub trait Sealed {}
}

mod vv;
#[cfg(feature = "serde")]
mod wire;
#[cfg(feature = "serde")]
pub(crate) use wire::read_causal_body;
pub(crate) mod work;

pub use crate::prune::FoldStore;
pub use crate::receive::ReceiveStore;
#[cfg_attr(not(feature = "serde"), allow(unused_imports))]
pub(crate) use context::{Ranges, ranges_canonical};
#[cfg(feature = "serde")]
pub(crate) use dot_fun::decode_fun;
pub(crate) use dot_fun::{DotFun, FunPayload, FunStore, fun_forget, fun_put};
pub use dot_set::DotSet;
pub use invariants::CheckInvariants;
pub use store::{Causal, DotLog, DotStore, Handle, Nested};

pub(crate) use crate::{CausalContext, Dot, ReplicaId};
pub use vv::VersionVector;
