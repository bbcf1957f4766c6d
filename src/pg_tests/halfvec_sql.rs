//! The `halfvec` type inside PostgreSQL: text and binary round trips, typmods, casts,
//! distances, functions, arithmetic, B-tree order, aggregates, and its errors (SQLSTATE,
//! message and detail in pgvector's words).

#[pgrx::pg_schema]
mod tests {
    use crate::pg_tests::support::{assert_errors, column_type_and_binary_copy, float, text};
    use pgrx::prelude::*;

    #[pg_test]
    fn halfvec_text_and_binary_round_trips() {
        for (input, output) in [
            ("[1,2,3]", "[1,2,3]"),
            (" [ 1.5 ,-2, 3e4 ] ", "[1.5,-2,30000]"),
            ("[0.1]", "[0.099975586]"),
            ("[65504,-65519]", "[65504,-65504]"),
            ("[1e-8,-0]", "[0,-0]"),
            ("[6e-8]", "[5.9604645e-08]"),
        ] {
            assert_eq!(
                text(&format!("SELECT '{input}'::halfvec::text")),
                output,
                "{input}"
            );
        }
        assert_eq!(
            text("SELECT encode(halfvec_send('[1,-2.5]'), 'hex')"),
            "00020000".to_owned() + "3c00" + "c100"
        );
        Spi::run(
            "CREATE TABLE t_half (id int, v halfvec(3)); \
             INSERT INTO t_half VALUES (1, '[1,2,3]'), (2, '[0.1,-7,1e4]'::vector), \
                 (3, '{4,5,6}'::real[])",
        )
        .unwrap();
        assert_eq!(
            text("SELECT string_agg(v::text, ';' ORDER BY id) FROM t_half"),
            "[1,2,3];[0.099975586,-7,10000];[4,5,6]"
        );
        assert_eq!(
            column_type_and_binary_copy("t_half"),
            (
                "halfvec(3)".into(),
                "[0.099975586,-7,10000];[1,2,3];[4,5,6]".into()
            )
        );
    }

    #[pg_test]
    fn halfvec_casts() {
        assert_eq!(
            text("SELECT '[1,2.5,3]'::vector::halfvec::text"),
            "[1,2.5,3]"
        );
        assert_eq!(
            text("SELECT '[0.1]'::halfvec::vector::text"),
            "[0.099975586]"
        );
        assert_eq!(text("SELECT '{1,2,3}'::int[]::halfvec::text"), "[1,2,3]");
        assert_eq!(
            text("SELECT '{1.5,2}'::real[]::halfvec(2)::text"),
            "[1.5,2]"
        );
        assert_eq!(text("SELECT '{1.5,2}'::float8[]::halfvec::text"), "[1.5,2]");
        assert_eq!(
            text("SELECT '{1.5,2}'::numeric[]::halfvec::text"),
            "[1.5,2]"
        );
        assert_eq!(text("SELECT '[1.5,2]'::halfvec::real[]::text"), "{1.5,2}");
        // vector → halfvec is implicit: a vector operand meets a halfvec one as halfvec
        // (one exact match beats sparsevec's none).
        assert_eq!(
            float("SELECT l2_distance('[0,0]'::vector, '[3,4]'::halfvec)"),
            5.0
        );
    }

    #[pg_test]
    fn halfvec_distances_and_functions() {
        assert_eq!(float("SELECT l2_distance('[0,0]'::halfvec, '[3,4]')"), 5.0);
        assert_eq!(float("SELECT '[0,0]'::halfvec <-> '[3,4]'"), 5.0);
        assert_eq!(
            float("SELECT halfvec_l2_squared_distance('[0,0]', '[3,4]')"),
            25.0
        );
        assert_eq!(
            float("SELECT inner_product('[1,2]'::halfvec, '[3,4]')"),
            11.0
        );
        assert_eq!(float("SELECT '[1,2]'::halfvec <#> '[3,4]'"), -11.0);
        assert_eq!(
            float("SELECT cosine_distance('[1,2]'::halfvec, '[2,4]')"),
            0.0
        );
        assert_eq!(float("SELECT '[1,0]'::halfvec <=> '[0,2]'"), 1.0);
        assert_eq!(float("SELECT '[1,1]'::halfvec <=> '[-1,-1]'"), 2.0);
        assert!(float("SELECT cosine_distance('[1,2]'::halfvec, '[0,0]')").is_nan());
        assert_eq!(float("SELECT l1_distance('[0,0]'::halfvec, '[3,4]')"), 7.0);
        assert_eq!(float("SELECT '[0,0]'::halfvec <+> '[3,4]'"), 7.0);
        // Half precision: 0.1 is 0.0999755859375, exactly.
        assert_eq!(
            float("SELECT inner_product('[0.1]'::halfvec, '[1]')"),
            0.0999755859375
        );
        assert_eq!(text("SELECT vector_dims('[1,2,3]'::halfvec)::text"), "3");
        assert_eq!(float("SELECT l2_norm('[3,4]'::halfvec)"), 5.0);
        assert_eq!(
            text("SELECT l2_normalize('[3,0,4]'::halfvec)::text"),
            "[0.60009766,0,0.7998047]"
        );
        assert_eq!(text("SELECT l2_normalize('[0,0]'::halfvec)::text"), "[0,0]");
        assert_eq!(
            text("SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3)::text"),
            "[2,3,4]"
        );
    }

    #[pg_test]
    fn halfvec_arithmetic_order_and_aggregates() {
        assert_eq!(
            text("SELECT ('[1,2,3]'::halfvec + '[4,5,6]')::text"),
            "[5,7,9]"
        );
        assert_eq!(
            text("SELECT ('[1,2,3]'::halfvec - '[4,5,6]')::text"),
            "[-3,-3,-3]"
        );
        assert_eq!(
            text("SELECT ('[1,2,3]'::halfvec * '[4,5,6]')::text"),
            "[4,10,18]"
        );
        assert_eq!(text("SELECT ('[1,2]'::halfvec || '[3]')::text"), "[1,2,3]");
        for (query, want) in [
            ("SELECT '[1,2,3]'::halfvec < '[1,2,4]'", true),
            ("SELECT '[1,2,3]'::halfvec <= '[1,2,3]'", true),
            ("SELECT '[1,2,3]'::halfvec = '[1,2,3.0001]'", true),
            ("SELECT '[1,2,3]'::halfvec <> '[1,2]'", true),
            ("SELECT '[1,2]'::halfvec > '[1,2,3]'", false),
            ("SELECT '[2]'::halfvec >= '[1,9]'", true),
        ] {
            assert_eq!(Spi::get_one::<bool>(query).unwrap(), Some(want), "{query}");
        }
        Spi::run(
            "CREATE TABLE t_order (v halfvec); \
             INSERT INTO t_order VALUES ('[1,2,3]'), ('[1,2]'), ('[0,9]'), ('[1,2,3]'); \
             CREATE INDEX ON t_order USING btree (v)",
        )
        .unwrap();
        assert_eq!(
            text("SELECT string_agg(v::text, ';' ORDER BY v) FROM t_order"),
            "[0,9];[1,2];[1,2,3];[1,2,3]"
        );
        assert_eq!(
            text("SELECT avg(v)::text FROM (VALUES ('[1,2,3]'::halfvec), ('[3,5,7]')) t(v)"),
            "[2,3.5,5]"
        );
        assert_eq!(
            text("SELECT sum(v)::text FROM (VALUES ('[1,2,3]'::halfvec), ('[3,5,7]')) t(v)"),
            "[4,7,10]"
        );
        assert_eq!(
            Spi::get_one::<String>("SELECT avg(v)::text FROM t_order WHERE false").unwrap(),
            None
        );
    }

    #[pg_test]
    fn halfvec_errors_in_pgvector_words() {
        let too_many = format!("SELECT '[{}]'::halfvec", vec!["0"; 16001].join(","));
        let cases = [
            ("SELECT '[1,2'::halfvec", "22P02: invalid input syntax for type halfvec: \"[1,2\" | Unexpected end of input."),
            ("SELECT '1,2]'::halfvec", "22P02: invalid input syntax for type halfvec: \"1,2]\" | Vector contents must start with \"[\"."),
            ("SELECT '[1,hello]'::halfvec", "22P02: invalid input syntax for type halfvec: \"[1,hello]\""),
            ("SELECT '[65520]'::halfvec", "22003: \"65520\" is out of range for type halfvec"),
            ("SELECT '[1e39]'::halfvec", "22003: \"1e39\" is out of range for type halfvec"),
            ("SELECT '[NaN]'::halfvec", "22000: NaN not allowed in halfvec"),
            ("SELECT '[-Infinity]'::halfvec", "22000: infinite value not allowed in halfvec"),
            ("SELECT '[]'::halfvec", "22000: halfvec must have at least 1 dimension"),
            (too_many.as_str(), "54000: halfvec cannot have more than 16000 dimensions"),
            ("SELECT '[1,2]'::halfvec(3)", "22000: expected 3 dimensions, not 2"),
            ("SELECT '[1,2]'::halfvec(0)", "22023: dimensions for type halfvec must be at least 1"),
            ("SELECT '[1,2]'::halfvec(16001)", "22023: dimensions for type halfvec cannot exceed 16000"),
            ("SELECT '[1,2]'::halfvec <-> '[1]'", "22000: different halfvec dimensions 2 and 1"),
            ("SELECT '[60000]'::halfvec + '[60000]'", "22003: value out of range: overflow"),
            ("SELECT '[1e-4]'::halfvec * '[1e-4]'", "22003: value out of range: underflow"),
            ("SELECT '[70000]'::vector::halfvec", "22003: \"70000\" is out of range for type halfvec"),
            ("SELECT '{70000}'::real[]::halfvec", "22003: \"70000\" is out of range for type halfvec"),
            ("SELECT '{NaN}'::real[]::halfvec", "22000: NaN not allowed in halfvec"),
            ("SELECT '{{1}}'::real[]::halfvec", "22000: array must be 1-D"),
            ("SELECT '{1,NULL}'::real[]::halfvec", "22004: array must not contain nulls"),
            ("SELECT '{}'::real[]::halfvec", "22000: halfvec must have at least 1 dimension"),
            ("SELECT subvector('[1,2]'::halfvec, 3, 1)", "22000: halfvec must have at least 1 dimension"),
            ("SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[1]')) t(v)", "22000: expected 2 dimensions, not 1"),
            ("SELECT '[1,2]'::halfvec || array_fill(1, ARRAY[15999])::halfvec", "54000: halfvec cannot have more than 16000 dimensions"),
        ];
        assert_errors(&cases, true);
    }
}
