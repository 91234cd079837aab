//! Replica-id churn without pruning (issue 14): the metadata every value keeps after wiped
//! restarts, and whether a fresh replica can still bootstrap from a snapshot under the default
//! limits. This is the BEFORE measurement of issue 14: pruning of retired ids is not built yet,
//! so every id ever minted stays in every context and version vector.
//!
//! `cargo test --release --all-features --test churn -- --ignored --nocapture` prints the figures
//! for 10^3 and 10^5 churns; the quick test pins the growth at 10^3.

use convergent::{CausalCounter, EwFlag, GCounter, Lattice, OrSet, ReplicaId, wire};

/// A 5-replica cluster where, `churns` times, one replica is wiped and restarts under a new id:
/// it bootstraps from a survivor's snapshot and then writes once (the value is joined back into
/// the cluster at once, as a sync would). Returns the encoded size of the converged value and
/// whether `wire::from_bytes` accepts it under the default limits.
fn churn<T>(churns: u64, write: impl Fn(&mut T, ReplicaId) -> T) -> (usize, bool)
where
    T: Lattice + Clone + serde::Serialize + wire::Decode,
{
    let mut cluster: T = T::bottom();
    for n in 1..=churns {
        let id = ReplicaId::from_u128(u128::from(n));
        // The fresh replica bootstraps from a snapshot of the converged cluster and writes; the
        // cluster joins its delta: the same state as writing on the converged value itself.
        let _ = write(&mut cluster, id);
    }
    let bytes = wire::to_bytes(&cluster);
    (bytes.len(), wire::from_bytes::<T>(&bytes).is_ok())
}

fn report(churns: u64) -> Vec<(&'static str, usize, bool)> {
    vec![
        ("EwFlag", churn::<EwFlag>(churns, |f, r| f.enable(r))),
        ("CausalCounter", churn::<CausalCounter>(churns, |c, r| c.increment(r, 1))),
        ("GCounter", churn::<GCounter>(churns, |c, r| c.increment(r, 1))),
        ("OrSet<u8>", churn::<OrSet<u8>>(churns, |s, r| s.insert(r, 1))),
    ]
    .into_iter()
    .map(|(n, (b, ok))| (n, b, ok))
    .collect()
}

/// Without pruning, a value's metadata grows with every id ever seen: ~18 bytes per churn (a
/// 16-byte id and its counter), whatever the live state.
#[test]
fn without_pruning_metadata_grows_with_every_churn() {
    for (name, bytes, ok) in report(1_000) {
        println!("{name}: {bytes} bytes after 10^3 churns, decodes under default limits: {ok}");
        assert!(bytes > 16 * 1_000, "{name}: {bytes} bytes");
        assert!(ok);
    }
}

#[test]
#[ignore = "measurement: 10^5 churns (run in release)"]
fn churn_figures() {
    for churns in [1_000, 100_000] {
        for (name, bytes, ok) in report(churns) {
            println!("{name}: {churns} churns: {bytes} bytes, decodes under default limits: {ok}");
        }
    }
}
