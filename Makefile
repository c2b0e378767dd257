# hls-transcoder: `make test` runs every check CI runs; `make run` converts a sample video.
CARGO ?= cargo
# sqlx's query macros check against the committed .sqlx/ data, so builds need no database.
export SQLX_OFFLINE = true
INPUT ?= fixtures/h264_aac.mp4
OUT ?= out

.PHONY: deps build test fmt-check lint localstack unit-and-integration doc-test bench run clean

deps:
	./scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

fmt-check:
	$(CARGO) fmt --all -- --check

lint: deps
	$(CARGO) clippy --all-targets --locked -- -D warnings

# The service's tests need S3: LocalStack on 127.0.0.1:4566 (installed into .localstack/ once).
localstack:
	./scripts/localstack.sh start

unit-and-integration: deps localstack
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --locked --no-fail-fast; \
	else \
		$(CARGO) test --locked --lib --bins --tests; \
	fi

doc-test: deps
	$(CARGO) test --locked --doc

test: deps fmt-check lint unit-and-integration doc-test

# Converts INPUT (default: a fixture) into OUT/ and prints where the master playlist is.
run: build
	./target/release/hls-transcoder convert $(INPUT) $(OUT)

# Compares against the ffmpeg CLI; writes bench/results.json and prints a table for BENCHMARKS.md.
bench: build
	python3 bench/compare_with_ffmpeg.py

clean:
	$(CARGO) clean
