# Drives CMake. The two commands a user needs: `make demo` and `make test`.
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)

.PHONY: all deps build demo test test-build check-gcc bench format clean

all: build

deps:
	@./deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZF_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/bin/zflow demo

# The test build: clang with ASan + UBSan and libFuzzer targets, warnings as errors.
test-build: deps
	@CC=clang cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DZF_SANITIZE=ON -DZF_FUZZ=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)

test: test-build build
	@cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@cmake -S . -B $(BUILD) -DZF_TESTS=OFF >/dev/null
	@./bench/run.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	@rm -rf $(BUILD) $(TEST_BUILD)
