//! The demo application of the `convergent-node` binary, the multi-process tests and the
//! `cluster` example: a shopping list of composite CRDTs, edited at random and driven over a
//! line-based control channel (stdin/stdout).
//!
//! # Control channel
//!
//! One command per line on stdin, one reply line on stdout:
//!
//! | command | reply |
//! |---|---|
//! | `edit N` | `ok`, after N random edits (each saved) |
//! | `insert ELEM` | `ok`, once the insert of `ELEM` into `tags` is saved (acknowledged) |
//! | `digest` | `digest HEX SEQ`: a hash of the state's canonical encoding |
//! | `elements` | `elements E1 E2 ...`: the tags starting with `ack:` |
//! | `stats` | `stats key=value ...` |
//! | `faults LOSS [ADDR,ADDR...]` | `ok`: drop that share of datagrams, and all to those addresses |
//! | `members` | `members N` |
//! | `replicas` | `replicas ID1 ID2 ...`: every replica id the state names |
//! | `id` | `id ID`: this replica's id (new after a rejoin) |
//! | `quit` | the process saves and exits |
//!
//! At start the process prints `ready ID ADDR fresh|restored`.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use convergent::wire;
use convergent::{Lattice, OrMap, OrSet, PnCounter, ReplicaId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::{Faults, Node, NodeConfig};

/// A shopping list: item -> quantity (observed-reset counters in a map) and a set of tags. A
/// struct of CRDTs is a CRDT: `#[derive(Lattice)]` makes it one replicated type, field by field
/// (join, order, decomposition, pruning of retired ids, the wire form, receipt checks).
///
/// ```
/// use convergent::{Lattice, ReplicaId};
/// use convergent_net::demo::ShoppingList;
///
/// let me = ReplicaId::from_u128(1);
/// let mut l = ShoppingList::default();
/// let d = l.update_tags(|t| t.insert(me, "weekly".to_string()));
/// let mut other = ShoppingList::default();
/// other.join(d);
/// assert!(other.tags.contains(&"weekly".to_string()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Lattice)]
pub struct ShoppingList {
    /// Item -> quantity.
    pub items: OrMap<String, PnCounter>,
    /// Add-wins set of tags.
    pub tags: OrSet<String>,
}

impl ShoppingList {
    /// Every replica id the state names: in both causal contexts and in every quantity's
    /// counters. `O(state)`.
    ///
    /// ```
    /// use convergent::ReplicaId;
    /// use convergent_net::demo::ShoppingList;
    ///
    /// let me = ReplicaId::from_u128(1);
    /// let mut l = ShoppingList::default();
    /// let _ = l.items.update(me, "milk".to_string(), |q| q.increment(2));
    /// assert_eq!(l.replicas(), [me].into());
    /// ```
    #[must_use]
    pub fn replicas(&self) -> std::collections::BTreeSet<ReplicaId> {
        let mut ids: std::collections::BTreeSet<ReplicaId> =
            self.items.context().ranges().chain(self.tags.context().ranges()).map(|(r, _)| r).collect();
        for q in self.items.values() {
            ids.extend(q.increments().iter().chain(q.decrements().iter()).map(|(r, _)| r));
        }
        ids
    }
}

/// The digest handshake field by field: the map's context prefix, then the set's.
impl convergent::sync::Digest for ShoppingList {
    const PARTS: usize = 2;
    fn digest(&self) -> Vec<convergent::causal::VersionVector> {
        let mut d = self.items.digest();
        d.extend(self.tags.digest());
        d
    }
    fn missing(&self, digest: &[convergent::causal::VersionVector]) -> Self {
        match digest {
            [items, tags] => ShoppingList {
                items: self.items.missing(core::slice::from_ref(items)),
                tags: self.tags.missing(core::slice::from_ref(tags)),
            },
            _ => self.clone(),
        }
    }
}

/// The prefix of the tags the set check follows: inserted once, never removed.
pub const TRACKED: &str = "ack:";

/// One random edit of every kind the list has: increment, decrement or remove an item, insert or
/// remove a tag (from small pools, so edits conflict). Returns the delta.
///
/// ```
/// use convergent::{Lattice, ReplicaId};
/// use convergent_net::demo::{random_edit, ShoppingList};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let mut l = ShoppingList::default();
/// let d = random_edit(&mut l, ReplicaId::from_u128(1), &mut rng);
/// assert!(!d.is_bottom() && d.leq(&l));
/// ```
pub fn random_edit(l: &mut ShoppingList, me: ReplicaId, rng: &mut impl Rng) -> ShoppingList {
    let item = format!("item{}", rng.random_range(0..8));
    let tag = format!("tag{}", rng.random_range(0..6));
    match rng.random_range(0..10) {
        0..=3 => {
            let n = rng.random_range(1..4);
            l.update_items(|m| m.update(me, item, |q| q.increment(n)).0)
        }
        4..=5 => l.update_items(|m| m.update(me, item, |q| q.decrement(1)).0),
        6 => l.update_items(|m| m.remove(me, &item)),
        7..=8 => l.update_tags(|t| t.insert(me, tag)),
        _ => l.update_tags(|t| t.remove(me, &tag)),
    }
}

/// A hash of the state's canonical encoding: equal states, equal digests.
///
/// ```
/// use convergent_net::demo::{digest, ShoppingList};
/// assert_eq!(digest(&ShoppingList::default()), digest(&ShoppingList::default()));
/// ```
#[must_use]
pub fn digest<L: wire::Decode>(state: &L) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    wire::to_bytes(state).hash(&mut h);
    h.finish()
}

/// Command-line options of the binary: `--bind ADDR --peer ADDR... --data PATH --seed N
/// --max-datagram N --sync-ms N --overlay ring|mesh --no-retire` (`--no-retire` turns off
/// [`NodeConfig::retire_replaced`](crate::NodeConfig::retire_replaced), on by default), and for tests of the fault tests only
/// `--bug ack-without-applying:N` or `--bug reuse-id:ID` ([`InjectedBug`](crate::InjectedBug)).
///
/// ```
/// use convergent_net::demo::parse_args;
///
/// let c = parse_args(["--bind", "127.0.0.1:0", "--peer", "127.0.0.1:9000", "--sync-ms", "20"].map(String::from)).unwrap();
/// assert_eq!(c.peers.len(), 1);
/// assert_eq!(c.sync_interval.as_millis(), 20);
/// ```
///
/// # Errors
///
/// A message naming the option that is missing its value or does not parse.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<NodeConfig, String> {
    let mut c = NodeConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let bad = |f: &str| format!("{f}: cannot parse");
        match flag.as_str() {
            "--bind" => c.bind = value()?.parse().map_err(|_| bad("--bind"))?,
            "--peer" => c.peers.push(value()?.parse().map_err(|_| bad("--peer"))?),
            "--data" => c.data = Some(value()?.into()),
            "--no-retire" => c.retire_replaced = false,
            "--seed" => c.seed = Some(value()?.parse().map_err(|_| bad("--seed"))?),
            "--max-datagram" => c.max_datagram = value()?.parse().map_err(|_| bad("--max-datagram"))?,
            "--sync-ms" => {
                c.sync_interval =
                    std::time::Duration::from_millis(value()?.parse().map_err(|_| bad("--sync-ms"))?);
            }
            "--overlay" => {
                c.overlay = match value()?.as_str() {
                    "mesh" => crate::Overlay::FullMesh,
                    "ring" => crate::Overlay::Ring,
                    _ => return Err(bad("--overlay (mesh or ring)")),
                }
            }
            "--bug" => {
                let v = value()?;
                c.bug = Some(match v.split_once(':') {
                    Some(("ack-without-applying", n)) => crate::InjectedBug::AckWithoutApplying {
                        every: n.parse().map_err(|_| bad("--bug ack-without-applying:N"))?,
                    },
                    Some(("reuse-id", id)) => crate::InjectedBug::ReuseIdAfterWipe(
                        id.parse().map_err(|_| bad("--bug reuse-id:ID"))?,
                    ),
                    _ => return Err(bad("--bug (ack-without-applying:N or reuse-id:ID)")),
                });
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(c)
}

/// Starts a node of [`ShoppingList`] with `config` and serves the control channel on
/// stdin/stdout until `quit` or the end of stdin.
///
/// # Errors
///
/// The node's start error, or an I/O error on stdout.
///
/// ```no_run
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let config = convergent_net::demo::parse_args(["--bind", "127.0.0.1:7001"].map(String::from)).unwrap();
/// convergent_net::demo::serve(config).await.unwrap();
/// # });
/// ```
pub async fn serve(config: NodeConfig) -> Result<(), Box<dyn std::error::Error>> {
    let fresh = config.data.as_ref().is_none_or(|p| !p.exists());
    let mut rng = match config.seed {
        Some(s) => StdRng::seed_from_u64(s ^ 0x00c0_ffee),
        None => StdRng::from_os_rng(),
    };
    let node = Node::<ShoppingList>::start(config).await?;
    let mut out = tokio::io::stdout();
    let hello =
        format!("ready {:#} {} {}\n", node.id(), node.local_addr(), if fresh { "fresh" } else { "restored" });
    out.write_all(hello.as_bytes()).await?;
    out.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let mut words = line.split_whitespace();
        let reply = match (words.next(), words.next()) {
            (Some("edit"), n) => {
                let n: u32 = n.and_then(|n| n.parse().ok()).unwrap_or(1);
                let mut ok = true;
                for _ in 0..n {
                    ok &= node.update(|l, me| random_edit(l, me, &mut rng)).is_ok();
                }
                if ok { "ok".to_string() } else { "error save".to_string() }
            }
            (Some("insert"), Some(e)) => {
                let e = e.to_string();
                match node.update(|l, me| l.update_tags(|t| t.insert(me, e))) {
                    Ok(_) => "ok".to_string(),
                    Err(e) => format!("error {e}"),
                }
            }
            (Some("digest"), _) => {
                let (d, seq) = node.read(|l| (digest(l), 0));
                format!("digest {d:016x} {}", node.stats().seq.max(seq))
            }
            (Some("elements"), _) => {
                let mut v: Vec<String> =
                    node.read(|l| l.tags.iter().filter(|t| t.starts_with(TRACKED)).cloned().collect());
                v.sort();
                format!("elements {}", v.join(" "))
            }
            (Some("stats"), _) => stats_line(&node),
            (Some("members"), _) => format!("members {}", node.members().len()),
            (Some("replicas"), _) => {
                let ids: Vec<String> = node.read(|l| l.replicas().iter().map(|r| format!("{r:#}")).collect());
                format!("replicas {}", ids.join(" "))
            }
            (Some("id"), _) => format!("id {:#}", node.id()),
            (Some("faults"), loss) => {
                let loss: f64 = loss.and_then(|l| l.parse().ok()).unwrap_or(0.0);
                let blocked = words.next().map_or_else(Default::default, |list| {
                    list.split(',').filter_map(|a| a.parse().ok()).collect()
                });
                node.set_faults(Faults { loss, blocked });
                "ok".to_string()
            }
            (Some("quit"), _) => break,
            _ => format!("error unknown command {line:?}"),
        };
        out.write_all(reply.as_bytes()).await?;
        out.write_all(b"\n").await?;
        out.flush().await?;
    }
    node.flush()?;
    Ok(())
}

/// `stats key=value ...`: the node's counters on one line.
fn stats_line(node: &Node<ShoppingList>) -> String {
    let s = node.stats();
    let mut kv: BTreeMap<String, String> = BTreeMap::new();
    let sync_msgs: u64 = s.sent.values().map(|t| t.messages).sum();
    let sync_bytes: u64 = s.sent.values().map(|t| t.bytes).sum();
    kv.insert("seq".into(), s.seq.to_string());
    kv.insert("sync_messages_sent".into(), sync_msgs.to_string());
    kv.insert("sync_bytes_sent".into(), sync_bytes.to_string());
    for (k, t) in &s.sent {
        kv.insert(format!("sent_{k:?}"), format!("{}/{}", t.messages, t.bytes));
    }
    kv.insert("datagrams_sent".into(), s.datagrams_sent.to_string());
    kv.insert("bytes_sent".into(), s.bytes_sent.to_string());
    kv.insert("membership_bytes_sent".into(), s.membership_bytes_sent.to_string());
    kv.insert("dropped_by_faults".into(), s.dropped_by_faults.to_string());
    kv.insert("misaddressed".into(), s.misaddressed.to_string());
    kv.insert("bad_frames".into(), s.bad_frames.to_string());
    kv.insert("snapshots_sent".into(), s.snapshots_sent.to_string());
    kv.insert("digest_answers".into(), s.digest_answers.to_string());
    kv.insert("chunked_sent".into(), s.chunked_sent.to_string());
    kv.insert("saves".into(), s.saves.to_string());
    kv.insert("save_bytes".into(), s.save_bytes.to_string());
    kv.insert("compactions".into(), s.compactions.to_string());
    kv.insert("members".into(), s.members.to_string());
    kv.insert("replaced_replicas".into(), s.replaced_replicas.to_string());
    kv.insert("retired_as_heir".into(), s.retired_as_heir.to_string());
    kv.insert("retire_sent".into(), format!("{}/{}", s.retire_sent.messages, s.retire_sent.bytes));
    kv.insert("rejoined".into(), s.rejoined.to_string());
    kv.insert(
        "caught_up".into(),
        format!("{}/{}", s.neighbours.iter().filter(|p| p.caught_up).count(), s.neighbours.len()),
    );
    for (e, n) in &s.refused {
        kv.insert(format!("refused_{e}"), n.to_string());
    }
    let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("stats {}", body.join(" "))
}
