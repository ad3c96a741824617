//! Committing change sets, and reading the registry at one generation.
//!
//! Every writer of a registry (add, del, clear, inventory load, batch) holds the registry's
//! **commit lock** (the write side of a reader-writer lock) while it applies its change set,
//! appends its records to the change log and bumps the generation. Reads that cover more than
//! one route take the read side while they take their snapshot (never while they call back
//! into the caller), so they see whole change sets only. Counts do not lock: they read the pool
//! sizes between two reads of a sequence number that writers make odd while they apply
//! (a seqlock), and retry (waiting on the read side) when a writer was in between. Single
//! lookups take no registry-wide lock at all: a change set that touches several keys holds the
//! write locks of all their shards together (two-phase locking), so lookups see it whole too.
//! See docs/DESIGN.md ("Consistency") for the why and the cost.

use crate::changelog::{Change, ChangeLog, ChangeOp};
use crate::registry::Registry;
use crate::route::{Kind, Route};
use parking_lot::RwLockWriteGuard;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

/// A change set being committed: holds the commit lock; collects the records. Finishing it
/// (or dropping it, when a panic unwinds through a writer) publishes what was applied.
pub(crate) struct Commit<'a> {
    reg: &'a Registry,
    /// The commit lock, and what it guards: the change log and the scratch list of the set's
    /// records (reused from commit to commit).
    guard: Option<RwLockWriteGuard<'a, Committing>>,
    generation: u64,
    /// Whether the indexes must be brought up to date before publishing.
    sync_index: bool,
    /// Whether the generation moves even with no record (new route domains).
    force_bump: bool,
    /// With the `batch-atomicity-bug` feature, writers stay serialized by this lock while a
    /// paused batch lets readers in (so generations stay right and only readers see the bug).
    #[cfg(feature = "batch-atomicity-bug")]
    _writers: parking_lot::MutexGuard<'a, ()>,
}

/// What the commit lock guards.
#[derive(Default)]
pub(crate) struct Committing {
    /// The records of the change set being applied, in the order applied.
    records: Vec<Change>,
    /// The change log. Written only under the write side, so readers (`rr_changes_since`)
    /// read it under the read side, like every other multi-route read.
    pub(crate) log: ChangeLog,
}

/// What a finished commit leaves to do once every lock is released.
#[must_use = "call `done` to log, drop and notify outside the locks"]
pub(crate) struct Committed {
    /// The new generation, or None when the set changed nothing.
    pub generation: Option<u64>,
    /// The registry's generation right after the set, read under the commit lock: the new one,
    /// or the one the set applied at when it changed nothing (read later, it could already
    /// be another writer's).
    pub current: u64,
    /// Records to log (only when DEBUG logging is on).
    logged: Vec<Change>,
    /// Records dropped from the log, let go of here.
    evicted: Vec<Change>,
    notify: Option<(Arc<crate::notify::Notifier>, u64)>,
}

thread_local! {
    /// A spare list for the records a commit drops from the log, so that a commit in steady
    /// state (log full: one set in, one out) allocates nothing.
    static EVICTED: std::cell::Cell<Vec<Change>> = const { std::cell::Cell::new(Vec::new()) };
}

impl<'a> Commit<'a> {
    /// Takes the commit lock and marks the counts as being changed.
    pub(crate) fn begin(reg: &'a Registry) -> Self {
        #[cfg(feature = "batch-atomicity-bug")]
        let writers = reg.bug_writers.lock();
        let guard = reg.commit.write();
        // Seqlock write side: odd while the pools change. Writers are serialized by the commit
        // lock, so a plain store does (no read-modify-write).
        reg.seq
            .store(reg.seq.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        let generation = reg.generation.load(Ordering::Relaxed) + 1;
        Commit {
            reg,
            guard: Some(guard),
            generation,
            sync_index: false,
            force_bump: false,
            #[cfg(feature = "batch-atomicity-bug")]
            _writers: writers,
        }
    }

    /// Records a change (in the order applied).
    pub(crate) fn record(&mut self, op: ChangeOp, kind: Kind, route: Option<Arc<Route>>) {
        let generation = self.generation;
        if let Some(g) = self.guard.as_mut() {
            g.records.push(Change {
                generation,
                op,
                kind,
                route,
            });
        }
    }

    /// The set changes the registry without a change record (route domains): the generation
    /// moves (and subscribers are told) all the same; `rr_changes_since` then has no record
    /// for that generation.
    pub(crate) fn bump_without_record(&mut self) {
        self.force_bump = true;
    }

    /// The indexes must be synced before the set is published (batch, clear).
    pub(crate) fn sync_index_on_publish(&mut self) {
        self.sync_index = true;
    }

    /// The bug of the test-only `batch-atomicity-bug` feature: makes what was applied so far
    /// visible to readers (index synced, counts even, commit lock released), lets other threads
    /// run, then takes the lock again. Records and generation are still published at the end.
    #[cfg(feature = "batch-atomicity-bug")]
    pub(crate) fn pause(&mut self) {
        for pool in &self.reg.pools {
            pool.sync_index();
        }
        self.reg.seq.fetch_add(1, Ordering::Release);
        self.guard = None;
        std::thread::yield_now();
        self.guard = Some(self.reg.commit.write());
        self.reg.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
    }

    /// Publishes the set: records into the log, generation + 1 (if anything changed),
    /// releases the lock.
    pub(crate) fn finish(mut self) -> Committed {
        self.publish()
    }

    fn publish(&mut self) -> Committed {
        let reg = self.reg;
        let mut out = Committed {
            generation: None,
            current: 0,
            logged: Vec::new(),
            // This thread's spare list (its capacity reused from commit to commit).
            evicted: EVICTED.with(std::cell::Cell::take),
            notify: None,
        };
        let Some(mut guard) = self.guard.take() else {
            out.current = reg.generation.load(Ordering::Acquire);
            return out;
        };
        // A panic (fault injection) may have left pending index changes: apply them too.
        if self.sync_index || std::thread::panicking() {
            for pool in &reg.pools {
                pool.sync_index();
            }
        }
        if !guard.records.is_empty() || self.force_bump {
            let g = self.generation;
            if log::log_enabled!(log::Level::Debug) {
                out.logged.extend(guard.records.iter().cloned());
            }
            let Committing { records, log } = &mut *guard;
            log.append(records.drain(..), &mut out.evicted);
            // After the change is visible, so a reader that sees the new number sees it.
            reg.generation.store(g, Ordering::Release);
            if reg.notifier.has_subscribers() && !std::thread::panicking() {
                reg.notifier.enqueue(g);
                out.notify = Some((Arc::clone(&reg.notifier), g));
            }
            out.generation = Some(g);
        }
        out.current = reg.generation.load(Ordering::Relaxed);
        // Seqlock: even again, after every change of the set (a plain store, as in `begin`).
        reg.seq
            .store(reg.seq.load(Ordering::Relaxed) + 1, Ordering::Release);
        drop(guard);
        out
    }
}

impl Drop for Commit<'_> {
    fn drop(&mut self) {
        // Only when a panic unwound through the writer: publish what was applied.
        drop(self.publish());
    }
}

impl Committed {
    /// Logs, lets go of dropped records, and runs the subscribers' callbacks: call with no
    /// lock held. Returns the new generation (None: nothing changed).
    pub(crate) fn done(self) -> Option<u64> {
        /// Takes the generation out of the delivery queue if a panic (a Rust logger's) comes
        /// before it is delivered, so that later writers do not wait for it.
        struct Pending(Option<(Arc<crate::notify::Notifier>, u64)>);
        impl Drop for Pending {
            fn drop(&mut self) {
                if let Some((n, g)) = self.0.take() {
                    n.withdraw(g);
                }
            }
        }
        let mut pending = Pending(self.notify);
        for c in &self.logged {
            let verb = match c.op {
                ChangeOp::Added => "added",
                ChangeOp::Reloaded => "reloaded",
                ChangeOp::Replaced => "replaced",
                ChangeOp::Removed => "removed",
                ChangeOp::Cleared | ChangeOp::Inventory => continue,
            };
            if let Some(id) = c.route.as_deref().and_then(Route::frozen_identity) {
                log::debug!("{}: {verb} {}", c.kind.pool_name(), id.display_name());
            }
        }
        // Callbacks first: a route let go of below may run a finalizer that commits again on
        // this thread, and that commit's callbacks must come after this one's.
        if let Some((n, g)) = pending.0.take() {
            n.deliver(g);
        }
        drop(self.logged);
        let mut evicted = self.evicted;
        if !evicted.is_empty() {
            warm_for_drop(&evicted);
            // A finalizer that commits again finds an empty spare list, which is fine.
            evicted.clear();
        }
        EVICTED.with(|e| e.set(evicted));
        self.generation
    }
}

/// Brings into the cache what dropping `records` will touch, with loads that do not depend on
/// one another, so that their cache misses overlap (see `Route::warm_for_drop`): the
/// reference count of every route named, and all the memory of the routes of `Removed`
/// records, which the log usually holds the last reference to. (A route added is usually
/// still live in its pool when its record goes: only its count changes.) Dropping the
/// records right after then finds that memory in the cache instead of missing it once per
/// buffer inside `free`, one miss after the other.
pub(crate) fn warm_for_drop(records: &[Change]) {
    let mut acc = 0usize;
    // Two passes, so that the loads of each pass depend on nothing loaded in the same pass.
    for r in records.iter().filter_map(|c| c.route.as_ref()) {
        acc = acc.wrapping_add(Arc::strong_count(r));
    }
    for c in records {
        if let (ChangeOp::Removed, Some(r)) = (c.op, &c.route) {
            acc = acc.wrapping_add(r.warm_for_drop());
        }
    }
    std::hint::black_box(acc);
}

impl Registry {
    /// Runs `f` with the commit lock read-held: no change set is half-applied meanwhile.
    /// Returns its result and the generation it saw.
    pub(crate) fn at_one_generation<R>(&self, f: impl FnOnce() -> R) -> (R, u64) {
        let _g = self.commit.read();
        fault_point!("registry.read");
        let r = f();
        (r, self.generation.load(Ordering::Acquire))
    }

    /// Runs `f` (which reads pool sizes) so that it sees no half-applied change set: a seqlock
    /// read, waiting on the commit lock when a writer is in the middle of one.
    pub(crate) fn counts<R>(&self, f: impl Fn() -> R) -> R {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 0 {
                let r = f();
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == before {
                    return r;
                }
            }
            // A writer is applying a change set: wait until it is done.
            drop(self.commit.read());
        }
    }
}
