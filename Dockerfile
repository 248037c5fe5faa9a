# Multi-stage build of a Switchboard node.
#   docker build -t switchboard .
# Build stage: the official Swift image plus the two C libraries the package links.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies first so they stay cached while sources change.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY lua ./lua
RUN swift build -c release --product switchboard --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/switchboard" /usr/local/bin/switchboard

# Run stage: slim Debian with the runtime libraries only.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis0.14 libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 switchboard \
    && mkdir -p /uploads && chown switchboard /uploads
# (/uploads: the uploads volume of docker-compose.yml starts with this owner.)
COPY --from=build /usr/local/bin/switchboard /usr/local/bin/switchboard
USER switchboard
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8080/ready || exit 1
ENTRYPOINT ["switchboard", "serve", "--host", "0.0.0.0", "--port", "8080"]
