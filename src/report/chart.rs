//! Charts: Mermaid `xychart-beta` text for Markdown (GitHub renders it) and inline SVG for the
//! HTML report. Pure functions of [`Series`]; every text that reaches a chart is sanitized here
//! (Mermaid) or XML-escaped (SVG), so the returned strings are safe to embed as they are.

use std::fmt::Write as _;

use super::series::{Series, band_points};
use crate::compare::BaselineBand;

/// Colours of the HTML charts, in series order.
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A Mermaid `xychart-beta` of an endpoint's p95 per point: the baseline's low, median and high
/// runs (light blue, blue, light blue) and the current run (red). `None` when the series has no
/// latency at all.
pub fn mermaid_p95(series: &Series, band: Option<&BaselineBand>) -> Option<String> {
    let current: Vec<Option<f64>> = series
        .points
        .iter()
        .map(|p| p.p95_us.map(|v| v as f64 / 1000.0))
        .collect();
    if current.iter().all(Option::is_none) {
        return None;
    }
    let band: Vec<Option<[f64; 3]>> = band.map_or_else(Vec::new, |b| {
        band_points(b, series.intervals_per_point, series.points.len())
            .into_iter()
            .map(|p| p.map(|v| v.map(|us| us / 1000.0)))
            .collect()
    });
    let has_band = band.iter().any(Option::is_some);
    let top = current
        .iter()
        .flatten()
        .copied()
        .chain(band.iter().flatten().map(|b| b[2]))
        .fold(0.0_f64, f64::max);
    let mut out = String::new();
    if has_band {
        out.push_str(
            "%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#9ecae1, #1f77b4, #9ecae1, #d62728\"}}}}%%\n",
        );
    } else {
        out.push_str(
            "%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#d62728\"}}}}%%\n",
        );
    }
    out.push_str("xychart-beta\n");
    let _ = writeln!(
        out,
        "    title \"{} · p95 per {} (ms)\"",
        mermaid_text(&series.endpoint),
        secs_label(series.step_secs)
    );
    let end = series.step_secs * series.points.len() as f64;
    let _ = writeln!(
        out,
        "    x-axis \"seconds into the measured phase\" 0 --> {}",
        trim_float(end)
    );
    let _ = writeln!(
        out,
        "    y-axis \"ms\" 0 --> {}",
        trim_float(nice_ceiling(top))
    );
    if has_band {
        for k in [2, 1, 0] {
            let values: Vec<Option<f64>> = band.iter().map(|b| b.map(|v| v[k])).collect();
            let _ = writeln!(out, "    line [{}]", filled(&values));
        }
    }
    let _ = writeln!(out, "    line [{}]", filled(&current));
    Some(out)
}

/// Values for a Mermaid series: gaps take the previous value (the first known one at the
/// start), two decimals.
fn filled(values: &[Option<f64>]) -> String {
    let first = values.iter().flatten().next().copied().unwrap_or(0.0);
    let mut last = first;
    values
        .iter()
        .map(|v| {
            if let Some(v) = v {
                last = *v;
            }
            trim_float((last * 100.0).round() / 100.0)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text for a quoted Mermaid string: no quotes, backticks, line breaks or markup characters.
fn mermaid_text(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .take(60)
        .map(|c| {
            if c.is_alphanumeric() || " _-./:()[]{},+*=?!".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    cleaned.trim().to_string()
}

fn secs_label(s: f64) -> String {
    if (s - s.round()).abs() < 1e-9 {
        format!("{}s", s.round())
    } else {
        format!("{s:.1}s")
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (1 for non-positive values).
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let exp = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * exp >= v * (1.0 - 1e-9) {
            return m * exp;
        }
    }
    10.0 * exp
}

/// One line of an SVG line chart.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Stroke colour.
    pub color: &'static str,
    /// Dashed (for baseline lines).
    pub dashed: bool,
    /// Values per x (gaps allowed).
    pub values: Vec<Option<f64>>,
}

/// An SVG line chart over `x` (seconds) with a linear y axis from 0, ticks, grid and legend.
pub fn svg_lines(title: &str, y_unit: &str, x: &[f64], lines: &[Line]) -> String {
    svg_lines_over(title, "s", y_unit, x, lines)
}

#[allow(clippy::many_single_char_names)] // x, y, w, h: coordinates, as in SVG
/// [`svg_lines`] over `x` in `x_unit` (`s`, `users`, `/s`): both axes linear from 0.
pub fn svg_lines_over(
    title: &str,
    x_unit: &str,
    y_unit: &str,
    x: &[f64],
    lines: &[Line],
) -> String {
    let (w, h) = (720.0, 260.0);
    let (left, right, top, bottom) = (56.0, 12.0, 28.0, 44.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let x_max = x.iter().copied().fold(0.0, f64::max).max(1e-9);
    let y_max = nice_ceiling(
        lines
            .iter()
            .flat_map(|l| l.values.iter().flatten())
            .copied()
            .fold(0.0, f64::max),
    );
    let sx = |v: f64| left + pw * v / x_max;
    let sy = |v: f64| top + ph * (1.0 - v / y_max);
    let mut svg = svg_open(w, h, title);
    let _ = write!(
        svg,
        r#"<text x="{left}" y="16" class="title">{}</text>"#,
        xml(title)
    );
    for k in 0..=4 {
        let v = y_max * f64::from(k) / 4.0;
        let y = sy(v);
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{} {}</text>"#,
            left + pw,
            left - 4.0,
            y + 4.0,
            trim_float(v),
            xml(y_unit)
        );
    }
    for k in 0..=4 {
        let v = x_max * f64::from(k) / 4.0;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="{}">{}{}{}</text>"#,
            sx(v),
            top + ph + 14.0,
            // The last label ends at the axis's end rather than past the chart's edge.
            if k == 4 { "end" } else { "middle" },
            trim_float(v.round()),
            if x_unit.starts_with(char::is_alphabetic) && x_unit != "s" {
                " "
            } else {
                ""
            },
            xml(x_unit)
        );
    }
    for line in lines {
        let mut d = String::new();
        let mut pen_down = false;
        for (xv, yv) in x.iter().zip(&line.values) {
            match yv {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        sx(*xv),
                        sy(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            svg,
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.6"{}/>"#,
            d.trim_end(),
            line.color,
            if line.dashed {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            }
        );
    }
    legend(
        &mut svg,
        lines.iter().map(|l| (l.label.as_str(), l.color)),
        left,
        h - 10.0,
    );
    svg.push_str("</svg>");
    svg
}

#[allow(clippy::many_single_char_names)] // x, y, w, h: coordinates, as in SVG
/// An SVG bar chart of a latency distribution: responses per latency band, on log-spaced bands
/// from the fastest to the slowest response.
pub fn svg_histogram(title: &str, histogram: &crate::metrics::Histogram) -> String {
    let (w, h) = (720.0, 220.0);
    let (left, right, top, bottom) = (56.0, 12.0, 28.0, 30.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let mut svg = svg_open(w, h, title);
    let _ = write!(
        svg,
        r#"<text x="{left}" y="16" class="title">{}</text>"#,
        xml(title)
    );
    let (Some(lo), Some(hi)) = (histogram.min_us(), histogram.max_us()) else {
        svg.push_str(r#"<text x="60" y="100" class="tick">no responses</text></svg>"#);
        return svg;
    };
    let bands = 40usize;
    let (llo, lhi) = ((lo.max(1) as f64).ln(), ((hi.max(1) as f64) * 1.001).ln());
    let span = (lhi - llo).max(1e-9);
    let mut counts = vec![0u64; bands];
    for (value_us, n) in histogram.buckets() {
        let k = (((value_us.max(1) as f64).ln() - llo) / span * bands as f64) as usize;
        counts[k.min(bands - 1)] += n;
    }
    let top_count = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bar_w = pw / bands as f64;
    for (k, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let bh = ph * n as f64 / top_count;
        let from = (llo + span * k as f64 / bands as f64).exp();
        let to = (llo + span * (k + 1) as f64 / bands as f64).exp();
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>{}–{}: {} responses</title></rect>"#,
            left + bar_w * k as f64 + 0.5,
            top + ph - bh,
            (bar_w - 1.0).max(0.5),
            PALETTE[0],
            crate::format::latency_us(from as u64),
            crate::format::latency_us(to as u64),
            crate::format::count(n)
        );
    }
    for k in 0..=4 {
        let v = (llo + span * f64::from(k) / 4.0).exp();
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"#,
            left + pw * f64::from(k) / 4.0,
            top + ph + 14.0,
            crate::format::latency_us(v as u64)
        );
    }
    let _ = write!(
        svg,
        r#"<line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" class="axis"/>"#,
        top + ph,
        left + pw,
        top + ph
    );
    svg.push_str("</svg>");
    svg
}

fn svg_open(w: f64, h: f64, title: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        xml(title)
    )
}

fn legend<'a>(svg: &mut String, items: impl Iterator<Item = (&'a str, &'a str)>, x0: f64, y: f64) {
    let mut x = x0;
    for (label, color) in items {
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{y:.1}" class="tick">{}</text>"#,
            y - 9.0,
            x + 14.0,
            xml(label)
        );
        x += 24.0 + 6.5 * label.chars().count() as f64;
    }
}

/// Escapes text for XML content and attributes.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert!((nice_ceiling(3.2) - 5.0).abs() < 1e-9);
        assert!((nice_ceiling(0.012) - 0.02).abs() < 1e-12);
        assert!((nice_ceiling(100.0) - 100.0).abs() < 1e-9);
        assert!((nice_ceiling(0.0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn mermaid_text_cannot_break_out() {
        let t = mermaid_text("a\"b`c\nd<script>%%");
        assert!(!t.contains(['"', '`', '\n', '<', '>', '%']), "{t}");
    }

    #[test]
    fn gaps_take_the_previous_value() {
        assert_eq!(filled(&[None, Some(1.0), None, Some(2.5)]), "1, 1, 1, 2.5");
    }

    #[test]
    fn svg_text_is_escaped() {
        let svg = svg_lines(
            "<b>\"x\"</b>",
            "ms",
            &[0.0, 1.0],
            &[Line {
                label: "a&b".into(),
                color: PALETTE[0],
                dashed: false,
                values: vec![Some(1.0), None],
            }],
        );
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("a&amp;b"));
    }
}
