# Lodestone: the two commands a newcomer needs are `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
DATA_DIR ?= data

# Debian 12 packages the build, the tests and the demo need.
DEB_PACKAGES := cmake g++ make pkg-config libgrpc++-dev protobuf-compiler-grpc protobuf-compiler \
  libprotobuf-dev librocksdb-dev prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev \
  grpc-proto libabsl-dev libssl-dev clang-format etcd-server etcd-client python3-grpcio \
  python3-protobuf curl prometheus unzip nodejs golang-etcd-server-dev libcpp-httplib-dev \
  nlohmann-json3-dev libvalijson-dev chromium npm
# The console's browser test: puppeteer-core and its dependencies, exactly as locked.
CONSOLE_TEST_DIR := tests/services/console/web

.PHONY: all deps build test run bench soak lint format clean fuzz

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	  if [ $$p = npm ] && command -v npm >/dev/null; then continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# npm ci only when node_modules is older than the lock (no install scripts: nothing downloads a browser).
	@cd $(CONSOLE_TEST_DIR) && if [ ! -f node_modules/.package-lock.json ] || \
	  [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  echo "npm ci in $(CONSOLE_TEST_DIR)"; npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error; \
	fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

run: build
	ops/run.sh $(BUILD_DIR) $(DATA_DIR)

bench: build
	ops/bench.sh $(BUILD_DIR)

soak: build
	ops/soak.sh $(BUILD_DIR)

# libFuzzer targets (tests/fuzz/README.md): clang + ASan/UBSan in $(FUZZ_BUILD_DIR), each target
# run for FUZZ_SECONDS; prints executions per target and whether it crashed.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= event ndjson proof replicated_batch profile epcis
fuzz: DEB_PACKAGES += clang libclang-rt-14-dev
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(JOBS) tests/fuzz/run_fuzz.sh $(FUZZ_BUILD_DIR) $(FUZZ_TARGETS)

lint:
	@files=$$(git ls-files '*.h' '*.cc'); \
	clang-format --dry-run --Werror $$files && echo "clang-format: clean"

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD_DIR)
