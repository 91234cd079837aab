//! A large state to a newcomer over UDP chunks: the case a TCP transport would serve (one
//! stream instead of hundreds of acknowledged datagrams). Measured, not asserted beyond
//! convergence; docs/network.md ("Why UDP only") quotes it.
//!
//! `cargo test -p convergent-net --test large_state -- --ignored --nocapture`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use convergent::{OrSet, wire};
use convergent_net::{Faults, Node, NodeConfig};

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test]
#[ignore = "a measurement: a newcomer fetches states of 10^4 and 10^5 elements, with and without loss"]
async fn a_large_state_reaches_a_newcomer_in_acknowledged_udp_chunks() {
    for (n, loss) in [(10_000u64, 0.0), (10_000, 0.2), (100_000, 0.0), (100_000, 0.2)] {
        let a = Node::<OrSet<u64>>::start(NodeConfig::new(local())).await.unwrap();
        a.update(|s, me| s.insert_all(me, 0..n)).unwrap();
        let state_bytes = a.read(|s| wire::to_bytes(s).len());
        let faults = || Faults { loss, ..Faults::default() };
        a.set_faults(faults());
        let before = a.stats();
        let mut cb = NodeConfig::new(local());
        cb.peers.push(a.local_addr());
        let t = Instant::now();
        let b = Node::<OrSet<u64>>::start(cb).await.unwrap();
        b.set_faults(faults());
        let mut done = false;
        while t.elapsed() < Duration::from_secs(300) {
            if b.read(|s| s.len() as u64) == n {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let took = t.elapsed();
        let s = a.stats();
        let sync_bytes: u64 = s.sent.values().map(|t| t.bytes).sum::<u64>()
            - before.sent.values().map(|t| t.bytes).sum::<u64>();
        eprintln!(
            "n = {n}, loss = {loss}: state {state_bytes} B; newcomer complete: {done} after {} ms; \
             sender: {} datagrams, {} sync bytes ({:.2}x the state), {} parts resent; \
             newcomer received {} datagrams, sender dropped {} by injected loss",
            took.as_millis(),
            s.datagrams_sent - before.datagrams_sent,
            sync_bytes,
            sync_bytes as f64 / state_bytes as f64,
            s.chunks_resent - before.chunks_resent,
            b.stats().datagrams_received,
            s.dropped_by_faults - before.dropped_by_faults,
        );
        assert!(done, "the newcomer did not get the state");
        a.shutdown().await;
        b.shutdown().await;
    }
}
