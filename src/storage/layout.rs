//! What fits where on an index page — the one place that knows (PostgreSQL docs,
//! "Database Page Layout"). Everything that places, sizes or caps a tuple asks here.
//!
//! A page is the 24-byte header, line pointers (4 bytes each) growing from the front,
//! tuples (each padded to 8 bytes) growing from the back, and the 16-byte special
//! area. A tuple of `len` bytes takes [`space`]`(len)` of a page; a page can take
//! tuples while their spaces add up to at most its free space as
//! `PageGetFreeSpace` reports it (which already keeps one line pointer back, so the
//! rule is 4 bytes on the safe side), [`PAGE_ROOM`] on a fresh page.
//!
//! An element tuple and its neighbour tuple share a page when both fit on a fresh
//! one ([`together`]); otherwise (large vectors, high levels, large `m`) the
//! neighbour tuple goes to another page, as pgvector does. A neighbour tuple alone
//! always fits up to [`max_level`], so only the neighbour tuple's own size caps an
//! element's level, never its vector.
//!
//! An element of more than [`INLINE_LANES`] lanes keeps them in a chain of tuples
//! ([`super::tuple::chain_pieces`]), each of which fits a page alone: full pieces take
//! a page each, the last shares a page with other tuples when there is room
//! ([`chain_space`]).

use super::tuple::{chain_pieces, chain_size, element_size, neighbour_size, INLINE_LANES};
use pgrx::pg_sys;

/// Page size.
pub const BLOCK_SIZE: usize = pg_sys::BLCKSZ as usize;
/// Bytes of the special area (MAXALIGNed).
pub const SPECIAL_SIZE: usize = 16;
/// `SizeOfPageHeaderData`.
const PAGE_HEADER: usize = 24;
/// `sizeof(ItemIdData)`.
const LINE_POINTER: usize = 4;
/// Free space of a fresh page as `PageGetFreeSpace` reports it: what the tuples
/// placed on one page may take in all.
pub const PAGE_ROOM: usize = BLOCK_SIZE - PAGE_HEADER - SPECIAL_SIZE - LINE_POINTER;

/// The most room the free space map can find: it records a page's free space in
/// steps of `BLCKSZ / 256` bytes, rounded down (PostgreSQL's `freespace.c`), so an
/// empty page's [`PAGE_ROOM`] is known as 8,128 bytes.
pub const FSM_FINDABLE: usize = PAGE_ROOM / (BLOCK_SIZE / 256) * (BLOCK_SIZE / 256);

/// Bytes a tuple of `len` bytes takes of a page: itself, padded to 8, and its line
/// pointer.
pub const fn space(len: usize) -> usize {
    ((len + 7) & !7) + LINE_POINTER
}

/// Space of an element tuple of `dim` lanes (here `dim` is always an element's length
/// in lanes, `crate::distance::lanes`: the dimensions of a `vector`).
pub const fn element_space(dim: usize) -> usize {
    space(element_size(dim))
}

/// Space of the chain tuple holding `lanes` lanes.
pub const fn chain_space(lanes: usize) -> usize {
    space(chain_size(4 * lanes))
}

/// Space of all the chain tuples of an element of `dim` lanes (none when it holds
/// its lanes itself).
pub fn chain_spaces(dim: usize) -> usize {
    chain_pieces(dim).map(|r| chain_space(r.len())).sum()
}

/// Space of the neighbour tuple of an element of `level` in an index with `m`.
pub const fn neighbour_space(m: usize, level: usize) -> usize {
    space(neighbour_size(m, level))
}

/// The least space an insert into an index of `dim` lanes with `m` asks a
/// page for (an element of level 0 with its neighbour tuple, or a level-0
/// neighbour tuple alone when they go on separate pages): a page with less free
/// space is of no use to inserts.
pub const fn smallest_placement(dim: usize, m: usize) -> usize {
    if together(dim, m, 0) {
        element_space(dim) + neighbour_space(m, 0)
    } else {
        neighbour_space(m, 0)
    }
}

/// `true` when the element tuple of `dim` lanes and its neighbour tuple of
/// `level` with `m` go on one page.
pub const fn together(dim: usize, m: usize, level: usize) -> bool {
    element_space(dim) + neighbour_space(m, level) <= PAGE_ROOM
}

/// The highest level an element can have in an index with `m`: its neighbour tuple
/// must fit a page alone, and [`crate::hnsw::MAX_LEVEL`] caps it (m = 100: 11, the
/// chance of a higher draw being 10⁻²⁴; m ≤ 48: the cap).
pub fn max_level(m: usize) -> usize {
    let mut level = crate::hnsw::MAX_LEVEL;
    while level > 0 && neighbour_space(m, level) > PAGE_ROOM {
        level -= 1;
    }
    level
}

/// About how many elements of level 0 a page holds, counting a neighbour tuple on
/// another page and a chain as part of its element (for estimates only; at least 1).
pub fn elements_per_page(dim: usize, m: usize) -> usize {
    (PAGE_ROOM / (element_space(dim) + neighbour_space(m, 0) + chain_spaces(dim))).max(1)
}

// The largest element tuple that holds its lanes fits a page alone.
const _: () = assert!(element_space(INLINE_LANES) <= PAGE_ROOM);
// A full chain tuple fits on a page the free space map offers as empty, and is the
// largest that does (pages VACUUM emptied of chains are found again).
const _: () = assert!(chain_space(super::tuple::CHAIN_PIECE_BYTES / 4) <= FSM_FINDABLE);
const _: () = assert!(chain_space(super::tuple::CHAIN_PIECE_BYTES / 4 + 1) > FSM_FINDABLE);
// The level-0 neighbour tuple of the largest m fits a page alone.
const _: () = assert!(neighbour_space(100, 0) <= PAGE_ROOM);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_fit_a_page_alone() {
        for m in [2usize, 16, 48, 64, 100] {
            let l = max_level(m);
            assert!(neighbour_space(m, l) <= PAGE_ROOM, "m {m}");
            assert!(
                l == crate::hnsw::MAX_LEVEL || neighbour_space(m, l + 1) > PAGE_ROOM,
                "m {m}"
            );
        }
        assert_eq!(max_level(16), crate::hnsw::MAX_LEVEL);
        assert_eq!(max_level(100), 11);
    }

    #[test]
    fn large_elements_keep_their_neighbours_elsewhere() {
        assert!(together(384, 16, 0) && together(384, 16, 15));
        assert!(together(1536, 100, 0));
        assert!(!together(1990, 16, 0));
        assert!(!together(2000, 16, 0) && together(2000, 2, 0));
        assert!(together(1, 100, max_level(100)));
        // 1945 dims with m = 16 share a page on layer 0 but not on high layers.
        assert!(together(1945, 16, 0) && !together(1945, 16, 5));
        assert_eq!(elements_per_page(384, 16), 4);
    }

    #[test]
    fn chained_elements_are_small_and_their_chains_fill_pages() {
        // 3,072 lanes: one full piece and the rest; the element tuple is small.
        assert!(together(3072, 16, crate::hnsw::MAX_LEVEL));
        let pieces: Vec<_> = chain_pieces(3072).collect();
        assert_eq!(pieces, vec![0..2026, 2026..3072]);
        assert_eq!((chain_space(2026), FSM_FINDABLE), (8124, 8128));
        assert_eq!(chain_pieces(16000).count(), 8);
        assert_eq!(chain_spaces(2000), 0);
        assert_eq!(elements_per_page(3072, 16), 1);
    }
}
