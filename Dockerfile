# One image for every Erizo role (see docker/entrypoint.sh for the flags it accepts).
#
#   docker build -t erizo .
#   docker run --rm -p 3000:3000 -p 8080:8080 erizo                       # erizo all (embedded)
#   docker run --rm -e RABBITMQ_URL=… -e MONGO_URL=… erizo --nuve          # one role of a cluster
#
# Stage 1 builds `erizo` and `erizo-worker` in release mode with the Swift runtime linked in;
# stage 2 is a slim Debian with only the shared libraries they load, running as a non-root user.

ARG SWIFT_VERSION=6.3
ARG DEBIAN_RELEASE=bookworm

FROM swift:${SWIFT_VERSION}-${DEBIAN_RELEASE} AS build
# hadolint ignore=DL3008 # the Debian release is pinned by the tag; its security updates are wanted
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    pkg-config libssl-dev libsrtp2-dev librabbitmq-dev libmongoc-dev libsqlite3-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest names every target, tests and tools included, so all of them are in the context.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Tools ./Tools
RUN swift build -c release --static-swift-stdlib --product erizo \
  && swift build -c release --static-swift-stdlib --product erizo-worker \
  && mkdir -p /out \
  && cp "$(swift build -c release --show-bin-path)/erizo" "$(swift build -c release --show-bin-path)/erizo-worker" /out/

FROM debian:${DEBIAN_RELEASE}-slim
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="erizo" \
  org.opencontainers.image.description="Licode-style WebRTC conferencing backend with SFU media workers" \
  org.opencontainers.image.revision="${COMMIT}"
# hadolint ignore=DL3008 # the Debian release is pinned by the tag; its security updates are wanted
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    ca-certificates libssl3 libsrtp2-1 librabbitmq4 libmongoc-1.0-0 libbson-1.0-0 libsqlite3-0 \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --uid 10001 --home-dir /var/lib/erizo --create-home --shell /usr/sbin/nologin erizo
COPY --from=build /out/erizo /out/erizo-worker /usr/local/bin/
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
RUN printf 'commit=%s\n' "${COMMIT}" > /etc/erizo-release
USER 10001:10001
WORKDIR /var/lib/erizo
# `erizo all` keeps Nuve's SQLite file and the generated superservice here.
ENV ERIZO_NUVE_DATA_DIRECTORY=/var/lib/erizo/data
VOLUME ["/var/lib/erizo/data"]
# Nuve, controller (Socket.IO, WHIP/WHEP), agent status, ROV; media in single-port mode (one UDP+TCP
# port per worker from 40000) — range mode needs RTCMINPORT–RTCMAXPORT published instead.
EXPOSE 3000/tcp 8080/tcp 3004/tcp 3005/tcp 40000-40015/udp 40000-40015/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
