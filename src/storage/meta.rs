//! The metapage (block 0): format version, dimensions, parameters, entry point and
//! the page where inserts try first.

use super::page::{BuildPage, ReadPage, WritePage};
use super::tuple::Tid;
use super::PAGE_META;
use crate::error::raise;
use crate::hnsw::Metric;
use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;

/// Magic number at the start of the metapage data.
pub const META_MAGIC: u32 = 0x4d48_4e57;
/// On-disk format version; bumped on any incompatible layout change. Version 2 is
/// version 1 with elements longer than a page (their lanes in chains,
/// `tuple::chained`): an index of such elements says 2, so that a library that reads
/// only version 1 refuses it (REINDEX) instead of missing its elements; every other
/// index says 1. This library reads both.
pub const FORMAT_VERSION: u32 = 2;
/// The version of an index without chained elements.
const FORMAT_WITHOUT_CHAINS: u32 = 1;
const META_BYTES: usize = 32;

/// The contents of the metapage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Meta {
    /// Dimensions of every element in the index (of its column's type; its lanes are
    /// [`Meta::lanes`]).
    pub dim: usize,
    /// `m` reloption.
    pub m: usize,
    /// `ef_construction` reloption.
    pub ef_construction: usize,
    /// The operator class's metric.
    pub metric: Metric,
    /// The entry point element and its level; `None` while the index is empty.
    pub entry: Option<(Tid, usize)>,
    /// The page inserts try first (the last page added).
    pub insert_page: u32,
    /// Set by VACUUM's bulk delete before its repair and free passes (a re-selected
    /// list can drop a live element's only in-link, a freed element can have been
    /// it), and by a build or cleanup whose reachability check left elements
    /// unreachable (or was skipped for memory); cleared by a VACUUM cleanup whose
    /// check reached every live element (and set by a cleanup before its check). A VACUUM interrupted in between leaves it
    /// set, and the next VACUUM's cleanup does the linking whatever its bulk delete
    /// found. A flag in a byte the format left zero, so the format version stays:
    /// older indexes read as `false`; an older library writes it back as zero on its
    /// next metapage update (a downgrade forgets a pending relink).
    pub relink_pending: bool,
    /// Set by the first insert since the last reachability check began (before its
    /// first write): its linking re-selects full lists, which can drop an element's
    /// only in-link, so the next VACUUM's cleanup checks that every live element can
    /// be reached. Cleanup turns it into [`Meta::relink_pending`] before its check,
    /// under the exclusive insert lock, so an insert during the check sets it again
    /// for the VACUUM after. Bit 1 of the byte of `relink_pending`, with the same
    /// compatibility (an index from before it reads as unmarked).
    pub inserted_since_check: bool,
}

/// The metapage's byte of each metric: 1–4 since the first format; 5–10 (the
/// `halfvec` and `bit` classes) and 11–14 (`sparsevec`) were added without a format
/// change, as no index of the earlier library holds them (that library reads them as
/// a corrupt metapage).
fn metric_code(m: Metric) -> u8 {
    match m {
        Metric::L2 => 1,
        Metric::InnerProduct => 2,
        Metric::Cosine => 3,
        Metric::L1 => 4,
        Metric::HalfL2 => 5,
        Metric::HalfInnerProduct => 6,
        Metric::HalfCosine => 7,
        Metric::HalfL1 => 8,
        Metric::Hamming => 9,
        Metric::Jaccard => 10,
        Metric::SparseL2 => 11,
        Metric::SparseInnerProduct => 12,
        Metric::SparseCosine => 13,
        Metric::SparseL1 => 14,
    }
}

/// The metric of a metapage byte (the inverse of [`metric_code`]).
fn metric_of(code: u8) -> Option<Metric> {
    Some(match code {
        1 => Metric::L2,
        2 => Metric::InnerProduct,
        3 => Metric::Cosine,
        4 => Metric::L1,
        5 => Metric::HalfL2,
        6 => Metric::HalfInnerProduct,
        7 => Metric::HalfCosine,
        8 => Metric::HalfL1,
        9 => Metric::Hamming,
        10 => Metric::Jaccard,
        11 => Metric::SparseL2,
        12 => Metric::SparseInnerProduct,
        13 => Metric::SparseCosine,
        14 => Metric::SparseL1,
        _ => return None,
    })
}

impl Meta {
    /// The lanes of every element ([`crate::distance::lanes`]): the length of the
    /// vectors the graph and the element tuples hold; of a `sparsevec` index, whose
    /// elements differ in length, the most an element has.
    pub fn lanes(&self) -> usize {
        self.metric.lanes(self.dim)
    }

    /// The lanes of every element when all have the same length (`None` for
    /// `sparsevec`).
    pub fn fixed_lanes(&self) -> Option<usize> {
        self.metric
            .element_type()
            .fixed_length()
            .then(|| self.lanes())
    }

    /// The fewest lanes an element has (0 for `sparsevec`: a zero vector).
    pub fn least_lanes(&self) -> usize {
        self.fixed_lanes().unwrap_or(0)
    }

    /// `true` when an element of `lanes` lanes belongs in this index: its length
    /// ([`Meta::lanes`]), or for `sparsevec` an even length up to that and to two
    /// per dimension.
    pub fn holds_lanes(&self, lanes: usize) -> bool {
        match self.fixed_lanes() {
            Some(n) => lanes == n,
            None => lanes.is_multiple_of(2) && lanes <= self.lanes().min(2 * self.dim),
        }
    }

    /// The build parameters (`m`, `ef_construction`).
    pub fn params(&self) -> crate::hnsw::Params {
        crate::hnsw::Params {
            m: self.m,
            ef_construction: self.ef_construction,
        }
    }

    fn encode(&self) -> [u8; META_BYTES] {
        let mut b = [0u8; META_BYTES];
        b[0..4].copy_from_slice(&META_MAGIC.to_le_bytes());
        let version = if super::tuple::chained(self.lanes()) {
            FORMAT_VERSION
        } else {
            FORMAT_WITHOUT_CHAINS
        };
        b[4..8].copy_from_slice(&version.to_le_bytes());
        b[8..12].copy_from_slice(&(self.dim as u32).to_le_bytes());
        b[12..14].copy_from_slice(&(self.m as u16).to_le_bytes());
        b[14..16].copy_from_slice(&(self.ef_construction as u16).to_le_bytes());
        b[16] = metric_code(self.metric);
        let (tid, level) = self.entry.unwrap_or((
            Tid {
                block: u32::MAX,
                offset: 0,
            },
            0,
        ));
        b[17] = level as u8;
        b[18..22].copy_from_slice(&tid.block.to_le_bytes());
        b[22..24].copy_from_slice(&tid.offset.to_le_bytes());
        b[24..28].copy_from_slice(&self.insert_page.to_le_bytes());
        b[28] = u8::from(self.relink_pending) | u8::from(self.inserted_since_check) << 1;
        b
    }

    /// Decodes the metapage data; `Err` says what is wrong.
    pub fn decode(b: &[u8]) -> Result<Meta, &'static str> {
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        let u16_at = |i: usize| u16::from_le_bytes(b[i..i + 2].try_into().unwrap());
        if u32_at(0) != META_MAGIC {
            return Err("bad metapage magic number");
        }
        if !readable(u32_at(4)) {
            return Err("unsupported index format version; REINDEX the index");
        }
        let Some(metric) = metric_of(b[16]) else {
            return Err("bad metric in metapage");
        };
        let block = u32_at(18);
        Ok(Meta {
            dim: u32_at(8) as usize,
            m: u16_at(12) as usize,
            ef_construction: u16_at(14) as usize,
            metric,
            entry: (block != u32::MAX).then_some((
                Tid {
                    block,
                    offset: u16_at(22),
                },
                b[17] as usize,
            )),
            insert_page: u32_at(24),
            relink_pending: b[28] & 1 != 0,
            inserted_since_check: b[28] & 2 != 0,
        })
    }

    /// Reads the metapage of `rel`.
    ///
    /// # Errors
    /// `ERRCODE_FEATURE_NOT_SUPPORTED` when it holds another on-disk format version
    /// (hint: REINDEX), `ERRCODE_INDEX_CORRUPTED` when it cannot be decoded. VACUUM
    /// fails on such an index too, as nbtree's does: skipping it would let the heap
    /// reuse the slots of dead rows the index still holds.
    pub fn read(rel: pg_sys::Relation) -> Meta {
        let page = ReadPage::read(rel, 0, PAGE_META);
        decode_or_error(rel, page.contents(META_BYTES))
    }

    /// Writes the metapage as the first page of a fresh `fork` during a build.
    pub fn write_new(&self, rel: pg_sys::Relation, fork: pg_sys::ForkNumber::Type, log: bool) {
        let mut page = BuildPage::extend(rel, fork, PAGE_META);
        assert_eq!(page.block(), 0, "the metapage is block 0");
        page.contents_mut(META_BYTES)
            .copy_from_slice(&self.encode());
        page.finish(log);
    }

    /// Sets [`Meta::relink_pending`] of `rel` to `pending` (WAL-logged; no write
    /// when it already is). Takes the metapage's lock: call it holding no other
    /// buffer lock.
    pub fn set_relink_pending(rel: pg_sys::Relation, pending: bool) {
        Meta::update(rel, |m| {
            std::mem::replace(&mut m.relink_pending, pending) != pending
        });
    }

    /// Sets [`Meta::inserted_since_check`] of `rel` (WAL-logged; no write when it
    /// already is). Takes the metapage's lock: call it holding no buffer lock, and
    /// the insert lock, so that no cleanup clears it while the insert runs.
    pub fn mark_inserted(rel: pg_sys::Relation) {
        Meta::update(rel, |m| {
            !std::mem::replace(&mut m.inserted_since_check, true)
        });
    }

    /// Applies `change` to the metapage under its exclusive lock; writes (WAL-logged)
    /// only when `change` returns `true`.
    pub fn update(rel: pg_sys::Relation, change: impl FnOnce(&mut Meta) -> bool) {
        let mut page = WritePage::lock(rel, 0, PAGE_META);
        let mut meta = decode_or_error(rel, page.contents_mut(META_BYTES));
        if change(&mut meta) {
            page.contents_mut(META_BYTES)
                .copy_from_slice(&meta.encode());
            page.commit();
        }
    }
}

/// `true` for the format versions this library reads.
fn readable(version: u32) -> bool {
    (FORMAT_WITHOUT_CHAINS..=FORMAT_VERSION).contains(&version)
}

fn decode_or_error(rel: pg_sys::Relation, bytes: &[u8]) -> Meta {
    let version = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
    if bytes[0..4] == META_MAGIC.to_le_bytes() && !readable(version) {
        // SAFETY: `rel` is the open relation whose metapage the caller just read;
        // its relcache entry's `relname` is a NameData, NUL-terminated within
        // NAMEDATALEN.
        let name = unsafe { std::ffi::CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr()) };
        let report = pgrx::pg_sys::panic::ErrorReport::new(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "hnsw index \"{}\" has on-disk format version {version}, this pgvec_hnsw reads versions {FORMAT_WITHOUT_CHAINS} to {FORMAT_VERSION}",
                name.to_string_lossy()
            ),
            "",
        )
        .set_hint("REINDEX the index to rebuild it in the current format.");
        report.report(pgrx::PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) returned");
    }
    Meta::decode(bytes).unwrap_or_else(|what| {
        raise(
            PgSqlErrorCode::ERRCODE_INDEX_CORRUPTED,
            "hnsw index has a corrupted metapage",
            Some(what.into()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_code_round_trips() {
        let metrics: Vec<(u8, Metric)> = (0..=u8::MAX)
            .filter_map(|c| metric_of(c).map(|m| (c, m)))
            .collect();
        assert_eq!(metrics.len(), 14);
        for (code, metric) in metrics {
            assert_eq!(metric_code(metric), code);
            let meta = Meta {
                dim: 3072,
                m: 16,
                ef_construction: 64,
                metric,
                entry: Some((
                    Tid {
                        block: 7,
                        offset: 3,
                    },
                    2,
                )),
                insert_page: 9,
                relink_pending: true,
                inserted_since_check: false,
            };
            assert_eq!(Meta::decode(&meta.encode()), Ok(meta));
        }
        assert_eq!(metric_of(0), None);
        assert_eq!(metric_of(15), None);
    }

    /// The metapage of an empty index of `dim` dimensions under `metric`, m = 16.
    fn empty(dim: usize, metric: Metric) -> Meta {
        Meta {
            dim,
            m: 16,
            ef_construction: 64,
            metric,
            entry: None,
            insert_page: 0,
            relink_pending: false,
            inserted_since_check: false,
        }
    }

    #[test]
    fn chained_elements_have_format_version_2() {
        let meta = empty;
        let version = |m: Meta| u32::from_le_bytes(m.encode()[4..8].try_into().unwrap());
        assert_eq!(version(meta(2000, Metric::L2)), 1);
        assert_eq!(version(meta(4000, Metric::HalfL2)), 1);
        assert_eq!(version(meta(64000, Metric::Hamming)), 1);
        assert_eq!(version(meta(1_000_000_000, Metric::SparseL2)), 1);
        assert_eq!(version(meta(2001, Metric::L2)), 2);
        assert_eq!(version(meta(4001, Metric::HalfCosine)), 2);
        let mut bytes = meta(16000, Metric::Cosine).encode();
        assert_eq!(Meta::decode(&bytes), Ok(meta(16000, Metric::Cosine)));
        bytes[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert!(Meta::decode(&bytes).is_err());
    }

    #[test]
    fn sparse_elements_differ_in_length() {
        let m = empty;
        let sparse = m(30_000, Metric::SparseCosine);
        assert_eq!(
            (sparse.lanes(), sparse.fixed_lanes(), sparse.least_lanes()),
            (2000, None, 0)
        );
        assert!(sparse.holds_lanes(0) && sparse.holds_lanes(2000) && !sparse.holds_lanes(7));
        assert!(!sparse.holds_lanes(2002));
        assert!(m(3, Metric::SparseL2).holds_lanes(6) && !m(3, Metric::SparseL2).holds_lanes(8));
        let half = m(5, Metric::HalfL2);
        assert_eq!(
            (half.lanes(), half.fixed_lanes(), half.least_lanes()),
            (3, Some(3), 3)
        );
        assert!(half.holds_lanes(3) && !half.holds_lanes(2));
    }
}
