#!/usr/bin/env python3
"""loadgate side by side with its peers (issue 6): runs every scenario, writes RESULTS.md.

Called by bench/run.sh after the peers are installed and loadgate is built. Every run starts a
fresh nginx pinned to core 0 that logs each request with a millisecond timestamp, and runs the
generator on core 1 under `/usr/bin/time -v`: CPU time and peak RSS are measured from outside,
requests and pacing from the server's log. Nothing here is a timed assertion; it reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
STATE = ROOT / "target" / "bench"
WORK = STATE / "work"
LOADGATE = ROOT / "target" / "release" / "loadgate"
OHA = STATE / "tools" / "bin" / "oha"
LOCUST = STATE / "venv" / "bin" / "locust"
SERVER_CPU = "0"
GENERATOR_CPU = "1"
LOGS = Path("/dev/shm/loadgate-bench") if Path("/dev/shm").is_dir() else WORK / "logs"
PORT = 18080
URL = f"http://127.0.0.1:{PORT}/"
BASE = f"http://127.0.0.1:{PORT}"


# ---------------------------------------------------------------------------------------------
# Plans


@dataclasses.dataclass
class Plan:
    """How long and how often: the full benchmark or the smoke variant."""

    name: str
    reps: int
    closed_s: int
    rate_s: int
    rates: tuple
    low_s: int
    memory_s: int
    long_memory_s: int | None
    connections: int
    connections_s: int
    stall_run_s: int
    stall_at_s: float
    stall_s: float
    gate_s: int
    users: int
    users_s: int
    locust_users: tuple
    peers: bool
    profile: bool


FULL = Plan(
    name="full",
    reps=3,
    closed_s=10,
    rate_s=10,
    rates=(10_000, 25_000),
    low_s=10,
    memory_s=60,
    long_memory_s=None,
    connections=10_000,
    connections_s=10,
    stall_run_s=20,
    stall_at_s=5.0,
    stall_s=1.0,
    gate_s=10,
    users=100_000,
    users_s=60,
    locust_users=(2_500, 5_000, 10_000, 15_000),
    peers=True,
    profile=True,
)

SMOKE = Plan(
    name="smoke",
    reps=1,
    closed_s=1,
    rate_s=1,
    rates=(10_000,),
    low_s=1,
    memory_s=2,
    long_memory_s=None,
    connections=1_000,
    connections_s=2,
    stall_run_s=3,
    stall_at_s=1.0,
    stall_s=0.5,
    gate_s=2,
    users=5_000,
    users_s=12,
    locust_users=(),
    peers=False,
    profile=False,
)


# ---------------------------------------------------------------------------------------------
# The server


class Nginx:
    """One nginx instance for one run, pinned to SERVER_CPU, logging to its own file."""

    def __init__(self, name: str):
        self.dir = WORK / "nginx"
        # On tmpfs: a log write that waits for the disk (other processes' dirty pages) would
        # stall nginx's only worker and show up as a stall in every generator's numbers.
        self.log = LOGS / f"{name}.log"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if self.log.exists():
            self.log.unlink()
        # Something already answering on the port (a leftover nginx) would take the requests,
        # and every run would silently measure that server instead.
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=0.5):
                pass
            raise RuntimeError(
                f"port {PORT} is already taken by another process: stop it (a leftover nginx: "
                "`pkill -x nginx`) and run again"
            )
        except OSError:
            pass
        conf = (BENCH / "nginx.conf.in").read_text()
        conf = (
            conf.replace("@DIR@", str(self.dir))
            .replace("@ITEM_JSON@", ITEM_JSON)
            .replace("@SEARCH_JSON@", SEARCH_JSON)
            .replace("@PORT@", str(PORT))
            .replace("@LOG@", f"{self.log} ms buffer=256k flush=1s")
        )
        conf_path = self.dir / "nginx.conf"
        conf_path.write_text(conf)
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, "nginx", "-c", str(conf_path), "-p", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Ready when the worker answers a request, not when the master's socket accepts a
        # connection: a generator started before the worker would pile up connections in the
        # backlog and measure nginx's start-up.
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", PORT), timeout=0.5) as s:
                    s.sendall(b"GET /probe HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 204"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("nginx did not start; see " + str(self.dir / "error.log"))

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return int(children.split()[0])

    def stop(self) -> None:
        # A fast shutdown still flushes the log buffer.
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


ITEM_JSON = json.dumps(
    {
        "ok": True,
        "item": {
            "id": 4711,
            "name": "Trail running shoe",
            "price": 89.9,
            "stock": 12,
            "tags": ["shoes", "running", "outdoor"],
            "description": "Light trail shoe with a grippy sole and a breathable upper.",
        },
    }
)
SEARCH_JSON = json.dumps(
    {
        "count": 3,
        "page": 1,
        "items": [
            {"id": 1, "name": "Trail running shoe", "price": 89.9},
            {"id": 2, "name": "Wool hat", "price": 19.5},
            {"id": 3, "name": "Hiking socks", "price": 9.9},
        ],
    }
)


@dataclasses.dataclass
class ServerLog:
    """What nginx saw: arrival times (ms), statuses and the connections used."""

    ms: list
    statuses: Counter
    connections: int

    @property
    def requests(self) -> int:
        return len(self.ms)

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    def pacing(self, trim_ms: int = 500) -> dict | None:
        """Arrivals per millisecond, ignoring the first and last `trim_ms`."""
        if len(self.ms) < 2:
            return None
        first, last = self.ms[0], self.ms[-1]
        lo, hi = first + trim_ms, last - trim_ms
        if hi - lo < 100:
            lo, hi = first, last
        bins = Counter(t for t in self.ms if lo <= t < hi)
        span = hi - lo
        n = sum(bins.values())
        if span <= 0 or n == 0:
            return None
        mean = n / span
        peak = max(bins.values())
        return {
            "mean": mean,
            "max": peak,
            "ratio": peak / mean,
            "empty_ratio": (span - len(bins)) / span,
            "over_3x": sum(1 for v in bins.values() if v > 3 * mean),
        }


def read_log(path: Path) -> ServerLog:
    ms = []
    statuses: Counter = Counter()
    connections = set()
    if path.exists():
        with path.open() as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                sec, _, frac = parts[0].partition(".")
                ms.append(int(sec) * 1000 + int(frac or 0))
                statuses[int(parts[1])] += 1
                connections.add(parts[2])
    ms.sort()
    return ServerLog(ms, statuses, len(connections))


# ---------------------------------------------------------------------------------------------
# Running a generator


@dataclasses.dataclass
class Run:
    tool: str
    argv: list
    cpu_s: float
    rss_kb: int
    elapsed_s: float
    exit_code: int
    log: ServerLog
    stdout: str
    stderr: str
    launched: float
    extra: dict
    switches: int = 0

    @property
    def requests(self) -> int:
        return self.log.requests

    @property
    def switches_per_request(self) -> float | None:
        """Voluntary context switches (sleeps and wake-ups) per request."""
        return self.switches / self.requests if self.requests else None

    @property
    def us_per_request(self) -> float | None:
        return self.cpu_s / self.requests * 1e6 if self.requests else None


def parse_time_v(text: str) -> tuple[float, int, float, int]:
    def field(name: str) -> str:
        m = re.search(rf"^\s*{re.escape(name)}: (.*)$", text, re.M)
        return m.group(1).strip() if m else "0"

    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    rss = int(field("Maximum resident set size (kbytes)"))
    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    switches = int(field("Voluntary context switches"))
    return cpu, rss, secs, switches


def generator_pid(time_pid: int) -> int | None:
    """The measured process: the child of /usr/bin/time (taskset execs into time)."""
    try:
        children = Path(f"/proc/{time_pid}/task/{time_pid}/children").read_text().split()
        return int(children[0]) if children else None
    except OSError:
        return None


def measure(
    name: str,
    tool: str,
    argv: list,
    timeout_s: float,
    env: dict | None = None,
    during=None,
) -> Run:
    """Runs `argv` on the generator core against a fresh nginx and measures it."""
    nginx = Nginx(name)
    nginx.start()
    out_dir = WORK / "runs"
    out_dir.mkdir(parents=True, exist_ok=True)
    time_file = out_dir / f"{name}.time"
    cmd = ["taskset", "-c", GENERATOR_CPU, "/usr/bin/time", "-v", "-o", str(time_file), *argv]
    with (out_dir / f"{name}.out").open("w+") as out, (out_dir / f"{name}.err").open("w+") as err:
        launched = time.time()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}
        )
        extra = during(proc, nginx, launched) if during else {}
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
            extra["killed"] = True
        nginx.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu, rss, wall, switches = parse_time_v(time_file.read_text() if time_file.exists() else "")
    log = read_log(nginx.log)
    nginx.log.unlink(missing_ok=True)
    run = Run(tool, argv, cpu, rss, wall, code, log, stdout, stderr, launched, extra, switches)
    us = f"{run.us_per_request:.1f} µs/req" if run.us_per_request else "no requests"
    print(
        f"  {name:<34} {run.requests:>9,} req  {cpu:6.2f} s CPU  {us:>14}  "
        f"{rss / 1024:6.1f} MB  {log.connections:>6,} conns  exit {code}",
        flush=True,
    )
    return run


def write_profile(name: str, **values) -> Path:
    text = Template((BENCH / "profiles" / f"{name}.yaml.in").read_text()).substitute(
        {k: str(v) for k, v in values.items()}
    )
    path = WORK / "profiles" / f"{name}-{'-'.join(str(v) for v in values.values())}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def loadgate_run(profile: Path, out: str) -> list:
    return [str(LOADGATE), "run", str(profile), "--target", BASE, "--out", str(WORK / "runs" / out)]


def loadgate_results(out: str) -> dict:
    return json.loads((WORK / "runs" / out).read_text())


# ---------------------------------------------------------------------------------------------
# Statistics helpers


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1, unit=""):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{unit}"


def spread(values, digits=1):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return fmt(values[0], digits)
    return f"{fmt(median(values), digits)} ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def ratio(a, b):
    return a / b if a is not None and b else None


class Results:
    """Collected rows per scenario and the per-target verdicts."""

    def __init__(self):
        self.sections: list[str] = []
        self.targets: list[tuple[str, str, str]] = []
        self.commands: list[tuple[str, str]] = []

    def section(self, text: str) -> None:
        self.sections.append(text.rstrip() + "\n")

    def target(self, name: str, measured: str, met: bool | None) -> None:
        status = "met" if met else ("missed" if met is not None else "not measured")
        self.targets.append((name, measured, status))

    def command(self, scenario: str, argv: list, env: dict | None = None) -> None:
        shown = " ".join(shorten(a) for a in argv)
        if env:
            shown = " ".join(f"{k}={v}" for k, v in env.items()) + " " + shown
        if (scenario, shown) not in self.commands:
            self.commands.append((scenario, shown))


def shorten(arg: str) -> str:
    return str(arg).replace(str(ROOT) + "/", "")


def table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Scenarios


def peer_available(tool: str) -> bool:
    paths = {"oha": OHA, "locust": LOCUST}
    if tool in paths:
        return paths[tool].exists()
    return shutil.which(tool) is not None


def closed_argv(tool: str, plan: Plan, users: int, seconds: int):
    d = seconds
    if tool == "loadgate":
        p = write_profile("closed", duration=f"{d}s", users=users)
        return loadgate_run(p, f"closed-{users}.json"), None
    if tool == "wrk":
        return ["wrk", "-t1", f"-c{users}", f"-d{d}s", "--latency", URL], None
    if tool == "oha":
        return [str(OHA), "--no-tui", "-c", str(users), "-z", f"{d}s", URL], None
    if tool == "h2load":
        return ["h2load", "--h1", "-t1", f"-c{users}", f"-D{d}", URL], None
    if tool == "hey":
        return ["hey", "-c", str(users), "-z", f"{d}s", URL], None
    if tool == "locust":
        return [
            str(LOCUST), "-f", str(BENCH / "locustfile.py"), "--headless", "-u", str(users),
            "-r", str(users), "-t", f"{d}s", "-H", BASE, "--only-summary", "--loglevel", "WARNING",
        ], None
    raise ValueError(tool)


def rate_argv(tool: str, rate: int, seconds: int, name: str, clients: int = 50):
    if tool == "loadgate":
        p = write_profile("rate", duration=f"{seconds}s", rate=rate)
        return loadgate_run(p, f"{name}.json"), None
    if tool == "oha":
        return [str(OHA), "--no-tui", "-c", str(clients), "-q", str(rate), "-z", f"{seconds}s", URL], None
    if tool == "oha-corrected":
        return [
            str(OHA), "--no-tui", "--latency-correction", "-c", str(clients), "-q", str(rate),
            "-z", f"{seconds}s", URL,
        ], None
    if tool == "h2load":
        return ["h2load", "--h1", "-t1", f"-c{clients}", f"--rps={rate / clients:g}", f"-D{seconds}", URL], None
    if tool == "hey":
        return ["hey", "-c", str(clients), "-q", f"{rate / clients:g}", "-z", f"{seconds}s", URL], None
    if tool == "locust":
        return [
            str(LOCUST), "-f", str(BENCH / "locustfile.py"), "--headless", "-u", str(clients),
            "-r", str(clients), "-t", f"{seconds}s", "-H", BASE, "--only-summary", "--loglevel", "WARNING",
        ], {"BENCH_RATE_PER_USER": f"{rate / clients:g}"}
    raise ValueError(tool)


ONCE = ("hey",)
"""Peers shown for orientation only: run once, not in every repetition (keeps the run short)."""


def repeated(plan: Plan, tools: list, make, key: str, timeout_s: float, results: Results, scenario: str):
    """Runs every tool `plan.reps` times, interleaved so that noise spreads evenly."""
    runs: dict[str, list[Run]] = {t: [] for t in tools}
    for rep in range(plan.reps):
        for tool in tools:
            if rep > 0 and tool in ONCE:
                continue
            argv, env = make(tool, rep)
            results.command(scenario, argv, env)
            runs[tool].append(measure(f"{key}-{tool}-{rep}", tool, argv, timeout_s, env=env))
    return runs


def scenario_closed(plan: Plan, results: Results) -> dict:
    print("1. saturated closed loop, 50 connections", flush=True)
    tools = ["loadgate"] + ([t for t in ("wrk", "oha", "h2load", "hey") if peer_available(t)] if plan.peers else ["wrk"])
    runs = repeated(
        plan, tools, lambda t, _: closed_argv(t, plan, 50, plan.closed_s), "closed",
        plan.closed_s + 60, results, "1",
    )
    if plan.peers and peer_available("locust"):
        argv, env = closed_argv("locust", plan, 50, plan.closed_s)
        results.command("1", argv, env)
        runs["locust"] = [measure("closed-locust-0", "locust", argv, plan.closed_s + 60)]
    cpu = {t: median(r.us_per_request for r in rs) for t, rs in runs.items()}
    rows = []
    for tool, rs in runs.items():
        rows.append([
            f"**{tool}**" if tool == "loadgate" else tool,
            len(rs),
            spread([r.requests / plan.closed_s for r in rs], 0),
            spread([r.us_per_request for r in rs], 2),
            fmt(ratio(cpu[tool], cpu.get("wrk")), 2, "×"),
            fmt(ratio(cpu[tool], cpu.get("oha")), 2, "×"),
            spread([r.switches_per_request for r in rs], 2),
            spread([r.rss_kb / 1024 for r in rs], 1),
            errors_of(rs),
        ])
    results.section(
        f"## 1. Saturated closed loop: 50 connections, {plan.closed_s} s, simple GET\n\n"
        "Requests are counted by nginx; CPU is the generator's user + system time. Medians of the "
        "repetitions, (min–max) beside them (hey and Locust run once, for orientation). The ratio "
        "columns divide each tool's median CPU per request by wrk's and oha's.\n\n"
        + table(
            ["tool", "runs", "requests/s", "CPU µs/request", "÷ wrk", "÷ oha", "sleeps/request",
             "peak RSS MB", "non-2xx"],
            rows,
        )
    )
    lg, wrk, oha = cpu["loadgate"], cpu.get("wrk"), cpu.get("oha")
    results.target(
        "1a. closed loop: CPU/request ≤ 1.2× wrk",
        f"{fmt(lg, 2)} µs vs wrk {fmt(wrk, 2)} µs = {fmt(ratio(lg, wrk), 2)}×",
        (lg <= 1.2 * wrk) if lg and wrk else None,
    )
    results.target(
        "1b. closed loop: CPU/request below oha",
        f"{fmt(lg, 2)} µs vs oha {fmt(oha, 2)} µs = {fmt(ratio(lg, oha), 2)}×",
        (lg < oha) if lg and oha else None,
    )
    return cpu


def errors_of(runs: list) -> str:
    bad = sum(r.log.requests - r.log.ok for r in runs)
    return f"{bad:,}"


def scenario_rates(plan: Plan, results: Results) -> None:
    print("2. fixed rates", flush=True)
    peers = [t for t in ("h2load", "oha", "hey") if peer_available(t)] if plan.peers else []
    tools = ["loadgate", *peers]
    for rate in plan.rates:
        runs = repeated(
            plan, tools, lambda t, rep, rate=rate: rate_argv(t, rate, plan.rate_s, f"rate-{rate}-{rep}"),
            f"rate{rate}", plan.rate_s + 60, results, "2",
        )
        rows, cpu = rate_rows(runs, rate, plan.rate_s)
        lg = runs["loadgate"]
        achieved = median(r.requests / (rate * plan.rate_s) for r in lg)
        pacing = [r.log.pacing() for r in lg]
        worst = max((p["ratio"] for p in pacing if p), default=None)
        med_ratio = median(p["ratio"] for p in pacing if p)
        results.section(
            f"## 2. Fixed rate {rate:,}/s, {plan.rate_s} s, simple GET\n\n"
            "Achieved is the share of the planned requests nginx answered. Pacing is measured "
            "from nginx's millisecond timestamps (first and last 0.5 s left out): the busiest "
            "millisecond against the mean arrivals per millisecond, and the share of "
            "milliseconds with no arrival (bursts show as both). h2load and hey pace per "
            "connection (50 connections at rate/50 each); oha and loadgate pace the whole load.\n\n"
            + table(RATE_HEADER, rows)
        )
        h2 = cpu.get("h2load")
        results.target(
            f"2. {rate:,}/s: CPU/request ≤ h2load",
            f"{fmt(cpu['loadgate'], 2)} µs vs h2load {fmt(h2, 2)} µs = {fmt(ratio(cpu['loadgate'], h2), 2)}×",
            (cpu["loadgate"] <= h2) if cpu["loadgate"] and h2 else None,
        )
        results.target(
            f"2. {rate:,}/s: achieved within 0.5%",
            f"{fmt(achieved * 100 if achieved else None, 2)}% of planned",
            abs(achieved - 1) <= 0.005 if achieved else None,
        )
        results.target(
            f"2. {rate:,}/s: no millisecond > 3× the mean",
            f"busiest ms {fmt(med_ratio, 2)}× the mean (median of runs; worst {fmt(worst, 2)}×)",
            med_ratio <= 3 if med_ratio else None,
        )


def rate_rows(runs: dict, rate: int, seconds: int):
    cpu = {t: median(r.us_per_request for r in rs) for t, rs in runs.items()}
    rows = []
    for tool, rs in runs.items():
        pacing = [r.log.pacing() for r in rs]
        rows.append([
            f"**{tool}**" if tool == "loadgate" else tool,
            len(rs),
            spread([r.requests / (rate * seconds) * 100 for r in rs], 2) + "%",
            spread([r.us_per_request for r in rs], 2),
            fmt(ratio(cpu[tool], cpu.get("h2load")), 2, "×"),
            fmt(ratio(cpu[tool], cpu.get("oha")), 2, "×"),
            spread([p["ratio"] if p else None for p in pacing], 1),
            spread([p["empty_ratio"] * 100 if p else None for p in pacing], 0) + "%",
            spread([r.switches_per_request for r in rs], 2),
            spread([r.log.connections for r in rs], 0),
            spread([r.rss_kb / 1024 for r in rs], 1),
            errors_of(rs),
        ])
    return rows, cpu


RATE_HEADER = [
    "tool", "runs", "achieved", "CPU µs/request", "÷ h2load", "÷ oha", "busiest ms ÷ mean",
    "empty ms", "sleeps/request", "connections", "peak RSS MB", "non-2xx",
]


def scenario_low_rate(plan: Plan, results: Results) -> None:
    print("3. 1k/s", flush=True)
    rate = 1000
    peers = [t for t in ("h2load", "oha", "hey") if peer_available(t)] if plan.peers else []
    runs = repeated(
        plan, ["loadgate", *peers],
        lambda t, rep: rate_argv(t, rate, plan.low_s, f"low-{rep}"),
        "low", plan.low_s + 60, results, "3",
    )
    if plan.peers and peer_available("locust"):
        argv, env = rate_argv("locust", rate, plan.low_s, "low-locust")
        results.command("3", argv, env)
        runs["locust"] = [measure("low-locust-0", "locust", argv, plan.low_s + 60, env=env)]
    rows, cpu = rate_rows(runs, rate, plan.low_s)
    reference = ""
    if plan.peers and peer_available("wrk"):
        argv = ["wrk", "-t1", "-c1", f"-d{plan.low_s}s", URL]
        results.command("3", argv)
        ref = measure("low-wrk-c1", "wrk", argv, plan.low_s + 60)
        reference = (
            "\nFor scale: wrk with one connection (a closed loop that sleeps in `epoll_wait` for "
            f"every response) spends {fmt(ref.us_per_request, 1)} µs per request at "
            f"{fmt(ref.switches_per_request, 2)} sleeps per request. A generator that paces "
            "smoothly at 1,000/s sleeps until each send time and again until each response, "
            "so two such wake-ups per request are its floor on this machine unless it sends in "
            "bursts (h2load's empty milliseconds).\n"
        )
    results.section(
        f"## 3. Fixed rate 1,000/s, {plan.low_s} s, simple GET\n\n"
        "Mostly idle time: what a generator costs between requests (timers, wake-ups). "
        "Sleeps/request counts the generator's voluntary context switches.\n\n"
        + table(RATE_HEADER, rows) + reference
    )
    lg = cpu["loadgate"]
    results.target("3. 1k/s: CPU/request ≤ 30 µs", f"{fmt(lg, 2)} µs", lg <= 30 if lg else None)


def scenario_realistic(plan: Plan, results: Results, closed_cpu: dict) -> None:
    print("4. realistic profile", flush=True)
    p = write_profile("realistic", duration=f"{plan.closed_s}s", users=50)
    simple = write_profile("closed", duration=f"{plan.closed_s}s", users=50)
    runs: dict[str, list[Run]] = {"simple GET": [], "realistic": []}
    for rep in range(plan.reps):
        for label, profile, out in (("simple GET", simple, "simple"), ("realistic", p, "realistic")):
            argv = loadgate_run(profile, f"{out}-{rep}.json")
            results.command("4", argv)
            runs[label].append(measure(f"realistic-{out}-{rep}", "loadgate", argv, plan.closed_s + 60))
    checks = []
    for rep in range(plan.reps):
        data = loadgate_results(f"realistic-{rep}.json")
        checks.append(sum(e["summary"]["errors"] for e in data["endpoints"]))
    cpu = {k: median(r.us_per_request for r in v) for k, v in runs.items()}
    rows = [
        [label, len(rs), spread([r.requests / plan.closed_s for r in rs], 0),
         spread([r.us_per_request for r in rs], 2), fmt(ratio(cpu[label], cpu["simple GET"]), 2, "×"),
         spread([r.rss_kb / 1024 for r in rs], 1), errors_of(rs)]
        for label, rs in runs.items()
    ]
    results.section(
        f"## 4. Realistic profile against the simple GET: loadgate, closed loop, 50 users, {plan.closed_s} s\n\n"
        "Three weighted endpoints (6:3:1), a templated path, a templated query, a templated JSON "
        "body (`uuid()`, `fake_name()`, a typed `random_int`), status and JSON-pointer checks on "
        f"every response (`bench/profiles/realistic.yaml.in`). Failed checks over all runs: {sum(checks)}.\n\n"
        + table(["profile", "runs", "requests/s", "CPU µs/request", "÷ simple", "peak RSS MB", "non-2xx"], rows)
    )
    r = ratio(cpu["realistic"], cpu["simple GET"])
    results.target(
        "4. realistic profile ≤ 1.25× the simple GET",
        f"{fmt(cpu['realistic'], 2)} µs vs {fmt(cpu['simple GET'], 2)} µs = {fmt(r, 2)}×",
        r <= 1.25 if r else None,
    )


def rss_sampler(interval_s: float, connections_at: float | None = None):
    """Samples the generator's RSS every `interval_s` while it runs (and open connections once)."""

    def during(proc, nginx, launched):
        samples = []
        conns = None
        while proc.poll() is None:
            pid = generator_pid(proc.pid)
            if pid:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    m = re.search(r"VmRSS:\s+(\d+) kB", status)
                    if m:
                        samples.append((time.time() - launched, int(m.group(1))))
                except OSError:
                    pass
            if connections_at is not None and conns is None and time.time() - launched >= connections_at:
                conns = established_connections()
            time.sleep(interval_s)
        return {"rss": samples, "connections": conns}

    return during


def established_connections() -> int:
    """Server-side established TCP connections on PORT."""
    port = f":{PORT:04X}"
    n = 0
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table_path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(port) and fields[3] == "01":
                        n += 1
        except OSError:
            pass
    return n


def scenario_memory(plan: Plan, results: Results) -> None:
    print("5. memory", flush=True)
    rows = []
    durations = [plan.memory_s] + ([plan.long_memory_s] if plan.long_memory_s else [])
    peaks = {}
    for seconds in durations:
        p = write_profile("memory", duration=f"{seconds}s", rate=10000)
        argv = loadgate_run(p, f"memory-{seconds}.json")
        results.command("5", argv)
        run = measure(f"memory-{seconds}s", "loadgate", argv, seconds + 60, during=rss_sampler(1.0))
        samples = run.extra.get("rss", [])
        peaks[seconds] = run.rss_kb / 1024
        marks = []
        for frac in (0.1, 0.5, 1.0):
            at = seconds * frac
            near = [kb for t, kb in samples if t <= at + 0.5]
            marks.append(fmt(near[-1] / 1024 if near else None, 1))
        rows.append([
            f"{seconds} s at 10,000/s, 5 endpoints", f"{run.requests:,}", fmt(peaks[seconds], 1),
            " / ".join(marks),
        ])
    results.target(
        "5a. peak RSS ≤ 30 MB, 60 s at 10k/s, 5 endpoints",
        f"{fmt(peaks[plan.memory_s], 1)} MB",
        peaks[plan.memory_s] <= 30,
    )
    if plan.long_memory_s:
        grow = peaks[plan.long_memory_s] - peaks[plan.memory_s]
        results.target(
            "5b. flat when 10× longer",
            f"{fmt(peaks[plan.long_memory_s], 1)} MB after {plan.long_memory_s} s ({grow:+.1f} MB)",
            grow <= 0.1 * peaks[plan.memory_s],
        )
    else:
        results.target(
            "5b. flat when 10× longer",
            "not run (`bench/run.sh --long` runs the 600 s case); see the RSS over the 60 s run",
            None,
        )
    # Many connections: a closed loop whose users each hold a connection.
    n = plan.connections
    conn_rows = []
    tools = ["loadgate"] + ([t for t in ("wrk", "oha") if peer_available(t)] if plan.peers else [])
    conn_peak = {}
    for tool in tools:
        if tool == "loadgate":
            p = write_profile("connections", duration=f"{plan.connections_s}s", users=n, spawn_rate=n)
            argv = loadgate_run(p, "connections.json")
        elif tool == "wrk":
            argv = ["wrk", "-t1", f"-c{n}", f"-d{plan.connections_s}s", URL]
        else:
            argv = [str(OHA), "--no-tui", "-c", str(n), "-z", f"{plan.connections_s}s", URL]
        results.command("5", argv)
        run = measure(
            f"connections-{tool}", tool, argv, plan.connections_s + 90,
            during=rss_sampler(0.5, connections_at=plan.connections_s * 0.7),
        )
        conn_peak[tool] = run.rss_kb / 1024
        conn_rows.append([
            f"**{tool}**" if tool == "loadgate" else tool, f"{n:,}",
            f"{run.extra.get('connections') or 0:,}", f"{run.requests:,}", fmt(conn_peak[tool], 1),
        ])
    results.target(
        f"5c. peak RSS ≤ 150 MB with {n:,} open connections",
        f"{fmt(conn_peak['loadgate'], 1)} MB",
        conn_peak["loadgate"] <= 150,
    )
    results.section(
        "## 5. Memory\n\n"
        "Peak RSS from `/usr/bin/time -v`; the RSS column samples `/proc/PID/status` at 10%, "
        "50% and 100% of the run.\n\n"
        + table(["run", "requests", "peak RSS MB", "RSS at 10% / 50% / 100% MB"], rows)
        + "\nOpen connections: a closed loop with one connection per user and no think time; "
        "connections are counted on the server side (established sockets on nginx's port) at "
        "70% of the run.\n\n"
        + table(["tool", "connections asked", "established", "requests", "peak RSS MB"], conn_rows)
    )


THINK_MEAN_S = 7.0
"""The mean of the users scenario's think time, uniform 5–9 s."""


def steady_rate(log: ServerLog, window_s: float) -> float | None:
    """Requests per second nginx logged over the last `window_s` of the run (its final second
    left out): the steady state once every user is spawned and past its first think time."""
    if not log.ms:
        return None
    hi = log.ms[-1] - 1000
    lo = hi - window_s * 1000
    n = sum(1 for t in log.ms if lo <= t < hi)
    return n / window_s if window_s > 0 else None


def scenario_users(plan: Plan, results: Results) -> None:
    n, secs, spawn = plan.users, plan.users_s, 10_000
    warm = n // spawn + 10
    print(f"8. many users: {n:,} closed-model users on one core", flush=True)
    p = write_profile("users", users=n, spawn_rate=spawn, warmup=f"{warm}s", duration=f"{secs}s")
    argv = loadgate_run(p, "users.json") + ["--progress", "off"]
    results.command("8", argv)
    run = measure("users-loadgate", "loadgate", argv, secs + 120, during=rss_sampler(1.0))
    r = loadgate_results("users.json")
    gens = r["generator"]["intervals"]
    full = next((g["index"] + 1 for g in gens if g.get("users", 0) >= n), None)
    window = max(secs - warm - 2, 5)
    rate = steady_rate(run.log, window)
    expected = n / THINK_MEAN_S
    lag_us = None
    validity = "?"
    try:
        report = subprocess.run(
            [str(LOADGATE), "report", str(WORK / "runs" / "users.json"), "--format", "json"],
            capture_output=True, text=True, timeout=120, check=False,
        )
        comparison = json.loads(report.stdout)
        checks = {c["check"]: c for c in comparison.get("validity", [])}
        gen = checks.get("generator", {})
        validity = "ok" if gen.get("ok", gen.get("status") == "ok") else "failed"
        m = re.search(r"lag p95 ([0-9.]+(?:µs|ms|s))", gen.get("detail", ""))
        lag_us = m.group(1) if m else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    rss_mb = run.rss_kb / 1024
    per_user_kb = run.rss_kb / n
    cpu_pct = run.cpu_s / run.elapsed_s * 100 if run.elapsed_s else None
    rows = [[
        "**loadgate**", f"{n:,}", f"{spawn:,}/s", f"{full} s" if full else "never",
        fmt(rate, 0), fmt(ratio(rate, expected), 3), fmt(cpu_pct, 0, "%"), fmt(rss_mb, 0),
        fmt(per_user_kb, 2), f"{run.log.connections:,}", validity,
    ]]
    locust_rows = []
    locust_cpu_per_user = []
    best = None
    if plan.peers and peer_available("locust"):
        for users in plan.locust_users:
            rate_spawn = min(users, 1_000)
            lsecs = users // rate_spawn + 10 + window + 2
            largv = [
                str(LOCUST), "-f", str(BENCH / "locustfile.py"), "--headless", "-u", str(users),
                "-r", str(rate_spawn), "-t", f"{lsecs}s", "-H", BASE, "--only-summary",
                "--loglevel", "WARNING",
            ]
            env = {"BENCH_THINK": "5,9"}
            results.command("8", largv, env)
            lrun = measure(f"users-locust-{users}", "locust", largv, lsecs + 120, env=env)
            lrate = steady_rate(lrun.log, window)
            lratio = ratio(lrate, users / THINK_MEAN_S)
            lcpu = lrun.cpu_s / lrun.elapsed_s * 100 if lrun.elapsed_s else None
            if lratio is not None and lratio >= 0.95:
                best = users
            locust_cpu_per_user.append(lrun.cpu_s / users)
            locust_rows.append([
                "locust", f"{users:,}", f"{rate_spawn:,}/s", "–", fmt(lrate, 0), fmt(lratio, 3),
                fmt(lcpu, 0, "%"), fmt(lrun.rss_kb / 1024, 0), fmt(lrun.rss_kb / users, 2),
                f"{lrun.log.connections:,}", "–",
            ])
    results.target(
        f"8a. {n:,} users: peak RSS ≤ 1 GB (≤ 10 KB per user)",
        f"{fmt(rss_mb, 0)} MB, {fmt(per_user_kb, 2)} KB per user",
        rss_mb <= 1024 and per_user_kb <= 10,
    )
    results.target(
        f"8b. spawned at {spawn:,} users/s, schedule honoured",
        f"all {n:,} users after {full} s; steady {fmt(rate, 0)}/s of the {fmt(expected, 0)}/s "
        f"{n:,} users at 7 s mean think time ask ({fmt(ratio(rate, expected), 3)}); "
        f"generator check {validity}, think-time wake-up lag p95 {lag_us or '–'}",
        bool(full and full <= n // spawn + 2 and rate and rate >= 0.95 * expected and validity == "ok"),
    )
    if locust_cpu_per_user:
        lg_cpu_per_user = run.cpu_s / n
        lo = min(locust_cpu_per_user)
        results.target(
            "8c. CPU per user below Locust's (same think time, one core each)",
            f"loadgate {fmt(lg_cpu_per_user * 1e3, 3)} ms per user over the run, Locust at best "
            f"{fmt(lo * 1e3, 3)} ms ({fmt(ratio(lo, lg_cpu_per_user), 0)}×); Locust kept 95% of its "
            f"schedule up to {best:,} users on its core" if best else "Locust kept 95% of its schedule at none of its sizes",
            lg_cpu_per_user < lo,
        )
    results.section(
        f"## 8. Many users: {n:,} closed-model users on one core\n\n"
        f"Closed model, think time uniform 5–9 s (mean 7 s), one GET per iteration; loadgate spawns "
        f"its users at {spawn:,}/s, Locust (`FastHttpUser`, `between(5, 9)`, one process) at up to "
        f"1,000/s. Each tool runs on one core beside nginx on the other. *steady/s* is what nginx "
        f"logged over the last {window} s; *÷ asked* divides it by users ÷ 7 s, what that many users "
        f"with that think time send. *users after* is when loadgate's schedule had every user "
        f"running; CPU is the generator's user + system time over its wall time; connections are "
        f"what nginx saw (loadgate's users share a pool of connections, as many as were busy at once; "
        f"Locust's `FastHttpUser` opened a new one for most requests after the think time).\n\n"
        + table(
            ["tool", "users", "spawn", "users after", "steady/s", "÷ asked", "CPU", "peak RSS MB",
             "KB/user", "connections", "generator check"],
            rows + locust_rows,
        )
    )


def stall_during(plan: Plan):
    def during(proc, nginx, launched):
        worker = nginx.worker_pid()
        time.sleep(max(0.0, launched + plan.stall_at_s - time.time()))
        os.kill(worker, signal.SIGSTOP)
        stopped = time.time()
        time.sleep(max(0.0, stopped + plan.stall_s - time.time()))
        os.kill(worker, signal.SIGCONT)
        resumed = time.time()
        return {"stopped": stopped, "resumed": resumed}

    return during


def true_latencies(first_ms: int, rate: int, seconds: int, stopped: float, resumed: float):
    """Every request scheduled during the stall waits until it ends; the others see ~0."""
    start = first_ms / 1000.0
    lat = []
    for i in range(rate * seconds):
        at = start + i / rate
        lat.append(resumed - at if stopped <= at < resumed else 0.0)
    lat.sort()
    p99 = lat[math.ceil(0.99 * len(lat)) - 1]
    return p99, lat[-1]


def reported_latencies(tool: str, run: Run, out: str) -> tuple:
    """p99 and max (seconds) as the tool reports them."""
    text = run.stdout
    try:
        if tool == "loadgate":
            lat = loadgate_results(out)["endpoints"][0]["summary"]["latency"]
            return lat["p99_us"] / 1e6, lat["max_us"] / 1e6
        if tool.startswith("oha"):
            return oha_latency(text)
        if tool == "h2load":
            m = re.search(r"time for request:\s+(\S+)\s+(\S+)", text)
            return None, duration_s(m.group(2)) if m else None
        if tool == "hey":
            p99 = re.search(r"99%+ in ([\d.]+) secs", text)
            slowest = re.search(r"Slowest:\s+([\d.]+) secs", text)
            return (float(p99.group(1)) if p99 else None, float(slowest.group(1)) if slowest else None)
    except (OSError, KeyError, TypeError, ValueError, AttributeError):
        pass
    return None, None


def oha_latency(text: str) -> tuple:
    def seconds(m):
        return float(m.group(1)) * (1e-3 if m.group(2) == "ms" else 1.0) if m else None

    p99 = re.search(r"99(?:\.00)?% in ([\d.]+) (secs|ms)", text)
    slowest = re.search(r"Slowest:\s+([\d.]+) (secs|ms)", text)
    return seconds(p99), seconds(slowest)


def duration_s(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)]


def scenario_stall(plan: Plan, results: Results) -> None:
    print("6. stall accuracy", flush=True)
    rate = 1000
    tools = ["loadgate"] + ([t for t in ("oha", "oha-corrected", "h2load", "hey") if peer_available(t.split("-")[0])] if plan.peers else [])
    rows = []
    for tool in tools:
        argv, env = rate_argv(tool, rate, plan.stall_run_s, "stall")
        results.command("6", argv, env)
        run = measure(f"stall-{tool}", tool, argv, plan.stall_run_s + 60, env=env, during=stall_during(plan))
        if not run.log.ms:
            rows.append([tool, "–", "–", "–", "–", "–", "–"])
            continue
        true_p99, true_max = true_latencies(
            run.log.ms[0], rate, plan.stall_run_s, run.extra["stopped"], run.extra["resumed"]
        )
        p99, mx = reported_latencies(tool, run, "stall.json")
        rows.append([
            f"**{tool}**" if tool == "loadgate" else tool,
            f"{run.requests:,}",
            fmt(true_p99 * 1000, 0), fmt(p99 * 1000 if p99 is not None else None, 1),
            fmt(true_max * 1000, 0), fmt(mx * 1000 if mx is not None else None, 1),
            fmt(err_pct(p99, true_p99), 1, "%") + " / " + fmt(err_pct(mx, true_max), 1, "%"),
        ])
        if tool == "loadgate":
            ok = (
                p99 is not None and mx is not None
                and abs(p99 - true_p99) <= 0.1 * true_p99 and abs(mx - true_max) <= 0.1 * true_max
            )
            results.target(
                "6. stall: reported p99 and max within 10% of the truth",
                f"p99 {fmt(p99 * 1000 if p99 else None, 0)} ms (true {fmt(true_p99 * 1000, 0)}), "
                f"max {fmt(mx * 1000 if mx else None, 0)} ms (true {fmt(true_max * 1000, 0)})",
                ok,
            )
    results.section(
        f"## 6. Accuracy under a {plan.stall_s:g} s server stall: 1,000/s for {plan.stall_run_s} s, "
        f"nginx's worker stopped (SIGSTOP) {plan.stall_at_s:g} s after the launch\n\n"
        "The truth follows from the schedule: every request meant to be sent during the stall "
        "waits until it ends (the first logged request marks the start of the schedule; the "
        "stop and continue times are the driver's). h2load reports no percentiles.\n\n"
        + table(["tool", "requests", "true p99 ms", "reported p99 ms", "true max ms",
                 "reported max ms", "error p99 / max"], rows)
    )


def err_pct(reported, truth):
    if reported is None or not truth:
        return None
    return (reported - truth) / truth * 100


def scenario_gate(plan: Plan, results: Results) -> None:
    print("7. gate verdict", flush=True)
    profile = write_profile("gate", duration=f"{plan.gate_s}s", rate=1000)
    baseline = WORK / "gate-baseline.json"
    baseline.unlink(missing_ok=True)
    common = ["--target", BASE, "--baseline", str(baseline), "--comment", "never"]
    record = [str(LOADGATE), "gate", str(profile), "--mode", "record", *common, "--results", str(WORK / "runs" / "gate-record.json")]
    results.command("7", record)
    measure("gate-record", "loadgate", record, plan.gate_s + 60)
    gate = [str(LOADGATE), "gate", str(profile), "--mode", "gate", *common, "--results", str(WORK / "runs" / "gate.json")]
    results.command("7", gate)

    lines: list[tuple[float, str]] = []

    def during(proc, nginx, launched):
        return {}

    # Stream stdout with a time per line: the verdict is the line that names it.
    nginx = Nginx("gate")
    nginx.start()
    proc = subprocess.Popen(
        ["taskset", "-c", GENERATOR_CPU, *gate], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.time(), line.rstrip("\n")))
    code = proc.wait()
    nginx.stop()
    log = read_log(nginx.log)
    verdict_at = next((t for t, line in lines if re.search(r"verdict", line, re.I)), None)
    end_of_load = log.ms[-1] / 1000 if log.ms else None
    delay = verdict_at - end_of_load if verdict_at and end_of_load else None
    verdict_line = next((line for t, line in lines if re.search(r"verdict", line, re.I)), "")
    results.section(
        f"## 7. Time to the gate verdict\n\n"
        f"`loadgate gate --mode gate` at 1,000/s for {plan.gate_s} s against a baseline recorded "
        "just before. From the last request nginx logged to the line with the verdict on "
        f"loadgate's standard output: **{fmt(delay, 2)} s** (exit code {code}).\n\n"
        f"```text\n{verdict_line.strip()}\n```\n"
    )
    results.target("7. gate verdict within 2 s of the end of the load", f"{fmt(delay, 2)} s", delay <= 2 if delay is not None else None)


# ---------------------------------------------------------------------------------------------
# Profiling


GROUPS = (
    ("HTTP/1 client: hyper, httparse, http", ("hyper-", "httparse", "/http-1.", "want-")),
    ("runtime: tokio, mio", ("tokio-", "mio-")),
    ("allocator: malloc, free", ("malloc",)),
    ("memory copies: memcpy, memset", ("memmove", "memcpy", "memset")),
    ("histograms: hdrhistogram", ("hdrhistogram",)),
    ("templates: minijinja", ("minijinja",)),
    ("JSON: serde_json", ("serde_json",)),
    ("loadgate's own code", ("/src/engine/", "/src/metrics/", "/src/profile/", "loadgate::")),
)


def group_of(symbol: str) -> str:
    for name, needles in GROUPS:
        if any(n in symbol for n in needles):
            return name
    return "other (std, bytes, clock, …)"


def profile_callgrind(plan: Plan, results: Results) -> None:
    """Instructions per request and where they go (repeatable on a busy machine)."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        return
    print("profile: callgrind and perf", flush=True)
    sections = []
    for label, profile in (
        ("closed loop, 50 users, simple GET", write_profile("closed", duration="3s", users=50)),
        ("closed loop, 50 users, realistic profile", write_profile("realistic", duration="3s", users=50)),
        ("300/s, simple GET", write_profile("rate", duration="5s", rate=300)),
    ):
        out = WORK / "runs" / f"callgrind-{re.sub(r'[^a-z0-9]+', '-', label)}.out"
        argv = [
            "valgrind", "--tool=callgrind", "--toggle-collect=*worker::run_thread*",
            f"--callgrind-out-file={out}", *loadgate_run(profile, "callgrind.json"),
        ]
        results.command("profile", argv)
        run = measure(f"callgrind-{len(sections)}", "loadgate", argv, 180)
        annotate = subprocess.run(
            # Without the annotated sources, whose lines look like the summary's.
            ["callgrind_annotate", "--inclusive=no", "--threshold=100", "--auto=no", str(out)],
            capture_output=True, text=True,
        ).stdout
        total = re.search(r"^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", annotate, re.M)
        total_ir = int(total.group(1).replace(",", "")) if total else 0
        n = max(run.requests, 1)
        groups: Counter = Counter()
        top = []
        for line in annotate.splitlines():
            m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)$", line)
            if not m or "PROGRAM TOTALS" in line:
                continue
            ir = int(m.group(1).replace(",", ""))
            groups[group_of(m.group(3))] += ir
            if len(top) < 12:
                top.append(f"{ir / n:>7,.0f}  {clean_symbol(m.group(3))}")
        rows = [[g, f"{ir / n:,.0f}", f"{ir / total_ir * 100:.0f}%"] for g, ir in groups.most_common()]
        sections.append(
            f"**{label}**: {run.requests:,} requests, **{total_ir / n:,.0f} instructions per "
            "request** in the engine thread.\n\n"
            + table(["where", "instructions/request", "share"], rows)
            + "\nTop functions (self instructions per request):\n\n```text\n" + "\n".join(top) + "\n```\n"
        )
    perf = profile_perf(results)
    results.section(
        "## Profile: where loadgate's work goes\n\n"
        "`valgrind --tool=callgrind --toggle-collect=*worker::run_thread*` counts the "
        "instructions of the engine thread (start-up and the results file left out), repeatably "
        "on a shared machine. It sees user space only: a system call counts as one instruction. "
        "Under callgrind the generator runs ~50× slower, so the open-model run is at 300/s.\n\n"
        + "\n".join(sections) + perf
    )


def profile_perf(results: Results) -> str:
    """Kernel and user time by symbol (perf's software clock; hardware counters are absent)."""
    if not shutil.which("perf"):
        return ""
    parts = []
    for rate in (1000, 10000):
        data = WORK / "runs" / f"perf-{rate}.data"
        argv = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "10000", "-o", str(data), "--",
                *rate_argv("loadgate", rate, 5, f"perf-{rate}")[0]]
        results.command("profile", argv)
        run = measure(f"perf-{rate}", "loadgate", argv, 120)
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--stdio", "--sort", "dso,sym", "--percent-limit", "1.5"],
            capture_output=True, text=True,
        ).stdout
        lines = [l.strip() for l in report.splitlines() if l.strip() and not l.startswith("#")]
        kernel = subprocess.run(
            ["perf", "report", "-i", str(data), "--stdio", "--sort", "dso"], capture_output=True, text=True
        ).stdout
        k = re.search(r"([\d.]+)%\s+\[kernel\.kallsyms\]", kernel)
        parts.append(
            f"**{rate:,}/s for 5 s under `perf record -e cpu-clock`** ({run.requests:,} requests, "
            f"{fmt(run.us_per_request, 1)} µs/request with perf attached, "
            f"{fmt(run.switches_per_request, 2)} sleeps/request): "
            f"{k.group(1) if k else '?'}% of the samples in the kernel. Symbols above 1.5%:\n\n"
            "```text\n" + "\n".join(lines[:16]) + "\n```\n"
        )
    return "\n" + "\n".join(parts)


def clean_symbol(text: str) -> str:
    # "file:function [object]" → "function (file)", shortened.
    text = re.sub(r"\s*\[[^\]]*\]$", "", text.strip())
    file, _, func = text.partition(":")
    if not func:
        return text[:140]
    func = re.sub(r"::h[0-9a-f]{16}$", "", func)
    base = file.rsplit("/", 1)[-1]
    return f"{func[:120]}  ({base})"


# ---------------------------------------------------------------------------------------------
# The report


def versions() -> list:
    def run(argv, pattern=None):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            text = (p.stdout + p.stderr).strip()
        except (OSError, subprocess.TimeoutExpired):
            return "not installed"
        if pattern:
            m = re.search(pattern, text)
            return m.group(0) if m else text.splitlines()[0] if text else "?"
        return text.splitlines()[0] if text else "?"

    def deb(package):
        return run(["dpkg-query", "-W", "-f=${Version}", package])

    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], capture_output=True, text=True).stdout.strip()
    return [
        ("loadgate", f"{run([str(LOADGATE), '--version'])} (commit {git}{', modified' if dirty else ''}; release build)"),
        ("wrk", f"{run(['wrk', '-v'], r'wrk [^ ]+')} (Debian {deb('wrk')})"),
        ("h2load", f"{run(['h2load', '--version'])} (Debian nghttp2-client {deb('nghttp2-client')})"),
        ("hey", f"Debian {deb('hey')}"),
        ("oha", run([str(OHA), "--version"])),
        ("Locust", run([str(LOCUST), "--version"])),
        ("nginx", f"{run(['nginx', '-v'])} (Debian {deb('nginx')})"),
        ("valgrind", run(["valgrind", "--version"])),
        ("rustc", run(["rustc", "--version"])),
    ]


def machine() -> list:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("memory", f"{int(mem) / 1024 / 1024:.0f} GiB"),
        ("kernel", platform.release()),
        ("OS", platform.freedesktop_os_release().get("PRETTY_NAME", "?") if hasattr(platform, "freedesktop_os_release") else "?"),
    ]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def write_report(plan: Plan, results: Results, started: float, load_before: str, out: Path, note: str | None) -> None:
    finished = time.time()
    when = datetime.datetime.fromtimestamp(started, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# loadgate benchmark results (issue 6)\n",
        f"Written by `bench/run.sh{' --smoke' if plan.name == 'smoke' else ''}"
        f"{' --long' if plan.long_memory_s else ''}` on {when} in "
        f"{(finished - started) / 60:.1f} minutes. Every number below comes from that run; "
        "nothing is edited by hand. The method and how to read it: `bench/README.md`.\n",
        "nginx (one worker) runs on core 0, the generator on core 1 (`taskset`). CPU per request "
        "is the generator process's user + system time (`/usr/bin/time -v`) divided by the "
        "requests nginx logged. Load average (1/5/15 min) before the run: "
        f"{load_before}; after: {loadavg()}.\n",
    ]
    if note:
        parts.append(f"> {note}\n")
    parts.append("## Targets\n\n" + table(["target", "measured", ""], [[n, m, s] for n, m, s in results.targets]))
    parts.append("## Machine\n\n" + table(["", ""], machine()))
    parts.extend(results.sections)
    parts.append("## Tool versions\n\n" + table(["tool", "version"], versions()))
    cmds = "\n".join(f"[{s}] {c}" for s, c in results.commands)
    parts.append(
        "## Commands\n\nEach prefixed, when measured, with `taskset -c 1 /usr/bin/time -v`; nginx "
        "runs as `taskset -c 0 nginx -c <bench/nginx.conf.in filled in>`. Profiles are "
        "`bench/profiles/*.yaml.in` with the duration, rate or users filled in.\n\n"
        f"```text\n{cmds}\n```\n"
    )
    parts.append(
        "## Analysis\n\nWhat was changed in the engine and what each step bought, where the time "
        "goes and what would close the targets missed: [`ANALYSIS.md`](ANALYSIS.md).\n"
    )
    out.write_text("\n".join(parts))
    print(f"wrote {out}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a short check of the harness")
    parser.add_argument("--long", action="store_true", help="add the 600 s memory run")
    parser.add_argument("--reps", type=int, help="repetitions (default 3, smoke 1)")
    parser.add_argument("--only", help="comma-separated scenarios: closed,rates,low,realistic,memory,stall,gate,users,profile")
    parser.add_argument("--out", type=Path, help="where to write the report")
    parser.add_argument("--note", help="a line for the report (e.g. that the machine was busy)")
    args = parser.parse_args()
    plan = dataclasses.replace(SMOKE if args.smoke else FULL)
    if args.reps:
        plan.reps = args.reps
    if args.long:
        plan.long_memory_s = plan.memory_s * 10
    out = args.out or (STATE / "RESULTS-smoke.md" if args.smoke else BENCH / "RESULTS.md")
    only = set(args.only.split(",")) if args.only else None
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    started = time.time()
    load_before = loadavg()
    results = Results()

    def want(name):
        return only is None or name in only

    closed_cpu = scenario_closed(plan, results) if want("closed") else {}
    if want("rates"):
        scenario_rates(plan, results)
    if want("low"):
        scenario_low_rate(plan, results)
    if want("realistic"):
        scenario_realistic(plan, results, closed_cpu)
    if want("memory"):
        scenario_memory(plan, results)
    if want("stall"):
        scenario_stall(plan, results)
    if want("gate"):
        scenario_gate(plan, results)
    if want("users"):
        scenario_users(plan, results)
    if plan.profile and want("profile"):
        profile_callgrind(plan, results)
    write_report(plan, results, started, load_before, out, args.note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
