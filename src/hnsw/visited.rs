//! The visited set of searches over dense element ids (the build's graph).

use super::Visited;

/// A visited set for dense ids: one stamp per element, cleared in O(1) by a new epoch.
#[derive(Default)]
pub struct EpochVisited {
    stamps: Vec<u32>,
    epoch: u32,
}

impl EpochVisited {
    /// Bytes of heap memory held.
    pub fn bytes(&self) -> usize {
        self.stamps.capacity() * 4
    }
}

impl Visited<u32> for EpochVisited {
    #[inline]
    fn insert(&mut self, id: u32) -> bool {
        let i = id as usize;
        if i >= self.stamps.len() {
            self.stamps.resize((i + 1).max(self.stamps.len() * 2), 0);
        }
        if self.epoch == 0 {
            self.epoch = 1;
        }
        if self.stamps[i] == self.epoch {
            false
        } else {
            self.stamps[i] = self.epoch;
            true
        }
    }

    fn clear(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
    }
}
