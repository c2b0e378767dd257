# hls-ladder: multi-stage build on Debian 12 (FFmpeg 5.1 from Debian), runs as non-root.
#   docker build -t hls-ladder .
#   docker compose up        # with PostgreSQL and LocalStack, see docker-compose.yml

# The page's player, hls.js, exactly as locked (no CDN at run time).
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libswscale-dev libswresample-dev \
      pkg-config libclang-dev clang \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY .sqlx .sqlx
COPY README.md README.md
COPY web/index.html web/style.css web/*.js web/
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked --bin hls-ladder

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libavcodec59 libavformat59 libavutil57 libavfilter8 libswscale6 libswresample4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/hls-ladder --create-home hls
COPY --from=build /src/target/release/hls-ladder /usr/local/bin/hls-ladder
COPY --from=web /web/node_modules/hls.js/dist/hls.min.js /usr/share/hls-ladder/node_modules/hls.js/dist/hls.min.js
USER hls
ENV TEMP_DIR=/var/lib/hls-ladder/tmp LISTEN=0.0.0.0:8080 WEB_VENDOR_DIR=/usr/share/hls-ladder/node_modules
EXPOSE 8080
ENTRYPOINT ["hls-ladder"]
CMD ["serve"]
