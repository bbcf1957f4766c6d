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

    /// With `hnsw.iterative_scan` on, the filter's selectivity prices the scan: a
    /// filter passing 10 % keeps the index; one passing 0.1 % (LIMIT 10 needs about
    /// 10,000 results, more than `hnsw.max_scan_tuples` allows) goes to its B-tree,
    /// or without one to a sequential scan (with iterative scans off, the hnsw
    /// index), and so does a rarer one.
    #[pg_test]
    fn iterative_scans_price_the_filter() {
        Spi::run(
            "CREATE TABLE pi (id int, tenant int, category int, v vector(16)); \
             INSERT INTO pi SELECT r, r % 1000, r % 10, array_agg(random())::real[]::vector \
                 FROM generate_series(1, 16) d, generate_series(1, 50000) r GROUP BY r; \
             CREATE INDEX pi_idx ON pi USING hnsw (v vector_l2_ops); \
             CREATE INDEX pi_tenant ON pi (tenant); \
             ANALYZE pi",
        )
        .unwrap();
        let q = "(SELECT v FROM pi WHERE id = 1)";
        let q = Spi::get_one::<String>(&format!("SELECT {q}::text"))
            .unwrap()
            .unwrap();
        let query = |filter: &str| {
            format!("SELECT id FROM pi WHERE {filter} ORDER BY v <-> '{q}' LIMIT 10")
        };
        let (category, tenant, rare) = (
            query("category = 3"),
            query("tenant = 7"),
            query("id % 5000 = 7 AND category = id % 10"),
        );
        assert!(uses(&category, "pi_idx"), "{}", plan(&category));
        Spi::run("SET LOCAL hnsw.iterative_scan = relaxed_order").unwrap();
        assert!(uses(&category, "pi_idx"), "{}", plan(&category));
        assert!(plan(&tenant).contains("pi_tenant"), "{}", plan(&tenant));
        let rare_plan = plan(&rare);
        assert!(rare_plan.contains("Seq Scan on pi"), "{rare_plan}");
        // Without its B-tree: the hnsw index while iterative scans are off (its
        // answer stops at ef_search rows), a sequential scan once they are on.
        Spi::run("DROP INDEX pi_tenant").unwrap();
        assert!(
            plan(&tenant).contains("Seq Scan on pi"),
            "{}",
            plan(&tenant)
        );
        Spi::run("SET LOCAL hnsw.iterative_scan = off").unwrap();
        assert!(uses(&tenant, "pi_idx"), "off: {}", plan(&tenant));
    }
}
