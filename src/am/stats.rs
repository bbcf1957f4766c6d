//! `hnsw_index_stats(index regclass)`: the shape of an index's graph, to decide when a
//! REINDEX is due (many deleted elements, thin links, too many pages per element).

use crate::error::raise;
use crate::storage::meta::Meta;
use crate::storage::page::{block_count, ReadPage, BLOCK_SIZE};
use crate::storage::tuple::{Element, Neighbours, Tid};
use crate::storage::PAGE_ELEMENTS;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgSqlErrorCode};
use std::ffi::CStr;

/// A `regclass` argument (the relation's OID).
pub struct RegClass(pub pg_sys::Oid);

pgrx::impl_sql_translatable!(RegClass, arg_only = "regclass");

// SAFETY: regclass is an OID passed by value; only non-null arguments are unboxed
// (the functions are STRICT).
unsafe impl<'fcx> pgrx::callconv::ArgAbi<'fcx> for RegClass {
    unsafe fn unbox_arg_unchecked(arg: pgrx::callconv::Arg<'_, 'fcx>) -> Self {
        // SAFETY: the SQL signature declares this argument as regclass, an OID.
        RegClass(
            unsafe { arg.unbox_arg_using_from_datum::<pg_sys::Oid>() }
                .expect("regclass is not null"),
        )
    }
}

/// An hnsw index opened with `AccessShareLock`, closed on drop.
pub struct OpenIndex(pub pg_sys::Relation);

impl OpenIndex {
    pub fn open(oid: pg_sys::Oid) -> OpenIndex {
        // SAFETY: index_open raises an ERROR for a missing or non-index relation; the
        // access method name comes back palloc'd.
        unsafe {
            let rel = pg_sys::index_open(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            let guard = OpenIndex(rel);
            let am = CStr::from_ptr(pg_sys::get_am_name((*(*rel).rd_rel).relam));
            if am.to_bytes() != b"hnsw" {
                let name = CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr()).to_string_lossy();
                raise(
                    PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not an hnsw index"),
                    None,
                );
            }
            guard
        }
    }
}

impl Drop for OpenIndex {
    fn drop(&mut self) {
        // SAFETY: closes what `open` opened.
        unsafe { pg_sys::index_close(self.0, pg_sys::AccessShareLock as pg_sys::LOCKMODE) }
    }
}

/// One row describing the index: live and deleted elements (an element holds the rows
/// of one distinct vector), heap TIDs, the entry point's level, elements per level and
/// the average number of links per element on each layer (index = level/layer), pages
/// and bytes.
#[pg_extern(stable, strict, parallel_safe)]
#[allow(clippy::type_complexity)]
fn hnsw_index_stats(
    index: RegClass,
) -> TableIterator<
    'static,
    (
        name!(live_elements, i64),
        name!(deleted_elements, i64),
        name!(heap_tids, i64),
        name!(entry_level, Option<i32>),
        name!(elements_per_level, Vec<i64>),
        name!(avg_out_degree, Vec<f64>),
        name!(pages, i64),
        name!(bytes, i64),
    ),
> {
    let rel = OpenIndex::open(index.0);
    let meta = Meta::read(rel.0);
    let (mut live, mut deleted, mut tids) = (0i64, 0i64, 0i64);
    let mut per_level: Vec<i64> = Vec::new(); // elements whose level is exactly l
    let mut links: Vec<i64> = Vec::new(); // links on layer l
    let mut out = Vec::<Tid>::new();
    let pages = block_count(rel.0);
    for block in 1..pages {
        pgrx::check_for_interrupts!();
        let page = ReadPage::read(rel.0, block, PAGE_ELEMENTS);
        for offset in 1..=page.max_offset() {
            let Some(bytes) = page.item(offset) else {
                continue;
            };
            if let Some(e) = Element::parse(bytes) {
                if e.deleted() {
                    deleted += 1;
                } else {
                    live += 1;
                }
                tids += e.heap_tids().count() as i64;
                if per_level.len() <= e.level() {
                    per_level.resize(e.level() + 1, 0);
                }
                per_level[e.level()] += 1;
            } else if let Some(n) = Neighbours::parse(bytes) {
                if links.len() <= n.level() {
                    links.resize(n.level() + 1, 0);
                }
                for (layer, count) in links.iter_mut().enumerate().take(n.level() + 1) {
                    out.clear();
                    n.layer(layer, &mut out);
                    *count += out.len() as i64;
                }
            }
        }
    }
    // Elements present on layer l: those whose level is at least l.
    let on_layer: Vec<i64> = (0..per_level.len())
        .map(|l| per_level[l..].iter().sum())
        .collect();
    let avg: Vec<f64> = on_layer
        .iter()
        .zip(links.iter().chain(std::iter::repeat(&0)))
        .map(|(&n, &l)| if n == 0 { 0.0 } else { l as f64 / n as f64 })
        .collect();
    let entry = meta.entry.map(|(_, level)| level as i32);
    let bytes = i64::from(pages) * BLOCK_SIZE as i64;
    TableIterator::once((
        live,
        deleted,
        tids,
        entry,
        per_level,
        avg,
        i64::from(pages),
        bytes,
    ))
}
