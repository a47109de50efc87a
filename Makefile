# zmesh top-level Makefile: thin wrapper over CMake + Ninja.
#   make        build build/zmesh
#   make test   install missing packages, build, run the test suite
#   make demo   install missing packages, build, run a zmesh network on loopback (SOCKS5 :9050)
#   make bench  build and run the benchmarks
#   make fuzz   build the libFuzzer targets (clang) and run each briefly
#   make asan   ASan+UBSan build of the tests, and run them
#   make test-tor  only the private Tor network test (an exit's onion proxy, about a minute)
#   make format / format-check
#   make container-lint   check the compose files and the Helm chart (part of make test)
#   make container-image  build the zmesh container image with podman
#   make container-test   build it and fetch a file through a network of containers (slow)

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_TSAN ?= build-tsan
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 30
CMAKE_FLAGS ?=

.PHONY: all deps build test test-tor demo bench fuzz asan tsan format format-check install clean \
        container-lint container-image container-test

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	@command -v cmake >/dev/null && command -v ninja >/dev/null || ./scripts/install-deps.sh
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	./scripts/container-lint.py $(BUILD)/zmesh

# A private Tor network (TestingTorNetwork, authorities' keys from tor-gencert) with an
# onion service, reached through zmesh (docs/exits.md). Not part of `make test`: it
# bootstrapped in 25-60 s in three runs here, but once not within 420 s in a CI run.
test-tor: deps
	$(MAKE) build
	bash tests/app/tor_network_test.sh $(BUILD)/zmesh

demo: deps
	$(MAKE) build
	./$(BUILD)/zmesh testnet --relays 5 --exits 2 --socks 127.0.0.1:9050 --http 127.0.0.1:8118 --demo-http 127.0.0.1:8000

bench: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DZMESH_BENCH=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	./$(BUILD)/bench/zmesh_bench
	./bench/link_loopback.sh $(BUILD)/zmesh
	./bench/testnet_loopback.sh $(BUILD)/zmesh
	./bench/daemons_loopback.sh $(BUILD)/zmesh
	./bench/many_streams.sh $(BUILD)/zmesh
	./bench/recovery_loopback.sh $(BUILD)/zmesh
	./$(BUILD)/bench/zmesh_fec_loss

asan: deps
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DZMESH_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS) --timeout 900

# ThreadSanitizer on what runs on several threads: the testnet's threads and the relays'
# handshake workers. (Not the daemon scripts: gRPC and abseil, not built with TSan, make
# reports of their own.)
tsan: deps
	cmake -S . -B $(BUILD_TSAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZMESH_WERROR=OFF \
	  -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_C_FLAGS=-fsanitize=thread \
	  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread $(CMAKE_FLAGS)
	cmake --build $(BUILD_TSAN) -j $(JOBS) --target zmesh_tests
	TSAN_OPTIONS=halt_on_error=1 $(BUILD_TSAN)/tests/zmesh_tests \
	  --gtest_filter='Node.testnet_spreads*:Node.open_stream*:HandshakeWorkers.*'

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZMESH_FUZZ=ON -DZMESH_WERROR=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz_link_packet fuzz_noise_message fuzz_tcp_frame fuzz_circuit_messages fuzz_descriptor fuzz_fec_symbol fuzz_webrtc_signal fuzz_sphinx_packet fuzz_upstream_answer fuzz_proxy_request
	./scripts/run-fuzz.sh $(BUILD_FUZZ)/fuzz $(FUZZ_SECONDS)

# Containers (docs/containers.md). The lint needs no container and takes a second; the
# image build and the network test take minutes (the first image build compiles zmesh).
# (Without $(BUILD)/zmesh the checks that ask the binary are left out.)
container-lint:
	./scripts/container-lint.py $(BUILD)/zmesh

container-image:
	./scripts/install-deps.sh --containers
	./scripts/container-image.sh

container-test:
	./scripts/install-deps.sh --containers
	./scripts/container-test.sh

format:
	./scripts/format.sh fix

format-check:
	./scripts/format.sh check

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
