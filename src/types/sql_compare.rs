//! Comparison functions behind `< <= = <> >= >` and the default B-tree operator classes
//! of `vector`, `halfvec` and `sparsevec` (PostgreSQL docs, "B-Tree Support
//! Functions"): each type's seven functions come from [`btree_comparisons`] around one
//! `compare` of two arguments. `vector` and `halfvec` order element-wise, then the
//! shorter vector first (as pgvector).

use super::datum::VectorArg;
use std::cmp::Ordering;

/// Defines a type's B-tree functions under pgvector's names: `cmp` (support function
/// 1: -1, 0 or 1) and the procedures of `<`, `<=`, `=`, `<>`, `>=` and `>`, all from
/// `compare(&arg, &arg) -> Ordering`.
macro_rules! btree_comparisons {
    ($arg:ident, $compare:path, $cmp:ident, $lt:ident, $le:ident, $eq:ident, $ne:ident,
     $ge:ident, $gt:ident) => {
        /// B-tree support function 1: -1, 0 or 1.
        #[pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $cmp(a: $arg<'_>, b: $arg<'_>) -> i32 {
            $compare(&a, &b) as i32
        }

        /// Operator `<`.
        #[pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $lt(a: $arg<'_>, b: $arg<'_>) -> bool {
            $compare(&a, &b) == std::cmp::Ordering::Less
        }

        /// Operator `<=`.
        #[pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $le(a: $arg<'_>, b: $arg<'_>) -> bool {
            $compare(&a, &b) != std::cmp::Ordering::Greater
        }

        /// Operator `=`.
        #[pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $eq(a: $arg<'_>, b: $arg<'_>) -> bool {
            $compare(&a, &b) == std::cmp::Ordering::Equal
        }

        /// Operator `<>`.
        #[pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $ne(a: $arg<'_>, b: $arg<'_>) -> bool {
            $compare(&a, &b) != std::cmp::Ordering::Equal
        }

        /// Operator `>=`.
        #[pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $ge(a: $arg<'_>, b: $arg<'_>) -> bool {
            $compare(&a, &b) != std::cmp::Ordering::Less
        }

        /// Operator `>`.
        #[pgrx::pg_extern(immutable, strict, parallel_safe)]
        fn $gt(a: $arg<'_>, b: $arg<'_>) -> bool {
            $compare(&a, &b) == std::cmp::Ordering::Greater
        }
    };
}
pub(crate) use btree_comparisons;

/// The order of two `vector`s.
fn compare(a: &VectorArg<'_>, b: &VectorArg<'_>) -> Ordering {
    super::vector::compare(a, b)
}

btree_comparisons!(
    VectorArg, compare, vector_cmp, vector_lt, vector_le, vector_eq, vector_ne, vector_ge,
    vector_gt
);
