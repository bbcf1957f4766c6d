//! The `vector` type inside PostgreSQL: round trips, casts, operators against the
//! scalar reference, B-tree order, aggregates. Error texts and SQLSTATEs are in
//! `errors.rs`; the same surface is also covered by the pg_regress files in
//! `tests/pg_regress`.

#[pgrx::pg_schema]
mod tests {
    use crate::distance::scalar;
    use pgrx::prelude::*;

    fn one<T: pgrx::IntoDatum + pgrx::FromDatum>(sql: &str) -> T {
        Spi::get_one::<T>(sql)
            .expect("query ran")
            .expect("not null")
    }

    fn text(sql: &str) -> String {
        one::<String>(sql)
    }

    #[pg_test]
    fn text_round_trip_and_typmod() {
        assert_eq!(text("SELECT '[1,2,3]'::vector::text"), "[1,2,3]");
        assert_eq!(
            text("SELECT ' [ 1.5 ,-2e-3, 3e6 ] '::vector::text"),
            "[1.5,-0.002,3e+06]"
        );
        assert_eq!(text("SELECT '[1,2,3]'::vector(3)::text"), "[1,2,3]");
        Spi::run("CREATE TABLE t_typmod (v vector(3))").unwrap();
        assert_eq!(
            text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't_typmod'::regclass AND attname = 'v'"),
            "vector(3)"
        );
    }

    #[pg_test]
    fn binary_send_recv_round_trip() {
        assert_eq!(
            text("SELECT encode(vector_send('[1,-2.5]'), 'hex')"),
            "00020000".to_owned() + "3f800000" + "c0200000"
        );
        // recv goes through the type's RECEIVE function.
        Spi::run("CREATE TABLE t_bin (id int, v vector(2))").unwrap();
        Spi::run("INSERT INTO t_bin VALUES (1, '[1,-2.5]'), (2, '[0.1,3e-7]')").unwrap();
        assert_eq!(
            text("SELECT string_agg(v::text, ';' ORDER BY id) FROM t_bin WHERE v = (SELECT v FROM t_bin WHERE id = 2)"),
            "[0.1,3e-07]"
        );
    }

    #[pg_test]
    fn copy_binary_out_and_back_in() {
        Spi::run("CREATE TABLE t_copy (id int, v vector(3))").unwrap();
        Spi::run("INSERT INTO t_copy SELECT i, ARRAY[i, -i / 7.0, 1e-20 * i]::real[] FROM generate_series(1, 50) i")
            .unwrap();
        let path = text("SELECT current_setting('data_directory') || '/pgvec_hnsw_copy.bin'");
        Spi::run(&format!("COPY t_copy TO '{path}' (FORMAT binary)")).unwrap();
        Spi::run("CREATE TABLE t_copy2 (LIKE t_copy)").unwrap();
        Spi::run(&format!("COPY t_copy2 FROM '{path}' (FORMAT binary)")).unwrap();
        assert_eq!(one::<i64>("SELECT count(*) FROM t_copy2"), 50);
        assert_eq!(
            one::<i64>("SELECT count(*) FROM t_copy a JOIN t_copy2 b USING (id) WHERE a.v::text = b.v::text"),
            50
        );
        // The typmod of the target column is checked by recv too.
        Spi::run("CREATE TABLE t_copy3 (id int, v vector(2))").unwrap();
        let wrong = std::panic::catch_unwind(|| {
            Spi::run(&format!("COPY t_copy3 FROM '{path}' (FORMAT binary)"))
        });
        assert!(wrong.is_err());
    }

    #[pg_test]
    fn casts() {
        assert_eq!(text("SELECT ARRAY[1,2,3]::vector::text"), "[1,2,3]");
        assert_eq!(
            text("SELECT ARRAY[1.5,2,3]::real[]::vector::text"),
            "[1.5,2,3]"
        );
        assert_eq!(
            text("SELECT ARRAY[1.5,2,3]::float8[]::vector::text"),
            "[1.5,2,3]"
        );
        assert_eq!(
            text("SELECT ARRAY[1.5,2,3]::numeric[]::vector::text"),
            "[1.5,2,3]"
        );
        assert_eq!(text("SELECT '[1,2.5]'::vector::real[]::text"), "{1,2.5}");
        Spi::run("CREATE TABLE t_cast (v vector(3))").unwrap();
        Spi::run("INSERT INTO t_cast VALUES (ARRAY[1,2,3])").unwrap(); // assignment cast
        assert_eq!(text("SELECT v::text FROM t_cast"), "[1,2,3]");
        // the implicit cast to real[] lets a vector be passed where real[] is expected
        Spi::run("CREATE FUNCTION pg_temp.len(real[]) RETURNS int LANGUAGE sql AS 'SELECT array_length($1, 1)'")
            .unwrap();
        assert_eq!(one::<i32>("SELECT pg_temp.len('[1,2,3]'::vector)"), 3);
    }

    #[pg_test]
    fn distances_match_the_scalar_reference() {
        let a = [1.0f32, -2.0, 3.5, 0.25];
        let b = [0.5f32, 4.0, -1.0, 2.0];
        let lit = |v: &[f32]| crate::types::text::format(v);
        let q = |f: &str| {
            one::<f64>(&format!(
                "SELECT '{}'::vector {f} '{}'::vector",
                lit(&a),
                lit(&b)
            ))
        };
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 * y.abs().max(1.0);
        assert!(close(q("<->"), scalar::l2_squared(&a, &b).sqrt()));
        assert!(close(q("<#>"), -scalar::inner_product(&a, &b)));
        assert!(close(q("<=>"), scalar::cosine_distance(&a, &b)));
        assert!(close(q("<+>"), scalar::l1_distance(&a, &b)));
        let f = |f: &str| {
            one::<f64>(&format!(
                "SELECT {f}('{}'::vector, '{}'::vector)",
                lit(&a),
                lit(&b)
            ))
        };
        assert!(close(f("l2_distance"), scalar::l2_squared(&a, &b).sqrt()));
        assert!(close(f("inner_product"), scalar::inner_product(&a, &b)));
        assert!(close(f("cosine_distance"), scalar::cosine_distance(&a, &b)));
        assert!(close(f("l1_distance"), scalar::l1_distance(&a, &b)));
        assert!(one::<f64>("SELECT '[0,0]'::vector <=> '[1,1]'").is_nan());
        assert_eq!(one::<f64>("SELECT '[3,4]'::vector <-> '[0,0]'"), 5.0);
    }

    #[pg_test]
    fn functions_and_arithmetic() {
        assert_eq!(one::<i32>("SELECT vector_dims('[1,2,3]'::vector)"), 3);
        assert_eq!(one::<f64>("SELECT vector_norm('[3,4]'::vector)"), 5.0);
        assert_eq!(
            text("SELECT l2_normalize('[3,4]'::vector)::text"),
            "[0.6,0.8]"
        );
        assert_eq!(text("SELECT l2_normalize('[0,0]'::vector)::text"), "[0,0]");
        assert_eq!(
            text("SELECT subvector('[1,2,3,4,5]'::vector, 2, 3)::text"),
            "[2,3,4]"
        );
        assert_eq!(text("SELECT ('[1,2]'::vector + '[3,4]')::text"), "[4,6]");
        assert_eq!(text("SELECT ('[1,2]'::vector - '[3,4]')::text"), "[-2,-2]");
        assert_eq!(text("SELECT ('[1,2]'::vector * '[3,4]')::text"), "[3,8]");
        assert_eq!(text("SELECT ('[1,2]'::vector || '[3]')::text"), "[1,2,3]");
    }

    #[pg_test]
    fn btree_order_distinct_unique() {
        Spi::run("CREATE TABLE t_ord (v vector)").unwrap();
        Spi::run("INSERT INTO t_ord VALUES ('[1,2]'), ('[1]'), ('[0,5]'), ('[1,2,0]'), ('[1,2]')")
            .unwrap();
        assert_eq!(
            text("SELECT string_agg(v::text, ' ' ORDER BY v) FROM t_ord"),
            "[0,5] [1] [1,2] [1,2] [1,2,0]"
        );
        assert_eq!(one::<i64>("SELECT count(DISTINCT v) FROM t_ord"), 4);
        assert!(one::<bool>("SELECT '[1,2]'::vector < '[1,3]' AND '[1,2]'::vector <= '[1,2]' AND '[2]'::vector > '[1,9]' AND '[1]'::vector <> '[1,0]'"));
        Spi::run("CREATE UNIQUE INDEX ON t_ord (v) WHERE v <> '[1,2]'").unwrap();
        let dup = std::panic::catch_unwind(|| Spi::run("INSERT INTO t_ord VALUES ('[0,5]')"));
        assert!(
            dup.is_err(),
            "unique btree index rejects a duplicate vector"
        );
    }

    #[pg_test]
    fn aggregates() {
        Spi::run("CREATE TABLE t_agg (v vector(2))").unwrap();
        assert_eq!(
            Spi::get_one::<String>("SELECT avg(v)::text FROM t_agg").unwrap(),
            None
        );
        assert_eq!(
            Spi::get_one::<String>("SELECT sum(v)::text FROM t_agg").unwrap(),
            None
        );
        Spi::run("INSERT INTO t_agg VALUES ('[1,2]'), ('[3,6]'), (NULL)").unwrap();
        assert_eq!(text("SELECT avg(v)::text FROM t_agg"), "[2,4]");
        assert_eq!(text("SELECT sum(v)::text FROM t_agg"), "[4,8]");
        assert!(one::<bool>(
            "SELECT bool_and(proparallel = 's') FROM pg_proc WHERE proname IN ('avg', 'sum') AND proargtypes[0] = 'vector'::regtype"
        ));
    }

    #[pg_test]
    fn simd_choice_is_reported() {
        let isa = text("SELECT pgvec_hnsw_simd()");
        assert!(
            ["portable", "avx2", "avx512"].contains(&isa.as_str()),
            "{isa}"
        );
        assert_eq!(isa, crate::distance::kernels().isa().name());
    }
}
