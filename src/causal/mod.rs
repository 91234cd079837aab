//! Causal primitives: replica ids, dots, version vectors, causal contexts and dot stores.
//!
//! Layering: [`lattice`](crate::lattice) → `causal` → the types → `sync`. Nothing here knows the
//! types built on it.

mod context;
mod dot;
mod replica;
mod store;
mod vv;

pub use context::CausalContext;
#[cfg_attr(not(feature = "serde"), allow(unused_imports))]
pub(crate) use context::{Ranges, ranges_canonical};
pub use dot::Dot;
pub use replica::ReplicaId;
pub use store::{Causal, Decompose, DotLog, DotStore, Handle, Nested};
pub use vv::VersionVector;
