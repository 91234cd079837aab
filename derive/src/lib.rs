//! `#[derive(Lattice)]` for [`convergent`](https://docs.rs/convergent): a struct whose fields are
//! lattices becomes one replicated type.
//!
//! Use it through `convergent` (the `derive` feature, on by default), which re-exports it next to
//! the `Lattice` trait of the same name:
//!
//! ```ignore
//! use convergent::{Lattice, LwwRegister, OrMap, OrSet, PnCounter};
//!
//! #[derive(Clone, Debug, PartialEq, Lattice)]
//! struct ShoppingList {
//!     title: LwwRegister<String>,
//!     tags: OrSet<String>,
//!     items: OrMap<String, PnCounter>,
//! }
//! ```
//!
//! What it generates is listed on [`macro@Lattice`]. This crate holds the parsing and the code
//! generation only; the traits it implements live in `convergent`, and every path into
//! `convergent` is written in one module (`api`), so the generated code follows the library's
//! API in one place.
#![forbid(unsafe_code)]

mod api;
mod model;

use proc_macro::TokenStream;

/// Makes a struct of lattices one replicated type. Every field must be a lattice: a type of
/// `convergent`, a tuple of them, or another `#[derive(Lattice)]` struct. Named and tuple
/// structs, generic parameters and `where` clauses are supported; each generated impl requires
/// of every field type exactly the capability it uses.
///
/// Generated for `struct S { a: A, b: B }` (all field by field, in declaration order):
///
/// * `Lattice`: `bottom` is every field's bottom; `join` joins every field and reports a change if
///   ANY field changed (every field is joined: no short circuit); `leq` holds if it holds for every
///   field (the product order).
/// * `Decompose`: the irreducibles of each field, each completed with the other fields' bottoms;
///   `delta` is the field-wise optimal delta.
/// * `Prune` (retirement of replica ids, for `SyncEngine::retire`), when every field is `Prune`:
///   `fold` is the struct of the fields' folds, `purge` purges every field. A field of a user's
///   own lattice without `Prune` leaves the struct without it (`impl Prune for MyType {}` opts
///   such a type in, folding nothing).
/// * `Serialize` / `Deserialize` (with `convergent`'s `serde` feature): the fields in order, as
///   serde's own derive would write them (postcard: the fields' encodings back to back; JSON: an
///   object, or an array for a tuple struct).
/// * `Decode`: each field decoded in turn under the caller's limits, every error wrapped in
///   `Error::Field` naming the field (`"items"`, or `"0"` in a tuple struct).
/// * Receipt validation: every field against the receiver's same field (own events from the
///   future in every causal field, clock skew, conflicting payloads, replica limits), all fields
///   validated before anything is joined. The error is the field's own, not wrapped, so that
///   `Error::OwnDotFromFuture` reads the same whatever the type of the state.
/// * The invariant checker: every field's.
/// * Per-field delta mutators: `s.update_a(|a| a.mutate(..))` runs a mutator of field `a` and
///   returns its delta as a delta of the whole struct (the other fields bottom); and
///   `s.transact(|tx| { tx.update_a(..).update_b(..); })`, which mutates several fields and returns
///   ONE delta (`update_0`, `update_1`, ... in a tuple struct). The transaction type is
///   `STransaction`, with the struct's visibility; each mutator has its field's visibility.
///
/// A field whose type is not a lattice is a compile error pointing at that field's type.
///
/// The container attribute `#[lattice(crate = "path")]` names the `convergent` crate when it is
/// reachable under another path (a renamed dependency or a re-export).
///
/// **Not an `OrMap` value (yet).** A map stores each value as a dot store that shares the map's
/// causal context, so that removing a key is an observed reset of exactly the events seen under
/// it. A derived struct would need a generated companion store (one field per field, each the
/// field's in-map store, joined field by field against the one shared context: sound, since
/// every dot lives in exactly one field), its wire form, receipt and invariant checks, `Nested`
/// for the struct, and mutators reached through the map's handle (an extension trait on the
/// handle giving a handle on one field's store). Those store traits are hidden plumbing of
/// `convergent` today; making them a supported target for generated code is its own API
/// decision. Meanwhile, key several maps alike (`OrMap<K, PnCounter>` and `OrMap<K,
/// LwwRegister<String>>` in one derived struct), or nest maps.
#[proc_macro_derive(Lattice, attributes(lattice))]
pub fn derive_lattice(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    match model::Struct::parse(&input) {
        Ok(s) => api::expand(&s).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
