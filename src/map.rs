//! The observed-remove map of nested CRDTs ([`OrMap`](crate::OrMap)) and its dot store ([`MapStore`]).
//!
//! Almeida, Shoker and Baquero, *Delta State Replicated Data Types* (JPDC 2018), section 6.3
//! (`ORMap`): a causal pair of a store `key -> nested dot store` and ONE causal context shared by
//! every nested value. With `m` the store:
//!
//! * `update k with o` = `({k: v'}, c')`, where `(v', c')` is the delta of the nested mutation
//!   `o` run on `m(k)` with the map's context;
//! * `remove k` = `(∅, dots(m(k)))`: an OBSERVED RESET, removing exactly what the remover saw
//!   under the key;
//! * `clear` = `(∅, dots(m))`.
//!
//! Because the nested values share the map's context, every dot of the whole structure is
//! unique, and a remove is exact: an update concurrent with a remove makes dots the remover never
//! saw, so the key survives holding only that concurrent part; nothing the remover saw can come
//! back, whatever the order of merges (this is where the `crdts` crate 7.3.2 goes wrong: its map
//! keeps a context per value and resurrects overwritten register values and removed set
//! elements). A re-added key starts from a clean value.
//!
//! Values are the causal forms of the crate's types, named by [`Nested`](crate::causal::Nested): an
//! `OrMap<K, MvRegister<T>>` holds [`MvStore`](crate::register::MvStore)s, an `OrMap<K, EwFlag>` holds
//! [`DotSet`](crate::causal::DotSet)s, an `OrMap<K1, OrMap<K2, V>>` holds `MapStore<K2, V::Store>`s.
//! Counters and LWW registers live in a map as causal counters and LWW values under dots (see
//! [`ccounter`](crate::counter) for the exact reset semantics of counters).

pub(crate) mod or_map;
pub(crate) mod prune;
mod store;
#[cfg(test)]
mod tests;
#[cfg(feature = "serde")]
mod wire;

pub use store::{Iter, Keys, MapStore, Values};
