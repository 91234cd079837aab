//! Replicas as real processes on loopback, in one command: this example starts demo nodes
//! (itself, run with `node`), edits a shared shopping list on all of them under 20% packet loss,
//! and prints what it cost and how long the replicas took to agree. Then it runs the fault
//! scenario (loss, a partition, SIGKILL with restart from disk and with the disk wiped) over
//! several seeds and prints the set check.
//!
//! ```text
//! cargo run -p convergent-net --release --example cluster            # 3 and 8 nodes, 20 seeds
//! cargo run -p convergent-net --release --example cluster -- 5        # 5 seeds
//! ```
//!
//! Each node is `cluster node --bind ADDR [--peer ADDR] --data FILE`, the same as the
//! `convergent-node` binary: you can also start them by hand in a few terminals and type
//! `edit 3`, `digest`, `stats` on their stdin.

use std::path::PathBuf;
use std::time::Duration;

use convergent_net::cluster::{self, Program, RunOptions, RunReport};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("node") {
        let config = convergent_net::demo::parse_args(args.into_iter().skip(1)).expect("node options");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(convergent_net::demo::serve(config)).expect("node");
        return;
    }
    let seeds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(20);
    let program = Program { path: std::env::current_exe().expect("exe"), prefix: vec!["node".into()] };
    let dir =
        |name: &str| std::env::temp_dir().join(format!("convergent-cluster-{name}-{}", std::process::id()));

    println!("## Cost and time to converge, 20% loss all along (no kills)\n");
    println!(
        "| nodes | edits | sync bytes/edit | datagram bytes/edit | membership bytes | converged after | saves | bytes/save (values) | disk bytes/save |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for nodes in [3usize, 8] {
        let d = dir(&format!("measure-{nodes}"));
        let mut o = RunOptions::short(d.clone(), 7);
        o.nodes = nodes;
        o.rounds = 20;
        o.partition = false;
        o.kill_with_disk = false;
        o.kill_wiped = false;
        o.loss_while_converging = 0.2;
        o.converge_timeout = Duration::from_secs(60);
        let r = cluster::run(&program, &o).expect("run");
        let _ = std::fs::remove_dir_all(&d);
        assert!(r.converged && r.lost.is_empty() && r.unexpected.is_empty(), "{r:?}");
        eprintln!("{nodes} nodes: {r:?}");
        let per = |x: u64| x as f64 / r.edits as f64;
        println!(
            "| {nodes} | {} | {:.1} | {:.1} | {} | {:?} | {} | {:.1} | {:.0} |",
            r.edits,
            per(r.sync_bytes),
            per(r.bytes_sent - r.membership_bytes),
            r.membership_bytes,
            r.time_to_converge,
            r.saves,
            r.save_bytes as f64 / r.saves.max(1) as f64,
            r.disk_write_bytes as f64 / r.saves.max(1) as f64,
        );
    }

    println!("\n## Fault runs: 20% loss, a partition, SIGKILL + restart from disk, SIGKILL + wiped disk\n");
    println!(
        "| nodes | seeds | converged | acknowledged inserts | lost | unexpected | max time to converge | replicas replaced |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for nodes in [3usize, 8] {
        let mut all: Vec<RunReport> = Vec::new();
        for seed in 0..seeds {
            let d: PathBuf = dir(&format!("faults-{nodes}-{seed}"));
            let mut o = RunOptions::short(d.clone(), seed);
            o.nodes = nodes;
            o.rounds = 32;
            o.converge_timeout = Duration::from_secs(60);
            let r = cluster::run(&program, &o).expect("run");
            let _ = std::fs::remove_dir_all(&d);
            if !(r.converged && r.lost.is_empty() && r.unexpected.is_empty() && r.restart_ids_ok) {
                println!("seed {seed}: {r:?}");
            }
            all.push(r);
        }
        println!(
            "| {nodes} | {seeds} | {} | {} | {} | {} | {:?} | {} |",
            all.iter().filter(|r| r.converged).count(),
            all.iter().map(|r| r.acknowledged).sum::<usize>(),
            all.iter().map(|r| r.lost.len()).sum::<usize>(),
            all.iter().map(|r| r.unexpected.len()).sum::<usize>(),
            all.iter().map(|r| r.time_to_converge).max().unwrap_or_default(),
            all.iter().map(|r| r.replaced_replicas).sum::<u64>(),
        );
    }
}
