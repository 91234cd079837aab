//! # convergent: delta-state CRDTs
//!
//! (crate docs: see README)
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod macros;

pub mod causal;
pub mod clock;
pub mod error;
pub mod lattice;
#[cfg(feature = "serde")]
pub mod wire;

mod flag;

pub mod ccounter;
mod lwwstore;
mod map;
mod mvreg;

pub use causal::{
    Causal, CausalContext, Decompose, Dot, DotLog, DotStore, Handle, Nested, ReplicaId, VersionVector,
};
pub use ccounter::{CausalCounter, GCounterStore, PnCounterStore};
pub use clock::{HybridClock, Timestamp};
pub use error::{Error, Limits};
pub use flag::{DotSet, EwFlag};
pub use lattice::Lattice;
pub use lwwstore::LwwStore;
pub use map::{CheckInvariants, Iter as MapIter, Keys as MapKeys, MapStore, OrMap, Values as MapValues};
pub use mvreg::{MvRegister, MvStore, MvValues};
