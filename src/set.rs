//! The add-wins observed-remove set ([`OrSet`](crate::OrSet)) and its causal store ([`SetStore`]).
//!
//! This is the `AWORSet` of Almeida, Shoker and Baquero (*Delta State Replicated Data Types*,
//! JPDC 2018): a causal pair of a store `element -> dots` and a causal context. With `d` the next
//! dot of the replica and `m` the store,
//!
//! * `insert e` = `({e: {d}}, {d} ∪ m(e))`: one element, one new dot, and the element's old dots
//!   in the context, so a re-insert replaces them rather than piling up;
//! * `remove e` = `(∅, m(e))`: the observed dots only, no element bytes, no new dot;
//! * `clear` = `(∅, dots(m))`.
//!
//! Add wins: a remove removes exactly the inserts it observed, so an insert concurrent with it
//! survives. There are no tombstones: a removed element leaves nothing behind but its dots in the
//! context, which the context holds as ranges anyway.

pub(crate) mod or_set;
mod store;
#[cfg(test)]
mod tests;
#[cfg(feature = "serde")]
mod wire;

pub use store::{Iter, SetStore};
