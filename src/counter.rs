//! Grow-only and positive-negative counters (Almeida, Shoker and Baquero, *Delta State Replicated
//! Data Types*, JPDC 2018, section 4.1 and figure 3; join decomposition from Enes et al., ICDE
//! 2019, section III).
//!
//! A [`GCounter`] maps each replica to the number of increments it made; join is the pointwise
//! maximum and the value is the sum. An increment delta carries the replica's NEW ABSOLUTE count
//! (`{i: 7}`, never "+1"), so deltas survive loss, duplication and reordering. A [`PnCounter`] is
//! two G-Counters, one for increments and one for decrements.
//!
//! Overflow never wraps and never panics: see [`GCounter`'s section on it](GCounter#overflow).
//!
//! Inside an [`OrMap`](crate::OrMap) a counter lives as a causal store ([`GCounterStore`],
//! [`PnCounterStore`]); [`CausalCounter`](crate::CausalCounter) is a counter with an exact reset.

pub(crate) mod causal;
pub(crate) mod gcounter;
pub(crate) mod pncounter;
#[cfg(test)]
mod tests;
#[cfg(feature = "serde")]
mod wire;

pub use crate::limits::MAX_COUNT;
pub use causal::{GCounterStore, PnCounterStore};
pub(crate) use gcounter::GCounter;
pub(crate) use pncounter::PnCounter;
