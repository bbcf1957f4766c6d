//! A read of the whole graph, page by page: every element with its heap TIDs and
//! every neighbour list, held in memory, for `hnsw_verify` (VACUUM's cleanup reads a
//! compact picture instead, `super::reach`).
//!
//! Each page is share-locked only while it is read, so under concurrent inserts the
//! result is a slightly smeared picture (an element added to a page already read is
//! missing; its links on later pages are not). Callers treat it as a hint and
//! re-check under the page lock before they change anything.

use crate::hnsw::IdSet;
use crate::storage::page::{block_count, ReadPage};
use crate::storage::tuple::{Chain, Element, Neighbours, Tid};
use crate::storage::PAGE_ELEMENTS;
use pgrx::pg_sys;
use std::collections::HashMap;

/// What the graph read says about one element tuple.
pub struct ElementInfo {
    /// The element's level.
    pub level: usize,
    /// Flagged deleted (no heap TIDs left).
    pub deleted: bool,
    /// Its heap TIDs.
    pub heap_tids: Vec<Tid>,
    /// Where its neighbour tuple is.
    pub neighbours: Tid,
    /// Its length in lanes (the dimensions of a `vector`).
    pub dim: usize,
    /// The first tuple of its chain, when its lanes are in one.
    pub chain: Option<Tid>,
}

/// What the graph read says about one chain tuple.
pub struct ChainInfo {
    /// The next piece of its chain.
    pub next: Option<Tid>,
    /// Lanes it holds.
    pub lanes: usize,
    /// The transaction that wrote it.
    pub xid: u32,
}

/// A page whose special area is wrong (block, what is wrong).
pub type BadPage = (u32, &'static str);

/// Every element and neighbour tuple of an index (see the module docs).
#[derive(Default)]
pub struct GraphScan {
    /// Element tuples by packed TID.
    pub elements: HashMap<u64, ElementInfo>,
    /// Neighbour tuples by packed TID: the TIDs on each layer (index = layer).
    pub lists: HashMap<u64, Vec<Vec<Tid>>>,
    /// Chain tuples by packed TID.
    pub chains: HashMap<u64, ChainInfo>,
    /// Pages that are not element pages of this index.
    pub bad_pages: Vec<BadPage>,
    /// Blocks in the index when the read started.
    pub pages: u32,
}

impl GraphScan {
    /// Reads blocks `1..` of `rel`.
    pub fn read(rel: pg_sys::Relation) -> GraphScan {
        let mut scan = GraphScan {
            pages: block_count(rel),
            ..GraphScan::default()
        };
        for block in 1..scan.pages {
            pgrx::check_for_interrupts!();
            let (page, problem) = ReadPage::read_unchecked(rel, block, PAGE_ELEMENTS);
            if let Some(problem) = problem {
                scan.bad_pages.push((block, problem));
                continue;
            }
            for offset in 1..=page.max_offset() {
                let Some(bytes) = page.item(offset) else {
                    continue;
                };
                let id = Tid { block, offset }.pack();
                if let Some(e) = Element::parse(bytes) {
                    scan.elements.insert(
                        id,
                        ElementInfo {
                            level: e.level(),
                            deleted: e.deleted(),
                            heap_tids: e.heap_tids().collect(),
                            neighbours: e.neighbours(),
                            dim: e.dim(),
                            chain: e.chain(),
                        },
                    );
                } else if let Some(c) = Chain::parse(bytes) {
                    let info = ChainInfo {
                        next: c.next(),
                        lanes: c.len(),
                        xid: c.xid(),
                    };
                    scan.chains.insert(id, info);
                } else if let Some(n) = Neighbours::parse(bytes) {
                    let layers = (0..=n.level())
                        .map(|layer| {
                            let mut out = Vec::new();
                            n.layer(layer, &mut out);
                            out
                        })
                        .collect();
                    scan.lists.insert(id, layers);
                }
            }
        }
        scan
    }

    /// The neighbour lists of element `id` (index = layer), if its neighbour tuple
    /// was found.
    pub fn layers(&self, id: u64) -> Option<&Vec<Vec<Tid>>> {
        let e = self.elements.get(&id)?;
        self.lists.get(&e.neighbours.pack())
    }

    /// Adds to `reached` the elements reachable from `entry` along layer-0 links
    /// (`entry` included): what a search, which ends on layer 0, can find.
    pub fn reachable_from(&self, entry: u64, reached: &mut IdSet<u64>) {
        if !self.elements.contains_key(&entry) || !reached.insert(entry) {
            return;
        }
        let mut stack = vec![entry];
        while let Some(id) = stack.pop() {
            pgrx::check_for_interrupts!();
            let Some(layer0) = self.layers(id).and_then(|l| l.first()) else {
                continue;
            };
            for t in layer0 {
                let n = t.pack();
                if self.elements.contains_key(&n) && reached.insert(n) {
                    stack.push(n);
                }
            }
        }
    }
}
