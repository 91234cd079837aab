//! Figure 2: the size of every operation's delta against the state and the information floor,
//! over replicas `n` in 1..=256 and elements (or keys) `m` in 0..=100 000.
//!
//! Prints a markdown summary (also written to `docs/delta_sizes.md`), writes every measurement
//! to `docs/delta_sizes.csv` and plots `delta/state` and `delta/floor` against `n` and `m` into
//! `docs/delta_sizes.svg`.
//!
//! Bytes are `convergent::wire::encoded_len`: postcard plus one format-version byte. The floor is
//! defined in `docs/performance.md`, with a 16-byte replica id written once per delta; see
//! `sweep.rs` beside this file for how states are built and floors computed.
//!
//! Run: `cargo run --release -p experiments --bin delta_sizes` (about half a minute). `--quick` sweeps
//! n <= 64, m <= 1000 and writes nothing.

mod svg;
mod sweep;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Instant;

use sweep::{MS, NS, Row};

fn main() -> std::io::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (ns, ms): (&[usize], &[usize]) = if quick { (&NS[..7], &MS[..5]) } else { (&NS, &MS) };
    let t = Instant::now();
    let rows = sweep::sweep(ns, ms);
    eprintln!("{} measurements in {:.1} s", rows.len(), t.elapsed().as_secs_f64());

    let mut report = String::from("## Delta sizes (figure 2)\n\n");
    let _ = writeln!(
        report,
        "Bytes: `wire::encoded_len` (postcard + 1 format-version byte). Floor (defined in \
         [`performance.md`](performance.md#the-information-floor)): each replica id once at 16 bytes, event numbers, elements, keys, values and \
         timestamps as postcard varints of the actual values. Ranges over n in {ns:?} and m in \
         {ms:?}. `cargo run --release -p experiments --bin delta_sizes` regenerates this file, \
         `delta_sizes.csv` and `delta_sizes.svg`.\n"
    );
    report.push_str(&summary(&rows, ns, ms));
    report.push('\n');
    report.push_str(&checks(&rows));
    print!("{report}");
    if !quick {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("delta_sizes.md"), &report)?;
        fs::write(dir.join("delta_sizes.csv"), csv(&rows))?;
        fs::write(dir.join("delta_sizes.svg"), svg::plot(&rows, N_AT, M_AT))?;
        println!("\nwrote docs/delta_sizes.md, docs/delta_sizes.csv and docs/delta_sizes.svg");
    }
    Ok(())
}

/// The slices plotted: against n at m = `M_AT`, against m at n = `N_AT`.
const M_AT: usize = 10_000;
const N_AT: usize = 16;

/// The two bounds of `tests/delta_sizes.rs`, checked over the full sweep.
fn checks(rows: &[Row]) -> String {
    let mut s = String::new();
    let worst = rows.iter().max_by(|a, b| a.over_floor().total_cmp(&b.over_floor())).expect("rows");
    let _ = writeln!(
        s,
        "Worst delta/floor: {:.3} ({} {}, n={}, m={}: {} B against a floor of {} B).",
        worst.over_floor(),
        worst.ty,
        worst.op,
        worst.n,
        worst.m,
        worst.delta,
        worst.floor
    );
    let over: Vec<&Row> = rows.iter().filter(|r| 2 * r.delta > 3 * r.floor).collect();
    if over.is_empty() {
        let _ = writeln!(s, "Every delta is within 1.5 x its floor.");
    } else {
        let _ = writeln!(s, "Over 1.5 x floor ({} of {}):", over.len(), rows.len());
        for r in over {
            let _ = writeln!(
                s,
                "- {} {} at n={}, m={}: {} B / {} B = {:.3}",
                r.ty,
                r.op,
                r.n,
                r.m,
                r.delta,
                r.floor,
                r.over_floor()
            );
        }
    }
    if let Some(ins) = rows.iter().filter(|r| r.ty == "OrSet" && r.op == "insert new").min_by_key(|r| r.delta)
    {
        let _ = writeln!(
            s,
            "Replica-id tax: every replica a delta names costs its 16-byte UUID (`floor_replicas` in \
             the CSV). The smallest OR-Set insert delta, {} B, would be {} B with a 1-byte index \
             into a replica table both sides already share.",
            ins.delta,
            ins.delta - 15
        );
    }
    let framing = rows.iter().map(|r| r.delta as i64 - r.floor as i64 - 3 * r.replicas as i64).max();
    let _ = writeln!(
        s,
        "Largest framing (delta - floor - 3 x replicas named): {} B, whatever n and m.",
        framing.unwrap_or(0)
    );
    s
}

fn csv(rows: &[Row]) -> String {
    let mut s = String::from(
        "type,op,n,m,delta_bytes,state_bytes,floor_bytes,floor_replicas,delta_irreducibles,\
         delta_over_state,delta_over_floor\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "\"{}\",\"{}\",{},{},{},{},{},{},{},{:.6e},{:.4}",
            r.ty,
            r.op,
            r.n,
            r.m,
            r.delta,
            r.state,
            r.floor,
            r.replicas,
            r.irreducibles,
            r.over_state(),
            r.over_floor()
        );
    }
    s
}

/// Distinct (type, op) pairs in sweep order.
fn ops(rows: &[Row]) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in rows {
        if !out.contains(&(r.ty, r.op)) {
            out.push((r.ty, r.op));
        }
    }
    out
}

fn span<T: PartialOrd + Copy>(it: impl Iterator<Item = T>) -> (T, T) {
    let v: Vec<T> = it.collect();
    let mut lo = v[0];
    let mut hi = v[0];
    for &x in &v {
        if x < lo {
            lo = x;
        }
        if x > hi {
            hi = x;
        }
    }
    (lo, hi)
}

fn range<T: PartialOrd + Copy + std::fmt::Display>((lo, hi): (T, T)) -> String {
    if lo == hi { format!("{lo}") } else { format!("{lo}–{hi}") }
}

fn summary(rows: &[Row], ns: &[usize], ms: &[usize]) -> String {
    let mut s = String::new();
    let (n_max, m_max) = (ns[ns.len() - 1], ms[ms.len() - 1]);
    let _ = writeln!(
        s,
        "| Type | Operation | delta bytes | floor bytes | irreducibles | delta/floor | delta − floor | \
         delta/state at n={n_max}, m={m_max} |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for (ty, op) in ops(rows) {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.ty == ty && r.op == op).collect();
        let d = span(rs.iter().map(|r| r.delta));
        let f = span(rs.iter().map(|r| r.floor));
        let i = span(rs.iter().map(|r| r.irreducibles));
        let (best, worst) = span(rs.iter().map(|r| r.over_floor()));
        let ov = span(rs.iter().map(|r| r.delta as i64 - r.floor as i64));
        let corner = rs
            .iter()
            .find(|r| r.n == n_max && r.m == m_max)
            .map_or("–".to_string(), |r| format!("{:.2e}", r.over_state()));
        let _ = writeln!(
            s,
            "| {ty} | {op} | {} | {} | {} | {best:.2}–{worst:.2} | {} | {corner} |",
            range(d),
            range(f),
            range(i),
            range(ov)
        );
    }
    s
}
