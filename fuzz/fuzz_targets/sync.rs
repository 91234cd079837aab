//! The sync engine in the simulator under an arbitrary fault schedule (loss, duplication,
//! reordering, delay, crashes, restarts, lost disks, partitions): once calm, every replica
//! converges to the join of every delta made. First byte: the type (see `dispatch!`).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use testkit::{dispatch, fuzz::sync_of};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    dispatch!(sel, sync_of(Unstructured::new(rest)));
});
