//! The load (`load`): the model, stages and their levels, warm-up, interval and the closed
//! model's think time, within the limits of what one run may ask for.

use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use crate::profile::error::ProfileError;
use crate::profile::model::{Load, LoadModel, Model, Segment, ThinkTime};
use crate::profile::raw::{RawLevel, RawLoad, RawModel, RawStage};
use crate::profile::search;
use crate::profile::units::{format_duration, parse_duration, parse_rate};

use super::Ctx;

pub(super) const DEFAULT_MAX_IN_FLIGHT: u64 = 1000;
/// Highest arrival rate a profile may ask for, all shards together (per second).
pub const MAX_RATE_PER_SEC: f64 = 1_000_000.0;
/// Most users a profile may ask for, all shards together.
pub const MAX_USERS: u64 = 100_000;
/// Shortest stage (or step of `steps`): shorter ones are typos for longer units.
pub const MIN_STAGE: Duration = Duration::from_millis(100);
/// Longest run, warm-up included.
pub const MAX_RUN: Duration = Duration::from_secs(7 * 86_400);
/// Most recording intervals in one run (see `validate_load`).
pub const MAX_INTERVALS: u32 = 900;

pub(super) fn validate_load(
    cx: &Ctx<'_>,
    raw: &RawLoad,
    at: Location,
) -> Result<Load, ProfileError> {
    let model = match raw.model.as_ref().map(|m| m.value) {
        None | Some(RawModel::Open | RawModel::Search) => LoadModel::Open,
        Some(RawModel::Closed) => LoadModel::Closed,
    };
    let searching = raw
        .model
        .as_ref()
        .is_some_and(|m| m.value == RawModel::Search);
    // Where a key was written, or else the `load` section.
    let pos = |s: Option<Location>| Some(s.unwrap_or(at));
    let interval = raw
        .interval
        .as_ref()
        .map_or(Duration::from_secs(1), |d| d.value.0);
    if interval < Duration::from_millis(100) || interval > Duration::from_secs(60) {
        return Err(cx.err(
            "load.interval",
            pos(raw.interval.as_ref().map(|d| d.referenced)),
            &format!(
                "interval `{}` out of range: expected between `100ms` and `60s`",
                format_duration(interval)
            ),
        ));
    }
    let mut search = match (&raw.search, searching) {
        (Some(s), true) => Some(search::settings(cx, s, raw)?),
        (None, true) => {
            return Err(cx.err(
                "load",
                pos(raw.model.as_ref().map(|m| m.referenced)),
                "`model: search` without a `search` section: expected the search's start and hard caps, like `search: { start: 50/s, max_rate: 2000/s, max_duration: 10m }`",
            ));
        }
        (Some(s), false) => {
            return Err(cx.err(
                "load.search",
                Some(s.referenced),
                "`search` applies to a capacity search: expected `model: search`, or remove `search`",
            ));
        }
        (None, false) => None,
    };
    let mut segments = Vec::new();
    // The longest the schedule may last: the stages, or a search's duration cap.
    let mut t = Duration::ZERO;
    if let Some(s) = &search {
        t = s.max_duration;
    } else {
        if raw.stages.is_empty() {
            return Err(cx.err(
                "load.stages",
                Some(at),
                "no stages: expected at least one, like `- { duration: 30s, rate: 50/s }`",
            ));
        }
        let mut level = 0.0;
        for (i, stage) in raw.stages.iter().enumerate() {
            let key = format!("load.stages[{i}]");
            for (duration, from, to) in
                stage_segments(cx, &key, &stage.value, stage.referenced, model, level)?
            {
                segments.push(Segment {
                    start: t,
                    duration,
                    from,
                    to,
                });
                t += duration;
                level = to;
            }
        }
        if t.is_zero() {
            return Err(cx.err(
                "load.stages",
                Some(at),
                "the stages last `0s`: expected a total duration above zero",
            ));
        }
    }
    if t > MAX_RUN {
        return Err(cx.err(
            "load.stages",
            Some(at),
            &format!(
                "the stages last `{}`: expected at most `{}` in one run",
                format_duration(t),
                format_duration(MAX_RUN)
            ),
        ));
    }
    // Memory and file size stay bounded whatever the run length: a long run records at a
    // whole multiple of the interval, so it never holds more than MAX_INTERVALS of them.
    let needed = t.as_nanos().div_ceil(u128::from(MAX_INTERVALS));
    let factor = needed.div_ceil(interval.as_nanos()).max(1);
    let interval = interval * u32::try_from(factor).unwrap_or(u32::MAX);
    let warmup_raw = raw.warmup.as_ref().map_or(Duration::ZERO, |d| d.value.0);
    // Warm-up ends on an interval boundary so every interval is wholly in or out of it.
    let intervals = warmup_raw.as_nanos().div_ceil(interval.as_nanos());
    let warmup = interval * u32::try_from(intervals).unwrap_or(u32::MAX);
    if let Some(s) = &mut search {
        let at = raw.search.as_ref().map_or(at, |s| {
            s.value
                .max_duration
                .as_ref()
                .map_or(s.referenced, |d| d.referenced)
        });
        segments = search::ladder(cx, s, warmup, interval, at)?;
    } else if warmup >= t {
        return Err(cx.err(
            "load.warmup",
            pos(raw.warmup.as_ref().map(|d| d.referenced)),
            &format!(
                "warm-up `{}` is not shorter than the whole run `{}`: expected time left to measure",
                format_duration(warmup),
                format_duration(t)
            ),
        ));
    }
    let closed_only = |key: &str, where_: Option<Location>| {
        cx.err(
            format!("load.{key}"),
            pos(where_),
            &format!(
                "`{key}` applies to the closed model: expected `model: closed`, or remove `{key}`"
            ),
        )
    };
    let think_time = match (&raw.think_time, model) {
        (None, _) => ThinkTime::default(),
        (Some(s), LoadModel::Open) => return Err(closed_only("think_time", Some(s.referenced))),
        (Some(s), LoadModel::Closed) => parse_think_time(&s.value)
            .map_err(|m| cx.err("load.think_time", Some(s.referenced), &m))?,
    };
    if let (Some(r), LoadModel::Open) = (&raw.spawn_rate, model) {
        return Err(closed_only("spawn_rate", Some(r.referenced)));
    }
    if let (Some(m), LoadModel::Closed) = (&raw.max_in_flight, model) {
        return Err(cx.err(
            "load.max_in_flight",
            Some(m.referenced),
            "`max_in_flight` applies to the open model: expected it removed (the closed model's users bound what is in flight)",
        ));
    }
    let max_in_flight = raw
        .max_in_flight
        .as_ref()
        .map_or(DEFAULT_MAX_IN_FLIGHT, |m| m.value);
    if max_in_flight == 0 {
        return Err(cx.err(
            "load.max_in_flight",
            pos(raw.max_in_flight.as_ref().map(|m| m.referenced)),
            "`max_in_flight` is 0: expected at least 1",
        ));
    }
    let spawn_rate = match &raw.spawn_rate {
        Some(r) if r.value.0 <= 0.0 => {
            return Err(cx.err(
                "load.spawn_rate",
                Some(r.referenced),
                "`spawn_rate` is zero: expected a rate like `10/s`",
            ));
        }
        r => r.as_ref().map(|r| r.value.0),
    };
    let load = Load {
        model: match model {
            LoadModel::Open => Model::Open {
                max_in_flight,
                search,
            },
            LoadModel::Closed => Model::Closed {
                think_time,
                spawn_rate,
            },
        },
        warmup,
        interval,
        segments,
    };
    let nothing = match model {
        LoadModel::Open if load.total_arrivals() == 0 => Some(
            "the stages plan no requests (their rates add up to less than one arrival): expected a rate above zero, like `rate: 10/s`",
        ),
        LoadModel::Closed if load.peak_level() < 1.0 => {
            Some("the stages plan no users: expected at least one, like `users: 10`")
        }
        _ => None,
    };
    if let Some(message) = nothing {
        return Err(cx.err("load.stages", Some(at), message));
    }
    Ok(load)
}

/// A stage's pieces: (duration, from, to).
type Piece = (Duration, f64, f64);

fn stage_segments(
    cx: &Ctx<'_>,
    key: &str,
    stage: &RawStage,
    at: Location,
    model: LoadModel,
    previous: f64,
) -> Result<Vec<Piece>, ProfileError> {
    let err = |key: String, message: &str| cx.err(key, Some(at), message);
    let kinds = [
        ("rate", stage.rate.is_some()),
        ("users", stage.users.is_some()),
        ("ramp_to", stage.ramp_to.is_some()),
        ("steps", stage.steps.is_some()),
    ];
    let present: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
    let level_key = match model {
        LoadModel::Open => "rate",
        LoadModel::Closed => "users",
    };
    match present.as_slice() {
        [] => {
            return Err(err(
                key.into(),
                &format!(
                    "stage sets no level: expected one of `{level_key}`, `ramp_to` or `steps`"
                ),
            ));
        }
        [_] => {}
        many => {
            return Err(err(
                key.into(),
                &format!(
                    "stage sets {}: expected exactly one of `{level_key}`, `ramp_to` or `steps`",
                    many.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
    }
    if stage.rate.is_some() && model == LoadModel::Closed {
        return Err(err(
            format!("{key}.rate"),
            "`rate` is for the open model: expected `users` with `model: closed`, or remove `model: closed`",
        ));
    }
    if stage.users.is_some() && model == LoadModel::Open {
        return Err(err(
            format!("{key}.users"),
            "`users` is for the closed model: expected `rate` (like `50/s`), or add `model: closed` to `load`",
        ));
    }
    // A level the engine could never produce is a typo or a unit slip, not a plan.
    let bounded = |v: f64, key: String, where_: Location| -> Result<f64, ProfileError> {
        let too_high = match model {
            LoadModel::Open if v > MAX_RATE_PER_SEC => Some(format!(
                "rate `{}` is beyond what loadgate sends: expected at most `{}` (all shards together)",
                format_rate_text(v),
                format_rate_text(MAX_RATE_PER_SEC)
            )),
            LoadModel::Closed if v > MAX_USERS as f64 => Some(format!(
                "`{v:.0}` users are beyond what loadgate runs: expected at most `{MAX_USERS}` (all shards together)"
            )),
            _ => None,
        };
        match too_high {
            Some(m) => Err(cx.err(key, Some(where_), &m)),
            None => Ok(v),
        }
    };
    let level = |l: &Spanned<RawLevel>, key: String| -> Result<f64, ProfileError> {
        match (model, &l.value) {
            (LoadModel::Open, RawLevel::Text(t)) => parse_rate(t)
                .map_err(|m| cx.err(key.clone(), Some(l.referenced), &m))
                .and_then(|v| bounded(v, key, l.referenced)),
            (LoadModel::Open, RawLevel::Count(n)) => Err(cx.err(
                key,
                Some(l.referenced),
                &format!("`{n}` has no unit: expected a rate like `{n}/s` (the open model sends arrivals per second)"),
            )),
            (LoadModel::Closed, RawLevel::Count(n)) => bounded(*n as f64, key, l.referenced),
            (LoadModel::Closed, RawLevel::Text(t)) => Err(cx.err(
                key,
                Some(l.referenced),
                &format!("`{t}` is not a user count: expected a whole number (the closed model runs users)"),
            )),
        }
    };
    if let Some(steps) = &stage.steps {
        if stage.duration.is_some() {
            return Err(err(
                format!("{key}.duration"),
                "`steps` take `hold` (the length of each step), not `duration`: expected `hold: 2m`",
            ));
        }
        let hold = stage
            .hold
            .ok_or_else(|| {
                err(
                    key.into(),
                    "`steps` without `hold`: expected how long each step lasts, like `hold: 2m`",
                )
            })?
            .0;
        if hold < MIN_STAGE {
            return Err(err(format!("{key}.hold"), &too_short(hold)));
        }
        if steps.is_empty() {
            return Err(err(
                format!("{key}.steps"),
                "empty `steps`: expected levels like `[50, 100, 200]`",
            ));
        }
        return steps
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let v = level(s, format!("{key}.steps[{j}]"))?;
                Ok((hold, v, v))
            })
            .collect();
    }
    if stage.hold.is_some() {
        return Err(err(
            format!("{key}.hold"),
            "`hold` belongs to `steps`: expected `duration` for this stage",
        ));
    }
    let duration = stage
        .duration
        .ok_or_else(|| {
            err(
                key.into(),
                "stage without `duration`: expected how long it lasts, like `duration: 30s`",
            )
        })?
        .0;
    if duration < MIN_STAGE {
        return Err(err(format!("{key}.duration"), &too_short(duration)));
    }
    if let Some(r) = stage.rate {
        let r = bounded(r.0, format!("{key}.rate"), at)?;
        return Ok(vec![(duration, r, r)]);
    }
    if let Some(u) = stage.users {
        let u = bounded(u as f64, format!("{key}.users"), at)?;
        return Ok(vec![(duration, u, u)]);
    }
    let ramp = stage.ramp_to.as_ref().expect("one kind is present");
    let to = level(ramp, format!("{key}.ramp_to"))?;
    Ok(vec![(duration, previous, to)])
}

fn too_short(d: Duration) -> String {
    format!(
        "a stage of `{}` is too short to measure: expected at least `{}` (like `30s`)",
        format_duration(d),
        format_duration(MIN_STAGE)
    )
}

/// A rate as a profile writes it (in exponent form when huge).
fn format_rate_text(per_sec: f64) -> String {
    if per_sec >= 1e7 {
        format!("{per_sec:e}/s")
    } else {
        crate::profile::units::format_rate(per_sec)
    }
}

pub(in crate::profile) fn parse_think_time(text: &str) -> Result<ThinkTime, String> {
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (parse_duration(a)?, parse_duration(b)?),
        None => {
            let d = parse_duration(text)?;
            (d, d)
        }
    };
    if max < min {
        return Err(format!(
            "think time `{text}` runs backwards: expected `min..max` like `1s..3s`"
        ));
    }
    Ok(ThinkTime { min, max })
}
