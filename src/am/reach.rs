//! A compact picture of the graph for VACUUM's cleanup: which line pointers hold
//! live or deleted elements and how many layer-0 in-links each element has, in a few
//! bytes per line pointer, so that reachability is checked at any size within
//! VACUUM's memory (1,000,000 elements of 384 dimensions: about 14 MB, where a copy
//! of every neighbour list would take 140 MB). Neighbour lists are not kept: the
//! walk from the entry point reads each one from its page when it gets there.
//!
//! A slot is one line pointer of one page: block `b`'s offset `o` is slot
//! `first[b - 1] + o - 1`. Pages are read one at a time under a share lock (so the
//! picture is slightly smeared under concurrent inserts, which callers re-check
//! under the page lock before they change anything); interrupts and VACUUM's
//! cost-based delay act between pages.

use super::disk::DiskGraph;
use crate::hnsw::reconnect::Reach;
use crate::hnsw::Graph;
use crate::storage::page::{block_count, ReadPage};
use crate::storage::tuple::{Element, Tid};
use crate::storage::PAGE_ELEMENTS;
use pgrx::pg_sys;

const EMPTY: u8 = 0;
const LIVE: u8 = 1;
const DELETED: u8 = 2;

/// The slots of an index (see the module docs).
pub struct Slots {
    /// Per block from 1: its first slot.
    first: Vec<u32>,
    /// Per slot: [`EMPTY`] (no element), [`LIVE`] or [`DELETED`].
    state: Vec<u8>,
    /// Per slot: layer-0 in-links from live elements (saturating).
    in_links: Vec<u8>,
}

/// Bytes [`Slots`] and a walk over them take for an index of `pages` pages and
/// `line_pointers` line pointers holding `elements` elements: per page 4; per line
/// pointer 2 and a bit; per element 8 for the walk's stack.
pub fn bytes_for(pages: usize, line_pointers: usize, elements: usize) -> usize {
    4 * pages + 2 * line_pointers + line_pointers.div_ceil(8) + 8 * elements
}

impl Slots {
    /// Reads every element page of `index` (each element's state), then every live
    /// element's layer-0 list (the in-link counts).
    pub fn read(index: pg_sys::Relation, graph: &mut DiskGraph) -> Slots {
        let pages = block_count(index);
        let mut slots = Slots {
            first: Vec::with_capacity(pages as usize),
            state: Vec::new(),
            in_links: Vec::new(),
        };
        for block in 1..pages {
            // VACUUM's cost-based delay and interrupts act between pages.
            crate::pg::vacuum_delay_point();
            let page = ReadPage::read(index, block, PAGE_ELEMENTS);
            slots.first.push(slots.state.len() as u32);
            for offset in 1..=page.max_offset() {
                let state = match page.item(offset).and_then(Element::parse) {
                    None => EMPTY,
                    Some(e) if e.deleted() => DELETED,
                    Some(_) => LIVE,
                };
                slots.state.push(state);
            }
        }
        slots.in_links = vec![0; slots.state.len()];
        let mut links = Vec::new();
        for id in slots.live().collect::<Vec<u64>>() {
            // As above, between elements.
            crate::pg::vacuum_delay_point();
            graph.neighbours(id, 0, &mut links);
            for &n in &links {
                if let Some(s) = slots.slot(n) {
                    slots.in_links[s] = slots.in_links[s].saturating_add(1);
                }
            }
        }
        slots
    }

    /// The slot of element `id` (a packed TID), if the read saw its line pointer.
    pub fn slot(&self, id: u64) -> Option<usize> {
        let tid = Tid::unpack(id);
        let block = (tid.block as usize).checked_sub(1)?;
        let first = *self.first.get(block)? as usize;
        let end = self
            .first
            .get(block + 1)
            .map_or(self.state.len(), |&f| f as usize);
        let slot = first + (tid.offset as usize).checked_sub(1)?;
        (slot < end).then_some(slot)
    }

    /// The TID of `slot`.
    fn id_of(&self, slot: usize) -> u64 {
        let block = self.first.partition_point(|&f| f as usize <= slot) - 1;
        Tid {
            block: block as u32 + 1,
            offset: (slot - self.first[block] as usize + 1) as u16,
        }
        .pack()
    }

    /// `true` when `id` is a live element.
    pub fn is_live(&self, id: u64) -> bool {
        self.slot(id).is_some_and(|s| self.state[s] == LIVE)
    }

    /// The live elements, in TID order.
    pub fn live(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.state.len())
            .filter(|&s| self.state[s] == LIVE)
            .map(|s| self.id_of(s))
    }

    /// Elements that keep another layer-0 in-link when one is taken away: a forced
    /// link may take the place of a link to one of them.
    pub fn can_spare(&self, id: u64) -> bool {
        self.slot(id).is_some_and(|s| self.in_links[s] >= 2)
    }

    /// Counts a layer-0 in-link of `id` that was added (`added`) or removed (a
    /// saturated count stays saturated: it stands for "many").
    pub fn count_in_link(&mut self, id: u64, added: bool) {
        if let Some(s) = self.slot(id) {
            let n = &mut self.in_links[s];
            *n = match (added, *n) {
                (_, u8::MAX) => u8::MAX,
                (true, n) => n + 1,
                (false, n) => n.saturating_sub(1),
            };
        }
    }

    /// The number of line pointers.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// `true` when the index has no line pointer.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }
}

/// The elements a walk along layer-0 links reaches, one bit per slot.
pub struct Reached {
    bits: Vec<u64>,
}

impl Reached {
    /// Nothing reached yet, for `slots`.
    pub fn new(slots: &Slots) -> Reached {
        Reached {
            bits: vec![0; slots.len().div_ceil(64)],
        }
    }

    /// `true` when element `id` was reached.
    pub fn contains(&self, slots: &Slots, id: u64) -> bool {
        slots
            .slot(id)
            .is_some_and(|s| self.bits[s / 64] & (1 << (s % 64)) != 0)
    }

    fn insert(&mut self, slot: usize) -> bool {
        let (word, bit) = (slot / 64, 1u64 << (slot % 64));
        let new = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        new
    }

    /// Walks from `from` along layer-0 links (through deleted elements too, as a
    /// search routes through them), reading each list from its page, and marks
    /// every element it reaches.
    pub fn walk_from(&mut self, slots: &Slots, graph: &mut DiskGraph, from: u64) {
        let Some(start) = slots.slot(from).filter(|&s| slots.state[s] != EMPTY) else {
            return;
        };
        if !self.insert(start) {
            return;
        }
        let mut stack = vec![from];
        let mut links = Vec::new();
        while let Some(id) = stack.pop() {
            pgrx::check_for_interrupts!();
            graph.neighbours(id, 0, &mut links);
            for &n in &links {
                if let Some(s) = slots.slot(n).filter(|&s| slots.state[s] != EMPTY) {
                    if self.insert(s) {
                        stack.push(n);
                    }
                }
            }
        }
    }
}

/// The relinker's picture of an index on disk ([`Reach`]): its slots and what the
/// walks from the entry point reached.
pub struct Walked<'a> {
    /// The slots read at the start of the round.
    pub slots: &'a mut Slots,
    /// What the walks reached so far.
    pub reached: Reached,
}

impl Reach<DiskGraph> for Walked<'_> {
    fn reached(&self, id: u64) -> bool {
        self.reached.contains(self.slots, id)
    }

    fn walk_from(&mut self, graph: &mut DiskGraph, from: u64) {
        self.reached.walk_from(self.slots, graph, from);
    }

    fn can_spare(&self, id: u64) -> bool {
        self.slots.can_spare(id)
    }

    fn count_in_link(&mut self, id: u64, added: bool) {
        self.slots.count_in_link(id, added);
    }
}
