//! The durable replica: no state means a new id, a save costs the delta, compaction, and a file
//! that is not ours is an error, not a panic.

use std::path::PathBuf;

use convergent::{Lattice, OrSet, ReplicaId};
use convergent_net::DurableReplica;

fn file(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("convergent-net-store-{name}-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn no_stored_state_means_a_new_id_and_a_stored_one_is_kept() {
    let p = file("ids");
    let (store, first) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).unwrap();
    assert!(first.fresh && first.state.is_bottom() && first.seq == 0);
    drop(store);
    let (store, again) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).unwrap();
    assert_eq!((again.id, again.fresh), (first.id, false));
    drop(store);
    std::fs::remove_file(&p).unwrap();
    let (_, wiped) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).unwrap();
    assert!(wiped.fresh);
    assert_ne!(wiped.id, first.id, "a lost file must never bring back the old id");
    let _ = std::fs::remove_file(&p);
}

/// A save costs the delta, not the state: the same one-element delta costs the same bytes on a
/// state of 100 elements and on one of 10 000.
#[test]
fn a_save_costs_the_delta_not_the_state() {
    let mut costs = Vec::new();
    for n in [100u32, 10_000] {
        let p = file(&format!("cost-{n}"));
        let (store, loaded) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).unwrap();
        let mut store = store.with_compact_every(1_000_000);
        let me = loaded.id;
        let mut s = loaded.state;
        let mut big = OrSet::new();
        for i in 0..n {
            let _ = big.insert(me, i);
        }
        s.join_ref(&big);
        store.append(1, &big, &s, &Default::default()).unwrap();
        let d = s.insert(me, n + 1);
        let c = store.append(2, &d, &s, &Default::default()).unwrap();
        assert!(!c.compacted);
        costs.push(c.bytes);
        drop(store);
        let (_, back) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).unwrap();
        assert_eq!((back.seq, back.state.len()), (2, n as usize + 1));
        assert_eq!(back.state, s);
        let _ = std::fs::remove_file(&p);
    }
    // The element and its event number are varints: 101 vs 10 001 take 1 vs 2 bytes each.
    assert!(costs[1] <= costs[0] + 4, "bytes per save must not grow with the state: {costs:?}");
    assert!(costs[0] < 64, "one insert delta: {} bytes", costs[0]);
}

#[test]
fn compaction_folds_the_log_into_the_state() {
    let p = file("compact");
    let (store, loaded) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).unwrap();
    let mut store = store.with_compact_every(8);
    let mut s = loaded.state;
    let mut compactions = 0;
    for i in 0..20u32 {
        let d = s.insert(loaded.id, i);
        compactions +=
            u32::from(store.append(u64::from(i) + 1, &d, &s, &Default::default()).unwrap().compacted);
        assert!(store.log_entries() <= 8);
    }
    assert_eq!(compactions, 2);
    drop(store);
    let (_, back) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).unwrap();
    assert_eq!((back.seq, back.state.clone()), (20, s));
    let _ = std::fs::remove_file(&p);
}

#[test]
fn a_file_that_is_not_a_replica_is_an_error() {
    let p = file("garbage");
    std::fs::write(&p, vec![0x5a; 8192]).unwrap();
    assert!(DurableReplica::<OrSet<u32>>::load_or_fresh(&p).is_err());
    let _ = std::fs::remove_file(&p);
    // A replica of another type: its state does not decode.
    let (mut store, l) = DurableReplica::<OrSet<String>>::load_or_fresh(&p).unwrap();
    let mut s = l.state;
    let d = s.insert(ReplicaId::from_u128(1), "x".repeat(40));
    store.append(1, &d, &s, &Default::default()).unwrap();
    drop(store);
    assert!(DurableReplica::<convergent::GCounter>::load_or_fresh(&p).is_err());
    let _ = std::fs::remove_file(&p);
}
