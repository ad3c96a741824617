# route-registry: one entry point for building, testing and running everything.
#   make demo     build everything and run the C, Go and Python examples end to end
#   make test     every test: Rust, C (ASan+UBSan, valgrind), Go (-race), etcd mirror, Python
#   make demo-cluster  an embedded etcd, a publisher and two proxy replicas on loopback
#   make header   regenerate include/route_registry.h from src/ffi
#   make lib-asan the library built with AddressSanitizer (target/asan; the Python lifecycle fuzzer)
#   make bench    criterion benchmarks (figures go to BENCHMARKS.md)
#   make fuzz     each cargo-fuzz target for FUZZ_SECS (default 60) seconds
#   make soak     10 million operations through the core, the Go and the Python binding
#   make install PREFIX=/usr/local

PREFIX ?= /usr/local
CARGO ?= cargo
PYTHON ?= python3
export CARGO_TERM_COLOR ?= never

ABI := $(shell sed -n 's/^pub const RR_ABI_VERSION: u32 = \([0-9]*\);/\1/p' src/ffi/mod.rs)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
RELEASE := target/release

.PHONY: all lib lib-asan header deps lint fuzz soak test test-rust test-abi test-c test-go test-etcd test-python demo demo-cluster bench install clean

all: lib

lib:
	@test -n "$(ABI)" || { echo "Makefile: RR_ABI_VERSION not found in src/ffi/mod.rs" >&2; exit 1; }
	$(CARGO) build --release --lib
	@# The soname is libroute_registry.so.$(ABI): make programs linked in the build tree find it.
	ln -sf libroute_registry.so $(RELEASE)/libroute_registry.so.$(ABI)

# AddressSanitizer needs -Zsanitizer: RUSTC_BOOTSTRAP lets the stable toolchain accept it.
HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
ASAN_LIB := target/asan/$(HOST)/release/libroute_registry.so

lib-asan:
	RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address -Cunsafe-allow-abi-mismatch=sanitizer" \
		$(CARGO) build --release --lib --target $(HOST) --target-dir target/asan

header:
	RR_BLESS_HEADER=1 $(CARGO) build --release --lib

deps:
	./scripts/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --all-targets --features fault-injection -- -D warnings
	$(CARGO) clippy --all-targets --features linearizability-bug -- -D warnings

test: deps lint test-rust test-abi test-c test-go test-etcd test-python
	@echo "make test: all suites passed"

test-rust:
	$(CARGO) test --release
	$(CARGO) test --release --features fault-injection --test fault_injection
	@# The checker must catch a deliberately broken pool (a check-then-act race in add).
	$(CARGO) test --release --features linearizability-bug --test linearizability broken_pool_is_caught

test-abi: lib
	./scripts/check-abi.sh

test-c: lib
	$(MAKE) -C tests/c test

test-go: lib
	$(MAKE) -C bindings/go test

# The etcd module (its own go.mod) against a real etcd started in-process on loopback, and the
# examples built on it.
ETCD_EXAMPLES := examples/go/publish examples/go/etcdserver examples/go/democluster
test-etcd: lib
	@out="$$(gofmt -l bindings/go/etcd $(ETCD_EXAMPLES))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd bindings/go/etcd && go vet ./... && go test -race -count=1 -timeout 3m ./...
	for d in $(ETCD_EXAMPLES); do (cd $$d && go vet ./... && go test -count=1 ./...) || exit 1; done

test-python: lib lib-asan
	$(MAKE) -C bindings/python test ASAN_LIB=$(abspath $(ASAN_LIB))

demo: deps lib
	$(MAKE) -C examples/c run
	$(MAKE) -C examples/go/proxy run
	$(MAKE) -C examples/python run

demo-cluster: lib
	cd examples/go/democluster && go run .

fuzz:
	./scripts/fuzz.sh

soak: lib
	RR_SOAK_OPS=10000000 $(CARGO) test --release --test soak -- --nocapture
	$(MAKE) -C bindings/go soak
	$(MAKE) lib-asan
	$(MAKE) -C bindings/python soak ASAN_LIB=$(abspath $(ASAN_LIB))

bench:
	$(CARGO) bench --bench registry
	$(CARGO) bench --bench abi_overhead
	$(CARGO) bench --bench scaling
	$(MAKE) -C bindings/go bench
	$(MAKE) -C bindings/python bench

install: lib
	@test -n "$(ABI)" || { echo "Makefile: RR_ABI_VERSION not found" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(RELEASE)/libroute_registry.so $(DESTDIR)$(PREFIX)/lib/libroute_registry.so.$(ABI)
	ln -sf libroute_registry.so.$(ABI) $(DESTDIR)$(PREFIX)/lib/libroute_registry.so
	install -m 0644 $(RELEASE)/libroute_registry.a $(DESTDIR)$(PREFIX)/lib/libroute_registry.a
	install -m 0644 include/route_registry.h $(DESTDIR)$(PREFIX)/include/route_registry.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' route_registry.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/route_registry.pc

clean:
	$(CARGO) clean
	-$(MAKE) -C tests/c clean
