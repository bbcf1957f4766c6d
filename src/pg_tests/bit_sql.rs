//! Distances on `bit(n)` and `binary_quantize`: exact values, pgvector's errors.

#[pgrx::pg_schema]
mod tests {
    use crate::pg_tests::support::{assert_errors, float, one, text};
    use pgrx::prelude::*;

    #[pg_test]
    fn bit_distances() {
        assert_eq!(float("SELECT hamming_distance(B'111', B'001')"), 2.0);
        assert_eq!(float("SELECT B'111' <~> B'001'"), 2.0);
        assert_eq!(float("SELECT B'1010101010' <~> B'0101010101'"), 10.0);
        assert_eq!(float("SELECT jaccard_distance(B'1111', B'0011')"), 0.5);
        assert_eq!(float("SELECT B'1100' <%> B'0110'"), 1.0 - 1.0 / 3.0);
        assert_eq!(float("SELECT B'0000' <%> B'0000'"), 1.0);
        assert_eq!(float("SELECT B'1000' <%> B'1000'"), 0.0);
        // Across a 64-bit word and a tail byte.
        let a = "'".to_owned() + &"10".repeat(40) + "'::bit(80)";
        let b = "'".to_owned() + &"11".repeat(40) + "'::bit(80)";
        assert_eq!(float(&format!("SELECT {a} <~> {b}")), 40.0);
        assert_eq!(float(&format!("SELECT {a} <%> {b}")), 0.5);
        // Empty strings: no bit differs, none is shared (pgvector's answers).
        assert_eq!(float("SELECT B'' <~> B''"), 0.0);
        assert_eq!(float("SELECT B'' <%> B''"), 1.0);
        assert_errors(
            &[
                (
                    "SELECT B'' <~> B'1'",
                    "22000: different bit lengths 0 and 1",
                ),
                (
                    "SELECT B'111' <~> B'11'",
                    "22000: different bit lengths 3 and 2",
                ),
                (
                    "SELECT jaccard_distance(B'1', B'11')",
                    "22000: different bit lengths 1 and 2",
                ),
            ],
            true,
        );
    }

    /// Values read from a table: short varlena headers, `varbit`, and a compressed
    /// `bit(100000)`, all detoasted before they are measured.
    #[pg_test]
    fn bit_distances_on_stored_values() {
        Spi::run(
            "CREATE TABLE t_bits (id int, a bit(8), b varbit, big bit(100000)); \
             INSERT INTO t_bits VALUES \
                 (1, B'10101010', B'11110000', repeat('10', 50000)::bit(100000)), \
                 (2, B'00000000', B'11111111', repeat('1100', 25000)::bit(100000))",
        )
        .unwrap();
        assert_eq!(
            text("SELECT string_agg((a <~> b)::text || '/' || (a <%> b)::text, ',' ORDER BY id) FROM t_bits"),
            "4/0.6666666666666667,8/1"
        );
        assert!(
            one::<i32>("SELECT max(pg_column_size(big)) FROM t_bits") < 12_500,
            "compressed"
        );
        let pair = "(SELECT big FROM t_bits WHERE id = 1), (SELECT big FROM t_bits WHERE id = 2)";
        assert_eq!(float(&format!("SELECT hamming_distance({pair})")), 50_000.0);
        // Per 4 bits, 1010 and 1100 share one of three set positions.
        assert!((float(&format!("SELECT jaccard_distance({pair})")) - 2.0 / 3.0).abs() < 1e-12);
    }

    #[pg_test]
    fn binary_quantize_sets_positive_dimensions() {
        assert_eq!(
            text("SELECT binary_quantize('[1,0,-1,2.5,-0.1,3,0.001,-7,9]'::vector)::text"),
            "100101101"
        );
        assert_eq!(
            text("SELECT binary_quantize('[1,0,-1,2.5]'::halfvec)::text"),
            "1001"
        );
        // Tiny positive values that round to 0 as halves are not positive any more.
        assert_eq!(
            text("SELECT binary_quantize('[1e-8,1]'::halfvec)::text"),
            "01"
        );
        assert_eq!(
            text("SELECT length(binary_quantize(array_fill(1, ARRAY[3072])::vector))::text"),
            "3072"
        );
        assert_eq!(
            float("SELECT binary_quantize('[1,-1,1]'::vector) <~> binary_quantize('[1,1,-1]'::vector)"),
            2.0
        );
        assert_eq!(
            text("SELECT binary_quantize('[1,-1,1]'::vector)::bit(3)::text"),
            "101"
        );
    }
}
