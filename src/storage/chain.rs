//! The chains of elements longer than a page (more than
//! [`INLINE_LANES`](super::tuple::INLINE_LANES) lanes, `tuple::chained`): reading one, and the
//! transaction ids that let VACUUM tell a chain being written from one left behind.
//!
//! A chain is written before its element, last piece first, each piece in its own
//! WAL record (`am::insert`), so an element only ever points at a whole chain. A
//! crash or an error between the chain and its element leaves pieces no element
//! points to; each piece names the transaction that wrote it, and VACUUM frees such
//! pieces once that transaction had ended before VACUUM began (`am::vacuum`): its
//! element, had it been written, would then have been seen by VACUUM's first pass.

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use super::page::ReadPage;
use super::tuple::{Chain, Tid};
use super::PAGE_ELEMENTS;
use pgrx::pg_sys;

/// Reads the `lanes` lanes of the chain that starts at `head` into `out`, one page
/// at a time under a share lock. `false` when the chain is not whole: a piece is
/// missing or is not a chain tuple, was written by another transaction than the
/// first, or the pieces hold another number of lanes (what a reader that found the
/// element before VACUUM freed it and its chain may meet). A chain freed and written
/// anew in the same places by one transaction reads as whole: a scan confirms a
/// result's distance again before it returns its rows (`am::disk`).
pub fn read(rel: pg_sys::Relation, head: Tid, lanes: usize, out: &mut Vec<f32>) -> bool {
    out.clear();
    let mut at = Some(head);
    let mut writer = None;
    while let Some(tid) = at {
        let page = ReadPage::read(rel, tid.block, PAGE_ELEMENTS);
        let Some(piece) = page.item(tid.offset).and_then(Chain::parse) else {
            return false;
        };
        // Every piece holds lanes, so a chain that loops ends here too.
        if piece.is_empty()
            || out.len() + piece.len() > lanes
            || *writer.get_or_insert(piece.xid()) != piece.xid()
        {
            return false;
        }
        piece.lanes_into(out);
        at = piece.next();
    }
    out.len() == lanes
}

/// The id of the transaction (or subtransaction) that writes a chain now; `0`
/// (`InvalidTransactionId`) when it has none. A row's insert has one (storing the row
/// gave it one); a build may not (`CREATE INDEX CONCURRENTLY`'s build and validation
/// insert in transactions that need none), and its chains then say 0, which
/// [`ended_before`] every horizon. That is safe because no VACUUM of the table runs
/// while any build of its index does: `CREATE INDEX` holds a share lock on the
/// table, and the concurrent build a share update exclusive lock, which conflict
/// with VACUUM's.
pub fn writer_xid() -> u32 {
    // SAFETY: reads the current transaction's state; assigns nothing.
    unsafe { pg_sys::GetCurrentTransactionIdIfAny().into_inner() }
}

/// Every transaction that can still write a chain is this one or newer (PostgreSQL's
/// `GetOldestActiveTransactionId`: the oldest running top-level transaction; its
/// subtransactions are newer still).
pub fn oldest_running_xid() -> u32 {
    // SAFETY: reads the shared process array under its own lock.
    unsafe { pg_sys::GetOldestActiveTransactionId().into_inner() }
}

/// `true` when the transaction `xid` had ended before `horizon` (from
/// [`oldest_running_xid`]) was read: it precedes it, in PostgreSQL's modulo-2³²
/// order (`TransactionIdPrecedes` in `transam.c`: the special ids 0–2 compare as
/// plain numbers, so they precede every normal one).
pub fn ended_before(xid: u32, horizon: u32) -> bool {
    const FIRST_NORMAL: u32 = 3;
    if xid < FIRST_NORMAL || horizon < FIRST_NORMAL {
        return xid < horizon;
    }
    (xid.wrapping_sub(horizon) as i32) < 0
}

#[cfg(test)]
mod tests {
    use super::ended_before;

    #[test]
    fn transaction_order_is_modulo_2_32() {
        assert!(ended_before(100, 200) && !ended_before(200, 100) && !ended_before(7, 7));
        assert!(ended_before(0, 3) && ended_before(2, 100) && !ended_before(100, 2));
        // Across the wrap: 4,294,967,000 is older than 500.
        assert!(ended_before(4_294_967_000, 500) && !ended_before(500, 4_294_967_000));
    }
}
