//! Storage: the index's pages, and all `unsafe` page work.
//!
//! - [`tuple`]: byte layouts of element and neighbour tuples (Postgres-free);
//! - [`layout`]: what fits where on a page (the one place that knows);
//! - [`page`]: buffer guards. [`page::ReadPage`] pins and share-locks a page;
//!   [`page::WritePage`] pins, exclusive-locks and registers it in a GenericXLog
//!   record that is finished on [`page::WritePage::commit`] and aborted when the guard
//!   is dropped otherwise, so a change cannot skip WAL; [`page::BuildPage`] writes
//!   fresh pages during `CREATE INDEX`, which are WAL-logged once at the end;
//! - [`buffers`]: reading buffers (VACUUM's strategy, recent-buffer hints,
//!   prefetching); [`fsm`]: the free space map; [`lock`]: the insert lock;
//! - [`meta`]: the metapage (block 0); [`chain`]: reading the lanes of an element
//!   longer than a page;
//! - [`shared_graph`]: the graph of a parallel build in shared memory (Postgres-free).
//!
//! Every page carries a special area with a magic number and a page type, checked on
//! every read (`ERRCODE_INDEX_CORRUPTED` otherwise). Locking protocol: a backend holds
//! at most one buffer lock at a time (plus the relation extension lock while adding a
//! page), so page locks cannot deadlock.

// Functions here take `pg_sys::Relation` pointers handed to the access method by
// PostgreSQL, valid for the duration of the callback; they are not user input.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod buffers;
pub mod chain;
pub mod fsm;
pub mod layout;
pub mod lock;
pub mod meta;
pub mod page;
pub mod shared_graph;
pub mod tuple;

/// Page type of the metapage.
pub const PAGE_META: u16 = 1;
/// Page type of pages holding element and neighbour tuples.
pub const PAGE_ELEMENTS: u16 = 2;
