//! The filter of an index scan node, evaluated by the scan on a candidate row before
//! it returns it ([`super::scan_node`] says when that is allowed): the row is read as
//! the executor would read it (the table AM's index fetch, under the scan's
//! snapshot, into a slot of the table's kind) and the node's compiled `qual` runs on
//! it in the node's expression context (its parameters, its query memory), in a
//! memory context of its own that is reset after each row.

use crate::storage::tuple::Tid;
use pgrx::pg_sys;

/// A scan node's filter, ready to run on heap TIDs.
pub struct ScanFilter {
    qual: *mut pg_sys::ExprState,
    econtext: *mut pg_sys::ExprContext,
    snapshot: pg_sys::Snapshot,
    fetch: *mut pg_sys::IndexFetchTableData,
    slot: *mut pg_sys::TupleTableSlot,
    memory: pg_sys::MemoryContext,
}

/// Puts back what [`ScanFilter::accepts`] changed in the expression context, also
/// when the qual raises an error.
struct Restore {
    econtext: *mut pg_sys::ExprContext,
    scantuple: *mut pg_sys::TupleTableSlot,
    memory: pg_sys::MemoryContext,
    previous: pg_sys::MemoryContext,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // SAFETY: the pointers were read from the live expression context.
        unsafe {
            pg_sys::MemoryContextSwitchTo(self.previous);
            (*self.econtext).ecxt_scantuple = self.scantuple;
            (*self.econtext).ecxt_per_tuple_memory = self.memory;
        }
    }
}

impl ScanFilter {
    /// The filter of `node`, the running index scan node of `scan`
    /// ([`super::scan_node::running_node`]); its fetch state and slot are allocated
    /// in the current (the scan's) memory context.
    ///
    /// # Safety
    /// `node` is a live `IndexScanState` whose scan descriptor is `scan`.
    pub unsafe fn new(
        node: *mut pg_sys::IndexScanState,
        scan: pg_sys::IndexScanDesc,
    ) -> ScanFilter {
        // SAFETY: per the caller's guarantee; the heap relation is open for the scan.
        unsafe {
            let heap = (*scan).heapRelation;
            ScanFilter {
                qual: (*node).ss.ps.qual,
                econtext: (*node).ss.ps.ps_ExprContext,
                snapshot: (*scan).xs_snapshot,
                fetch: pg_sys::table_index_fetch_begin(heap),
                slot: pg_sys::table_slot_create(heap, std::ptr::null_mut()),
                memory: pg_sys::AllocSetContextCreateExtended(
                    pg_sys::CurrentMemoryContext,
                    c"hnsw scan filter".as_ptr(),
                    pg_sys::ALLOCSET_SMALL_MINSIZE as usize,
                    pg_sys::ALLOCSET_SMALL_INITSIZE as usize,
                    pg_sys::ALLOCSET_SMALL_MAXSIZE as usize,
                ),
            }
        }
    }

    /// Ends the fetch, drops the slot and deletes the memory context, at the scan's
    /// end, rescan or last batch. There is no `Drop`: when a scan is not ended so
    /// (an error, or a portal that failed and is dropped later), its resource owner
    /// has released the pins and the descriptor reference already, and the memory
    /// goes with the query's context; releasing them again would fail.
    pub fn end(self) {
        // SAFETY: made in `new`, ended once (consumed); `accepts` leaves no pin.
        unsafe {
            pg_sys::table_index_fetch_end(self.fetch);
            pg_sys::ExecDropSingleTupleTableSlot(self.slot);
            pg_sys::MemoryContextDelete(self.memory);
        }
    }

    /// Whether the row at heap TID `tid` is visible to the scan's snapshot and
    /// passes the filter (a NULL result fails it, as in a WHERE clause).
    ///
    /// # Errors
    /// Whatever the filter raises (a pushable filter has only leakproof functions).
    pub fn accepts(&mut self, tid: Tid) -> bool {
        let mut ip = pg_sys::ItemPointerData::default();
        pgrx::itemptr::item_pointer_set_all(&mut ip, tid.block, tid.offset);
        // SAFETY: the fetch state, slot, qual and expression context are live for
        // the scan's duration; the row is read and evaluated as the executor does,
        // through the FFI guard (an ERROR unwinds, and `Restore` puts the context
        // back); no buffer pin is kept between calls.
        unsafe {
            let (mut call_again, mut all_dead) = (false, false);
            let visible = pg_sys::ffi::pg_guard_ffi_boundary(|| {
                pg_sys::table_index_fetch_tuple(
                    self.fetch,
                    &mut ip,
                    self.snapshot,
                    self.slot,
                    &mut call_again,
                    &mut all_dead,
                )
            });
            let passes = visible && {
                let _restore = Restore {
                    econtext: self.econtext,
                    scantuple: (*self.econtext).ecxt_scantuple,
                    memory: (*self.econtext).ecxt_per_tuple_memory,
                    previous: pg_sys::MemoryContextSwitchTo(self.memory),
                };
                (*self.econtext).ecxt_scantuple = self.slot;
                (*self.econtext).ecxt_per_tuple_memory = self.memory;
                let mut is_null = false;
                let eval = (*self.qual).evalfunc.expect("a compiled qual");
                let result = pg_sys::ffi::pg_guard_ffi_boundary(|| {
                    eval(self.qual, self.econtext, &mut is_null)
                });
                !is_null && result.value() != 0
            };
            pg_sys::ExecClearTuple(self.slot);
            pg_sys::table_index_fetch_reset(self.fetch);
            pg_sys::MemoryContextReset(self.memory);
            passes
        }
    }
}
