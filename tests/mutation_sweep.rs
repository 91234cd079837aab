//! Every truncation and every single-bit flip of every golden vector (`tests/data/*.bin`) is
//! either refused with an error, or decodes to a VALID value: one that re-encodes to exactly the
//! mutated bytes (the encoding is canonical), whose live dots lie in its context, that passes
//! `CheckInvariants` where the type has it, and that joins into a live replica (the golden value)
//! without panicking, the join being an upper bound of both. Never a panic.
//!
//! Panics are caught and counted (not raised at the first), and the totals are printed (run
//! with `--nocapture`) and asserted.
#![cfg(feature = "serde")]

#[path = "data/vectors.rs"]
mod vectors;

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use vectors::Outcome;

/// Messages of the panics caught, with the mutation that caused them.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    tried: u64,
    rejected: u64,
    accepted_valid: u64,
    accepted_invalid: u64,
    panics: u64,
    /// Accepted and valid, but `golden ⊔ m != m ⊔ golden` (informational).
    order_dependent: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.tried += o.tried;
        self.rejected += o.rejected;
        self.accepted_valid += o.accepted_valid;
        self.accepted_invalid += o.accepted_invalid;
        self.panics += o.panics;
        self.order_dependent += o.order_dependent;
    }
}

/// Every mutant of `bytes`: each strict prefix (lengths 0 to len-1), then each single-bit flip.
fn mutants(bytes: &[u8]) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    let truncations = (0..bytes.len()).map(|n| (format!("truncated to {n} bytes"), bytes[..n].to_vec()));
    let flips = (0..bytes.len()).flat_map(move |i| {
        (0..8).map(move |bit| {
            let mut m = bytes.to_vec();
            m[i] ^= 1 << bit;
            (format!("bit {bit} of byte {i} flipped"), m)
        })
    });
    truncations.chain(flips)
}

#[test]
fn every_truncation_and_bit_flip_is_rejected_or_valid() {
    let start = Instant::now();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("data");

    // Count panics instead of printing each one's backtrace; keep the messages.
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let mut p = PANICS.lock().unwrap_or_else(|e| e.into_inner());
        p.push(format!("{info}"));
    }));

    let mut totals = Totals::default();
    let mut invalid = Vec::new();
    let mut panicked = Vec::new();
    let mut order_dependent = Vec::new();
    let mut expected_tried = 0u64;
    println!(
        "{:<36} {:>6} {:>8} {:>9} {:>15} {:>8} {:>7} {:>10}",
        "vector", "bytes", "tried", "rejected", "accepted-valid", "invalid", "panics", "order-dep"
    );
    for v in vectors::all() {
        let name = v.name();
        let stored = std::fs::read(dir.join(format!("{name}.bin")))
            .unwrap_or_else(|e| panic!("{name}.bin: {e} (run the golden test first)"));
        assert_eq!(stored, v.bytes(), "{name}.bin is not the current golden vector: run tests/golden.rs");
        assert!(matches!(v.try_input(&stored), Ok(Outcome::AcceptedValid)), "{name}: the vector itself");
        expected_tried += 9 * stored.len() as u64;

        let mut t = Totals::default();
        for (what, m) in mutants(&stored) {
            t.tried += 1;
            let before = PANICS.lock().unwrap_or_else(|e| e.into_inner()).len();
            match panic::catch_unwind(AssertUnwindSafe(|| v.try_input(&m))) {
                Ok(Ok(Outcome::Rejected(e))) => {
                    assert!(!e.is_empty());
                    t.rejected += 1;
                }
                Ok(Ok(Outcome::AcceptedValid)) => {
                    t.accepted_valid += 1;
                    match panic::catch_unwind(AssertUnwindSafe(|| v.commutes_with_golden(&m))) {
                        Ok(Some(true)) => {}
                        Ok(_) => {
                            t.order_dependent += 1;
                            if order_dependent.len() < 12 {
                                order_dependent.push(format!("{name}, {what}"));
                            }
                        }
                        Err(_) => {
                            t.panics += 1;
                            panicked.push(format!("{name}, {what}: panic in the commutativity check"));
                        }
                    }
                }
                Ok(Err(why)) => {
                    t.accepted_invalid += 1;
                    if invalid.len() < 20 {
                        invalid.push(format!("{name}, {what}: {why}\n  input {m:02x?}"));
                    }
                }
                Err(_) => {
                    t.panics += 1;
                    let msg = PANICS.lock().unwrap_or_else(|e| e.into_inner()).get(before).cloned();
                    if panicked.len() < 20 {
                        panicked
                            .push(format!("{name}, {what}: {}\n  input {m:02x?}", msg.unwrap_or_default()));
                    }
                }
            }
        }
        println!(
            "{name:<36} {:>6} {:>8} {:>9} {:>15} {:>8} {:>7} {:>10}",
            stored.len(),
            t.tried,
            t.rejected,
            t.accepted_valid,
            t.accepted_invalid,
            t.panics,
            t.order_dependent
        );
        assert_eq!(t.tried, 9 * stored.len() as u64);
        totals.add(&t);
    }
    panic::set_hook(previous_hook);

    println!(
        "TOTAL: {} mutations tried, {} rejected, {} accepted and valid, {} accepted but invalid, {} panics ({:.1} s)",
        totals.tried,
        totals.rejected,
        totals.accepted_valid,
        totals.accepted_invalid,
        totals.panics,
        start.elapsed().as_secs_f64()
    );
    println!(
        "of the accepted, {} join the golden value order-dependently (a different payload under a dot both hold)",
        totals.order_dependent
    );
    for o in &order_dependent {
        println!("ORDER-DEPENDENT: {o}");
    }
    for p in &panicked {
        println!("PANIC: {p}");
    }
    for i in &invalid {
        println!("INVALID: {i}");
    }

    assert_eq!(totals.tried, expected_tried, "every prefix and every bit of every vector was tried");
    assert_eq!(
        totals.tried,
        totals.rejected + totals.accepted_valid + totals.accepted_invalid + totals.panics
    );
    assert_eq!(totals.panics, 0, "decoding or joining panicked:\n{}", panicked.join("\n"));
    assert_eq!(totals.accepted_invalid, 0, "invalid values were accepted:\n{}", invalid.join("\n"));
    // The sweep is not vacuous: both outcomes occur (flips inside ids, counters and payloads
    // often give another valid value; flips in lengths, tags and orders are refused).
    assert!(totals.rejected > totals.tried / 10, "suspiciously few rejections: {totals:?}");
    assert!(totals.accepted_valid > 0, "no mutation was accepted: {totals:?}");
}

/// Replaces the first occurrence of `from` in `bytes` by `to` (same length).
fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let i = bytes.windows(from.len()).position(|w| w == from).expect("pattern in the encoding");
    let mut b = bytes.to_vec();
    b[i..i + to.len()].copy_from_slice(to);
    b
}

/// Found by the sweep's order-dependence count. A value that carries, under a dot the receiver
/// also holds, a DIFFERENT payload decodes as valid (it is valid on its own: the decoder cannot
/// know the receiver's payloads), and the causal join keeps whichever payload it saw first
/// (`DotFun::join_fun` skips every dot already in the receiver's context). So `a ⊔ b != b ⊔ a`
/// for such pairs, and two replicas that received the same two messages in opposite orders stay
/// different forever: every later join reports "no change". This is the failure the crate fixes
/// for `LwwRegister` by ordering equal `(timestamp, replica)` writes by value (see
/// `src/register.rs`), but not for the dot stores (`MvStore`, `LwwStore`, the counter stores,
/// `SetStore`, map keys). `Error::ConflictingPayload` is declared and documented for exactly this
/// case but never produced anywhere in `src/`. Since a refusal cannot help when the forged
/// payload arrives FIRST, the fix that makes replicas converge is a deterministic choice between
/// two payloads of one dot in every dot store's join (e.g. keep the greater payload, as the
/// LWW register does), possibly in addition to reporting the conflict.
#[test]
#[ignore = "bug: a different payload under an already-known dot is accepted and makes join order-dependent \
            (replicas diverge permanently; Error::ConflictingPayload is never produced)"]
fn regression_conflicting_payload_under_a_known_dot_diverges() {
    use convergent::sync::{Message, Mode, SyncEngine};
    use convergent::{Lattice, MvRegister, OrSet, ReplicaId, wire};

    let real = vectors::mvregister(); // {A:2 "a2", B:1 "b1", C:1 "c1"}
    let forged_bytes = patch(&wire::to_bytes(&real), b"a2", b"a3");
    let forged: MvRegister<String> = wire::from_bytes(&forged_bytes).expect("valid on its own");
    let (f, d, w) = (ReplicaId::from_u128(0xF), ReplicaId::from_u128(0xD), ReplicaId::from_u128(0xE));

    // Two fresh receivers get the same two delta-groups, in opposite orders, then exchange states.
    let msg = |m: &MvRegister<String>| Message::Delta { seq: 1, delta: m.clone() }.to_bytes();
    let mut x = SyncEngine::<MvRegister<String>>::new(d, Mode::DeltaBpRr);
    let mut y = SyncEngine::<MvRegister<String>>::new(w, Mode::DeltaBpRr);
    let _ = x.on_bytes(f, &msg(&forged));
    let _ = x.on_bytes(vectors::A, &msg(&real));
    let _ = y.on_bytes(vectors::A, &msg(&real));
    let _ = y.on_bytes(f, &msg(&forged));
    let (sx, sy) = (x.state().clone(), y.state().clone());
    let _ = x.on_message(w, Message::State { state: sy });
    let _ = y.on_message(d, Message::State { state: sx });
    assert_eq!(
        x.state(),
        y.state(),
        "two replicas that received the same messages disagree forever: {:?} vs {:?}",
        x.state(),
        y.state()
    );

    // The same at the lattice level, for a register and a set (an element changed under its dot).
    assert_eq!(real.clone().joined(forged.clone()), forged.joined(real), "MvRegister join commutes");
    let set = vectors::orset_string();
    let forged_set: OrSet<String> =
        wire::from_bytes(&patch(&wire::to_bytes(&set), b"cherry", b"chirry")).expect("valid on its own");
    assert_eq!(set.clone().joined(forged_set.clone()), forged_set.joined(set), "OrSet join commutes");
}
