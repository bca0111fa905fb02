# keysweep in a container: `docker run --rm -v "$PWD:/src" keysweep scan .`
# Multi-stage: the toolchain stays in the builder; the final image holds the
# stripped binary, git (for `staged` and `sweep` clones) and CA certificates.

FROM rust:1.89-bookworm AS build
WORKDIR /build
# OpenSSL is built into the binary (vendored-openssl): the final image needs
# no libssl, and the binary runs on any glibc system.
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY rules rules
COPY benches benches
RUN cargo build --release --locked --features vendored-openssl \
    && install -m 0755 target/release/keysweep /usr/local/bin/keysweep

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    # Mounted repositories belong to the host's user, not this one: git and
    # libgit2 would refuse them as "dubious ownership".
    && git config --system safe.directory '*' \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin keysweep \
    && mkdir -p /src && chown 10001:10001 /src
COPY --from=build /usr/local/bin/keysweep /usr/local/bin/keysweep
USER 10001:10001
WORKDIR /src
ENTRYPOINT ["keysweep"]
CMD ["scan", "."]
