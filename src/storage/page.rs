//! Buffer guards over index pages (PostgreSQL docs, "Generic WAL Records" and
//! "Index Access Method Interface Definition"). See the module docs of `storage`.

use crate::error::raise;
use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;

/// Magic number in every page's special area ("HNSW").
pub const PAGE_MAGIC: u32 = 0x4853_4e57;
use super::buffers::{pin_recent, read_buffer, relation_key};
pub use super::layout::{BLOCK_SIZE, SPECIAL_SIZE};

#[repr(C)]
struct Special {
    magic: u32,
    page_type: u16,
    reserved: u16,
    reserved2: u64,
}
const _: () = assert!(std::mem::size_of::<Special>() == SPECIAL_SIZE);

fn corrupted(rel: pg_sys::Relation, block: u32, what: &str) -> ! {
    // SAFETY: `rel` is an open relation; its name is a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr()) };
    raise(
        PgSqlErrorCode::ERRCODE_INDEX_CORRUPTED,
        format!(
            "index \"{}\" contains a corrupted page at block {block}",
            name.to_string_lossy()
        ),
        Some(what.into()),
    )
}

/// What is wrong with the special area of `page`, if anything.
///
/// # Safety
/// `page` must point to a locked page.
unsafe fn page_problem(page: pg_sys::Page, page_type: u16) -> Option<&'static str> {
    // SAFETY: the caller holds a lock on the page.
    unsafe {
        if pg_sys::PageIsNew(page) {
            // All zeros: a page added to the relation whose first WAL record never
            // came (an error or a crash in between). It is free space, not damage
            // (as in nbtree); it reads as a page without tuples.
            return None;
        }
        if pg_sys::PageGetSpecialSize(page) as usize != SPECIAL_SIZE {
            return Some("wrong special area size");
        }
        let special = pg_sys::PageGetSpecialPointer(page).cast::<Special>();
        if (*special).magic != PAGE_MAGIC {
            return Some("wrong magic number");
        }
        ((*special).page_type != page_type).then_some("unexpected page type")
    }
}

/// Checks the special area of `page` (block `block` of `rel`) against `page_type`.
///
/// # Safety
/// `page` must point to a locked page of `rel`.
unsafe fn check_page(rel: pg_sys::Relation, block: u32, page: pg_sys::Page, page_type: u16) {
    // SAFETY: the caller holds a lock on the page.
    if let Some(problem) = unsafe { page_problem(page, page_type) } {
        corrupted(rel, block, problem);
    }
}

/// Initialises `page` as an empty index page of `page_type`.
///
/// # Safety
/// `page` must point to a writable page buffer of `BLCKSZ` bytes.
unsafe fn init_page(page: pg_sys::Page, page_type: u16) {
    // SAFETY: the caller provides a writable page.
    unsafe {
        pg_sys::PageInit(page, BLOCK_SIZE, SPECIAL_SIZE);
        let special = pg_sys::PageGetSpecialPointer(page).cast::<Special>();
        special.write(Special {
            magic: PAGE_MAGIC,
            page_type,
            reserved: 0,
            reserved2: 0,
        });
    }
}

/// # Safety
/// `page` must be a valid, locked page; `offset` is checked against its line pointers.
unsafe fn item<'a>(page: pg_sys::Page, offset: u16) -> Option<&'a mut [u8]> {
    // SAFETY: the page is locked by the caller; offsets are range-checked and unused
    // line pointers rejected before dereferencing.
    unsafe {
        if offset == 0 || offset > pg_sys::PageGetMaxOffsetNumber(page) {
            return None;
        }
        let id = pg_sys::PageGetItemId(page, offset);
        if (*id).lp_flags() != pg_sys::LP_NORMAL {
            return None;
        }
        let len = (*id).lp_len() as usize;
        let ptr = pg_sys::PageGetItem(page, id).cast::<u8>();
        Some(std::slice::from_raw_parts_mut(ptr, len))
    }
}

/// The metapage data after the page header, with `pd_lower` moved past it so that
/// full-page images and `log_newpage` keep it (they drop the "hole" after `pd_lower`).
///
/// # Safety
/// `page` must be writable and exclusively locked; `len` must fit in the page.
unsafe fn contents_mut<'a>(page: pg_sys::Page, len: usize) -> &'a mut [u8] {
    // SAFETY: per the caller's guarantee.
    unsafe {
        let start = pg_sys::PageGetContents(page).cast::<u8>();
        let header = page.cast::<pg_sys::PageHeaderData>();
        (*header).pd_lower = (start.add(len) as usize - page as usize) as u16;
        std::slice::from_raw_parts_mut(start, len)
    }
}

/// # Safety
/// `page` must be writable and locked.
unsafe fn add_item(page: pg_sys::Page, bytes: &[u8]) -> Option<u16> {
    // SAFETY: PageAddItemExtended copies `bytes` into the page or returns 0.
    let off = unsafe {
        pg_sys::PageAddItemExtended(page, bytes.as_ptr() as pg_sys::Item, bytes.len(), 0, 0)
    };
    (off != 0).then_some(off)
}

/// # Safety
/// `page` must be locked.
unsafe fn free_space(page: pg_sys::Page) -> usize {
    // SAFETY: reads the page header of a locked page.
    unsafe { pg_sys::PageGetFreeSpace(page) }
}

/// A pinned, share-locked page; unlocked and unpinned on drop.
pub struct ReadPage {
    buffer: pg_sys::Buffer,
    page: pg_sys::Page,
    block: u32,
}

impl ReadPage {
    /// Share-locks pinned `buffer` (block `block` of `rel`), taking over the pin, and
    /// checks the page is of `page_type`.
    fn lock(rel: pg_sys::Relation, buffer: pg_sys::Buffer, block: u32, page_type: u16) -> ReadPage {
        // SAFETY: the caller hands us a pin on `buffer`; lock before reading the page.
        unsafe {
            pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_SHARE as i32);
            let page = pg_sys::BufferGetPage(buffer);
            let guard = ReadPage {
                buffer,
                page,
                block,
            };
            check_page(rel, block, page, page_type);
            guard
        }
    }

    /// Reads block `block` of `rel`, checking it is a page of `page_type`.
    pub fn read(rel: pg_sys::Relation, block: u32, page_type: u16) -> ReadPage {
        ReadPage::lock(rel, pin_recent(rel, block), block, page_type)
    }

    /// Reads block `block` of `rel` without checking it; with what is wrong with its
    /// special area for a page of `page_type` (for `hnsw_verify`, which reports
    /// problems instead of raising them).
    pub fn read_unchecked(
        rel: pg_sys::Relation,
        block: u32,
        page_type: u16,
    ) -> (ReadPage, Option<&'static str>) {
        let buffer = pin_recent(rel, block);
        // SAFETY: `buffer` is pinned; locked before the page is read.
        unsafe {
            pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_SHARE as i32);
            let page = pg_sys::BufferGetPage(buffer);
            let problem = page_problem(page, page_type);
            (
                ReadPage {
                    buffer,
                    page,
                    block,
                },
                problem,
            )
        }
    }

    /// Free bytes for new tuples.
    pub fn free_space(&self) -> usize {
        // SAFETY: the page is locked.
        unsafe { free_space(self.page) }
    }

    /// The tuple at `offset`, if there is one.
    pub fn item(&self, offset: u16) -> Option<&[u8]> {
        // SAFETY: the page is share-locked for the guard's lifetime.
        unsafe { item(self.page, offset).map(|s| &*s) }
    }

    /// The highest line pointer offset in use.
    pub fn max_offset(&self) -> u16 {
        // SAFETY: the page is locked.
        unsafe { pg_sys::PageGetMaxOffsetNumber(self.page) }
    }

    /// The page contents after the header (the metapage's data).
    pub fn contents(&self, len: usize) -> &[u8] {
        // SAFETY: the page is locked and `len` is within the page.
        unsafe { std::slice::from_raw_parts(pg_sys::PageGetContents(self.page).cast::<u8>(), len) }
    }

    /// The block number.
    pub fn block(&self) -> u32 {
        self.block
    }
}

impl Drop for ReadPage {
    fn drop(&mut self) {
        // SAFETY: we pinned and locked the buffer in `read`.
        unsafe { pg_sys::UnlockReleaseBuffer(self.buffer) }
    }
}

/// A pinned, exclusive-locked page registered in a GenericXLog record.
///
/// Changes go to GenericXLog's copy of the page; [`WritePage::commit`] applies and
/// WAL-logs them. Dropped without commit (an error, a panic, or a change that turned
/// out unnecessary), the record is aborted and the page is left as it was.
pub struct WritePage {
    buffer: pg_sys::Buffer,
    state: *mut pg_sys::GenericXLogState,
    /// While the index is being built: our own working copy of the page (8-byte
    /// aligned), copied over the buffer on commit without WAL.
    copy: Option<Vec<u64>>,
    page: pg_sys::Page,
    block: u32,
    /// The page was all zeros (see [`WritePage::lock`]).
    was_new: bool,
}

thread_local! {
    /// The index this backend is building (its relation key), if any: its page
    /// changes skip GenericXLog, because [`log_build`] WAL-logs every page at the end
    /// of the build and no other backend can see the index before that.
    static BUILDING: std::cell::Cell<Option<(u32, u32, u32)>> = const { std::cell::Cell::new(None) };
}

/// Marks `rel` as being built by this backend until dropped (see [`WritePage`]):
/// the build's on-disk inserts then write pages without per-change WAL records. The
/// mark names the relation's file node, so one left behind by a failed build matches
/// no later relation.
pub struct UnloggedBuild;

impl UnloggedBuild {
    /// Starts the unlogged phase for `rel`; [`log_build`] must follow.
    pub fn start(rel: pg_sys::Relation) -> UnloggedBuild {
        BUILDING.set(Some(relation_key(rel)));
        UnloggedBuild
    }
}

impl Drop for UnloggedBuild {
    fn drop(&mut self) {
        BUILDING.set(None);
    }
}

impl WritePage {
    fn start(rel: pg_sys::Relation, buffer: pg_sys::Buffer, flags: u32) -> WritePage {
        let block = {
            // SAFETY: the buffer is pinned by the caller.
            unsafe { pg_sys::BufferGetBlockNumber(buffer) }
        };
        if BUILDING.get() == Some(relation_key(rel)) {
            let mut copy = vec![0u64; BLOCK_SIZE / 8];
            // SAFETY: the buffer is pinned and exclusive-locked by the caller; the
            // copy has the page's size.
            let page = unsafe {
                let original = pg_sys::BufferGetPage(buffer).cast::<u8>();
                std::ptr::copy_nonoverlapping(original, copy.as_mut_ptr().cast::<u8>(), BLOCK_SIZE);
                copy.as_mut_ptr().cast()
            };
            return WritePage {
                buffer,
                state: std::ptr::null_mut(),
                copy: Some(copy),
                page,
                block,
                was_new: false,
            };
        }
        // SAFETY: the buffer is pinned and exclusive-locked by the caller; GenericXLog
        // returns a working copy of the page to modify.
        unsafe {
            let state = pg_sys::GenericXLogStart(rel);
            let page = pg_sys::GenericXLogRegisterBuffer(state, buffer, flags as i32);
            WritePage {
                buffer,
                state,
                copy: None,
                page,
                block,
                was_new: false,
            }
        }
    }

    /// Locks block `block` of `rel` for writing, checking it is of `page_type`.
    ///
    /// A new (all-zero) page is initialised as an empty page of `page_type` in the
    /// guard's copy ([`WritePage::was_new`]); committing the guard makes it one.
    pub fn lock(rel: pg_sys::Relation, block: u32, page_type: u16) -> WritePage {
        let buffer = read_buffer(rel, pg_sys::ForkNumber::MAIN_FORKNUM, block);
        // SAFETY: `buffer` is pinned; locked before use. A new page is logged as a
        // full image (redo cannot apply a delta to a page that was never written).
        let new = unsafe {
            pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            pg_sys::PageIsNew(pg_sys::BufferGetPage(buffer))
        };
        let flags = if new {
            pg_sys::GENERIC_XLOG_FULL_IMAGE
        } else {
            0
        };
        let mut guard = WritePage::start(rel, buffer, flags);
        // SAFETY: the page is locked; checked (or initialised) through the copy.
        unsafe {
            if new {
                init_page(guard.page, page_type);
                guard.was_new = true;
            }
            check_page(rel, block, guard.page, page_type);
        }
        guard
    }

    /// `true` when the page was all zeros when locked (now initialised in the copy).
    pub fn was_new(&self) -> bool {
        self.was_new
    }

    /// Adds a new, empty page of `page_type` at the end of `rel` (under the relation
    /// extension lock) and locks it for writing.
    pub fn extend(rel: pg_sys::Relation, page_type: u16) -> WritePage {
        // SAFETY: extension under the relation extension lock, as PostgreSQL requires
        // for concurrent extenders; the new buffer is locked before it is initialised.
        unsafe {
            pg_sys::LockRelationForExtension(rel, pg_sys::ExclusiveLock as i32);
            let buffer = read_buffer(
                rel,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                pg_sys::InvalidBlockNumber,
            );
            pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            pg_sys::UnlockRelationForExtension(rel, pg_sys::ExclusiveLock as i32);
            let guard = WritePage::start(rel, buffer, pg_sys::GENERIC_XLOG_FULL_IMAGE);
            init_page(guard.page, page_type);
            guard
        }
    }

    /// The tuple at `offset`, writable.
    pub fn item_mut(&mut self, offset: u16) -> Option<&mut [u8]> {
        // SAFETY: the page copy is exclusively ours until commit or abort.
        unsafe { item(self.page, offset) }
    }

    /// Adds a tuple; `None` when it does not fit.
    pub fn add_item(&mut self, bytes: &[u8]) -> Option<u16> {
        // SAFETY: the page copy is exclusively ours.
        unsafe { add_item(self.page, bytes) }
    }

    /// The highest line pointer offset in use.
    pub fn max_offset(&self) -> u16 {
        // SAFETY: the page copy is ours.
        unsafe { pg_sys::PageGetMaxOffsetNumber(self.page) }
    }

    /// Free bytes for new tuples (already less one line pointer).
    pub fn free_space(&self) -> usize {
        // SAFETY: the page copy is ours.
        unsafe { free_space(self.page) }
    }

    /// Removes the tuple at `offset`, keeping the other tuples' offsets (its line
    /// pointer becomes unused and can be taken by a later [`WritePage::add_item`]).
    pub fn delete_item(&mut self, offset: u16) {
        // SAFETY: the page copy is ours; the offset is checked against the line
        // pointers before PostgreSQL removes the tuple and compacts the free space.
        unsafe {
            if item(self.page, offset).is_some() {
                pg_sys::PageIndexTupleDeleteNoCompact(self.page, offset);
                (*self.page.cast::<pg_sys::PageHeaderData>()).pd_flags |=
                    pg_sys::PD_HAS_FREE_LINES as u16;
            }
        }
    }

    /// The page contents after the header, writable (the metapage's data); sets
    /// `pd_lower` past them so full-page images keep them.
    pub fn contents_mut(&mut self, len: usize) -> &mut [u8] {
        // SAFETY: the page copy is ours and `len` is within the page.
        unsafe { contents_mut(self.page, len) }
    }

    /// Initialises the page as an empty page of `page_type` (for the metapage).
    pub fn reinit(&mut self, page_type: u16) {
        // SAFETY: the page copy is ours.
        unsafe { init_page(self.page, page_type) }
    }

    /// The block number.
    pub fn block(&self) -> u32 {
        self.block
    }

    /// Applies and WAL-logs the changes (during a build: applies them, marking the
    /// buffer dirty), then unlocks and unpins.
    pub fn commit(mut self) {
        if let Some(copy) = self.copy.take() {
            // SAFETY: the buffer is exclusive-locked by us; the copy is a full page.
            unsafe {
                let target = pg_sys::BufferGetPage(self.buffer).cast::<u8>();
                std::ptr::copy_nonoverlapping(copy.as_ptr().cast::<u8>(), target, BLOCK_SIZE);
                pg_sys::MarkBufferDirty(self.buffer);
            }
            return;
        }
        // SAFETY: `state` is the live record started in `start`.
        unsafe {
            pg_sys::GenericXLogFinish(self.state);
            self.state = std::ptr::null_mut();
        }
    }
}

impl Drop for WritePage {
    fn drop(&mut self) {
        // SAFETY: abort the record if not committed, then release our lock and pin.
        unsafe {
            if !self.state.is_null() {
                pg_sys::GenericXLogAbort(self.state);
            }
            pg_sys::UnlockReleaseBuffer(self.buffer);
        }
    }
}

/// A fresh page written by `CREATE INDEX` without WAL (the build logs every page once
/// at its end with [`log_build`]).
pub struct BuildPage {
    buffer: pg_sys::Buffer,
    page: pg_sys::Page,
}

impl BuildPage {
    /// Adds a new page of `page_type` to `fork` of `rel`.
    pub fn extend(
        rel: pg_sys::Relation,
        fork: pg_sys::ForkNumber::Type,
        page_type: u16,
    ) -> BuildPage {
        // SAFETY: the index is being built by us under an exclusive lock; the new
        // buffer is locked before it is initialised.
        unsafe {
            let buffer = read_buffer(rel, fork, pg_sys::InvalidBlockNumber);
            pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            let page = pg_sys::BufferGetPage(buffer);
            init_page(page, page_type);
            BuildPage { buffer, page }
        }
    }

    /// Adds a tuple; `None` when it does not fit.
    pub fn add_item(&mut self, bytes: &[u8]) -> Option<u16> {
        // SAFETY: the page is exclusively locked by us.
        unsafe { add_item(self.page, bytes) }
    }

    /// The page contents after the header, writable (see [`WritePage::contents_mut`]).
    pub fn contents_mut(&mut self, len: usize) -> &mut [u8] {
        // SAFETY: the page is exclusively locked by us and `len` is within it.
        unsafe { contents_mut(self.page, len) }
    }

    /// The block number.
    pub fn block(&self) -> u32 {
        // SAFETY: the buffer is pinned.
        unsafe { pg_sys::BufferGetBlockNumber(self.buffer) }
    }

    /// Marks the page dirty and releases it; with `log`, WAL-logs it now (used for
    /// the init fork of unlogged indexes).
    pub fn finish(self, log: bool) {
        // SAFETY: the page is locked and pinned by us.
        unsafe {
            pg_sys::MarkBufferDirty(self.buffer);
            if log {
                pg_sys::log_newpage_buffer(self.buffer, true);
            }
            pg_sys::UnlockReleaseBuffer(self.buffer);
        }
        std::mem::forget(self);
    }
}

impl Drop for BuildPage {
    fn drop(&mut self) {
        // SAFETY: an unfinished page (error path) is still released.
        unsafe { pg_sys::UnlockReleaseBuffer(self.buffer) }
    }
}

/// `true` when changes to `rel` must be WAL-logged (PostgreSQL's `RelationNeedsWAL`).
pub fn needs_wal(rel: pg_sys::Relation) -> bool {
    crate::pg::relation_needs_wal(rel)
}

/// WAL-logs every page of the main fork once, at the end of a build.
pub fn log_build(rel: pg_sys::Relation) {
    if !needs_wal(rel) {
        return;
    }
    // SAFETY: the build holds the index exclusively; log_newpage_range reads each page.
    unsafe {
        let blocks = pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM);
        pg_sys::log_newpage_range(rel, pg_sys::ForkNumber::MAIN_FORKNUM, 0, blocks, true);
    }
}

/// Number of blocks in the main fork of `rel`.
pub fn block_count(rel: pg_sys::Relation) -> u32 {
    // SAFETY: `rel` is an open relation.
    unsafe { pg_sys::RelationGetNumberOfBlocksInFork(rel, pg_sys::ForkNumber::MAIN_FORKNUM) }
}
