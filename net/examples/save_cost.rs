//! What a save costs: bytes handed to redb and bytes the process wrote to the block device
//! (`/proc/self/io`), per update, on a small and a large state, for the delta log of
//! `DurableReplica` against rewriting the whole state in every transaction.
//!
//! ```text
//! cargo run -p convergent-net --release --example save_cost
//! ```

use convergent::{Lattice, OrSet, ReplicaId, wire};
use convergent_net::DurableReplica;
use redb::{Database, TableDefinition};

const UPDATES: u64 = 200;

fn written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("write_bytes: ").and_then(|v| v.trim().parse().ok()))
        })
        .unwrap_or(0)
}

fn big_state(me: ReplicaId, n: u32) -> OrSet<u32> {
    let mut s = OrSet::new();
    for i in 0..n {
        let _ = s.insert(me, i);
    }
    s
}

/// The delta log: one transaction per update, holding the delta and the sequence number.
fn delta_log(n: u32) -> (f64, f64) {
    let p = std::env::temp_dir().join(format!("save-cost-log-{n}-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let (store, loaded) = DurableReplica::<OrSet<u32>>::load_or_fresh(&p).expect("open");
    let mut store = store.with_compact_every(1_000_000);
    let me = loaded.id;
    let mut s = big_state(me, n);
    store.append(1, &s.clone(), &s, &Default::default()).expect("save");
    let (before, mut values) = (written(), 0);
    for i in 0..UPDATES {
        let d = s.insert(me, n + i as u32);
        values += store.append(2 + i, &d, &s, &Default::default()).expect("save").bytes;
    }
    let disk = written() - before;
    let _ = std::fs::remove_file(&p);
    (values as f64 / UPDATES as f64, disk as f64 / UPDATES as f64)
}

/// The naive way: the whole state (and the sequence number) rewritten in every transaction.
fn whole_state(n: u32) -> (f64, f64) {
    const T: TableDefinition<&str, &[u8]> = TableDefinition::new("replica");
    let p = std::env::temp_dir().join(format!("save-cost-state-{n}-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let db = Database::create(&p).expect("open");
    let me = ReplicaId::random();
    let mut s = big_state(me, n);
    let (before, mut values) = (written(), 0);
    for i in 0..UPDATES {
        let _ = s.insert(me, n + i as u32);
        let bytes = wire::to_bytes(&s);
        values += bytes.len() as u64 + 8;
        let tx = db.begin_write().expect("tx");
        {
            let mut t = tx.open_table(T).expect("table");
            t.insert("state", &bytes[..]).expect("insert");
            t.insert("seq", &(i + 1).to_le_bytes()[..]).expect("insert");
        }
        tx.commit().expect("commit");
    }
    let disk = written() - before;
    assert!(!s.is_bottom());
    let _ = std::fs::remove_file(&p);
    (values as f64 / UPDATES as f64, disk as f64 / UPDATES as f64)
}

fn main() {
    println!("{UPDATES} updates (one OR-Set insert each), one durable transaction per update\n");
    println!("| state (elements) | save | value bytes / update | bytes written to disk / update |");
    println!("|---|---|---|---|");
    for n in [100u32, 10_000] {
        let (v, d) = delta_log(n);
        println!("| {n} | delta log (`DurableReplica`) | {v:.0} | {d:.0} |");
        let (v, d) = whole_state(n);
        println!("| {n} | whole state each time | {v:.0} | {d:.0} |");
    }
}
