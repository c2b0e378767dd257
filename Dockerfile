# hls-ladder: the service in a small image. `make docker-test` builds it, runs it with
# docker-compose.yml and checks it; the README's Docker section says what each layer holds.
#
# Base images are pinned by digest. Where no registry answers, `make docker-test` builds local
# stand-ins and passes their tags instead (--build-arg RUST_IMAGE=rust:1-bookworm ...). The
# image itself is FROM scratch: no base image reaches it.
ARG NODE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
ARG RUST_IMAGE=rust:1.95-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1

# The page's player (hls.js) and resumable uploader (tus-js-client), exactly as locked (no CDN
# at run time).
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Our own libav: Debian's FFmpeg 5.1 source with only the components of
# docker/libav-components (the demuxers the service allows, the decoders they carry, x264,
# AAC and JPEG encoders, MPEG-TS and MP4 muxers). Debian's build links every codec library
# Debian has (460 MB installed); this one links x264, dav1d, zlib and bzip2.
FROM ${RUST_IMAGE} AS libav
RUN printf 'deb-src http://deb.debian.org/debian %s main\n' bookworm bookworm-updates \
      > /etc/apt/sources.list.d/deb-src.list \
 && printf 'deb-src http://deb.debian.org/debian-security bookworm-security main\n' \
      >> /etc/apt/sources.list.d/deb-src.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      dpkg-dev xz-utils make nasm pkg-config binutils ca-certificates \
      libx264-dev libdav1d-dev zlib1g-dev libbz2-dev clang libclang-dev
COPY docker/libav-components docker/build-libav.sh /tmp/
RUN /tmp/build-libav.sh /tmp/libav-components

FROM libav AS build
WORKDIR /src
ENV SQLX_OFFLINE=true
# The dependencies first, in a layer of their own: a change to our code rebuilds only it.
# The workspace's two manifests, with empty stand-ins for both packages' sources.
COPY Cargo.toml Cargo.lock ./
COPY crates/hls-ladder/Cargo.toml crates/hls-ladder/
RUN mkdir -p src crates/hls-ladder/src && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs crates/hls-ladder/src/lib.rs \
 && cargo build --release --locked --bin hls-ladder \
 && rm -rf src crates/hls-ladder/src
COPY crates/hls-ladder/src crates/hls-ladder/src
COPY src src
COPY migrations migrations
COPY .sqlx .sqlx
COPY README.md README.md
COPY web/index.html web/style.css web/*.js web/
# `touch`: the stub above is newer than the sources' own times. The debug info goes to
# hls-ladder.debug (the `debug-symbols` target), linked from the stripped binary by name.
RUN touch src/lib.rs src/main.rs crates/hls-ladder/src/lib.rs \
 && cargo build --release --locked --bin hls-ladder \
 && mkdir /out \
 && objcopy --only-keep-debug target/release/hls-ladder /out/hls-ladder.debug \
 && objcopy --strip-all --add-gnu-debuglink=/out/hls-ladder.debug \
      target/release/hls-ladder /out/hls-ladder

# The binary's libraries (its ldd closure), certificates, user and folders.
FROM build AS rootfs
COPY docker/runtime-root.sh /tmp/
RUN /tmp/runtime-root.sh /out/hls-ladder

# `docker build --target debug-symbols`: the debug info of this build's binary, from the same
# cached layers (`make docker-test` copies it to target/docker/; gdb and addr2line find it
# beside the binary through its debuglink).
FROM scratch AS debug-symbols
COPY --from=build /out/hls-ladder.debug /

FROM scratch
COPY --from=rootfs /rootfs/system/ /
COPY --from=rootfs /rootfs/libav/ /
COPY --from=web /web/node_modules/hls.js/dist/hls.min.js /usr/share/hls-ladder/node_modules/hls.js/dist/hls.min.js
COPY --from=web /web/node_modules/tus-js-client/dist/tus.min.js /usr/share/hls-ladder/node_modules/tus-js-client/dist/tus.min.js
COPY --from=build /out/hls-ladder /usr/local/bin/hls-ladder
# Fails the build if the loader cannot find a library.
RUN ["/usr/local/bin/hls-ladder", "--version"]
USER 10001:10001
ENV PATH=/usr/local/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    TEMP_DIR=/var/lib/hls-ladder/tmp \
    LISTEN=0.0.0.0:8080 \
    WEB_VENDOR_DIR=/usr/share/hls-ladder/node_modules
EXPOSE 8080
# Answers for every role (a worker serves /healthz too).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["hls-ladder", "healthcheck"]
ENTRYPOINT ["hls-ladder"]
CMD ["serve"]
