# Drives CMake. The two commands a user needs: `make demo` and `make test`.
BUILD      ?= build
TEST_BUILD ?= build-test
GCC_BUILD  ?= build-gcc
JOBS       ?= $(shell nproc)
# The builds CMake runs need not announce every folder they enter.
MAKEFLAGS  += --no-print-directory

.PHONY: all deps build web demo test test-build test-build-gcc bench format clean

all: build

deps:
	@./deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZF_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The dashboard: node packages installed and bundled into web/dist, served by the gateway.
web:
	@./deploy/install-deps.sh web
	@./web/build.sh

demo: build web
	@$(BUILD)/bin/zflow demo

# The test build: clang with ASan + UBSan and libFuzzer targets, warnings as errors.
test-build: deps
	@./deploy/install-deps.sh browser
	@./web/build.sh
	@CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DZF_SANITIZE=ON -DZF_FUZZ=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

# The default build a user gets: GCC, Release, tests on, warnings as errors.
test-build-gcc: deps
	@CC=gcc cmake -S . -B $(GCC_BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(GCC_BUILD) -j $(JOBS)

# The whole suite on the sanitizer build but the long fault suite (`ctest -L fault`,
# docs/FAULTS.md); the unit tests and the fuzz corpora
# (replayed) on the GCC build, whose optimiser sees code the other does not.
test: test-build test-build-gcc build
	@cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS) -LE fault
	@cd $(GCC_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'

bench: build
	@cmake -S . -B $(BUILD) -DZF_TESTS=OFF >/dev/null
	@./bench/run.sh $(BUILD)

format:
	@clang-format -i $$(find libs services tools tests bench examples -name "*.[ch]" -not -path "*/node_modules/*")

clean:
	@rm -rf $(BUILD) $(TEST_BUILD) $(GCC_BUILD)
