"""Soak: RR_SOAK_OPS add/del/get operations (default 200 000 for ``make test``, ~4 s; ``make
soak`` runs 1 000 000) with churn over ever-new keys, so that without tombstone purging the
native map would grow without bound.

Checked: the live size stays at the window; purging keeps the expired tombstones bounded;
resident memory (``/proc/self/statm``) is flat after warm-up; and the native routes
(``rr_live_routes``) and the binding's table of live native routes (``tracked_routes()``, its
user_data -> state table) are back to baseline after ``clear`` and a garbage collection.
"""

from __future__ import annotations

import gc
import os
import time
from typing import List, Tuple

import route_registry as rr
from conftest import drop_change_records, settle
from route_registry import Kind, NotFound, Registry, Route

WINDOW = 2000  # live routes kept while keys never repeat
OPS_PER_ROUND = 4  # add, get the new key, get the key WINDOW rounds old, delete it
#: RSS may grow by this much between warm-up (20% of the run) and the end: the allocators'
#: high-water marks (pymalloc arenas, the native malloc) do not depend on the run's length,
#: while a leaked route (~300 B native + ~1 KiB of Python objects) per round would exceed it
#: after ~7 000 rounds (the default run has 40 000 rounds after warm-up).
RSS_BOUND = 8 << 20


def soak_ops() -> int:
    s = os.environ.get("RR_SOAK_OPS", "")
    if not s:
        return 200_000
    try:
        n = int(s)
    except ValueError:
        raise ValueError(f"RR_SOAK_OPS={s!r}: want an integer") from None
    if n < 4 * WINDOW:
        raise ValueError(f"RR_SOAK_OPS={n}: want at least {4 * WINDOW}")
    return n


def rss_bytes() -> int:
    """The resident set size: the second field of /proc/self/statm, in pages."""
    with open("/proc/self/statm") as f:
        fields = f.read().split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def settled_rss() -> int:
    gc.collect()
    return rss_bytes()


def key_of(i: int) -> str:
    return f"soak-{i}"


def test_soak_churn_keeps_memory_flat_and_releases_everything() -> None:
    ops = soak_ops()
    settle()
    base_live, base_tracked = rr.live_routes(), rr.tracked_routes()
    reg = Registry()
    rounds = ops // OPS_PER_ROUND
    warmup = rounds // 5
    rss_warm = rss_peak = 0
    deletes = 0
    failures: List[Tuple[int, str]] = []
    start = time.monotonic()

    # Each round: a route with a new key (HTTP on even rounds, STREAM on odd ones; every 3rd
    # through add_if_not_exists), added, looked up; then the key added WINDOW rounds ago is
    # looked up in its pool and deleted. Every 16th route is closed by hand, the others are
    # dropped (their finalizers release them).
    def one_round(i: int) -> str:
        """One round; returns what went wrong, or "". (A function, so that no local keeps a
        route alive past its round.)"""
        key = key_of(i)
        kind = Kind.HTTP if i % 2 == 0 else Kind.STREAM
        url = "http://10.0.0.1:8080" if kind is Kind.HTTP else "tcp://10.0.0.1:5432"
        r = Route(kind, key, url, provider="soak", data=i)
        if i % 3 == 0:
            actual, added = reg.add_if_not_exists(r)
            if not added or actual is not r:
                return f"add_if_not_exists gave {actual!r}, {added}"
        elif not reg.add(r):
            return "add kept"
        got = reg.get(key)
        if got is not r or got.data != i:
            return f"get({key!r}) gave {got!r}"
        if i % 16 == 0:
            r.close()
        if i >= WINDOW:
            j = i - WINDOW
            old = key_of(j)
            pool = reg.http if j % 2 == 0 else reg.stream
            got = pool.get(old)
            if got is None or got.key != old or got.data != j:
                return f"{pool.kind.name} get({old!r}) gave {got!r}"
            pool.delete(old)
        return ""

    for i in range(rounds):
        err = one_round(i)
        if err:
            failures.append((i, err))
            break
        if i >= WINDOW:
            deletes += 1
        if i == warmup:
            rss_warm = settled_rss()
            rss_peak = max(rss_peak, rss_warm)
        if i % 4096 == 0:
            rss_peak = max(rss_peak, rss_bytes())
    elapsed = time.monotonic() - start
    assert failures == [], failures[:5]
    rss_peak = max(rss_peak, rss_bytes())

    # Tombstones younger than 1 s are kept (re-adding within 1 s is a reload); older ones are
    # purged on a later delete, at most 8 times per second. The expired ones present now are
    # those deleted in the last ~1/8 s: bound them by the average delete rate over 1/2 s plus
    # the purge threshold. Without purging there would be every delete older than 1 s. (The
    # C ABI has no tombstone counter: rr_purge_tombstones counts the expired ones.)
    expired = reg.purge_tombstones()
    bound = int(deletes / elapsed / 2) + 512
    assert expired <= bound, f"{expired} expired tombstones at the end (bound {bound})"

    live = min(rounds, WINDOW)
    assert reg.num_active_routes() == len(reg) == live
    assert reg.http.size() + reg.stream.size() == live
    rss_end = settled_rss()
    # Only the window is alive: the registry holds it, nothing else does (once the change
    # log's records, which hold the routes they name, are dropped).
    drop_change_records(reg)
    with_window = (rr.live_routes() - base_live, rr.tracked_routes() - base_tracked)
    assert with_window == (live, live), with_window

    reg.clear()
    assert reg.num_all_routes() == 0 and reg.get(key_of(rounds - 1)) is None
    try:
        reg.http.delete(key_of(rounds - 2))
        raise AssertionError("delete after clear found a route")
    except NotFound:
        pass
    reg.close()
    settle()
    after = (rr.live_routes() - base_live, rr.tracked_routes() - base_tracked)
    growth = rss_end - rss_warm
    print(
        f"\nsoak: {rounds * OPS_PER_ROUND} ops ({rounds} rounds, {deletes} deletes) in "
        f"{elapsed:.2f} s ({rounds * OPS_PER_ROUND / elapsed:.0f} ops/s); expired tombstones "
        f"at end {expired} (bound {bound})\n"
        f"soak: RSS after warm-up {rss_warm >> 10} KiB, at end {rss_end >> 10} KiB (growth "
        f"{growth >> 10:+d} KiB, bound {RSS_BOUND >> 10} KiB), peak {rss_peak >> 10} KiB\n"
        f"soak: live native routes / tracked routes above baseline with the window: "
        f"{with_window[0]}/{with_window[1]}; after clear: {after[0]}/{after[1]} "
        f"(baseline {base_live}/{base_tracked})"
    )
    assert after == (0, 0), f"leaked: {after[0]} native routes, {after[1]} tracked"
    assert growth < RSS_BOUND, f"resident memory grew by {growth >> 10} KiB after warm-up"
