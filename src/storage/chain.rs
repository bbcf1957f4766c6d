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
/// missing or is not a chain tuple, or the pieces hold another number of lanes (a
/// reader that found the element before VACUUM freed it and its chain).
pub fn read(rel: pg_sys::Relation, head: Tid, lanes: usize, out: &mut Vec<f32>) -> bool {
    out.clear();
    let mut at = Some(head);
    while let Some(tid) = at {
        let page = ReadPage::read(rel, tid.block, PAGE_ELEMENTS);
        let Some(piece) = page.item(tid.offset).and_then(Chain::parse) else {
            return false;
        };
        // Every piece holds lanes, so a chain that loops ends here too.
        if piece.is_empty() || out.len() + piece.len() > lanes {
            return false;
        }
        piece.lanes_into(out);
        at = piece.next();
    }
    out.len() == lanes
}

/// The id of the transaction (or subtransaction) that writes a chain now; `0`
/// (`InvalidTransactionId`) when it has none (never for a row's insert: the row's own
/// insert gave it one).
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
/// order (`TransactionIdPrecedes`; the special ids 0–2 precede every normal one).
pub fn ended_before(xid: u32, horizon: u32) -> bool {
    // SAFETY: a pure comparison of two ids.
    unsafe { pg_sys::TransactionIdPrecedes(xid.into(), horizon.into()) }
}
