# route-registry: one entry point for building, testing and running everything.
#   make demo     build everything and run the C, Go and Python examples end to end
#   make test     every test: Rust, C (ASan+UBSan, valgrind), Go (-race), etcd mirror, Python
#                 (pytest), packaging (test-install, test-go-outside, test-wheel) and docs (test-docs)
#   make demo-cluster  an embedded etcd, a publisher and two proxy replicas on loopback
#   make header   regenerate include/route_registry.h from src/ffi
#   make lib-asan the library built with AddressSanitizer (target/asan; the Python lifecycle fuzzer)
#   make bench    criterion benchmarks (figures go to BENCHMARKS.md)
#   make fuzz     each cargo-fuzz target for FUZZ_SECS (default 60) seconds
#   make soak     10 million operations through the core, the Go and the Python binding
#   make install PREFIX=/usr/local   stripped libraries, header, pkg-config file (ldconfig)
#   make dist     dist/route-registry-<version>-linux-<arch>.tar.gz, relocatable
#   make wheel    dist/python/: the Python sdist and a manylinux wheel with the library inside

PREFIX ?= /usr/local
CARGO ?= cargo
PYTHON ?= python3
GO ?= go
export CARGO_TERM_COLOR ?= never

ABI := $(shell sed -n 's/^pub const RR_ABI_VERSION: u32 = \([0-9]*\);/\1/p' src/ffi/mod.rs)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
RELEASE := target/release
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
STRIP ?= strip
ARCH := $(shell uname -m)
DIST_NAME := route-registry-$(VERSION)-linux-$(ARCH)
DIST_STAGE := dist/stage/$(DIST_NAME)

.PHONY: all lib lib-asan header deps lint fuzz soak test test-rust test-abi test-c test-go test-etcd test-python \
	test-install test-go-outside test-wheel test-docs demo demo-cluster bench install dist wheel clean

all: lib

lib:
	@test -n "$(ABI)" || { echo "Makefile: RR_ABI_VERSION not found in src/ffi/mod.rs" >&2; exit 1; }
	$(CARGO) build --release --lib
	@# The soname is libroute_registry.so.$(ABI): make programs linked in the build tree find it.
	ln -sf libroute_registry.so $(RELEASE)/libroute_registry.so.$(ABI)
	@# pkg-config for the build tree (pkg-config prefers NAME-uninstalled.pc): with
	@# PKG_CONFIG_PATH=target/release/pkgconfig, `go build -tags rr_shared` in this checkout
	@# links target/release (the Go binding's ASan runs use it).
	@mkdir -p $(RELEASE)/pkgconfig
	@sed -e 's|@PREFIX@|$(CURDIR)|g' -e 's|@LIBDIR@|$(CURDIR)/$(RELEASE)|g' \
		-e 's|@INCLUDEDIR@|$(CURDIR)/include|g' -e 's|@VERSION@|$(VERSION)|g' \
		route_registry.pc.in > $(RELEASE)/pkgconfig/route_registry-uninstalled.pc

# AddressSanitizer needs -Zsanitizer: RUSTC_BOOTSTRAP lets the stable toolchain accept it.
HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
ASAN_LIB := target/asan/$(HOST)/release/libroute_registry.so

lib-asan:
	RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address -Cunsafe-allow-abi-mismatch=sanitizer" \
		$(CARGO) build --release --lib --target $(HOST) --target-dir target/asan
	@# Go loads it through its soname (-tags rr_shared with LD_LIBRARY_PATH=target/asan/golib).
	mkdir -p target/asan/golib
	ln -sf $(abspath $(ASAN_LIB)) target/asan/golib/libroute_registry.so.$(ABI)

header:
	RR_BLESS_HEADER=1 $(CARGO) build --release --lib

deps:
	./scripts/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --all-targets --features fault-injection -- -D warnings
	$(CARGO) clippy --all-targets --features linearizability-bug -- -D warnings
	$(CARGO) clippy --all-targets --features batch-atomicity-bug -- -D warnings

test: deps lint test-rust test-abi test-c test-go test-etcd test-python test-install test-go-outside test-wheel test-docs
	@echo "make test: all suites passed"

test-rust:
	$(CARGO) test --release
	$(CARGO) test --release --features fault-injection --test fault_injection
	@# The checker must catch a deliberately broken pool (a check-then-act race in add).
	$(CARGO) test --release --features linearizability-bug --test linearizability broken_pool_is_caught
	@# ...and a batch commit that lets readers see half of it.
	$(CARGO) test --release --features batch-atomicity-bug --test linearizability broken_batch_is_caught

test-abi: lib
	./scripts/check-abi.sh

test-c: lib
	$(MAKE) -C tests/c test

test-go: lib lib-asan
	$(MAKE) -C bindings/go test ASAN=1

# The etcd module (its own go.mod) against a real etcd started in-process on loopback, and the
# examples built on it.
ETCD_EXAMPLES := examples/go/publish examples/go/etcdserver examples/go/democluster
test-etcd: lib
	@out="$$(gofmt -l bindings/go/etcd $(ETCD_EXAMPLES))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd bindings/go/etcd && go vet ./... && go test -race -count=1 -timeout 3m ./...
	for d in $(ETCD_EXAMPLES); do (cd $$d && go vet ./... && go test -count=1 ./...) || exit 1; done

test-python: lib lib-asan
	$(MAKE) -C bindings/python test ASAN_LIB=$(abspath $(ASAN_LIB))

# make install + make dist as a user sees them: stripped .so, pkg-config, rpath, relocatable .pc.
test-install: lib
	./scripts/test-install.sh

# API docs: rustdoc without a warning, the Go package doc comment, and the Go Example
# functions (run and their output checked by go test).
test-docs: lib
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps
	@# User-facing docs describe the product in its own words and point at nothing outside
	@# the repository.
	@if grep -n -E "[Tt]he seed|seed's|\.\./shared|shared/|SPEC\b" README.md docs/*.md \
		bindings/*/README.md packaging/*.md bindings/go/doc.go include/*.h RELIABILITY.md \
		BENCHMARKS.md; then \
		echo "user-facing docs refer to files outside the repository (above)" >&2; exit 1; fi
	@for f in LICENSE docs/BEHAVIOUR.md docs/MIGRATING.md docs/PACKAGING.md; do \
		test -s $$f || { echo "missing $$f" >&2; exit 1; }; done
	cd bindings/go && $(GO) doc . | grep -q '^Package routes ' || { echo "bindings/go: no package doc comment" >&2; exit 1; }
	cd bindings/go && $(GO) test -count=1 -run '^Example' -v . | grep -c '^--- PASS: Example' | \
		awk '{ if ($$1 < 3) { print "bindings/go: fewer than 3 passing Example functions" > "/dev/stderr"; exit 1 } else print "go examples passed:", $$1 }'

# The wheel in a fresh venv without cargo, used from outside the tree; the sdist built offline.
test-wheel:
	./scripts/test-wheel.sh

# The Go binding from a module outside the checkout (require + replace), static and shared.
test-go-outside: lib
	./scripts/test-go-outside.sh

demo: deps lib
	@printf '\n==== 1/3  C: examples/c (the header and libroute_registry.so) ====\n\n'
	@$(MAKE) --no-print-directory -C examples/c run
	@printf '\n==== 2/3  Go: examples/go/proxy (a reverse proxy on the cgo binding) ====\n\n'
	@$(MAKE) --no-print-directory -C examples/go/proxy run
	@printf '\n==== 3/3  Python: examples/python (a routes report on the ctypes binding) ====\n\n'
	@$(MAKE) --no-print-directory -C examples/python run
	@printf '\n==== demo: C, Go and Python examples done ====\n'

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
	$(CARGO) bench --bench churn_quantiles
	$(MAKE) -C bindings/go bench
	$(MAKE) -C bindings/python bench

# Installs the stripped shared library (file libroute_registry.so.$(ABI), the soname, plus the
# link-time name libroute_registry.so), the static library (debug info stripped), the header
# and route_registry.pc. DESTDIR is honoured (staged installs). The dynamic loader finds the
# library by itself only in its own search path: for /usr and /usr/local this target runs
# ldconfig (as root, without DESTDIR); for any other prefix it prints what to do instead.
install: lib
	@test -n "$(ABI)" || { echo "Makefile: RR_ABI_VERSION not found" >&2; exit 1; }
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 0755 $(RELEASE)/libroute_registry.so $(DESTDIR)$(LIBDIR)/libroute_registry.so.$(ABI)
	$(STRIP) --strip-unneeded $(DESTDIR)$(LIBDIR)/libroute_registry.so.$(ABI)
	ln -sf libroute_registry.so.$(ABI) $(DESTDIR)$(LIBDIR)/libroute_registry.so
	install -m 0644 $(RELEASE)/libroute_registry.a $(DESTDIR)$(LIBDIR)/libroute_registry.a
	$(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/libroute_registry.a
	install -m 0644 include/route_registry.h $(DESTDIR)$(INCLUDEDIR)/route_registry.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(VERSION)|g' route_registry.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/route_registry.pc
	@if [ -z "$(DESTDIR)" ] && { [ "$(PREFIX)" = /usr ] || [ "$(PREFIX)" = /usr/local ]; } \
		&& [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		echo "ldconfig"; ldconfig; \
	elif [ -z "$(DESTDIR)" ]; then \
		echo "installed in $(LIBDIR), which the dynamic loader may not search. Either:"; \
		echo "  link with   -Wl,-rpath,$(LIBDIR)   (after pkg-config --libs route_registry), or"; \
		echo "  run with    LD_LIBRARY_PATH=$(LIBDIR), or"; \
		echo "  as root:    echo $(LIBDIR) > /etc/ld.so.conf.d/route_registry.conf && ldconfig"; \
		echo "and build with PKG_CONFIG_PATH=$(LIBDIR)/pkgconfig unless that is already searched."; \
	fi

# A binary tarball that works wherever it is unpacked: lib/ (stripped .so + soname link, .a),
# include/, lib/pkgconfig/route_registry.pc (relocatable: paths relative to ${pcfiledir}),
# LICENSE and README.md (packaging/dist-README.md: how to build against it).
dist: lib
	rm -rf $(DIST_STAGE) && mkdir -p dist
	$(MAKE) --no-print-directory install PREFIX=/ DESTDIR=$(abspath $(DIST_STAGE)) LIBDIR=/lib INCLUDEDIR=/include
	sed -e 's|@PREFIX@|$${pcfiledir}/../..|g' -e 's|@LIBDIR@|$${prefix}/lib|g' \
		-e 's|@INCLUDEDIR@|$${prefix}/include|g' -e 's|@VERSION@|$(VERSION)|g' \
		route_registry.pc.in > $(DIST_STAGE)/lib/pkgconfig/route_registry.pc
	install -m 0644 LICENSE $(DIST_STAGE)/LICENSE
	install -m 0644 packaging/dist-README.md $(DIST_STAGE)/README.md
	tar -C $(dir $(DIST_STAGE)) --owner=0 --group=0 --numeric-owner --sort=name \
		-czf dist/$(DIST_NAME).tar.gz $(DIST_NAME)
	rm -rf dist/stage
	@echo "dist/$(DIST_NAME).tar.gz"

# The Python sdist (with the Rust crate under rust/) and a wheel built from it with the library
# inside, repaired by auditwheel to a manylinux tag (the glibc this machine has: build in a
# manylinux container for an older one). Both in dist/python/. See docs/PACKAGING.md.
# cargo's output for it goes to target/wheel (kept between runs).
wheel:
	rm -rf dist/python && mkdir -p dist/python/raw
	CARGO_TARGET_DIR=$(CURDIR)/target/wheel $(PYTHON) -m build --outdir dist/python/raw bindings/python
	$(PYTHON) -m auditwheel repair --wheel-dir dist/python dist/python/raw/*.whl
	mv dist/python/raw/*.tar.gz dist/python/
	rm -rf dist/python/raw
	@ls -l dist/python

clean:
	$(CARGO) clean
	rm -rf dist
	-$(MAKE) -C tests/c clean
