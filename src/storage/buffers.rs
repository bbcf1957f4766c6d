//! Finding and pinning index buffers: `ReadBufferExtended` through VACUUM's buffer
//! access strategy while VACUUM runs ([`VacuumStrategy`]), the per-backend
//! recent-buffer hints that let a search skip the buffer-mapping lookup
//! (`ReadRecentBuffer`), and CPU-cache prefetching of hinted pages.

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::layout::{BLOCK_SIZE, SPECIAL_SIZE};
use pgrx::pg_sys;

thread_local! {
    /// The buffer access strategy VACUUM handed the access method, while it runs
    /// ([`VacuumStrategy`]); null otherwise.
    static STRATEGY: std::cell::Cell<pg_sys::BufferAccessStrategy> =
        const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// While alive, every page this backend reads or writes goes through VACUUM's
/// buffer access strategy (`IndexVacuumInfo.strategy`: a small ring of buffers, so
/// that `VACUUM (BUFFER_USAGE_LIMIT …)` and `vacuum_buffer_usage_limit` bound what
/// VACUUM takes of shared buffers).
pub struct VacuumStrategy {
    previous: pg_sys::BufferAccessStrategy,
}

impl VacuumStrategy {
    /// Uses `strategy` (may be null: no strategy) until dropped.
    pub fn set(strategy: pg_sys::BufferAccessStrategy) -> VacuumStrategy {
        VacuumStrategy {
            previous: STRATEGY.replace(strategy),
        }
    }
}

impl Drop for VacuumStrategy {
    fn drop(&mut self) {
        STRATEGY.set(self.previous);
    }
}

pub(super) fn read_buffer(
    rel: pg_sys::Relation,
    fork: pg_sys::ForkNumber::Type,
    block: u32,
) -> pg_sys::Buffer {
    // SAFETY: `rel` is an open index; a block past the end raises a PostgreSQL ERROR;
    // the strategy, if any, is VACUUM's, alive while VACUUM calls us.
    unsafe {
        pg_sys::ReadBufferExtended(
            rel,
            fork,
            block,
            pg_sys::ReadBufferMode::RBM_NORMAL,
            STRATEGY.get(),
        )
    }
}

type RecentBuffers = std::collections::HashMap<
    (u32, u32, u32),
    Vec<pg_sys::Buffer>,
    std::hash::BuildHasherDefault<crate::hnsw::IdHasher>,
>;

thread_local! {
    /// Per backend: for each index (by relfilenode), the buffer each block was last
    /// found in. `ReadRecentBuffer` pins such a buffer after checking it still holds
    /// that block, skipping the shared buffer-mapping lookup that otherwise dominates
    /// a search; a stale hint just falls back to `ReadBuffer`.
    static RECENT: std::cell::RefCell<RecentBuffers> = std::cell::RefCell::new(RecentBuffers::default());
}

/// The key of `rel`'s hints in [`RECENT`]: its tablespace, database and file number.
pub(super) fn relation_key(rel: pg_sys::Relation) -> (u32, u32, u32) {
    crate::pg::relation_key(rel)
}

/// Pins `block` of `rel`'s main fork, through the recent-buffer hint when it holds.
pub(super) fn pin_recent(rel: pg_sys::Relation, block: u32) -> pg_sys::Buffer {
    let key = relation_key(rel);
    let hint = RECENT.with(|r| {
        r.borrow()
            .get(&key)
            .and_then(|v| v.get(block as usize).copied())
    });
    if let Some(buffer) = hint.filter(|&b| b != 0) {
        if crate::pg::read_recent_buffer(rel, block, buffer) {
            return buffer;
        }
    }
    let buffer = read_buffer(rel, pg_sys::ForkNumber::MAIN_FORKNUM, block);
    RECENT.with(|r| {
        let mut map = r.borrow_mut();
        let hints = map.entry(key).or_default();
        if hints.len() <= block as usize {
            hints.resize(block as usize + 1, 0);
        }
        hints[block as usize] = buffer;
    });
    buffer
}

/// Calls `f` with the buffer hints of `rel` (indexed by block; 0 where unknown).
fn with_hints(rel: pg_sys::Relation, f: impl FnOnce(&[pg_sys::Buffer])) {
    let key = relation_key(rel);
    RECENT.with(|r| {
        if let Some(hints) = r.borrow().get(&key) {
            f(hints);
        }
    });
}

/// The address of shared `buffer`'s page, if `buffer` is a shared buffer number.
fn hinted_page(hints: &[pg_sys::Buffer], block: u32) -> Option<usize> {
    let buffer = *hints.get(block as usize)?;
    // SAFETY: only an address inside the shared buffer pool is computed (`buffer` is
    // 1-based); nothing is read.
    (buffer > 0)
        .then(|| unsafe { pg_sys::BufferBlocks as usize + (buffer as usize - 1) * BLOCK_SIZE })
}

#[cfg(target_arch = "x86_64")]
fn prefetch_line(address: usize) {
    // SAFETY: a prefetch reads nothing architecturally and cannot fault, whatever the
    // address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address as *const i8)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn prefetch_line(_address: usize) {}

/// Prefetches into the CPU cache, for each of `blocks` of `rel` whose buffer is known
/// from an earlier read, the buffer descriptor, the page header with the first line
/// pointers and the special area, so that reading a neighbour list's elements does
/// not wait for memory one page at a time. Pins nothing; a stale hint costs a useless
/// cache line at worst.
pub fn prefetch(rel: pg_sys::Relation, blocks: impl IntoIterator<Item = u32>) {
    with_hints(rel, |hints| {
        for block in blocks {
            if let Some(page) = hinted_page(hints, block) {
                let buffer = hints[block as usize] as usize;
                // SAFETY: computes the address of a shared buffer descriptor (the
                // array has one per shared buffer); nothing is read.
                let desc = unsafe { pg_sys::BufferDescriptors.add(buffer - 1) } as usize;
                prefetch_line(desc);
                prefetch_line(page);
                prefetch_line(page + BLOCK_SIZE - SPECIAL_SIZE);
            }
        }
    });
}

/// Bytes of an item [`prefetch_items`] brings into the CPU cache at most: an element
/// header and a 1,024-dimension `f32` vector.
#[cfg(target_arch = "x86_64")]
const PREFETCH_ITEM_BYTES: usize = 4160;

/// Prefetches into the CPU cache the items at `tids` (block, offset) of `rel` whose
/// pages are known from an earlier read and were prefetched by [`prefetch`] a moment
/// before: each item's line pointer is read without the buffer's lock, as a hint, and
/// the item's bytes (up to [`PREFETCH_ITEM_BYTES`]) are prefetched, so that measuring
/// the next elements of a neighbour list does not wait for memory. Pins nothing; a
/// stale hint or a line pointer that changes meanwhile costs useless cache lines at
/// worst (every address is kept inside the buffer's page).
#[cfg(target_arch = "x86_64")]
pub fn prefetch_items(rel: pg_sys::Relation, tids: impl IntoIterator<Item = (u32, u16)>) {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LINE: usize = 64;
    let header = size_of::<pg_sys::PageHeaderData>();
    with_hints(rel, |hints| {
        for (block, offset) in tids {
            let Some(page) = hinted_page(hints, block) else {
                continue;
            };
            let line = header + (usize::from(offset).max(1) - 1) * size_of::<pg_sys::ItemIdData>();
            if line + size_of::<u32>() > BLOCK_SIZE {
                continue;
            }
            // SAFETY: `page` is the start of a shared buffer's page (hints hold only
            // buffer numbers `ReadBufferExtended` returned, 1..NBuffers) in the
            // buffer pool, which is mapped for the backend's life and aligned (to a
            // cache line or more); `page + line` is inside it and 4-aligned (the page
            // header is 24 bytes, line pointers 4). Another backend may be writing
            // the page (under the buffer's lock, which we do not take, and with
            // plain stores: memcpy, memmove), so the value may mix old and new
            // bytes; it is only a prefetch address, and every use of it below is
            // bounds-checked against the page.
            let word =
                unsafe { AtomicU32::from_ptr((page + line) as *mut u32) }.load(Ordering::Relaxed);
            // SAFETY: ItemIdData is one 32-bit word of bit fields (same size, checked
            // by transmute); any value is one.
            let lp = unsafe { std::mem::transmute::<u32, pg_sys::ItemIdData>(word) };
            if lp.lp_flags() != pg_sys::LP_NORMAL {
                continue;
            }
            let start = lp.lp_off() as usize;
            let end = (start + (lp.lp_len() as usize).min(PREFETCH_ITEM_BYTES)).min(BLOCK_SIZE);
            for at in (start / LINE * LINE..end).step_by(LINE) {
                prefetch_line(page + at);
            }
        }
    });
}

/// Elsewhere there is no prefetch instruction to issue.
#[cfg(not(target_arch = "x86_64"))]
pub fn prefetch_items(_rel: pg_sys::Relation, _tids: impl IntoIterator<Item = (u32, u16)>) {}
