//! A multi-process fault run: demo nodes ([`crate::demo`]) as real OS processes on loopback,
//! random edits, packet loss, a partition, SIGKILL and restart (with the disk, and with the disk
//! wiped), then quiet; every replica must converge, and a set check over every acknowledged
//! insert counts what was lost and what appeared unasked.
//!
//! Used by the crate's tests (a short run in `cargo test`, long runs ignored by default) and by
//! the `cluster` example.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How to start a demo node process: a program and the arguments before the node's own (for the
/// `cluster` example, which runs itself with a `node` argument).
#[derive(Clone, Debug)]
pub struct Program {
    /// The executable.
    pub path: PathBuf,
    /// Arguments before `--bind ...`.
    pub prefix: Vec<String>,
}

/// One node process, driven over its stdin/stdout.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// The replica id it printed at start.
    pub id: String,
    /// Its address.
    pub addr: SocketAddr,
    /// Whether it started without stored state.
    pub fresh: bool,
}

impl Proc {
    /// Starts a node and waits for its `ready` line (30 s at most).
    ///
    /// # Errors
    ///
    /// A message if the process cannot start or does not report ready.
    pub fn spawn(program: &Program, args: &[String]) -> Result<Proc, String> {
        let mut child = Command::new(&program.path)
            .args(&program.prefix)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", program.path.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines.recv_timeout(Duration::from_secs(30)).map_err(|_| "no ready line".to_string())?;
        let w: Vec<&str> = ready.split_whitespace().collect();
        if w.len() != 4 || w[0] != "ready" {
            return Err(format!("unexpected start line {ready:?}"));
        }
        Ok(Proc {
            child,
            stdin,
            lines,
            id: w[1].to_string(),
            addr: w[2].parse().map_err(|_| "bad address")?,
            fresh: w[3] == "fresh",
        })
    }

    /// Sends one command and waits for its reply line (30 s at most: a loaded machine may
    /// starve the process for seconds; an answer ends the wait).
    ///
    /// # Errors
    ///
    /// A message if the process is gone or does not answer.
    pub fn cmd(&mut self, line: &str) -> Result<String, String> {
        writeln!(self.stdin, "{line}").map_err(|e| format!("write {line:?}: {e}"))?;
        self.stdin.flush().map_err(|e| e.to_string())?;
        self.lines.recv_timeout(Duration::from_secs(30)).map_err(|_| format!("no reply to {line:?}"))
    }

    /// Bytes this process caused to be written to storage so far (`write_bytes` of
    /// `/proc/PID/io`; 0 where that is not available).
    #[must_use]
    pub fn disk_write_bytes(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/io", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| l.strip_prefix("write_bytes: ").and_then(|v| v.trim().parse().ok()))
            })
            .unwrap_or(0)
    }

    /// SIGKILL: no chance to save anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `quit`, then waits for the process.
    pub fn quit(mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// The `stats` line parsed into `(key, value)` pairs.
    ///
    /// # Errors
    ///
    /// As [`cmd`](Self::cmd).
    pub fn stats(&mut self) -> Result<Vec<(String, String)>, String> {
        let s = self.cmd("stats")?;
        Ok(s.split_whitespace()
            .skip(1)
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a fault run does.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Node processes.
    pub nodes: usize,
    /// Seed of the edits and of every node's randomness.
    pub seed: u64,
    /// Share of datagrams dropped during the run (not during the quiet phase).
    pub loss: f64,
    /// Rounds of edits (every live node edits once per round).
    pub rounds: usize,
    /// Random edits per node per round (plus one acknowledged insert).
    pub edits_per_round: u32,
    /// Pause between rounds.
    pub round_pause: Duration,
    /// Split the nodes in two halves for a quarter of the rounds.
    pub partition: bool,
    /// SIGKILL node 1 and restart it from its disk.
    pub kill_with_disk: bool,
    /// SIGKILL node 2, wipe its disk and restart it (a new replica id, same address).
    pub kill_wiped: bool,
    /// How many times node 2 is wiped and restarted (with `kill_wiped`), spread over the last
    /// quarter of the rounds.
    pub wipes: usize,
    /// Also wait, once quiet, until no replica's state names a replica id that is not live
    /// (every retired id pruned; the nodes retire replaced ids by default), up to
    /// `converge_timeout`.
    pub await_pruned: bool,
    /// Where the nodes keep their files.
    pub dir: PathBuf,
    /// Longest wait for convergence once quiet.
    pub converge_timeout: Duration,
    /// Largest datagram (the node's default, 1200, if `None`): small values force chunking.
    pub max_datagram: Option<usize>,
    /// Share of datagrams dropped while converging (0 for a quiet network; the measurement
    /// runs keep the loss on).
    pub loss_while_converging: f64,
    /// Tests of the test: node 0 acknowledges every N-th received delta-group without applying
    /// it ([`InjectedBug::AckWithoutApplying`](crate::InjectedBug)).
    pub bug_ack_without_applying: Option<u32>,
    /// Tests of the test: the wiped node comes back under its old id
    /// ([`InjectedBug::ReuseIdAfterWipe`](crate::InjectedBug)).
    pub bug_reuse_id_after_wipe: bool,
    /// Stop waiting for convergence, and report [`RunReport::settled_diverged`], once every
    /// live node has had all its neighbours caught up (each acknowledged everything the node
    /// holds), every node the same number of members and of neighbours, and the same
    /// unequal states for this long: the protocol believes it is done while the replicas
    /// differ, which a correct build never does, so waiting longer only waits for a
    /// membership event to paper over it. `None` (the default) waits for convergence up to
    /// `converge_timeout`.
    pub stop_when_settled: Option<Duration>,
    /// Once the run converged: this many rounds of probes, each live node in turn making one
    /// more tracked insert on the quiet network, each followed by a wait for convergence (or
    /// settling). Each probe starts with every node converged and caught up (every neighbour
    /// acknowledged everything it holds), so it sends exactly one new delta-group to each
    /// neighbour (a resend has the same sequence number), and no repair comes after it (no
    /// edits, no reconnection: no overlapping delta-group, no digest handshake). A replica
    /// that acknowledges a change without applying it keeps the gap, where during the run the
    /// digest handshake of a reconnecting neighbour may have filled every gap before the final
    /// check. 0 (the default): none.
    pub probes: usize,
}

impl RunOptions {
    /// The short run of `cargo test`: 3 nodes, 20% loss, a partition, both kinds of restart.
    /// The waits end as soon as their condition holds; their bounds (60 s to converge) are for
    /// a loaded machine.
    #[must_use]
    pub fn short(dir: PathBuf, seed: u64) -> Self {
        RunOptions {
            nodes: 3,
            seed,
            loss: 0.2,
            rounds: 24,
            edits_per_round: 2,
            round_pause: Duration::from_millis(60),
            partition: true,
            kill_with_disk: true,
            kill_wiped: true,
            wipes: 1,
            await_pruned: false,
            dir,
            converge_timeout: Duration::from_secs(60),
            loss_while_converging: 0.0,
            max_datagram: None,
            bug_ack_without_applying: None,
            bug_reuse_id_after_wipe: false,
            stop_when_settled: None,
            probes: 0,
        }
    }
}

/// What a fault run measured.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Every replica ended with the same state (the whole state: its canonical encoding, not
    /// only the visible elements).
    pub converged: bool,
    /// Replicas whose final state differs from the one most replicas hold.
    pub diverged: usize,
    /// With [`RunOptions::stop_when_settled`]: the run stopped because every node had all its
    /// neighbours caught up while the states still differed (a divergence the protocol will
    /// not repair by itself).
    pub settled_diverged: bool,
    /// From the last edit to equal digests everywhere.
    pub time_to_converge: Duration,
    /// Edits made (random edits and tracked inserts).
    pub edits: u64,
    /// Tracked inserts acknowledged (saved) by their node.
    pub acknowledged: usize,
    /// Acknowledged inserts missing from the final state.
    pub lost: Vec<String>,
    /// Tracked elements in the final state that were never attempted.
    pub unexpected: Vec<String>,
    /// Sync message bytes sent by all nodes (without frame headers), summed over processes
    /// alive at the end (killed processes' counters are lost with them).
    pub sync_bytes: u64,
    /// All datagram bytes sent by those processes, membership included.
    pub bytes_sent: u64,
    /// Of which membership (SWIM).
    pub membership_bytes: u64,
    /// Snapshots sent.
    pub snapshots: u64,
    /// Answers to digests sent (what a neighbour lacked, in place of a snapshot).
    pub digest_answers: u64,
    /// Sync bytes sent by kind: delta-groups, snapshots, acknowledgements.
    pub delta_bytes: u64,
    /// See `delta_bytes`.
    pub snapshot_bytes: u64,
    /// See `delta_bytes`: acknowledgements of groups and of parts.
    pub ack_bytes: u64,
    /// See `delta_bytes`: parts of groups and snapshots over the datagram budget.
    pub chunk_bytes: u64,
    /// Sync messages sent in more than one frame.
    pub chunked: u64,
    /// Frames dropped because they were addressed to an earlier incarnation.
    pub misaddressed: u64,
    /// Times a node saw a member come back under a new replica id.
    pub replaced_replicas: u64,
    /// Whether the restarted-from-disk node kept its id, and the wiped one got a new one.
    pub restart_ids_ok: bool,
    /// The most replica ids any final state names (the live ones, when every retired id was
    /// pruned).
    pub named_replicas: usize,
    /// Replica ids some final state names that no live process has (not pruned).
    pub stale_replicas: Vec<String>,
    /// Ids retired by their heir (summed over the processes alive at the end).
    pub retired_as_heir: u64,
    /// Processes that learned their own id was retired and rejoined under a new one.
    pub rejoined: u64,
    /// Saves by the processes alive at the end (local updates, and received changes before
    /// their acknowledgement).
    pub saves: u64,
    /// Bytes of values handed to redb by those saves.
    pub save_bytes: u64,
    /// Bytes those processes caused to be written to the block device (`/proc/PID/io`).
    pub disk_write_bytes: u64,
}

fn stat(s: &[(String, String)], key: &str) -> u64 {
    s.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse().ok()).unwrap_or(0)
}

fn node_args(
    o: &RunOptions,
    bind: SocketAddr,
    peer: Option<SocketAddr>,
    data: &Path,
    seed: u64,
    bug: Option<String>,
) -> Vec<String> {
    let mut a = vec!["--bind".to_string(), bind.to_string(), "--data".into(), data.display().to_string()];
    if let Some(b) = bug {
        a.extend(["--bug".to_string(), b]);
    }
    if let Some(m) = o.max_datagram {
        a.extend(["--max-datagram".to_string(), m.to_string()]);
    }
    if let Some(p) = peer {
        a.extend(["--peer".to_string(), p.to_string()]);
    }
    a.extend(["--seed".to_string(), seed.to_string()]);
    a
}

/// Runs the scenario. Every node process is ended before this returns.
///
/// # Errors
///
/// A message if a process could not be started or stopped answering.
pub fn run(program: &Program, o: &RunOptions) -> Result<RunReport, String> {
    let _ = std::fs::remove_dir_all(&o.dir);
    std::fs::create_dir_all(&o.dir).map_err(|e| e.to_string())?;
    let data = |i: usize| o.dir.join(format!("node{i}.redb"));
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut procs: Vec<Option<Proc>> = Vec::new();
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let first = Proc::spawn(
        program,
        &node_args(
            o,
            any,
            None,
            &data(0),
            o.seed,
            o.bug_ack_without_applying.map(|n| format!("ack-without-applying:{n}")),
        ),
    )?;
    let seed_addr = first.addr;
    procs.push(Some(first));
    for i in 1..o.nodes {
        procs.push(Some(Proc::spawn(
            program,
            &node_args(o, any, Some(seed_addr), &data(i), o.seed + i as u64, None),
        )?));
    }
    let addrs: Vec<SocketAddr> = procs.iter().flatten().map(|p| p.addr).collect();
    // Everyone sees everyone (a bounded wait that ends as soon as they do: generous for a
    // loaded machine, where the test binaries run their process tests side by side).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut all = true;
        for p in procs.iter_mut().flatten() {
            all &= p.cmd("members")? == format!("members {}", o.nodes - 1);
        }
        if all {
            break;
        }
        if Instant::now() > deadline {
            return Err("membership did not form".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let set_faults = |procs: &mut Vec<Option<Proc>>, loss: f64, split: bool| -> Result<(), String> {
        for (i, p) in procs.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            let half = i < o.nodes / 2;
            let blocked: Vec<String> = if split {
                (0..o.nodes).filter(|&j| (j < o.nodes / 2) != half).map(|j| addrs[j].to_string()).collect()
            } else {
                Vec::new()
            };
            p.cmd(&format!("faults {loss} {}", blocked.join(",")))?;
        }
        Ok(())
    };
    set_faults(&mut procs, o.loss, false)?;
    let mut report = RunReport { restart_ids_ok: true, ..RunReport::default() };
    let mut attempted = BTreeSet::new();
    let mut acked = BTreeSet::new();
    let (p_start, p_end) = (o.rounds / 4, o.rounds / 2);
    let (kill_at, restart_at) = (o.rounds * 9 / 16, o.rounds * 5 / 8);
    let wipe_rounds: BTreeSet<usize> =
        (0..o.wipes).map(|k| o.rounds * 3 / 4 + k * (o.rounds / 4) / o.wipes.max(1)).collect();
    let mut killed_id = None;
    for round in 0..o.rounds {
        if o.partition && round == p_start {
            set_faults(&mut procs, o.loss, true)?;
        }
        if o.partition && round == p_end {
            set_faults(&mut procs, o.loss, false)?;
        }
        if o.kill_with_disk && o.nodes > 1 && round == kill_at {
            if let Some(p) = procs[1].take() {
                killed_id = Some(p.id.clone());
                p.kill();
            }
        }
        if o.kill_with_disk && o.nodes > 1 && round == restart_at {
            let mut p =
                Proc::spawn(program, &node_args(o, addrs[1], Some(seed_addr), &data(1), o.seed + 101, None))?;
            report.restart_ids_ok &= !p.fresh && Some(&p.id) == killed_id.as_ref();
            p.cmd(&format!("faults {}", o.loss))?;
            procs[1] = Some(p);
        }
        if o.kill_wiped && o.nodes > 2 && wipe_rounds.contains(&round) {
            wipe_and_restart(program, o, &mut procs, &data(2), addrs[2], seed_addr, &mut report, &acked)?;
        }
        for (i, p) in procs.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            p.cmd(&format!("edit {}", o.edits_per_round))?;
            let e = format!("ack:{i}:{round}:{}", rng.random::<u32>());
            attempted.insert(e.clone());
            report.edits += u64::from(o.edits_per_round) + 1;
            if p.cmd(&format!("insert {e}"))? == "ok" {
                acked.insert(e);
            }
        }
        if round + 1 < o.rounds {
            std::thread::sleep(o.round_pause);
        }
    }
    // Quiet: no partition, no edits (and no loss, unless measuring under loss).
    set_faults(&mut procs, o.loss_while_converging, false)?;
    let quiet = Instant::now();
    await_convergence(&mut procs, o, &mut report, false)?;
    report.time_to_converge = quiet.elapsed();
    if report.converged && o.probes > 0 {
        // Every probe starts caught up: nothing in flight.
        await_convergence(&mut procs, o, &mut report, true)?;
        'probes: for k in 0..o.probes {
            for i in 0..procs.len() {
                if !report.converged {
                    break 'probes;
                }
                let Some(p) = procs[i].as_mut() else { continue };
                let e = format!("ack:{i}:probe{k}:{}", rng.random::<u32>());
                attempted.insert(e.clone());
                report.edits += 1;
                if p.cmd(&format!("insert {e}"))? == "ok" {
                    acked.insert(e);
                }
                await_convergence(&mut procs, o, &mut report, true)?;
            }
        }
    }
    let (named, stale) = named_replicas(&mut procs)?;
    report.named_replicas = named;
    report.stale_replicas = stale;
    report.acknowledged = acked.len();
    let mut finals: Vec<BTreeSet<String>> = Vec::new();
    for p in procs.iter_mut().flatten() {
        let line = p.cmd("elements")?;
        finals.push(line.split_whitespace().skip(1).map(String::from).collect());
        let s = p.stats()?;
        report.sync_bytes += stat(&s, "sync_bytes_sent");
        report.bytes_sent += stat(&s, "bytes_sent");
        report.membership_bytes += stat(&s, "membership_bytes_sent");
        report.snapshots += stat(&s, "snapshots_sent");
        report.digest_answers += stat(&s, "digest_answers");
        let bytes_of = |k: &str| -> u64 {
            s.iter()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| v.split('/').nth(1)?.parse().ok())
                .unwrap_or(0)
        };
        report.delta_bytes += bytes_of("sent_Delta");
        report.snapshot_bytes += bytes_of("sent_Snapshot");
        report.chunk_bytes += bytes_of("sent_Chunk");
        report.ack_bytes += bytes_of("sent_Ack") + bytes_of("sent_ChunkAck");
        report.misaddressed += stat(&s, "misaddressed");
        report.chunked += stat(&s, "chunked_sent");
        report.replaced_replicas += stat(&s, "replaced_replicas");
        report.retired_as_heir += stat(&s, "retired_as_heir");
        report.rejoined += stat(&s, "rejoined");
        report.saves += stat(&s, "saves");
        report.save_bytes += stat(&s, "save_bytes");
        report.disk_write_bytes += p.disk_write_bytes();
    }
    // The set check, against every replica.
    let mut lost = BTreeSet::new();
    let mut unexpected = BTreeSet::new();
    for f in &finals {
        lost.extend(acked.difference(f).cloned());
        unexpected.extend(f.difference(&attempted).cloned());
    }
    report.lost = lost.into_iter().collect();
    report.unexpected = unexpected.into_iter().collect();
    for p in procs.into_iter().flatten() {
        p.quit();
    }
    Ok(report)
}

/// Waits for every replica to hold the same state (and with `await_pruned`, no retired id
/// named), up to `converge_timeout`, or until the run settled unequal (see
/// [`RunOptions::stop_when_settled`]). `caught_up`: converged counts only once every node also
/// has all its neighbours caught up (nothing in flight), up to the same timeout. Sets
/// `converged`, `diverged`, `settled_diverged` and, with `await_pruned`, the named replicas.
fn await_convergence(
    procs: &mut [Option<Proc>],
    o: &RunOptions,
    report: &mut RunReport,
    caught_up: bool,
) -> Result<(), String> {
    let start = Instant::now();
    let mut settled_since: Option<(Instant, Vec<String>)> = None;
    loop {
        let mut digests: BTreeMap<String, usize> = BTreeMap::new();
        let mut each = Vec::new();
        for p in procs.iter_mut().flatten() {
            let d = p.cmd("digest")?;
            let d = d.split_whitespace().nth(1).unwrap_or("").to_string();
            *digests.entry(d.clone()).or_default() += 1;
            each.push(d);
        }
        let live = procs.iter().flatten().count();
        report.diverged = live - digests.values().copied().max().unwrap_or(0);
        report.converged = digests.len() == 1;
        if report.converged && o.await_pruned {
            let (named, stale) = named_replicas(procs)?;
            report.named_replicas = named;
            report.stale_replicas = stale;
        }
        if report.converged
            && (!o.await_pruned || report.stale_replicas.is_empty())
            && (!caught_up || all_caught_up(procs)?)
        {
            return Ok(());
        }
        if let Some(settle) = o.stop_when_settled.filter(|_| !report.converged) {
            if all_caught_up(procs)? {
                match &settled_since {
                    Some((since, was)) if *was == each => {
                        if since.elapsed() >= settle {
                            report.settled_diverged = true;
                            return Ok(());
                        }
                    }
                    _ => settled_since = Some((Instant::now(), each)),
                }
            } else {
                settled_since = None;
            }
        }
        if start.elapsed() > o.converge_timeout {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Whether every live node has neighbours, all of them caught up, and all nodes agree on the
/// number of members and of neighbours (so no membership change is under way).
fn all_caught_up(procs: &mut [Option<Proc>]) -> Result<bool, String> {
    let mut seen = BTreeSet::new();
    for p in procs.iter_mut().flatten() {
        let s = p.stats()?;
        let get = |k: &str| s.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let (caught, neighbours) = get("caught_up")
            .split_once('/')
            .map_or((0, 0), |(a, b)| (a.parse::<usize>().unwrap_or(0), b.parse::<usize>().unwrap_or(0)));
        if neighbours == 0 || caught != neighbours {
            return Ok(false);
        }
        seen.insert((get("members"), neighbours));
    }
    Ok(seen.len() == 1)
}

/// The most replica ids a live process's state names, and the ids named that no live process
/// has (asked with `id`: a process may have rejoined under a new one).
fn named_replicas(procs: &mut [Option<Proc>]) -> Result<(usize, Vec<String>), String> {
    let mut live = BTreeSet::new();
    for p in procs.iter_mut().flatten() {
        let line = p.cmd("id")?;
        live.insert(line.split_whitespace().nth(1).unwrap_or("").to_string());
    }
    let (mut most, mut stale) = (0, BTreeSet::new());
    for p in procs.iter_mut().flatten() {
        let line = p.cmd("replicas")?;
        let ids: BTreeSet<String> = line.split_whitespace().skip(1).map(String::from).collect();
        most = most.max(ids.len());
        stale.extend(ids.difference(&live).cloned());
    }
    Ok((most, stale.into_iter().collect()))
}

/// SIGKILLs node 2 once its acknowledged inserts are on every other live node (a wiped disk loses what was not
/// replicated: that is the operator's loss, not the protocol's), wipes its file and restarts it.
#[allow(clippy::too_many_arguments)]
fn wipe_and_restart(
    program: &Program,
    o: &RunOptions,
    procs: &mut [Option<Proc>],
    file: &Path,
    addr: SocketAddr,
    seed_addr: SocketAddr,
    report: &mut RunReport,
    acked: &BTreeSet<String>,
) -> Result<(), String> {
    let mine: BTreeSet<String> = acked.iter().filter(|e| e.starts_with("ack:2:")).cloned().collect();
    // Ends as soon as they are; long for a loaded machine (killing earlier loses them: the set
    // check would count the operator's loss as the protocol's).
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        // On every other live node: one of them is the heir that retires the old id, and it
        // must hold its events (and know the incarnation) when it does.
        let mut everywhere = true;
        for (i, p) in procs.iter_mut().enumerate() {
            let Some(p) = p.as_mut().filter(|_| i != 2) else { continue };
            let line = p.cmd("elements")?;
            let there: BTreeSet<String> = line.split_whitespace().skip(1).map(String::from).collect();
            everywhere &= mine.is_subset(&there);
        }
        if everywhere {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let old = procs[2].take().map(|p| {
        let id = p.id.clone();
        p.kill();
        id
    });
    let _ = std::fs::remove_file(file);
    let bug = match (&old, o.bug_reuse_id_after_wipe) {
        (Some(id), true) => Some(format!("reuse-id:{id}")),
        _ => None,
    };
    let mut p = Proc::spawn(program, &node_args(o, addr, Some(seed_addr), file, o.seed + 202, bug))?;
    report.restart_ids_ok &= p.fresh && Some(&p.id) != old.as_ref();
    p.cmd(&format!("faults {}", o.loss))?;
    procs[2] = Some(p);
    Ok(())
}
