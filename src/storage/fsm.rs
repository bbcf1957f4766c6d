//! The index's free space map (PostgreSQL's `storage/freespace`): where VACUUM
//! records the room it freed and inserts look for room before extending the index.

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use pgrx::pg_sys;

/// Records in `rel`'s free space map that `block` has `bytes` free (PostgreSQL's
/// `storage/freespace`), so later inserts can find room there.
pub fn record_free_space(rel: pg_sys::Relation, block: u32, bytes: usize) {
    // SAFETY: `rel` is an open index; the FSM is created on first use.
    unsafe { pg_sys::RecordPageWithFreeSpace(rel, block, bytes) }
}

/// Records that `block` has `bytes` free and makes it findable at once (updates the
/// free space map's upper levels for that block too, `FreeSpaceMapVacuumRange`).
pub fn offer_free_space(rel: pg_sys::Relation, block: u32, bytes: usize) {
    record_free_space(rel, block, bytes);
    // SAFETY: `rel` is an open index whose FSM now exists.
    unsafe { pg_sys::FreeSpaceMapVacuumRange(rel, block, block + 1) }
}

/// A block the free space map believes has `bytes` free (it may be stale).
pub fn page_with_free_space(rel: pg_sys::Relation, bytes: usize) -> Option<u32> {
    // SAFETY: `rel` is an open index; an absent FSM answers InvalidBlockNumber.
    let block = unsafe { pg_sys::GetPageWithFreeSpace(rel, bytes) };
    (block != pg_sys::InvalidBlockNumber).then_some(block)
}

/// Propagates recorded free space to the upper levels of the free space map.
pub fn vacuum_free_space_map(rel: pg_sys::Relation) {
    // SAFETY: `rel` is an open index.
    unsafe { pg_sys::IndexFreeSpaceMapVacuum(rel) }
}
