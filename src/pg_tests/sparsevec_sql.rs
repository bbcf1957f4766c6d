//! The `sparsevec` type inside PostgreSQL: text and binary round trips (COPY BINARY),
//! typmods, casts, distances, norms, B-tree order, and its errors (SQLSTATE, message
//! and detail in pgvector's words; binary-input errors are in `errors.rs`).

#[pgrx::pg_schema]
mod tests {
    use crate::pg_tests::support::{
        assert_errors, column, column_type_and_binary_copy, float, one, text,
    };
    use pgrx::prelude::*;

    #[pg_test]
    fn sparsevec_text_and_binary_round_trips() {
        for (input, output) in [
            ("{1:1.5,3:3.5}/5", "{1:1.5,3:3.5}/5"),
            (" { 3 : 3.5 , 1:1.5 , 2:0 } / 5 ", "{1:1.5,3:3.5}/5"),
            ("{}/1", "{}/1"),
            ("{1:1.23456789}/1", "{1:1.2345679}/1"),
            (
                "{1:1.5e38,2:-1.5e-38}/1000000000",
                "{1:1.5e+38,2:-1.5e-38}/1000000000",
            ),
        ] {
            assert_eq!(
                text(&format!("SELECT '{input}'::sparsevec::text")),
                output,
                "{input}"
            );
        }
        // Binary: dim, nnz, unused, 0-based indices, values (network order).
        assert_eq!(
            text("SELECT encode(sparsevec_send('{2:1,5:-2}/5'), 'hex')"),
            "00000005".to_owned()
                + "00000002"
                + "00000000"
                + "00000001"
                + "00000004"
                + "3f800000"
                + "c0000000"
        );
        Spi::run(
            "CREATE TABLE t_sparse (id int, v sparsevec(5)); \
             INSERT INTO t_sparse VALUES (1, '{1:1,5:2}/5'), (2, '[0,0,3,0,0]'::vector), \
                 (3, '{0,4,0,0,0}'::real[]), (4, '{}/5')",
        )
        .unwrap();
        assert_eq!(
            text("SELECT string_agg(v::text, ';' ORDER BY id) FROM t_sparse"),
            "{1:1,5:2}/5;{3:3}/5;{2:4}/5;{}/5"
        );
        assert_eq!(
            column_type_and_binary_copy("t_sparse"),
            (
                "sparsevec(5)".into(),
                "{}/5;{3:3}/5;{2:4}/5;{1:1,5:2}/5".into()
            )
        );
    }

    #[pg_test]
    fn sparsevec_casts() {
        for (sql, want) in [
            (
                "SELECT '[0,1.5,0,3.5,0]'::vector::sparsevec::text",
                "{2:1.5,4:3.5}/5",
            ),
            (
                "SELECT '[0,1.5,0,3.5,0]'::vector::sparsevec(5)::text",
                "{2:1.5,4:3.5}/5",
            ),
            (
                "SELECT '{2:1.5,4:3.5}/5'::sparsevec::vector::text",
                "[0,1.5,0,3.5,0]",
            ),
            (
                "SELECT '[0,1.5,-0,3.5,0]'::halfvec::sparsevec::text",
                "{2:1.5,4:3.5}/5",
            ),
            (
                "SELECT '{2:1.5,4:3.5}/5'::sparsevec::halfvec(5)::text",
                "[0,1.5,0,3.5,0]",
            ),
            ("SELECT '{1:1e-8}/1'::sparsevec::halfvec::text", "[0]"),
            (
                "SELECT ARRAY[1,0,2,0,3,0]::sparsevec::text",
                "{1:1,3:2,5:3}/6",
            ),
            (
                "SELECT ARRAY[1,0,2]::real[]::sparsevec(3)::text",
                "{1:1,3:2}/3",
            ),
            (
                "SELECT ARRAY[1,0,2]::float8[]::sparsevec::text",
                "{1:1,3:2}/3",
            ),
            (
                "SELECT ARRAY[1.5,0,2]::numeric[]::sparsevec::text",
                "{1:1.5,3:2}/3",
            ),
        ] {
            assert_eq!(text(sql), want, "{sql}");
        }
        // vector → sparsevec is implicit: a vector operand meets a sparsevec one.
        assert_eq!(
            float("SELECT '[0,3,0]'::vector <-> '{2:-1}/3'::sparsevec"),
            4.0
        );
    }

    #[pg_test]
    fn sparsevec_distances_norms_and_order() {
        let d = |f: &str| {
            float(&format!(
                "SELECT {f}('{{1:3,3:4}}/4'::sparsevec, '{{2:1,3:4}}/4')"
            ))
        };
        assert_eq!(d("l2_distance"), 10f64.sqrt());
        assert_eq!(d("sparsevec_l2_squared_distance"), 10.0);
        assert_eq!(d("inner_product"), 16.0);
        assert_eq!(d("sparsevec_negative_inner_product"), -16.0);
        assert_eq!(d("l1_distance"), 4.0);
        assert_eq!(d("cosine_distance"), 1.0 - 16.0 / 425f64.sqrt());
        // Each operator is its function.
        for (op, f) in [
            ("<->", "l2_distance"),
            ("<#>", "sparsevec_negative_inner_product"),
            ("<=>", "cosine_distance"),
            ("<+>", "l1_distance"),
        ] {
            assert_eq!(
                float(&format!(
                    "SELECT '{{1:3,3:4}}/4'::sparsevec {op} '{{2:1,3:4}}/4'"
                )),
                d(f),
                "{op}"
            );
        }
        // The same numbers as the dense vectors give.
        assert_eq!(
            float("SELECT '{1:3,3:4}/4'::sparsevec <-> '{2:1,3:4}/4'"),
            float("SELECT '[3,0,4,0]'::vector <-> '[0,1,4,0]'")
        );
        assert!(float("SELECT '{}/2'::sparsevec <=> '{1:1}/2'").is_nan());
        assert_eq!(float("SELECT l2_norm('{1:3,7:-4}/9'::sparsevec)"), 5.0);
        assert_eq!(
            text("SELECT l2_normalize('{2:3,6:4}/9'::sparsevec)::text"),
            "{2:0.6,6:0.8}/9"
        );
        assert_eq!(text("SELECT l2_normalize('{}/2'::sparsevec)::text"), "{}/2");
        // B-tree order is the dense vectors' order, then fewer dimensions first.
        Spi::run(
            "CREATE TABLE t_order (v sparsevec); \
             INSERT INTO t_order VALUES ('{1:1}/3'), ('{2:1}/3'), ('{2:-1}/3'), ('{}/3'), \
                 ('{}/2'), ('{1:1}/3'), ('{1:1,3:-1}/3')",
        )
        .unwrap();
        // DISTINCT and GROUP BY compare sparsevecs (the duplicate '{1:1}/3' goes).
        const ORDER: [&str; 6] = [
            "{2:-1}/3",
            "{}/2",
            "{}/3",
            "{2:1}/3",
            "{1:1,3:-1}/3",
            "{1:1}/3",
        ];
        assert_eq!(
            column::<String>(
                "SELECT s FROM (SELECT DISTINCT v::text AS s, v FROM t_order) d ORDER BY v"
            ),
            ORDER
        );
        assert_eq!(
            column::<String>("SELECT v::text AS s FROM t_order GROUP BY v ORDER BY v"),
            ORDER
        );
        // The B-tree class: an index scan returns the same order and finds by `=`.
        Spi::run("CREATE INDEX t_order_v ON t_order (v); SET LOCAL enable_seqscan = off").unwrap();
        assert!(
            crate::pg_tests::support::plan("SELECT v FROM t_order ORDER BY v")
                .contains("t_order_v")
        );
        assert_eq!(
            column::<String>("SELECT v::text AS s FROM t_order ORDER BY v"),
            [
                "{2:-1}/3",
                "{}/2",
                "{}/3",
                "{2:1}/3",
                "{1:1,3:-1}/3",
                "{1:1}/3",
                "{1:1}/3"
            ]
        );
        assert_eq!(
            one::<i64>("SELECT count(*) FROM t_order WHERE v = '{1:1}/3'"),
            2
        );
        assert!(one::<bool>(
            "SELECT '{1:1}/3'::sparsevec = '{1:1}/3' AND '{1:1}/3'::sparsevec <> '{1:2}/3'"
        ));
        assert!(one::<bool>(
            "SELECT '{1:1}/3'::sparsevec > '{2:9}/3' AND '{}/2'::sparsevec < '{}/3'"
        ));
    }

    #[pg_test]
    fn sparsevec_errors_in_pgvector_words() {
        let too_many = format!(
            "SELECT '{{{}}}/16001'::sparsevec",
            (1..=16001)
                .map(|i| format!("{i}:1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let cases = [
            ("SELECT '{1:hello}/2'::sparsevec", "22P02: invalid input syntax for type sparsevec: \"{1:hello}/2\""),
            ("SELECT '[1,2]'::sparsevec", "22P02: invalid input syntax for type sparsevec: \"[1,2]\" | Vector contents must start with \"{\"."),
            ("SELECT '{1:1}'::sparsevec", "22P02: invalid input syntax for type sparsevec: \"{1:1}\" | Unexpected end of input."),
            ("SELECT '{1:1}/2 x'::sparsevec", "22P02: invalid input syntax for type sparsevec: \"{1:1}/2 x\" | Junk after closing."),
            ("SELECT '{1:NaN}/2'::sparsevec", "22000: NaN not allowed in sparsevec"),
            ("SELECT '{1:-Infinity}/2'::sparsevec", "22000: infinite value not allowed in sparsevec"),
            ("SELECT '{1:4e38}/2'::sparsevec", "22003: \"4e38\" is out of range for type sparsevec"),
            ("SELECT '{1:1e-46}/2'::sparsevec", "22003: \"1e-46\" is out of range for type sparsevec"),
            ("SELECT '{1:1,1:2}/2'::sparsevec", "22000: sparsevec indices must not contain duplicates"),
            ("SELECT '{0:1}/2'::sparsevec", "22000: sparsevec index out of bounds"),
            ("SELECT '{3:1}/2'::sparsevec", "22000: sparsevec index out of bounds"),
            ("SELECT '{}/0'::sparsevec", "22000: sparsevec must have at least 1 dimension"),
            ("SELECT '{}/1000000001'::sparsevec", "54000: sparsevec cannot have more than 1000000000 dimensions"),
            (too_many.as_str(), "54000: sparsevec cannot have more than 16000 non-zero elements"),
            ("SELECT '{}/3'::sparsevec(2)", "22000: expected 2 dimensions, not 3"),
            ("SELECT '{}/3'::sparsevec(3, 2)", "22023: invalid type modifier"),
            ("SELECT '{}/3'::sparsevec(0)", "22023: dimensions for type sparsevec must be at least 1"),
            ("SELECT '{}/3'::sparsevec(1000000001)", "22023: dimensions for type sparsevec cannot exceed 1000000000"),
            ("SELECT '{1:1}/2'::sparsevec <-> '{1:3}/1'", "22000: different sparsevec dimensions 2 and 1"),
            ("SELECT inner_product('{1:1}/2'::sparsevec, '{1:3}/1')", "22000: different sparsevec dimensions 2 and 1"),
            ("SELECT '{}/16001'::sparsevec::vector", "54000: vector cannot have more than 16000 dimensions"),
            ("SELECT '{}/16001'::sparsevec::halfvec", "54000: halfvec cannot have more than 16000 dimensions"),
            ("SELECT '{1:65520}/1'::sparsevec::halfvec", "22003: \"65520\" is out of range for type halfvec"),
            ("SELECT '[1,2]'::vector::sparsevec(3)", "22000: expected 3 dimensions, not 2"),
            ("SELECT '{NaN}'::real[]::sparsevec", "22000: NaN not allowed in sparsevec"),
            ("SELECT '{Infinity}'::real[]::sparsevec", "22000: infinite value not allowed in sparsevec"),
            ("SELECT '{}'::real[]::sparsevec", "22000: sparsevec must have at least 1 dimension"),
            ("SELECT '{{1}}'::real[]::sparsevec", "22000: array must be 1-D"),
            ("SELECT '{1,NULL}'::real[]::sparsevec", "22004: array must not contain nulls"),
        ];
        assert_errors(&cases, true);
    }
}
