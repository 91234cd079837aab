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

/// The checks of a fault run that failed: every replica's whole state equal (`diverged`), the
/// set check (`lost`, `unexpected`), and the restarted processes' ids.
fn failures(r: &RunReport) -> Vec<&'static str> {
    let mut f = Vec::new();
    if !r.converged || r.diverged > 0 {
        f.push("diverged");
    }
    if !r.lost.is_empty() {
        f.push("lost");
    }
    if !r.unexpected.is_empty() {
        f.push("unexpected");
    }
    if !r.restart_ids_ok {
        f.push("ids");
    }
    f
}

fn check(r: &RunReport, what: &str) {
    eprintln!("{what}: {r:?}");
    assert!(r.converged && r.diverged == 0, "{what}: did not converge ({} replicas differ)", r.diverged);
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

/// The scenario of the next two tests: two processes (every change has one path only; with
/// three, BP+RR forwards each change to a node by both others, which hides a node that loses
/// what it acknowledged), loss, a partition, a SIGKILL with restart from disk, then two rounds
/// of probes (each node in turn inserts once more on the quiet network; see
/// [`RunOptions::probes`]). The wait for convergence is long (60 s, for a loaded machine) but
/// ends as soon as the run converges or settles: every node caught up with its neighbour for
/// 1 s while the states differ (the protocol believes it is done), so neither variant depends
/// on how long the machine takes.
fn two_process_options(name: &str, bug: Option<u32>) -> RunOptions {
    let mut o = RunOptions::short(dir(name), 3);
    o.nodes = 2;
    o.bug_ack_without_applying = bug;
    o.converge_timeout = Duration::from_secs(60);
    o.stop_when_settled = Some(Duration::from_secs(1));
    o.probes = 2;
    o
}

/// Two processes with loss, a partition and a kill converge without losing an acknowledged
/// insert, and every probe after the run reaches the other replica (the correct build of the
/// next test's scenario: it must pass).
#[test]
fn two_processes_with_loss_partition_and_a_kill_converge_without_losing_acknowledged_inserts() {
    let o = two_process_options("two", None);
    let r = cluster::run(&program(), &o).unwrap();
    let _ = std::fs::remove_dir_all(&o.dir);
    check(&r, "two processes");
    assert!(!r.settled_diverged);
}

/// The test can fail: node 0 acknowledges every 2nd new delta-group, snapshot or part it
/// receives without applying it (a deliberately broken build). Its peer then never resends
/// what it lacks, and the full-state comparison catches it once the protocol has settled
/// (both sides caught up, states unequal), not after a timeout.
///
/// What the run itself drops may all be repaired before the final check (a later delta-group
/// sent before the lying acknowledgement came back covers the dropped one; the digest
/// handshake of a restarted or reconnecting neighbour sends everything missing): a catch that
/// depended on the last rounds' timing, and once let the broken node through. The probes
/// cannot be repaired: on the quiet network node 1's two probes are the only new messages
/// node 0 receives, one at a time, so one of them is its turn to drop, whatever the
/// scheduling, and nothing sends it again.
/// (On three processes the third one forwards every change too, and the broken node ends up
/// whole: the bug is real, the final state cannot show it.)
#[test]
fn the_fault_test_catches_a_node_that_acknowledges_without_applying() {
    let o = two_process_options("bug-ack", Some(2));
    let r = cluster::run(&program(), &o).unwrap();
    let _ = std::fs::remove_dir_all(&o.dir);
    let f = failures(&r);
    eprintln!("ack without applying: caught by {f:?}: {r:?}");
    assert!(f.contains(&"diverged"), "the broken node was not caught: {r:?}");
}

/// The counterexample of the test above, reduced: a run whose own drops were all repaired
/// before the final check (in CI: 46 inserts acknowledged, none lost, 4 digest answers, and
/// the broken node was not caught). Here the run has no rounds at all, so nothing happens
/// before the probes: they alone must catch the broken node. On the quiet network node 1's
/// second probe is the second new message node 0 receives, its turn to drop.
#[test]
fn the_probes_alone_catch_a_node_that_acknowledges_without_applying() {
    let mut o = two_process_options("bug-ack-probes", Some(2));
    o.rounds = 0;
    let r = cluster::run(&program(), &o).unwrap();
    let _ = std::fs::remove_dir_all(&o.dir);
    let f = failures(&r);
    eprintln!("ack without applying, probes only: caught by {f:?}: {r:?}");
    assert!(f.contains(&"diverged") && r.settled_diverged, "the broken node was not caught: {r:?}");
    assert!(
        r.lost.len() == 1 && r.lost[0].starts_with("ack:1:probe1:"),
        "node 1's second probe is lost on node 0: {r:?}"
    );
}

/// The test can fail: the wiped node comes back under its OLD id (a deliberately broken build).
/// It re-issues event numbers its peers have seen, so its new inserts are dropped as old news
/// and it refuses its peers' states as its own events from the future: the full-state
/// comparison and the set check catch it, whatever the process says about its id. The catch
/// does not wait for anything: the states can never become equal (the wiped node's inserts
/// after its restart reach no peer, at any speed), so the short wait (2 s) only bounds the
/// test's time.
#[test]
fn the_fault_test_catches_a_wiped_node_that_reuses_its_id() {
    let d = dir("bug-reuse");
    let mut o = RunOptions::short(d.clone(), 1);
    o.bug_reuse_id_after_wipe = true;
    o.converge_timeout = Duration::from_secs(2);
    let r = cluster::run(&program(), &o).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    let f = failures(&r);
    eprintln!("reused id: caught by {f:?}: {r:?}");
    assert!(f.contains(&"diverged") || f.contains(&"lost"), "the broken node was not caught: {r:?}");
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

/// Pruning between processes: node 2 is wiped and restarted four times (a new replica id
/// each time), one round apart. The lowest live id off node 2's address retires each old id;
/// once quiet, every state names only live replica ids, all converge, and the set check still
/// finds nothing lost or unasked.
///
/// Failed once in about 110 runs (`stale_replicas` held one old id, 3 of 4 retired): a node
/// that got a replacement notice late already saw a newer incarnation of node 2 with a lower
/// id, took it for the heir, and nobody told it (reduced to the unit test
/// `node::tests::a_later_incarnation_on_the_wiped_address_is_never_the_heir`).
///
/// What a run does not guarantee: that a given node sees every incarnation (a short-lived one
/// may come and go between two of its membership updates, and it sees one replacement for
/// two wipes), nor which node is the heir, nor that the heir's counters survive (node 0 or 1
/// may be the one killed and restarted from disk). So the counts are checked for "at least
/// one"; the guarantee is that no old id is named.
#[test]
fn wiped_restarts_are_retired_so_states_name_only_live_replicas() {
    let d = dir("prune");
    let mut o = RunOptions::short(d.clone(), 4);
    o.wipes = 4;
    o.await_pruned = true;
    let r = cluster::run(&program(), &o).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    check(&r, "pruning run");
    assert!(r.replaced_replicas >= 1, "a wipe was seen as a replacement: {r:?}");
    assert!(r.retired_as_heir >= 1, "a heir retired an old id: {r:?}");
    assert!(r.stale_replicas.is_empty(), "retired ids still named: {:?}", r.stale_replicas);
    assert!(
        r.named_replicas <= o.nodes,
        "states name {} ids for {} live replicas",
        r.named_replicas,
        o.nodes
    );
}
