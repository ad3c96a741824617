//! `ReadMostly`: a reader-writer lock whose readers do not share a cache line.
//!
//! A plain `RwLock` counts readers in one word, so two threads doing lookups bounce that cache
//! line between their cores on every lock and unlock, and reads stop scaling (measured: two
//! readers did 0.66–0.94× the lookups of one; see BENCHMARKS.md). crossbeam's `ShardedLock`
//! gives each thread its own lock shard to read-lock; a writer locks every shard. Writes are
//! rarer than lookups by orders of magnitude in a route registry, so that trade is right here.

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};

/// A lock for data read far more often than written.
pub(crate) struct ReadMostly<T>(ShardedLock<T>);

impl<T> ReadMostly<T> {
    pub(crate) fn new(value: T) -> Self {
        ReadMostly(ShardedLock::new(value))
    }

    /// Shared access. A panic while a writer held the lock does not make the data unusable:
    /// every writer of the library leaves the data consistent at each point where it can
    /// panic, so poisoning is ignored.
    pub(crate) fn read(&self) -> ShardedLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Exclusive access (poisoning ignored, as for `read`).
    pub(crate) fn write(&self) -> ShardedLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}
