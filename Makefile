# hls-ladder: `make run` serves on a fresh Debian machine; `make test` runs every check CI runs.
# Both use the PostgreSQL that answers at the database URL, or start a private one for their
# time (scripts/with_postgres.sh).
CARGO ?= cargo
# sqlx's query macros check against the committed .sqlx/ data, so builds need no database.
export SQLX_OFFLINE = true
INPUT ?= fixtures/h264_aac.mp4
OUT ?= out
# `make run` settings; override any of them, e.g. `make run DATABASE_URL=postgres://...`.
LISTEN ?= 127.0.0.1:8080
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/hls_ladder
S3_ENDPOINT ?= http://127.0.0.1:4566
S3_BUCKET ?= videos
# Where the service's tests create their databases (one per test).
TEST_DATABASE_BASE_URL ?= postgres://postgres@127.0.0.1:5432
export TEST_DATABASE_BASE_URL

.PHONY: deps test-deps web build test fmt-check lint modules library docs web-test localstack unit-and-integration doc-test bench run convert docker-test clean

deps: web
	./scripts/install-deps.sh

# What only the tests need besides: Chromium for the web page's browser test.
test-deps: deps
	./scripts/install-deps.sh --test

# The page's npm packages (hls.js, served by the service; playwright-core, for its browser
# test), exactly as locked, from the npm registry. Runs again when the lock file changes.
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || ./scripts/install-deps.sh
	npm ci --prefix web --no-audit --no-fund

build: deps
	$(CARGO) build --release --locked --bin hls-ladder

fmt-check:
	$(CARGO) fmt --all -- --check

lint: deps
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The modules' import graph, per package, by file and by folder: no circle
# (scripts/module_graph.py names every one it finds).
modules:
	python3 scripts/test_module_graph.py
	python3 scripts/module_graph.py

# What the docs take from the program: `serve --help` into docs/configuration.md (a test in
# `make test` fails when they differ).
docs:
	$(CARGO) build --locked --bin hls-ladder
	python3 scripts/generate_docs.py

# The engine alone, as integrators build it: no service crate in its tree, clippy and rustdoc
# clean, and a lean `cargo package -p hls-ladder`.
library: deps
	CARGO='$(CARGO)' ./scripts/check_library.sh

# The page's JavaScript units (the event-stream parser), with Node's own test runner.
web-test: web
	node --test web/test/

# The service's tests need S3: LocalStack on 127.0.0.1:4566 (installed into .localstack/ once).
localstack:
	./scripts/localstack.sh start

unit-and-integration: test-deps localstack
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		./scripts/with_postgres.sh $(TEST_DATABASE_BASE_URL) $(CARGO) nextest run --workspace --locked --no-fail-fast; \
	else \
		./scripts/with_postgres.sh $(TEST_DATABASE_BASE_URL) $(CARGO) test --workspace --locked --lib --bins --tests; \
	fi

doc-test: deps
	$(CARGO) test --workspace --locked --doc

test: deps fmt-check lint modules library web-test unit-and-integration doc-test

# Installs what is missing, starts LocalStack (and PostgreSQL when none answers at
# DATABASE_URL), and serves (the database and bucket are created at start if missing).
# Ctrl-C stops it gracefully, and a private PostgreSQL with it.
run: build localstack
	DATABASE_URL='$(DATABASE_URL)' S3_ENDPOINT='$(S3_ENDPOINT)' S3_BUCKET='$(S3_BUCKET)' \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
	./scripts/with_postgres.sh '$(DATABASE_URL)' ./target/release/hls-ladder serve --listen $(LISTEN)

# Converts INPUT (default: a fixture) into OUT/ without the service.
convert: build
	./target/release/hls-ladder convert $(INPUT) $(OUT)

# Compares against the ffmpeg CLI; writes bench/results.json and prints a table for BENCHMARKS.md.
bench: build
	python3 bench/compare_with_ffmpeg.py
	python3 bench/option_cost.py --option stills
	python3 bench/option_cost.py --option mp4-download --runs 3

# The image and docker-compose.yml built and run as a user would, both ways (one process;
# an API and three workers), checked end to end, then torn down. Not part of `make test`
# (15 to 29 minutes from nothing here, 3 with the dependencies cached); see README, Docker.
docker-test: deps
	python3 scripts/docker_test.py

clean:
	$(CARGO) clean
