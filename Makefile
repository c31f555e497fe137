# Thin wrapper around CMake. The two quick-start commands:
#   make run    build and start wadispatchd with the mock provider on :3001
#   make test   build and run the whole test suite (what CI runs)
BUILD ?= build
JOBS  ?= $(shell nproc)
PORT  ?= 3001
DEV_API_KEY ?= dev-api-key-12345

.PHONY: all deps test-deps build run test test-fast test-asan test-tsan format-check format clean

all: build

deps:
	@sh packaging/install-deps.sh

test-deps:
	@sh packaging/install-deps.sh --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWA_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	API_KEY="$${API_KEY:-$(DEV_API_KEY)}" PORT=$(PORT) WHATSAPP_PROVIDER="$${WHATSAPP_PROVIDER:-mock}" \
	PROVIDER_DIR="$${PROVIDER_DIR:-$(CURDIR)/$(BUILD)/providers}" \
	STORE_PATH="$${STORE_PATH:-./wadispatch.db}" \
	CONSOLE_DIR="$${CONSOLE_DIR:-$(CURDIR)/core/console}" \
	exec $(BUILD)/core/wadispatchd

# Everything CI checks: formatting, warnings-as-errors build + suite, the
# suite again under ASan+UBSan, the concurrent parts under TSan, and each
# fuzz target for a bounded time.
test: test-deps format-check test-fast test-asan test-tsan fuzz

test-fast: test-deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWA_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: test-deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DWA_WERROR=ON \
	      -DWA_SANITIZE=address,undefined >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE nosan

test-tsan: test-deps
	cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=Debug -DWA_WERROR=ON \
	      -DWA_SANITIZE=thread >/dev/null
	cmake --build $(BUILD)-tsan -j $(JOBS)
	cd $(BUILD)-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) -L concurrent

# C sources must match .clang-format (the frozen v1.0 header is left as is).
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' | grep -v '^tests/abi/provider_v1_0.h$$')
format-check: test-deps
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: all C sources match .clang-format"


format:
	clang-format -i $(FORMAT_FILES)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan

# Debian packages (wadispatch, wadispatch-dev, -dbgsym) into build-deb/,
# checked with lintian --pedantic.
.PHONY: deb
deb:
	@sh packaging/install-deps.sh --deb
	sh packaging/build-deb.sh --out build-deb --lintian

# libFuzzer targets (clang, ASan+UBSan), each run for FUZZ_TIME seconds
# (default 20); fails on any crash. Seeds: tests/fuzz/corpus/.
.PHONY: fuzz
fuzz: test-deps
	FUZZ_BUILD="$(CURDIR)/$(BUILD)-fuzz" sh tests/fuzz/run.sh
