//! The requests of one engine thread that are on the wire, so that a run stopped before they
//! answer still counts them: against a hung service, Ctrl-C must show the requests that never
//! came back, not an empty run.
//!
//! A slot per request in flight, reused: two `RefCell` borrows and a vector write per request,
//! no allocation once the thread has seen its peak.

/// Where each request in flight belongs: its endpoint and the interval of its iteration.
#[derive(Debug, Default)]
pub(super) struct Pending {
    slots: Vec<Option<(usize, u32)>>,
    free: Vec<usize>,
    len: usize,
}

impl Pending {
    /// A request of `endpoint`, recorded in `interval`, went out: its ticket for [`Pending::done`].
    pub(super) fn start(&mut self, endpoint: usize, interval: u32) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some((endpoint, interval));
                i
            }
            None => {
                self.slots.push(Some((endpoint, interval)));
                self.slots.len() - 1
            }
        }
    }

    /// The request of `ticket` was recorded (answered, failed or timed out).
    pub(super) fn done(&mut self, ticket: usize) {
        if let Some(slot) = self.slots.get_mut(ticket)
            && slot.take().is_some()
        {
            self.len -= 1;
            self.free.push(ticket);
        }
    }

    /// How many requests are in flight.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Takes every request still in flight, as `(endpoint, interval)`.
    pub(super) fn abandon(&mut self) -> Vec<(usize, u32)> {
        self.free.clear();
        self.len = 0;
        self.slots.drain(..).flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_what_is_left_is_abandoned() {
        let mut p = Pending::default();
        let a = p.start(0, 3);
        let b = p.start(1, 3);
        p.done(a);
        p.done(a);
        let c = p.start(2, 4);
        assert_eq!(c, a, "a freed slot is reused");
        assert_eq!(p.len(), 2);
        let mut left = p.abandon();
        left.sort_unstable();
        assert_eq!(left, vec![(1, 3), (2, 4)]);
        assert_eq!(p.len(), 0);
        p.done(b);
        assert_eq!(
            p.len(),
            0,
            "a ticket from before the abandonment changes nothing"
        );
    }
}
