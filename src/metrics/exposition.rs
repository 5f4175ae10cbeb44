//! Live metrics of a run in the Prometheus text format (0.0.4) and OpenMetrics 1.0: request
//! and error counters per endpoint, latency histograms, the generator's health, target against
//! achieved rate, requests in flight.
//!
//! Pure: [`LiveMetrics`] is fed the finished intervals exactly as they go into the results
//! file, so at the end of a run its counters equal the file's. Units follow Prometheus
//! conventions: seconds, counters ending in `_total`, the unit in the name.

use std::fmt::Write as _;

use super::IntervalProgress;
use crate::metrics::{ErrorClass, Histogram};

/// Upper bounds of the latency histogram's buckets, in seconds (`+Inf` follows).
pub const BUCKETS_SECONDS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (what Prometheus asks for by default).
    Prometheus,
    /// OpenMetrics 1.0 text (counter families without `_total`, `# UNIT`, `# EOF`).
    OpenMetrics,
}

impl Format {
    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// OpenMetrics when an `Accept` header asks for it, else the Prometheus format.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// What a run has shown so far (see the module docs).
#[derive(Debug, Clone)]
pub struct LiveMetrics {
    profile: String,
    model: &'static str,
    interval_secs: f64,
    endpoints: Vec<EndpointTotals>,
    planned: u64,
    sent: u64,
    dropped: u64,
    intervals: u64,
    last: Option<LastInterval>,
    step: Option<(usize, f64)>,
}

#[derive(Debug, Clone)]
struct EndpointTotals {
    name: String,
    requests: u64,
    errors: [u64; ErrorClass::ALL.len()],
    latency: Histogram,
}

#[derive(Debug, Clone, Copy)]
struct LastInterval {
    target_per_sec: Option<f64>,
    achieved_per_sec: f64,
    max_lag_us: u64,
    users: u64,
    target_users: u64,
}

impl LiveMetrics {
    /// Nothing seen yet, for a run of `profile` (`model`: `open`, `closed` or `search`) with
    /// these endpoint names and recording interval.
    pub fn new(
        profile: &str,
        model: &'static str,
        endpoints: impl IntoIterator<Item = String>,
        interval_secs: f64,
    ) -> Self {
        Self {
            profile: profile.to_string(),
            model,
            interval_secs,
            endpoints: endpoints
                .into_iter()
                .map(|name| EndpointTotals {
                    name,
                    requests: 0,
                    errors: [0; ErrorClass::ALL.len()],
                    latency: Histogram::new(),
                })
                .collect(),
            planned: 0,
            sent: 0,
            dropped: 0,
            intervals: 0,
            last: None,
            step: None,
        }
    }

    /// Adds a finished interval. Series beyond the endpoints (scenario totals) are left out.
    pub fn observe(&mut self, p: &IntervalProgress) {
        for (mine, data) in self.endpoints.iter_mut().zip(&p.endpoints) {
            mine.requests += data.requests;
            for (m, d) in mine.errors.iter_mut().zip(data.errors) {
                *m += d;
            }
            mine.latency.add(&data.latency);
        }
        let g = &p.generator;
        self.planned += g.planned;
        self.sent += g.sent;
        self.dropped += g.dropped;
        self.intervals += 1;
        let secs = self.interval_secs.max(1e-9);
        self.last = Some(LastInterval {
            target_per_sec: (g.planned > 0).then(|| g.planned as f64 / secs),
            achieved_per_sec: p.requests as f64 / secs,
            max_lag_us: g.max_lag_us,
            users: g.users,
            target_users: g.target_users,
        });
    }

    /// A capacity search started step `index` (0-based) at `rate_per_sec`.
    pub fn begin_step(&mut self, index: usize, rate_per_sec: f64) {
        self.step = Some((index, rate_per_sec));
    }

    /// Renders every metric; `in_flight` comes from the engine's live gauges.
    pub fn render(&self, format: Format, in_flight: u64) -> String {
        let mut w = Writer {
            out: String::with_capacity(4096),
            format,
        };
        w.family(
            "loadgate_run",
            Kind::Info,
            None,
            "The run: its profile and load model.",
        );
        w.sample(
            "loadgate_run_info",
            &[("profile", &self.profile), ("model", self.model)],
            1.0,
        );
        w.family(
            "loadgate_requests",
            Kind::Counter,
            None,
            "Requests finished, whatever the outcome.",
        );
        for e in &self.endpoints {
            w.sample(
                "loadgate_requests_total",
                &[("endpoint", &e.name)],
                e.requests as f64,
            );
        }
        w.family(
            "loadgate_request_errors",
            Kind::Counter,
            None,
            "Requests failed, by error class (connect, tls, timeout, closed, http_4xx, http_5xx, check, body, extract).",
        );
        for e in &self.endpoints {
            for (class, n) in ErrorClass::ALL.iter().zip(e.errors) {
                w.sample(
                    "loadgate_request_errors_total",
                    &[("endpoint", &e.name), ("class", class.as_str())],
                    n as f64,
                );
            }
        }
        w.family(
            "loadgate_request_duration_seconds",
            Kind::Histogram,
            Some("seconds"),
            "Latency from the intended send time to the end of the response, of requests that got one.",
        );
        for e in &self.endpoints {
            let mut cumulative = 0;
            let mut buckets = e.latency.buckets().peekable();
            for le in BUCKETS_SECONDS {
                let le_us = (le * 1e6).round() as u64;
                while let Some(&(v, n)) = buckets.peek() {
                    if v > le_us {
                        break;
                    }
                    cumulative += n;
                    buckets.next();
                }
                w.sample(
                    "loadgate_request_duration_seconds_bucket",
                    &[("endpoint", &e.name), ("le", &seconds_label(le))],
                    cumulative as f64,
                );
            }
            let count = e.latency.len();
            w.sample(
                "loadgate_request_duration_seconds_bucket",
                &[("endpoint", &e.name), ("le", "+Inf")],
                count as f64,
            );
            let sum = e.latency.mean_us().unwrap_or(0.0) * count as f64 / 1e6;
            w.sample(
                "loadgate_request_duration_seconds_sum",
                &[("endpoint", &e.name)],
                sum,
            );
            w.sample(
                "loadgate_request_duration_seconds_count",
                &[("endpoint", &e.name)],
                count as f64,
            );
        }
        w.family(
            "loadgate_in_flight_requests",
            Kind::Gauge,
            None,
            "Requests in flight, as of the engine threads' last interval tick.",
        );
        w.sample("loadgate_in_flight_requests", &[], in_flight as f64);
        for (name, help, value) in [
            (
                "loadgate_arrivals_planned",
                "Arrivals the schedule planned (open model).",
                self.planned,
            ),
            (
                "loadgate_arrivals_sent",
                "Arrivals sent (open model), or iterations started (closed model).",
                self.sent,
            ),
            (
                "loadgate_arrivals_dropped",
                "Arrivals dropped because the in-flight cap was reached.",
                self.dropped,
            ),
            (
                "loadgate_intervals",
                "Recording intervals finished.",
                self.intervals,
            ),
        ] {
            w.family(name, Kind::Counter, None, help);
            w.sample(&format!("{name}_total"), &[], value as f64);
        }
        if let Some(last) = self.last {
            if let Some(target) = last.target_per_sec {
                w.family(
                    "loadgate_target_rate_requests_per_second",
                    Kind::Gauge,
                    None,
                    "Arrival rate the schedule asked for in the last finished interval.",
                );
                w.sample("loadgate_target_rate_requests_per_second", &[], target);
            }
            w.family(
                "loadgate_achieved_rate_requests_per_second",
                Kind::Gauge,
                None,
                "Requests finished per second in the last finished interval.",
            );
            w.sample(
                "loadgate_achieved_rate_requests_per_second",
                &[],
                last.achieved_per_sec,
            );
            w.family(
                "loadgate_schedule_lag_max_seconds",
                Kind::Gauge,
                Some("seconds"),
                "Largest delay between an intended and the actual send time in the last finished interval (generator health).",
            );
            w.sample(
                "loadgate_schedule_lag_max_seconds",
                &[],
                last.max_lag_us as f64 / 1e6,
            );
            if self.model == "closed" {
                w.family(
                    "loadgate_users",
                    Kind::Gauge,
                    None,
                    "Users running (closed model).",
                );
                w.sample("loadgate_users", &[], last.users as f64);
                w.family(
                    "loadgate_target_users",
                    Kind::Gauge,
                    None,
                    "Users the schedule asked for (closed model).",
                );
                w.sample("loadgate_target_users", &[], last.target_users as f64);
            }
        }
        if let Some((index, rate)) = self.step {
            w.family(
                "loadgate_search_step",
                Kind::Gauge,
                None,
                "Capacity search: the step running (1 for the first).",
            );
            w.sample("loadgate_search_step", &[], (index + 1) as f64);
            w.family(
                "loadgate_search_step_rate_requests_per_second",
                Kind::Gauge,
                None,
                "Capacity search: the arrival rate of the step running.",
            );
            w.sample("loadgate_search_step_rate_requests_per_second", &[], rate);
        }
        if format == Format::OpenMetrics {
            w.out.push_str("# EOF\n");
        }
        w.out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Info,
}

struct Writer {
    out: String,
    format: Format,
}

impl Writer {
    /// `# HELP` / `# TYPE` (and `# UNIT`) of a family. In the Prometheus format a counter's
    /// family is named after its `_total` sample and an info metric is a gauge.
    fn family(&mut self, name: &str, kind: Kind, unit: Option<&str>, help: &str) {
        let (named, kind_text) = match (self.format, kind) {
            (Format::Prometheus, Kind::Counter) => (format!("{name}_total"), "counter"),
            (Format::Prometheus, Kind::Info) => (format!("{name}_info"), "gauge"),
            (_, Kind::Counter) => (name.to_string(), "counter"),
            (_, Kind::Gauge) => (name.to_string(), "gauge"),
            (_, Kind::Histogram) => (name.to_string(), "histogram"),
            (Format::OpenMetrics, Kind::Info) => (name.to_string(), "info"),
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        match self.format {
            Format::Prometheus => {
                let _ = writeln!(self.out, "# HELP {named} {help}");
                let _ = writeln!(self.out, "# TYPE {named} {kind_text}");
            }
            Format::OpenMetrics => {
                let _ = writeln!(self.out, "# TYPE {named} {kind_text}");
                if let Some(u) = unit {
                    let _ = writeln!(self.out, "# UNIT {named} {u}");
                }
                let _ = writeln!(self.out, "# HELP {named} {help}");
            }
        }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }
}

/// A label value with `\`, `"` and line breaks escaped.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A bucket bound as Prometheus clients write it (`0.005`, `1.0`).
fn seconds_label(le: f64) -> String {
    if le.fract() == 0.0 {
        format!("{le:.1}")
    } else {
        format!("{le}")
    }
}

/// Whole numbers without a fraction, others in full precision.
fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{EndpointInterval, GeneratorInterval};

    fn progress(index: u32, latencies_us: &[u64], errors: u64) -> IntervalProgress {
        let mut e = EndpointInterval {
            requests: latencies_us.len() as u64 + errors,
            ..EndpointInterval::default()
        };
        e.errors[ErrorClass::Timeout as usize] = errors;
        for &v in latencies_us {
            e.latency.record_us(v);
        }
        IntervalProgress {
            index,
            requests: e.requests,
            errors,
            latency: e.latency.clone(),
            generator: GeneratorInterval {
                planned: e.requests,
                sent: e.requests,
                max_lag_us: 1500,
                ..GeneratorInterval::default()
            },
            endpoints: vec![e],
        }
    }

    #[test]
    fn counters_add_up_and_histograms_are_cumulative() {
        let mut m = LiveMetrics::new("shop", "open", ["get \"x\"\\y\n".to_string()], 0.5);
        m.observe(&progress(0, &[800, 3000, 40_000], 1));
        m.observe(&progress(1, &[2_000_000], 0));
        let text = m.render(Format::Prometheus, 7);
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"))
                .to_string()
        };
        let ep = r#"endpoint="get \"x\"\\y\n""#;
        assert_eq!(
            line("loadgate_requests_total{"),
            format!("loadgate_requests_total{{{ep}}} 5")
        );
        assert_eq!(
            line(&format!(
                "loadgate_request_errors_total{{{ep},class=\"timeout\"}}"
            )),
            format!("loadgate_request_errors_total{{{ep},class=\"timeout\"}} 1")
        );
        for (le, n) in [
            ("0.001", 1),
            ("0.005", 2),
            ("0.05", 3),
            ("1.0", 3),
            ("2.5", 4),
            ("+Inf", 4),
        ] {
            assert_eq!(
                line(&format!(
                    "loadgate_request_duration_seconds_bucket{{{ep},le=\"{le}\"}}"
                )),
                format!("loadgate_request_duration_seconds_bucket{{{ep},le=\"{le}\"}} {n}")
            );
        }
        assert!(line("loadgate_request_duration_seconds_count").ends_with(" 4"));
        assert_eq!(
            line("loadgate_in_flight_requests "),
            "loadgate_in_flight_requests 7"
        );
        assert_eq!(
            line("loadgate_arrivals_planned_total"),
            "loadgate_arrivals_planned_total 5"
        );
        assert_eq!(
            line("loadgate_target_rate_requests_per_second "),
            "loadgate_target_rate_requests_per_second 2"
        );
        assert_eq!(
            line("loadgate_schedule_lag_max_seconds "),
            "loadgate_schedule_lag_max_seconds 0.0015"
        );
        assert!(text.contains("# TYPE loadgate_requests_total counter\n"));
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn openmetrics_names_families_and_ends_with_eof() {
        let mut m = LiveMetrics::new("shop", "search", ["home".to_string()], 1.0);
        m.observe(&progress(0, &[1000], 0));
        m.begin_step(2, 150.0);
        let text = m.render(Format::OpenMetrics, 0);
        assert!(text.contains("# TYPE loadgate_requests counter\n"));
        assert!(text.contains("loadgate_requests_total{endpoint=\"home\"} 1\n"));
        assert!(text.contains("# TYPE loadgate_run info\n"));
        assert!(text.contains("loadgate_run_info{profile=\"shop\",model=\"search\"} 1\n"));
        assert!(text.contains("# UNIT loadgate_request_duration_seconds seconds\n"));
        assert!(text.contains("loadgate_search_step 3\n"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn the_format_follows_the_accept_header() {
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
    }
}
