//! The chains of elements longer than a page (`storage::chain`): a chain that no
//! element points to (what an insert that failed or crashed between its chain and its
//! element leaves) is reported by `hnsw_verify`, kept by VACUUM while its writer may
//! still write the element and freed once the writer had ended (bulk delete's part is
//! in tests/crash_recovery.sh, which cancels and kills real inserts); a broken chain is
//! reported and reads as a missing element, never as an error.

#[pgrx::pg_schema]
mod tests {
    use crate::am::graphscan::GraphScan;
    use crate::am::stats::OpenIndex;
    use crate::am::{insert, vacuum};
    use crate::pg_tests::support::parallel_build_of_p;
    use crate::storage::chain;
    use crate::storage::meta::Meta;
    use pgrx::prelude::*;

    fn verify_rows(problem: &str) -> i64 {
        Spi::get_one::<i64>(&format!(
            "SELECT count(*) FROM hnsw_verify('c_idx') WHERE problem LIKE '{problem}'"
        ))
        .unwrap()
        .unwrap()
    }

    /// Five 3,000-d rows (two chain tuples each), indexed.
    fn build() -> OpenIndex {
        Spi::run("CREATE TABLE c (id int, v vector(3000))").unwrap();
        Spi::run(
            "INSERT INTO c SELECT i, array_fill(i::real, ARRAY[3000])::vector
                 FROM generate_series(1, 5) i",
        )
        .unwrap();
        Spi::run("CREATE INDEX c_idx ON c USING hnsw (v vector_l2_ops)").unwrap();
        assert_eq!(verify_rows("%"), 0, "a fresh build is healthy");
        let oid = Spi::get_one::<pg_sys::Oid>("SELECT 'c_idx'::regclass::oid")
            .unwrap()
            .unwrap();
        OpenIndex::open(oid)
    }

    fn nearest_ids() -> String {
        Spi::run("SET LOCAL enable_seqscan = off").unwrap();
        Spi::get_one::<String>(
            "SELECT string_agg(id::text, ',') FROM (SELECT id FROM c
                 ORDER BY v <-> array_fill(2.2::real, ARRAY[3000])::vector LIMIT 5) s",
        )
        .unwrap()
        .unwrap()
    }

    #[pg_test]
    fn a_chain_of_no_element_is_freed_once_its_writer_ended() {
        let index = build();
        let meta = Meta::read(index.0);
        // The chain an insert writes before its element, without the element: one
        // by this transaction, still running; one by transaction 3, long ended.
        let ours = insert::write_chain(index.0, &meta, &[0.5f32; 3000], chain::writer_xid());
        assert_eq!(verify_rows("chain tuple of no element"), 2);
        let old = insert::write_chain(index.0, &meta, &[0.25f32; 3000], 3);
        assert_eq!(verify_rows("chain tuple of no element"), 4);
        assert_eq!(verify_rows("%"), 4);
        // VACUUM's cleanup (its horizon read as VACUUM reads it): the old one goes,
        // ours stays, the elements' chains stay.
        vacuum::free_chains_of_no_element(index.0);
        assert_eq!(verify_rows("chain tuple of no element"), 2);
        assert_eq!(verify_rows("%"), 2);
        let scan = GraphScan::read(index.0);
        assert!(scan.chains.contains_key(&ours.pack()) && !scan.chains.contains_key(&old.pack()));
        // Bulk delete's pass 1 sees the same.
        let removed = vacuum::remove_dead_tids(index.0, |_| false);
        let found = removed.chains.of_no_element(chain::oldest_running_xid());
        assert_eq!(found, Some(Vec::new()));
        assert_eq!(nearest_ids(), "2,3,1,4,5");
    }

    #[pg_test]
    fn a_broken_chain_reads_as_a_missing_element() {
        let index = build();
        let entry = Meta::read(index.0).entry.expect("an entry point").0.pack();
        let scan = GraphScan::read(index.0);
        let (_, e) = scan
            .elements
            .iter()
            .find(|&(&id, e)| id != entry && e.heap_tids.len() == 1 && e.chain.is_some())
            .expect("a chained element besides the entry point");
        let row = e.heap_tids[0];
        // Frees the first piece of one element's chain, as if VACUUM freed its element
        // while a search still held its TID.
        vacuum::free_chains(index.0, vec![e.chain.unwrap()]);
        assert_eq!(verify_rows("broken chain"), 1);
        assert_eq!(verify_rows("chain tuple of no element"), 1);
        let ids = nearest_ids();
        let missing = Spi::get_one::<i32>(&format!(
            "SELECT id FROM c WHERE ctid = '({},{})'",
            row.block, row.offset
        ))
        .unwrap()
        .unwrap();
        // The other four, nearest first.
        let expected: Vec<&str> = ["2", "3", "1", "4", "5"]
            .into_iter()
            .filter(|&i| i != missing.to_string())
            .collect();
        assert_eq!(ids, expected.join(","));
    }

    /// A parallel build (leader + 1 worker) of 3,000-d rows, in memory and past
    /// maintenance_work_mem (1 MB: the rest inserted on disk, chains and all): a
    /// worker launched, hnsw_verify empty, every row its own nearest.
    #[pg_test]
    fn parallel_builds_of_chained_elements() {
        Spi::run(
            "SELECT setseed(0.5); CREATE TABLE p (id int, v vector(3000)); \
             INSERT INTO p SELECT r, array_agg(random())::real[]::vector \
                 FROM generate_series(1, 3000) d, generate_series(1, 600) r GROUP BY r; \
             ALTER TABLE p SET (parallel_workers = 1)",
        )
        .unwrap();
        for memory in ["256MB", "1MB"] {
            assert_eq!(
                parallel_build_of_p(memory, "vector_l2_ops", "q.id <= 50"),
                50
            );
        }
    }
}
