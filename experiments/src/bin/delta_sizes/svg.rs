//! A hand-written SVG of figure 2: four panels, `delta/state` (log y) and `delta/floor` (linear
//! y, with the 1.5 bound) against replicas `n` and elements `m` (log x). One line per operation,
//! coloured by type, dashed by operation within the type. No plotting dependency.

use std::fmt::Write as _;

use super::sweep::Row;

const PANEL_W: f64 = 440.0;
const PANEL_H: f64 = 300.0;
const MARGIN_L: f64 = 64.0;
const MARGIN_T: f64 = 56.0;
const GAP_X: f64 = 84.0;
const GAP_Y: f64 = 78.0;
const LEGEND_W: f64 = 360.0;

const COLORS: [&str; 11] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#000000",
];
const DASHES: [&str; 6] = ["", "6 3", "2 2", "9 3 2 3", "1 3", "12 4"];

/// One axis: a data range mapped onto pixels, logarithmic or linear.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    px0: f64,
    px1: f64,
}

impl Axis {
    fn at(&self, v: f64) -> f64 {
        let (a, b, x) =
            if self.log { (self.lo.log10(), self.hi.log10(), v.log10()) } else { (self.lo, self.hi, v) };
        self.px0 + (x - a) / (b - a) * (self.px1 - self.px0)
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Which quantity a panel shows, against which variable.
#[derive(Clone, Copy)]
enum Y {
    OverState,
    OverFloor,
}
#[derive(Clone, Copy)]
enum X {
    Replicas,
    Elements,
}

/// The SVG document. `n_at` fixes n for the panels against m; `m_at` fixes m for those against n.
pub(crate) fn plot(rows: &[Row], n_at: usize, m_at: usize) -> String {
    let mut ops: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !ops.contains(&(r.ty, r.op)) {
            ops.push((r.ty, r.op));
        }
    }
    let mut types: Vec<&str> = Vec::new();
    for (t, _) in &ops {
        if !types.contains(t) {
            types.push(t);
        }
    }
    let style = |ty: &str, op: &str| {
        let ti = types.iter().position(|t| *t == ty).unwrap_or(0);
        let oi = ops.iter().filter(|(t, _)| *t == ty).position(|(_, o)| *o == op).unwrap_or(0);
        (COLORS[ti % COLORS.len()], DASHES[oi % DASHES.len()])
    };

    let width = MARGIN_L + 2.0 * PANEL_W + GAP_X + 24.0 + LEGEND_W;
    let height = MARGIN_T + 2.0 * PANEL_H + GAP_Y + 60.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN_L}" y="24" font-size="16" font-weight="bold">Delta size per operation: convergent, postcard + 1 version byte</text>"#
    );

    let min_state =
        rows.iter().map(Row::over_state).filter(|v| *v > 0.0).fold(1.0f64, f64::min).log10().floor();
    let max_floor = rows.iter().map(Row::over_floor).fold(1.5f64, f64::max);
    let panels = [
        (0, 0, Y::OverState, X::Replicas),
        (1, 0, Y::OverState, X::Elements),
        (0, 1, Y::OverFloor, X::Replicas),
        (1, 1, Y::OverFloor, X::Elements),
    ];
    for (col, row, y, x) in panels {
        let x0 = MARGIN_L + f64::from(col) * (PANEL_W + GAP_X);
        let y0 = MARGIN_T + f64::from(row) * (PANEL_H + GAP_Y);
        let xs: Vec<usize> = {
            let mut v: Vec<usize> = rows
                .iter()
                .map(|r| match x {
                    X::Replicas => r.n,
                    X::Elements => r.m,
                })
                .filter(|&v| v > 0)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let xa =
            Axis { lo: xs[0] as f64, hi: xs[xs.len() - 1] as f64, log: true, px0: x0, px1: x0 + PANEL_W };
        let ya = match y {
            Y::OverState => {
                Axis { lo: 10f64.powf(min_state), hi: 1.0, log: true, px0: y0 + PANEL_H, px1: y0 }
            }
            Y::OverFloor => {
                Axis { lo: 0.0, hi: (max_floor * 4.0).ceil() / 4.0, log: false, px0: y0 + PANEL_H, px1: y0 }
            }
        };
        let (title, xlabel) = match (y, x) {
            (Y::OverState, X::Replicas) => {
                (format!("delta / state against replicas (m = {m_at})"), "replicas n")
            }
            (Y::OverState, X::Elements) => {
                (format!("delta / state against elements or keys (n = {n_at})"), "elements or keys m")
            }
            (Y::OverFloor, X::Replicas) => {
                (format!("delta / floor against replicas (m = {m_at})"), "replicas n")
            }
            (Y::OverFloor, X::Elements) => {
                (format!("delta / floor against elements or keys (n = {n_at})"), "elements or keys m")
            }
        };
        let _ = writeln!(s, r#"<text x="{x0}" y="{}" font-weight="bold">{}</text>"#, y0 - 10.0, esc(&title));
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{y0}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#444"/>"##
        );
        // Grid and ticks.
        for &v in &xs {
            let px = xa.at(v as f64);
            let _ = writeln!(
                s,
                r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{}" stroke="#ddd"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                y0 + PANEL_H,
                y0 + PANEL_H + 16.0,
                tick(v as f64)
            );
        }
        let yticks: Vec<f64> = match y {
            Y::OverState => (min_state as i32..=0).map(|e| 10f64.powi(e)).collect(),
            Y::OverFloor => (0..=((ya.hi / 0.25) as usize)).map(|k| k as f64 * 0.25).collect(),
        };
        for v in yticks {
            let py = ya.at(v);
            let label = match y {
                Y::OverState => format!("1e{}", v.log10().round()),
                Y::OverFloor => format!("{v:.2}"),
            };
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{label}</text>"##,
                x0 + PANEL_W,
                x0 - 6.0,
                py + 4.0
            );
        }
        if let Y::OverFloor = y {
            let py = ya.at(1.5);
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#c00" stroke-dasharray="4 4"/><text x="{}" y="{:.1}" fill="#c00" text-anchor="end">bound 1.5</text>"##,
                x0 + PANEL_W,
                x0 + PANEL_W - 4.0,
                py - 4.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{xlabel} (log)</text>"#,
            x0 + PANEL_W / 2.0,
            y0 + PANEL_H + 34.0
        );
        // One polyline per operation.
        for &(ty, op) in &ops {
            let mut pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.ty == ty && r.op == op)
                .filter(|r| match x {
                    X::Replicas => r.m == m_at,
                    X::Elements => r.n == n_at && r.m > 0,
                })
                .map(|r| {
                    let xv = match x {
                        X::Replicas => r.n,
                        X::Elements => r.m,
                    } as f64;
                    let yv = match y {
                        Y::OverState => r.over_state(),
                        Y::OverFloor => r.over_floor(),
                    };
                    (xa.at(xv), ya.at(yv))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            if pts.is_empty() {
                continue;
            }
            let (color, dash) = style(ty, op);
            let path: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.5" stroke-dasharray="{dash}"><title>{}: {}</title></polyline>"#,
                path.join(" "),
                esc(ty),
                esc(op)
            );
        }
    }
    // Legend.
    let lx = MARGIN_L + 2.0 * PANEL_W + GAP_X + 24.0;
    let mut ly = MARGIN_T;
    let _ = writeln!(s, r#"<text x="{lx}" y="{ly}" font-weight="bold">type: operation</text>"#);
    for &(ty, op) in &ops {
        ly += 17.0;
        let (color, dash) = style(ty, op);
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{}" y="{ly:.1}">{}: {}</text>"#,
            ly - 4.0,
            lx + 28.0,
            ly - 4.0,
            lx + 34.0,
            esc(ty),
            esc(op)
        );
    }
    ly += 30.0;
    for line in [
        "m: elements (sets), keys (maps),",
        "history length (counters, registers, flags).",
        "\"hot\" / \"n dots\": written by all n replicas.",
        "Floor: docs/performance.md, ids once.",
    ] {
        let _ = writeln!(s, r##"<text x="{lx}" y="{ly:.1}" fill="#444">{}</text>"##, esc(line));
        ly += 16.0;
    }
    s.push_str("</svg>\n");
    s
}

fn tick(v: f64) -> String {
    if v >= 1000.0 { format!("1e{}", v.log10().round()) } else { format!("{v}") }
}
