//! Plain-text formatting shared by every output: latencies, counts, rates, percentages,
//! p-values, durations, error chains and aligned tables. A leaf: it uses no other module.

use std::time::Duration;

/// A latency in µs with about three significant digits and a fitting unit
/// (`850µs`, `1.23ms`, `45.6ms`, `123ms`, `1.50s`).
pub fn latency_us(us: u64) -> String {
    let v = us as f64;
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..10_000 => format!("{:.2}ms", v / 1e3),
        10_000..100_000 => format!("{:.1}ms", v / 1e3),
        100_000..1_000_000 => format!("{:.0}ms", v / 1e3),
        1_000_000..10_000_000 => format!("{:.2}s", v / 1e6),
        _ => format!("{:.1}s", v / 1e6),
    }
}

/// An optional latency; `—` when absent.
pub fn latency_opt(us: Option<u64>) -> String {
    us.map_or_else(|| "—".to_string(), latency_us)
}

/// A count with thousands separators (`12,345`).
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second (`512/s`, `2.5/s`).
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 100.0 {
        format!("{}/s", count(per_sec.round() as u64))
    } else if per_sec >= 10.0 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{per_sec:.2}/s")
    }
}

/// A ratio as a percentage with two decimals (`0.12%`).
pub fn percent(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

/// A ratio as a signed change (`+12.3%`, `-4.0%`, `+0.0%`).
pub fn change(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "new".into();
    }
    let pct = (ratio - 1.0) * 100.0;
    let digits = usize::from(pct.abs() < 100.0);
    format!(
        "{}{:.*}%",
        if pct < 0.0 { "-" } else { "+" },
        digits,
        pct.abs()
    )
}

/// A p-value with two significant digits, or `<0.0001`.
pub fn p_value(p: f64) -> String {
    if p < 1e-4 {
        "<0.0001".into()
    } else if p >= 0.1 {
        format!("{p:.2}")
    } else {
        let digits = (1.0 - p.log10().floor()) as usize;
        format!("{p:.digits$}")
    }
}

/// The columns of a plain-text table: each as wide as its widest cell (header included),
/// two spaces apart, left- or right-aligned; lines end without trailing spaces.
pub struct Columns {
    widths: Vec<usize>,
    left: Vec<bool>,
}

impl Columns {
    /// Columns fitting `header` and `rows`; column `c` of `n` is left-aligned when
    /// `left(c, n)`, else right-aligned.
    pub fn fit<R: AsRef<[String]>>(
        header: &[&str],
        rows: &[R],
        left: impl Fn(usize, usize) -> bool,
    ) -> Self {
        let n = header.len();
        let widths = (0..n)
            .map(|c| {
                rows.iter()
                    .map(|r| r.as_ref().get(c).map_or(0, |cell| cell.chars().count()))
                    .chain([header[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        Columns {
            widths,
            left: (0..n).map(|c| left(c, n)).collect(),
        }
    }

    /// One line of cells.
    pub fn line(&self, cells: &[String]) -> String {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(
                self.widths
                    .get(c)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(cell.chars().count()),
            );
            if c > 0 {
                l.push_str("  ");
            }
            if self.left.get(c).copied().unwrap_or(true) {
                l.push_str(cell);
                l.push_str(&pad);
            } else {
                l.push_str(&pad);
                l.push_str(cell);
            }
        }
        l.trim_end().to_string()
    }

    /// The width of a whole line.
    pub fn total_width(&self) -> usize {
        self.widths.iter().sum::<usize>() + 2 * self.widths.len().saturating_sub(1)
    }
}

/// A plain-text table: numbers right-aligned under their headers, the last column (words)
/// left-aligned; one line per row, each ending in a newline.
pub fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    table(header, rows, |c, n| c + 1 == n)
}

/// A plain-text table whose column `c` of `n` is left-aligned when `left(c, n)`: the header,
/// then one line per row, each ending in a newline.
pub fn table<R: AsRef<[String]>>(
    header: &[&str],
    rows: &[R],
    left: impl Fn(usize, usize) -> bool,
) -> String {
    let columns = Columns::fit(header, rows, left);
    let header: Vec<String> = header.iter().map(ToString::to_string).collect();
    let mut out = columns.line(&header) + "\n";
    for r in rows {
        out.push_str(&columns.line(r.as_ref()));
        out.push('\n');
    }
    out
}

/// Formats a duration the way profiles write them (`250ms`, `30s`, `2m`, `1h30m`).
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return if d.is_zero() {
            "0s".into()
        } else {
            format!("{}µs", d.as_micros())
        };
    }
    if !ms.is_multiple_of(1000) {
        return if ms < 1000 {
            format!("{ms}ms")
        } else {
            format!("{:.3}s", d.as_secs_f64())
        };
    }
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// Formats a rate as `<n>/s` with up to two decimals.
pub fn format_rate(per_sec: f64) -> String {
    let rounded = (per_sec * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}/s")
    } else {
        format!("{rounded}/s")
    }
}

/// An error with its causes, outermost first (`error sending request for url (…): client error
/// (Connect): tcp connect error: Connection refused (os error 111)`): the root cause is what
/// the reader can act on. A cause already spelled out by the text before it is skipped.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_keep_three_digits() {
        assert_eq!(latency_us(850), "850µs");
        assert_eq!(latency_us(1234), "1.23ms");
        assert_eq!(latency_us(45_612), "45.6ms");
        assert_eq!(latency_us(123_456), "123ms");
        assert_eq!(latency_us(1_500_000), "1.50s");
        assert_eq!(latency_us(61_000_000), "61.0s");
    }

    #[test]
    fn counts_and_rates() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rate(512.4), "512/s");
        assert_eq!(rate(2.5), "2.50/s");
        assert_eq!(percent(0.0012), "0.12%");
    }

    #[test]
    fn changes_and_p_values() {
        assert_eq!(change(1.123), "+12.3%");
        assert_eq!(change(0.96), "-4.0%");
        assert_eq!(change(1.0), "+0.0%");
        assert_eq!(change(3.5), "+250%");
        assert_eq!(change(f64::INFINITY), "new");
        assert_eq!(p_value(0.00001), "<0.0001");
        assert_eq!(p_value(0.0123), "0.012");
        assert_eq!(p_value(0.5), "0.50");
        assert_eq!(p_value(0.001), "0.0010");
    }
}
