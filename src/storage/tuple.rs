//! Byte layouts of the index tuples, without PostgreSQL (so plain `cargo test` covers
//! them). All integers little-endian; a TID is `block u32, offset u16` (6 bytes),
//! with block `u32::MAX` meaning "no TID".
//!
//! Element tuple (one per distinct vector):
//! ```text
//!  0  u8   tag = TAG_ELEMENT
//!  1  u8   level
//!  2  u8   flags (FLAG_DELETED)
//!  3  u8   number of heap TIDs in use
//!  4  u32  block of the neighbour tuple
//!  8  u16  offset of the neighbour tuple
//! 10  u16  lanes (the dimensions of a `vector`)
//! 12  6×MAX_HEAP_TIDS  heap TIDs (rows with this exact value)
//! 72  f32×lanes  the element's lanes (`crate::distance::lanes`; normalised for cosine)
//!     or, with FLAG_CHAINED (more than INLINE_LANES lanes), 6 bytes: the TID of the
//!     first tuple of the chain that holds them
//! ```
//! Chain tuple (a piece of the lanes of a chained element, in order; each at most
//! [`CHAIN_PIECE_BYTES`] of lanes, so that it fits a page alone):
//! ```text
//!  0  u8   tag = TAG_CHAIN
//!  1  3×u8 zero
//!  4  u32  transaction that wrote it (VACUUM frees a chain no element points to
//!          only once that transaction has ended, `am::vacuum`)
//!  8  6    TID of the next piece (none: the last)
//! 14  u16  zero
//! 16  the lanes of this piece (little-endian f32 bit patterns)
//! ```
//! Neighbour tuple (beside its element when both fit a page, `layout::together`):
//! ```text
//!  0  u8   tag = TAG_NEIGHBOURS
//!  1  u8   level
//!  2  u16  m
//!  4  6×(2m + level·m)  element TIDs: layer 0 (2m slots), then m slots per layer
//! ```

/// Tag of an element tuple.
pub const TAG_ELEMENT: u8 = 1;
/// Tag of a neighbour tuple.
pub const TAG_NEIGHBOURS: u8 = 2;
/// Tag of a chain tuple.
pub const TAG_CHAIN: u8 = 3;
/// Element flag: every heap TID is dead; kept only to route searches until repaired.
pub const FLAG_DELETED: u8 = 1;
/// Element flag: its lanes are in a chain of tuples, not in the element tuple.
pub const FLAG_CHAINED: u8 = 2;
/// The most lanes an element tuple holds itself (2,000 dimensions of `vector`, 4,000
/// of `halfvec`, 64,000 bits: pgvector's limits; `layout` checks it fits a page). A
/// longer element keeps them in a chain.
pub const INLINE_LANES: usize = 2000;
/// Bytes of lanes in a chain tuple but the last: the most whose tuple the free space
/// map can find room for on an empty page (`layout::FSM_FINDABLE`, checked there), a
/// whole number of lanes.
pub const CHAIN_PIECE_BYTES: usize = 8104;
/// Heap TIDs one element can carry (rows whose vectors are identical).
pub const MAX_HEAP_TIDS: usize = 10;

const TID_BYTES: usize = 6;
const ELEMENT_HEADER: usize = 12 + TID_BYTES * MAX_HEAP_TIDS;
const NEIGHBOUR_HEADER: usize = 4;
const CHAIN_HEADER: usize = 16;

/// A tuple identifier: block number and 1-based line pointer offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tid {
    /// Block number.
    pub block: u32,
    /// Line pointer offset (1-based).
    pub offset: u16,
}

impl Tid {
    /// Packs into a `u64` (`block << 16 | offset`), the id of on-disk graph elements.
    pub fn pack(self) -> u64 {
        (u64::from(self.block) << 16) | u64::from(self.offset)
    }

    /// Inverse of [`Tid::pack`].
    pub fn unpack(v: u64) -> Tid {
        Tid {
            block: (v >> 16) as u32,
            offset: v as u16,
        }
    }

    fn read(bytes: &[u8]) -> Option<Tid> {
        let block = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
        let offset = u16::from_le_bytes(bytes[4..6].try_into().unwrap());
        (block != u32::MAX).then_some(Tid { block, offset })
    }

    fn write(tid: Option<Tid>, bytes: &mut [u8]) {
        let (block, offset) = tid.map_or((u32::MAX, 0), |t| (t.block, t.offset));
        bytes[0..4].copy_from_slice(&block.to_le_bytes());
        bytes[4..6].copy_from_slice(&offset.to_le_bytes());
    }
}

/// `true` when an element of `dim` lanes keeps them in a chain ([`INLINE_LANES`]).
pub const fn chained(dim: usize) -> bool {
    dim > INLINE_LANES
}

/// Size in bytes of an element tuple of `dim` lanes (here and in `layout`, `dim` is
/// the length of an element in lanes, its dimensions for a `vector`): its lanes, or
/// for a [`chained`] one the TID of its chain.
pub const fn element_size(dim: usize) -> usize {
    if chained(dim) {
        ELEMENT_HEADER + TID_BYTES
    } else {
        ELEMENT_HEADER + 4 * dim
    }
}

/// Size in bytes of a chain tuple holding `bytes` bytes of lanes.
pub const fn chain_size(bytes: usize) -> usize {
    CHAIN_HEADER + bytes
}

/// The lanes of each chain tuple of an element of `dim` lanes, in chain order:
/// [`CHAIN_PIECE_BYTES`] each, the rest in the last; none when it is not [`chained`].
pub fn chain_pieces(dim: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let per = CHAIN_PIECE_BYTES / 4;
    let pieces = if chained(dim) { dim.div_ceil(per) } else { 0 };
    (0..pieces).map(move |i| i * per..((i + 1) * per).min(dim))
}

/// Number of TID slots of a neighbour tuple of `level` with parameter `m`.
pub const fn neighbour_slots(m: usize, level: usize) -> usize {
    2 * m + level * m
}

/// Size in bytes of a neighbour tuple.
pub const fn neighbour_size(m: usize, level: usize) -> usize {
    NEIGHBOUR_HEADER + TID_BYTES * neighbour_slots(m, level)
}

/// Where an element tuple's lanes are.
#[derive(Clone, Copy, Debug)]
pub enum Body<'a> {
    /// In the tuple: these lanes ([`INLINE_LANES`] at most).
    Inline(&'a [f32]),
    /// In a chain of this many lanes ([`chained`]) whose first tuple is at this TID.
    Chain(usize, Tid),
}

impl Body<'_> {
    /// Lanes of the element.
    pub fn lanes(&self) -> usize {
        match *self {
            Body::Inline(v) => v.len(),
            Body::Chain(lanes, _) => lanes,
        }
    }
}

/// Writes a new element tuple into `out` (of [`element_size`] bytes).
pub fn write_element(out: &mut [u8], level: usize, neighbours: Tid, heap_tids: &[Tid], body: Body) {
    let lanes = body.lanes();
    assert_eq!(out.len(), element_size(lanes));
    assert!(heap_tids.len() <= MAX_HEAP_TIDS && !heap_tids.is_empty());
    out[0] = TAG_ELEMENT;
    out[1] = level as u8;
    out[3] = heap_tids.len() as u8;
    Tid::write(Some(neighbours), &mut out[4..10]);
    out[10..12].copy_from_slice(&(lanes as u16).to_le_bytes());
    for i in 0..MAX_HEAP_TIDS {
        Tid::write(
            heap_tids.get(i).copied(),
            &mut out[12 + i * TID_BYTES..12 + (i + 1) * TID_BYTES],
        );
    }
    match body {
        Body::Inline(vector) => {
            assert!(!chained(lanes), "{lanes} lanes go in a chain");
            out[2] = 0;
            write_lanes(&mut out[ELEMENT_HEADER..], vector);
        }
        Body::Chain(_, head) => {
            assert!(chained(lanes), "{lanes} lanes go in the element");
            out[2] = FLAG_CHAINED;
            Tid::write(Some(head), &mut out[ELEMENT_HEADER..]);
        }
    }
}

fn write_lanes(out: &mut [u8], lanes: &[f32]) {
    for (o, x) in out.chunks_exact_mut(4).zip(lanes) {
        o.copy_from_slice(&x.to_le_bytes());
    }
}

/// Writes a chain tuple into `out` (of [`chain_size`] of the lanes' bytes): `lanes`,
/// written by transaction `xid`, followed by the tuple at `next`.
pub fn write_chain(out: &mut [u8], xid: u32, next: Option<Tid>, lanes: &[f32]) {
    assert_eq!(out.len(), chain_size(4 * lanes.len()));
    assert!(4 * lanes.len() <= CHAIN_PIECE_BYTES);
    out[..CHAIN_HEADER].fill(0);
    out[0] = TAG_CHAIN;
    out[4..8].copy_from_slice(&xid.to_le_bytes());
    Tid::write(next, &mut out[8..14]);
    write_lanes(&mut out[CHAIN_HEADER..], lanes);
}

/// A read-only view of a chain tuple.
pub struct Chain<'a>(&'a [u8]);

impl<'a> Chain<'a> {
    /// Views `bytes` as a chain tuple; `None` when the tag or size is wrong.
    pub fn parse(bytes: &'a [u8]) -> Option<Chain<'a>> {
        let ok = bytes.len() >= CHAIN_HEADER
            && bytes[0] == TAG_CHAIN
            && (bytes.len() - CHAIN_HEADER).is_multiple_of(4)
            && bytes.len() - CHAIN_HEADER <= CHAIN_PIECE_BYTES;
        ok.then_some(Chain(bytes))
    }
    /// The transaction that wrote it.
    pub fn xid(&self) -> u32 {
        u32::from_le_bytes(self.0[4..8].try_into().unwrap())
    }
    /// The next piece, if any.
    pub fn next(&self) -> Option<Tid> {
        Tid::read(&self.0[8..14])
    }
    /// Number of lanes in this piece.
    pub fn len(&self) -> usize {
        (self.0.len() - CHAIN_HEADER) / 4
    }
    /// `true` for a piece without lanes (never written so).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends this piece's lanes to `out`.
    pub fn lanes_into(&self, out: &mut Vec<f32>) {
        out.extend(
            self.0[CHAIN_HEADER..]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
        );
    }
}

/// A read-only view of an element tuple.
pub struct Element<'a>(&'a [u8]);

impl<'a> Element<'a> {
    /// Views `bytes` as an element tuple; `None` when the tag or size is wrong.
    pub fn parse(bytes: &'a [u8]) -> Option<Element<'a>> {
        if bytes.len() < ELEMENT_HEADER || bytes[0] != TAG_ELEMENT {
            return None;
        }
        let e = Element(bytes);
        let flagged = bytes[2] & FLAG_CHAINED != 0;
        let whole = bytes.len() == element_size(e.dim())
            && flagged == chained(e.dim())
            && (!flagged || Tid::read(&bytes[ELEMENT_HEADER..]).is_some());
        whole.then_some(e)
    }
    /// The element's level.
    pub fn level(&self) -> usize {
        self.0[1] as usize
    }
    /// `true` once vacuum removed its last heap TID.
    pub fn deleted(&self) -> bool {
        self.0[2] & FLAG_DELETED != 0
    }
    /// Where its neighbour tuple is.
    pub fn neighbours(&self) -> Tid {
        Tid::read(&self.0[4..10]).unwrap_or(Tid {
            block: u32::MAX,
            offset: 0,
        })
    }
    /// Lanes of its element.
    pub fn dim(&self) -> usize {
        u16::from_le_bytes([self.0[10], self.0[11]]) as usize
    }
    /// The heap TIDs in use.
    pub fn heap_tids(&self) -> impl Iterator<Item = Tid> + '_ {
        (0..self.0[3] as usize).filter_map(|i| Tid::read(&self.0[12 + i * TID_BYTES..]))
    }
    /// `true` when its lanes are in a chain ([`chained`]).
    pub fn is_chained(&self) -> bool {
        self.0[2] & FLAG_CHAINED != 0
    }
    /// The TID of the first tuple of its chain, for a [`chained`] element.
    pub fn chain(&self) -> Option<Tid> {
        if !self.is_chained() {
            return None;
        }
        Tid::read(&self.0[ELEMENT_HEADER..])
    }
    /// The vector bytes (little-endian f32s; none for a chained element); see
    /// [`Element::vector_into`].
    pub fn vector_bytes(&self) -> &'a [u8] {
        if self.is_chained() {
            return &[];
        }
        &self.0[ELEMENT_HEADER..]
    }
    /// The vector as `&[f32]` when the bytes are 4-aligned (they are on a page);
    /// `None` for a chained element (see [`Element::chain`]).
    pub fn vector(&self) -> Option<&'a [f32]> {
        if self.is_chained() {
            return None;
        }
        let bytes = self.vector_bytes();
        // SAFETY: every bit pattern is a valid f32; `align_to` only yields the middle
        // part when it is correctly aligned, and we require there to be no prefix.
        let (pre, floats, post) = unsafe { bytes.align_to::<f32>() };
        (pre.is_empty() && post.is_empty() && cfg!(target_endian = "little")).then_some(floats)
    }
    /// Copies the vector into `out` (empty for a chained element).
    pub fn vector_into(&self, out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.vector_bytes()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
        );
    }
}

/// Mutations of an element tuple in place.
pub struct ElementMut<'a>(pub &'a mut [u8]);

impl ElementMut<'_> {
    /// Adds a heap TID; `false` when all slots are taken or the element is deleted
    /// (VACUUM may be about to free it, so it must not take a row again).
    pub fn add_heap_tid(&mut self, tid: Tid) -> bool {
        let n = self.0[3] as usize;
        if n >= MAX_HEAP_TIDS || self.0[2] & FLAG_DELETED != 0 {
            return false;
        }
        Tid::write(
            Some(tid),
            &mut self.0[12 + n * TID_BYTES..12 + (n + 1) * TID_BYTES],
        );
        self.0[3] = (n + 1) as u8;
        true
    }

    /// Keeps the heap TIDs for which `keep` is true; marks the element deleted when
    /// none is left. Returns the number removed.
    pub fn retain_heap_tids(&mut self, mut keep: impl FnMut(Tid) -> bool) -> usize {
        let n = self.0[3] as usize;
        let tids: Vec<Tid> = (0..n)
            .filter_map(|i| Tid::read(&self.0[12 + i * TID_BYTES..]))
            .collect();
        let kept: Vec<Tid> = tids.iter().copied().filter(|&t| keep(t)).collect();
        for i in 0..MAX_HEAP_TIDS {
            Tid::write(
                kept.get(i).copied(),
                &mut self.0[12 + i * TID_BYTES..12 + (i + 1) * TID_BYTES],
            );
        }
        self.0[3] = kept.len() as u8;
        if kept.is_empty() {
            self.0[2] |= FLAG_DELETED;
        }
        tids.len() - kept.len()
    }
}

/// Writes a new neighbour tuple (all slots empty) into `out`.
pub fn write_neighbours(out: &mut [u8], m: usize, level: usize) {
    assert_eq!(out.len(), neighbour_size(m, level));
    out[0] = TAG_NEIGHBOURS;
    out[1] = level as u8;
    out[2..4].copy_from_slice(&(m as u16).to_le_bytes());
    for slot in out[NEIGHBOUR_HEADER..].chunks_exact_mut(TID_BYTES) {
        Tid::write(None, slot);
    }
}

/// Slot range `[start, end)` of `layer` in a neighbour tuple.
fn layer_slots(m: usize, layer: usize) -> (usize, usize) {
    if layer == 0 {
        (0, 2 * m)
    } else {
        let start = 2 * m + (layer - 1) * m;
        (start, start + m)
    }
}

/// A read-only view of a neighbour tuple.
pub struct Neighbours<'a>(&'a [u8]);

impl<'a> Neighbours<'a> {
    /// Views `bytes` as a neighbour tuple; `None` when the tag or size is wrong.
    pub fn parse(bytes: &'a [u8]) -> Option<Neighbours<'a>> {
        if bytes.len() < NEIGHBOUR_HEADER || bytes[0] != TAG_NEIGHBOURS {
            return None;
        }
        let n = Neighbours(bytes);
        (bytes.len() == neighbour_size(n.m(), n.level())).then_some(n)
    }
    /// Level of the element.
    pub fn level(&self) -> usize {
        self.0[1] as usize
    }
    /// `m` of the index.
    pub fn m(&self) -> usize {
        u16::from_le_bytes([self.0[2], self.0[3]]) as usize
    }
    /// Appends the TIDs on `layer` to `out` (nothing above the level).
    pub fn layer(&self, layer: usize, out: &mut Vec<Tid>) {
        if layer > self.level() {
            return;
        }
        let (start, end) = layer_slots(self.m(), layer);
        for i in start..end {
            match Tid::read(&self.0[NEIGHBOUR_HEADER + i * TID_BYTES..]) {
                Some(t) => out.push(t),
                None => break,
            }
        }
    }
}

/// Replaces the TIDs of `layer` in a neighbour tuple (`bytes`, in place).
pub fn set_layer(bytes: &mut [u8], layer: usize, tids: &[Tid]) {
    let n = Neighbours::parse(bytes).expect("a neighbour tuple");
    let (start, end) = layer_slots(n.m(), layer);
    assert!(
        layer <= n.level() && tids.len() <= end - start,
        "layer {layer} overflows"
    );
    for (k, i) in (start..end).enumerate() {
        let at = NEIGHBOUR_HEADER + i * TID_BYTES;
        Tid::write(tids.get(k).copied(), &mut bytes[at..at + TID_BYTES]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_round_trip() {
        let v = [1.0f32, -2.5, 3.25];
        let mut buf = vec![0u8; element_size(3)];
        let nb = Tid {
            block: 7,
            offset: 3,
        };
        write_element(
            &mut buf,
            2,
            nb,
            &[Tid {
                block: 1,
                offset: 2,
            }],
            Body::Inline(&v),
        );
        let e = Element::parse(&buf).unwrap();
        assert_eq!(
            (e.level(), e.dim(), e.neighbours(), e.deleted()),
            (2, 3, nb, false)
        );
        assert_eq!(
            e.heap_tids().collect::<Vec<_>>(),
            vec![Tid {
                block: 1,
                offset: 2
            }]
        );
        let mut out = Vec::new();
        e.vector_into(&mut out);
        assert_eq!(out, v);
        let mut m = ElementMut(&mut buf);
        for i in 0..9 {
            assert!(m.add_heap_tid(Tid {
                block: 100 + i,
                offset: 1
            }));
        }
        assert!(!m.add_heap_tid(Tid {
            block: 999,
            offset: 1
        }));
        assert_eq!(m.retain_heap_tids(|t| t.block % 2 == 0), 5);
        let e = Element::parse(&buf).unwrap();
        assert_eq!(e.heap_tids().count(), 5);
        let mut m = ElementMut(&mut buf);
        assert_eq!(m.retain_heap_tids(|_| false), 5);
        assert!(Element::parse(&buf).unwrap().deleted());
        assert!(Element::parse(&buf[..20]).is_none());
    }

    #[test]
    fn chained_element_and_chain_tuples() {
        let t = |block, offset| Tid { block, offset };
        let mut buf = vec![0u8; element_size(5000)];
        assert_eq!(buf.len(), 78);
        write_element(&mut buf, 1, t(3, 4), &[t(9, 1)], Body::Chain(5000, t(7, 2)));
        let e = Element::parse(&buf).unwrap();
        assert_eq!((e.dim(), e.chain(), e.level()), (5000, Some(t(7, 2)), 1));
        assert!(e.is_chained() && e.vector().is_none() && e.vector_bytes().is_empty());
        let mut m = ElementMut(&mut buf);
        assert_eq!(m.retain_heap_tids(|_| false), 1);
        let e = Element::parse(&buf).unwrap();
        assert!(e.deleted() && e.chain() == Some(t(7, 2)));
        // An inline tuple with the chained flag, or a chained one without it, is no
        // element.
        buf[2] = 0;
        assert!(Element::parse(&buf).is_none());

        let lanes: Vec<f32> = (0..2026).map(|i| i as f32 - 0.5).collect();
        let mut piece = vec![0u8; chain_size(4 * lanes.len())];
        write_chain(&mut piece, 77, Some(t(8, 1)), &lanes);
        let c = Chain::parse(&piece).unwrap();
        assert_eq!((c.xid(), c.next(), c.len()), (77, Some(t(8, 1)), 2026));
        let mut out = vec![1.0];
        c.lanes_into(&mut out);
        assert_eq!(&out[1..], lanes.as_slice());
        write_chain(&mut piece[..chain_size(8)], 5, None, &[1.0, 2.0]);
        assert_eq!(Chain::parse(&piece[..chain_size(8)]).unwrap().next(), None);
        assert!(Chain::parse(&piece[..chain_size(8) + 1]).is_none());
        assert!(Element::parse(&piece).is_none() && Chain::parse(&buf).is_none());
        let pieces: Vec<_> = chain_pieces(4052).collect();
        assert_eq!(pieces, vec![0..2026, 2026..4052]);
        assert_eq!(chain_pieces(INLINE_LANES).count(), 0);
    }

    #[test]
    fn neighbour_layers() {
        let (m, level) = (3, 2);
        let mut buf = vec![0u8; neighbour_size(m, level)];
        write_neighbours(&mut buf, m, level);
        let t = |b| Tid {
            block: b,
            offset: 1,
        };
        set_layer(&mut buf, 0, &[t(1), t(2), t(3), t(4)]);
        set_layer(&mut buf, 2, &[t(9)]);
        let n = Neighbours::parse(&buf).unwrap();
        let mut out = Vec::new();
        n.layer(0, &mut out);
        assert_eq!(out, vec![t(1), t(2), t(3), t(4)]);
        out.clear();
        n.layer(1, &mut out);
        assert!(out.is_empty());
        n.layer(2, &mut out);
        assert_eq!(out, vec![t(9)]);
        set_layer(&mut buf, 0, &[t(5)]);
        out.clear();
        Neighbours::parse(&buf).unwrap().layer(0, &mut out);
        assert_eq!(out, vec![t(5)]);
        assert_eq!(Tid::unpack(t(77).pack()), t(77));
    }
}
