//! `load.model: search`: the capacity search's settings, its hard caps, its ladder of climbing
//! steps, and the SLO it searches against (the profile's `thresholds`).
//!
//! Rates are requests per second, durations `Duration`, ratios 0–1. The caps are required:
//! a search without them could hammer a fragile preview environment for as long as it stands.

use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::error::ProfileError;
use super::model::{Growth, Limit, Load, Model, Search, Segment, Threshold};
use super::raw::{Pairs, RawLoad, RawSearch, RawThreshold};
use super::units::{format_duration, format_rate, parse_rate};
use super::validate::Ctx;

const DEFAULT_FACTOR: f64 = 1.5;
const DEFAULT_HOLD: Duration = Duration::from_secs(10);
const DEFAULT_REFINE: u32 = 2;
const DEFAULT_MIN_ACHIEVED: f64 = 0.95;
/// Collapse without an error-rate threshold to scale from.
const DEFAULT_COLLAPSE: f64 = 0.10;
/// The collapse point is this many times the strictest error-rate limit …
const COLLAPSE_FACTOR: f64 = 10.0;
/// … kept within these bounds.
const COLLAPSE_RANGE: (f64, f64) = (0.05, 0.50);

/// The search's settings from `load.search` (the hold is rounded later, with the interval).
pub(super) fn settings(
    cx: &Ctx<'_>,
    raw: &Spanned<RawSearch>,
    load: &RawLoad,
) -> Result<Search, ProfileError> {
    let s = &raw.value;
    let at = raw.referenced;
    if !load.stages.is_empty() {
        return Err(cx.err(
            "load.stages",
            load.stages.first().map(|st| st.referenced),
            "`stages` with `model: search`: expected no `stages` (the search sets the rates itself, from `search.start` up to `search.max_rate`)",
        ));
    }
    let max_rate = s.max_rate.as_ref().ok_or_else(|| {
        cx.err(
            "load.search",
            Some(at),
            "a capacity search without `max_rate`: expected a hard cap on the arrival rate, like `max_rate: 2000/s` (the search never sends more)",
        )
    })?;
    let max_duration = s.max_duration.as_ref().ok_or_else(|| {
        cx.err(
            "load.search",
            Some(at),
            "a capacity search without `max_duration`: expected a hard cap on its length, like `max_duration: 10m` (the search never sends load for longer)",
        )
    })?;
    let start = s.start.as_ref().ok_or_else(|| {
        cx.err(
            "load.search",
            Some(at),
            "a capacity search without `start`: expected the first step's rate, like `start: 50/s`",
        )
    })?;
    if max_rate.value.0 <= 0.0 {
        return Err(cx.err(
            "load.search.max_rate",
            Some(max_rate.referenced),
            "`max_rate` is zero: expected a rate above zero, like `2000/s`",
        ));
    }
    if max_duration.value.0.is_zero() {
        return Err(cx.err(
            "load.search.max_duration",
            Some(max_duration.referenced),
            "`max_duration` is zero: expected a duration like `10m`",
        ));
    }
    if start.value.0 <= 0.0 || start.value.0 > max_rate.value.0 {
        return Err(cx.err(
            "load.search.start",
            Some(start.referenced),
            &format!(
                "start rate `{}` out of range: expected a rate above zero and at most `max_rate` ({})",
                format_rate(start.value.0),
                format_rate(max_rate.value.0)
            ),
        ));
    }
    let growth = match &s.step {
        None => Growth::Factor(DEFAULT_FACTOR),
        Some(step) => parse_growth(&step.value)
            .map_err(|m| cx.err("load.search.step", Some(step.referenced), &m))?,
    };
    let refine = s.refine.as_ref().map_or(DEFAULT_REFINE, |r| r.value);
    if refine > 10 {
        return Err(cx.err(
            "load.search.refine",
            s.refine.as_ref().map(|r| r.referenced),
            &format!("`refine: {refine}`: expected at most 10 refining steps"),
        ));
    }
    let min_achieved = s
        .min_achieved
        .as_ref()
        .map_or(DEFAULT_MIN_ACHIEVED, |m| m.value.0);
    if !(min_achieved > 0.0 && min_achieved <= 1.0) {
        return Err(cx.err(
            "load.search.min_achieved",
            s.min_achieved.as_ref().map(|m| m.referenced),
            "`min_achieved` out of range: expected a share above 0% and at most 100%, like `95%`",
        ));
    }
    let collapse = s.collapse.as_ref().map_or(DEFAULT_COLLAPSE, |c| c.value.0);
    if !(collapse > 0.0 && collapse <= 1.0) {
        return Err(cx.err(
            "load.search.collapse",
            s.collapse.as_ref().map(|c| c.referenced),
            "`collapse` out of range: expected an error rate above 0% and at most 100%, like `20%`",
        ));
    }
    let hold = s.hold.as_ref().map_or(DEFAULT_HOLD, |h| h.value.0);
    if hold.is_zero() {
        return Err(cx.err(
            "load.search.hold",
            s.hold.as_ref().map(|h| h.referenced),
            "`hold` is zero: expected how long each step lasts, like `hold: 10s`",
        ));
    }
    Ok(Search {
        start_per_sec: start.value.0,
        growth,
        hold,
        refine,
        min_achieved_ratio: min_achieved,
        collapse_error_ratio: collapse,
        max_rate_per_sec: max_rate.value.0,
        max_duration: max_duration.value.0,
    })
}

/// `1.5x` (a factor) or `50/s` (an increment).
pub(super) fn parse_growth(text: &str) -> Result<Growth, String> {
    let t = text.trim();
    let expected = "expected a factor like `1.5x` or an increment like `50/s`";
    if let Some(f) = t.strip_suffix('x').or_else(|| t.strip_suffix('×')) {
        return match f.trim().parse::<f64>() {
            Ok(f) if f > 1.0 && f <= 10.0 => Ok(Growth::Factor(f)),
            Ok(_) => Err(format!(
                "step factor `{t}` out of range: expected a factor above 1 and at most 10, like `1.5x`"
            )),
            Err(_) => Err(format!("invalid step `{t}`: {expected}")),
        };
    }
    if t.contains('/') {
        return match parse_rate(t) {
            Ok(r) if r > 0.0 => Ok(Growth::Add(r)),
            _ => Err(format!("invalid step `{t}`: {expected}")),
        };
    }
    Err(format!("invalid step `{t}`: {expected}"))
}

/// Rounds the hold up to whole intervals and lays out the ladder: the warm-up at the start
/// rate, then every climbing step, as far as the duration cap allows.
pub(super) fn ladder(
    cx: &Ctx<'_>,
    search: &mut Search,
    warmup: Duration,
    interval: Duration,
    at: Location,
) -> Result<Vec<Segment>, ProfileError> {
    let intervals = search.hold.as_nanos().div_ceil(interval.as_nanos()).max(1);
    search.hold = interval * u32::try_from(intervals).unwrap_or(u32::MAX);
    if warmup + search.hold > search.max_duration {
        return Err(cx.err(
            "load.search.max_duration",
            Some(at),
            &format!(
                "`max_duration` `{}` leaves no time for a step: expected at least the warm-up and one hold ({})",
                format_duration(search.max_duration),
                format_duration(warmup + search.hold)
            ),
        ));
    }
    let mut segments = Vec::new();
    let mut t = Duration::ZERO;
    if !warmup.is_zero() {
        segments.push(Segment {
            start: t,
            duration: warmup,
            from: search.start_per_sec,
            to: search.start_per_sec,
        });
        t += warmup;
    }
    for rate in search.climb() {
        if t + search.hold > search.max_duration {
            break;
        }
        segments.push(Segment {
            start: t,
            duration: search.hold,
            from: rate,
            to: rate,
        });
        t += search.hold;
    }
    Ok(segments)
}

/// The SLO a search breaks: the thresholds must hold a latency or error-rate limit, and no
/// `min_rate` (the search measures the rate itself). Without an explicit `collapse`, the
/// collapse point is ten times the strictest error-rate limit.
pub(super) fn check_slo(
    cx: &Ctx<'_>,
    load: &mut Load,
    thresholds: &[Threshold],
    raw: &RawLoad,
    raw_thresholds: &Pairs<Spanned<String>, RawThreshold>,
) -> Result<(), ProfileError> {
    let Model::Open {
        search: Some(search),
        ..
    } = &mut load.model
    else {
        return Ok(());
    };
    let limits = || thresholds.iter().flat_map(|t| &t.limits);
    if !limits().any(|l| matches!(l, Limit::Latency { .. } | Limit::ErrorRate { .. })) {
        return Err(cx.err(
            "thresholds",
            None,
            "a capacity search without an SLO: expected `thresholds` with a latency or error-rate limit for it to break, like `thresholds: { all: { p95: 300ms, error_rate: 1% } }`",
        ));
    }
    if let Some((scope, _)) = raw_thresholds.iter().find(|(_, t)| t.min_rate.is_some()) {
        return Err(cx.err(
            format!("thresholds.{}.min_rate", scope.value),
            Some(scope.referenced),
            "`min_rate` with `model: search`: expected it removed (a search measures the rate each step achieves against `search.min_achieved`)",
        ));
    }
    let strictest = limits()
        .filter_map(|l| match l {
            Limit::ErrorRate { max_ratio } => Some(*max_ratio),
            _ => None,
        })
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))));
    let given = raw.search.as_ref().and_then(|s| s.value.collapse.as_ref());
    match (given, strictest) {
        (None, Some(limit)) => {
            search.collapse_error_ratio =
                (limit * COLLAPSE_FACTOR).clamp(COLLAPSE_RANGE.0, COLLAPSE_RANGE.1);
        }
        (Some(c), Some(limit)) if c.value.0 <= limit => {
            return Err(cx.err(
                "load.search.collapse",
                Some(c.referenced),
                &format!(
                    "`collapse` `{}` is not above the error-rate limit `{}`: expected the error rate at which the search gives up at once, well above the SLO",
                    written_percent(c.value.0),
                    written_percent(limit)
                ),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// A ratio the way profiles write it (`0.001` → `0.1%`).
fn written_percent(ratio: f64) -> String {
    format!("{}%", (ratio * 10_000.0).round() / 100.0)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values are expected here
mod tests {
    use super::*;

    #[test]
    fn growth_parses_factors_and_increments() {
        assert_eq!(parse_growth("1.5x"), Ok(Growth::Factor(1.5)));
        assert_eq!(parse_growth(" 2× "), Ok(Growth::Factor(2.0)));
        assert_eq!(parse_growth("50/s"), Ok(Growth::Add(50.0)));
        assert_eq!(parse_growth("600/min"), Ok(Growth::Add(10.0)));
        for bad in ["1x", "0.5x", "11x", "50", "fast", "x", "0/s"] {
            assert!(parse_growth(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_climb_grows_and_stops_at_the_cap() {
        let s = Search {
            start_per_sec: 100.0,
            growth: Growth::Factor(2.0),
            hold: Duration::from_secs(1),
            refine: 2,
            min_achieved_ratio: 0.95,
            collapse_error_ratio: 0.1,
            max_rate_per_sec: 500.0,
            max_duration: Duration::from_secs(60),
        };
        assert_eq!(s.climb(), vec![100.0, 200.0, 400.0, 500.0]);
        let linear = Search {
            growth: Growth::Add(150.0),
            ..s.clone()
        };
        assert_eq!(linear.climb(), vec![100.0, 250.0, 400.0, 500.0]);
        let at_cap = Search {
            start_per_sec: 500.0,
            ..s
        };
        assert_eq!(at_cap.climb(), vec![500.0]);
    }

    #[test]
    fn between_follows_the_growth_scale() {
        assert_eq!(Growth::Factor(2.0).between(100.0, 400.0), 200.0);
        assert_eq!(Growth::Add(50.0).between(100.0, 400.0), 250.0);
    }
}
