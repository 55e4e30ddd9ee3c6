# Top-level Makefile: a thin wrapper over CMake. Every target installs what
# it needs first (scripts/setup.sh is idempotent).
#
#   make demo     build and run the demo on the project's sample images
#   make test     build (with MPI scale-out, -DLMMIQA_MPI=ON) and run the
#                 whole test suite (ctest), the mpirun tests included
#   make asan     the same suite under AddressSanitizer + UBSan, built
#                 without MPI (LeakSanitizer would report Open MPI's own
#                 allocations), so the MPI tests skip there
#   make bench    build and run the benchmarks against their peers
#   make fuzz     build the libFuzzer targets (clang) and run each from its
#                 seeds (FUZZ_SECONDS each, default 60)
#   make fuzz-build   only build them (CI: compile check, clang installed by
#                 scripts/setup.sh --fuzz)
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all setup build test asan demo bench fuzz fuzz-build clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLMMIQA_WERROR=ON -DLMMIQA_MPI=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@scripts/setup.sh --test
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: setup
	@scripts/setup.sh --test
	@cmake -S . -B $(ASAN_BUILD) -DLMMIQA_SANITIZE=ON -DLMMIQA_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DLMMIQA_WERROR=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && LMMIQA_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

bench:
	@scripts/setup.sh --bench
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLMMIQA_WERROR=ON -DLMMIQA_MPI=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@scripts/bench.sh $(BUILD)

fuzz-build:
	@scripts/setup.sh --fuzz
	@CC=clang cmake -S . -B build-fuzz -DLMMIQA_FUZZ=ON -DLMMIQA_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DLMMIQA_WERROR=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers

fuzz: fuzz-build
	@scripts/fuzz.sh build-fuzz

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
