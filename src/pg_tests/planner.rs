//! The planner's choice, without `enable_seqscan = off`: the index for `ORDER BY …
//! LIMIT` on tables of a few thousand rows (384 and 1536 dimensions, whose vectors
//! live in TOAST), with a distance filter and under joins; never without LIMIT or
//! without ORDER BY; a B-tree on a selective filter column may win.

#[pgrx::pg_schema]
mod tests {
    use crate::pg_tests::support::plan;
    use pgrx::prelude::*;

    fn uses(query: &str, index: &str) -> bool {
        plan(query).contains(&format!("Index Scan using {index}"))
    }

    /// `rows` random rows of `dim` dimensions in table `name` (with `tenant`, 1 to
    /// 100), its hnsw index `{name}_idx`, ANALYZE; returns a query vector literal.
    fn table(name: &str, dim: usize, rows: usize) -> String {
        Spi::run(&format!(
            "CREATE TABLE {name} (id int, tenant int, v vector({dim})); \
             INSERT INTO {name} SELECT r, r % 100 + 1, array_agg(random())::real[]::vector \
                 FROM generate_series(1, {dim}) d, generate_series(1, {rows}) r GROUP BY r; \
             CREATE INDEX {name}_idx ON {name} USING hnsw (v vector_l2_ops); \
             ANALYZE {name}"
        ))
        .unwrap();
        let q: Vec<String> = (0..dim)
            .map(|i| format!("{:.3}", (i % 7) as f32 / 7.0))
            .collect();
        format!("'[{}]'", q.join(","))
    }

    #[pg_test]
    fn the_index_serves_order_by_limit_on_small_tables() {
        for (name, dim) in [("p384", 384), ("p1536", 1536)] {
            let q = table(name, dim, 2000);
            let idx = format!("{name}_idx");
            let knn = format!("SELECT id FROM {name} ORDER BY v <-> {q} LIMIT 10");
            assert!(uses(&knn, &idx), "{dim}: {}", plan(&knn));
            // without LIMIT the scan would return only ef_search rows: never the index
            let all = format!("SELECT id FROM {name} ORDER BY v <-> {q}");
            assert!(!plan(&all).contains(&idx), "{dim}: {}", plan(&all));
            assert!(!plan(&format!("SELECT count(*) FROM {name}")).contains(&idx));
            assert!(!plan(&format!("SELECT id FROM {name} WHERE v = {q}")).contains(&idx));
            // a LIMIT the planner does not know yet (a parameter of a generic plan)
            Spi::run(&format!(
                "SET LOCAL plan_cache_mode = force_generic_plan; \
                 PREPARE knn_{name}(vector, int) AS \
                     SELECT id FROM {name} ORDER BY v <-> $1 LIMIT $2"
            ))
            .unwrap();
            let generic = format!("EXECUTE knn_{name}({q}, 10)");
            assert!(uses(&generic, &idx), "{dim}: {}", plan(&generic));
            Spi::run("RESET plan_cache_mode").unwrap();
        }
    }

    #[pg_test]
    fn distance_filters_joins_and_selective_filters() {
        let q = table("pf", 384, 10_000);
        let filtered = format!("SELECT id FROM pf WHERE v <-> {q} < 1 ORDER BY v <-> {q} LIMIT 20");
        assert!(uses(&filtered, "pf_idx"), "{}", plan(&filtered));
        // under a join that keeps the order (a nested loop to a small table)
        Spi::run(
            "CREATE TABLE tenants (id int PRIMARY KEY, name text); \
             INSERT INTO tenants SELECT i, 'tenant ' || i FROM generate_series(1, 100) i; \
             ANALYZE tenants",
        )
        .unwrap();
        let join = format!(
            "SELECT pf.id, t.name FROM pf JOIN tenants t ON t.id = pf.tenant \
             ORDER BY pf.v <-> {q} LIMIT 10"
        );
        assert!(uses(&join, "pf_idx"), "{}", plan(&join));
        // one search per outer row
        let lateral = "SELECT a.id, n.id FROM pf a CROSS JOIN LATERAL \
             (SELECT b.id FROM pf b ORDER BY b.v <-> a.v LIMIT 3) n WHERE a.id < 4";
        assert!(uses(lateral, "pf_idx"), "{}", plan(lateral));
        // a filter that keeps 1 row in 10,000, with its own B-tree: that index wins
        Spi::run("CREATE INDEX pf_id ON pf (id); ANALYZE pf").unwrap();
        let selective = format!("SELECT id FROM pf WHERE id = 77 ORDER BY v <-> {q} LIMIT 5");
        assert!(!plan(&selective).contains("pf_idx"), "{}", plan(&selective));
    }
}
