//! Your own lattice through the sync engine.
//!
//! A lattice of your own needs [`Lattice`] (the join), an empty `impl Decompose` (every method
//! has a default: the engine then ships whole states where the crate's types ship parts), an
//! empty `impl Receive` (receipt: accept what decodes, or override `validate_against` to refuse
//! with `Error::Rejected`) and serde (for the wire). Here: the highest score each player reached, a map `player -> max`.
//!
//! Run with `cargo run --example own_lattice`.

use std::collections::BTreeMap;

use convergent::sync::{Mode, SyncEngine};
use convergent::{Decompose, Lattice, Receive, ReplicaId};
use serde::{Deserialize, Serialize};

/// The best score of each player: join is the pointwise maximum.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct HighScores(BTreeMap<String, u64>);

impl Lattice for HighScores {
    fn bottom() -> Self {
        HighScores::default()
    }

    fn is_bottom(&self) -> bool {
        self.0.is_empty()
    }

    fn join_ref(&mut self, other: &Self) -> bool {
        let mut changed = false;
        for (player, &score) in &other.0 {
            let best = self.0.entry(player.clone()).or_insert(0);
            if score > *best {
                *best = score;
                changed = true;
            }
        }
        changed
    }
}

/// The defaults: one irreducible per state, delta = the state unless it is already known.
impl Decompose for HighScores {}

/// Reads the wire form with serde (no extra validation for this type).
impl convergent::wire::Decode for HighScores {}

/// Receipt: nothing to check against the receiver's state (any scores may arrive), so the
/// default. The sync engine's default validator runs this.
impl Receive for HighScores {}

pub(crate) fn main() {
    let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    let mut alice = SyncEngine::<HighScores>::new(a, Mode::DeltaBpRr);
    let mut bob = SyncEngine::<HighScores>::new(b, Mode::DeltaBpRr);
    alice.add_neighbour(b);
    bob.add_neighbour(a);

    alice.update(|s, _| {
        s.0.insert("ada".into(), 30);
        s.clone()
    });
    bob.update(|s, _| {
        s.0.insert("ada".into(), 20);
        s.0.insert("bo".into(), 7);
        s.clone()
    });

    // Two rounds of "both send, both receive", over bytes as a real transport would.
    for _ in 0..2 {
        for (to, m) in alice.poll_outgoing() {
            assert_eq!(to, b);
            bob.on_bytes(a, &m.to_bytes()).expect("valid message");
        }
        for (to, m) in bob.poll_outgoing() {
            assert_eq!(to, a);
            alice.on_bytes(b, &m.to_bytes()).expect("valid message");
        }
    }

    assert_eq!(alice.state(), bob.state());
    assert_eq!(alice.state().0["ada"], 30);
    assert_eq!(alice.state().0["bo"], 7);
    println!("converged: {:?}", alice.state());
}
