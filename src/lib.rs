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
//! * `quickcheck`: `quickcheck::Arbitrary` impls, built from realistic multi-replica histories
//!   (deterministic from the generator's seed).
//! * `sim`: a deterministic network simulator for the sync engine (`convergent::sim`).
//!
//! ## Layout
//!
//! [`Lattice`] and [`Decompose`] → [`causal`] primitives (ids, dots, contexts, dot stores) → the
//! types by family ([`counter`], [`register`], the flag, [`set`], [`map`]) → the wire format
//! ([`wire`]), [`Limits`], [`Error`] and validated receipt ([`Receive`]) → [`sync`]. The types sit
//! at the crate root; a family's module holds its in-map stores and iterators.
//!
//! Without default features the crate is `no_std` + `alloc`.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod macros;

// Layer 1: the lattice.
mod lattice;
// Layer 2: causal primitives.
pub mod causal;
mod clock;
// Layer 3: the types, by family.
pub mod counter;
mod flag;
pub mod map;
pub mod register;
pub mod set;
// Layer 4: format, limits, errors, receipt.
mod error;
mod limits;
mod receive;
#[cfg(feature = "serde")]
pub mod wire;
// Composites: tuples of lattices, and what `#[derive(Lattice)]` generates code against.
#[doc(hidden)]
#[path = "derive.rs"]
pub mod __private;
mod tuple;
// Pruning of retired replica ids.
mod prune;
// Layer 5: sync (and its simulator).
#[cfg(feature = "sim")]
pub mod sim;
pub mod sync;

#[cfg(feature = "quickcheck")]
mod arbitrary;

pub use causal::context::CausalContext;
pub use causal::dot::Dot;
pub use causal::replica::ReplicaId;
pub use clock::{HybridClock, Timestamp};
/// `#[derive(Lattice)]`: a struct of lattices as one replicated type (feature `derive`, on by
/// default). See the README's "your own type" section and [`convergent_derive::Lattice`].
#[cfg(feature = "derive")]
pub use convergent_derive::Lattice;
pub use counter::causal::CausalCounter;
pub use counter::gcounter::GCounter;
pub use counter::pncounter::PnCounter;
pub use error::Error;
pub use flag::EwFlag;
pub use lattice::{Decompose, Lattice};
pub use limits::Limits;
pub use map::or_map::OrMap;
pub use prune::Prune;
pub use receive::{Receive, ReceivePolicy};
pub use register::lww::LwwRegister;
pub use register::mv::MvRegister;
pub use set::or_set::OrSet;

// Crate-internal short paths (not public).
pub(crate) use causal::{Causal, DotLog, Nested};
pub(crate) use counter::{GCounterStore, PnCounterStore};
pub(crate) use register::LwwStore;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
