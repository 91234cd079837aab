//! Real processes on loopback: the demo node binary, driven over stdin/stdout.

use std::path::PathBuf;
use std::time::Duration;

use convergent_net::cluster::{self, Program, RunOptions, RunReport};

fn program() -> Program {
    Program { path: PathBuf::from(env!("CARGO_BIN_EXE_convergent-node")), prefix: Vec::new() }
}

fn dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("convergent-net-{name}-{}", std::process::id()))
}

fn check(r: &RunReport, what: &str) {
    eprintln!("{what}: {r:?}");
    assert!(r.converged, "{what}: did not converge");
    assert!(r.lost.is_empty(), "{what}: lost {:?}", r.lost);
    assert!(r.unexpected.is_empty(), "{what}: unexpected {:?}", r.unexpected);
    assert!(r.restart_ids_ok, "{what}: a restart from disk must keep its id, a wiped one must not");
    assert!(r.acknowledged > 0);
}

/// Three processes, 20% loss, a partition, a SIGKILL with restart from disk and one with the
/// disk wiped: all converge, no acknowledged insert is lost, nothing unasked appears.
#[test]
fn three_processes_with_loss_partition_kills_and_restarts_converge_without_losing_acknowledged_inserts() {
    let d = dir("short");
    let r = cluster::run(&program(), &RunOptions::short(d.clone(), 1)).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    check(&r, "short run");
    assert!(r.replaced_replicas > 0, "the wiped replica's new id was taken in by a rename");
}

/// The long run: 20 seeds of the short scenario with 3 nodes and 20 with 8 nodes.
/// `cargo test -p convergent-net --release -- --ignored --nocapture`
#[test]
#[ignore = "long: about a minute per seed on 2 cores"]
fn long_run_many_seeds() {
    for nodes in [3usize, 8] {
        for seed in 0..20 {
            let d = dir(&format!("long-{nodes}-{seed}"));
            let mut o = RunOptions::short(d.clone(), seed);
            o.nodes = nodes;
            o.rounds = 40;
            o.converge_timeout = Duration::from_secs(60);
            let r = cluster::run(&program(), &o).unwrap();
            let _ = std::fs::remove_dir_all(&d);
            check(&r, &format!("{nodes} nodes seed {seed}"));
        }
    }
}

/// Messages larger than a datagram: 300-byte datagrams chunk every snapshot and most
/// delta-groups, under the same faults.
#[test]
fn small_datagrams_chunk_messages_and_still_converge() {
    let d = dir("chunked");
    let mut o = RunOptions::short(d.clone(), 2);
    o.max_datagram = Some(300);
    let r = cluster::run(&program(), &o).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    check(&r, "chunked run");
    assert!(r.chunked > 0, "messages were chunked");
}
