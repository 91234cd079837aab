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

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Once;
use std::time::Instant;

use vectors::Outcome;

thread_local! {
    /// Set while a mutant is being tried: the hook then records the panic instead of printing it.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic caught on this thread.
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Installs (once per process) a panic hook that stays silent for the mutants' panics, which
/// are counted, and hands every other panic (the tests' own assertions) to the default hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                LAST_PANIC.with(|l| *l.borrow_mut() = info.to_string());
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f` catching and silencing a panic; `Err(message)` if it panicked.
fn quietly<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    QUIET.with(|q| q.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r.map_err(|_| LAST_PANIC.with(|l| l.borrow().clone()))
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    tried: u64,
    rejected: u64,
    accepted_valid: u64,
    accepted_invalid: u64,
    panics: u64,
    /// Accepted and valid, but `golden ⊔ m != m ⊔ golden` (informational: see
    /// `regression_conflicting_payload_under_a_known_dot_is_refused_not_merged`).
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

type Mutants = Vec<(String, Vec<u8>)>;

/// Each strict prefix (lengths 0 to len-1), then each single-bit flip: `9 * len` mutants.
fn truncations_and_bit_flips(bytes: &[u8]) -> Mutants {
    let truncations = (0..bytes.len()).map(|n| (format!("truncated to {n} bytes"), bytes[..n].to_vec()));
    let flips = (0..bytes.len()).flat_map(move |i| {
        (0..8).map(move |bit| {
            let mut m = bytes.to_vec();
            m[i] ^= 1 << bit;
            (format!("bit {bit} of byte {i} flipped"), m)
        })
    });
    truncations.chain(flips).collect()
}

/// Each byte deleted; each byte overwritten by 0x00, 0x01, 0x7f, 0x80, 0xff; 0x00, 0x7f and 0x80
/// inserted before each byte and at the end; the vector's last byte duplicated.
fn byte_edits(bytes: &[u8]) -> Mutants {
    let mut out = Vec::new();
    for i in 0..bytes.len() {
        let mut m = bytes.to_vec();
        m.remove(i);
        out.push((format!("byte {i} deleted"), m));
        for x in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            if bytes[i] != x {
                let mut m = bytes.to_vec();
                m[i] = x;
                out.push((format!("byte {i} set to {x:#04x}"), m));
            }
        }
    }
    for i in 0..=bytes.len() {
        for x in [0x00, 0x7f, 0x80] {
            let mut m = bytes.to_vec();
            m.insert(i, x);
            out.push((format!("{x:#04x} inserted at {i}"), m));
        }
    }
    let mut m = bytes.to_vec();
    m.push(*bytes.last().expect("non-empty vector"));
    out.push(("last byte repeated".into(), m));
    out
}

/// What a sweep found, with examples of each kind of failure.
struct Report {
    totals: Totals,
    panicked: Vec<String>,
    invalid: Vec<String>,
    order_dependent: Vec<String>,
    /// The sum over the vectors of `expected(len)`.
    expected_tried: u64,
}

/// Tries every mutant of every stored golden vector, printing a line per vector.
fn sweep(label: &str, mutants: fn(&[u8]) -> Mutants, expected: fn(usize) -> Option<u64>) -> Report {
    install_hook();
    let start = Instant::now();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("data");
    let mut r = Report {
        totals: Totals::default(),
        panicked: Vec::new(),
        invalid: Vec::new(),
        order_dependent: Vec::new(),
        expected_tried: 0,
    };
    let mut lines = vec![format!(
        "{label}\n{:<36} {:>6} {:>8} {:>9} {:>15} {:>8} {:>7} {:>10}",
        "vector", "bytes", "tried", "rejected", "accepted-valid", "invalid", "panics", "order-dep"
    )];
    for v in vectors::all() {
        let name = v.name();
        let stored = std::fs::read(dir.join(format!("{name}.bin")))
            .unwrap_or_else(|e| panic!("{name}.bin: {e} (run the golden test first)"));
        assert_eq!(stored, v.bytes(), "{name}.bin is not the current golden vector: run tests/golden.rs");
        assert!(matches!(v.try_input(&stored), Ok(Outcome::AcceptedValid)), "{name}: the vector itself");
        let ms = mutants(&stored);
        if let Some(n) = expected(stored.len()) {
            assert_eq!(ms.len() as u64, n, "{name}: number of mutants");
        }
        r.expected_tried += expected(stored.len()).unwrap_or(ms.len() as u64);

        let mut t = Totals::default();
        for (what, m) in ms {
            t.tried += 1;
            match quietly(|| v.try_input(&m)) {
                Ok(Ok(Outcome::Rejected(e))) => {
                    assert!(!e.is_empty());
                    t.rejected += 1;
                }
                Ok(Ok(Outcome::AcceptedValid)) => {
                    t.accepted_valid += 1;
                    match quietly(|| v.commutes_with_golden(&m)) {
                        Ok(Some(true)) => {}
                        Ok(_) => {
                            t.order_dependent += 1;
                            if r.order_dependent.len() < 12 {
                                r.order_dependent.push(format!("{name}, {what}"));
                            }
                        }
                        Err(msg) => {
                            t.panics += 1;
                            r.panicked.push(format!("{name}, {what}: in the commutativity check: {msg}"));
                        }
                    }
                }
                Ok(Err(why)) => {
                    t.accepted_invalid += 1;
                    if r.invalid.len() < 20 {
                        r.invalid.push(format!("{name}, {what}: {why}\n  input {m:02x?}"));
                    }
                }
                Err(msg) => {
                    t.panics += 1;
                    if r.panicked.len() < 20 {
                        r.panicked.push(format!("{name}, {what}: {msg}\n  input {m:02x?}"));
                    }
                }
            }
        }
        lines.push(format!(
            "{name:<36} {:>6} {:>8} {:>9} {:>15} {:>8} {:>7} {:>10}",
            stored.len(),
            t.tried,
            t.rejected,
            t.accepted_valid,
            t.accepted_invalid,
            t.panics,
            t.order_dependent
        ));
        r.totals.add(&t);
    }
    let t = &r.totals;
    lines.push(format!(
        "TOTAL ({label}): {} mutations tried, {} rejected, {} accepted and valid, {} accepted but invalid, \
         {} panics ({:.1} s)\nof the accepted, {} join the golden value order-dependently (a different \
         payload under a dot both hold)",
        t.tried,
        t.rejected,
        t.accepted_valid,
        t.accepted_invalid,
        t.panics,
        start.elapsed().as_secs_f64(),
        t.order_dependent
    ));
    lines.extend(r.order_dependent.iter().map(|o| format!("ORDER-DEPENDENT: {o}")));
    lines.extend(r.panicked.iter().map(|p| format!("PANIC: {p}")));
    lines.extend(r.invalid.iter().map(|i| format!("INVALID: {i}")));
    // One print, so that the tables of tests running in parallel do not interleave.
    println!("{}\n", lines.join("\n"));
    r
}

fn assert_clean(r: &Report) {
    let t = &r.totals;
    assert_eq!(t.tried, r.expected_tried, "every mutant was tried");
    assert_eq!(t.tried, t.rejected + t.accepted_valid + t.accepted_invalid + t.panics);
    assert_eq!(t.panics, 0, "decoding or joining panicked:\n{}", r.panicked.join("\n"));
    assert_eq!(t.accepted_invalid, 0, "invalid values were accepted:\n{}", r.invalid.join("\n"));
}

#[test]
fn every_truncation_and_bit_flip_is_rejected_or_valid() {
    let r = sweep("truncations and single-bit flips", truncations_and_bit_flips, |len| Some(9 * len as u64));
    assert_clean(&r);
    // The sweep is not vacuous: both outcomes occur (flips inside ids, counters and payloads
    // often give another valid value; flips in lengths, tags and orders are refused).
    let t = &r.totals;
    assert!(t.rejected > t.tried / 10, "suspiciously few rejections: {t:?}");
    assert!(t.accepted_valid > 0, "no mutation was accepted: {t:?}");
}

/// Beyond the brief's sweep: deleted, inserted and overwritten bytes (length prefixes and
/// varints shifted against their contents).
#[test]
fn every_byte_deletion_insertion_and_overwrite_is_rejected_or_valid() {
    let r = sweep("byte deletions, insertions and overwrites", byte_edits, |_| None);
    assert_clean(&r);
    assert!(r.totals.rejected > 0 && r.totals.accepted_valid > 0, "{:?}", r.totals);
}

/// The counting machinery itself: a panic inside `quietly` is caught, silenced and reported
/// with its message; the hook lets other panics through (this test's own asserts would show).
#[test]
fn panics_are_counted_not_raised() {
    install_hook();
    let r: Result<(), String> = quietly(|| panic!("boom {}", 42));
    assert!(r.as_ref().is_err_and(|m| m.contains("boom 42")), "{r:?}");
    assert_eq!(quietly(|| 7), Ok(7));
    assert!(!QUIET.with(Cell::get), "quiet mode is left after a panic");
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
/// know the receiver's payloads), and the plain causal join keeps whichever payload it saw
/// first, so `a ⊔ b != b ⊔ a` for such pairs. Honest replicas never make such pairs (a dot is
/// minted once, by its owner); a buggy peer or a reused id does. Validated receipt
/// (`ReceiveCheck`, `wire::receive`) now refuses the second payload with
/// `Error::ConflictingPayload`, so the divergence is never silent: every attempt to merge the
/// two versions is refused and reported to the application. (Which payload a replica keeps
/// depends on which it saw first: without signatures no receiver can tell the forgery.)
#[test]
fn regression_conflicting_payload_under_a_known_dot_is_refused_not_merged() {
    use convergent::sync::{Message, Mode, ReceiveCheck, SyncEngine};
    use convergent::{Error, Lattice, MvRegister, OrSet, ReceivePolicy, ReplicaId, wire};

    let real = vectors::mvregister(); // {A:2 "a2", B:1 "b1", C:1 "c1"}
    let forged_bytes = patch(&wire::to_bytes(&real), b"a2", b"a3");
    let forged: MvRegister<String> = wire::from_bytes(&forged_bytes).expect("valid on its own");
    assert_ne!(real, forged);
    let (f, d, w) = (ReplicaId::from_u128(0xF), ReplicaId::from_u128(0xD), ReplicaId::from_u128(0xE));
    let conflict = |r: Result<(), Error>| matches!(r, Err(Error::ConflictingPayload { .. }));

    // Two fresh receivers get the same two delta-groups, in opposite orders, then exchange states.
    let msg = |m: &MvRegister<String>| Message::Delta { seq: 1, delta: m.clone() }.to_bytes();
    let clock = || 1_700_000_000_000u64;
    let mut x =
        SyncEngine::<MvRegister<String>>::new(d, Mode::DeltaBpRr).with_validator(ReceiveCheck::new(clock));
    let mut y =
        SyncEngine::<MvRegister<String>>::new(w, Mode::DeltaBpRr).with_validator(ReceiveCheck::new(clock));
    assert_eq!(x.on_bytes(f, &msg(&forged)), Ok(()));
    assert!(conflict(x.on_bytes(vectors::A, &msg(&real))), "the second payload of a dot is refused");
    assert_eq!(y.on_bytes(vectors::A, &msg(&real)), Ok(()));
    assert!(conflict(y.on_bytes(f, &msg(&forged))), "the second payload of a dot is refused");
    assert_eq!(x.state(), &forged, "a refused message changes nothing");
    assert_eq!(y.state(), &real, "a refused message changes nothing");
    let (sx, sy) = (x.state().clone(), y.state().clone());
    assert!(conflict(x.on_message(w, Message::State { state: sy })), "the full state is refused too");
    assert!(conflict(y.on_message(d, Message::State { state: sx })), "the full state is refused too");

    // The same through `wire::receive`, for a set whose element was changed under its dot.
    let set = vectors::orset_string();
    let forged_set: OrSet<String> =
        wire::from_bytes(&patch(&wire::to_bytes(&set), b"cherry", b"chirry")).expect("valid on its own");
    let policy = ReceivePolicy::new(d, clock());
    let mut local = set.clone();
    let r = wire::receive(&mut local, &wire::to_bytes(&forged_set), &policy);
    assert!(matches!(r, Err(Error::ConflictingPayload { .. })), "got {r:?}");
    assert_eq!(local, set);
    // Without the check, the plain join is order-dependent on such a pair: what the check is for.
    assert_ne!(set.clone().joined(forged_set.clone()), forged_set.joined(set));
}
