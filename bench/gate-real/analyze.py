#!/usr/bin/env python3
"""Analyses a campaign of the real-service gate benchmark. Python 3 standard library only.

    bench/gate-real/analyze.py LOADGATE [CAMPAIGN_DIR] [--md bench/gate-real.md] [--csv ...]

LOADGATE is the binary that judges (so a newer gate can re-judge old runs offline);
CAMPAIGN_DIR defaults to the newest campaign in bench/gate-real/data/ that is not a smoke test.
For every run it asks the binary for the comparison JSON against the campaign's baseline
(`compare --format json` when the binary has it, else `report --format json`, the same
comparison) and counts verdicts per series, without confirmation (the gate run alone) and with
it (a block stands only if the confirmation run also regresses on a same endpoint x metric;
a binary whose `compare` takes the confirmation run itself is given it instead). It writes
the report (bench/gate-real.md) and the compact per-run CSV (bench/gate-real/runs.csv).
"""

import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ENDPOINTS = ["get doc", "search", "create", "update", "aggregate"]
SLUG = {e: e.replace(" ", "_") for e in ENDPOINTS}
# (t(1 - 0.01/5, 24) + t(0.95, 24)) * sqrt(1 + 1/5): the gate's minimum detectable change per
# unit of sd for N = 5 baseline runs and five p50 metrics (Holm's first step), df = 24.
MDC_FACTOR = (3.183 + 1.711) * math.sqrt(1 + 1 / 5)
# The endpoint whose latency each change slows on purpose.
LATENCY_INJECTED = {"median": "update", "tail": "get doc"}
SERIES = ["aa", "median", "tail", "errors", "swing"]
PAIRED = [f"paired-{s}" for s in SERIES]
SERIES_TITLE = {
    "baseline": "baseline (recorded)",
    "aa": "A/A (unchanged)",
    "median": "(a) +20% median on `update`",
    "tail": "(b) tail: 10% of `get doc` +40 ms",
    "errors": "(c) +2% HTTP 500 on `search`",
    "swing": "(d) service-wide swing (CPU neighbour), unchanged code",
    "paired-aa": "paired A/A (two unchanged services)",
    "paired-median": "paired (a) +20% median on `update`",
    "paired-tail": "paired (b) tail: 10% of `get doc` +40 ms",
    "paired-errors": "paired (c) +2% HTTP 500 on `search`",
    "paired-swing": "paired (d) CPU neighbour over both, unchanged code",
}
VERDICTS = ["regression", "inconclusive", "pass", "improvement", "untrusted", "incompatible",
            "no_baseline"]


def newest_campaign():
    data = os.path.join(HERE, "data")
    names = sorted(n for n in os.listdir(data) if not n.endswith("-smoke")
                   and os.path.exists(os.path.join(data, n, "runs.csv")))
    if not names:
        sys.exit(f"error: no campaign in {data}: run bench/gate-real/run.py first")
    return os.path.join(data, names[-1])


def help_text(loadgate, command):
    return subprocess.run([loadgate, command, "--help"], capture_output=True,
                          text=True).stdout


def confirmation_flag(helptext):
    return next((f for f in ("--confirmation", "--confirm-results", "--confirm")
                 if f in helptext), None)


class Judge:
    def __init__(self, loadgate, campdir):
        self.loadgate = loadgate
        self.baseline = os.path.join(campdir, "baseline.json")
        self.profile = os.path.join(campdir, "profile.yaml")
        helptext = help_text(loadgate, "compare")
        self.compare_json = "--format" in helptext
        # The JSON comes from `compare` when it can write it, else from `report` (the same
        # comparison); the confirmation flag is looked for on the command that is used.
        if not self.compare_json:
            helptext = help_text(loadgate, "report")
        self.confirm_flag = confirmation_flag(helptext)
        self.version = subprocess.run([loadgate, "--version"], capture_output=True,
                                      text=True).stdout.strip()

    def command(self, results, confirmation=None):
        if self.compare_json:
            cmd = [self.loadgate, "compare", results, "--baseline", self.baseline, "--profile",
                   self.profile, "--format", "json"]
            if confirmation and self.confirm_flag:
                cmd += [self.confirm_flag, confirmation]
            return cmd
        cmd = [self.loadgate, "report", results, "--baseline", self.baseline, "--profile",
               self.profile, "--format", "json"]
        if confirmation and self.confirm_flag:
            cmd += [self.confirm_flag, confirmation]
        return cmd

    def judge(self, results, confirmation=None):
        t0 = time.monotonic()
        p = subprocess.run(self.command(results, confirmation), capture_output=True, text=True,
                           timeout=120)
        seconds = time.monotonic() - t0
        try:
            comp = json.loads(p.stdout)
        except ValueError:
            return {"verdict": "error", "regressions": set(), "seconds": seconds,
                    "inconclusive": set(), "summary": p.stderr.strip()[:200]}
        return parse_comparison(comp, seconds)


def parse_comparison(comp, seconds=None):
    """What analyze.py counts from one comparison JSON."""
    regressions = {(m["endpoint"], m["label"]) for m in comp["metrics"]
                   if m["status"] == "regression"}
    inconclusive = {(m["endpoint"], m["label"]) for m in comp["metrics"]
                    if m["status"] == "inconclusive"}
    p50 = {}
    for m in comp["metrics"]:
        d = m.get("detail") or {}
        if m["label"] == "p50" and d.get("kind") == "latency":
            p50[m["endpoint"]] = {"mdc": m.get("mdc"), "between": d.get("between_runs_sd"),
                                  "shrunk": d.get("shrunk_sd"), "status": m["status"]}
    return {"verdict": comp["overall"]["verdict"], "regressions": regressions,
            "inconclusive": inconclusive, "seconds": seconds, "p50": p50,
            "notable": len(comp.get("notable", [])),
            "shifts": [(s["label"], s["status"], s["ratio"])
                       for s in comp.get("service_shifts", [])],
            "summary": comp["overall"].get("summary", "")}


def paired_outcome(campdir, series, number):
    """A paired instance's verdict, as `gate` decided it online (comparison.json beside its
    results); `None` when it has none."""
    path = os.path.join(campdir, f"{series}-{number:02d}", "comparison.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return parse_comparison(json.load(f))


def by_instance(rows):
    """Rows grouped per instance: (series, number) -> {run: row}."""
    grouped = {}
    for r in rows:
        grouped.setdefault((r["series"], int(r["instance"])), {})[r["run"]] = r
    return grouped


def load_rows(campdir):
    with open(os.path.join(campdir, "runs.csv")) as f:
        return list(csv.DictReader(f))


def shared_factors(rows):
    """Per run: the median over endpoints of ln p50 minus the endpoint's mean over unchanged
    runs (baseline and A/A, gate and confirm)."""
    unchanged = [r for r in rows if r["series"] in ("baseline", "aa") and r.get("get_doc_p50_ms")]
    means = {}
    for e in ENDPOINTS:
        logs = [math.log(float(r[f"{SLUG[e]}_p50_ms"])) for r in unchanged]
        means[e] = statistics.fmean(logs) if logs else 0.0
    for r in rows:
        if not r.get("get_doc_p50_ms"):
            r["shared_factor"] = ""
            continue
        devs = {e: math.log(float(r[f"{SLUG[e]}_p50_ms"])) - means[e] for e in ENDPOINTS}
        r["_devs"] = devs
        # The endpoint a change slowed on purpose is left out of its runs' shared factor.
        shared = [v for e, v in devs.items() if e != LATENCY_INJECTED.get(r["series"])]
        r["shared_factor"] = round(statistics.median(shared), 4)
    return means


def pct(x):
    return f"{(math.exp(x) - 1) * 100:+.1f}%"


def fmt_range(values, f=pct):
    if not values:
        return "—"
    return f"{f(statistics.median(values))} ({f(min(values))} to {f(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("loadgate")
    ap.add_argument("campaign", nargs="?")
    ap.add_argument("--md", default=os.path.join(REPO, "bench", "gate-real.md"))
    ap.add_argument("--csv", default=os.path.join(HERE, "runs.csv"))
    ap.add_argument("--reading", default=os.path.join(HERE, "reading.md"),
                    help="hand-written text appended to the report (`none`: nothing)")
    ap.add_argument("--rolling", type=int, default=0, metavar="N",
                    help="judge each run against the N most recent unchanged runs before it "
                         "(baseline and A/A gate runs, in campaign order), as a baseline kept "
                         "by pushes to main looks, instead of the recorded baseline.json; runs "
                         "with fewer than N before them are not judged")
    args = ap.parse_args()
    campdir = os.path.abspath(args.campaign or newest_campaign())
    judge = Judge(os.path.abspath(args.loadgate), campdir)
    rolling = RollingBaselines(judge, campdir, args.rolling) if args.rolling else None
    rows = load_rows(campdir)
    with open(os.path.join(campdir, "meta.json")) as f:
        meta = json.load(f)
    means = shared_factors(rows)

    # Judge every run of every non-baseline instance.
    by_instance = {}
    for r in rows:
        by_instance.setdefault((r["series"], int(r["instance"])), {})[r["run"]] = r
    outcomes = {s: [] for s in SERIES + PAIRED}
    for (series, number), runs in sorted(by_instance.items()):
        if series.startswith("paired-"):
            gate = paired_outcome(campdir, series, number)
            r = runs["gate"]
            if gate is None:
                r["verdict"] = r["regressions"] = ""
                continue
            r["_judged"] = gate
            r["verdict"] = r["verdict_confirmed"] = gate["verdict"]
            r["regressions"] = ";".join(sorted(f"{e} {m}" for e, m in gate["regressions"]))
            outcomes[series].append({"number": number, "gate": gate, "confirm": None,
                                     "confirmed": gate["verdict"],
                                     "confirmed_regs": gate["regressions"], "rows": runs})
            continue
        if rolling and series != "baseline":
            judge.baseline = rolling.before(series, number)
            if judge.baseline is None:
                continue
        for run, r in runs.items():
            path = os.path.join(campdir, f"{series}-{number:02d}-{run}.json")
            if series == "baseline" or not os.path.exists(path):
                r["verdict"] = r["regressions"] = ""
                continue
            j = judge.judge(path)
            r["_judged"] = j
            r["verdict"] = j["verdict"]
            r["regressions"] = ";".join(sorted(f"{e} {m}" for e, m in j["regressions"]))
            r["compare_seconds"] = round(j["seconds"], 3)
        if series == "baseline" or "gate" not in runs or "_judged" not in runs["gate"]:
            continue
        gate = runs["gate"]["_judged"]
        confirm = runs.get("confirm", {}).get("_judged")
        same = gate["regressions"] & (confirm["regressions"] if confirm else set())
        if gate["verdict"] == "regression":
            confirmed = ("regression" if same else f"unconfirmed ({confirm['verdict']})") \
                if confirm else "not measured"
        else:
            confirmed = gate["verdict"]
        if judge.confirm_flag and confirm:
            combined = judge.judge(
                os.path.join(campdir, f"{series}-{number:02d}-gate.json"),
                os.path.join(campdir, f"{series}-{number:02d}-confirm.json"))
            confirmed, same = combined["verdict"], combined["regressions"]
        runs["gate"]["verdict_confirmed"] = confirmed
        outcomes[series].append({"number": number, "gate": gate, "confirm": confirm,
                                 "confirmed": confirmed, "confirmed_regs": same,
                                 "rows": runs})

    if rolling:
        rolling.close()
    write_csv(args.csv, rows)
    write_md(args.md, campdir, meta, judge, rows, outcomes, means, args.reading, args.rolling,
             args.csv)
    print(f"wrote {args.md} and {args.csv}")


def write_csv(path, rows):
    fields = [k for k in rows[0].keys() if not k.startswith("_")] if rows else []
    for extra in ("shared_factor", "verdict", "regressions", "verdict_confirmed",
                  "compare_seconds"):
        if extra not in fields:
            fields.append(extra)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def count(outcomes, key):
    counts = {}
    for o in outcomes:
        v = key(o)
        counts[v] = counts.get(v, 0) + 1
    return counts


def fmt_counts(counts, total):
    parts = [f"{counts[v]} {v}" for v in VERDICTS if counts.get(v)]
    parts += [f"{n} {v}" for v, n in sorted(counts.items()) if v not in VERDICTS]
    return ", ".join(parts) + f" (of {total})"


def injected_hit(series, o):
    target = {"median": ("update", "p50"), "errors": ("search", "errors http_5xx")}.get(series)
    return target


class RollingBaselines:
    """Per instance, a baseline file of the `keep` most recent unchanged runs before it (the
    baseline instances' and A/A instances' gate runs, in the campaign's order), built with the
    judging binary's `baseline update`: how the baseline on main looks when it is kept by
    pushes spread over time rather than recorded in one sitting. A run `baseline update`
    refuses (untrusted: the generator fell behind) is skipped, as main would not record it."""

    def __init__(self, judge, campdir, keep):
        import tempfile
        self.judge, self.campdir, self.keep = judge, campdir, keep
        self.dir = tempfile.mkdtemp(prefix="rolling-")
        with open(os.path.join(campdir, "meta.json")) as f:
            plan = [(s, int(n)) for s, n in json.load(f)["plan"]]
        self.runs_before = {}
        self.trusted = {}
        unchanged = []
        for series, number in plan:
            self.runs_before[(series, number)] = list(unchanged)
            path = os.path.join(campdir, f"{series}-{number:02d}-gate.json")
            if series in ("baseline", "aa") and os.path.exists(path):
                unchanged.append(path)

    def before(self, series, number):
        """The baseline file for one instance; `None` with fewer than `keep` runs before it."""
        runs = []
        for path in reversed(self.runs_before.get((series, number), [])):
            if len(runs) == self.keep:
                break
            if path not in self.trusted:
                scratch = os.path.join(self.dir, "scratch.json")
                p = subprocess.run([self.judge.loadgate, "baseline", "update", "--baseline",
                                    scratch, "--keep", "1", "--profile", self.judge.profile,
                                    path], capture_output=True, timeout=60)
                self.trusted[path] = p.returncode == 0
            if self.trusted[path]:
                runs.insert(0, path)
        if len(runs) < self.keep:
            return None
        out = os.path.join(self.dir, f"{series}-{number:02d}.json")
        for path in runs:
            subprocess.run([self.judge.loadgate, "baseline", "update", "--baseline", out,
                            "--keep", str(self.keep), "--profile", self.judge.profile, path],
                           check=True, capture_output=True, timeout=60)
        return out

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def write_md(path, campdir, meta, judge, rows, outcomes, means, reading, rolling=0,
             csv_path=None):
    lines = []
    add = lines.append
    planned = {}
    for s, _n in meta["plan"]:
        planned[s] = planned.get(s, 0) + 1
    done = {s: len(outcomes[s]) for s in SERIES}
    base_done = len({int(r["instance"]) for r in rows if r["series"] == "baseline"})
    recorded = {s: len({int(r["instance"]) for r in rows if r["series"] == s}) for s in SERIES}
    # With a rolling baseline the first instances are not judged, so "complete" is about what
    # was recorded.
    complete = all((recorded if rolling else done)[s] >= planned.get(s, 0) for s in SERIES)

    add("# The gate on a real service (bench/gate-real)")
    add("")
    add("Issue 15's real-service benchmark: a Python JSON API over Redis, restarted before")
    add("every instance, judged by loadgate's gate with default settings. Produced by")
    add("`bench/gate-real/analyze.py` from the campaign "
        f"`data/{os.path.basename(campdir)}` (not committed; the per-run figures are in")
    csv_link = os.path.relpath(csv_path or os.path.join(HERE, "runs.csv"),
                               os.path.dirname(os.path.abspath(path)))
    add(f"[`{csv_link}`]({csv_link})).")
    add("")
    status = "complete" if complete else "cut short"
    add(f"Campaign {status}: baseline {base_done} of {planned.get('baseline', 0)} instances; "
        + ", ".join(f"{SERIES_TITLE[s].split(' (')[0] if s == 'aa' else s} {done[s]} of "
                    f"{planned.get(s, 0)}" for s in SERIES) + " instances judged.")
    add(f"Binary that recorded the runs: `{meta.get('loadgate_version', '?')}`; binary that "
        f"judged them: `{judge.version}`.")
    add("")
    add("## Setup")
    add("")
    add("- **Service** (`app.py`): a WSGI JSON API under gunicorn 4 workers x 4 threads "
        "(gthread) on 127.0.0.1, Redis on 127.0.0.1 (no persistence, a private directory), "
        "2,000 seeded JSON documents of about 15.7 KB each (a customer and 110 order lines). "
        "Five endpoints: `get doc` (GET one document), `search` (10 documents of a category, "
        "summarised), `create` (POST a 15 KB document, 201), `update` (PUT: read, modify, "
        "write), `aggregate` (totals over 20 documents of a category).")
    add("- **Load** (`profile.yaml`): weights 2:1:1:1:1, open model at 100 requests/s, 5 s "
        "warm-up + 30 s measured (about 1,000 responses of `get doc` and 500 of each other "
        "endpoint per run), default gate settings (no `gate:` section), "
        + (f"each run judged against a rolling baseline of the {rolling} most recent unchanged "
           "runs before it (baseline and A/A gate runs, in campaign order: a baseline kept by "
           "pushes to main over time); runs with fewer before them are not judged."
           if rolling else
           f"baseline of {base_done} runs recorded with `loadgate baseline update`."))
    confirm_always = any(r["run"] == "confirm" for r in rows) and all(
        any(r["run"] == "confirm" for r in runs.values())
        for (series, _n), runs in by_instance(rows).items()
        if series in SERIES)
    add("- **Instance**: Redis and the service restarted and reseeded, readiness awaited, then "
        "the *gate* run and, "
        + ("always" if confirm_always else "only when the gate run's verdict was a regression")
        + ", a *confirmation* run right after it without restarting (what confirm-before-"
        "blocking re-measures in the same job). The load average (1 min) is recorded before "
        "and after every run.")
    if any(s.startswith("paired-") for s, _n in meta["plan"]):
        add("- **Paired instances**: two copies of the service (each with its own Redis) "
            "started side by side, the base unchanged and the other with the series' change, "
            "measured by `loadgate gate --baseline-target` in alternating blocks (ABBA, the "
            "default 6 blocks per target of 5 s each, every block after the first with a "
            "one-interval warm-up); no stored baseline. For (d) one CPU-burning neighbour runs "
            "beside both.")
    slow = meta.get("median_slow_ms")
    add("- **Injected changes**, selected by environment variables at service start:")
    add(f"  (a) every `update` request takes "
        f"{f'{slow:.2f} ms' if slow else '20% of its baseline p50'} longer, a busy wait on "
        "the wall clock (20% of the baseline runs' median p50 of `update`; a sleep that short "
        "overshoots by the scheduler's wake-up delay); (b) 10% of `get doc` requests sleep "
        "40 ms; "
        "(c) 2% of `search` requests answer 500; (d) unchanged code, while a neighbour "
        f"process burns the CPU ({meta['swing']['procs']} process(es), each busy "
        f"{meta['swing']['duty']:.0%} of every 10 ms, for both runs of the instance) on this "
        "2-core machine.")
    add("- **Series order**: the baseline first, then rounds of A/A, (a), A/A, (b), A/A, (c), "
        "(d), so that a campaign cut short still has every series.")
    loads = [float(r["loadavg_before"]) for r in rows
             if r["series"] == "aa" and r.get("loadavg_before")]
    if loads:
        add(f"- **Machine**: 2 cores; the 1-minute load average before an A/A run had a median "
            f"of {statistics.median(loads):.2f} (range {min(loads):.2f} to {max(loads):.2f}). "
            "The load generator, the service (4 workers), Redis and, in (d), the neighbour "
            "share the two cores.")
    add("")
    add("## How to run it")
    add("")
    add("```sh")
    add("cargo build --release && cp target/release/loadgate /tmp/loadgate")
    add("bench/gate-real/run.py --loadgate /tmp/loadgate            # 75 instances, ~60 min")
    add("bench/gate-real/run.py --loadgate /tmp/loadgate --paired-aa 10 --paired-per-change 10"
        "  # + 50 paired, ~70 min")
    add("bench/gate-real/run.py --loadgate /tmp/loadgate --smoke    # pipeline test, ~5 min")
    add("bench/gate-real/analyze.py /tmp/loadgate [bench/gate-real/data/<campaign>]")
    add("# a committed campaign, re-judged by another binary:")
    add("tar xJf bench/gate-real/campaigns/<campaign>.tar.xz -C bench/gate-real/data")
    add("```")
    add("")
    add("`run.py` needs root the first time (it installs `redis-server` with apt-get when it "
        "is missing) and makes the venv `bench/gate-real/.venv` (gunicorn, redis). Results go "
        "to `bench/gate-real/data/<timestamp>/` (ignored by git); the campaigns this page "
        "reports are committed as `bench/gate-real/campaigns/<campaign>.tar.xz` (every results "
        "file, the baseline, the profile and the per-run CSV). `analyze.py` takes the "
        "binary that judges, so a newer gate can re-judge an old campaign offline.")
    if judge.confirm_flag:
        add(f"The judging binary takes the confirmation run itself (`{judge.confirm_flag}`): "
            "*with confirmation* is its verdict on the gate run confirmed by the confirmation "
            "run.")
    else:
        add("The judging binary has no confirmation flag; *with confirmation* is computed "
            "here: a block stands only when the confirmation run also regresses on a same "
            "endpoint x metric.")
    how = ("`compare --format json`" if judge.compare_json
           else "`report --format json` (its `compare` has no `--format`; same comparison)")
    add(f"Comparison JSON from {how}.")
    add("")

    # Verdict counts.
    add("## Every verdict, per series")
    add("")
    add("| series | instances | gate run alone | with confirmation | confirmation run alone |")
    add("| --- | ---: | --- | --- | --- |")
    shown = SERIES + [s for s in PAIRED if planned.get(s)]
    for s in shown:
        os_ = outcomes[s]
        n = len(os_)
        if not n:
            add(f"| {SERIES_TITLE[s]} | 0 | — | — | — |")
            continue
        g = count(os_, lambda o: o["gate"]["verdict"])
        c = count(os_, lambda o: o["confirmed"])
        k = count([o for o in os_ if o["confirm"]], lambda o: o["confirm"]["verdict"])
        add(f"| {SERIES_TITLE[s]} | {n} | {fmt_counts(g, n)} | {fmt_counts(c, n)} | "
            f"{fmt_counts(k, sum(k.values()))} |")
    add("")
    add("What blocked, per instance (gate run → confirmation run):")
    add("")
    if not any(o["gate"]["verdict"] == "regression" or (o["confirm"] and o["confirm"]["verdict"]
               == "regression") for s in shown for o in outcomes[s]):
        add("- nothing: no gate or confirmation run was a regression.")
    for s in shown:
        blocked = [o for o in outcomes[s] if o["gate"]["verdict"] == "regression"
                   or (o["confirm"] and o["confirm"]["verdict"] == "regression")]
        for o in blocked:
            g = ", ".join(sorted(f"{e} {m}" for e, m in o["gate"]["regressions"])) or "—"
            c = (", ".join(sorted(f"{e} {m}" for e, m in o["confirm"]["regressions"])) or "—") \
                if o["confirm"] else "no run"
            sf = o["rows"]["gate"].get("shared_factor")
            sfc = o["rows"].get("confirm", {}).get("shared_factor")
            add(f"- {s} {o['number']:02d}: gate [{g}] (shared factor "
                f"{pct(float(sf)) if sf != '' else '?'}) → confirm [{c}] (shared factor "
                f"{pct(float(sfc)) if sfc not in ('', None) else '?'}) → {o['confirmed']}")
    add("")

    # Targets.
    def rate(series, pred, key="gate"):
        os_ = outcomes[series]
        if not os_:
            return None, 0, 0
        k = sum(1 for o in os_ if pred(o, key))
        return k / len(os_), k, len(os_)

    def blocked(o, key):
        if key == "gate":
            return o["gate"]["verdict"] == "regression"
        return o["confirmed"] == "regression"

    def caught_on(endpoint, label):
        def pred(o, key):
            if not blocked(o, key):
                return False
            regs = o["confirmed_regs"] if key == "confirmed" else o["gate"]["regressions"]
            return any(e == endpoint and (label is None or m.startswith(label))
                       for e, m in regs)
        return pred

    def inconclusive(o, key):
        v = o["gate"]["verdict"] if key == "gate" else o["confirmed"]
        return v == "inconclusive"

    secs_online = [float(r["verdict_seconds"]) for r in rows if r.get("verdict_seconds")]
    secs_offline = [r["compare_seconds"] for r in rows if r.get("compare_seconds") not in
                    (None, "")]

    def cell(series, pred, key, want, at_most):
        v, k, n = rate(series, pred, key)
        if v is None:
            return "no runs", "—"
        missing = sum(1 for o in outcomes[series] if o["confirmed"] == "not measured")
        if key == "confirmed" and missing:
            return (f"not measured: {missing} blocked run(s) without a confirmation run",
                    "—")
        met = (v <= want) if at_most else (v >= want)
        verdict = "met" if met else "missed"
        if series == "aa" and n < 30:
            verdict += f" so far ({n} of ≥ 30)"
        return f"{k} of {n} ({v:.0%})", verdict

    add("## Targets (issue 15)")
    add("")
    add("| measure | target | without confirmation | | with confirmation | |")
    add("| --- | --- | --- | --- | --- | --- |")
    for title, series, pred, want, at_most, target in [
        ("A/A false blocks", "aa", blocked, 0.0, True, "0 of ≥ 30"),
        ("swing (unchanged code) false blocks", "swing", blocked, 0.0, True,
         "0 (A/A including swings)"),
        ("A/A inconclusive", "aa", inconclusive, 0.05, True, "≤ 5%"),
        ("+20% p50 on `update`: blocked on `update`", "median", caught_on("update", "p50"),
         0.95, False, "≥ 95%"),
        ("tail on `get doc`: blocked on `get doc`", "tail", caught_on("get doc", None),
         0.90, False, "≥ 90%"),
        ("+2% errors on `search`: blocked on `search` errors", "errors",
         caught_on("search", "errors"), 0.95, False, "≥ 95%"),
    ] + [(f"paired: {title}", f"paired-{series}", pred, want, at_most, target)
         for title, series, pred, want, at_most, target in [
             ("A/A false blocks", "aa", blocked, 0.0, True, "0"),
             ("CPU neighbour over both, false blocks", "swing", blocked, 0.0, True, "0"),
             ("A/A inconclusive", "aa", inconclusive, 0.05, True, "≤ 5%"),
             ("+20% p50 on `update`", "median", caught_on("update", "p50"), 0.95, False,
              "≥ 95%"),
             ("tail on `get doc`", "tail", caught_on("get doc", None), 0.90, False, "≥ 90%"),
             ("+2% errors on `search`", "errors", caught_on("search", "errors"), 0.95, False,
              "≥ 95%"),
         ] if planned.get(f"paired-{series}")]:
        a, am = cell(series, pred, "gate", want, at_most)
        b, bm = cell(series, pred, "confirmed", want, at_most)
        add(f"| {title} | {target} | {a} | {am} | {b} | {bm} |")
    if secs_online:
        worst = max(secs_online)
        add(f"| time from the end of the load to the verdict | ≤ 2 s | median "
            f"{statistics.median(secs_online):.2f} s, max {worst:.2f} s (online) | "
            f"{'met' if worst <= 2 else 'missed'} | — | — |")
    add("")
    aa_n = len(outcomes["aa"])
    if aa_n < 30:
        add(f"Only {aa_n} of the ≥ 30 A/A instances the target asks for were judged: the "
            "A/A figures are a partial count.")
        add("")
    add("Time to verdict: *online* is from the end of the load (the results' start time + "
        "duration) to the moment `loadgate compare`, started by the driver right after "
        "`loadgate run` exited, had printed its verdict; it includes writing the results "
        "file and starting the binary. Offline, `compare` alone took median "
        f"{statistics.median(secs_offline):.2f} s, max {max(secs_offline):.2f} s "
        "(analysis step)." if secs_offline and secs_online else "")
    add("")

    # Measured size of each injected change.
    add("## The measured size of each injected change")
    add("")
    aa_rows = [r for r in rows if r["series"] in ("baseline", "aa") and r.get("_devs")]

    def series_rows(s):
        return [r for r in rows if r["series"] == s and r.get("_devs")]

    def rel(s, endpoint, metric="p50"):
        """ln(metric of endpoint) − the unchanged runs' mean, per run; and the same minus the
        run's shared factor over the other endpoints."""
        col = f"{SLUG[endpoint]}_{metric}_ms"
        base = statistics.fmean(math.log(float(r[col])) for r in aa_rows)
        raw, adj = [], []
        for r in series_rows(s):
            d = math.log(float(r[col])) - base
            others = [v for e, v in r["_devs"].items() if e != endpoint]
            raw.append(d)
            adj.append(d - statistics.median(others))
        return raw, adj

    add("Each figure: median over the series' runs (gate and confirmation), range in brackets; "
        "relative to the geometric mean over every unchanged run (baseline and A/A). "
        "*Adjusted* removes the run's shared factor measured on the four other endpoints.")
    add("")
    add("| change | metric | raw | adjusted for the shared factor | A/A, same metric, adjusted |")
    add("| --- | --- | --- | --- | --- |")
    for s, ep, metric in [("median", "update", "p50"), ("tail", "get doc", "p95"),
                          ("tail", "get doc", "p50")]:
        raw, adj = rel(s, ep, metric)
        _, aa_adj = rel("aa", ep, metric)
        add(f"| {s} | `{ep}` {metric} | {fmt_range(raw)} | {fmt_range(adj)} | "
            f"{fmt_range(aa_adj)} |")
    err = [float(r["search_errors"]) / max(float(r["search_n"]), 1) for r in series_rows("errors")]
    aa_err = [float(r["search_errors"]) / max(float(r["search_n"]), 1) for r in aa_rows]
    if err:
        add(f"| errors | `search` error rate | {statistics.median(err):.2%} "
            f"({min(err):.2%} to {max(err):.2%}) | — | unchanged runs: "
            f"{statistics.median(aa_err):.2%} (max {max(aa_err):.2%}) |")
    sw = [float(r["shared_factor"]) for r in series_rows("swing")]
    aa_sf = [float(r["shared_factor"]) for r in series_rows("aa")]
    if sw:
        add(f"| swing | shared factor (median over endpoints of ln p50 − mean) | "
            f"{fmt_range(sw)} | — | A/A: {fmt_range(aa_sf)} |")
    add("")
    if meta.get("median_slow_ms"):
        base_update = math.exp(means["update"])
        add(f"The median change's sleep was {meta['median_slow_ms']:.2f} ms, 20% of the "
            "baseline runs' median `update` p50; the geometric mean `update` p50 over all "
            f"unchanged runs was {base_update:.2f} ms.")
        add("")

    # Why: what the comparisons could detect, and what the shared factor costs.
    add("## Why: what the comparison could detect")
    add("")
    aa_judged = [o["gate"] for o in outcomes["aa"]] + [o["confirm"] for o in outcomes["aa"]
                                                       if o["confirm"]]
    if aa_judged and aa_rows:
        add("Per endpoint, over the A/A comparisons (gate and confirmation runs): the p50's "
            "*detectable* change (the comparison's own minimum detectable change at 95% "
            "power), the baseline's between-run sd and the sd the gate used after shrinking "
            "(log units). Then, over every unchanged run: the sd of ln p50, and the sd left "
            "after removing the run's shared factor (leave-one-out: the median deviation of "
            "the four *other* endpoints).")
        add("")
        add("| endpoint | detectable, median (range) | baseline between-run sd | sd used | sd of "
            "ln p50, unchanged runs | sd after removing the shared factor | detectable at "
            "that sd (approx.) |")
        add("| --- | --- | --- | --- | --- | --- | --- |")
        for e in ENDPOINTS:
            mdcs = [j["p50"][e]["mdc"] for j in aa_judged if e in j["p50"]
                    and j["p50"][e]["mdc"] is not None]
            between = [j["p50"][e]["between"] for j in aa_judged if e in j["p50"]
                       and j["p50"][e]["between"] is not None]
            shrunk = [j["p50"][e]["shrunk"] for j in aa_judged if e in j["p50"]
                      and j["p50"][e]["shrunk"] is not None]
            raw = [r["_devs"][e] for r in aa_rows]
            resid = [r["_devs"][e] - statistics.median(v for k, v in r["_devs"].items() if k != e)
                     for r in aa_rows]
            mdc_txt = (f"+{statistics.median(mdcs):.0%} (+{min(mdcs):.0%} to +{max(mdcs):.0%})"
                       if mdcs else "—")
            if between and shrunk and len(raw) > 1:
                rs = statistics.stdev(resid)
                add(f"| `{e}` | {mdc_txt} | {statistics.median(between):.3f} | "
                    f"{statistics.median(shrunk):.3f} | {statistics.stdev(raw):.3f} | "
                    f"{rs:.3f} | +{math.exp(MDC_FACTOR * rs) - 1:.0%} |")
            else:
                add(f"| `{e}` | {mdc_txt} | — | — | — | — | — |")
        add("")
        add("*Detectable at that sd* uses the gate's own formula with that sd in place of "
            "the shrunk one: `exp((t(1 − 0.01/5) + t(0.95)) · sd · √(1 + 1/5)) − 1` with 24 "
            "degrees of freedom (Holm's first step over five p50 metrics, N = 5), about "
            f"`exp({MDC_FACTOR:.2f} · sd) − 1`; an estimate, not a run of any gate.")
        add("")
        add("The p50 tolerance is +8%; a comparison whose detectable change is far above it "
            "can only say *inconclusive* for an unchanged service and misses a +20% change. "
            "The last two columns say how much of the between-run spread is the shared factor "
            "that moves every endpoint together. A gate that judges each endpoint relative to "
            "the others of its run (loadgate's, when it has three or more gateable endpoints "
            "and the comparison's detail carries a `service_factor`) faces the last column "
            "instead of the fourth; its own *detectable* and *sd used* columns then show it.")
        add("")
    notable = {s: sum(o["gate"].get("notable", 0) > 0 for o in outcomes[s]) for s in SERIES}
    add("Runs whose comparison JSON listed anything as *notable*, per series (gate runs): "
        + ", ".join(f"{s} {notable[s]} of {len(outcomes[s])}" for s in SERIES) + ".")
    add("")

    # Shared factor.
    add("## The per-run shared factor (for the simulator)")
    add("")
    add("For every run, `shared factor = median over the five endpoints of (ln p50 − that "
        "endpoint's mean ln p50 over all unchanged runs)`, over the four others in the "
        "(a) and (b) series (their slowed endpoint left out); the column `shared_factor` of "
        "`runs.csv`. Its spread over unchanged runs is the service-wide swing that the "
        "simulator's realistic model should reproduce.")
    add("")
    add("| series | runs | median | sd | min | max | runs beyond ±15% | load avg before, "
        "median (range) |")
    add("| --- | ---: | --- | --- | --- | --- | --- | --- |")
    for s in ["baseline"] + SERIES:
        rs = series_rows(s)
        if not rs:
            continue
        sf = [float(r["shared_factor"]) for r in rs]
        la = [float(r["loadavg_before"]) for r in rs]
        beyond = sum(1 for v in sf if abs(v) > math.log(1.15))
        sd = statistics.stdev(sf) if len(sf) > 1 else 0.0
        add(f"| {s} | {len(rs)} | {pct(statistics.median(sf))} | {sd:.3f} | {pct(min(sf))} | "
            f"{pct(max(sf))} | {beyond} | {statistics.median(la):.2f} ({min(la):.2f}–"
            f"{max(la):.2f}) |")
    add("")
    pairs = []
    for r in rows:
        if r["run"] == "gate" and r.get("_devs") and r["series"] in ("aa", "baseline", "swing"):
            c = next((x for x in rows if x["series"] == r["series"] and x["instance"] ==
                      r["instance"] and x["run"] == "confirm" and x.get("_devs")), None)
            if c:
                pairs.append((r["series"], float(r["shared_factor"]),
                              float(c["shared_factor"])))
    unchanged_pairs = [(a, b) for s, a, b in pairs if s != "swing"]
    if len(unchanged_pairs) > 2:
        a = [p[0] for p in unchanged_pairs]
        b = [p[1] for p in unchanged_pairs]
        corr = statistics.correlation(a, b) if statistics.stdev(a) and statistics.stdev(b) \
            else float("nan")
        diffs = [y - x for x, y in unchanged_pairs]
        add(f"Within an instance (same service process, runs back to back), the unchanged "
            f"runs' shared factors of the gate and confirmation runs correlate at "
            f"{corr:.2f} over {len(unchanged_pairs)} instances; confirmation minus gate: "
            f"median {statistics.median(diffs):+.3f}, sd "
            f"{statistics.stdev(diffs):.3f} (log units). A swing that lasts the whole job "
            "survives confirmation; one that passes does not.")
        add("")
    unchanged = [r for r in rows if r["series"] in ("baseline", "aa") and r.get("_devs")]
    if len(unchanged) > 2:
        sf = [float(r["shared_factor"]) for r in unchanged]
        la = [(float(r["loadavg_before"]) + float(r["loadavg_after"])) / 2 for r in unchanged]
        if statistics.stdev(la) > 0:
            add(f"Over the {len(unchanged)} unchanged runs the shared factor correlates with "
                f"the load average (mean of before and after) at "
                f"{statistics.correlation(sf, la):.2f}.")
            add("")
    # Per-endpoint drift: the residual after the shared factor.
    add("Per-endpoint deviation after the shared factor (unchanged runs, sd of ln p50 − "
        "mean − shared factor): " + ", ".join(
            f"`{e}` {statistics.stdev([r['_devs'][e] - float(r['shared_factor']) for r in aa_rows]):.3f}"
            for e in ENDPOINTS) + "." if len(aa_rows) > 2 else "")
    add("")
    if reading != "none" and os.path.exists(reading):
        add("## Reading (written by hand for the campaign named in it)")
        add("")
        with open(reading) as f:
            add(f.read().strip())
        add("")
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    main()
