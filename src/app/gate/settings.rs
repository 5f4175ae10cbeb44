//! The settings of a `gate` step, read from flags, action inputs (`INPUT_*`) and `LOADGATE_*`.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::cli::{
    CommentMode, ConfirmChoice, FailOn, GateArgs, GateMode as Mode, parse_max_skew, parse_shard_in,
    parse_start_at,
};
use crate::error::Error;
use crate::github::inputs::{in_workspace, input, resolve};
use crate::github::{Context, Env};

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Auto => "auto",
            Mode::Gate => "gate",
            Mode::Record => "record",
            Mode::Run => "run",
            Mode::Report => "report",
        })
    }
}

/// The resolved settings of one `gate` step.
#[derive(Debug)]
pub(super) struct Settings {
    pub(super) profile: PathBuf,
    pub(super) target: Option<String>,
    /// Where `target` comes from, for errors about it.
    pub(super) target_origin: &'static str,
    pub(super) baseline: Option<PathBuf>,
    pub(super) mode: Mode,
    pub(super) comment: CommentMode,
    pub(super) fail_on: FailOn,
    pub(super) template: Option<PathBuf>,
    pub(super) results: String,
    pub(super) shard: Option<(u32, u32)>,
    /// The synchronized start of the load (the first run only).
    pub(super) start_at: Option<std::time::SystemTime>,
    /// `mode: report`: how far apart shards may have started.
    pub(super) max_skew: Option<std::time::Duration>,
    pub(super) pr_number: Option<u64>,
    pub(super) token: Option<String>,
    /// `None`: neither flag nor input (the profile's `gate.confirm`, else off).
    pub(super) confirm: Option<ConfirmChoice>,
    /// `mode: report`: the results of a confirmation run made elsewhere.
    pub(super) confirmation: Option<String>,
    /// A paired A/B comparison's base target.
    pub(super) baseline_target: Option<String>,
    /// `mode: record`: commit and push the run (`None`: under GitHub Actions, yes).
    pub(super) push: Option<bool>,
}

/// Results go here unless `results` says otherwise; the reports go beside them.
pub(super) const DEFAULT_RESULTS: &str = "loadgate-results/results.json";

/// A setting from its flag (parsed by clap), else the action input or `LOADGATE_<NAME>`
/// parsed with `parse`, whose message is prefixed with the setting's name.
fn parsed<T>(
    env: &Env,
    flag: Option<T>,
    name: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, Error> {
    if flag.is_some() {
        return Ok(flag);
    }
    resolve(env, None, name)
        .map(|value| parse(&value).map_err(|m| Error::Usage(format!("`{name}`: {m}"))))
        .transpose()
}

/// A choice among the names of `T` (any case; aliases such as `true` too): the flag (parsed by
/// clap), else the action input or `LOADGATE_<NAME>`.
fn choice<T: ValueEnum + Copy>(env: &Env, flag: Option<T>, name: &str) -> Result<Option<T>, Error> {
    if flag.is_some() {
        return Ok(flag);
    }
    resolve(env, None, name)
        .map(|value| {
            T::from_str(&value, true).map_err(|_| {
                let names: Vec<String> = T::value_variants()
                    .iter()
                    .filter_map(ValueEnum::to_possible_value)
                    .map(|v| format!("`{}`", v.get_name()))
                    .collect();
                Error::Usage(format!(
                    "invalid {name} `{value}` (flag `--{name}`, action input `{name}`): expected one of {}",
                    names.join(", ")
                ))
            })
        })
        .transpose()
}

impl Settings {
    pub(super) fn resolve(args: GateArgs, env: &Env) -> Result<Settings, Error> {
        let path = |flag: Option<PathBuf>, name: &str| {
            resolve(env, flag.map(|p| p.display().to_string()), name)
                .map(|p| in_workspace(env, Path::new(&p)))
        };
        let profile = path(args.profile, "profile").ok_or_else(|| {
            Error::Usage(
                "no profile: pass it as the first argument, set the action input `profile`, or LOADGATE_PROFILE"
                    .into(),
            )
        })?;
        let shard = parsed(env, args.shard, "shard", |s| {
            parse_shard_in(s, |name| env.var(name).map(str::to_string))
        })?;
        let start_at = parsed(env, args.start_at, "start-at", parse_start_at)?;
        let max_skew = parsed(env, args.max_skew, "max-skew", parse_max_skew)?;
        let pr_number = parsed(env, args.pr_number, "pr-number", |n| {
            n.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("invalid pr-number `{n}`: expected the pull request's number, like `42`")
            })
        })?;
        let results = resolve(env, args.results, "results")
            .unwrap_or_else(|| DEFAULT_RESULTS.to_string())
            .lines()
            .map(|l| in_workspace(env, Path::new(l.trim())).display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let target_origin = match (&args.target, input(env, "target")) {
            (Some(flag), _) if !flag.trim().is_empty() => "the flag `--target`",
            (_, Some(_)) => "the action input `target`",
            _ if env.var("LOADGATE_TARGET").is_some() => "`LOADGATE_TARGET`",
            _ => "the profile's `target:` (the action input `target` overrides it)",
        };
        Ok(Settings {
            profile,
            target: resolve(env, args.target, "target"),
            target_origin,
            baseline: path(args.baseline, "baseline"),
            mode: choice(env, args.mode, "mode")?.unwrap_or(Mode::Auto),
            comment: choice(env, args.comment, "comment")?.unwrap_or(CommentMode::Auto),
            fail_on: choice(env, args.fail_on, "fail-on")?.unwrap_or(FailOn::Regression),
            template: path(args.template, "template"),
            results,
            shard,
            start_at,
            max_skew,
            pr_number,
            token: resolve(env, args.github_token, "github-token"),
            confirm: choice(env, args.confirm, "confirm")?,
            push: parsed(env, args.push, "push", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(format!(
                        "invalid push `{v}` (flag `--push`, action input `push`): expected one of `true`, `false`"
                    )),
                }
            })?,
            confirmation: resolve(env, args.confirmation, "confirmation").map(|spec| {
                spec.lines()
                    .map(|l| in_workspace(env, Path::new(l.trim())).display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            baseline_target: resolve(env, args.baseline_target, "baseline-target"),
        })
    }
}

impl Settings {
    /// An error about the target, naming where the target was set (under the action: the input
    /// `target`); other errors unchanged.
    pub(super) fn about_target(&self, error: Error) -> Error {
        let origin = self.target_origin;
        match error {
            Error::NotReady(m) => Error::NotReady(format!("{m}; the target is {origin}")),
            Error::Usage(m) => Error::Usage(format!("{m}; the target is {origin}")),
            other => other,
        }
    }
}

impl Mode {
    pub(super) fn resolve(self, ctx: Option<&Context>) -> Mode {
        match self {
            Mode::Auto if ctx.is_some_and(Context::is_push_to_default_branch) => Mode::Record,
            Mode::Auto => Mode::Gate,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_inputs_with_workspace_paths() {
        let env = Env::from_pairs([
            ("INPUT_PROFILE", "perf/api.yaml"),
            ("INPUT_MODE", "Record"),
            ("INPUT_FAIL-ON", "never"),
            ("INPUT_COMMENT", ""),
            ("INPUT_SHARD", "2/4"),
            ("GITHUB_WORKSPACE", "/ws"),
        ]);
        let s = Settings::resolve(GateArgs::default(), &env).expect("valid");
        assert_eq!(s.profile, Path::new("/ws/perf/api.yaml"));
        assert_eq!(s.mode, Mode::Record);
        assert_eq!(s.fail_on, FailOn::Never);
        assert_eq!(s.comment, CommentMode::Auto);
        assert_eq!(s.shard, Some((1, 4)));
        assert_eq!(s.results, "/ws/loadgate-results/results.json");

        let bad = Env::from_pairs([("INPUT_PROFILE", "p.yaml"), ("INPUT_MODE", "gat")]);
        let err = Settings::resolve(GateArgs::default(), &bad).expect_err("invalid");
        assert!(err.to_string().contains("invalid mode `gat`"), "{err}");
        assert!(
            Settings::resolve(GateArgs::default(), &Env::from_pairs::<&str, &str>([])).is_err()
        );
    }
}
