//! Parsers of flag values that clap cannot type by itself: shards, start times and skews.

/// The environment variable a Kubernetes Indexed Job sets in every pod: its 0-based index.
pub const JOB_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

/// Parses `I/N` (1-based) into `(index, count)` with a 0-based index; `auto/N` takes the index
/// from `JOB_COMPLETION_INDEX` (see [`parse_shard_in`]).
pub fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    parse_shard_in(text, |name| std::env::var(name).ok())
}

/// [`parse_shard`] reading the environment through `var`: `auto/N` is shard
/// `JOB_COMPLETION_INDEX + 1` of N, so a Kubernetes Indexed Job's pods need no shell arithmetic.
pub fn parse_shard_in(
    text: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(u32, u32), String> {
    let fail = || {
        format!(
            "invalid shard `{text}`: expected `I/N` with 1 ≤ I ≤ N, like `1/4`, or `auto/N` in a Kubernetes Indexed Job (I from `{JOB_INDEX_VAR}`)"
        )
    };
    let (i, n) = text.trim().split_once('/').ok_or_else(fail)?;
    let n: u32 = n.trim().parse().map_err(|_| fail())?;
    if n == 0 {
        return Err(fail());
    }
    if i.trim().eq_ignore_ascii_case("auto") {
        let value = var(JOB_INDEX_VAR).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            format!(
                "shard `{text}` takes its index from `{JOB_INDEX_VAR}`, which is not set: `auto/N` is for the pods of a Kubernetes Indexed Job (`completionMode: Indexed`); elsewhere give the shard as `I/N`, like `1/{n}`"
            )
        })?;
        let index: u32 = value.trim().parse().map_err(|_| {
            format!(
                "`{JOB_INDEX_VAR}` is `{}`: expected a 0-based index, like `0`",
                crate::untrusted::quote(&value)
            )
        })?;
        if index >= n {
            return Err(format!(
                "`{JOB_INDEX_VAR}` is {index}, but shard `{text}` splits the load in {n} (indices 0 to {}): make the Job's `completions` equal to N",
                n - 1
            ));
        }
        return Ok((index, n));
    }
    let i: u32 = i.trim().parse().map_err(|_| fail())?;
    if i == 0 || i > n {
        return Err(fail());
    }
    Ok((i - 1, n))
}

/// Parses `--max-skew`: a duration like `10s` or `500ms`.
pub fn parse_max_skew(text: &str) -> Result<std::time::Duration, String> {
    crate::profile::units::parse_duration(text.trim())
        .map_err(|e| format!("invalid skew `{text}` ({e}): expected a duration like `10s`"))
}

/// How far ahead a synchronized start may be: further is taken for a mistake (a wrong date).
pub const START_AT_HORIZON: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Parses the wall-clock time every shard starts its load at: RFC 3339 in UTC
/// (`2026-12-03T14:05:00Z`, as `date -u +%Y-%m-%dT%H:%M:%SZ` prints it) or Unix seconds
/// (`@1796306700` or `1796306700`, as `date +%s` prints it).
pub fn parse_start_at(text: &str) -> Result<std::time::SystemTime, String> {
    let t = text.trim();
    let digits = t.strip_prefix('@').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = digits
            .parse()
            .map_err(|_| format!("invalid start time `{text}`: too large"))?;
        return std::time::UNIX_EPOCH
            .checked_add(std::time::Duration::from_secs(secs))
            .ok_or_else(|| format!("invalid start time `{text}`: too large"));
    }
    humantime::parse_rfc3339_weak(&t.to_ascii_uppercase()).map_err(|e| {
        let offset = t
            .split_once(['T', 't', ' '])
            .is_some_and(|(_, time)| time.contains(['+', '-']));
        if offset {
            format!(
                "invalid start time `{text}`: give it in UTC, ending in `Z`, like `2026-12-03T14:05:00Z` (`date -u +%Y-%m-%dT%H:%M:%SZ`)"
            )
        } else {
            format!(
                "invalid start time `{text}` ({e}): expected a UTC time like `2026-12-03T14:05:00Z` (`date -u +%Y-%m-%dT%H:%M:%SZ`) or Unix seconds like `@1796306700` (`date +%s`)"
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_one_based_on_the_command_line() {
        assert_eq!(parse_shard("1/4"), Ok((0, 4)));
        assert_eq!(parse_shard("4/4"), Ok((3, 4)));
        for bad in ["0/4", "5/4", "1/0", "x/2", "3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_shards_take_the_index_of_a_kubernetes_indexed_job() {
        let index =
            |v: &'static str| move |name: &str| (name == JOB_INDEX_VAR).then(|| v.to_string());
        assert_eq!(parse_shard_in("auto/4", index("0")), Ok((0, 4)));
        assert_eq!(parse_shard_in("AUTO/4", index("3")), Ok((3, 4)));
        let beyond = parse_shard_in("auto/4", index("4")).unwrap_err();
        assert!(
            beyond.contains("`JOB_COMPLETION_INDEX` is 4") && beyond.contains("`completions`"),
            "{beyond}"
        );
        let junk = parse_shard_in("auto/4", index("one")).unwrap_err();
        assert!(junk.contains("expected a 0-based index"), "{junk}");
        let unset = parse_shard_in("auto/4", |_| None).unwrap_err();
        assert!(
            unset.contains("which is not set") && unset.contains("`1/4`"),
            "{unset}"
        );
        assert!(parse_shard_in("auto/0", index("0")).is_err());
        // An explicit shard ignores the variable.
        assert_eq!(parse_shard_in("2/4", index("0")), Ok((1, 4)));
    }

    #[test]
    fn start_times_are_utc_or_unix_seconds() {
        let at = |secs: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        assert_eq!(
            parse_start_at("2026-12-03T14:05:00Z"),
            Ok(at(1_796_306_700))
        );
        assert_eq!(
            parse_start_at(" 2026-12-03T14:05:00z "),
            Ok(at(1_796_306_700))
        );
        assert_eq!(parse_start_at("@1796306700"), Ok(at(1_796_306_700)));
        assert_eq!(parse_start_at("1796306700"), Ok(at(1_796_306_700)));
        let offset = parse_start_at("2026-12-03T14:05:00+01:00").unwrap_err();
        assert!(offset.contains("in UTC"), "{offset}");
        for bad in [
            "tomorrow",
            "2026-13-03T14:05:00Z",
            "",
            "@",
            "@99999999999999999999999",
        ] {
            let e = parse_start_at(bad).unwrap_err();
            assert!(e.contains("start time"), "{bad}: {e}");
        }
    }
}
