//! Anti-entropy over any transport: when and what to send, at the information floor.
//!
//! A [`SyncEngine`] per replica buffers the deltas that changed its state, sends each neighbour
//! the join of those it has not acknowledged, and collects the deltas every neighbour
//! acknowledged: the delta-interval algorithm with acknowledgements of Almeida, Shoker and
//! Baquero (*Delta State Replicated Data Types*, JPDC 2018, algorithm 2). It adds the two
//! optimisations of Enes, Almeida, Baquero and Leitão (*Efficient Synchronization of State-based
//! CRDTs*, ICDE 2019, section IV): **BP**, never send a delta-group back where it came from, and
//! **RR**, buffer only the part of a received group that was new ([`Decompose::delta`]); for
//! causal types that part keeps removed dots, so removes survive the optimisation. On a tree,
//! BP+RR sends exactly the network lower bound: each irreducible crosses each edge once.
//!
//! The engine owns no socket, thread or clock: the transport calls
//! [`update`](SyncEngine::update) on local changes, [`poll_outgoing`](SyncEngine::poll_outgoing)
//! when it wants to sync, and [`on_message`](SyncEngine::on_message) (or `on_bytes`) on receipt.
//! Received input is validated before it touches the state ([`Validator`], the same receipt checks
//! as [`Receive`](crate::Receive), under the engine's [`Limits`](crate::Limits)); on error
//! nothing changes.
//!
//! With the `sim` feature, `convergent::sim` runs engines on a simulated faulty network.
//!
//! [`Decompose::delta`]: crate::Decompose::delta
//!
//! # Example
//!
//! ```
//! use convergent::sync::{Mode, SyncEngine};
//! use convergent::{EwFlag, ReplicaId};
//!
//! let ids = [ReplicaId::from_u128(1), ReplicaId::from_u128(2), ReplicaId::from_u128(3)];
//! // A line a - b - c.
//! let mut e: Vec<SyncEngine<EwFlag>> = ids.iter().map(|&id| SyncEngine::new(id, Mode::DeltaBpRr)).collect();
//! e[0].add_neighbour(ids[1]);
//! e[1].add_neighbour(ids[0]);
//! e[1].add_neighbour(ids[2]);
//! e[2].add_neighbour(ids[1]);
//!
//! e[0].update(|flag, me| flag.enable(me));
//! // Two rounds of "everyone sends, everyone receives" (a real transport does this over time).
//! for _ in 0..2 {
//!     let mut mail = Vec::new();
//!     for (i, x) in e.iter_mut().enumerate() {
//!         mail.extend(x.poll_outgoing().into_iter().map(|(to, m)| (ids[i], to, m)));
//!     }
//!     for (from, to, m) in mail {
//!         let x = e.iter_mut().find(|x| x.id() == to).unwrap();
//!         x.on_message(from, m).unwrap();
//!     }
//! }
//! assert!(e[2].state().is_enabled());
//! ```

mod engine;
mod message;
mod mode;
mod protocol;

pub use crate::receive::{AcceptAll, BasicCheck, HasContext, OwnDotsCheck, ReceiveCheck, Validator};
pub use engine::{MarkState, RetireMark, RetireMessage, Retirement, SyncEngine};
pub use message::{ENVELOPE_VERSION, Envelope, Message, MessageKind, PROTOCOL_VERSION};
pub use mode::Mode;
pub use protocol::{Digest, EngineStats, MAX_DIGEST_PARTS, SyncRecord};
