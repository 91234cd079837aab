//! Runs `examples/own_lattice.rs`: a user's own lattice through the sync engine, with only
//! `Lattice`, an empty `Decompose` impl and serde.
#![cfg(feature = "serde")]

#[path = "../examples/own_lattice.rs"]
#[allow(dead_code)]
mod own_lattice;

#[test]
fn own_lattice_example_converges() {
    own_lattice::main();
}

/// A lattice of one's own refuses through its own `Receive` impl with `Error::Rejected`; the
/// engine's default validator runs it, under the engine's limits, and changes nothing on error.
#[test]
fn own_receive_check_refuses_through_the_engine() {
    use convergent::sync::{Message, Mode, SyncEngine};
    use convergent::{Decompose, Error, Lattice, Receive, ReceivePolicy, ReplicaId};
    use serde::{Deserialize, Serialize};

    /// The largest number seen; numbers above 1000 are refused on receipt.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Max(u64);
    impl Lattice for Max {
        fn bottom() -> Self {
            Max(0)
        }
        fn is_bottom(&self) -> bool {
            self.0 == 0
        }
        fn join_ref(&mut self, other: &Self) -> bool {
            let changed = other.0 > self.0;
            self.0 = self.0.max(other.0);
            changed
        }
    }
    impl Decompose for Max {}
    impl convergent::wire::Decode for Max {}
    impl Receive for Max {
        fn validate_against(&self, _: &Self, _: &ReceivePolicy) -> Result<(), Error> {
            if self.0 > 1000 { Err(Error::Rejected { reason: "score above 1000" }) } else { Ok(()) }
        }
    }

    let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    let mut e = SyncEngine::<Max>::new(a, Mode::DeltaBpRr);
    e.add_neighbour(b);
    assert_eq!(e.on_message(b, Message::Delta { seq: 1, delta: Max(7) }), Ok(()));
    let before = e.clone();
    let refused = e.on_message(b, Message::Delta { seq: 2, delta: Max(5000) });
    assert_eq!(refused, Err(Error::Rejected { reason: "score above 1000" }));
    assert_eq!(e, before);
    // Through bytes too.
    let bytes = Message::Delta { seq: 2, delta: Max(5000) }.to_bytes();
    assert_eq!(e.on_bytes(b, &bytes), Err(Error::Rejected { reason: "score above 1000" }));
    assert_eq!(e.state(), &Max(7));
}
