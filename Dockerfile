# The loadgate image: what the GitHub Action runs (`runs.using: docker`), and `docker run` for
# local use. The release workflow builds and pushes it; action.yml references the tag.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock README.md ./
COPY src ./src
COPY examples ./examples
COPY baselines ./baselines
COPY bench ./bench
RUN cargo build --release --locked --bin loadgate \
 && cp target/release/loadgate /loadgate

FROM debian:bookworm-slim
# CA certificates for targets and GitHub's API behind corporate proxies; git for `mode: record`
# (commits and pushes the run) and for reading the base branch's baseline on pull requests.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /loadgate /usr/local/bin/loadgate
# No USER: GitHub runs container actions as root and mounts the workspace owned by it.
WORKDIR /github/workspace
ENTRYPOINT ["/usr/local/bin/loadgate"]
CMD ["--help"]
