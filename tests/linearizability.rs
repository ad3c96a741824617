//! Linearizability of the pool, checked the way Knossos and Porcupine do it.
//!
//! A recorder runs a few threads against one shared `Pool`, each doing a short random sequence
//! of operations (add, add_if_not_exists, del, get, size, snapshot and a clock tick) over a
//! handful of keys, and records for every operation its arguments, its result and the times
//! of its invocation and response (from one global `SeqCst` counter, so "A responded before B
//! was invoked" is an exact fact). A checker then searches, with Wing & Gong's algorithm as
//! improved by Lowe (depth-first search over the operations that may come next, memoising
//! every visited pair of linearized-set bitmask and model state), for a total order that
//! respects real time and in which every operation returns what a sequential model of the
//! pool rules (docs/BEHAVIOUR.md) returns. A history with no such order is a linearizability violation.
//!
//! The clock is a `ManualClock` that moves only through the history's own `Tick` operations,
//! each advancing it by exactly the tombstone TTL: clock time is `epoch × TTL`, so a tombstone
//! is young (an add over it is a reload) exactly when the add read the same epoch as the del
//! that left it. The pool reads the clock when `add`/`del` start, before taking the shard lock
//! (their linearization point), so the epoch an operation read is only known to lie between
//! the number of ticks that had responded before it was invoked and the number of ticks
//! linearized before it. The model keeps that range for each tombstone and accepts `Reloaded`
//! or `Added` whenever some epochs in the ranges give that answer (never rejecting a correct
//! pool), while priorities, kept/replaced routes, gets, deletes, sizes and snapshots are
//! checked exactly.
//!
//! With the test-only `linearizability-bug` feature, `Pool::add` decides under a read lock and
//! writes later without checking again; `broken_pool_is_caught` shows the checker finds it.
//!
//! The second half checks whole registries the same way: batches, single adds and deletes,
//! lookups and the reads that cover several routes (snapshot with its generation, counts,
//! health JSON); `broken_batch_is_caught` (feature `batch-atomicity-bug`) shows it catches a
//! batch commit that lets readers see half of it.
//!
//! `LINEARIZABILITY_SEED=<n>` replays the operation plans of a run (the thread schedule is
//! the machine's); `LINEARIZABILITY_TRIALS=<n>` changes the number of histories.

use route_registry::clock::ManualClock;
use route_registry::pool::{Added, Pool, TOMBSTONE_TTL};
use route_registry::{Batch, HealthFormat, Kind, Registry, Route};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The most keys a history uses (the model holds a fixed array of slots).
const MAX_KEYS: usize = 3;
/// The most operations in one history (the linearized set is a `u64` bitmask).
const MAX_OPS: usize = 64;

// ---------------------------------------------------------------------------------------------
// Histories

/// An operation and its arguments. Routes are named by a unique id, stored in the route's
/// user data; keys by their index (key `i` is `k{i}`, also the route's alias).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add {
        key: usize,
        route: u32,
        priority: i32,
        only_if_absent: bool,
    },
    Del {
        key: usize,
    },
    Get {
        key: usize,
    },
    Size,
    Snapshot,
    /// `ManualClock::advance(TOMBSTONE_TTL)`.
    Tick,
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ret {
    Added,
    Reloaded,
    Replaced(u32),
    Kept(u32),
    Got(Option<u32>),
    Deleted(Option<u32>),
    Size(usize),
    /// The live (key, route id) pairs, sorted.
    Snapshot(Vec<(usize, u32)>),
    Ticked,
}

/// One completed operation of a history.
#[derive(Clone, Debug)]
struct Event {
    thread: usize,
    op: Op,
    ret: Ret,
    /// Invocation time (a tick of the history's counter).
    call: u64,
    /// Response time; always greater than `call`.
    resp: u64,
}

fn key_name(key: usize) -> String {
    format!("k{key}")
}

fn route_id(r: &Route) -> u32 {
    u32::try_from(r.user_data()).expect("route ids fit in u32")
}

fn outcome_ret(o: Added) -> Ret {
    match o {
        Added::Added => Ret::Added,
        Added::Reloaded => Ret::Reloaded,
        Added::Replaced(old) => Ret::Replaced(route_id(&old)),
        Added::Kept(old) => Ret::Kept(route_id(&old)),
        Added::Unchanged => panic!("every add is of a new route, never one already registered"),
    }
}

// ---------------------------------------------------------------------------------------------
// The sequential model (the pool rules of docs/BEHAVIOUR.md)

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Slot {
    /// Never added (or its tombstone purged; purging needs > 256 tombstones, never reached).
    Absent,
    Live {
        route: u32,
        priority: i32,
    },
    /// A tombstone left by a del that read some clock epoch in `lo..=hi`.
    Dead {
        lo: u32,
        hi: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Model {
    slots: [Slot; MAX_KEYS],
    /// Ticks linearized so far.
    epoch: u32,
}

impl Model {
    fn new() -> Self {
        Model {
            slots: [Slot::Absent; MAX_KEYS],
            epoch: 0,
        }
    }

    fn live(&self) -> Vec<(usize, u32)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(k, s)| match s {
                Slot::Live { route, .. } => Some((k, *route)),
                _ => None,
            })
            .collect()
    }

    /// The state after `op` when it returns `ret` in this state, or `None` when the model
    /// cannot return `ret` here. `ticks_before` is the number of ticks that responded before
    /// `op` was invoked: a lower bound of the clock epoch `op` read.
    fn step(&self, op: &Op, ret: &Ret, ticks_before: u32) -> Option<Model> {
        let mut next = self.clone();
        let ok = match *op {
            Op::Add {
                key,
                route,
                priority,
                only_if_absent,
            } => {
                let live = Slot::Live { route, priority };
                match self.slots[key] {
                    Slot::Absent => {
                        next.slots[key] = live;
                        *ret == Ret::Added
                    }
                    Slot::Dead { lo, hi } => {
                        // The add read an epoch in ticks_before..=self.epoch, the del one in
                        // lo..=hi; the pool reports a reload iff the add's epoch is not later.
                        next.slots[key] = live;
                        match ret {
                            Ret::Reloaded => ticks_before <= hi,
                            Ret::Added => self.epoch > lo,
                            _ => false,
                        }
                    }
                    Slot::Live {
                        route: old,
                        priority: old_priority,
                    } => {
                        if only_if_absent || priority < old_priority {
                            *ret == Ret::Kept(old)
                        } else {
                            next.slots[key] = live;
                            *ret == Ret::Replaced(old)
                        }
                    }
                }
            }
            Op::Del { key } => match self.slots[key] {
                Slot::Live { route, .. } => {
                    next.slots[key] = Slot::Dead {
                        lo: ticks_before,
                        hi: self.epoch,
                    };
                    *ret == Ret::Deleted(Some(route))
                }
                Slot::Absent | Slot::Dead { .. } => *ret == Ret::Deleted(None),
            },
            Op::Get { key } => {
                let want = match self.slots[key] {
                    Slot::Live { route, .. } => Some(route),
                    _ => None,
                };
                *ret == Ret::Got(want)
            }
            Op::Size => *ret == Ret::Size(self.live().len()),
            Op::Snapshot => *ret == Ret::Snapshot(self.live()),
            Op::Tick => {
                next.epoch += 1;
                *ret == Ret::Ticked
            }
        };
        ok.then_some(next)
    }
}

// ---------------------------------------------------------------------------------------------
// The checker

/// What a check found.
struct Verdict {
    /// A linearization (indices into the history), when there is one.
    order: Option<Vec<usize>>,
    /// Distinct (bitmask, state) pairs visited.
    states: usize,
}

/// Searches for a linearization of `history` against the model, starting from an empty pool
/// with the clock at epoch 0.
fn check(history: &[Event]) -> Verdict {
    assert!(
        history.len() <= MAX_OPS,
        "history too long for a u64 bitmask"
    );
    for e in history {
        assert!(
            e.call < e.resp,
            "event responds before it is invoked: {e:?}"
        );
    }
    let ticks_before: Vec<u32> = history
        .iter()
        .map(|e| {
            let n = history
                .iter()
                .filter(|t| t.op == Op::Tick && t.resp < e.call)
                .count();
            u32::try_from(n).unwrap()
        })
        .collect();
    let mut search = Search {
        history,
        ticks_before: &ticks_before,
        seen: HashSet::new(),
        order: Vec::with_capacity(history.len()),
    };
    let found = search.dfs(0, Model::new());
    Verdict {
        order: found.then_some(search.order),
        states: search.seen.len(),
    }
}

struct Search<'a> {
    history: &'a [Event],
    ticks_before: &'a [u32],
    seen: HashSet<(u64, Model)>,
    order: Vec<usize>,
}

impl Search<'_> {
    fn dfs(&mut self, done: u64, model: Model) -> bool {
        let n = self.history.len();
        if done.count_ones() as usize == n {
            return true;
        }
        if !self.seen.insert((done, model.clone())) {
            return false;
        }
        let pending = || (0..n).filter(move |i| done & (1u64 << i) == 0);
        // An operation can come next only if no pending operation responded before it was
        // invoked.
        let first_resp = pending().map(|i| self.history[i].resp).min().unwrap();
        for i in pending() {
            let e = &self.history[i];
            if e.call > first_resp {
                continue;
            }
            if let Some(next) = model.step(&e.op, &e.ret, self.ticks_before[i]) {
                self.order.push(i);
                if self.dfs(done | (1u64 << i), next) {
                    return true;
                }
                self.order.pop();
            }
        }
        false
    }
}

/// The history as text, in invocation order, for failure messages.
fn render(history: &[Event]) -> String {
    let mut idx: Vec<usize> = (0..history.len()).collect();
    idx.sort_by_key(|&i| history[i].call);
    let mut out = String::new();
    for i in idx {
        let e = &history[i];
        let _ = writeln!(
            out,
            "  #{i:<2} t{} [{:>3}, {:>3}] {:?} -> {:?}",
            e.thread, e.call, e.resp, e.op, e.ret
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The recorder

/// splitmix64: a small deterministic generator (the crate has no `rand` dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The shape of one history.
#[derive(Clone, Copy, Debug)]
struct Shape {
    threads: usize,
    ops_per_thread: usize,
    keys: usize,
}

/// Shapes cycled through, trial after trial.
const SHAPES: [Shape; 4] = [
    Shape {
        threads: 4,
        ops_per_thread: 6,
        keys: 2,
    },
    Shape {
        threads: 3,
        ops_per_thread: 8,
        keys: 3,
    },
    Shape {
        threads: 4,
        ops_per_thread: 7,
        keys: 3,
    },
    Shape {
        threads: 3,
        ops_per_thread: 6,
        keys: 1,
    },
];

/// A delay around an operation, to vary the interleavings. On a machine with fewer free
/// cores than threads, a thread otherwise tends to run its whole plan within one time slice;
/// yielding inside an operation's window (between its invocation and its response times)
/// lets other threads run operations that overlap it, as on a machine with more cores.
#[derive(Clone, Copy, Debug)]
enum Pause {
    None,
    /// Spin this many times before the invocation.
    Spin(u32),
    /// Yield between the invocation time and the operation.
    YieldBefore,
    /// Yield between the operation and the response time.
    YieldAfter,
}

/// For each thread, its steps: an operation, the route it adds (for an add) and a pause.
type Plan = Vec<Vec<(Op, Option<Arc<Route>>, Pause)>>;

/// A random plan of `shape`.
fn plan(rng: &mut Rng, shape: Shape) -> Plan {
    assert!(shape.keys <= MAX_KEYS && shape.threads * shape.ops_per_thread <= MAX_OPS);
    let mut next_id = 1u32;
    (0..shape.threads)
        .map(|_| {
            (0..shape.ops_per_thread)
                .map(|_| {
                    let key = rng.below(shape.keys);
                    let pause = match rng.below(8) {
                        0..=2 => Pause::None,
                        3..=4 => Pause::Spin(u32::try_from(rng.below(500)).unwrap()),
                        5..=6 => Pause::YieldBefore,
                        _ => Pause::YieldAfter,
                    };
                    let (op, route) = match rng.below(100) {
                        0..=44 => {
                            let id = next_id;
                            next_id += 1;
                            let priority = i32::try_from(rng.below(3)).unwrap();
                            let r = Route::new(Kind::Http, &key_name(key), "http://10.0.0.1:80")
                                .unwrap();
                            r.set_priority(priority).unwrap();
                            r.set_user_data(u64::from(id)).unwrap();
                            let op = Op::Add {
                                key,
                                route: id,
                                priority,
                                only_if_absent: rng.below(4) == 0,
                            };
                            (op, Some(Arc::new(r)))
                        }
                        45..=64 => (Op::Del { key }, None),
                        65..=84 => (Op::Get { key }, None),
                        85..=89 => (Op::Size, None),
                        90..=95 => (Op::Snapshot, None),
                        _ => (Op::Tick, None),
                    };
                    (op, route, pause)
                })
                .collect()
        })
        .collect()
}

/// Runs `plan` on a fresh pool, one thread per plan row, all released at once; returns the
/// history.
fn record(plan: Plan) -> Vec<Event> {
    let clock = Arc::new(ManualClock::new());
    let pool = Pool::new(clock.clone());
    let now = AtomicU64::new(0);
    let arrived = AtomicUsize::new(0);
    let threads = plan.len();
    let rows: Vec<Vec<Event>> = std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .into_iter()
            .enumerate()
            .map(|(thread, ops)| {
                let (clock, pool, now, arrived) = (&clock, &pool, &now, &arrived);
                s.spawn(move || {
                    // Start together: a spinning start overlaps the threads far more than a
                    // `Barrier`, whose wake-ups are staggered by more than a whole plan takes.
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let mut spins = 0u32;
                    while arrived.load(Ordering::SeqCst) < threads {
                        spins += 1;
                        if spins % 1024 == 0 {
                            std::thread::yield_now();
                        }
                        std::hint::spin_loop();
                    }
                    let mut events = Vec::with_capacity(ops.len());
                    for (op, route, pause) in ops {
                        if let Pause::Spin(n) = pause {
                            for _ in 0..n {
                                std::hint::spin_loop();
                            }
                        }
                        let call = now.fetch_add(1, Ordering::SeqCst);
                        if let Pause::YieldBefore = pause {
                            std::thread::yield_now();
                        }
                        let ret = match op {
                            Op::Add {
                                key,
                                priority,
                                only_if_absent,
                                ..
                            } => outcome_ret(pool.add(
                                &key_name(key),
                                priority,
                                route.expect("an add has a route"),
                                only_if_absent,
                                || {},
                            )),
                            Op::Del { key } => {
                                Ret::Deleted(pool.del(&key_name(key)).map(|r| route_id(&r)))
                            }
                            Op::Get { key } => {
                                Ret::Got(pool.get(key_name(key)).map(|r| route_id(&r)))
                            }
                            Op::Size => Ret::Size(pool.size()),
                            Op::Snapshot => {
                                let mut live: Vec<(usize, u32)> = pool
                                    .snapshot()
                                    .iter()
                                    .map(|r| {
                                        let key = r.key();
                                        let k = key[1..].parse().expect("key is k<index>");
                                        (k, route_id(r))
                                    })
                                    .collect();
                                live.sort_unstable();
                                Ret::Snapshot(live)
                            }
                            Op::Tick => {
                                clock.advance(TOMBSTONE_TTL);
                                Ret::Ticked
                            }
                        };
                        if let Pause::YieldAfter = pause {
                            std::thread::yield_now();
                        }
                        let resp = now.fetch_add(1, Ordering::SeqCst);
                        events.push(Event {
                            thread,
                            op,
                            ret,
                            call,
                            resp,
                        });
                    }
                    events
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    rows.into_iter().flatten().collect()
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a non-negative integer")),
    )
}

fn seed() -> u64 {
    env_u64("LINEARIZABILITY_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    })
}

/// Counts of what a run of trials saw, to show the histories exercise the semantics.
#[cfg(not(feature = "linearizability-bug"))]
#[derive(Default, Debug)]
struct Coverage {
    added: usize,
    added_over_tombstone: usize,
    reloaded: usize,
    replaced: usize,
    kept: usize,
    got_some: usize,
    deleted_some: usize,
    ticks: usize,
    /// Histories in which operations of different threads overlapped in time.
    concurrent: usize,
    /// Operations that overlapped an operation of another thread.
    overlapping_ops: usize,
}

#[cfg(not(feature = "linearizability-bug"))]
impl Coverage {
    fn count(&mut self, history: &[Event]) {
        for e in history {
            match e.ret {
                Ret::Added => self.added += 1,
                Ret::Reloaded => self.reloaded += 1,
                Ret::Replaced(_) => self.replaced += 1,
                Ret::Kept(_) => self.kept += 1,
                Ret::Got(Some(_)) => self.got_some += 1,
                Ret::Deleted(Some(_)) => self.deleted_some += 1,
                Ret::Ticked => self.ticks += 1,
                _ => {}
            }
        }
        let overlapping = history
            .iter()
            .filter(|a| {
                history
                    .iter()
                    .any(|b| a.thread != b.thread && a.call < b.resp && b.call < a.resp)
            })
            .count();
        self.overlapping_ops += overlapping;
        self.concurrent += usize::from(overlapping > 0);
    }

    /// Adds reported `Added` on a key that had already been added in this history (so over a
    /// tombstone the clock had aged past the TTL).
    fn count_added_over_tombstone(&mut self, history: &[Event], order: &[usize]) {
        let mut seen = [false; MAX_KEYS];
        for &i in order {
            if let Op::Add { key, .. } = history[i].op {
                if history[i].ret == Ret::Added && seen[key] {
                    self.added_over_tombstone += 1;
                }
                seen[key] = true;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[cfg(not(feature = "linearizability-bug"))]
#[test]
fn pool_histories_are_linearizable() {
    let seed = seed();
    let trials = env_u64("LINEARIZABILITY_TRIALS").unwrap_or(1000);
    let mut rng = Rng(seed);
    let mut coverage = Coverage::default();
    let (mut ops, mut states, mut max_states) = (0usize, 0usize, 0usize);
    let (mut record_time, mut check_time) = (Default::default(), Default::default());
    for trial in 0..trials {
        let shape = SHAPES[trial as usize % SHAPES.len()];
        let t0 = Instant::now();
        let history = record(plan(&mut rng, shape));
        let t1 = Instant::now();
        let verdict = check(&history);
        record_time += t1 - t0;
        check_time += t1.elapsed();
        let Some(order) = verdict.order else {
            panic!(
                "seed {seed}, trial {trial}: history not linearizable ({} states searched):\n{}",
                verdict.states,
                render(&history)
            );
        };
        ops += history.len();
        states += verdict.states;
        max_states = max_states.max(verdict.states);
        coverage.count(&history);
        coverage.count_added_over_tombstone(&history, &order);
    }
    let record_time: std::time::Duration = record_time;
    let check_time: std::time::Duration = check_time;
    eprintln!(
        "linearizability: seed {seed}: {trials} histories, {ops} operations, all linearizable; \
         {states} search states (max {max_states} in one history); recording {record_time:.2?}, \
         checking {check_time:.2?}; {coverage:?}"
    );
    // The histories must exercise every outcome, or the check proves little.
    assert!(coverage.concurrent * 2 > trials as usize, "{coverage:?}");
    assert!(coverage.overlapping_ops * 4 > ops, "{coverage:?}");
    for (what, n) in [
        ("added", coverage.added),
        ("reloaded", coverage.reloaded),
        ("replaced", coverage.replaced),
        ("kept", coverage.kept),
        ("get hits", coverage.got_some),
        ("deletes", coverage.deleted_some),
        ("ticks", coverage.ticks),
        (
            "adds over an expired tombstone",
            coverage.added_over_tombstone,
        ),
    ] {
        assert!(n > 0, "no {what} in {trials} histories: {coverage:?}");
    }
}

/// Builds a history from `(thread, call, resp, op, ret)` rows.
fn history(rows: &[(usize, u64, u64, Op, Ret)]) -> Vec<Event> {
    rows.iter()
        .map(|(thread, call, resp, op, ret)| Event {
            thread: *thread,
            op: *op,
            ret: ret.clone(),
            call: *call,
            resp: *resp,
        })
        .collect()
}

fn add(key: usize, route: u32, priority: i32) -> Op {
    Op::Add {
        key,
        route,
        priority,
        only_if_absent: false,
    }
}

fn add_if_absent(key: usize, route: u32) -> Op {
    Op::Add {
        key,
        route,
        priority: 0,
        only_if_absent: true,
    }
}

#[track_caller]
fn assert_linearizable(rows: &[(usize, u64, u64, Op, Ret)]) {
    let h = history(rows);
    assert!(
        check(&h).order.is_some(),
        "rejected a linearizable history:\n{}",
        render(&h)
    );
}

#[track_caller]
fn assert_not_linearizable(rows: &[(usize, u64, u64, Op, Ret)]) {
    let h = history(rows);
    let v = check(&h);
    assert!(
        v.order.is_none(),
        "accepted a non-linearizable history, as {:?}:\n{}",
        v.order,
        render(&h)
    );
}

#[test]
fn checker_rejects_a_non_linearizable_history() {
    use Op::{Del, Get, Size, Snapshot, Tick};
    use Ret::{Added, Deleted, Got, Kept, Reloaded, Replaced, Ticked};

    // Sequential and correct.
    assert_linearizable(&[
        (0, 0, 1, add(0, 1, 1), Added),
        (0, 2, 3, Get { key: 0 }, Got(Some(1))),
        (0, 4, 5, add(0, 2, 0), Kept(1)),
        (0, 6, 7, add(0, 3, 1), Replaced(1)),
        (0, 8, 9, Size, Ret::Size(1)),
        (0, 10, 11, Del { key: 0 }, Deleted(Some(3))),
        (0, 12, 13, Del { key: 0 }, Deleted(None)),
        (0, 14, 15, Snapshot, Ret::Snapshot(vec![])),
        (0, 16, 17, add(0, 4, 0), Reloaded),
    ]);

    // Two sequential gets see the new route, then the old one again: a read goes back in
    // time. Each get alone could be explained, not both in this order.
    let new_then_old = [
        (0, 0, 1, add(0, 1, 0), Added),
        (1, 2, 20, add(0, 2, 0), Replaced(1)),
        (2, 3, 4, Get { key: 0 }, Got(Some(2))),
        (2, 5, 6, Get { key: 0 }, Got(Some(1))),
    ];
    assert_not_linearizable(&new_then_old);
    // The same gets in the other order are fine: the replace happened between them.
    assert_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (1, 2, 20, add(0, 2, 0), Replaced(1)),
        (2, 3, 4, Get { key: 0 }, Got(Some(1))),
        (2, 5, 6, Get { key: 0 }, Got(Some(2))),
    ]);

    // Two sequential gets return different routes with no write between them.
    assert_not_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (1, 2, 3, add(0, 2, 0), Replaced(1)),
        (2, 4, 5, Get { key: 0 }, Got(Some(2))),
        (2, 6, 7, Get { key: 0 }, Got(Some(1))),
    ]);

    // A get returns the route after the del of it completed, with no add since: a tombstone
    // was returned.
    assert_not_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (0, 2, 3, Del { key: 0 }, Deleted(Some(1))),
        (1, 4, 5, Get { key: 0 }, Got(Some(1))),
    ]);
    // Concurrent with the del, it may still see the route.
    assert_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (0, 2, 5, Del { key: 0 }, Deleted(Some(1))),
        (1, 3, 4, Get { key: 0 }, Got(Some(1))),
    ]);

    // Concurrent adds of different priorities: the higher one may come first and keep the
    // lower one out, or come second and replace it...
    assert_linearizable(&[
        (0, 0, 3, add(0, 1, 5), Added),
        (1, 1, 2, add(0, 2, 1), Kept(1)),
    ]);
    assert_linearizable(&[
        (0, 0, 3, add(0, 1, 5), Replaced(2)),
        (1, 1, 2, add(0, 2, 1), Added),
    ]);
    // ...but the lower one never replaces the higher (the race the broken pool has), and two
    // adds of one key never both add.
    assert_not_linearizable(&[
        (0, 0, 3, add(0, 1, 5), Added),
        (1, 1, 2, add(0, 2, 1), Replaced(1)),
    ]);
    assert_not_linearizable(&[
        (0, 0, 3, add(0, 1, 5), Added),
        (1, 1, 2, add(0, 2, 1), Added),
    ]);
    // add_if_not_exists keeps any live route, whatever the priorities.
    assert_not_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (1, 2, 3, add_if_absent(0, 2), Replaced(1)),
    ]);
    assert_linearizable(&[
        (0, 0, 1, add(0, 1, -3), Added),
        (1, 2, 3, add_if_absent(0, 2), Kept(1)),
    ]);

    // Size and snapshot must agree with the live routes at one moment.
    assert_not_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (0, 2, 3, add(1, 2, 0), Added),
        (1, 4, 5, Size, Ret::Size(1)),
    ]);
    assert_not_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (1, 2, 9, add(1, 2, 0), Added),
        (2, 3, 4, Snapshot, Ret::Snapshot(vec![(0, 1), (1, 2)])),
        (2, 5, 6, Size, Ret::Size(1)),
    ]);
    assert_linearizable(&[
        (0, 0, 1, add(0, 1, 0), Added),
        (1, 2, 9, add(1, 2, 0), Added),
        (2, 3, 4, Size, Ret::Size(1)),
        (2, 5, 6, Snapshot, Ret::Snapshot(vec![(0, 1), (1, 2)])),
    ]);

    // Tombstone age: with no tick, re-adding a deleted key is a reload, never an add...
    let readd = |ret: Ret| {
        [
            (0, 0, 1, add(0, 1, 0), Added),
            (0, 2, 3, Del { key: 0 }, Deleted(Some(1))),
            (0, 4, 5, add(0, 2, 0), ret),
        ]
    };
    assert_linearizable(&readd(Reloaded));
    assert_not_linearizable(&readd(Added));
    // ...after a completed tick (TTL elapsed) it is an add, never a reload...
    let aged = |ret: Ret| {
        [
            (0, 0, 1, add(0, 1, 0), Added),
            (0, 2, 3, Del { key: 0 }, Deleted(Some(1))),
            (1, 4, 5, Tick, Ticked),
            (0, 6, 7, add(0, 2, 0), ret),
        ]
    };
    assert_linearizable(&aged(Added));
    assert_not_linearizable(&aged(Reloaded));
    // ...and with the tick concurrent with the re-add, either answer is possible.
    let racing = |ret: Ret| {
        [
            (0, 0, 1, add(0, 1, 0), Added),
            (0, 2, 3, Del { key: 0 }, Deleted(Some(1))),
            (1, 4, 7, Tick, Ticked),
            (0, 5, 6, add(0, 2, 0), ret),
        ]
    };
    assert_linearizable(&racing(Added));
    assert_linearizable(&racing(Reloaded));

    // A result no operation could produce.
    assert_not_linearizable(&[(0, 0, 1, Get { key: 0 }, Got(Some(7)))]);
}

#[cfg(feature = "linearizability-bug")]
#[test]
fn broken_pool_is_caught() {
    let seed = seed();
    let max_trials = env_u64("LINEARIZABILITY_TRIALS").unwrap_or(2000);
    let mut rng = Rng(seed);
    let mut ops = 0;
    let started = Instant::now();
    for trial in 0..max_trials {
        let shape = SHAPES[trial as usize % SHAPES.len()];
        let history = record(plan(&mut rng, shape));
        ops += history.len();
        let verdict = check(&history);
        if verdict.order.is_none() {
            eprintln!(
                "linearizability: seed {seed}: the broken pool was caught at trial {} \
                 ({ops} operations, {:.2?}); no order of this history fits the model \
                 ({} states searched):\n{}",
                trial + 1,
                started.elapsed(),
                verdict.states,
                render(&history)
            );
            return;
        }
    }
    panic!("seed {seed}: the broken pool passed {max_trials} histories ({ops} operations)");
}

// ---------------------------------------------------------------------------------------------
// Registry histories: batches and multi-route reads
//
// The same method over a whole `Registry`: single adds and deletes, lookups, batches (adds and
// deletes in two pools, committed as one change set), and the reads that cover several routes
// (a snapshot of all pools with its generation, the count of all routes, the aliases the health
// JSON shows). The model applies a batch as one step and bumps the generation by one per change
// set, so a reader that sees part of a batch, or a snapshot whose routes do not match its
// generation, has no linearization. The clock never moves: every re-add over a tombstone is a
// reload. With the test-only `batch-atomicity-bug` feature a batch commit lets go of its locks
// between entries; `broken_batch_is_caught` shows the checker finds it.

/// Pools used (HTTP, STREAM) and keys per pool.
const REG_POOLS: usize = 2;
const REG_KEYS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BatchEntry {
    Add {
        pool: usize,
        key: usize,
        route: u32,
        priority: i32,
    },
    Del {
        pool: usize,
        key: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum RegOp {
    Add {
        pool: usize,
        key: usize,
        route: u32,
        priority: i32,
    },
    Del {
        pool: usize,
        key: usize,
    },
    /// `Registry::get`: HTTP, then STREAM.
    Get {
        key: usize,
    },
    Batch(Vec<BatchEntry>),
    /// `Registry::snapshot` of every pool, with its generation.
    Snapshot,
    Count,
    /// The aliases the health JSON shows.
    Health,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum RegRet {
    Added,
    Reloaded,
    Replaced(u32),
    Kept(u32),
    Deleted(Option<u32>),
    Got(Option<u32>),
    /// The generation the commit reported.
    Committed(u64),
    /// Live (pool, key, route) sorted, and the generation.
    Snapshot(Vec<(usize, usize, u32)>, u64),
    Count(usize),
    Health(Vec<usize>),
}

#[derive(Clone, Debug)]
struct RegEvent {
    thread: usize,
    op: RegOp,
    ret: RegRet,
    call: u64,
    resp: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RegSlot {
    Absent,
    Live { route: u32, priority: i32 },
    Dead,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RegModel {
    slots: [[RegSlot; REG_KEYS]; REG_POOLS],
    generation: u64,
}

impl RegModel {
    fn new() -> Self {
        RegModel {
            slots: [[RegSlot::Absent; REG_KEYS]; REG_POOLS],
            generation: 0,
        }
    }

    fn live(&self) -> Vec<(usize, usize, u32)> {
        let mut out = Vec::new();
        for (p, pool) in self.slots.iter().enumerate() {
            for (k, s) in pool.iter().enumerate() {
                if let RegSlot::Live { route, .. } = s {
                    out.push((p, k, *route));
                }
            }
        }
        out
    }

    /// Applies an add; returns what it does (and whether it changed anything).
    fn add(&mut self, pool: usize, key: usize, route: u32, priority: i32) -> RegRet {
        let slot = &mut self.slots[pool][key];
        let ret = match *slot {
            RegSlot::Live {
                route: old,
                priority: p,
            } if priority < p => return RegRet::Kept(old),
            RegSlot::Live { route: old, .. } => RegRet::Replaced(old),
            RegSlot::Dead => RegRet::Reloaded,
            RegSlot::Absent => RegRet::Added,
        };
        *slot = RegSlot::Live { route, priority };
        ret
    }

    fn del(&mut self, pool: usize, key: usize) -> Option<u32> {
        let slot = &mut self.slots[pool][key];
        match *slot {
            RegSlot::Live { route, .. } => {
                *slot = RegSlot::Dead;
                Some(route)
            }
            _ => None,
        }
    }

    fn step(&self, op: &RegOp, ret: &RegRet) -> Option<RegModel> {
        let mut next = self.clone();
        let ok = match op {
            RegOp::Add {
                pool,
                key,
                route,
                priority,
            } => {
                let r = next.add(*pool, *key, *route, *priority);
                if !matches!(r, RegRet::Kept(_)) {
                    next.generation += 1;
                }
                r == *ret
            }
            RegOp::Del { pool, key } => {
                let r = next.del(*pool, *key);
                if r.is_some() {
                    next.generation += 1;
                }
                *ret == RegRet::Deleted(r)
            }
            RegOp::Get { key } => {
                let found = (0..REG_POOLS).find_map(|p| match self.slots[p][*key] {
                    RegSlot::Live { route, .. } => Some(route),
                    _ => None,
                });
                *ret == RegRet::Got(found)
            }
            RegOp::Batch(entries) => {
                let mut changed = false;
                for e in entries {
                    changed |= match *e {
                        BatchEntry::Add {
                            pool,
                            key,
                            route,
                            priority,
                        } => !matches!(next.add(pool, key, route, priority), RegRet::Kept(_)),
                        BatchEntry::Del { pool, key } => next.del(pool, key).is_some(),
                    };
                }
                if changed {
                    next.generation += 1;
                }
                *ret == RegRet::Committed(next.generation)
            }
            RegOp::Snapshot => *ret == RegRet::Snapshot(self.live(), self.generation),
            RegOp::Count => *ret == RegRet::Count(self.live().len()),
            RegOp::Health => {
                let mut keys: Vec<usize> = self.live().iter().map(|l| l.1).collect();
                keys.sort_unstable();
                keys.dedup();
                *ret == RegRet::Health(keys)
            }
        };
        ok.then_some(next)
    }
}

/// Searches for a linearization of a registry history (as `check` does for pools).
fn check_registry(history: &[RegEvent]) -> Verdict {
    assert!(history.len() <= MAX_OPS);
    struct S<'a> {
        h: &'a [RegEvent],
        seen: HashSet<(u64, RegModel)>,
        order: Vec<usize>,
    }
    impl S<'_> {
        fn dfs(&mut self, done: u64, model: RegModel) -> bool {
            let n = self.h.len();
            if done.count_ones() as usize == n {
                return true;
            }
            if !self.seen.insert((done, model.clone())) {
                return false;
            }
            let pending = || (0..n).filter(move |i| done & (1u64 << i) == 0);
            let first_resp = pending().map(|i| self.h[i].resp).min().unwrap();
            for i in pending() {
                let e = &self.h[i];
                if e.call > first_resp {
                    continue;
                }
                if let Some(next) = model.step(&e.op, &e.ret) {
                    self.order.push(i);
                    if self.dfs(done | (1u64 << i), next) {
                        return true;
                    }
                    self.order.pop();
                }
            }
            false
        }
    }
    let mut s = S {
        h: history,
        seen: HashSet::new(),
        order: Vec::new(),
    };
    let found = s.dfs(0, RegModel::new());
    Verdict {
        order: found.then_some(s.order),
        states: s.seen.len(),
    }
}

fn render_registry(history: &[RegEvent]) -> String {
    let mut idx: Vec<usize> = (0..history.len()).collect();
    idx.sort_by_key(|&i| history[i].call);
    let mut out = String::new();
    for i in idx {
        let e = &history[i];
        let _ = writeln!(
            out,
            "  #{i:<2} t{} [{:>3}, {:>3}] {:?} -> {:?}",
            e.thread, e.call, e.resp, e.op, e.ret
        );
    }
    out
}

const REG_KINDS: [Kind; REG_POOLS] = [Kind::Http, Kind::Stream];

fn reg_route(pool: usize, key: usize, id: u32, priority: i32) -> Arc<Route> {
    let url = if pool == 0 {
        "http://10.0.0.1:80"
    } else {
        "tcp://10.0.0.1:53"
    };
    let r = Route::new(REG_KINDS[pool], &key_name(key), url).unwrap();
    r.set_priority(priority).unwrap();
    r.set_user_data(u64::from(id)).unwrap();
    Arc::new(r)
}

type RegPlan = Vec<Vec<(RegOp, Vec<Arc<Route>>, Pause)>>;

fn reg_plan(rng: &mut Rng, threads: usize, ops_per_thread: usize) -> RegPlan {
    assert!(threads * ops_per_thread <= MAX_OPS);
    let mut next_id = 1u32;
    let mut id = || {
        let i = next_id;
        next_id += 1;
        i
    };
    (0..threads)
        .map(|_| {
            (0..ops_per_thread)
                .map(|_| {
                    let pause = match rng.below(8) {
                        0..=2 => Pause::None,
                        3..=4 => Pause::Spin(u32::try_from(rng.below(500)).unwrap()),
                        5..=6 => Pause::YieldBefore,
                        _ => Pause::YieldAfter,
                    };
                    let (pool, key) = (rng.below(REG_POOLS), rng.below(REG_KEYS));
                    let priority = i32::try_from(rng.below(2)).unwrap();
                    let (op, routes) = match rng.below(100) {
                        0..=14 => {
                            let route = id();
                            let op = RegOp::Add {
                                pool,
                                key,
                                route,
                                priority,
                            };
                            (op, vec![reg_route(pool, key, route, priority)])
                        }
                        15..=24 => (RegOp::Del { pool, key }, vec![]),
                        25..=44 => {
                            let mut entries = Vec::new();
                            let mut routes = Vec::new();
                            for _ in 0..2 + rng.below(2) {
                                let (pool, key) = (rng.below(REG_POOLS), rng.below(REG_KEYS));
                                if rng.below(3) == 0 {
                                    entries.push(BatchEntry::Del { pool, key });
                                } else {
                                    let route = id();
                                    let priority = i32::try_from(rng.below(2)).unwrap();
                                    entries.push(BatchEntry::Add {
                                        pool,
                                        key,
                                        route,
                                        priority,
                                    });
                                    routes.push(reg_route(pool, key, route, priority));
                                }
                            }
                            (RegOp::Batch(entries), routes)
                        }
                        45..=59 => (RegOp::Get { key }, vec![]),
                        60..=79 => (RegOp::Snapshot, vec![]),
                        80..=89 => (RegOp::Count, vec![]),
                        _ => (RegOp::Health, vec![]),
                    };
                    (op, routes, pause)
                })
                .collect()
        })
        .collect()
}

fn reg_record(plan: RegPlan) -> Vec<RegEvent> {
    let reg = Registry::with_clock(Arc::new(ManualClock::new()));
    let now = AtomicU64::new(0);
    let arrived = AtomicUsize::new(0);
    let threads = plan.len();
    let key_of = |r: &Route| -> usize { r.key()[1..].parse().expect("key is k<index>") };
    let rows: Vec<Vec<RegEvent>> = std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .into_iter()
            .enumerate()
            .map(|(thread, ops)| {
                let (reg, now, arrived) = (&reg, &now, &arrived);
                s.spawn(move || {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    let mut spins = 0u32;
                    while arrived.load(Ordering::SeqCst) < threads {
                        spins += 1;
                        if spins % 1024 == 0 {
                            std::thread::yield_now();
                        }
                        std::hint::spin_loop();
                    }
                    let mut events = Vec::with_capacity(ops.len());
                    for (op, routes, pause) in ops {
                        if let Pause::Spin(n) = pause {
                            for _ in 0..n {
                                std::hint::spin_loop();
                            }
                        }
                        let call = now.fetch_add(1, Ordering::SeqCst);
                        if let Pause::YieldBefore = pause {
                            std::thread::yield_now();
                        }
                        let ret = match &op {
                            RegOp::Add { .. } => match reg.add(&routes[0]) {
                                Added::Added => RegRet::Added,
                                Added::Reloaded => RegRet::Reloaded,
                                Added::Replaced(old) => RegRet::Replaced(route_id(&old)),
                                Added::Kept(old) => RegRet::Kept(route_id(&old)),
                                Added::Unchanged => {
                                    panic!("every add is of a new route, never one registered")
                                }
                            },
                            RegOp::Del { pool, key } => RegRet::Deleted(
                                reg.del(REG_KINDS[*pool], &key_name(*key))
                                    .ok()
                                    .map(|r| route_id(&r)),
                            ),
                            RegOp::Get { key } => {
                                RegRet::Got(reg.get(key_name(*key)).map(|r| route_id(&r)))
                            }
                            RegOp::Batch(entries) => {
                                let b = Batch::new();
                                let mut routes = routes.iter();
                                for e in entries {
                                    match *e {
                                        BatchEntry::Add { .. } => {
                                            b.add(Arc::clone(routes.next().unwrap())).unwrap()
                                        }
                                        BatchEntry::Del { pool, key } => {
                                            b.del_key(REG_KINDS[pool], &key_name(key)).unwrap()
                                        }
                                    }
                                }
                                RegRet::Committed(reg.commit_batch(&b).unwrap())
                            }
                            RegOp::Snapshot => {
                                let (routes, g) = reg.snapshot(&REG_KINDS);
                                let mut live: Vec<(usize, usize, u32)> = routes
                                    .iter()
                                    .map(|r| (r.kind().index(), key_of(r), route_id(r)))
                                    .collect();
                                live.sort_unstable();
                                RegRet::Snapshot(live, g)
                            }
                            RegOp::Count => RegRet::Count(reg.num_all_routes()),
                            RegOp::Health => {
                                let json = reg.health_json(HealthFormat::Simple);
                                let v: serde_json::Value = serde_json::from_str(&json).unwrap();
                                let mut keys: Vec<usize> = v
                                    .as_object()
                                    .unwrap()
                                    .keys()
                                    .map(|k| k[1..].parse().unwrap())
                                    .collect();
                                keys.sort_unstable();
                                RegRet::Health(keys)
                            }
                        };
                        if let Pause::YieldAfter = pause {
                            std::thread::yield_now();
                        }
                        let resp = now.fetch_add(1, Ordering::SeqCst);
                        events.push(RegEvent {
                            thread,
                            op,
                            ret,
                            call,
                            resp,
                        });
                    }
                    events
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    rows.into_iter().flatten().collect()
}

/// Registry history shapes: (threads, operations per thread).
const REG_SHAPES: [(usize, usize); 3] = [(3, 8), (4, 6), (2, 10)];

#[cfg(not(feature = "batch-atomicity-bug"))]
#[test]
fn registry_histories_with_batches_are_linearizable() {
    let seed = seed();
    let trials = env_u64("LINEARIZABILITY_TRIALS").unwrap_or(600);
    let mut rng = Rng(seed);
    let (mut ops, mut batches_changing, mut reads_overlapping_batches) = (0, 0, 0);
    for trial in 0..trials {
        let (threads, per) = REG_SHAPES[trial as usize % REG_SHAPES.len()];
        let history = reg_record(reg_plan(&mut rng, threads, per));
        let verdict = check_registry(&history);
        assert!(
            verdict.order.is_some(),
            "seed {seed}, trial {trial}: registry history not linearizable ({} states):\n{}",
            verdict.states,
            render_registry(&history)
        );
        ops += history.len();
        for b in history.iter().filter(|e| matches!(e.op, RegOp::Batch(_))) {
            batches_changing += usize::from(b.ret != RegRet::Committed(0));
            reads_overlapping_batches += history
                .iter()
                .filter(|r| {
                    matches!(
                        r.op,
                        RegOp::Snapshot | RegOp::Count | RegOp::Health | RegOp::Get { .. }
                    ) && r.thread != b.thread
                        && r.call < b.resp
                        && b.call < r.resp
                })
                .count();
        }
    }
    eprintln!(
        "linearizability (registry): seed {seed}: {trials} histories, {ops} operations, all \
         linearizable; {batches_changing} batches, {reads_overlapping_batches} multi-route reads \
         or lookups overlapping a batch"
    );
    assert!(batches_changing > 0 && reads_overlapping_batches > trials as usize);
}

#[test]
fn registry_checker_rejects_half_a_batch() {
    let batch = RegOp::Batch(vec![
        BatchEntry::Add {
            pool: 0,
            key: 0,
            route: 1,
            priority: 0,
        },
        BatchEntry::Add {
            pool: 1,
            key: 1,
            route: 2,
            priority: 0,
        },
    ]);
    let ev = |thread, call, resp, op: RegOp, ret| RegEvent {
        thread,
        op,
        ret,
        call,
        resp,
    };
    // A snapshot concurrent with the batch sees all of it or none of it...
    for (live, g) in [(vec![], 0), (vec![(0, 0, 1), (1, 1, 2)], 1)] {
        let h = [
            ev(0, 0, 9, batch.clone(), RegRet::Committed(1)),
            ev(1, 1, 2, RegOp::Snapshot, RegRet::Snapshot(live, g)),
        ];
        assert!(check_registry(&h).order.is_some());
    }
    // ...never half, whatever generation it reports; nor a count of 1, nor a health JSON with
    // one of the two keys.
    for ret in [
        RegRet::Snapshot(vec![(0, 0, 1)], 0),
        RegRet::Snapshot(vec![(0, 0, 1)], 1),
        RegRet::Snapshot(vec![(1, 1, 2)], 1),
    ] {
        let h = [
            ev(0, 0, 9, batch.clone(), RegRet::Committed(1)),
            ev(1, 1, 2, RegOp::Snapshot, ret),
        ];
        assert!(
            check_registry(&h).order.is_none(),
            "{}",
            render_registry(&h)
        );
    }
    let h = [
        ev(0, 0, 9, batch.clone(), RegRet::Committed(1)),
        ev(1, 1, 2, RegOp::Count, RegRet::Count(1)),
    ];
    assert!(check_registry(&h).order.is_none());
    let h = [
        ev(0, 0, 9, batch.clone(), RegRet::Committed(1)),
        ev(1, 1, 2, RegOp::Health, RegRet::Health(vec![1])),
    ];
    assert!(check_registry(&h).order.is_none());
    // Two lookups in a row: the second key old after the first key new is half a batch.
    let h = [
        ev(0, 0, 9, batch.clone(), RegRet::Committed(1)),
        ev(1, 1, 2, RegOp::Get { key: 0 }, RegRet::Got(Some(1))),
        ev(1, 3, 4, RegOp::Get { key: 1 }, RegRet::Got(None)),
    ];
    assert!(check_registry(&h).order.is_none());
    // A batch that changes nothing keeps the generation.
    let h = [ev(
        0,
        0,
        1,
        RegOp::Batch(vec![BatchEntry::Del { pool: 0, key: 0 }]),
        RegRet::Committed(0),
    )];
    assert!(check_registry(&h).order.is_some());
}

#[cfg(feature = "batch-atomicity-bug")]
#[test]
fn broken_batch_is_caught() {
    let seed = seed();
    let max_trials = env_u64("LINEARIZABILITY_TRIALS").unwrap_or(3000);
    let mut rng = Rng(seed);
    let started = Instant::now();
    for trial in 0..max_trials {
        let (threads, per) = REG_SHAPES[trial as usize % REG_SHAPES.len()];
        let history = reg_record(reg_plan(&mut rng, threads, per));
        let verdict = check_registry(&history);
        if verdict.order.is_none() {
            eprintln!(
                "linearizability (registry): seed {seed}: the broken batch was caught at trial \
                 {} ({:.2?}); no order of this history fits the model ({} states searched):\n{}",
                trial + 1,
                started.elapsed(),
                verdict.states,
                render_registry(&history)
            );
            return;
        }
    }
    panic!("seed {seed}: the broken batch passed {max_trials} histories");
}
