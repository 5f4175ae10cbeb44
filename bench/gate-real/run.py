#!/usr/bin/env python3
"""The real-service gate benchmark's driver (issue 15). Python 3 standard library only.

    bench/gate-real/run.py [--loadgate PATH] [--smoke] [--baseline 5] [--aa 30] [--per-change 10]
                           [--paired-aa 0] [--paired-per-change 0] [--confirm-always]
                           [--paired-schedule alternating|simultaneous]

It installs what it needs (redis-server from the distribution's packages when missing, a venv
in bench/gate-real/.venv with gunicorn and redis), then runs a campaign into
bench/gate-real/data/<timestamp>/:

  * baseline: BASELINE instances whose first run is appended with `loadgate baseline update`;
  * then the series interleaved, so that a campaign cut short still has every series:
    aa (unchanged), median (+20% p50 on `update`), tail (10% of `get doc` +40 ms),
    errors (2% of `search` answer 500), swing (unchanged code, a CPU-burning neighbour);
  * the paired series (`--paired-aa`, `--paired-per-change`): paired-aa, paired-median,
    paired-tail, paired-errors, paired-swing, each two instances started side by side, the
    base (unchanged) and the one under test (with the change), measured by
    `loadgate gate --baseline-target` in alternating blocks (or both at once, with
    `--paired-schedule simultaneous`); no stored baseline is used.

An instance restarts Redis (fresh, loopback, a private directory, seeded) and the service
(gunicorn, 4 workers x 4 threads, gthread), waits until it answers, then runs loadgate twice
back to back without restarting: the `gate` run and, when that run's verdict is a
regression (or always, with `--confirm-always`; baseline instances never), the `confirm` run.
Each run records the load average before and after; after each run of a non-baseline instance
`loadgate compare` is run at once, to time the verdict. runs.csv in the campaign directory has one row per run.
Analyse with analyze.py. Every process it starts is stopped by its own id, every loop is
bounded, and all traffic stays on 127.0.0.1.
"""

import argparse
import csv
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")
GUNICORN = os.path.join(VENV, "bin", "gunicorn")
PROFILE = os.path.join(HERE, "profile.yaml")

ENDPOINTS = ["get doc", "search", "create", "update", "aggregate"]
SLUG = {e: e.replace(" ", "_") for e in ENDPOINTS}
CHANGES = ["median", "tail", "errors", "swing"]
PAIRED = ["paired-aa"] + [f"paired-{c}" for c in CHANGES]
# Which endpoint each injected change hits.
MEDIAN_ENDPOINT = ("update", "update")  # (app's name, profile's name)
TAIL_ENDPOINT = ("get", "get doc")
ERROR_ENDPOINT = ("search", "search")
# The swing's neighbour: processes x duty cycle (share of each 10 ms spent burning).
SWING_PROCS = 1
SWING_DUTY = 0.5


def log(msg):
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", flush=True)


def ensure_tools():
    if shutil.which("redis-server") is None:
        log("installing redis-server")
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "redis-server"], check=True)
    if not os.path.exists(GUNICORN):
        log("creating the venv with gunicorn and redis")
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([PY, "-m", "pip", "install", "-q", "gunicorn", "redis"], check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_until(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready within {seconds} s")


def stop_pid(pid, seconds=10):
    """Stops one process this driver started, by its id."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Instance:
    """Redis + the service, fresh for one instance."""

    def __init__(self, workdir, env_extra):
        self.workdir = workdir
        self.env_extra = env_extra
        self.redis = None
        self.service = None
        self.burner = None
        self.redis_port = free_port()
        self.port = free_port()

    def start(self):
        redis_dir = os.path.join(self.workdir, "redis")
        shutil.rmtree(redis_dir, ignore_errors=True)
        os.makedirs(redis_dir)
        self.redis_log = open(os.path.join(self.workdir, "redis.log"), "w")
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--dir", redis_dir, "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=self.redis_log, stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self._redis_ping(), 15, "redis")
        # Seed while gunicorn boots; the load starts only once both are done.
        seed = subprocess.Popen([PY, os.path.join(HERE, "seed.py"), str(self.redis_port)],
                                stdout=subprocess.DEVNULL)
        env = dict(os.environ, GATE_REDIS_PORT=str(self.redis_port), **self.env_extra)
        self.service_log = open(os.path.join(self.workdir, "service.log"), "w")
        self.service = subprocess.Popen(
            [GUNICORN, "-w", "4", "--threads", "4", "-k", "gthread", "-b",
             f"127.0.0.1:{self.port}", "--chdir", HERE, "app:application"],
            env=env, stdout=subprocess.DEVNULL, stderr=self.service_log,
        )
        try:
            if seed.wait(timeout=120) != 0:
                raise RuntimeError("seeding redis failed")
        except subprocess.TimeoutExpired:
            stop_pid(seed.pid)
            raise RuntimeError("seeding redis took over 120 s")
        wait_until(self._healthy, 30, "service")

    def _redis_ping(self):
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def _healthy(self):
        url = f"http://127.0.0.1:{self.port}/health"
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200

    def start_burner(self, seconds):
        self.burner = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "burner.py"), str(SWING_PROCS), str(SWING_DUTY),
             str(seconds)])

    def stop(self):
        if self.burner is not None:
            stop_pid(self.burner.pid)
            self.burner = None
        if self.service is not None:
            stop_pid(self.service.pid)
            self.service = None
        if self.redis is not None:
            stop_pid(self.redis.pid)
            self.redis = None
        for f in ("redis_log", "service_log"):
            if hasattr(self, f):
                getattr(self, f).close()
        shutil.rmtree(os.path.join(self.workdir, "redis"), ignore_errors=True)


def summarize(results_path):
    with open(results_path) as f:
        res = json.load(f)
    row = {}
    for ep in res["endpoints"]:
        s = ep["summary"]
        lat = s["latency"]
        slug = SLUG.get(ep["name"], ep["name"].replace(" ", "_"))
        row[f"{slug}_p50_ms"] = round(lat.get("p50_us", 0) / 1000, 3)
        row[f"{slug}_p95_ms"] = round(lat.get("p95_us", 0) / 1000, 3)
        row[f"{slug}_n"] = s["requests"]
        row[f"{slug}_errors"] = s["errors"]
    return res, row


def end_of_load(res):
    started = datetime.datetime.fromisoformat(res["started_at"].replace("Z", "+00:00"))
    return started.timestamp() + res["duration_ms"] / 1000


def run_loadgate(loadgate, profile, target, out, log_path):
    with open(log_path, "w") as logf:
        p = subprocess.run([loadgate, "run", profile, "--target", target, "--out", out],
                           stdout=logf, stderr=subprocess.STDOUT, timeout=300)
    return p.returncode


def compare(loadgate, results, baseline, profile):
    p = subprocess.run([loadgate, "compare", results, "--baseline", baseline, "--profile",
                        profile], capture_output=True, text=True, timeout=120)
    verdict = "?"
    for line in p.stdout.splitlines():
        if line.startswith("verdict:"):
            verdict = line.split()[1]
    return p.returncode, verdict, time.time()


def paired_gate(loadgate, profile, target, base_target, out, log_path):
    """`loadgate gate` against two targets in alternating blocks; its exit code and verdict."""
    with open(log_path, "w") as logf:
        p = subprocess.run([loadgate, "gate", profile, "--mode", "gate", "--target", target,
                            "--baseline-target", base_target, "--results", out,
                            "--comment", "never", "--confirm", "off", "--fail-on", "never"],
                           stdout=logf, stderr=subprocess.STDOUT, timeout=600,
                           env={k: v for k, v in os.environ.items()
                                if not k.startswith(("GITHUB_", "INPUT_"))})
    verdict = "?"
    with open(log_path) as f:
        for line in f:
            if line.startswith("verdict:"):
                verdict = line.split()[1]
    return p.returncode, verdict


FIELDS = (["series", "instance", "run", "started_at", "loadavg_before", "loadavg_after",
           "run_exit", "verdict_online", "verdict_exit", "verdict_seconds", "injected"]
          + [f"{SLUG[e]}_{m}" for e in ENDPOINTS for m in ("p50_ms", "p95_ms", "n", "errors")])


def plan(args):
    """Interleaved order: rounds of aa, median, aa, tail, aa, errors, swing."""
    order = [("baseline", i + 1) for i in range(args.baseline)]
    counts = {s: 0 for s in ["aa"] + CHANGES}
    want = {"aa": args.aa, **{c: args.per_change for c in CHANGES}}
    pattern = ["aa", "median", "aa", "tail", "aa", "errors", "swing"]
    if args.paired_aa or args.paired_per_change:
        counts.update({s: 0 for s in PAIRED})
        want["paired-aa"] = args.paired_aa
        want.update({f"paired-{c}": args.paired_per_change for c in CHANGES})
        pattern += PAIRED
    while any(counts[s] < want[s] for s in counts):
        for s in pattern:
            if counts[s] < want[s]:
                counts[s] += 1
                order.append((s, counts[s]))
    return order


def describe(series, env):
    """The injected change in a few words, for the CSV."""
    if series.startswith("paired-"):
        inner = describe(series[len("paired-"):], env)
        return f"paired: {inner}" if inner else "paired"
    if series == "median":
        return f"update +{float(env['GATE_SLOW_MS']):.3f}ms"
    if series == "tail":
        return "get doc 10% +40ms"
    if series == "errors":
        return "search 2% http 500"
    if series == "swing":
        return f"cpu neighbour {SWING_PROCS}x{SWING_DUTY:.0%}"
    return ""


def series_env(series, slow_ms):
    series = series.removeprefix("paired-")
    if series == "median":
        return {"GATE_SLOW_ENDPOINT": MEDIAN_ENDPOINT[0], "GATE_SLOW_MS": f"{slow_ms:.3f}"}
    if series == "tail":
        return {"GATE_TAIL_ENDPOINT": TAIL_ENDPOINT[0], "GATE_TAIL_SHARE": "0.10",
                "GATE_TAIL_MS": "40"}
    if series == "errors":
        return {"GATE_ERROR_ENDPOINT": ERROR_ENDPOINT[0], "GATE_ERROR_SHARE": "0.02"}
    return {}


def baseline_p50_ms(campdir, endpoint):
    """The median over the recorded baseline runs of one endpoint's p50."""
    values = []
    for name in sorted(os.listdir(campdir)):
        if name.startswith("baseline-") and name.endswith("-gate.json"):
            with open(os.path.join(campdir, name)) as f:
                for ep in json.load(f)["endpoints"]:
                    if ep["name"] == endpoint:
                        values.append(ep["summary"]["latency"]["p50_us"] / 1000)
    values.sort()
    return values[len(values) // 2]


def instance(loadgate, profile, campdir, csv_path, baseline, series, number, env, run_seconds,
             confirm_always):
    """One restarted service measured by `loadgate run`, judged online by `compare`."""
    name = f"{series}-{number:02d}"
    inst = Instance(os.path.join(campdir, "work"), env)
    os.makedirs(inst.workdir, exist_ok=True)
    try:
        inst.start()
        if series == "swing":
            inst.start_burner(2 * run_seconds + 20)
            time.sleep(1)
        target = f"http://127.0.0.1:{inst.port}"
        for run in ("gate", "confirm"):
            out = os.path.join(campdir, f"{name}-{run}.json")
            before = loadavg()
            code = run_loadgate(loadgate, profile, target, out,
                                os.path.join(campdir, f"{name}-{run}.log"))
            after = loadavg()
            row = {"series": series, "instance": number, "run": run,
                   "loadavg_before": before, "loadavg_after": after, "run_exit": code,
                   "injected": describe(series, env)}
            if os.path.exists(out):
                res, summary = summarize(out)
                row.update(summary)
                row["started_at"] = res["started_at"]
                if series != "baseline" and os.path.exists(baseline):
                    vexit, verdict, t_done = compare(loadgate, out, baseline, profile)
                    row.update(verdict_online=verdict, verdict_exit=vexit,
                               verdict_seconds=round(t_done - end_of_load(res), 3))
                if series == "baseline" and run == "gate":
                    subprocess.run([loadgate, "baseline", "update", out, "--baseline",
                                    baseline], check=True, capture_output=True, timeout=60)
            with open(csv_path, "a", newline="") as f:
                csv.DictWriter(f, FIELDS).writerow(row)
            log(f"{name} {run}: exit {code}, load {before:.2f}->{after:.2f}, "
                f"verdict {row.get('verdict_online', '-')}")
            # A confirmation run is what the gate measures after a block only.
            if series == "baseline" or not (
                    confirm_always or str(row.get("verdict_online", "")).lower() == "regression"):
                break
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        log(f"{name}: failed: {e}")
    finally:
        inst.stop()


def paired_instance(loadgate, profile, campdir, csv_path, series, number, env, run_seconds):
    """Two services started side by side, the base unchanged and the other with the change,
    measured in alternating blocks by `loadgate gate --baseline-target`."""
    name = f"{series}-{number:02d}"
    base = Instance(os.path.join(campdir, "work", "base"), {})
    test = Instance(os.path.join(campdir, "work", "test"), env)
    for inst in (base, test):
        os.makedirs(inst.workdir, exist_ok=True)
    try:
        base.start()
        test.start()
        if series == "paired-swing":
            # One neighbour for both: a swing of the machine reaches both targets.
            test.start_burner(3 * run_seconds + 30)
            time.sleep(1)
        # Each paired instance in a folder of its own: `gate` writes its reports (and
        # comparison.json) and the blocks beside the results.
        out = os.path.join(campdir, name, "results.json")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        before = loadavg()
        code, verdict = paired_gate(loadgate, profile, f"http://127.0.0.1:{test.port}",
                                    f"http://127.0.0.1:{base.port}", out,
                                    os.path.join(campdir, f"{name}-gate.log"))
        after = loadavg()
        row = {"series": series, "instance": number, "run": "gate", "loadavg_before": before,
               "loadavg_after": after, "run_exit": code, "verdict_online": verdict,
               "verdict_exit": code, "injected": describe(series, env)}
        if os.path.exists(out):
            res, summary = summarize(out)
            row.update(summary)
            row["started_at"] = res["started_at"]
        with open(csv_path, "a", newline="") as f:
            csv.DictWriter(f, FIELDS).writerow(row)
        log(f"{name}: exit {code}, load {before:.2f}->{after:.2f}, verdict {verdict}")
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        log(f"{name}: failed: {e}")
    finally:
        test.stop()
        base.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loadgate", default="/work/gatereal-bin/loadgate")
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny, short campaign to test the pipeline (not for results)")
    ap.add_argument("--baseline", type=int, default=5)
    ap.add_argument("--aa", type=int, default=30)
    ap.add_argument("--per-change", type=int, default=10)
    ap.add_argument("--slow-ms", type=float, default=None,
                    help="the median change's sleep (default: 20%% of the baseline's p50)")
    ap.add_argument("--paired-aa", type=int, default=0,
                    help="paired A/A instances (two unchanged services, `--baseline-target`)")
    ap.add_argument("--paired-per-change", type=int, default=0,
                    help="paired instances per injected change")
    ap.add_argument("--paired-schedule", choices=["alternating", "simultaneous"],
                    default="alternating",
                    help="how the paired instances measure their two services "
                         "(`gate.paired.schedule`, set in the campaign's profile)")
    ap.add_argument("--confirm-always", action="store_true",
                    help="measure the confirmation run after every gate run, not only blocks")
    ap.add_argument("--max-minutes", type=float, default=150,
                    help="stop starting instances after this long")
    args = ap.parse_args()
    if args.smoke:
        args.baseline, args.aa, args.per_change = 2, 2, 1
        args.paired_aa = min(args.paired_aa, 1)
        args.paired_per_change = min(args.paired_per_change, 1)
    ensure_tools()
    loadgate = os.path.abspath(args.loadgate)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("-smoke" if args.smoke else "")
    campdir = os.path.join(HERE, "data", stamp)
    os.makedirs(campdir)
    profile = PROFILE
    if args.smoke:
        # Shorter durations only for the pipeline test.
        with open(PROFILE) as f:
            text = f.read()
        text = text.replace("{ duration: 30s, rate: 100/s }", "{ duration: 8s, rate: 100/s }")
        text = text.replace("warmup: 5s", "warmup: 2s").replace(
            "{ duration: 5s, rate: 100/s }", "{ duration: 2s, rate: 100/s }")
        profile = os.path.join(campdir, "profile.yaml")
        with open(profile, "w") as f:
            f.write(text)
    else:
        shutil.copy(PROFILE, os.path.join(campdir, "profile.yaml"))
    if args.paired_schedule != "alternating":
        # The paired instances' schedule is the profile's `gate.paired.schedule`.
        with open(profile) as f:
            text = f.read()
        profile = os.path.join(campdir, "profile.yaml")
        with open(profile, "w") as f:
            f.write(text + f"gate:\n  paired: {{ schedule: {args.paired_schedule} }}\n")
    baseline = os.path.join(campdir, "baseline.json")
    order = plan(args)
    meta = {"started": stamp, "loadgate": loadgate,
            "loadgate_version": subprocess.run([loadgate, "--version"], capture_output=True,
                                               text=True).stdout.strip(),
            "profile": os.path.relpath(profile, HERE), "plan": order,
            "paired_schedule": args.paired_schedule,
            "swing": {"procs": SWING_PROCS, "duty": SWING_DUTY},
            "injections": {"median": MEDIAN_ENDPOINT[1], "tail": TAIL_ENDPOINT[1],
                           "errors": ERROR_ENDPOINT[1], "swing": "all (CPU neighbour)"}}
    csv_path = os.path.join(campdir, "runs.csv")
    with open(csv_path, "w", newline="") as f:
        csv.DictWriter(f, FIELDS).writeheader()
    log(f"campaign {campdir}: {len(order)} instances")
    begin = time.monotonic()
    slow_ms = args.slow_ms
    run_seconds = 40 if not args.smoke else 12
    for series, number in order:
        if time.monotonic() - begin > args.max_minutes * 60:
            log("time budget spent: stopping")
            break
        if series == "median" and slow_ms is None:
            slow_ms = 0.20 * baseline_p50_ms(campdir, MEDIAN_ENDPOINT[1])
            meta["median_slow_ms"] = slow_ms
        env = series_env(series, slow_ms)
        name = f"{series}-{number:02d}"
        if series.startswith("paired-"):
            paired_instance(loadgate, profile, campdir, csv_path, series, number, env,
                            run_seconds)
        else:
            instance(loadgate, profile, campdir, csv_path, baseline, series, number, env,
                     run_seconds, args.confirm_always)
        with open(os.path.join(campdir, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
    shutil.rmtree(os.path.join(campdir, "work", "redis"), ignore_errors=True)
    log(f"done: {campdir}")


if __name__ == "__main__":
    main()
