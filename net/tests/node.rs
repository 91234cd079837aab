//! Nodes in one process, on real loopback sockets: addressing, saving before acknowledging,
//! and a replica that comes back under a new id.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use convergent::sync::{Envelope, Message};
use convergent::{GCounter, Lattice, Limits, ReplicaId};
use convergent_net::frame::TAG_SYNC;
use convergent_net::{DurableReplica, Node, NodeConfig};

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn file(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("convergent-net-node-{name}-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    // Ends as soon as `f` holds; the bound is for a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Receives one sync message from `sock`, skipping membership datagrams.
fn recv_sync(sock: &UdpSocket) -> Option<(ReplicaId, ReplicaId, Message<GCounter>)> {
    let mut buf = [0u8; 2048];
    for _ in 0..50 {
        let Ok(n) = sock.recv(&mut buf) else { return None };
        if buf[0] == TAG_SYNC {
            let e = Envelope::<GCounter>::from_bytes(&buf[1..n], &Limits::default()).unwrap();
            return Some((e.from, e.to, e.message));
        }
    }
    None
}

/// A sync datagram: the tag, then the envelope.
fn datagram<L: convergent::wire::Decode>(from: ReplicaId, to: ReplicaId, message: Message<L>) -> Vec<u8> {
    let mut d = vec![TAG_SYNC];
    d.extend_from_slice(&Envelope { from, to, message }.to_bytes());
    d
}

#[tokio::test]
async fn a_frame_for_another_incarnation_is_dropped_and_never_acknowledged() {
    let a = Node::<GCounter>::start(NodeConfig::new(local())).await.unwrap();
    let fake = UdpSocket::bind(local()).unwrap();
    fake.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let (me, predecessor) = (ReplicaId::from_u128(77), ReplicaId::from_u128(5));
    let mut src = GCounter::new();
    let delta = src.increment(me, 3);

    // Meant for an earlier replica on A's address: dropped, counted, no ack.
    fake.send_to(&datagram(me, predecessor, Message::Delta { seq: 1, delta: delta.clone() }), a.local_addr())
        .unwrap();
    until("the drop", || a.stats().misaddressed == 1).await;
    assert_eq!(a.read(GCounter::value), 0);
    let fake2 = fake.try_clone().unwrap();
    let got = tokio::task::spawn_blocking(move || recv_sync(&fake2)).await.unwrap();
    assert!(got.is_none(), "a dropped frame must not be acknowledged: {got:?}");

    // Addressed to A: joined, and acknowledged to the sender by name (a long bound for the
    // acknowledgement, for a loaded machine: the wait ends when it comes).
    fake.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    fake.send_to(&datagram(me, a.id(), Message::Delta { seq: 1, delta }), a.local_addr()).unwrap();
    until("the join", || a.read(GCounter::value) == 3).await;
    let a_id = a.id();
    let got = tokio::task::spawn_blocking(move || recv_sync(&fake)).await.unwrap();
    assert_eq!(got, Some((a_id, me, Message::Ack { seq: 1 })));
}

/// Persist before acknowledging: once a peer counts this replica as caught up, a crash (the node
/// dropped without a flush) loses nothing it acknowledged.
#[tokio::test]
async fn what_a_replica_acknowledged_is_on_its_disk() {
    let path = file("acked");
    let a = Node::<GCounter>::start(NodeConfig::new(local())).await.unwrap();
    let mut cb = NodeConfig::new(local());
    cb.peers.push(a.local_addr());
    cb.data = Some(path.clone());
    let b = Node::<GCounter>::start(cb).await.unwrap();
    let b_id = b.id();
    until("membership", || a.members().len() == 1).await;
    for _ in 0..40 {
        a.update(|c, me| c.increment(me, 1)).unwrap();
    }
    until("b caught up at a", || {
        let s = a.stats();
        s.neighbours.iter().any(|p| p.replica == b_id && p.caught_up)
    })
    .await;
    b.shutdown().await; // a crash: no flush
    let (_, loaded) = DurableReplica::<GCounter>::load_or_fresh(&path).unwrap();
    assert_eq!((loaded.id, loaded.state.value()), (b_id, 40));
    let _ = std::fs::remove_file(&path);
}

/// A replica that lost its disk comes back on the same address with a new id: the others drop
/// the old id as a neighbour, take the new one in, and send it everything.
#[tokio::test]
async fn a_wiped_replica_on_the_same_address_is_taken_in_under_its_new_id() {
    let path = file("wiped");
    let a = Node::<GCounter>::start(NodeConfig::new(local())).await.unwrap();
    let mut cb = NodeConfig::new(local());
    cb.peers.push(a.local_addr());
    cb.data = Some(path.clone());
    let b = Node::<GCounter>::start(cb.clone()).await.unwrap();
    let (old, addr) = (b.id(), b.local_addr());
    until("membership", || a.members().len() == 1).await;
    a.update(|c, me| c.increment(me, 5)).unwrap();
    b.update(|c, me| c.increment(me, 2)).unwrap();
    until("convergence", || a.read(GCounter::value) == 7 && b.read(GCounter::value) == 7).await;

    b.shutdown().await;
    std::fs::remove_file(&path).unwrap();
    cb.bind = addr;
    let b = Node::<GCounter>::start(cb).await.unwrap();
    assert_ne!(b.id(), old);
    until("the new id as a's neighbour", || {
        let s = a.stats();
        s.neighbours.iter().map(|p| p.replica).collect::<Vec<_>>() == [b.id()]
    })
    .await;
    assert!(a.stats().replaced_replicas >= 1);
    until("the newcomer has everything", || b.read(GCounter::value) == 7).await;
    b.update(|c, me| c.increment(me, 1)).unwrap();
    until("and is heard", || a.read(GCounter::value) == 8).await;
    assert!(a.read(|c| c.leq(&b.read(Clone::clone))));
    let _ = std::fs::remove_file(&path);
}

/// A trusted network still needs one check: a replica id reused after lost state. With
/// `OwnDotsCheck` the node refuses input carrying its own events from the future, counts it by
/// error, and changes nothing.
#[tokio::test]
async fn own_dots_from_the_future_are_refused_and_counted() {
    use convergent::OrSet;
    use convergent::sync::OwnDotsCheck;
    let a =
        Node::<OrSet<u32>, _>::start_with_validator(NodeConfig::new(local()), OwnDotsCheck).await.unwrap();
    let fake = UdpSocket::bind(local()).unwrap();
    let sender = ReplicaId::from_u128(9);
    // An earlier life of `a`'s id wrote 3 events.
    let mut earlier = OrSet::new();
    let mut delta = OrSet::new();
    for i in 0..3 {
        delta.join(earlier.insert(a.id(), i));
    }
    fake.send_to(&datagram(sender, a.id(), Message::Delta { seq: 1, delta }), a.local_addr()).unwrap();
    until("the refusal", || a.stats().refused.get("OwnDotFromFuture") == Some(&1)).await;
    assert!(a.read(|s| s.is_bottom()));
}

/// A restart from disk costs no snapshot either way: the restarted replica's sync record says
/// what its neighbour had acknowledged, and its handshake what it holds.
#[tokio::test]
async fn a_restart_from_disk_costs_no_snapshot() {
    let path = file("restart");
    let a = Node::<GCounter>::start(NodeConfig::new(local())).await.unwrap();
    let mut cb = NodeConfig::new(local());
    cb.peers.push(a.local_addr());
    cb.data = Some(path.clone());
    let b = Node::<GCounter>::start(cb.clone()).await.unwrap();
    let (id, addr) = (b.id(), b.local_addr());
    until("membership", || a.members().len() == 1).await;
    for _ in 0..20 {
        a.update(|c, me| c.increment(me, 1)).unwrap();
        b.update(|c, me| c.increment(me, 1)).unwrap();
    }
    until("both caught up", || {
        a.read(GCounter::value) == 40
            && b.read(GCounter::value) == 40
            && a.stats().neighbours.iter().all(|p| p.caught_up)
            && b.stats().neighbours.iter().all(|p| p.caught_up)
    })
    .await;
    b.flush().unwrap();
    let before = a.stats().snapshots_sent;
    b.shutdown().await;
    cb.bind = addr;
    let b = Node::<GCounter>::start(cb).await.unwrap();
    assert_eq!(b.id(), id, "restored under its id");
    until("b back as a neighbour", || b.stats().neighbours.len() == 1).await;
    b.update(|c, me| c.increment(me, 1)).unwrap();
    a.update(|c, me| c.increment(me, 1)).unwrap();
    until("convergence", || a.read(GCounter::value) == 42 && b.read(GCounter::value) == 42).await;
    assert_eq!(b.stats().snapshots_sent, 0, "the restarted replica sent no snapshot");
    assert_eq!(a.stats().snapshots_sent, before, "its neighbour sent none either");
    assert!(b.stats().handshakes >= 1);
    let _ = std::fs::remove_file(&path);
}

/// Retirement frames: truncated and garbage ones are refused (counted, state unchanged, no
/// panic); a valid record retiring the node's own id makes it rejoin under a new id with the
/// empty state and a fresh file.
#[tokio::test]
async fn a_node_told_its_id_was_retired_rejoins_under_a_new_id_and_bad_retire_frames_are_refused() {
    use convergent::sync::{RetireMessage, Retirement};
    use convergent_net::frame::{TAG_RETIRE, encode_retire};

    let path = file("retired");
    let mut c = NodeConfig::new(local());
    c.data = Some(path.clone());
    let node = Node::<GCounter>::start(c).await.unwrap();
    let old = node.id();
    node.update(|g, me| g.increment(me, 5)).unwrap();
    let peer = UdpSocket::bind(local()).unwrap();
    let (gone, heir) = (ReplicaId::from_u128(7), ReplicaId::from_u128(8));
    let other = encode_retire(
        heir,
        old,
        &RetireMessage::Records(vec![Retirement { retired: gone, heir, fold: GCounter::new() }]),
    );
    let mut bad: Vec<Vec<u8>> = (0..other.len()).map(|n| other[..n].to_vec()).collect();
    bad.push(vec![TAG_RETIRE; 200]);
    bad.push([&other[..33], &[0xFF; 40][..]].concat());
    for d in &bad[1..] {
        peer.send_to(d, node.local_addr()).unwrap();
    }
    until("bad frames refused", || node.stats().refused.values().sum::<u64>() >= bad.len() as u64 - 1).await;
    assert_eq!((node.id(), node.read(GCounter::value), node.stats().rejoined), (old, 5, 0));

    let retire_me = encode_retire(
        heir,
        old,
        &RetireMessage::Records(vec![Retirement {
            retired: old,
            heir,
            fold: GCounter::new().increment(heir, 5),
        }]),
    );
    peer.send_to(&retire_me, node.local_addr()).unwrap();
    until("rejoined", || node.stats().rejoined == 1).await;
    let new = node.id();
    assert_ne!(new, old);
    assert_eq!(node.read(GCounter::value), 0, "the empty state: neighbours bootstrap it");
    node.shutdown().await;
    let (_, loaded) = DurableReplica::<GCounter>::load_or_fresh(&path).unwrap();
    assert_eq!((loaded.id, loaded.state.value()), (new, 0), "the file holds the new incarnation");
    let _ = std::fs::remove_file(&path);
}

/// A replacement notice reaching a node that is not the heir in its own view goes on to the
/// heir of that view, which retires the id. Before, it stopped there: a node that got a notice
/// late, with a lower id in its view than the sender had seen, did nothing, and nobody retired
/// the id (the pruning process test then found it still named after 60 s of quiet).
#[tokio::test]
async fn a_notice_to_a_node_that_is_not_the_heir_goes_on_to_the_heir() {
    use convergent_net::frame::{Replacement, encode_replaced};

    let a = Node::<GCounter>::start(NodeConfig::new(local())).await.unwrap();
    let mut cb = NodeConfig::new(local());
    cb.peers.push(a.local_addr());
    let b = Node::<GCounter>::start(cb).await.unwrap();
    until("membership", || a.members().len() == 1 && b.members().len() == 1).await;
    let (lo, hi) = if a.id() < b.id() { (&a, &b) } else { (&b, &a) };
    // The wiped replica's events, on both; it ran on an address no member has.
    let gone = ReplicaId::from_u128(u128::MAX);
    lo.update(|c, _| c.increment(gone, 3)).unwrap();
    until("convergence", || hi.read(GCounter::value) == 3).await;
    let r = Replacement {
        replaced: gone,
        by: ReplicaId::from_u128(u128::MAX - 1),
        at: "127.0.0.1:9".parse().unwrap(),
    };
    // A third node that saw the replacement and took `hi` for the heir.
    let peer = UdpSocket::bind(local()).unwrap();
    let notice = encode_replaced(ReplicaId::from_u128(u128::MAX - 2), hi.id(), &r);
    peer.send_to(&notice, hi.local_addr()).unwrap();
    until("retired by the lower id", || lo.stats().retired_as_heir == 1).await;
    until("forgotten everywhere", || a.read(|c| c.len()) == 1 && b.read(|c| c.len()) == 1).await;
    assert_eq!((a.read(GCounter::value), b.read(GCounter::value), hi.stats().retired_as_heir), (3, 3, 0));
}
