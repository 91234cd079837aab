//! The main job: several in-process replicas of counters and registers update concurrently,
//! exchange their deltas in a shuffled, duplicated order, converge, and report what each replica
//! read and how many bytes the deltas took against shipping full states.
//!
//! Run: `cargo run --release --example replicate`

use std::fmt::Debug;

use convergent::{GCounter, HybridClock, Lattice, LwwRegister, OrMap, OrSet, PnCounter, ReplicaId, wire};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

const REPLICAS: usize = 5;
const OPS_PER_REPLICA: usize = 200;

/// Bytes sent if each delta went to every peer, against the full state after the operation.
#[derive(Default)]
struct Bytes {
    deltas: usize,
    full_states: usize,
    messages: usize,
}

/// Runs one type: every replica applies `OPS_PER_REPLICA` local operations; all deltas are then
/// delivered to every replica shuffled, with a third of them duplicated, and the result must equal
/// the join of the final states.
fn run<T, F>(name: &str, rng: &mut SmallRng, mut op: F) -> (Vec<T>, Bytes)
where
    T: Lattice + Clone + PartialEq + Debug + Serialize,
    F: FnMut(&mut T, ReplicaId, usize, &mut SmallRng) -> T,
{
    let ids: Vec<ReplicaId> = (0..REPLICAS).map(|_| ReplicaId::random()).collect();
    let mut replicas: Vec<T> = (0..REPLICAS).map(|_| T::bottom()).collect();
    let mut inboxes: Vec<Vec<T>> = (0..REPLICAS).map(|_| Vec::new()).collect();
    let mut bytes = Bytes::default();
    let mut everything = T::bottom();
    for step in 0..OPS_PER_REPLICA {
        for i in 0..REPLICAS {
            let d = op(&mut replicas[i], ids[i], step, rng);
            if !d.is_bottom() {
                bytes.deltas += wire::encoded_len(&d) * (REPLICAS - 1);
                bytes.full_states += wire::encoded_len(&replicas[i]) * (REPLICAS - 1);
                bytes.messages += REPLICAS - 1;
                everything.join_ref(&d);
                for (j, inbox) in inboxes.iter_mut().enumerate() {
                    if j != i {
                        inbox.push(d.clone());
                        if rng.gen_bool(0.3) {
                            inbox.push(d.clone()); // duplicated by the network
                        }
                    }
                }
            }
            // Deliver a random part of the inbox, in random order: merges at random points.
            let inbox = &mut inboxes[i];
            inbox.shuffle(rng);
            let keep = rng.gen_range(0..=inbox.len());
            for d in inbox.drain(keep..) {
                replicas[i].join(d);
            }
        }
    }
    // Updates stop: deliver everything still in flight.
    for (replica, inbox) in replicas.iter_mut().zip(&mut inboxes) {
        inbox.shuffle(rng);
        for d in inbox.drain(..) {
            replica.join(d);
        }
        assert_eq!(*replica, everything, "{name}: a replica did not converge");
    }
    (replicas, bytes)
}

fn report<T: Debug>(name: &str, replicas: &[T], read: impl Fn(&T) -> String, b: &Bytes) {
    println!("\n## {name}");
    for (i, r) in replicas.iter().enumerate() {
        println!("  replica {i} reads {}", read(r));
    }
    println!(
        "  {} delta messages: {} bytes of deltas vs {} bytes of full states ({:.1}x less), {:.1} B/delta",
        b.messages,
        b.deltas,
        b.full_states,
        b.full_states as f64 / b.deltas as f64,
        b.deltas as f64 / b.messages as f64
    );
}

fn main() {
    let mut rng = SmallRng::seed_from_u64(2026);
    println!(
        "# {REPLICAS} replicas x {OPS_PER_REPLICA} operations each; deltas delivered shuffled and duplicated"
    );

    let (rs, b) =
        run::<GCounter, _>("GCounter", &mut rng, |c, id, _, rng| c.increment(id, rng.gen_range(1..4)));
    report("GCounter (page views)", &rs, |c| c.value().to_string(), &b);

    let (rs, b) = run::<PnCounter, _>("PnCounter", &mut rng, |c, id, _, rng| {
        if rng.gen_bool(0.6) { c.increment(id, 1) } else { c.decrement(id, 1) }
    });
    report("PnCounter (stock level)", &rs, |c| c.value().to_string(), &b);

    let mut clocks: Vec<(ReplicaId, HybridClock)> = Vec::new();
    let (rs, b) = run::<LwwRegister<String>, _>("LwwRegister", &mut rng, |reg, id, step, rng| {
        let pos = clocks.iter().position(|(r, _)| *r == id).unwrap_or_else(|| {
            clocks.push((id, HybridClock::new()));
            clocks.len() - 1
        });
        // Wall clocks that disagree by up to 50 ms and sometimes step back.
        let wall = 1_700_000_000_000 + step as u64 * 10 + rng.gen_range(0..50);
        if rng.gen_bool(0.2) {
            reg.write_with(id, &mut clocks[pos].1, wall, format!("title v{step} by {id}"))
        } else {
            LwwRegister::bottom()
        }
    });
    report("LwwRegister<String> (document title)", &rs, |r| format!("{:?}", r.value()), &b);

    const TAGS: [&str; 4] = ["urgent", "weekly", "party", "veggie"];
    let (rs, b) = run::<OrSet<String>, _>("OrSet", &mut rng, |set, id, _, rng| {
        let tag = TAGS[rng.gen_range(0..TAGS.len())].to_string();
        if rng.gen_bool(0.6) { set.insert(id, tag) } else { set.remove(id, &tag) }
    });
    report(
        "OrSet<String> (tags, add-wins)",
        &rs,
        |s| {
            let mut tags: Vec<&String> = s.iter().collect();
            tags.sort();
            format!("{tags:?}")
        },
        &b,
    );

    const LISTS: [&str; 2] = ["groceries", "hardware"];
    const ITEMS: [&str; 4] = ["milk", "eggs", "nails", "tape"];
    type Lists = OrMap<String, OrMap<String, PnCounter>>;
    let (rs, b) = run::<Lists, _>("OrMap", &mut rng, |m, id, _, rng| {
        let list = LISTS[rng.gen_range(0..LISTS.len())].to_string();
        let item = ITEMS[rng.gen_range(0..ITEMS.len())].to_string();
        match rng.gen_range(0..10) {
            0..=5 => m.update(id, list, |l| l.update(item, |q| q.increment(1))),
            6..=7 => m.update(id, list, |l| l.update(item, |q| q.decrement(1))),
            8 => m.update(id, list, |l| l.remove(&item)),
            _ => m.remove(id, &list),
        }
    });
    report(
        "OrMap<String, OrMap<String, PnCounter>> (shopping lists: observed-reset removes)",
        &rs,
        |m| {
            let lists: Vec<String> = m
                .iter()
                .map(|(l, items)| {
                    let mut items: Vec<String> =
                        items.iter().map(|(i, q)| format!("{i}: {}", q.value())).collect();
                    items.sort();
                    format!("{l} [{}]", items.join(", "))
                })
                .collect();
            let mut lists = lists;
            lists.sort();
            format!("{{{}}}", lists.join("; "))
        },
        &b,
    );
}
