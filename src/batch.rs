//! Batches: adds and deletes collected, checked as they are put in, and committed as one
//! change set under one generation (see docs/DESIGN.md, "Batches").

use crate::changelog::ChangeOp;
use crate::commit::Commit;
use crate::error::{Error, Result};
use crate::pool::Added;
use crate::registry::Registry;
use crate::route::{check_name, Kind, Route};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;

enum Entry {
    Add(Arc<Route>),
    Del(Kind, Box<str>),
}

#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    /// Providers whose routes the batch replaces.
    providers: Vec<Box<str>>,
    committed: bool,
}

/// A batch. Safe to share between threads (entries are appended under a lock), though one
/// thread building it is the normal use.
#[derive(Default)]
pub struct Batch {
    state: Mutex<State>,
}

/// With the test-only `batch-atomicity-bug` feature, a batch commit lets go of its locks between
/// two entries: readers can see half of it. tests/linearizability.rs must catch this.
#[cfg(feature = "batch-atomicity-bug")]
static SPLIT_COMMIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn spent() -> Error {
    Error::invalid("the batch was already committed")
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&self, f: impl FnOnce(&mut State)) -> Result<()> {
        let mut st = self.state.lock();
        if st.committed {
            return Err(spent());
        }
        f(&mut st);
        Ok(())
    }

    /// Adds `route` at commit (the batch holds a reference; the route's identity is read, and
    /// frozen if it is registered, at commit).
    pub fn add(&self, route: Arc<Route>) -> Result<()> {
        self.push(|st| st.entries.push(Entry::Add(route)))
    }

    /// Deletes the live route with `key` from `kind`'s pool at commit (nothing if none then).
    /// A key no route can have (empty, over 255 bytes, with a NUL byte) is `InvalidArgument`.
    pub fn del_key(&self, kind: Kind, key: &str) -> Result<()> {
        check_name("key", key, false)?;
        self.push(|st| st.entries.push(Entry::Del(kind, key.into())))
    }

    /// Marks the batch as the complete new set of `provider`'s routes: at commit, every live
    /// route of that provider (any pool) that the batch does not add under the same (pool, key)
    /// is removed, and one that it does add there is replaced by the first such add whatever
    /// the priorities (the old set goes as a whole; the same route object added again stays,
    /// unchanged). The empty provider is a provider like any other.
    pub fn replace_provider(&self, provider: &str) -> Result<()> {
        check_name("provider", provider, true)?;
        self.push(|st| {
            if !st.providers.iter().any(|p| **p == *provider) {
                st.providers.push(provider.into());
            }
        })
    }

    /// The number of entries (adds and deletes) in the batch.
    pub fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    /// Whether the batch has no add or delete.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self) -> Result<State> {
        let mut st = self.state.lock();
        if st.committed {
            return Err(spent());
        }
        let taken = std::mem::take(&mut *st);
        st.committed = true;
        Ok(taken)
    }
}

/// A route being added by a batch, with what was read of its identity.
fn identity_of(route: &Route) -> (Kind, Box<str>) {
    route.with_identity(|i| (i.kind(), i.key().as_str().into()))
}

impl Registry {
    /// Commits `batch` as one change set: first the removals of `replace_provider` (pool by
    /// pool, keys in bytewise order), then the entries in the order they were put in (the rules of `add` and `del` apply, in order).
    /// Returns the registry's generation after the commit (unchanged when the batch changed
    /// nothing). A batch commits once: again is `InvalidArgument`.
    pub fn commit_batch(&self, batch: &Batch) -> Result<u64> {
        let State {
            entries, providers, ..
        } = batch.take()?;
        let mut commit = Commit::begin(self);
        // Which shards to lock: every one when routes of a provider must be found, else those of
        // the entries' keys. All are locked (in pool and shard order) before anything changes.
        let mut wanted: [Vec<bool>; 3] = Kind::ALL.map(|k| vec![false; self.pool(k).shard_count()]);
        let mut readded: HashSet<(Kind, Box<str>)> = HashSet::new();
        for e in &entries {
            let (kind, key) = match e {
                Entry::Add(r) => identity_of(r),
                Entry::Del(kind, key) => (*kind, key.clone()),
            };
            if providers.is_empty() {
                wanted[kind.index()][self.pool(kind).shard_of(key.as_bytes())] = true;
            } else if matches!(e, Entry::Add(_)) {
                readded.insert((kind, key));
            }
        }
        if !providers.is_empty() {
            wanted.iter_mut().for_each(|w| w.fill(true));
        }
        let mut writers = Kind::ALL.map(|k| self.pool(k).writer(&wanted[k.index()]));
        let mut removed = Vec::new();
        // Keys whose live route is of a replaced provider and which the batch adds again: the
        // first add of each replaces that route whatever the priorities, as if the old route
        // had been removed with the rest of its provider's set.
        let mut superseded: HashSet<(Kind, Box<str>)> = HashSet::new();
        if !providers.is_empty() {
            for kind in Kind::ALL {
                let w = &mut writers[kind.index()];
                let mut victims = w.live_keys(|r| {
                    let provider = r.frozen_identity().map(|i| i.provider().as_str());
                    provider.is_some_and(|p| providers.iter().any(|q| **q == *p))
                });
                // Removal records in a fixed order: pool, then key (bytewise).
                victims.sort_unstable();
                for key in victims {
                    let key = (kind, key);
                    if readded.contains(&key) {
                        superseded.insert(key);
                        continue;
                    }
                    let (kind, key) = key;
                    if let Some(old) = w.del(&key) {
                        commit.record(ChangeOp::Removed, kind, Some(Arc::clone(&old)));
                        removed.push(old);
                    }
                }
            }
        }
        let inventory = self.inventory();
        for e in entries {
            #[cfg(feature = "batch-atomicity-bug")]
            if SPLIT_COMMIT.load(std::sync::atomic::Ordering::Relaxed) {
                // The bug: between two entries, let go of every lock (the change set so far
                // becomes visible), let other threads run, then go on.
                for w in
                    std::mem::replace(&mut writers, Kind::ALL.map(|k| self.pool(k).writer(&[])))
                {
                    w.finish();
                }
                commit.pause();
            }
            match e {
                Entry::Add(route) => {
                    let mut reg = route.begin_registration();
                    let id = reg.identity();
                    let (kind, priority) = (id.kind(), id.priority());
                    let key: Box<str> = id.key().as_str().into();
                    let link = if reg.is_frozen() {
                        None
                    } else {
                        inventory.link_for(id)
                    };
                    let key = (kind, key);
                    // The replaced provider's old route does not compete on priority.
                    let priority = if superseded.remove(&key) {
                        i32::MAX
                    } else {
                        priority
                    };
                    let (kind, key) = key;
                    let outcome = writers[kind.index()].add(
                        &key,
                        priority,
                        Arc::clone(&route),
                        false,
                        || reg.freeze(link),
                    );
                    drop(reg);
                    let op = match outcome {
                        Added::Kept(_) | Added::Unchanged => continue,
                        Added::Added => ChangeOp::Added,
                        Added::Reloaded => ChangeOp::Reloaded,
                        Added::Replaced(old) => {
                            removed.push(old);
                            ChangeOp::Replaced
                        }
                    };
                    commit.record(op, kind, Some(route));
                }
                Entry::Del(kind, key) => {
                    if let Some(old) = writers[kind.index()].del(&key) {
                        commit.record(ChangeOp::Removed, kind, Some(Arc::clone(&old)));
                        removed.push(old);
                    }
                }
            }
        }
        for w in writers {
            w.finish();
        }
        commit.sync_index_on_publish();
        let committed = commit.finish();
        // The generation the batch applied at, read under the commit lock (a batch that
        // changed nothing reports the generation it saw, not a later writer's).
        let generation = committed.current;
        committed.done();
        drop(removed);
        Ok(generation)
    }
}
