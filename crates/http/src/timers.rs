//! One timer heap for every event loop in swarmlab: the server's readiness and io_uring loops
//! and the load generator's workers. Not HTTP, but sans-IO (the caller passes the clock), and
//! this is the one crate both the server and the generator depend on.
//!
//! Each key (a slot, fd or user index) has at most one live deadline. Moving a deadline earlier
//! pushes a heap entry; moving it later or cancelling it pushes nothing: the old entry is found
//! stale when it comes due and, if the key still has a later deadline, queued again then. So a
//! connection whose idle deadline moves on every request costs no heap work per request, and
//! the heap holds about one entry per key.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Deadlines by key, soonest first. Keys index a dense table (`K: Into<usize>`), as slots and
/// fds do.
#[derive(Debug)]
pub struct Timers<K> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
    /// Per key: (the deadline wanted, the earliest entry queued in the heap).
    keys: Vec<(Option<Instant>, Option<Instant>)>,
}

impl<K> Default for Timers<K>
where
    K: Copy + Ord + Into<usize>,
{
    fn default() -> Timers<K> {
        Timers::new()
    }
}

impl<K> Timers<K>
where
    K: Copy + Ord + Into<usize>,
{
    /// No timers.
    pub fn new() -> Timers<K> {
        Timers {
            heap: BinaryHeap::new(),
            keys: Vec::new(),
        }
    }

    /// Sets `key`'s deadline to `at`, replacing any earlier one; `None` cancels it.
    pub fn schedule(&mut self, key: K, at: Option<Instant>) {
        let i = key.into();
        if self.keys.len() <= i {
            self.keys.resize(i + 1, (None, None));
        }
        let (due, queued) = &mut self.keys[i];
        *due = at;
        if let Some(at) = at {
            if queued.is_none_or(|q| at < q) {
                *queued = Some(at);
                self.heap.push(Reverse((at, key)));
            }
        }
    }

    /// Cancels `key`'s deadline (the same as `schedule(key, None)`).
    pub fn cancel(&mut self, key: K) {
        if let Some((due, _)) = self.keys.get_mut(key.into()) {
            *due = None;
        }
    }

    /// `key`'s deadline, if it has one.
    pub fn deadline_of(&self, key: K) -> Option<Instant> {
        self.keys.get(key.into()).and_then(|(due, _)| *due)
    }

    /// The soonest time at which [`Timers::pop_due`] may return a key: when the loop must wake
    /// at the latest. (It may be a stale entry's time; waking then costs one empty turn.)
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Removes and returns a key whose deadline is at or before `now`, clearing that deadline;
    /// `None` when no deadline is due. Call it until `None`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        while let Some(&Reverse((t, key))) = self.heap.peek() {
            if t > now {
                return None;
            }
            self.heap.pop();
            let (due, queued) = &mut self.keys[key.into()];
            if *queued != Some(t) {
                continue; // an earlier entry replaced this one
            }
            *queued = None;
            match *due {
                None => {}
                Some(d) if d <= now => {
                    *due = None;
                    return Some(key);
                }
                Some(d) => {
                    // moved later since this entry was queued: queue it again for then
                    *queued = Some(d);
                    self.heap.push(Reverse((d, key)));
                }
            }
        }
        None
    }

    /// Heap entries, live and stale (for tests: it stays about one per key).
    pub fn queued(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    fn drain(t: &mut Timers<usize>, now: Instant) -> Vec<usize> {
        std::iter::from_fn(|| t.pop_due(now)).collect()
    }

    #[test]
    fn due_keys_come_out_in_order_once() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        t.schedule(2usize, Some(ms(t0, 30)));
        t.schedule(0, Some(ms(t0, 10)));
        t.schedule(1, Some(ms(t0, 20)));
        assert_eq!(t.next_deadline(), Some(ms(t0, 10)));
        assert_eq!(drain(&mut t, ms(t0, 20)), [0, 1]);
        assert_eq!(drain(&mut t, ms(t0, 25)), Vec::<usize>::new());
        assert_eq!(drain(&mut t, ms(t0, 30)), [2]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn moving_later_or_cancelling_pushes_nothing_and_is_honoured() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        t.schedule(0usize, Some(ms(t0, 10)));
        for n in 11..1000 {
            t.schedule(0, Some(ms(t0, n))); // an idle deadline moving on with every request
        }
        assert_eq!(t.queued(), 1);
        assert_eq!(
            drain(&mut t, ms(t0, 10)),
            Vec::<usize>::new(),
            "moved later"
        );
        assert_eq!(t.queued(), 1, "re-queued once for the new deadline");
        assert_eq!(drain(&mut t, ms(t0, 999)), [0]);

        t.schedule(1, Some(ms(t0, 5)));
        t.cancel(1);
        assert_eq!(drain(&mut t, ms(t0, 2000)), Vec::<usize>::new());
        assert_eq!(t.deadline_of(1), None);
    }

    #[test]
    fn moving_earlier_wins_and_the_old_entry_is_stale() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        t.schedule(0usize, Some(ms(t0, 50)));
        t.schedule(0, Some(ms(t0, 5)));
        assert_eq!(drain(&mut t, ms(t0, 5)), [0]);
        assert_eq!(
            drain(&mut t, ms(t0, 100)),
            Vec::<usize>::new(),
            "50 ms entry is stale"
        );
    }

    #[test]
    fn a_reused_key_is_not_fired_by_its_previous_owner() {
        // slot 3 closes with a deadline queued at 10 ms; a new connection takes slot 3 with a
        // deadline at 40 ms: nothing fires at 10 ms, the new one fires at 40.
        let t0 = Instant::now();
        let mut t = Timers::new();
        t.schedule(3usize, Some(ms(t0, 10)));
        t.cancel(3);
        t.schedule(3, Some(ms(t0, 40)));
        assert_eq!(drain(&mut t, ms(t0, 10)), Vec::<usize>::new());
        assert_eq!(drain(&mut t, ms(t0, 40)), [3]);
    }
}
