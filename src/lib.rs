//! # convergent: delta-state CRDTs
//!
//! Conflict-free replicated data types whose replicas accept writes anywhere, at any time, and
//! converge once they have exchanged their updates, whatever the network did to the messages
//! (loss, duplication, delay, reordering).
//!
//! ## Concepts
//!
//! * **Join.** Every type implements [`Lattice`]: [`join`](Lattice::join) is commutative,
//!   associative and idempotent, so delivering states in any order, any number of times, gives the
//!   same result.
//! * **Deltas.** Every mutation returns a *delta*: a small value of the same type, merged with the
//!   same `join` as a full state. Send deltas, not states; a join of deltas is again a delta.
//! * **Causal context.** The causal types ([`OrSet`], [`OrMap`], [`MvRegister`], [`EwFlag`],
//!   [`CausalCounter`]) name every event by a [`Dot`] and remember every event seen in a
//!   [`CausalContext`]. That is what makes removes exact without tombstones: a remove removes
//!   exactly the events its replica had seen, and nothing else.
//!
//! ## Two replicas that converge
//!
//! ```
//! use convergent::{Lattice, OrSet, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut a = OrSet::new();
//! let mut b = OrSet::new();
//!
//! let d1 = a.insert(alice, "milk");
//! b.join_ref(&d1); // bob sees milk
//! let d2 = b.remove(bob, &"milk"); // bob removes it...
//! let d3 = a.insert(alice, "milk"); // ...while alice adds it again, concurrently
//!
//! a.join(d2);
//! b.join(d3);
//! assert_eq!(a, b);
//! assert!(a.contains(&"milk")); // add wins over a concurrent remove
//! ```
//!
//! ## What is not provided
//!
//! No sequence/text CRDTs, no transport, no persistence. The `sync` engine decides what to send
//! and when; moving bytes and storing states is the application's job.
//!
//! ## Features
//!
//! * `std` (default): random replica ids, the system clock for [`HybridClock::now`].
//! * `serde` (default): compact deterministic encoding ([`wire`]), validated on the way in.
//! * `quickcheck`: `quickcheck::Arbitrary` impls, built from realistic multi-replica histories.
//!
//! Without default features the crate is `no_std` + `alloc`.
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
pub mod receive;
pub mod sync;
#[cfg(feature = "serde")]
pub mod wire;

mod counter;
mod flag;
mod register;

#[cfg(feature = "quickcheck")]
mod arbitrary;
mod set;

pub mod ccounter;
mod lwwstore;
mod map;
mod mvreg;

pub use causal::{
    Causal, CausalContext, Decompose, Dot, DotLog, DotStore, Handle, Nested, ReplicaId, VersionVector,
};
pub use ccounter::{CausalCounter, GCounterStore, PnCounterStore};
pub use clock::{HybridClock, Timestamp};
pub use counter::{GCounter, PnCounter};
pub use error::{Error, Limits, MAX_COUNT};
pub use flag::{DotSet, EwFlag};
pub use lattice::Lattice;
pub use lwwstore::LwwStore;
pub use map::{CheckInvariants, Iter as MapIter, Keys as MapKeys, MapStore, OrMap, Values as MapValues};
pub use mvreg::{MvRegister, MvStore, MvValues};
pub use receive::{Receive, ReceivePolicy, ReceiveStore};
pub use register::LwwRegister;
pub use set::{OrSet, SetIter, SetStore};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
