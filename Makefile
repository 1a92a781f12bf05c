# Drives CMake. The two commands a user needs: `make demo` and `make test`.
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= $(shell nproc)
# The builds CMake runs need not announce every folder they enter.
MAKEFLAGS  += --no-print-directory

.PHONY: all deps build web demo test test-build check-gcc bench format clean

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

test: test-build build
	@cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@cmake -S . -B $(BUILD) -DZF_TESTS=OFF >/dev/null
	@./bench/run.sh $(BUILD)

format:
	@clang-format -i $$(find libs services tools tests bench examples -name "*.[ch]" -not -path "*/node_modules/*")

clean:
	@rm -rf $(BUILD) $(TEST_BUILD)
