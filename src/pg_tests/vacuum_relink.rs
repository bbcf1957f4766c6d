//! VACUUM's cleanup and the metapage's `relink_pending` flag: a live element that a
//! VACUUM stopped between its repair and its cleanup left without in-links is linked
//! by the next cleanup, even when that VACUUM's bulk delete removed nothing; an
//! insert (`inserted_since_check`) asks for the same check.

#[pgrx::pg_schema]
mod tests {
    use crate::am::cleanup::relink_if_pending;
    use crate::am::disk::DiskGraph;
    use crate::am::graphscan::GraphScan;
    use crate::am::stats::OpenIndex;
    use crate::hnsw::GraphMut;
    use crate::storage::meta::Meta;
    use pgrx::prelude::*;

    fn verify_rows(filter: &str) -> i64 {
        Spi::get_one::<i64>(&format!(
            "SELECT count(*) FROM hnsw_verify('r_idx') WHERE {filter}"
        ))
        .unwrap()
        .unwrap()
    }

    /// Builds a small index (both marks clear after it).
    fn build() -> OpenIndex {
        Spi::run("CREATE TABLE r (id int, v vector(3))").unwrap();
        Spi::run(
            "INSERT INTO r SELECT i, ARRAY[i % 10, (i * 7) % 11, (i * 5) % 13]::real[]::vector
                 FROM generate_series(1, 80) i",
        )
        .unwrap();
        Spi::run("CREATE INDEX r_idx ON r USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 8)")
            .unwrap();
        assert_eq!(verify_rows("true"), 0, "a fresh build is healthy");
        let oid = Spi::get_one::<pg_sys::Oid>("SELECT 'r_idx'::regclass::oid")
            .unwrap()
            .unwrap();
        let index = OpenIndex::open(oid);
        let meta = Meta::read(index.0);
        assert!(
            !meta.relink_pending && !meta.inserted_since_check,
            "a build that linked everything leaves the marks clear"
        );
        index
    }

    /// Cuts every link to one element (not the entry point), as a pruning or repair
    /// that dropped its last in-link would, without touching the marks; returns how
    /// many elements hnsw_verify then reports unreachable (at least one).
    fn cut_one_element(index: &OpenIndex) -> i64 {
        let before = Meta::read(index.0);
        let entry = before.entry.expect("an entry point").0.pack();
        let scan = GraphScan::read(index.0);
        let victim = *scan
            .elements
            .keys()
            .filter(|&&id| id != entry)
            .min()
            .expect("another element");
        let mut graph = DiskGraph::new(index.0, before.metric);
        let mut cut = 0;
        for &id in scan.elements.keys() {
            for (layer, links) in scan.layers(id).into_iter().flatten().enumerate() {
                if links.iter().any(|t| t.pack() == victim) {
                    let kept: Vec<u64> = links
                        .iter()
                        .map(|t| t.pack())
                        .filter(|&n| n != victim)
                        .collect();
                    graph.set_neighbours(id, layer, &kept);
                    cut += 1;
                }
            }
        }
        drop(graph);
        assert!(cut > 0, "the element had in-links");
        let lost = verify_rows("problem = 'unreachable live element'");
        assert!(lost >= 1, "cutting its in-links leaves it unreachable");
        assert_eq!(verify_rows("problem <> 'unreachable live element'"), 0);
        let after = Meta::read(index.0);
        assert_eq!(
            (after.relink_pending, after.inserted_since_check),
            (before.relink_pending, before.inserted_since_check)
        );
        lost
    }

    /// With both marks clear, cleanup leaves the cut element unreachable; with
    /// `relink_pending` set it links it, hnsw_verify is empty and the mark is cleared.
    #[pg_test]
    fn cleanup_links_what_the_flag_asks_for_when_nothing_else_does() {
        let index = build();
        let lost = cut_one_element(&index);
        relink_if_pending(index.0);
        assert_eq!(
            verify_rows("problem = 'unreachable live element'"),
            lost,
            "nothing asked for the check"
        );

        Meta::set_relink_pending(index.0, true);
        relink_if_pending(index.0);
        assert_eq!(verify_rows("true"), 0, "the flag made cleanup link it");
        assert!(!Meta::read(index.0).relink_pending, "and cleared the flag");
    }

    /// An insert marks the metapage (`inserted_since_check`), and that mark alone
    /// makes cleanup check the graph: an element cut after the insert is linked,
    /// and both marks are clear afterwards.
    #[pg_test]
    fn an_insert_makes_cleanup_check() {
        let index = build();
        Spi::run("INSERT INTO r VALUES (1000, '[3,3,3]')").unwrap();
        let meta = Meta::read(index.0);
        assert!(meta.inserted_since_check, "the insert marked the metapage");
        assert!(!meta.relink_pending);
        cut_one_element(&index);
        relink_if_pending(index.0);
        assert_eq!(verify_rows("true"), 0, "the mark made cleanup link it");
        let meta = Meta::read(index.0);
        assert!(
            !meta.inserted_since_check && !meta.relink_pending,
            "and cleared both marks"
        );
    }
}
