//! The compile errors of wrong uses of `#[derive(Lattice)]`, pinned in `tests/derive_errors/`
//! (each `.rs` with the `.stderr` the compiler must print). One `TestCases` run: one build of the
//! cases. After a deliberate change of a message: `TRYBUILD=overwrite cargo test --all-features
//! --test derive_errors`, and review the `.stderr` diffs.
#![cfg(all(feature = "derive", feature = "serde"))]

#[test]
fn derive_errors() {
    trybuild::TestCases::new().compile_fail("tests/derive_errors/*.rs");
}
