#!/usr/bin/env bash
# loadgate side by side with wrk, h2load, hey, oha and Locust (issue 6).
#
#   bench/run.sh            full benchmark (~15 min), writes bench/RESULTS.md
#   bench/run.sh --smoke    ~10 s of load: loadgate and wrk once each, writes target/bench/RESULTS-smoke.md
#   bench/run.sh --long     also the 600 s memory run (+10 min)
#
# Installs what it needs (as root): wrk, h2load, hey, nginx and GNU time from Debian's packages,
# oha with `cargo install` into target/bench/tools, Locust into a venv in target/bench/venv.
# Only loopback traffic; every load is bounded in time. Needs 2 cores: nginx on 0, the
# generator on 1. Other options are passed to bench/bench.py (--reps N, --only LIST, --note TEXT).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
state=$root/target/bench
mkdir -p "$state"

smoke=false
for arg in "$@"; do
  [[ $arg == --smoke ]] && smoke=true
done

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
command -v hey >/dev/null || need_apt+=(hey)
command -v nginx >/dev/null || need_apt+=(nginx)
[[ -x /usr/bin/time ]] || need_apt+=(time)
command -v valgrind >/dev/null || need_apt+=(valgrind)
if ((${#need_apt[@]})); then
  echo "installing from Debian: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The Debian package may start nginx on port 80; the benchmark runs its own instances.
if pgrep -x nginx >/dev/null && [[ -e /run/nginx.pid ]]; then
  nginx -s quit 2>/dev/null || true
fi

if ! $smoke; then
  if [[ ! -x $state/tools/bin/oha ]]; then
    echo "installing oha (cargo install --locked, a few minutes)"
    cargo install oha --locked --root "$state/tools" >"$state/oha-install.log" 2>&1
  fi
  if [[ ! -x $state/venv/bin/locust ]]; then
    echo "installing Locust into a venv"
    python3 -m venv "$state/venv"
    "$state/venv/bin/pip" install -q locust >"$state/locust-install.log" 2>&1
  fi
fi

echo "building loadgate (release)"
cargo build --release --quiet --bin loadgate

# 10,000 connections need file descriptors on both sides.
ulimit -n "$(ulimit -Hn)"

exec python3 bench/bench.py "$@"
