# zmesh container image: a build stage that compiles the daemon, a runtime stage with
# only the binary and the Debian runtime libraries, run as an unprivileged user with the
# keys and state on a volume (/var/lib/zmesh) so the root file system may be read-only.
# docs/containers.md describes how to build and run it; `make container-image` builds it
# with podman from a Debian base made by mmdebstrap (scripts/container-base.sh), since no
# image registry is needed that way:
#
#   scripts/container-base.sh                 # zmesh-base:bookworm from the Debian mirror
#   podman build --format docker -t zmesh:latest .   # (OCI format drops HEALTHCHECK)
#
# BASE may name any Debian 12 (bookworm) image, for example docker.io/library/debian:bookworm.
ARG BASE=localhost/zmesh-base:bookworm

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
# The source sits under /work and the compiler cache is keyed on paths relative to it
# (CCACHE_BASEDIR), so a cache directory mounted at /ccache at build time
# (`podman build -v /path/to/ccache:/ccache`, as `make container-image` does with
# CCACHE_DIR) is shared with checkouts built under /work on the host. Without the
# mount the cache is simply empty.
ENV CCACHE_DIR=/ccache CCACHE_BASEDIR=/work CCACHE_NOHASHDIR=1 CCACHE_UMASK=000
WORKDIR /work/src
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
# Only what the build reads, so that changing docs or contrib/ does not rebuild.
COPY CMakeLists.txt ./
COPY include include
COPY proto proto
COPY src src
COPY tests tests
COPY examples examples
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
    && nice cmake --build build --target zmesh \
    && strip -o /zmesh build/zmesh

FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
# The shared libraries build/zmesh links (its other dependencies come with these).
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
         libabsl20220623 libfmt9 libgrpc++1.51 libgrpc29 libisal2 libnice10 libopendht2 \
         libprotobuf32 libseccomp2 libsodium23 libspdlog1.10 libssl3 libtomlplusplus3 \
         libusrsctp2 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/zmesh \
         --no-create-home --shell /usr/sbin/nologin zmesh \
    && install -d -m 0700 -o zmesh -g zmesh /var/lib/zmesh \
    && install -d -m 0755 -o zmesh -g zmesh /var/lib/zmesh-pub
COPY --from=build /zmesh /usr/local/bin/zmesh
COPY contrib/container/zmesh.toml /etc/zmesh/zmesh.toml
COPY contrib/container/zmesh-entrypoint.sh /usr/local/bin/zmesh-entrypoint
RUN zmesh config validate /etc/zmesh/zmesh.toml
# The daemon's state: identity and onion keys (0600), peer store, control socket.
# /var/lib/zmesh-pub: where a bootstrap node may publish its public key for the others
# (ZMESH_PUBLISH_KEY, contrib/compose/); a volume shared with them when used.
VOLUME /var/lib/zmesh
USER 10001:10001
WORKDIR /var/lib/zmesh
# 7000/udp links, 8080 the bootstrap role's directory, 9050 SOCKS5, 9090 metrics.
EXPOSE 7000/udp 8080/tcp 9050/tcp 9090/tcp
# `zmesh status` asks the daemon over its control socket and exits 1 when it does not answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["zmesh", "status", "--control", "/var/lib/zmesh/control.sock"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/zmesh-entrypoint"]
CMD ["zmesh", "node", "--config", "/etc/zmesh/zmesh.toml"]
