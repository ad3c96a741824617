//! The change log: a bounded list of the change records of a registry's most recent commits.
//!
//! Each committed change set (an add that registered something, a del that removed something,
//! a clear that removed something, an inventory load, a batch) gets the next generation and
//! appends its records, all with that generation, in the order applied. The log keeps whole
//! change sets only: when it holds more records than its capacity, the oldest sets are dropped,
//! except the newest set, which stays (alone, if it is larger than the capacity) until the
//! next commit. A reader that asks for the records after a generation whose successors were
//! dropped gets [`Status::Stale`] and must start again from a snapshot.

use crate::error::{Error, Result, Status};
use crate::route::{Kind, Route};
use std::collections::VecDeque;
use std::sync::Arc;

/// The default capacity of a registry's change log, in records.
pub const DEFAULT_CAPACITY: usize = 4096;

/// What a change record says happened. The numbers are the C ABI's `rr_change_op` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ChangeOp {
    /// A route was registered under a key that was absent (or whose tombstone had expired).
    Added = 0,
    /// A route was registered under a key deleted less than 1 s before.
    Reloaded = 1,
    /// A route replaced a live route of lower or equal priority; the record names the new one.
    Replaced = 2,
    /// A route was deleted; the record names the route that was removed.
    Removed = 3,
    /// A pool that held live routes was cleared (no key, no route).
    Cleared = 4,
    /// The Proxmox inventory was replaced (no key, no route).
    Inventory = 5,
}

/// One change record.
#[derive(Clone, Debug)]
pub struct Change {
    /// The generation of the change set this record belongs to.
    pub generation: u64,
    /// What happened.
    pub op: ChangeOp,
    /// The pool (for `Inventory`: `Http`, meaningless).
    pub kind: Kind,
    /// The route added, reloaded, replacing or removed; `None` for `Cleared` and `Inventory`.
    /// Its key is the record's key.
    pub route: Option<Arc<Route>>,
}

impl Change {
    /// The record's key: the route's key, or empty for `Cleared` and `Inventory`.
    pub fn key(&self) -> &str {
        self.route.as_deref().map_or("", |r| {
            r.frozen_identity()
                .expect("routes in change records are frozen")
                .key()
                .as_str()
        })
    }
}

/// The records a reader asked for, copied out of the log (see [`ChangeLog::since`]).
#[derive(Debug)]
pub struct Changes {
    /// The records with a generation after the one asked for, oldest first.
    pub records: Vec<Change>,
    /// The registry's generation when the records were taken.
    pub current: u64,
}

impl Changes {
    /// Calls `f` on each record in order until it returns false. Returns how many records `f`
    /// was called with and the generation to ask from next time: the last change set all of
    /// whose records `f` saw (a set cut short by `f` is given again), or `current` when `f`
    /// saw them all.
    pub fn visit(&self, since: u64, mut f: impl FnMut(&Change) -> bool) -> (usize, u64) {
        for (i, c) in self.records.iter().enumerate() {
            if !f(c) {
                let set_complete = self
                    .records
                    .get(i + 1)
                    .is_none_or(|n| n.generation != c.generation);
                let next = if set_complete {
                    c.generation
                } else {
                    // The set before this one; `since` when this is the first set given.
                    self.records[..i]
                        .iter()
                        .rev()
                        .find(|p| p.generation != c.generation)
                        .map_or(since, |p| p.generation)
                };
                return (i + 1, next);
            }
        }
        (self.records.len(), self.current)
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct ChangeLog {
    records: VecDeque<Change>,
    capacity: usize,
    /// The newest generation whose records were dropped (0: none yet). Records after a
    /// generation `g` are complete in the log exactly when `g >= dropped_through`.
    dropped_through: u64,
    /// Records dropped from the log (no reader can get them any more) whose routes are not
    /// let go of yet: they are handed to a committing writer in chunks of
    /// [`ChangeLog::release_chunk`] records, so that it can bring their memory into the cache
    /// all at once before dropping them (see `commit::warm_for_drop`).
    dropped: Vec<Change>,
}

impl Default for ChangeLog {
    fn default() -> Self {
        ChangeLog {
            records: VecDeque::new(),
            capacity: DEFAULT_CAPACITY,
            dropped_through: 0,
            dropped: Vec::new(),
        }
    }
}

impl ChangeLog {
    /// The capacity, in records.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// How many dropped records are held before they go to a writer to let go of: 1/128 of
    /// the capacity, between 1 and 32 (so a log of up to 255 records lets go of each route at
    /// the commit that drops its record, and the default one holds at most 32 records more
    /// than its capacity).
    pub fn release_chunk(&self) -> usize {
        (self.capacity / 128).clamp(1, 32)
    }

    /// Appends the records of one change set (all of generation `generation`, greater than
    /// every generation in the log), then drops the oldest sets while over capacity; once
    /// [`ChangeLog::release_chunk`] records were dropped, they go to `evicted`, for the
    /// caller to let go of outside its locks.
    pub(crate) fn append(
        &mut self,
        records: impl Iterator<Item = Change>,
        evicted: &mut Vec<Change>,
    ) {
        self.records.extend(records);
        self.trim(evicted);
    }

    /// Sets the capacity (at least 1) and drops sets as `append` does.
    pub(crate) fn set_capacity(
        &mut self,
        capacity: usize,
        evicted: &mut Vec<Change>,
    ) -> Result<()> {
        if capacity == 0 {
            return Err(Error::invalid(
                "change log capacity must be at least 1 record",
            ));
        }
        self.capacity = capacity;
        self.trim(evicted);
        // Everything dropped goes now: callers shrink the log to let go of routes.
        evicted.append(&mut self.dropped);
        Ok(())
    }

    fn trim(&mut self, evicted: &mut Vec<Change>) {
        let Some(newest) = self.records.back().map(|c| c.generation) else {
            return;
        };
        while self.records.len() > self.capacity {
            let oldest = self.records.front().map_or(newest, |c| c.generation);
            if oldest == newest {
                break; // The newest set stays, alone, until the next commit.
            }
            while self.records.front().is_some_and(|c| c.generation == oldest) {
                self.dropped.extend(self.records.pop_front());
            }
            self.dropped_through = oldest;
        }
        if self.dropped.len() >= self.release_chunk() {
            evicted.append(&mut self.dropped);
        }
    }

    /// Copies the records with a generation after `since`; `current` is the registry's
    /// generation (read under the same lock as the log). `Stale` when some of them were
    /// dropped; `InvalidArgument` when `since` is in the future.
    pub fn since(&self, since: u64, current: u64) -> Result<Changes> {
        if since > current {
            return Err(Error::invalid(format!(
                "generation {since} is after the registry's current generation {current}"
            )));
        }
        if since < self.dropped_through {
            return Err(Error::new(
                Status::Stale,
                format!(
                    "change records after generation {since} were dropped from the change log \
                     (it keeps generations after {}): take a snapshot and continue from its \
                     generation",
                    self.dropped_through
                ),
            ));
        }
        let start = self.records.partition_point(|c| c.generation <= since);
        Ok(Changes {
            records: self.records.range(start..).cloned().collect(),
            current,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(g: u64, n: usize) -> Vec<Change> {
        (0..n)
            .map(|_| Change {
                generation: g,
                op: ChangeOp::Cleared,
                kind: Kind::Http,
                route: None,
            })
            .collect()
    }

    #[test]
    fn sets_are_dropped_whole_and_a_large_set_stays_alone() {
        let mut log = ChangeLog::default();
        let mut ev = Vec::new();
        log.set_capacity(4, &mut ev).unwrap();
        log.append(set(1, 2).into_iter(), &mut ev);
        log.append(set(2, 2).into_iter(), &mut ev);
        assert_eq!((log.len(), ev.len()), (4, 0));
        log.append(set(3, 1).into_iter(), &mut ev);
        // Set 1 went whole.
        assert_eq!((log.len(), ev.len()), (3, 2));
        assert_eq!(log.since(1, 3).unwrap().records.len(), 3);
        assert_eq!(log.since(0, 3).unwrap_err().status(), Status::Stale);
        log.append(set(4, 6).into_iter(), &mut ev);
        assert_eq!(log.len(), 6);
        assert_eq!(log.since(3, 4).unwrap().records.len(), 6);
        assert_eq!(log.since(2, 4).unwrap_err().status(), Status::Stale);
        log.append(set(5, 1).into_iter(), &mut ev);
        assert_eq!(log.len(), 1);
        assert_eq!(log.since(5, 5).unwrap().records.len(), 0);
        assert_eq!(
            log.since(6, 5).unwrap_err().status(),
            Status::InvalidArgument
        );
    }

    #[test]
    fn visit_gives_a_cut_set_again() {
        let mut records = set(3, 2);
        records.extend(set(4, 3));
        let ch = Changes {
            records,
            current: 4,
        };
        let mut n = 0;
        assert_eq!(ch.visit(2, |_| true), (5, 4));
        assert_eq!(
            ch.visit(2, |_| {
                n += 1;
                n < 1
            }),
            (1, 2)
        );
        n = 0;
        assert_eq!(
            ch.visit(2, |_| {
                n += 1;
                n < 2
            }),
            (2, 3)
        );
        n = 0;
        assert_eq!(
            ch.visit(2, |_| {
                n += 1;
                n < 4
            }),
            (4, 3)
        );
    }
}
