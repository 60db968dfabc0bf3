# syntax=docker/dockerfile:1.7
# One image for every clearline service: `clearline serve <service>` picks which one runs
# (k8s/base/services/*.yaml). Built in three stages so that a change to clearline's own code
# rebuilds only clearline, not its ~400 dependencies:
#   planner  – cargo-chef reduces the workspace to a recipe of its dependencies;
#   builder  – builds the dependencies from the recipe (a cached layer while Cargo.lock
#              is unchanged), then the release binary;
#   runtime  – the binary alone on distroless (glibc, CA certificates, no shell), as a
#              non-root user.
# The toolchain CI builds and tests with.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml or Cargo.lock change.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo chef cook --release --locked --recipe-path recipe.json -p clearline
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo build --release --locked -p clearline \
    && install -D target/release/clearline /out/clearline

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /out/clearline /usr/local/bin/clearline
# The same uid/gid the manifests run as (runAsUser 10001): files stay readable either way.
USER 10001:10001
# Default ports: portal 8080, intake 8081, approval 8082, fulfilment 8083, backlog 8084.
EXPOSE 8080 8081 8082 8083 8084
# SIGTERM is what Kubernetes sends; the services drain on it (shared/platform/src/shutdown.rs).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/clearline"]
CMD ["--help"]
