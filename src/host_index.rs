//! The host index: the HTTP pool's routes by their key *as a host name* — ASCII-lowercased,
//! one trailing dot removed — and the configured domains, for host resolution (`host.rs`).
//! A wildcard route (key `*.<suffix>`, suffix non-empty without `*`) is kept under its suffix,
//! marked wild, so that every lookup is a slice of the host: no name is ever built.
//!
//! Several live routes can share an index name (`App` and `app`, `*.example.com` and
//! `*.Example.com.`): each name keeps all of them, best first, ordered by priority, then by
//! the order they were added (the later one first). That is the pool's replacement rule (§2: a
//! new route replaces one of lower or equal priority) applied across keys that differ only in
//! spelling; when the best one goes, the next one answers.
//!
//! Kept up to date the way the health index is: the HTTP pool records each change while it
//! holds the shard lock (so the changes of one key, and the order numbers, follow the pool's
//! own order), and the writer applies the recorded changes after releasing the shard lock,
//! before it returns. A resolution read-locks the index once (one read-mostly lock, so readers
//! on different threads share no cache line) for all its lookups and the domains, and never
//! waits for a pool lock or for the pending list.
//!
//! Lock order: pool shard → `pending`; `applying` → `pending`; `applying` → `table`.

use crate::host::RouteDomains;
use crate::lock::ReadMostly;
use crate::route::Route;
use crossbeam_utils::sync::ShardedLockReadGuard;
use hashbrown::hash_table::Entry as TableEntry;
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::Mutex;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Index names are route keys, at most 255 bytes: a longer lookup cannot match.
const MAX_NAME: usize = 255;

/// A route competing for a name.
struct Candidate {
    route: Arc<Route>,
    priority: i32,
    /// When the route became live (larger = later), in the HTTP pool's order.
    order: u64,
}

/// A name as the table compares it: its length, whether it is a wildcard's suffix, and its
/// first, second and last eight bytes ASCII-lowercased (the last overlapping the others when
/// shorter than 24, zero-padded when shorter than 8; the second zero when 16 or shorter). For
/// names of at most 24 bytes this is the whole name, compared without leaving the table slot.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Words {
    /// The length, plus [`WILD`] for a wildcard's suffix: one word, so that the whole
    /// comparison is four words (returned in registers, compared without a call).
    tag: u64,
    first: u64,
    second: u64,
    last: u64,
}

/// In [`Words::tag`]: the name is a wildcard's suffix.
const WILD: u64 = 1 << 32;

impl Words {
    fn len(&self) -> usize {
        (self.tag & (WILD - 1)) as usize
    }

    fn wild(&self) -> bool {
        self.tag & WILD != 0
    }
}

/// Names up to this length compare by their `Words` alone.
const INLINE: usize = 24;

/// One index name and the live routes whose keys have it, best first.
struct Named {
    words: Words,
    /// `rest.candidates[0].route`, kept in the slot so a lookup reads one fewer cache line.
    best: Arc<Route>,
    rest: Box<NamedRest>,
}

struct NamedRest {
    /// Lowercase; for a wildcard route, the suffix after `*.`.
    name: Box<[u8]>,
    candidates: Vec<Candidate>,
}

/// Eight bytes ASCII-lowercased at once (bytes 0x80 and above unchanged), as
/// `u8::to_ascii_lowercase` does each.
#[inline(always)]
fn ascii_lower8(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    let low7 = w & !HIGH;
    // The high bit of each byte: set where the byte's low 7 bits are >= 'A', resp. > 'Z'.
    let ge_a = low7 + ONES * (0x80 - b'A' as u64);
    let gt_z = low7 + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = ge_a & !gt_z & !w & HIGH;
    w | (upper >> 2)
}

/// Eight bytes at `at` as a little-endian word.
#[inline(always)]
pub(crate) fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("eight bytes"))
}

/// Up to eight bytes as a little-endian word, zero-padded, without a memory round trip.
#[inline(always)]
pub(crate) fn short_word(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        // Two overlapping four-byte loads; the overlap holds the same bytes.
        let lo = u32::from_le_bytes(b[..4].try_into().expect("four bytes"));
        let hi = u32::from_le_bytes(b[n - 4..].try_into().expect("four bytes"));
        u64::from(lo) | (u64::from(hi) << (8 * (n - 4)))
    } else {
        b.iter()
            .enumerate()
            .fold(0, |w, (i, &c)| w | (u64::from(c) << (8 * i)))
    }
}

/// Mixes a word into the hash state (a folded multiply, as foldhash does).
#[inline(always)]
fn mix(h: u64, w: u64) -> u64 {
    let m = u128::from(h ^ w) * 0x9e37_79b9_7f4a_7c15_u128;
    (m as u64) ^ ((m >> 64) as u64)
}

/// The words of `name` and its hash under `seed`, folding ASCII case on the fly: no buffer.
#[inline(always)]
fn words_and_hash(seed: u64, name: &[u8], wild: bool) -> (Words, u64) {
    let len = name.len();
    let mut h = seed ^ (len as u64) ^ if wild { 0x5555_5555_0000_0000 } else { 0 };
    let (first, second, last) = if len <= 8 {
        let w = ascii_lower8(short_word(name));
        h = mix(h, w);
        (w, 0, w)
    } else {
        let first = ascii_lower8(word(name, 0));
        h = mix(h, first);
        let mut second = 0;
        let mut at = 8;
        while at + 8 < len {
            let w = ascii_lower8(word(name, at));
            if at == 8 {
                second = w;
            }
            h = mix(h, w);
            at += 8;
        }
        let last = ascii_lower8(word(name, len - 8));
        h = mix(h, last);
        (first, second, last)
    };
    let words = Words {
        tag: len as u64 | if wild { WILD } else { 0 },
        first,
        second,
        last,
    };
    (words, mix(h, seed.rotate_left(32)))
}

impl Named {
    /// Whether this is `name` (any ASCII case) of the wildcard kind `words.wild()`.
    #[inline(always)]
    fn is(&self, words: &Words, name: &[u8]) -> bool {
        self.words == *words
            && (words.len() <= INLINE
                || self.rest.name[16..words.len() - 8]
                    .eq_ignore_ascii_case(&name[16..words.len() - 8]))
    }
}

/// Whether a lowercase-insensitive name is a wildcard key's: `*.` and a non-empty suffix
/// without `*`. Returns the suffix.
pub(crate) fn wildcard_suffix(name: &[u8]) -> Option<&[u8]> {
    let suffix = name.strip_prefix(b"*.")?;
    (!suffix.is_empty() && !suffix.contains(&b'*')).then_some(suffix)
}

enum Change {
    Insert(Arc<Route>, u64),
    Remove(Arc<Route>),
    Clear,
}

#[derive(Default)]
struct Pending {
    changes: Vec<Change>,
    next_order: u64,
}

struct Table {
    names: HashTable<Named>,
    /// How many names have each length (plain, wildcard suffix): a lookup of a length no name
    /// has is not hashed.
    lens: [[u32; MAX_NAME + 1]; 2],
    domains: RouteDomains,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            names: HashTable::new(),
            lens: [[0; MAX_NAME + 1]; 2],
            domains: RouteDomains::default(),
        }
    }
}

/// See the module docs.
pub(crate) struct HostIndex {
    table: ReadMostly<Table>,
    /// Random per index, so chosen keys cannot be made to collide predictably.
    seed: u64,
    pending: Mutex<Pending>,
    /// Held while applying; the spare list `pending` is swapped with.
    applying: Mutex<Vec<Change>>,
}

impl Default for HostIndex {
    fn default() -> Self {
        HostIndex {
            table: ReadMostly::new(Table::default()),
            seed: DefaultHashBuilder::default().hash_one(0x686f_7374_u64),
            pending: Mutex::new(Pending::default()),
            applying: Mutex::new(Vec::new()),
        }
    }
}

/// A route key as an index name: one trailing dot removed, ASCII letters lowercased; for a
/// wildcard key (`*.` and a suffix without `*`), the suffix, marked wild.
pub(crate) fn index_name(key: &str) -> (Box<[u8]>, bool) {
    let key = key.strip_suffix('.').unwrap_or(key).as_bytes();
    match wildcard_suffix(key) {
        Some(suffix) => (suffix.to_ascii_lowercase().into_boxed_slice(), true),
        None => (key.to_ascii_lowercase().into_boxed_slice(), false),
    }
}

/// The index read-locked for one resolution: lookups and the domains, at one moment.
pub(crate) struct Reader<'a> {
    table: ShardedLockReadGuard<'a, Table>,
    seed: u64,
}

impl Reader<'_> {
    /// The configured domains.
    pub(crate) fn domains(&self) -> &RouteDomains {
        &self.table.domains
    }

    /// The best live route whose key, as a host name, is `name` (any ASCII case), or none. A
    /// name of the wildcard form (`*.suffix`) is the wildcard route's. Allocates nothing; an
    /// empty name never matches.
    pub(crate) fn get(&self, name: &[u8]) -> Option<Arc<Route>> {
        match wildcard_suffix(name) {
            Some(suffix) => self.find(suffix, true),
            None => self.find(name, false),
        }
    }

    /// The best wildcard route for a host whose part after its first label is `suffix`.
    /// `may_have_star`: false when the caller knows `suffix` has no `*` (saves a scan).
    pub(crate) fn get_wildcard(&self, suffix: &[u8], may_have_star: bool) -> Option<Arc<Route>> {
        if suffix.is_empty() || (may_have_star && suffix.contains(&b'*')) {
            return None;
        }
        self.find(suffix, true)
    }

    #[inline(always)]
    fn find(&self, name: &[u8], wild: bool) -> Option<Arc<Route>> {
        let len = name.len();
        if len == 0 || len > MAX_NAME || self.table.lens[usize::from(wild)][len] == 0 {
            return None;
        }
        let (words, hash) = words_and_hash(self.seed, name, wild);
        let named = self.table.names.find(hash, |n| n.is(&words, name))?;
        Some(Arc::clone(&named.best))
    }
}

impl HostIndex {
    /// Read-locks the index for one resolution.
    pub(crate) fn reader(&self) -> Reader<'_> {
        Reader {
            table: self.table.read(),
            seed: self.seed,
        }
    }

    /// Replaces the domains; returns the old ones (drop them after this returns).
    pub(crate) fn set_domains(&self, domains: RouteDomains) -> RouteDomains {
        std::mem::replace(&mut self.table.write().domains, domains)
    }

    /// Records that `route` became live in the HTTP pool. Call under the shard lock.
    pub(crate) fn record_insert(&self, route: &Arc<Route>) {
        let mut p = self.pending.lock();
        let order = p.next_order;
        p.next_order += 1;
        p.changes.push(Change::Insert(Arc::clone(route), order));
    }

    /// Records that `route` stopped being live in the HTTP pool. Call under the shard lock.
    pub(crate) fn record_remove(&self, route: &Arc<Route>) {
        self.pending
            .lock()
            .changes
            .push(Change::Remove(Arc::clone(route)));
    }

    /// Records that the HTTP pool was emptied. Call with every shard of it locked.
    pub(crate) fn record_clear(&self) {
        self.pending.lock().changes.push(Change::Clear);
    }

    /// Applies the recorded changes. Call with no pool lock held; routes let go of are
    /// dropped after every index lock is released.
    pub(crate) fn sync(&self) {
        let mut released: Vec<Arc<Route>> = Vec::new();
        let mut work = self.applying.lock();
        std::mem::swap(&mut self.pending.lock().changes, &mut *work);
        if !work.is_empty() {
            let mut table = self.table.write();
            for change in work.drain(..) {
                match change {
                    Change::Insert(route, order) => {
                        self.insert(&mut table, route, order, &mut released)
                    }
                    Change::Remove(route) => self.remove(&mut table, route, &mut released),
                    Change::Clear => {
                        table.lens = [[0; MAX_NAME + 1]; 2];
                        for n in std::mem::take(&mut table.names) {
                            released.push(n.best);
                            released.extend(n.rest.candidates.into_iter().map(|c| c.route));
                        }
                    }
                }
            }
        }
        drop(work);
        drop(released);
    }

    fn insert(
        &self,
        table: &mut Table,
        route: Arc<Route>,
        order: u64,
        released: &mut Vec<Arc<Route>>,
    ) {
        let ident = route
            .frozen_identity()
            .expect("routes in a pool are frozen when added");
        let (name, wild) = index_name(ident.key());
        let priority = ident.priority();
        let (words, hash) = words_and_hash(self.seed, &name, wild);
        let seed = self.seed;
        let entry = table.names.entry(
            hash,
            |n| n.is(&words, &name),
            |n| words_and_hash(seed, &n.rest.name, n.words.wild()).1,
        );
        let named = match entry {
            TableEntry::Occupied(occ) => occ.into_mut(),
            TableEntry::Vacant(vac) => {
                table.lens[usize::from(wild)][name.len()] += 1;
                vac.insert(Named {
                    words,
                    best: Arc::clone(&route),
                    rest: Box::new(NamedRest {
                        name,
                        candidates: Vec::with_capacity(1),
                    }),
                })
                .into_mut()
            }
        };
        let c = Candidate {
            route,
            priority,
            order,
        };
        // Best first: higher priority, then added later.
        let candidates = &mut named.rest.candidates;
        let at = candidates
            .iter()
            .position(|o| (c.priority, c.order) > (o.priority, o.order))
            .unwrap_or(candidates.len());
        candidates.insert(at, c);
        let best = Arc::clone(&candidates[0].route);
        released.push(std::mem::replace(&mut named.best, best));
    }

    fn remove(&self, table: &mut Table, route: Arc<Route>, released: &mut Vec<Arc<Route>>) {
        let ident = route
            .frozen_identity()
            .expect("routes in a pool are frozen when added");
        let (name, wild) = index_name(ident.key());
        let (words, hash) = words_and_hash(self.seed, &name, wild);
        if let Ok(mut occ) = table.names.find_entry(hash, |n| n.is(&words, &name)) {
            let named = occ.get_mut();
            let candidates = &mut named.rest.candidates;
            if let Some(at) = candidates
                .iter()
                .position(|c| Arc::ptr_eq(&c.route, &route))
            {
                released.push(candidates.remove(at).route);
            }
            match candidates.first() {
                Some(c) => {
                    let best = Arc::clone(&c.route);
                    released.push(std::mem::replace(&mut named.best, best));
                }
                None => {
                    table.lens[usize::from(wild)][name.len()] -= 1;
                    released.push(occ.remove().0.best);
                }
            }
        }
        released.push(route);
    }

    /// Every index name with its routes, best first (for consistency checks in tests).
    pub(crate) fn snapshot(&self) -> Vec<(String, Vec<Arc<Route>>)> {
        self.sync();
        let table = self.table.read();
        let mut out: Vec<(String, Vec<Arc<Route>>)> = table
            .names
            .iter()
            .map(|n| {
                debug_assert!(Arc::ptr_eq(&n.best, &n.rest.candidates[0].route));
                let name = String::from_utf8_lossy(&n.rest.name);
                (
                    if n.words.wild() {
                        format!("*.{name}")
                    } else {
                        name.into_owned()
                    },
                    n.rest
                        .candidates
                        .iter()
                        .map(|c| Arc::clone(&c.route))
                        .collect(),
                )
            })
            .collect();
        drop(table);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{ascii_lower8, words_and_hash};

    #[test]
    fn words_and_hash_ignore_ascii_case_and_tell_names_apart() {
        let base = b"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789.-*";
        for len in 1..=base.len() {
            let name = &base[..len];
            let lower = name.to_ascii_lowercase();
            let (w, h) = words_and_hash(7, name, false);
            assert!(w == words_and_hash(7, &lower, false).0);
            assert_eq!(h, words_and_hash(7, &lower, false).1, "len {len}");
            assert_ne!(
                h,
                words_and_hash(7, name, true).1,
                "wild differs, len {len}"
            );
            assert_ne!(
                h,
                words_and_hash(8, name, false).1,
                "seed differs, len {len}"
            );
            if len > 1 {
                // One byte changed anywhere changes the words (up to 16 bytes) or the hash.
                for at in 0..len {
                    let mut other = lower.clone();
                    other[at] = b'#';
                    let (w2, h2) = words_and_hash(7, &other, false);
                    assert!(h2 != h || (len > 24 && w2 == w), "len {len}, byte {at}");
                    if len <= 24 {
                        assert!(w2 != w, "len {len}, byte {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn eight_bytes_at_once_lowercase_as_each_byte_would() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = *b"aZ@[`{\x80\xff";
                bytes[pos] = b;
                let want = bytes.map(|c| c.to_ascii_lowercase());
                let got = ascii_lower8(u64::from_le_bytes(bytes)).to_le_bytes();
                assert_eq!(got, want, "byte {b:#x} at {pos}");
            }
        }
    }
}
