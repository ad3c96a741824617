"""Lifecycle fuzzing: a seeded random driver over every user-visible object of the binding
(Registry, Pool, Route, RouteContext, the contextvars route context, Batch, Watch and the
change records) on several threads that
share them: create, drop, close, hand to C (``_consume``), garbage-collect and use, in any
order. Run it against the library built with AddressSanitizer, with the ASan runtime
preloaded, so that any use of freed native memory aborts with a report:

    LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \\
    ROUTE_REGISTRY_LIB=target/asan/x86_64-unknown-linux-gnu/release/libroute_registry.so \\
    PYTHONPATH=bindings/python/src python3 bindings/python/tests/fuzz_lifecycle.py \\
        --seed 1 --ops 20000 --threads 4

Exit status 0 and a last line ``fuzz_lifecycle: ok ...`` when nothing went wrong; an
unexpected exception is printed and exits 1; a crash is the sanitizer's (or the kernel's).
``--counter FILE`` keeps the number of operations started in FILE (a memory-mapped 8-byte
counter that survives a crash), to tell how many operations it took to find one.

Expected outcomes of a use are: a result, ``ValueError`` (a closed object, or a value the
library refuses), ``KeyError`` (absent), ``Kept``/``Frozen`` (the registry's answers).
Anything else is a failure. Standard library only; works against older versions of the
package too (features it lacks are not exercised), so that a reverted fix can be measured.
"""

# ruff: noqa: B018  (the fuzzer reads attributes for their effect: a use of the object)
from __future__ import annotations

import argparse
import gc
import itertools
import mmap
import os
import random
import struct
import sys
import threading
import time
import traceback
from typing import Any, Callable, List, Optional

import route_registry as rr
from route_registry import Kind, Registry, Route

HAS_CTX = hasattr(rr, "RouteContext")
HAS_CHANGES = hasattr(rr, "Watch")
KEYS = [f"k{i}" for i in range(12)]
URLS = {Kind.HTTP: "http://10.0.0.{}:8080", Kind.STREAM: "tcp://10.0.1.{}:53",
        Kind.EXCLUDED: "http://10.0.2.{}:80"}  # fmt: skip
EXPECTED = (ValueError, KeyError, rr.Kept, rr.Frozen) + ((rr.Stale,) if HAS_CHANGES else ())
HOSTS = ["k1", "k2.example.com", "K3.Example.COM:8443", "x.k4.org", "nope", "k5."]


class Driver:
    def __init__(self, seed: int, slots: int, counter: Optional[str]) -> None:
        self.seed = seed
        self.objs: List[Any] = [None] * slots
        self.ops = itertools.count(1)
        self.done = 0
        self.failures: List[str] = []
        self.stop = threading.Event()
        self.counts: "dict[str, int]" = {}
        self._mm: Optional[mmap.mmap] = None
        if counter:
            with open(counter, "wb") as f:
                f.write(b"\0" * 8)
            fd = os.open(counter, os.O_RDWR)
            self._mm = mmap.mmap(fd, 8)
            os.close(fd)

    # -- helpers ---------------------------------------------------------------------------

    def pick(self, rnd: random.Random, *types: type) -> Any:
        """A random object of one of ``types`` from the shared slots, or None."""
        for _ in range(4):
            o = self.objs[rnd.randrange(len(self.objs))]
            if o is not None and isinstance(o, types):
                return o
        return None

    def put(self, rnd: random.Random, o: Any) -> None:
        self.objs[rnd.randrange(len(self.objs))] = o

    def route(self, rnd: random.Random) -> Route:
        kind = Kind(rnd.randrange(3))
        key = rnd.choice(KEYS)
        return Route(
            kind, key, URLS[kind].format(rnd.randrange(1, 250)),
            provider=rnd.choice(["", "docker", "file"]), priority=rnd.randrange(-1, 2),
            data=(key, rnd.random()),
        )  # fmt: skip

    # -- operations ------------------------------------------------------------------------

    def op_create(self, rnd: random.Random) -> None:
        x = rnd.randrange(10 if HAS_CHANGES else 7)
        if x == 0:
            self.put(rnd, Registry())
        elif x == 1:  # a pool whose registry nobody else holds
            self.put(rnd, Registry().pool(Kind(rnd.randrange(3))))
        elif x == 2:
            reg = self.pick(rnd, Registry)
            if reg is not None:
                self.put(rnd, reg.pool(Kind(rnd.randrange(3))))
        elif x in (3, 4):
            self.put(rnd, self.route(rnd))
        elif x == 5 and HAS_CTX:
            parent = self.pick(rnd, rr.RouteContext) if rnd.random() < 0.5 else None
            self.put(rnd, rr.RouteContext(self.pick(rnd, Route), parent=parent))
        elif x == 7:  # a batch, with or without another holder of its registry
            reg = self.pick(rnd, Registry) if rnd.random() < 0.7 else Registry()
            if reg is not None:
                b = reg.batch()
                for _ in range(rnd.randrange(3)):
                    r = self.pick(rnd, Route)
                    b.add(r if r is not None else self.route(rnd))
                self.put(rnd, b)
        elif x == 8:  # a watch, with or without another holder of its registry
            reg = self.pick(rnd, Registry) if rnd.random() < 0.7 else Registry()
            if reg is not None:
                self.put(rnd, reg.watch(since=rnd.choice([None, 0])))
        elif x == 9:  # change records holding routes
            reg = self.pick(rnd, Registry)
            if reg is not None:
                self.put(rnd, reg.changes(max(0, reg.generation - rnd.randrange(8))))
        else:  # a route from a lookup
            src = self.pick(rnd, Registry, rr.Pool)
            if src is not None:
                r = src.get(rnd.choice(KEYS))
                if r is not None:
                    self.put(rnd, r)

    def op_drop(self, rnd: random.Random) -> None:
        self.objs[rnd.randrange(len(self.objs))] = None

    def op_close(self, rnd: random.Random) -> None:
        o = self.objs[rnd.randrange(len(self.objs))]
        if o is None or not hasattr(o, "close"):
            return
        if isinstance(o, rr.Pool):
            o = getattr(o, "registry", None) or getattr(o, "_reg", None)
            o = o() if callable(o) and not isinstance(o, Registry) else o
            if o is None:
                return
        o.close()

    def op_consume(self, rnd: random.Random) -> None:
        """Hands a route's reference to C (which releases it), as a batch will."""
        r = self.pick(rnd, Route)
        if r is not None and hasattr(r, "_consume"):
            rr._native.lib.rr_route_release(r._consume())

    def op_gc(self, rnd: random.Random) -> None:
        gc.collect(0 if rnd.random() < 0.8 else 2)

    def op_use(self, rnd: random.Random) -> None:
        o = self.objs[rnd.randrange(len(self.objs))]
        if isinstance(o, Registry):
            self.use_registry(rnd, o)
        elif isinstance(o, rr.Pool):
            self.use_pool(rnd, o)
        elif isinstance(o, Route):
            self.use_route(rnd, o)
        elif HAS_CHANGES and isinstance(o, rr.Batch):
            self.use_batch(rnd, o)
        elif HAS_CHANGES and isinstance(o, rr.Watch):
            self.use_watch(rnd, o)
        elif HAS_CHANGES and isinstance(o, rr.Changes):
            for c in o:
                if c.route is not None:
                    c.route.upstream_host
                    self.put(rnd, c.route) if rnd.random() < 0.1 else None
        elif HAS_CTX and isinstance(o, rr.RouteContext):
            x = rnd.randrange(4)
            if x == 0:
                o.upstream_host
            elif x == 1:
                r = o.route
                if r is not None:
                    r.upstream_url
            elif x == 2:
                o.upstream_url
            else:
                repr(o)

    def use_registry(self, rnd: random.Random, reg: Registry) -> None:
        x = rnd.randrange(12)
        if HAS_CHANGES and rnd.random() < 0.3:
            self.use_registry_changes(rnd, reg)
            return
        if x < 3:
            r = self.pick(rnd, Route)
            reg.add(r if r is not None else self.route(rnd))
        elif x == 3:
            reg.get(rnd.choice(KEYS))
        elif x == 4:
            reg[rnd.choice(KEYS)]
        elif x == 5:
            for r in reg.iter_all():
                r.upstream_host
        elif x == 6:
            for _provider, rs in reg.by_provider().items():
                for r in rs:
                    r.key
        elif x == 7:
            reg.health_json(rnd.randrange(3))
        elif x == 8:
            reg.delete(rnd.choice(KEYS))
        elif x == 9:
            len(reg), reg.keys(), reg.generation
        elif x == 10:
            reg.get_include_excluded(rnd.choice(KEYS))
        elif rnd.random() < 0.2:
            reg.clear()

    def use_registry_changes(self, rnd: random.Random, reg: Registry) -> None:
        x = rnd.randrange(8)
        if x == 0:
            r = reg.find_http_route(rnd.choice(HOSTS))
            if r is not None:
                r.upstream_url
        elif x == 1:
            reg.set_route_domains(rnd.sample(["example.com", ".k4.org", "EXAMPLE.net."],
                                             rnd.randrange(3)))  # fmt: skip
        elif x == 2:
            for c in reg.changes(max(0, reg.generation - rnd.randrange(20))):
                if c.route is not None:
                    c.route.key
        elif x == 3:
            for r in reg.snapshot(rnd.choice(["all", "active", Kind.HTTP])).routes:
                r.alias
        elif x == 4:
            reg.set_change_log_capacity(rnd.choice([1, 4, 64, 4096]))
        elif x == 5:
            with reg.batch() as b:
                if rnd.random() < 0.5:
                    b.replace_provider(rnd.choice(["docker", "file"]))
                for _ in range(rnd.randrange(4)):
                    r = self.pick(rnd, Route)
                    b.add(r if r is not None else self.route(rnd))
                if rnd.random() < 0.2:
                    raise KeyError("discard")  # the batch is discarded
        elif x == 6:
            for r in reg.http.sorted():
                r.key
        else:
            with reg.watch() as w:
                reg.add(self.route(rnd))
                w.poll()

    def use_batch(self, rnd: random.Random, b: Any) -> None:
        x = rnd.randrange(7)
        if x < 2:
            r = self.pick(rnd, Route)
            b.add(r if r is not None else self.route(rnd))
        elif x == 2:
            b.del_key(Kind(rnd.randrange(3)), rnd.choice(KEYS))
        elif x == 3:
            b.replace_provider(rnd.choice(["", "docker", "file"]))
        elif x == 4:
            b.commit()
        elif x == 5:
            b.discard()
        else:
            repr(b), b.registry

    def use_watch(self, rnd: random.Random, w: Any) -> None:
        x = rnd.randrange(5)
        if x < 2:
            for _ in range(rnd.randrange(1, 5)):
                item = w.poll()
                if item is None:
                    break
                rs = item.routes if isinstance(item, rr.Resync) else (item.route,)
                for r in rs:
                    if r is not None:
                        r.upstream_port
        elif x == 2:
            w.get(timeout=0)
        elif x == 3:
            w.registry.add(self.route(rnd))
        else:
            repr(w), w.next_generation

    def use_pool(self, rnd: random.Random, pool: Any) -> None:
        x = rnd.randrange(7)
        if x == 0:
            pool.get(rnd.choice(KEYS))
        elif x == 1:
            kind = pool.kind
            key = rnd.choice(KEYS)
            pool.add(Route(kind, key, URLS[kind].format(rnd.randrange(1, 250)), data=key))
        elif x == 2:
            pool.delete(rnd.choice(KEYS), missing_ok=True)
        elif x == 3:
            pool.size(), len(pool)
        elif x == 4:
            for _key, r in pool.items():
                r.alias
        elif x == 5:
            pool.sorted()
        elif rnd.random() < 0.2:
            pool.clear()

    def use_route(self, rnd: random.Random, r: Route) -> None:
        x = rnd.randrange(9)
        if x == 0:
            r.alias, r.key, r.provider, r.display_name
        elif x == 1:
            r.upstream_url, r.upstream_host, r.upstream_port
        elif x == 2:
            r.set_health(rnd.choice(list(rr.HealthStatus)), rnd.randrange(10**9), 5, "fuzz")
        elif x == 3:
            r.health, r.health_status
        elif x == 4:
            r.proxmox, r.frozen
        elif x == 5:
            with rr.route_context(r):
                rr.try_get_upstream_host()
        elif x == 6:
            r.data, repr(r)
        elif x == 7:
            r.set_key(rnd.choice(KEYS))
        elif HAS_CTX:
            with rr.RouteContext(r) as ctx:
                ctx.upstream_name

    # -- running ---------------------------------------------------------------------------

    def thread(self, tid: int, nops: int, deadline: float) -> None:
        rnd = random.Random(self.seed * 1000 + tid)
        table: List[Callable[[random.Random], None]] = (
            [self.op_create] * 6 + [self.op_drop] * 3 + [self.op_close] * 2 + [self.op_gc]
            + [self.op_consume]
            + [self.op_use] * 12
        )  # fmt: skip
        mm = self._mm
        for i in range(nops):
            if self.stop.is_set() or (i & 63 == 0 and time.monotonic() > deadline):
                break
            n = next(self.ops)
            if mm is not None:
                struct.pack_into("<Q", mm, 0, n)
            op = rnd.choice(table)
            try:
                op(rnd)
            except EXPECTED:
                pass
            except BaseException:
                where = f"thread {tid}, op {n} ({op.__name__})"
                self.failures.append(f"{where}:\n{traceback.format_exc()}")
                self.stop.set()
                break
            self.done += 1

    def run(self, threads: int, nops: int, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        ts = [
            threading.Thread(target=self.thread, args=(t, nops, deadline)) for t in range(threads)
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.objs[:] = [None] * len(self.objs)
        gc.collect()
        return self.done


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ops", type=int, default=20000, help="operations per thread at most")
    ap.add_argument("--seconds", type=float, default=5.0, help="time limit")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--slots", type=int, default=24, help="shared object slots")
    ap.add_argument("--counter", help="file keeping the number of operations started")
    a = ap.parse_args(argv)
    sys.setswitchinterval(1e-5)  # switch threads often: more interleavings per second
    d = Driver(a.seed, a.slots, a.counter)
    t0 = time.monotonic()
    done = d.run(a.threads, a.ops, a.seconds)
    if d.failures:
        print(f"fuzz_lifecycle: seed {a.seed}: {len(d.failures)} failure(s)", file=sys.stderr)
        print(d.failures[0], file=sys.stderr)
        return 1
    print(
        f"fuzz_lifecycle: ok seed={a.seed} threads={a.threads} ops={done} "
        f"in {time.monotonic() - t0:.1f}s (library {rr.lib_path})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
