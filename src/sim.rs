//! A deterministic network simulator for the [`sync`](crate::sync) engine (feature `sim`).
//!
//! [`Simulation`] runs replicas on a [`Topology`] in deterministic, seeded rounds with message
//! loss, duplication, reordering, delay, partitions, crashes and restarts, and counts messages,
//! bytes and the paper's "entries" (Enes et al., ICDE 2019): test your own application state
//! with it. [`Topology`] builds the graphs (line, ring, tree, meshes, the ICDE 2019 topologies).

mod simulation;
mod topology;

pub use simulation::{Faults, SimEvent, SimRng, Simulation, Stats};
pub use topology::Topology;
