#!/usr/bin/env bash
# Renders the HTML report of a real demo run and opens it in headless Chromium: the DOM must
# hold the verdict, the tables and the charts, and the screenshot must not be blank. Writes
# report.html, report.png and dom.html to the directory given (default target/ci).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/ci}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if ! command -v chromium >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null
fi

bin=target/debug/loadgate
[ -x "$bin" ] || cargo build --locked --bin loadgate
# Two short demo runs: the first becomes the baseline of the second, so the report compares.
for run in 1 2; do
  "$bin" demo --duration 5s --out "$out/run-$run.json" >/dev/null 2>&1 || true
  [ -s "$out/run-$run.json" ] || { echo "the demo wrote no results"; exit 1; }
done
rm -f "$out/baseline.json"
"$bin" baseline update "$out/run-1.json" --baseline "$out/baseline.json" --profile examples/demo.yaml
"$bin" report "$out/run-2.json" --profile examples/demo.yaml --baseline "$out/baseline.json" \
  --format html --out "$out/report.html"

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$out/chromium-profile")
timeout 120 "${chrome[@]}" --dump-dom "file://$out/report.html" >"$out/dom.html" 2>/dev/null
timeout 120 "${chrome[@]}" --window-size=1200,2000 --screenshot="$out/report.png" \
  "file://$out/report.html" >/dev/null 2>&1

fail() { echo "HTML report check failed: $*"; exit 1; }
grep -q 'id="verdict"' "$out/dom.html" || fail "no verdict in the rendered DOM"
grep -q 'id="endpoints"' "$out/dom.html" || fail "no endpoint table"
charts=$(grep -o '<svg' "$out/dom.html" | wc -l)
[ "$charts" -ge 7 ] || fail "expected 7 charts (rate + 2 per endpoint), found $charts"
size=$(stat -c %s "$out/report.png")
[ "$size" -gt 30000 ] || fail "the screenshot is suspiciously small ($size bytes)"
echo "HTML report rendered: $charts charts, screenshot $out/report.png ($size bytes)"
