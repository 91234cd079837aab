//! Writes the committed seed corpora: `cargo +nightly run --example seeds` in `fuzz/`.
//!
//! Decode targets get real encodings (values of a short history, and sync messages carrying
//! them); the structured targets get a few fixed pseudo-random inputs per type.

use std::fs;
use std::path::Path;

use convergent::causal::VersionVector;
use convergent::sync::Message;
use convergent::{CausalContext, EwFlag, ReplicaId, wire};
use testkit::dispatch;
use testkit::fuzz::{FuzzSubject, TYPES, live};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed file");
}

fn decode_seeds<T: FuzzSubject>(sel: u8) {
    let v = live::<T>();
    let mut b = vec![sel];
    b.extend(wire::to_bytes(&v));
    write("decode", &format!("value-{sel:02}"), &b);
    if sel % 4 == 0 {
        let mut b = vec![sel];
        b.extend(Message::Delta { seq: 3, delta: v }.to_bytes());
        write("decode", &format!("message-{sel:02}"), &b);
    }
}

/// Fixed pseudo-random bytes (the test kit's PRNG).
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = testkit::Rng::new(seed);
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

fn main() {
    for sel in 0..TYPES {
        dispatch!(sel, decode_seeds(sel));
    }
    for target in ["laws", "convergence", "sync", "roundtrip"] {
        for (k, sel) in [0u8, 4, 6, 9, 11, 16].into_iter().enumerate() {
            let mut b = vec![sel];
            b.extend(bytes(u64::from(sel) * 31 + k as u64, 24 + 20 * k));
            write(target, &format!("{sel:02}"), &b);
        }
    }
    let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    let mut f = EwFlag::new();
    write("decode_flag", "empty", &wire::to_bytes(&f));
    let _ = f.enable(a);
    write("decode_flag", "enabled", &wire::to_bytes(&f));
    let mut g = f.clone();
    let _ = g.disable(b);
    let _ = f.enable(b);
    let _ = f.enable(a);
    write("decode_flag", "two-writers", &wire::to_bytes(&f));
    write("decode_flag", "disabled", &wire::to_bytes(&g));
    let mut c = CausalContext::new();
    let _ = c.next_dot(a);
    let _ = c.next_dot(b);
    let _ = c.next_dot(b);
    write("decode_flag", "context", &wire::to_bytes(&c));
    let mut v = VersionVector::new();
    v.raise(a, 2);
    v.raise(b, 7);
    write("decode_flag", "version-vector", &wire::to_bytes(&v));
    write("decode_flag", "dot", &wire::to_bytes(&c.next_dot(a)));
}
