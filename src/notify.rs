//! Subscriptions: callbacks told the new generation after every committed change set.
//!
//! Rules (see docs/DESIGN.md, "Notifications"):
//! - A callback runs on the thread of the writer that committed, after the commit, with no
//!   lock of the library held, in commit order per registry. A writer whose turn has not come
//!   (an earlier commit's callbacks still run on another thread) waits for it: a slow callback
//!   delays the writer that committed and the writers that commit after it.
//! - A callback may call back into the library. A commit made from inside a callback (any
//!   registry) has its own callbacks run on the same thread right after the outer callbacks
//!   return, so that commit order holds and no thread waits for itself.
//! - After `unsubscribe` returns, the callback is not running (unless `unsubscribe` was called
//!   from inside that very callback, which then finishes normally) and is never called again.

use parking_lot::{Condvar, Mutex};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;

/// A subscriber's callback: gets the generation of the change set just committed.
pub type Callback = Arc<dyn Fn(u64) + Send + Sync>;

struct State {
    subs: Vec<(u64, Callback)>,
    /// Generations committed and not yet delivered, in commit order.
    queue: VecDeque<u64>,
    /// The subscription whose callback is running, and on which thread.
    running: Option<(u64, ThreadId)>,
    next_token: u64,
}

/// A registry's subscribers and its queue of generations to deliver.
pub struct Notifier {
    state: Mutex<State>,
    changed: Condvar,
    subscribers: AtomicUsize,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier {
            state: Mutex::new(State {
                subs: Vec::new(),
                queue: VecDeque::new(),
                running: None,
                next_token: 1,
            }),
            changed: Condvar::new(),
            subscribers: AtomicUsize::new(0),
        }
    }
}

thread_local! {
    /// Whether this thread is running callbacks now.
    static DELIVERING: Cell<bool> = const { Cell::new(false) };
    /// Commits made from inside a callback on this thread, delivered after it returns.
    static DEFERRED: RefCell<VecDeque<(Arc<Notifier>, u64)>> = const { RefCell::new(VecDeque::new()) };
}

/// Clears `DELIVERING` when the outermost delivery ends; when unwinding, takes the deferred
/// generations out of their queues so that other writers do not wait for them forever.
struct DeliveringScope;

impl Drop for DeliveringScope {
    fn drop(&mut self) {
        let left: Vec<_> = DEFERRED.with(|d| d.borrow_mut().drain(..).collect());
        for (n, g) in left {
            n.withdraw(g);
        }
        DELIVERING.with(|d| d.set(false));
    }
}

impl Notifier {
    /// Whether anyone is subscribed (read by a committing writer, under the commit lock).
    pub(crate) fn has_subscribers(&self) -> bool {
        self.subscribers.load(Ordering::Acquire) > 0
    }

    /// Queues `generation` for delivery. Call under the registry's commit lock, so that the
    /// queue is in commit order; then call [`Notifier::deliver`] once no lock is held.
    pub(crate) fn enqueue(&self, generation: u64) {
        self.state.lock().queue.push_back(generation);
    }

    /// Takes `generation` out of the queue without delivering it (its writer is unwinding).
    pub(crate) fn withdraw(&self, generation: u64) {
        let mut st = self.state.lock();
        st.queue.retain(|g| *g != generation);
        drop(st);
        self.changed.notify_all();
    }

    /// Calls every subscriber with `generation` (queued by [`Notifier::enqueue`]) once the
    /// generations queued before it have been delivered. Call with no lock held.
    pub(crate) fn deliver(self: &Arc<Self>, generation: u64) {
        if DELIVERING.with(Cell::get) {
            DEFERRED.with(|d| d.borrow_mut().push_back((Arc::clone(self), generation)));
            return;
        }
        DELIVERING.with(|d| d.set(true));
        let _scope = DeliveringScope;
        self.deliver_one(generation);
        while let Some((n, g)) = DEFERRED.with(|d| d.borrow_mut().pop_front()) {
            n.deliver_one(g);
        }
    }

    fn deliver_one(&self, generation: u64) {
        struct Turn<'a>(&'a Notifier);
        impl Drop for Turn<'_> {
            fn drop(&mut self) {
                let mut st = self.0.state.lock();
                st.queue.pop_front();
                st.running = None;
                drop(st);
                self.0.changed.notify_all();
            }
        }
        let me = std::thread::current().id();
        let subs: Vec<(u64, Callback)> = {
            let mut st = self.state.lock();
            while st.queue.front() != Some(&generation) {
                if !st.queue.contains(&generation) {
                    return; // withdrawn
                }
                self.changed.wait(&mut st);
            }
            st.subs.clone()
        };
        let _turn = Turn(self);
        for (token, f) in subs {
            {
                let mut st = self.state.lock();
                if !st.subs.iter().any(|(t, _)| *t == token) {
                    continue; // unsubscribed meanwhile
                }
                st.running = Some((token, me));
            }
            // A callback that panics (only a Rust one can) does not stop the others.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(generation)));
            let mut st = self.state.lock();
            st.running = None;
            drop(st);
            self.changed.notify_all();
        }
    }

    /// Adds a subscriber; returns its token (never 0).
    pub fn subscribe(&self, f: Callback) -> u64 {
        let mut st = self.state.lock();
        let token = st.next_token;
        st.next_token += 1;
        st.subs.push((token, f));
        self.subscribers.fetch_add(1, Ordering::Release);
        token
    }

    /// Removes a subscriber and waits until its callback is not running (unless it is running
    /// on this thread: called from inside the callback). False when no such subscription.
    pub fn unsubscribe(&self, token: u64) -> bool {
        let me = std::thread::current().id();
        let mut st = self.state.lock();
        let Some(pos) = st.subs.iter().position(|(t, _)| *t == token) else {
            return false;
        };
        let (_, f) = st.subs.remove(pos);
        self.subscribers.fetch_sub(1, Ordering::Release);
        while matches!(st.running, Some((t, tid)) if t == token && tid != me) {
            self.changed.wait(&mut st);
        }
        drop(st);
        drop(f);
        true
    }
}
