//! `ambulkdelete` and `amvacuumcleanup`.
//!
//! Bulk delete visits every element page under an exclusive lock (one page at a
//! time) and removes the heap TIDs that VACUUM reports dead; an element left without
//! TIDs is flagged deleted: scans no longer return it but still route through it, so
//! the graph stays connected. (Unlinking such elements and repairing their
//! neighbours is a later step.)

use crate::storage::page::{block_count, WritePage};
use crate::storage::tuple::{Element, ElementMut, Tid};
use crate::storage::PAGE_ELEMENTS;
use pgrx::{pg_guard, pg_sys};

/// `ambulkdelete`.
#[pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: pg_sys::IndexBulkDeleteCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: VACUUM passes a live info struct, a result struct or null, and a
    // callback that answers for heap TIDs.
    unsafe {
        let stats = if stats.is_null() {
            pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexBulkDeleteResult>()).cast()
        } else {
            stats
        };
        let index = (*info).index;
        let callback = callback.expect("bulk delete callback");
        let (mut live, mut removed) = (0.0f64, 0.0f64);
        for block in 1..block_count(index) {
            pg_sys::vacuum_delay_point();
            let mut page = WritePage::lock(index, block, PAGE_ELEMENTS);
            let mut changed = false;
            for offset in 1..=page.max_offset() {
                let Some(bytes) = page.item_mut(offset) else {
                    continue;
                };
                if Element::parse(bytes).is_none() {
                    continue;
                }
                let n = ElementMut(bytes).retain_heap_tids(|t: Tid| {
                    let mut ip = pg_sys::ItemPointerData::default();
                    pgrx::itemptr::item_pointer_set_all(&mut ip, t.block, t.offset);
                    !callback(&mut ip, callback_state)
                });
                changed |= n > 0;
                removed += n as f64;
                live += Element::parse(bytes).map_or(0, |e| e.heap_tids().count()) as f64;
            }
            if changed {
                page.commit();
            }
        }
        (*stats).num_pages = block_count(index);
        (*stats).num_index_tuples = live;
        (*stats).tuples_removed += removed;
        stats
    }
}

/// `amvacuumcleanup`: page count, and the tuple count when bulk delete did not run.
#[pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: as in ambulkdelete.
    unsafe {
        if (*info).analyze_only {
            return stats;
        }
        let stats = if stats.is_null() {
            let s: *mut pg_sys::IndexBulkDeleteResult =
                pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexBulkDeleteResult>()).cast();
            (*s).num_index_tuples = (*info).num_heap_tuples;
            (*s).estimated_count = (*info).estimated_count;
            s
        } else {
            stats
        };
        (*stats).num_pages = block_count((*info).index);
        stats
    }
}
