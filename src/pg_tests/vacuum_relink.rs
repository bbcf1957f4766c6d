//! VACUUM's cleanup and the metapage's `relink_pending` flag: a live element that a
//! VACUUM stopped between its repair and its cleanup left without in-links is linked
//! by the next cleanup, even when that VACUUM's bulk delete removed nothing; an
//! insert that drops a link (`links_pruned`) asks for the same check.

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

    /// Builds a small index and cuts every link to one element (not the entry
    /// point) as a pruning or repair that dropped its last in-link would, leaving
    /// both flags clear; returns the open index and how many elements hnsw_verify
    /// then reports unreachable (at least one).
    fn index_with_a_cut_element() -> (OpenIndex, i64) {
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
            !meta.relink_pending && !meta.links_pruned,
            "a build that linked everything leaves the flags clear"
        );
        let entry = meta.entry.expect("an entry point").0.pack();
        let scan = GraphScan::read(index.0);
        let victim = *scan
            .elements
            .keys()
            .filter(|&&id| id != entry)
            .min()
            .expect("another element");
        let mut graph = DiskGraph::new(index.0, meta.metric);
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
        let meta = Meta::read(index.0);
        assert!(!meta.relink_pending && !meta.links_pruned);
        (index, lost)
    }

    /// With both flags clear, cleanup leaves the cut element unreachable; with
    /// `relink_pending` set it links it, hnsw_verify is empty and the flag is cleared.
    #[pg_test]
    fn cleanup_links_what_the_flag_asks_for_when_nothing_else_does() {
        let (index, lost) = index_with_a_cut_element();
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

    /// An insert whose linking drops a link marks the metapage (`links_pruned`),
    /// and that mark alone makes cleanup check the graph (and link the cut element,
    /// unless an insert linked it already) and clear it. m = 4 (lists of 8 on layer
    /// 0) over 80 elements: the 200 inserts re-select full lists.
    #[pg_test]
    fn an_insert_that_prunes_makes_cleanup_check() {
        let (index, _) = index_with_a_cut_element();
        Spi::run(
            "INSERT INTO r SELECT i, ARRAY[i % 17, (i * 3) % 19, (i * 11) % 23]::real[]::vector
                 FROM generate_series(1, 200) i",
        )
        .unwrap();
        let meta = Meta::read(index.0);
        assert!(meta.links_pruned, "inserts into full lists dropped links");
        assert!(!meta.relink_pending);
        relink_if_pending(index.0);
        assert_eq!(
            verify_rows("true"),
            0,
            "the mark made cleanup link everything"
        );
        let meta = Meta::read(index.0);
        assert!(
            !meta.links_pruned && !meta.relink_pending,
            "and cleared both flags"
        );
    }
}
