//! Hands an hnsw index scan the executor node that runs it, so that an iterative
//! scan can evaluate the node's filter (its `qual`) on candidates before it returns
//! them ([`super::qual::ScanFilter`]). PostgreSQL gives an index access method only
//! its scan keys, never the rest of the WHERE clause ("Index Access Method Interface
//! Definition" in the docs), so this goes around it, as VectorChord does:
//!
//! - An `ExecutorStart_hook` (chained to any earlier one) walks the new plan-state
//!   trees (the main one and every subplan's, CTEs included) for `IndexScanState`
//!   nodes on an index of this access method whose filter is safe to evaluate early
//!   ([`pushable`]). Their `ExecProcNodeReal` (PostgreSQL's `ExecIndexScan`) is
//!   replaced by [`exec_index_scan`], which records the node as the one running
//!   while it calls the original.
//! - The scan, on its first `amgettuple`, asks [`running_node`] for the node whose
//!   scan descriptor it is.
//!
//! Nothing changes for a node whose filter is not pushed: its rows go through the
//! executor's own filter as always. A pushed filter stays in the plan too (the
//! executor still checks every row returned), so pushing it down only skips rows
//! early; it never decides which rows a query returns.

use pgrx::{pg_guard, pg_sys};
use std::cell::Cell;

thread_local! {
    /// The hnsw index scan node whose `ExecProcNode` is running (innermost), or null.
    static RUNNING: Cell<*mut pg_sys::IndexScanState> = const { Cell::new(std::ptr::null_mut()) };
    /// The hook that was installed before ours.
    static PREVIOUS_START: Cell<pg_sys::ExecutorStart_hook_type> = const { Cell::new(None) };
    /// PostgreSQL's `ExecIndexScan`, as first seen in an index scan node.
    static EXEC_INDEX_SCAN: Cell<pg_sys::ExecProcNodeMtd> = const { Cell::new(None) };
}

/// Installs the `ExecutorStart_hook`; called once from `_PG_init`.
pub fn init() {
    // SAFETY: hooks are set at library load, in the backend's only thread.
    unsafe {
        PREVIOUS_START.with(|p| p.set(pg_sys::ExecutorStart_hook));
        pg_sys::ExecutorStart_hook = Some(executor_start);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn executor_start(query: *mut pg_sys::QueryDesc, eflags: std::ffi::c_int) {
    // SAFETY: the executor passes a live query descriptor; after the standard start
    // its plan-state trees are built and none of their nodes has run yet.
    unsafe {
        match PREVIOUS_START.with(Cell::get) {
            // Through the FFI guard: an ERROR in it unwinds our frame.
            Some(previous) => pg_sys::ffi::pg_guard_ffi_boundary(|| previous(query, eflags)),
            None => pg_sys::standard_ExecutorStart(query, eflags),
        }
        if eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as std::ffi::c_int != 0 {
            return;
        }
        walk((*query).planstate);
        let estate = (*query).estate;
        if !estate.is_null() {
            for_each_in_list((*estate).es_subplanstates, |p| walk(p.cast()));
        }
    }
}

/// Calls `f` on each pointer element of `list` (a `List` of pointers, or NIL).
///
/// # Safety
/// `list` is NIL or a live pointer list.
unsafe fn for_each_in_list(list: *mut pg_sys::List, mut f: impl FnMut(*mut std::ffi::c_void)) {
    if list.is_null() {
        return;
    }
    // SAFETY: per the caller's guarantee; `elements` holds `length` cells.
    unsafe {
        for i in 0..(*list).length as usize {
            f((*(*list).elements.add(i)).ptr_value);
        }
    }
}

/// Visits `node` and every plan-state node below it.
///
/// # Safety
/// `node` is null or a live plan-state tree.
unsafe fn walk(node: *mut pg_sys::PlanState) {
    if node.is_null() {
        return;
    }
    // SAFETY: per the caller's guarantee; each tag says which struct the node is.
    unsafe {
        use pg_sys::NodeTag::*;
        let children = |array: *mut *mut pg_sys::PlanState, n: std::ffi::c_int| {
            for i in 0..n.max(0) as usize {
                walk(*array.add(i));
            }
        };
        match (*node).type_ {
            T_IndexScanState => consider(node.cast()),
            T_AppendState => {
                let a = node.cast::<pg_sys::AppendState>();
                children((*a).appendplans, (*a).as_nplans);
            }
            T_MergeAppendState => {
                let a = node.cast::<pg_sys::MergeAppendState>();
                children((*a).mergeplans, (*a).ms_nplans);
            }
            T_BitmapAndState => {
                let a = node.cast::<pg_sys::BitmapAndState>();
                children((*a).bitmapplans, (*a).nplans);
            }
            T_BitmapOrState => {
                let a = node.cast::<pg_sys::BitmapOrState>();
                children((*a).bitmapplans, (*a).nplans);
            }
            T_SubqueryScanState => walk((*node.cast::<pg_sys::SubqueryScanState>()).subplan),
            T_CustomScanState => {
                for_each_in_list((*node.cast::<pg_sys::CustomScanState>()).custom_ps, |p| {
                    walk(p.cast())
                });
            }
            T_ModifyTableState => {
                let (array, n) = super::modify_table_subplans(node);
                children(array, n);
            }
            _ => {}
        }
        walk((*node).lefttree);
        walk((*node).righttree);
        for list in [(*node).initPlan, (*node).subPlan] {
            for_each_in_list(list, |p| {
                walk((*p.cast::<pg_sys::SubPlanState>()).planstate);
            });
        }
    }
}

/// Routes an index scan node on an hnsw index with a pushable filter through
/// [`exec_index_scan`].
///
/// # Safety
/// `node` is a live `IndexScanState` that has not run.
unsafe fn consider(node: *mut pg_sys::IndexScanState) {
    // SAFETY: per the caller's guarantee; the index relation is open (not EXPLAIN
    // only) and its AM routine is the one PostgreSQL looked up.
    unsafe {
        let index = (*node).iss_RelationDesc;
        if index.is_null() || (*index).rd_indam.is_null() {
            return;
        }
        // By address (the function this library registered as `amgettuple`).
        let ours = crate::am::scan::amgettuple as *const () as usize;
        if (*(*index).rd_indam).amgettuple.map(|f| f as usize) != Some(ours) {
            return;
        }
        let plan = (*node).ss.ps.plan;
        if (*node).ss.ps.qual.is_null() || !pushable((*plan).qual) {
            return;
        }
        let real = (*node).ss.ps.ExecProcNodeReal;
        let original = EXEC_INDEX_SCAN.with(|e| {
            if e.get().is_none() {
                e.set(real);
            }
            e.get()
        });
        // Another extension's wrapper (or ours already): left alone.
        if real.map(|f| f as usize) == original.map(|f| f as usize) {
            (*node).ss.ps.ExecProcNodeReal = Some(exec_index_scan);
        }
    }
}

/// Whether a filter (an implicitly ANDed list of expressions) may be evaluated on
/// rows before the executor would: no volatile function (it would run more often,
/// or on other rows), no function that is not leakproof (it could raise an error,
/// or show a value, on a row the executor would never have evaluated it on: the
/// planner's rule for security barriers, `contain_leaked_vars`), and no subplan.
/// Equality, ranges, `IN` lists and `IS NULL` tests on ordinary columns qualify.
///
/// # Safety
/// `qual` is NIL or a live expression list of a plan.
unsafe fn pushable(qual: *mut pg_sys::List) -> bool {
    if qual.is_null() {
        return false;
    }
    // SAFETY: per the caller's guarantee.
    unsafe {
        let node = qual.cast::<pg_sys::Node>();
        !pg_sys::contain_volatile_functions(node)
            && !pg_sys::contain_leaked_vars(node)
            && !pg_sys::contain_subplans(node)
    }
}

/// Restores the running node on drop (also when an error unwinds).
struct Running(*mut pg_sys::IndexScanState);

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.0));
    }
}

/// `ExecIndexScan` with `node` recorded as the running hnsw scan node.
#[pg_guard]
unsafe extern "C-unwind" fn exec_index_scan(
    node: *mut pg_sys::PlanState,
) -> *mut pg_sys::TupleTableSlot {
    let _restore = Running(RUNNING.with(|r| r.replace(node.cast())));
    let original = EXEC_INDEX_SCAN
        .with(Cell::get)
        .expect("set before any node is routed here");
    // SAFETY: `original` is the node's own ExecProcNodeReal, called as the executor
    // would; an ERROR inside it unwinds through the FFI guard, restoring `RUNNING`.
    unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| original(node)) }
}

/// The running hnsw index scan node whose scan descriptor is `scan`, if its filter
/// was found pushable; `None` otherwise (the scan then filters nothing itself).
pub fn running_node(scan: pg_sys::IndexScanDesc) -> Option<*mut pg_sys::IndexScanState> {
    let node = RUNNING.with(Cell::get);
    // SAFETY: a non-null `RUNNING` is a node whose ExecProcNode is on the stack.
    (!node.is_null() && unsafe { (*node).iss_ScanDesc } == scan).then_some(node)
}
