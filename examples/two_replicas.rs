//! The smallest converging example: two replicas of a shopping list (an add-wins set) edit
//! concurrently, swap their deltas in either order, and end up equal.
//!
//! Run: `cargo run --example two_replicas`

use convergent::{Lattice, OrSet, ReplicaId};

fn main() {
    // Each replica has its own id (`ReplicaId::random()` in a real deployment).
    let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    let mut at_alice: OrSet<&str> = OrSet::new();
    let mut at_bob: OrSet<&str> = OrSet::new();

    // Alice writes a list and sends its delta to Bob.
    let list = at_alice.insert_all(alice, ["milk", "eggs"]);
    at_bob.join_ref(&list);

    // Then, without talking to each other: Alice removes the milk she saw, Bob adds milk again
    // and some bread. Every mutation returns a delta: a small value of the same type.
    let no_milk = at_alice.remove(alice, &"milk");
    let more_milk = at_bob.insert(bob, "milk");
    let bread = at_bob.insert(bob, "bread");

    // Deliver in any order, any number of times: joins are commutative, associative, idempotent.
    at_alice.join(bread);
    at_alice.join_ref(&more_milk);
    at_alice.join(more_milk);
    at_bob.join(no_milk);

    assert_eq!(at_alice, at_bob);
    let mut items: Vec<&str> = at_alice.iter().copied().collect();
    items.sort_unstable();
    // Bob's concurrent insert of "milk" survives Alice's remove: add wins.
    assert_eq!(items, ["bread", "eggs", "milk"]);
    println!("both replicas: {items:?}");
}
