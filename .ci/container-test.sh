#!/usr/bin/env bash
# The action's container, built and run as GitHub's runner runs a docker action, with podman.
#
# The image is the real Dockerfile's final stage; its Rust build stage is stood in for by a
# stage that supplies the loadgate binary built on this machine (target/{release,debug}), so no
# second Rust build is needed. The base image is not pulled: it is built with debootstrap
# (minbase bookworm) from the Debian mirror apt is configured with, and imported under the name
# the Dockerfile's FROM uses. Then the container runs with the runner's mounts and environment
# (/github/workspace, /github/file_commands, INPUT_* names with their hyphens, an event payload)
# against the demo service on loopback, and the exit codes, outputs, job summary, files and their
# ownership are checked.
#
# Host settings podman needs here, all in private files under target/ci/container (nothing
# system-wide is changed): runc (crun refuses hybrid cgroups), default_ulimits (the sandbox
# refuses to raise limits), cgroupfs, a private storage root. Installs podman, runc and
# debootstrap with apt-get when missing. The debootstrap tarball is cached, so a re-run skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
ci="$repo/target/ci/container"
mkdir -p "$ci"
started=$SECONDS

fail() { echo "container test failed: $*" >&2; exit 1; }

# The tools: as root, or through sudo (GitHub's runner user).
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

# The binary under test: the newest of the release and debug builds, else a debug build.
target_dir="${CARGO_TARGET_DIR:-target}"
bin=""
for candidate in "$target_dir/release/loadgate" "$target_dir/debug/loadgate"; do
  if [ -x "$candidate" ] && { [ -z "$bin" ] || [ "$candidate" -nt "$bin" ]; }; then bin="$candidate"; fi
done
if [ -z "$bin" ]; then
  cargo build --locked --bin loadgate
  bin="$target_dir/debug/loadgate"
fi
echo "binary under test: $bin"

# Podman's private configuration.
conf="$ci/podman"
mkdir -p "$conf/storage" "$conf/run"
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
cat >"$conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$conf/storage"
runroot = "$conf/run"
EOF
export CONTAINERS_CONF="$conf/containers.conf" CONTAINERS_STORAGE_CONF="$conf/storage.conf"
podman() { $sudo env CONTAINERS_CONF="$CONTAINERS_CONF" CONTAINERS_STORAGE_CONF="$CONTAINERS_STORAGE_CONF" podman "$@"; }

# The base image, under the name the final stage's FROM uses.
base="$(awk 'toupper($1) == "FROM" { image = $2 } END { print image }' Dockerfile)"
[ -n "$base" ] || fail "no FROM in the Dockerfile"
case "$base" in
  debian:bookworm*) ;;
  *) fail "the final stage is FROM $base; this test builds only a Debian bookworm base (debootstrap)" ;;
esac
# The tarball's name says how it was made: a change to that recipe renames it, and a base image
# imported from another tarball is replaced.
tarball="$ci/bookworm-minbase-slim2.tar"
stamp="$conf/base-imported-from"
if podman image exists "$base" && [ "$(cat "$stamp" 2>/dev/null)" != "${tarball##*/}" ]; then
  podman rmi --force "$base" >/dev/null
fi
mirror=""
if ! podman image exists "$base" && [ ! -s "$tarball" ]; then
  # The Debian mirror apt already uses (deb822 sources, else sources.list); never hard-coded.
  mirror="$(awk 'tolower($1) == "uris:" { uri = $2 }
                 tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }' \
              /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  if [ -z "$mirror" ]; then
    mirror="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
                /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)"
  fi
  if [ -z "$mirror" ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    # Not a Debian host (GitHub's Ubuntu runner), but Docker can pull the real base image.
    echo "no Debian source in apt: the base image comes from Docker"
    docker pull --quiet "$base" >/dev/null
    docker save "$base" -o "$ci/base.tar"
    podman load --quiet -i "$ci/base.tar" >/dev/null
    rm -f "$ci/base.tar"
    echo "${tarball##*/}" >"$stamp"
  fi
fi
if ! podman image exists "$base"; then
  if [ ! -s "$tarball" ]; then
    [ -n "$mirror" ] || fail "apt has no Debian bookworm source to build the base image from (debootstrap), and no Docker to pull it"
    echo "building the base image with debootstrap (minbase bookworm, apt's mirror)"
    rootfs="$ci/rootfs"
    $sudo rm -rf "$rootfs"
    $sudo debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$ci/debootstrap.log" 2>&1 \
      || { tail -n 20 "$ci/debootstrap.log"; fail "debootstrap failed (log: $ci/debootstrap.log)"; }
    # Made like Debian's slim images: no package caches, documentation, manuals or locales, now
    # or after a later `apt-get install` (so the Dockerfile's layer weighs what it will there).
    $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
      "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
      "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true'
    printf '%s\n' "DPkg::Post-Invoke { \"$clean\"; };" "APT::Update::Post-Invoke { \"$clean\"; };" \
      'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' 'Acquire::Languages "none";' \
      | $sudo tee "$rootfs/etc/apt/apt.conf.d/docker-clean" >/dev/null
    printf 'path-exclude /usr/share/%s/*\n' doc man info locale groff lintian \
      | $sudo tee "$rootfs/etc/dpkg/dpkg.cfg.d/docker" >/dev/null
    $sudo tar -C "$rootfs" -cf "$tarball.tmp" .
    $sudo rm -rf "$rootfs"
    $sudo mv "$tarball.tmp" "$tarball"
  fi
  podman import --quiet "$tarball" "$base" >/dev/null
  echo "${tarball##*/}" >"$stamp"
fi

# The image: a stand-in build stage with the host's binary, then the Dockerfile's final stage
# verbatim.
context="$ci/context"
rm -rf "$context"
mkdir -p "$context"
cp "$bin" "$context/loadgate"
command -v strip >/dev/null && strip "$context/loadgate"
final_from="$(grep -n -i '^FROM ' Dockerfile | tail -n 1 | cut -d: -f1)"
{
  echo "FROM $base AS build"
  echo "COPY loadgate /out/loadgate"
  echo
  tail -n "+$final_from" Dockerfile
} >"$context/Containerfile"
image=localhost/loadgate:container-test
# The final stage installs its packages from the base image's apt source (debootstrap's mirror),
# hence the host network; podman keeps the layer, so a re-run does not install them again.
podman build --quiet --pull=never --network host -f "$context/Containerfile" -t "$image" "$context" >/dev/null \
  || fail "podman build of the Dockerfile's final stage failed"
echo "image built: $(podman image inspect --format '{{.Size}}' "$image") bytes"

# The target: the demo service on loopback, stopped on exit.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" demo --serve --port "$port" --latency 5ms >"$ci/demo.log" 2>&1 &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q listening "$ci/demo.log" && break
  sleep 0.1
done
grep -q listening "$ci/demo.log" || fail "the demo service did not start: $(cat "$ci/demo.log")"

# A workspace owned by a non-root user, as the runner's checkout is.
owner=1001
work="$ci/run"
$sudo rm -rf "$work"
mkdir -p "$work/workspace" "$work/file_commands" "$work/workflow" "$work/home"
cat >"$work/workspace/perf.yaml" <<'EOF'
version: 1
name: container-ci
wait_for: { path: /health, timeout: 3s }
load:
  model: open
  warmup: 1s
  stages:
    - { duration: 1s, ramp_to: 40/s }
    - { duration: 3s, rate: 40/s }
  max_in_flight: 50
requests:
  - name: get customer
    get: "/customerdata/{{ random_int(1, 4500) }}"
    check: { status: 200 }
thresholds:
  all: { p99: 1ms }   # never met: the verdict is a regression, deterministically
EOF
cp tests/fixtures/github/events/pull_request.opened.json "$work/workflow/event.json"
$sudo chown -R "$owner:$owner" "$work/workspace"

# One step of a job: runs the image as the runner does (`docker run` with its mounts and
# environment); the rest of the arguments are INPUT_* settings. Sets `status`, and `outputs`
# and `summary` to the files the step wrote.
step_no=0
step() {
  step_no=$((step_no + 1))
  outputs="$work/file_commands/set_output_$step_no"
  summary="$work/file_commands/step_summary_$step_no"
  : >"$outputs"
  : >"$summary"
  local env=()
  for input in "$@"; do env+=(-e "$input"); done
  set +e
  podman run --rm --network host --workdir /github/workspace \
    -v "$work/workspace:/github/workspace" -v "$work/file_commands:/github/file_commands" \
    -v "$work/workflow:/github/workflow" -v "$work/home:/github/home" \
    -e HOME=/github/home -e CI=true -e GITHUB_ACTIONS=true \
    -e GITHUB_WORKSPACE=/github/workspace -e GITHUB_EVENT_PATH=/github/workflow/event.json \
    -e GITHUB_EVENT_NAME=pull_request -e GITHUB_REPOSITORY=octo-org/octo-repo \
    -e GITHUB_SHA=0123456789abcdef0123456789abcdef01234567 -e GITHUB_RUN_ID=1 -e GITHUB_RUN_ATTEMPT=1 \
    -e GITHUB_SERVER_URL=http://127.0.0.1:9 -e GITHUB_API_URL=http://127.0.0.1:9 \
    -e "GITHUB_OUTPUT=/github/file_commands/set_output_$step_no" \
    -e "GITHUB_STEP_SUMMARY=/github/file_commands/step_summary_$step_no" \
    -e RUNNER_OS=Linux -e RUNNER_ARCH=X64 -e INPUT_GITHUB-TOKEN=unused -e INPUT_COMMENT=never \
    "${env[@]}" "$image" gate >"$work/step_$step_no.log" 2>&1
  status=$?
  set -e
}
output() { sed -n "s/^$1=//p" "$outputs"; }
expect() { # expect WHAT ACTUAL WANTED
  [ "$2" = "$3" ] || { cat "$work/step_$step_no.log" >&2; fail "step $step_no: $1 is '$2', expected '$3'"; }
}
expect_file() { # expect_file OUTPUT: the output names a workspace-relative file that exists
  local path
  path="$(output "$1")"
  case "$path" in
    "" | /*) fail "step $step_no: output $1 is '$path', expected a path relative to the workspace" ;;
  esac
  [ -s "$work/workspace/$path" ] || fail "step $step_no: output $1 names '$path', which is not in the workspace"
}
expect_summary() { # expect_summary TEXT
  grep -qF -- "$1" "$summary" || { cat "$summary" >&2; fail "step $step_no: the job summary lacks '$1'"; }
}

# 1. A gate run that breaches its threshold: exit code 1, outputs and reports in the workspace.
step INPUT_PROFILE=perf.yaml "INPUT_TARGET=http://127.0.0.1:$port" INPUT_MODE=gate INPUT_FAIL-ON=regression
expect "exit code" "$status" 1
expect verdict "$(output verdict)" regression
expect exit-code "$(output exit-code)" 1
expect results "$(output results)" loadgate-results/results.json
for name in results report-html junit comparison; do expect_file "$name"; done
[ "$(output requests)" -gt 0 ] || fail "step 1: output requests is '$(output requests)'"
grep -q '^report<<' "$outputs" || fail "step 1: no report output"
if grep -q /github/workspace "$outputs" "$summary"; then fail "step 1: a container path in the outputs or summary"; fi
expect_summary "loadgate · container-ci: Regression"
expect_summary "threshold all p99"
grep -q '^::error title=loadgate%3A threshold all p99 breached::' "$work/step_1.log" \
  || fail "step 1: no error annotation for the breached threshold"

# 2. `mode: report` on the saved results with `fail-on: never` (an input name with a hyphen):
#    the same verdict, exit code 0.
step INPUT_PROFILE=perf.yaml INPUT_MODE=report INPUT_RESULTS=loadgate-results/results.json INPUT_FAIL-ON=never
expect "exit code" "$status" 0
expect verdict "$(output verdict)" regression
expect exit-code "$(output exit-code)" 1

# 3. A target that never becomes ready: verdict `error`, exit code 3, the cause in the summary.
step INPUT_PROFILE=perf.yaml INPUT_TARGET=http://127.0.0.1:9 INPUT_MODE=gate
expect "exit code" "$status" 3
expect verdict "$(output verdict)" error
expect_summary "no verdict, the step failed"
expect_summary "Connection refused"
expect_summary "action input \`target\`"

# Everything loadgate created in the workspace belongs to the workspace's owner.
wrong="$(find "$work/workspace" \( ! -uid "$owner" -o ! -gid "$owner" \) -printf '%u:%g %p\n')"
[ -z "$wrong" ] || fail "files not owned by the workspace owner ($owner):"$'\n'"$wrong"
[ -d "$work/workspace/loadgate-results" ] || fail "no loadgate-results in the workspace"

echo "container test passed in $((SECONDS - started))s: 3 steps, outputs, summary and ownership as on the runner"
