//! `gate-sim`: the gate's own benchmark. Simulates seeded runs (see `sim.rs`), gates them with
//! the real histogram and comparison code, and prints, as Markdown, the targets with the
//! measured figures, then the tables behind them. Three noise models: the classic grid of
//! `stats-gate.md` on a shared runner and on a quiet one, and a real web service restarted
//! before every run (issue 15, `realistic.rs`), with confirmation before blocking. Work runs on
//! `--threads` threads (default: the machine's CPUs); every repetition has its own seed, so the
//! output does not depend on the thread count. `--calibrate DIR` instead reads results files of
//! a real service and prints the statistics the realistic model is calibrated on
//! (`calibrate.rs`).
//!
//! ```text
//! cargo run --release --example gate-sim -- [--model all|shared-runner|quiet-runner|realistic|realistic-busy]
//!     [--reps N] [--seed S] [--threads T] > bench/gate-sim.md
//! cargo run --release --example gate-sim -- --calibrate DIR [--only PREFIX,...]
//! ```

mod calibrate;
mod realistic;
mod sim;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use loadgate::compare::stats;
use loadgate::profile::GateConfig;
use sim::{Change, Config, Noise, Tally};

const RATES: [f64; 3] = [100.0, 300.0, 1000.0];
const DURATIONS: [u32; 3] = [30, 60, 120];
const ENDPOINTS: [usize; 2] = [1, 3];
const SIZES: [usize; 4] = [1, 3, 5, 10];
/// Repetitions per config of the classic grid unless `--reps` says otherwise.
const CLASSIC_REPS: u64 = 170;

/// `(config, baseline size, change)`.
type Key = (usize, usize, usize);

/// One repetition of a cell: `(seed, config, baseline sizes, changes, gate, noise)` to
/// `(baseline size, change, tally)` entries.
type Repetition =
    fn(u64, Config, &[usize], &[Change], &GateConfig, &Noise) -> Vec<(usize, Change, Tally)>;

/// What a grid runs.
struct Spec {
    configs: Vec<Config>,
    sizes: &'static [usize],
    changes: &'static [Change],
    repetition: Repetition,
    /// Repetitions per work item (a cell is split into chunks so that few cells still keep
    /// every thread busy).
    chunk: u64,
    /// A cell's repetitions, given the grid's.
    reps_for: fn(&Config, u64) -> u64,
}

struct Grid {
    configs: Vec<Config>,
    sizes: &'static [usize],
    changes: &'static [Change],
    tallies: BTreeMap<Key, Tally>,
    reps: u64,
}

/// The noise models `--model` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    All,
    SharedRunner,
    QuietRunner,
    Realistic,
    RealisticBusy,
}

impl Model {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "all" => Some(Self::All),
            "shared-runner" => Some(Self::SharedRunner),
            "quiet-runner" => Some(Self::QuietRunner),
            "realistic" => Some(Self::Realistic),
            "realistic-busy" => Some(Self::RealisticBusy),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::SharedRunner => "shared-runner",
            Self::QuietRunner => "quiet-runner",
            Self::Realistic => "realistic",
            Self::RealisticBusy => "realistic-busy",
        }
    }

    /// `all` runs every model but the busy-host variant (run it on its own).
    fn includes(self, other: Model) -> bool {
        self == other || (self == Model::All && other != Model::RealisticBusy)
    }
}

struct Args {
    model: Model,
    /// `None`: each model's default.
    reps: Option<u64>,
    seed: u64,
    threads: usize,
    calibrate: Option<String>,
    /// `--only`: file-name prefixes `--calibrate` reads (comma-separated).
    only: Vec<String>,
}

const USAGE: &str =
    "usage: gate-sim [--model all|shared-runner|quiet-runner|realistic|realistic-busy] \
[--reps N] [--seed S] [--threads T] | gate-sim --calibrate DIR [--only PREFIX,...]
  --model     all (default): shared-runner, quiet-runner and realistic; or one of them, or
              realistic-busy (the realistic service on the busy machine its real runs came from)
  --reps      repetitions per config (default 170 for the classic grid, 1500 for the
              realistic ones: 3,000 A/A runs in their 100/s cells; --reps 400 runs the
              realistic model in about 3 minutes with 2 threads)
  --calibrate print the statistics the realistic model is calibrated on, from the results
              files under DIR (--only: file-name prefixes, e.g. aa-,baseline-)";

fn args() -> Args {
    let mut out = Args {
        model: Model::All,
        reps: None,
        seed: 20_240_601,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        calibrate: None,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--help" || a == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let text = args.next();
        let value: Option<u64> = text.as_deref().and_then(|v| v.parse().ok());
        match (a.as_str(), value) {
            ("--reps", Some(v)) if v > 0 => out.reps = Some(v),
            ("--seed", Some(v)) => out.seed = v,
            ("--threads", Some(v)) if v > 0 => out.threads = v as usize,
            ("--model", _) if text.as_deref().and_then(Model::parse).is_some() => {
                out.model = text.as_deref().and_then(Model::parse).expect("checked");
            }
            ("--calibrate", _) if text.is_some() => out.calibrate = text,
            ("--only", _) if text.is_some() => {
                out.only = text
                    .iter()
                    .flat_map(|t| t.split(','))
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    out
}

fn main() {
    let Args {
        model,
        reps,
        seed,
        threads,
        calibrate,
        only,
    } = args();
    if let Some(dir) = calibrate {
        match calibrate::report(std::path::Path::new(&dir), &only) {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("gate-sim: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    let started = Instant::now();
    let classic = |noise: &Noise, seed: u64, name: &str| {
        let spec = Spec {
            configs: configs(),
            sizes: &SIZES,
            changes: &Change::ALL,
            repetition: sim::repetition,
            chunk: u64::MAX,
            reps_for: |_, reps| reps,
        };
        run_grid(
            &spec,
            reps.unwrap_or(CLASSIC_REPS),
            seed,
            noise,
            name,
            threads,
        )
    };
    let shared = model
        .includes(Model::SharedRunner)
        .then(|| classic(&Noise::default(), seed, "shared"));
    let quiet = model
        .includes(Model::QuietRunner)
        .then(|| classic(&Noise::quiet(), seed ^ 0x5151, "quiet"));
    let classic_secs = started.elapsed().as_secs_f64();
    if shared.is_some() || quiet.is_some() {
        let command = match model {
            Model::All => String::new(),
            other => format!("--model {} ", other.name()),
        };
        print!(
            "{}",
            render(
                shared.as_ref(),
                quiet.as_ref(),
                &command,
                seed,
                threads,
                classic_secs
            )
        );
    }
    for (which, noise, salt) in [
        (Model::Realistic, Noise::realistic(), 0x4EA1),
        (Model::RealisticBusy, Noise::realistic_busy(), 0xB054),
    ] {
        if !model.includes(which) {
            continue;
        }
        let started = Instant::now();
        let reps = reps.unwrap_or(realistic::REPS);
        let grid = run_grid(
            &realistic::spec(),
            reps,
            seed ^ salt,
            &noise,
            which.name(),
            threads,
        );
        print!(
            "{}",
            realistic::render(
                &grid,
                which.name(),
                &noise,
                seed,
                threads,
                started.elapsed().as_secs_f64()
            )
        );
    }
}

fn configs() -> Vec<Config> {
    RATES
        .iter()
        .flat_map(|&rate_per_sec| {
            DURATIONS.iter().flat_map(move |&duration_s| {
                ENDPOINTS.iter().map(move |&endpoints| Config {
                    rate_per_sec,
                    duration_s,
                    warmup_s: sim::WARMUP_S,
                    weights: &sim::EQUAL[..endpoints],
                })
            })
        })
        .collect()
}

/// Runs every cell of the grid, `reps` repetitions each, on `threads` threads, in chunks of
/// `spec.chunk` repetitions. A repetition's seed depends only on `seed`, the cell and the
/// repetition, and chunks are merged in grid and repetition order.
fn run_grid(spec: &Spec, reps: u64, seed: u64, noise: &Noise, name: &str, threads: usize) -> Grid {
    let gate = GateConfig::default();
    let configs = spec.configs.clone();
    let chunk = spec.chunk.clamp(1, reps);
    let cell_reps: Vec<u64> = configs.iter().map(|c| (spec.reps_for)(c, reps)).collect();
    let items: Vec<(usize, u64)> = (0..configs.len())
        .flat_map(|ci| {
            (0..cell_reps[ci])
                .step_by(chunk as usize)
                .map(move |from| (ci, from))
        })
        .collect();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let per_item: Vec<Mutex<BTreeMap<Key, Tally>>> =
        items.iter().map(|_| Mutex::default()).collect();
    let index = |change: Change| {
        spec.changes
            .iter()
            .position(|c| *c == change)
            .expect("every change is in the list")
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let item = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(ci, from)) = items.get(item) else {
                        break;
                    };
                    let cfg = configs[ci];
                    let mut tallies: BTreeMap<Key, Tally> = BTreeMap::new();
                    for rep in from..cell_reps[ci].min(from.saturating_add(chunk)) {
                        let s =
                            seed ^ ((ci as u64) << 32) ^ rep.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        for (n, change, t) in
                            (spec.repetition)(s, cfg, spec.sizes, spec.changes, &gate, noise)
                        {
                            tallies.entry((ci, n, index(change))).or_default().merge(&t);
                        }
                    }
                    *per_item[item].lock().expect("no thread panics holding it") = tallies;
                    let what = if items.len() == configs.len() {
                        "config"
                    } else {
                        "chunk"
                    };
                    eprintln!(
                        "{name}: {what} {}/{} done ({:.0}s)",
                        done.fetch_add(1, Ordering::Relaxed) + 1,
                        items.len(),
                        started.elapsed().as_secs_f64()
                    );
                }
            });
        }
    });
    let mut tallies: BTreeMap<Key, Tally> = BTreeMap::new();
    for item in per_item {
        for (key, t) in item.into_inner().expect("no thread panicked") {
            tallies.entry(key).or_default().merge(&t);
        }
    }
    Grid {
        configs,
        sizes: spec.sizes,
        changes: spec.changes,
        tallies,
        reps,
    }
}

fn pct(num: u64, den: u64) -> String {
    if den == 0 {
        "n/a".into()
    } else {
        format!("{:.1}%", 100.0 * num as f64 / den as f64)
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

/// The A/A comparisons of one cell that an oracle would leave inconclusive: each gated
/// metric's one-sided 95% bound is its log-change plus `z₀.₉₅·σ`, where `σ` is the true spread
/// of that metric's log-change, measured over the cell's repetitions (the narrowest interval
/// that still covers 90%). No calibrated interval can do better on average, so this is the
/// floor the noise model sets for the inconclusive rate. Returns `(comparisons, inconclusive)`.
fn oracle(t: &Tally) -> (u64, u64) {
    let mut moments: BTreeMap<(&str, &str), (f64, f64, f64)> = BTreeMap::new();
    for m in t.aa_changes.iter().flatten() {
        let e = moments
            .entry((m.endpoint.as_str(), m.label.as_str()))
            .or_default();
        e.0 += 1.0;
        e.1 += m.log_change;
        e.2 += m.log_change * m.log_change;
    }
    let sd: BTreeMap<(&str, &str), f64> = moments
        .into_iter()
        .map(|(k, (n, sum, sq))| {
            let var = if n > 1.0 {
                ((sq - sum * sum / n) / (n - 1.0)).max(0.0)
            } else {
                0.0
            };
            (k, var.sqrt())
        })
        .collect();
    let z = stats::z_quantile(0.95);
    let inconclusive = t
        .aa_changes
        .iter()
        .filter(|metrics| {
            metrics.is_empty()
                || metrics.iter().any(|m| {
                    let s = sd[&(m.endpoint.as_str(), m.label.as_str())];
                    m.log_change + z * s >= m.tolerance.ln_1p()
                })
        })
        .count();
    (t.aa_changes.len() as u64, inconclusive as u64)
}

impl Grid {
    /// The position of `change` in the grid's list of changes.
    fn index(&self, change: Change) -> usize {
        self.changes
            .iter()
            .position(|c| *c == change)
            .expect("every change is in the list")
    }

    /// The oracle floor ([`oracle`]) summed over the cells that satisfy `pred(config, N)`.
    fn oracle(&self, pred: &dyn Fn(&Config, usize) -> bool) -> (u64, u64) {
        let none = self.index(Change::None);
        self.tallies
            .iter()
            .filter(|((ci, n, ch), _)| *ch == none && pred(&self.configs[*ci], *n))
            .map(|(_, t)| oracle(t))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// The tallies of one change over the cells that satisfy `pred(config, N)`.
    fn select(&self, change: Change, pred: &dyn Fn(&Config, usize) -> bool) -> Tally {
        let mut t = Tally::default();
        for ((ci, n, ch), x) in &self.tallies {
            if *ch == self.index(change) && pred(&self.configs[*ci], *n) {
                t.merge(x);
            }
        }
        t
    }

    /// The tallies of every change with a known true ratio (A/A and the uniform changes: the
    /// ones whose interval coverage is counted) over the cells that satisfy `pred(config, N)`.
    fn with_known_ratio(&self, pred: &dyn Fn(&Config, usize) -> bool) -> Tally {
        let mut t = Tally::default();
        for c in self.changes.iter().filter(|c| c.true_ratio().is_some()) {
            t.merge(&self.select(*c, pred));
        }
        t
    }

    /// The targets of stats-gate.md as a Markdown table.
    fn targets(&self) -> String {
        let all = |_: &Config, _: usize| true;
        let typical = |c: &Config, n: usize| c.duration_s >= 60 && n >= 5;
        let aa = self.select(Change::None, &all);
        let aa_typical = self.select(Change::None, &typical);
        let p20 = self.select(Change::Uniform(1.20), &|c, n| c.duration_s == 60 && n >= 5);
        let p20_p99 = self.select(Change::Uniform(1.20), &|c, n| {
            c.requests_per_endpoint() >= 20_000.0 && n >= 5
        });
        let volume = |c: &Config, n: usize| c.requests_per_endpoint() >= 10_000.0 && n >= 5;
        let err5 = self.select(Change::Errors(5.0), &volume);
        let err0 = self.select(Change::ErrorsFromZero, &volume);
        let coverage = self.with_known_ratio(&all);
        let detect = |t: &Tally, q: &str| t.detect.get(q).copied().unwrap_or((0, 0));
        let mut out =
            String::from("| measure | target | measured | met |\n| --- | --- | --- | --- |\n");
        let mut row = |name: &str, target: &str, num: u64, den: u64, ok: bool| {
            let _ = writeln!(
                out,
                "| {name} | {target} | {} ({num} of {den}) | {} |",
                pct(num, den),
                if ok { "yes" } else { "**no**" }
            );
        };
        // Every current run is compared with baselines of each size in `SIZES`.
        let distinct = aa.runs / self.sizes.len() as u64;
        row(
            &format!(
                "false blocks on A/A runs (whole family), whole grid: {distinct} current runs, each against {} baseline sizes",
                self.sizes.len()
            ),
            "≤ 1%, ≥ 3000 runs",
            aa.blocked,
            aa.runs,
            distinct >= 3000 && ratio(aa.blocked, aa.runs) <= 0.01,
        );
        for q in ["p50", "p95"] {
            let (gated, flagged) = detect(&p20, q);
            row(
                &format!("power, +20% at {q}, 60 s, N ≥ 5"),
                "≥ 95%",
                flagged,
                gated,
                ratio(flagged, gated) >= 0.95,
            );
        }
        let (gated, flagged) = detect(&p20_p99, "p99");
        row(
            "power, +20% at p99, ≥ 20k requests per run, N ≥ 5",
            "≥ 80%",
            flagged,
            gated,
            ratio(flagged, gated) >= 0.80,
        );
        for (name, t) in [
            ("errors ×5 from 0.1%, ≥ 10k requests per run, N ≥ 5", &err5),
            ("errors 0 → 0.3%, ≥ 10k requests per run, N ≥ 5", &err0),
        ] {
            row(
                name,
                "≥ 95%",
                t.error_detect.1,
                t.error_detect.0,
                ratio(t.error_detect.1, t.error_detect.0) >= 0.95,
            );
        }
        row(
            "inconclusive on A/A (overall verdict), whole grid",
            "≤ 5%",
            aa.inconclusive,
            aa.runs,
            ratio(aa.inconclusive, aa.runs) <= 0.05,
        );
        row(
            "inconclusive on A/A (overall verdict), ≥ 60 s, N ≥ 5",
            "≤ 5%",
            aa_typical.inconclusive,
            aa_typical.runs,
            ratio(aa_typical.inconclusive, aa_typical.runs) <= 0.05,
        );
        let covered = ratio(coverage.coverage.1, coverage.coverage.0);
        row(
            "coverage of the 90% CI of R (A/A and uniform changes), whole grid",
            "88–92%",
            coverage.coverage.1,
            coverage.coverage.0,
            (0.88..=0.92).contains(&covered),
        );
        let by = |t: &Tally| -> String {
            t.inconclusive_by
                .iter()
                .map(|(q, (gated, inconclusive))| format!("{q} {}", pct(*inconclusive, *gated)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "\nInconclusive latency metrics on A/A counted one by one: whole grid {} ({}); \
             ≥ 60 s and N ≥ 5 {} ({}).",
            pct(aa.inconclusive_metrics, aa.gated_metrics),
            by(&aa),
            pct(aa_typical.inconclusive_metrics, aa_typical.gated_metrics),
            by(&aa_typical)
        );
        let (floor_all, floor_all_inc) = self.oracle(&all);
        let (floor_typ, floor_typ_inc) = self.oracle(&typical);
        let _ = writeln!(
            out,
            "\nOracle floor of the A/A inconclusive rate (overall verdict; an interval of exactly \
             the true spread of each metric, see \"Reading the targets\"): whole grid {} \
             ({floor_all_inc} of {floor_all}); ≥ 60 s and N ≥ 5 {} ({floor_typ_inc} of {floor_typ}).",
            pct(floor_all_inc, floor_all),
            pct(floor_typ_inc, floor_typ),
        );
        let _ = writeln!(
            out,
            "\nCoverage of the 90% CI by quantile, whole grid: {}.",
            coverage
                .coverage_by
                .iter()
                .map(|(q, (n, covered))| format!("{q} {}", pct(*covered, *n)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let by_size: Vec<String> = self
            .sizes
            .iter()
            .map(|&size| {
                let t = self.with_known_ratio(&|_, n| n == size);
                format!("N = {size} {}", pct(t.coverage.1, t.coverage.0))
            })
            .collect();
        let _ = writeln!(
            out,
            "\nCoverage of the 90% CI by baseline size, whole grid: {}.",
            by_size.join(", ")
        );
        out
    }

    /// One table over the grid: a row per config, a column per baseline size.
    fn cells(&self, title: &str, change: Change, cell: &dyn Fn(&Tally) -> String) -> String {
        let mut table =
            format!("### {title}\n\n| rate | duration | endpoints | requests/endpoint |");
        for n in self.sizes {
            let _ = write!(table, " N = {n} |");
        }
        table.push_str("\n| --- | --- | --- | --- |");
        for _ in self.sizes {
            table.push_str(" --- |");
        }
        table.push('\n');
        for (ci, cfg) in self.configs.iter().enumerate() {
            let _ = write!(
                table,
                "| {}/s | {} s | {} | {:.0} |",
                cfg.rate_per_sec,
                cfg.duration_s,
                cfg.endpoints(),
                cfg.requests_per_endpoint()
            );
            for &n in self.sizes {
                let t = self
                    .tallies
                    .get(&(ci, n, self.index(change)))
                    .cloned()
                    .unwrap_or_default();
                let _ = write!(table, " {} |", cell(&t));
            }
            table.push('\n');
        }
        table.push('\n');
        table
    }
}

/// The classic grid's notes: `notes.md` up to the realistic model's part.
fn classic_notes() -> &'static str {
    let notes = include_str!("notes.md");
    notes
        .find(realistic::NOTES_HEADING)
        .map_or(notes, |at| &notes[..at])
}

/// The classic grid's report, for whichever of its two models ran.
fn render(
    shared: Option<&Grid>,
    quiet: Option<&Grid>,
    command: &str,
    seed: u64,
    threads: usize,
    secs: f64,
) -> String {
    let mut out = String::new();
    let gate = GateConfig::default();
    let tolerances: Vec<String> = gate
        .metrics
        .iter()
        .map(|(q, tolerance)| format!("{} +{:.0}%", q.label(), tolerance * 100.0))
        .collect();
    let reps = shared.or(quiet).map_or(0, |g| g.reps);
    let _ = writeln!(out, "# gate-sim: the gate's own benchmark\n");
    let _ = writeln!(
        out,
        "Generated by `cargo run --release --example gate-sim -- {command}--reps {reps} --seed {seed}` \
         (wall time {:.1} min with {threads} threads on the shared 2-core development machine; \
         the figures do not depend on the thread count). Every run is simulated \
         (`bench/gate-sim/sim.rs`) and gated by the real histogram and comparison code \
         (`loadgate::compare::judge`) with the default gate settings: {}, error rate +{} \
         points, alpha {}, {} s blocks.\n",
        secs / 60.0,
        tolerances.join(", "),
        gate.error_rate * 100.0,
        gate.alpha,
        gate.block.as_secs()
    );
    let _ = writeln!(
        out,
        "Grid: rates {RATES:?} req/s shared by the endpoints, measured durations {DURATIONS:?} s \
         after a {} s warm-up, {ENDPOINTS:?} endpoints, baseline sizes N = {SIZES:?}. Each \
         repetition simulates {} baseline runs (the first N form a baseline of size N) and one \
         current run per injected change; changes hit the first endpoint only.\n",
        sim::WARMUP_S,
        sim::MAX_BASELINE
    );
    let mut first = true;
    for (name, grid) in [("shared runner", shared), ("quiet runner", quiet)] {
        let Some(g) = grid else { continue };
        let _ = writeln!(
            out,
            "{}## Targets: {name} ({} repetitions per config)\n",
            if first { "" } else { "\n" },
            g.reps
        );
        out.push_str(&g.targets());
        first = false;
    }
    out.push_str(classic_notes());
    let classic = Noise::default();
    let _ = writeln!(
        out,
        "\n## Noise models\n\nShared runner:\n\n```text\n{:#?}\n```\n\nQuiet runner: the same \
         with `run_sd` {}, `endpoint_sd` {}, `drift_sd` {}. Endpoint medians {:?} µs; base \
         error rate {}% in every run, in bursts.\n",
        classic,
        Noise::quiet().run_sd,
        Noise::quiet().endpoint_sd,
        Noise::quiet().drift_sd,
        classic.medians_us,
        classic.error_rate * 100.0
    );
    for (name, grid) in [("Quiet runner", quiet), ("Shared runner", shared)] {
        let Some(g) = grid else { continue };
        let _ = writeln!(out, "## {name}, cell by cell\n");
        out.push_str(&g.cells(
            "A/A: false blocks / inconclusive (overall verdict) / oracle floor of inconclusive",
            Change::None,
            &|t| {
                let (runs, floor) = oracle(t);
                format!(
                    "{} / {} / {}",
                    pct(t.blocked, t.runs),
                    pct(t.inconclusive, t.runs),
                    pct(floor, runs)
                )
            },
        ));
        out.push_str(&g.cells(
            "A/A: coverage of the 90% CI (latency metrics)",
            Change::None,
            &|t| pct(t.coverage.1, t.coverage.0),
        ));
    }
    let Some(g) = shared.or(quiet) else {
        return out;
    };
    let _ = writeln!(
        out,
        "Power below: the share of runs in which the changed endpoint's metric is a \
         regression; `n/a` where the metric had too few samples to be gated (report-only).\n"
    );
    for change in [
        Change::Uniform(1.05),
        Change::Uniform(1.10),
        Change::Uniform(1.20),
    ] {
        for q in ["p50", "p95", "p99"] {
            out.push_str(
                &g.cells(&format!("{} at {q}", change.label()), change, &|t| {
                    let (gated, flagged) = t.detect.get(q).copied().unwrap_or((0, 0));
                    pct(flagged, gated)
                }),
            );
        }
    }
    for change in [Change::TailOnly, Change::P99Only] {
        out.push_str(
            &g.cells(&format!("{} at p99", change.label()), change, &|t| {
                let (gated, flagged) = t.detect.get("p99").copied().unwrap_or((0, 0));
                pct(flagged, gated)
            }),
        );
    }
    for change in [
        Change::Errors(2.0),
        Change::Errors(5.0),
        Change::ErrorsFromZero,
    ] {
        out.push_str(&g.cells(&change.label(), change, &|t| {
            pct(t.error_detect.1, t.error_detect.0)
        }));
    }
    out
}
