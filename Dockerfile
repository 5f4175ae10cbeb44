# The loadgate image: what the GitHub Action runs (`runs.using: docker`), and `docker run` for
# local use. The release workflow builds it for linux/amd64 and linux/arm64 (each on its own
# architecture's runner), pushes it to GitHub's container registry and pins action.yml to its
# digest.
#
# The binary is glibc-linked (not static): it runs on Debian's bookworm-slim, whose glibc is the
# one it was built against. It is stripped (no symbols, no debug info).

# The build stage runs on the builder's own platform and cross-compiles when the target
# platform differs (`docker buildx build --platform linux/arm64` on an amd64 machine then
# emulates only the final stage's package installation, not the Rust build).
FROM --platform=$BUILDPLATFORM rust:1.95-slim-bookworm AS build
ARG TARGETARCH
ARG BUILDARCH
WORKDIR /src
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN case "$TARGETARCH" in \
      amd64) gnu=x86_64-linux-gnu; rust=x86_64-unknown-linux-gnu ;; \
      arm64) gnu=aarch64-linux-gnu; rust=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported target architecture: $TARGETARCH (amd64, arm64)"; exit 1 ;; \
    esac \
 && packages=(ca-certificates) \
 && if [ "$TARGETARCH" != "$BUILDARCH" ]; then packages+=("gcc-$gnu" "libc6-dev-$TARGETARCH-cross"); fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends "${packages[@]}" \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add "$rust" \
 && echo "$rust $gnu" >/build-target
COPY Cargo.toml Cargo.lock README.md ./
COPY src ./src
COPY examples ./examples
COPY baselines ./baselines
COPY bench ./bench
# The target's gcc links and compiles the C parts (ring). Stripped, without debug info, for the
# image only: the repository's release profile keeps line tables for local profiling.
RUN read -r rust gnu </build-target \
 && triple="${rust//-/_}" \
 && export "CC_$triple=$gnu-gcc" "CARGO_TARGET_${triple^^}_LINKER=$gnu-gcc" \
 && CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo build --release --locked --bin loadgate --target "$rust" \
 && mkdir -p /out \
 && cp "target/$rust/release/loadgate" /out/loadgate

FROM debian:bookworm-slim
# CA certificates for the GitHub API client (the PR comment) and git's pushes, which read the
# system store (the load and readiness requests carry their own roots, so a target needs none);
# git for `mode: record` (commits and pushes the run) and for reading the base branch's baseline
# on pull requests.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/loadgate /usr/local/bin/loadgate
# No USER: GitHub runs container actions as root; files loadgate creates in the workspace get
# the owner of the workspace folder.
WORKDIR /github/workspace
ENTRYPOINT ["/usr/local/bin/loadgate"]
CMD ["--help"]
