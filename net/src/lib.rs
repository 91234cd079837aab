//! # convergent-net: replicas of `convergent` between real processes
//!
//! A [`Node`] runs a [`SyncEngine`](convergent::sync::SyncEngine) for any state type on one
//! tokio UDP socket:
//!
//! * **Membership** from SWIM ([`foca`]): live members are the engine's neighbours; a member
//!   that comes back on the same address under a new replica id replaces the old one, and, with
//!   [`NodeConfig::retire_replaced`], the lowest live id off that address retires the old id ([`SyncEngine::retire`](convergent::sync::SyncEngine::retire)):
//!   every state forgets it (docs/network.md, "Retiring replica ids"). A node told that its own
//!   id was retired rejoins under a new id with the empty state.
//! * **Framing**: one tag byte routes membership and sync traffic; every sync frame names its
//!   sender and recipient replica ([`frame`]), frames for another id (an older incarnation on the
//!   same address) are dropped, and messages larger than a datagram go in chunks.
//! * **Durability** on redb ([`DurableReplica`]): id, sequence number and state saved
//!   atomically, an append-only delta log with compaction, `load_or_fresh` (no state means a
//!   new id), local deltas saved before they are sent, received ones before they are
//!   acknowledged.
//! * **Fault injection** in the send path ([`Faults`]) for tests.
//!
//! The crate's binary `convergent-node` runs the demo application ([`demo`]) and is driven over
//! stdin/stdout by the multi-process tests.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod demo;
pub mod frame;
mod node;
mod store;

pub use node::{
    Faults, InjectedBug, MemberId, Node, NodeConfig, NodeError, NodeStats, Overlay, PeerStatus, Traffic,
    WallClockCheck, wall_clock_check,
};
pub use store::{DurableReplica, Loaded, SaveCost, StoreError};
