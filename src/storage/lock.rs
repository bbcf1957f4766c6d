//! The heavyweight lock on "page 0" of an index that orders inserts that may
//! become the entry point, and inserts against VACUUM's barrier and its cleanup's
//! taking over of the metapage's mark of inserts (see `am::insert`).

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use pgrx::pg_sys;

/// The heavyweight lock inserts take on "page 0" of an index (`LockPage`): shared for
/// ordinary inserts, exclusive for one that may become the entry point. Released on
/// drop (and by transaction abort on error).
pub struct InsertLock {
    rel: pg_sys::Relation,
    mode: pg_sys::LOCKMODE,
}

impl InsertLock {
    /// Takes the lock in exclusive or shared mode.
    pub fn acquire(rel: pg_sys::Relation, exclusive: bool) -> InsertLock {
        let mode = if exclusive {
            pg_sys::ExclusiveLock
        } else {
            pg_sys::ShareLock
        } as pg_sys::LOCKMODE;
        // SAFETY: `rel` is an open index; LockPage on block 0 is a lock tag only.
        unsafe { pg_sys::LockPage(rel, 0, mode) };
        InsertLock { rel, mode }
    }

    /// `true` when held exclusively.
    pub fn exclusive(&self) -> bool {
        self.mode == pg_sys::ExclusiveLock as pg_sys::LOCKMODE
    }
}

impl Drop for InsertLock {
    fn drop(&mut self) {
        // SAFETY: releases the lock taken in `acquire`.
        unsafe { pg_sys::UnlockPage(self.rel, 0, self.mode) };
    }
}
