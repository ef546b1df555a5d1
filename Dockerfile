# syntax=docker/dockerfile:1
#
# The punctual image: one `punctual` binary that is the worker (`CMD ["worker"]`), the sandbox
# payment provider, the notification sink and the seeder. Used by docker-compose.yml.
#
#   docker build -t punctual .
#
# No protoc is needed (temporalio-common's `vendored-protox` compiles the protos in Rust), and no
# system SQLite (sqlx's sqlite feature bundles libsqlite3; the C compiler it needs is part of the
# rust image).

ARG RUST_VERSION=1
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# Cargo's registry, git checkouts and target dir are cache mounts: rebuilds after a source change
# recompile only what changed. The cache is not in the image, so the binary is copied out of it.
# The image gets fat LTO and one codegen unit: measured on BenchWorkflow (BENCHMARKS.md), 16 % less
# worker CPU and 18 % less memory, for a build 5x longer than `make run`'s, which keeps the default.
ENV CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p punctual-worker --bin punctual \
 && install -D -m 0755 target/release/punctual /out/punctual

FROM debian:bookworm-slim AS runtime
# ca-certificates: the Temporal client trusts the system roots (rustls-native-certs) when
# TEMPORAL_TLS / TEMPORAL_API_KEY point it at Temporal Cloud or another TLS endpoint.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged uid/gid, so volume permissions and Kubernetes `runAsUser` can name it.
RUN groupadd --system --gid 10001 punctual \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin punctual \
 && mkdir -p /app/.data \
 && chown -R 10001:10001 /app
# Writable working directory: the default PUNCTUAL_DATABASE_URL is sqlite://.data/ledger.db
# (one container on its own). docker-compose.yml uses PostgreSQL instead.
WORKDIR /app
COPY --from=build /out/punctual /usr/local/bin/punctual
USER 10001:10001
# The sandboxes' ports when started with `--listen 0.0.0.0:8081` / `0.0.0.0:8082` (documentation
# only: nothing is published by EXPOSE).
EXPOSE 8081 8082
# SIGTERM starts the worker's graceful shutdown (PUNCTUAL_SHUTDOWN_GRACE, default 30s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/punctual"]
CMD ["worker"]
