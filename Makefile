# ainrec — the two commands of the README are `make demo` and `make test`.
# Both install what is missing on a fresh Debian machine and skip what is present.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

WASM_BINDGEN_VERSION := 0.2.130
WASM_TARGET := wasm32-unknown-unknown
PORT ?= 8080
CARGO ?= cargo
# Honour a shared CARGO_TARGET_DIR (CI caches, a second checkout) for the paths we read.
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
export PATH := $(HOME)/.cargo/bin:$(PATH)
export CHROMEDRIVER ?= /usr/bin/chromedriver
# Chromium as root needs --no-sandbox; the wasm test runner reads webdriver.json.
export WASM_BINDGEN_TEST_TIMEOUT ?= 300

.PHONY: help data demo test check native-testing setup setup-rust setup-chromium setup-e2e wasm wasm-dev native \
        fmt-check clippy test-native test-wasm test-e2e clean \
        demo-catalog page-assets setup-ffmpeg

help:
	@echo "make data   fill ./data with the data sets (hetrec, CC audio, librosa clips) for eval/train"
	@echo "make demo   build the page (wasm, release) and serve it on http://127.0.0.1:$(PORT)/"
	@echo "make test   fmt check, clippy, native tests, wasm tests in Chromium, end-to-end tests"
	@echo "make check  fmt check, clippy, native tests (offline, for the inner loop)"

# ---------------------------------------------------------------- installs
setup: setup-rust setup-chromium setup-ffmpeg setup-e2e

setup-rust:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' \
	  || { echo "==> rustup target add $(WASM_TARGET)"; rustup target add $(WASM_TARGET); }
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@if [ "$$(wasm-bindgen --version 2>/dev/null | awk '{print $$2}')" != "$(WASM_BINDGEN_VERSION)" ]; then \
	  echo "==> cargo install wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi

setup-chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "==> apt-get install chromium chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; fi

# The e2e tests transcode the demo excerpts into MP3/FLAC/AAC/Vorbis/WAV at test time.
setup-ffmpeg:
	@if ! command -v ffmpeg >/dev/null; then \
	  echo "==> apt-get install ffmpeg"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg >/dev/null; fi

setup-e2e:
	@if [ ! -d tests/e2e/node_modules/playwright-core ]; then \
	  echo "==> npm ci (tests/e2e)"; (cd tests/e2e && npm ci --no-audit --no-fund); fi

# ---------------------------------------------------------------- data
# `make data`: fills ./data (git-ignored) with the data sets the commands read — from a sibling
# ../shared/data when there is one, the librosa clips from tests/fixtures, and with
# DOWNLOAD=1 the rest from its sources; otherwise it lists what is missing, where to get it and
# its licence (docs/DATA.md). The commands also take --data DIR or AINREC_DATA.
.PHONY: data
data:
	python3 scripts/data.py $(if $(DOWNLOAD),--download)

# ---------------------------------------------------------------- builds
native:
	$(CARGO) build --release --bin ainrec

# The page's module: wasm-bindgen --target web into www/pkg (git-ignored).
wasm: setup-rust
	$(CARGO) build --release --lib --target $(WASM_TARGET) --no-default-features --features tags
	wasm-bindgen --target web --no-typescript --out-dir www/pkg \
	  $(TARGET_DIR)/$(WASM_TARGET)/release/ainrec.wasm
	@# A doc comment can end wasm-bindgen's JSDoc early and break the module: check it parses.
	cp www/pkg/ainrec.js www/pkg/.check.mjs && node --check www/pkg/.check.mjs; rm -f www/pkg/.check.mjs

# The bundled CC demo catalog (committed in models/demo: Opus excerpts, credits, descriptors).
# Rebuild it after an extractor change; needs ffmpeg (libopus) and data/audio (`make data`).
DEMO_DATA ?= $(or $(AINREC_DATA),data)/audio
demo-catalog: native
	python3 scripts/demo_catalog.py --ainrec $(TARGET_DIR)/release/ainrec --data $(DEMO_DATA) --out models/demo

# The shipped models — hetrec (models/hetrec.safetensors, ~10 min on 2 cores) and the browser
# model (models/browser.safetensors, ~20 s once `ainrec audio-proxy` has cached the
# excerpt descriptors, ~5 min more without) — and their card, with
# metrics copied from docs/results.json (run `ainrec eval` first for current numbers).
.PHONY: models
models: native
	$(TARGET_DIR)/release/ainrec train --model ainrnn --out models/hetrec.safetensors
	$(TARGET_DIR)/release/ainrec train-browser --out models/browser.safetensors
	$(TARGET_DIR)/release/ainrec model-card --model models/hetrec.safetensors \
	  --results docs/results.json --browser models/browser.safetensors --out models/MODEL_CARD.md

# The page serves only www/: copy the demo catalog and the browser model there (www/demo and
# www/model are git-ignored).
page-assets:
	@rm -rf www/demo && mkdir -p www/demo && cp models/demo/catalog.json models/demo/*.opus www/demo/
	@rm -rf www/model && mkdir -p www/model && cp models/browser.safetensors models/musicnn_msd.safetensors models/musicnn_msd.LICENSE www/model/

# ---------------------------------------------------------------- the two commands
demo: setup-rust wasm native page-assets
	@echo "==> open http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(TARGET_DIR)/release/ainrec serve www --port $(PORT)

test: setup fmt-check clippy test-native test-wasm test-e2e
	@echo "==> all tests passed"

# The inner loop, offline: no installs, no browser.
check: fmt-check clippy test-native
	@echo "==> fmt, clippy and native tests passed"

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --lib --target $(WASM_TARGET) --no-default-features --features tags -- -D warnings

# Tests build with the `testing` profile (release without LTO, see Cargo.toml); the e2e tests
# drive the page with the binary that build made.
TEST_BIN := $(TARGET_DIR)/testing/ainrec
test-native:
	@echo "==> native tests"
	$(CARGO) test --profile testing

# The binary `cargo test` builds for the integration tests (target/testing/ainrec): a no-op
# after test-native. `cargo build --bin` would build it again, since the test build unifies
# dependency features with the dev-dependencies (measured: 2 min 49 s in a cold run).
native-testing:
	$(CARGO) test --profile testing --no-run

test-wasm: setup-rust setup-chromium
	@echo "==> wasm tests in headless Chromium"
	@# Release, with the page's features: the dependencies and the library are the ones `make wasm`
	@# builds, compiled once for both.
	$(CARGO) test --release --target $(WASM_TARGET) --no-default-features --features tags

test-e2e: setup-e2e setup-chromium setup-ffmpeg wasm native-testing page-assets
	@echo "==> end-to-end tests (Playwright + Chromium)"
	cd tests/e2e && AINREC_BIN=$(TEST_BIN) node --test --test-concurrency=1 *.test.mjs

clean:
	$(CARGO) clean
	rm -rf www/pkg tests/e2e/node_modules

# ---------------------------------------------------------------- benchmarks (not part of `make test`)
# `make bench-model`: the browser model in headless Chromium (fine-tuning a 500-play history,
# ranking 10,000 candidates, against audio-kNN in plain JS in the same run) -> target/bench/model.json
.PHONY: bench-model
bench-model: setup-rust setup-chromium setup-e2e wasm native
	AINREC_BIN=$(TARGET_DIR)/release/ainrec node bench/model/run.mjs --out $(TARGET_DIR)/bench/model.json

# `make bench`: criterion (native), the Python peers (librosa, kymatio), the browser page
# (ours in wasm, essentia.js, meyda in Chromium) and the 2-hour memory probes, in one
# invocation; then bench/report.py writes docs/BENCHMARKS.md from their JSON results.
BENCH_OUT := $(TARGET_DIR)/bench
BENCH_PY := bench/.venv/bin/python
BENCH_LONG_S ?= 7200
BENCH_CLIP_LONG := tests/fixtures/clips/fishin.ogg
# Each step is echoed into commands.txt (the report lists them) and /proc/loadavg is kept.
bench_run = echo '$(2)' >> $(BENCH_OUT)/commands.txt; cat /proc/loadavg > $(BENCH_OUT)/load_$(1).txt; $(2)

.PHONY: bench
bench: setup-rust setup-chromium wasm native
	@rm -rf $(BENCH_OUT) $(TARGET_DIR)/criterion/features && mkdir -p $(BENCH_OUT)
	@[ -x $(BENCH_PY) ] || { echo "==> python3 -m venv bench/.venv"; python3 -m venv bench/.venv \
	  && $(BENCH_PY) -m pip install -q -r bench/requirements.txt; }
	@[ -d bench/web/node_modules/essentia.js ] || { echo "==> npm ci (bench/web)"; \
	  (cd bench/web && npm ci --no-audit --no-fund); }
	@echo "==> criterion (native, 30 s clip)"
	@$(call bench_run,1_criterion,AINREC_BENCH_OUT=$(BENCH_OUT) $(CARGO) bench --bench features)
	@echo "==> Python peers (librosa, kymatio)"
	@$(call bench_run,2_python,$(BENCH_PY) bench/peers.py $(BENCH_OUT)/clip30.f32 $(BENCH_OUT)/peers.json)
	@echo "==> Chromium page (ours in wasm, essentia.js, meyda; wasm memory, $(BENCH_LONG_S) s)"
	@$(call bench_run,3_browser,AINREC_BIN=$(TARGET_DIR)/release/ainrec AINREC_BENCH_OUT=$(BENCH_OUT) node bench/web/run.mjs --long-seconds $(BENCH_LONG_S) --out $(BENCH_OUT)/web.json)
	@echo "==> native peak memory ($(BENCH_LONG_S) s signal, in process)"
	@$(call bench_run,4_memory,AINREC_BENCH_OUT=$(BENCH_OUT) AINREC_BENCH_LONG_S=$(BENCH_LONG_S) $(CARGO) bench --bench memory)
	@echo "==> native peak memory (CLI on a $(BENCH_LONG_S) s WAV)"
	@$(call bench_run,5_cli,ffmpeg -v error -y -stream_loop -1 -i $(BENCH_CLIP_LONG) -t $(BENCH_LONG_S) -ac 1 -ar 22050 -c:a pcm_s16le $(BENCH_OUT)/long.wav)
	@$(call bench_run,5_cli,/usr/bin/time -f "%M %e" -o $(BENCH_OUT)/cli_memory.txt $(TARGET_DIR)/release/ainrec features --span whole -o $(BENCH_OUT)/cli_long.json $(BENCH_OUT)/long.wav)
	@rm -f $(BENCH_OUT)/long.wav
	@cat /proc/loadavg > $(BENCH_OUT)/load_6_end.txt
	$(BENCH_PY) bench/report.py --dir $(BENCH_OUT) --target-dir $(TARGET_DIR) --out docs/BENCHMARKS.md

# ---------------------------------------------------------------- fuzzing (not part of `make test`)
# `make fuzz`: each cargo-fuzz target (fuzz/fuzz_targets, checks in fuzz/checks.rs) runs
# FUZZ_SECONDS in one process, seeded from fuzz/seeds/<target> (corpus growth in
# fuzz/corpus/<target>, crashes in fuzz/artifacts/<target>; both git-ignored). A crash
# reproducer belongs in tests/fixtures/fuzz-regressions/<target>/, which tests/robust/fuzz_replay.rs
# replays in `make test`. Results: fuzz/RESULTS.md.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= decode model_file history analyzer_options browser_model http_head
# Inputs larger than this are not generated (the seeds fit).
FUZZ_MAX_LEN_decode := 20000
FUZZ_MAX_LEN_model_file := 100000
FUZZ_MAX_LEN_history := 4096
FUZZ_MAX_LEN_analyzer_options := 512
# Past the head bounds (8 KiB request line, 16 KiB fields), so the fuzzer reaches them.
FUZZ_MAX_LEN_http_head := 65536
# The shipped browser model (1.76 MB) is copied into its corpus: too large to commit twice.
FUZZ_MAX_LEN_browser_model := 1800000

.PHONY: fuzz setup-fuzz
setup-fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz

fuzz: setup-fuzz
	@mkdir -p fuzz/corpus/browser_model && { [ -f fuzz/corpus/browser_model/shipped.safetensors ] || cp models/browser.safetensors fuzz/corpus/browser_model/shipped.safetensors; }
	@$(foreach t,$(FUZZ_TARGETS),mkdir -p fuzz/corpus/$(t) \
	  && echo "==> cargo +nightly fuzz run $(t) ($(FUZZ_SECONDS) s)" \
	  && (cd fuzz && cargo +nightly fuzz run $(t) corpus/$(t) seeds/$(t) -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN_$(t)) -timeout=60 \
	    -rss_limit_mb=4096 -print_final_stats=1) && ) true
