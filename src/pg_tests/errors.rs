//! Every user error of the `vector` type: its SQLSTATE, message and detail, worded as
//! pgvector words it, and never a crash or SQLSTATE XX000.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// `SQLSTATE: message [| detail]`, or `ok`.
    fn error_of(query: &str) -> String {
        crate::pg_tests::support::error_report(query, true)
    }

    #[pg_test]
    fn text_input_errors() {
        let cases = [
            ("SELECT '[1,2'::vector", "22P02: invalid input syntax for type vector: \"[1,2\" | Unexpected end of input."),
            ("SELECT '1,2]'::vector", "22P02: invalid input syntax for type vector: \"1,2]\" | Vector contents must start with \"[\"."),
            ("SELECT '[1,2] x'::vector", "22P02: invalid input syntax for type vector: \"[1,2] x\" | Junk after closing right brace."),
            ("SELECT '[1,hello]'::vector", "22P02: invalid input syntax for type vector: \"[1,hello]\""),
            ("SELECT '[NaN]'::vector", "22000: NaN not allowed in vector"),
            ("SELECT '[1,Infinity]'::vector", "22000: infinite value not allowed in vector"),
            ("SELECT '[-inf]'::vector", "22000: infinite value not allowed in vector"),
            ("SELECT '[1e39]'::vector", "22003: \"1e39\" is out of range for type vector"),
            ("SELECT '[]'::vector", "22000: vector must have at least 1 dimension"),
            ("SELECT '[1,2]'::vector(3)", "22000: expected 3 dimensions, not 2"),
        ];
        crate::pg_tests::support::assert_errors(&cases, true);
        let too_many = format!("SELECT '[{}]'::vector", vec!["0"; 16001].join(","));
        assert_eq!(
            error_of(&too_many),
            "54000: vector cannot have more than 16000 dimensions"
        );
        let max = format!(
            "SELECT vector_dims('[{}]'::vector)",
            vec!["0"; 16000].join(",")
        );
        assert_eq!(Spi::get_one::<i32>(&max).unwrap(), Some(16000));
    }

    #[pg_test]
    fn typmod_errors() {
        let cases = [
            (
                "SELECT '[1]'::vector(0)",
                "22023: dimensions for type vector must be at least 1",
            ),
            (
                "CREATE TABLE e1 (v vector(16001))",
                "22023: dimensions for type vector cannot exceed 16000",
            ),
            (
                "CREATE TABLE e2 (v vector(3, 2))",
                "22023: invalid type modifier",
            ),
            (
                "CREATE TABLE e3 (v vector(3)); INSERT INTO e3 VALUES ('[1,2]')",
                "22000: expected 3 dimensions, not 2",
            ),
            (
                "SELECT ARRAY[1,2]::vector(3)",
                "22000: expected 3 dimensions, not 2",
            ),
            (
                "SELECT '[1,2]'::vector::vector(3)",
                "22000: expected 3 dimensions, not 2",
            ),
        ];
        crate::pg_tests::support::assert_errors(&cases, true);
    }

    #[pg_test]
    fn operator_and_array_errors() {
        let cases = [
            (
                "SELECT '[1,2,3]'::vector <-> '[1,2]'",
                "22000: different vector dimensions 3 and 2",
            ),
            (
                "SELECT '[1,2,3]'::vector <#> '[1,2]'",
                "22000: different vector dimensions 3 and 2",
            ),
            (
                "SELECT '[1,2,3]'::vector <=> '[1,2]'",
                "22000: different vector dimensions 3 and 2",
            ),
            (
                "SELECT '[1,2,3]'::vector <+> '[1,2]'",
                "22000: different vector dimensions 3 and 2",
            ),
            (
                "SELECT '[1,2,3]'::vector + '[1,2]'",
                "22000: different vector dimensions 3 and 2",
            ),
            (
                "SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1]')) t(v)",
                "22000: expected 2 dimensions, not 1",
            ),
            (
                "SELECT '[3e38]'::vector + '[3e38]'",
                "22003: value out of range: overflow",
            ),
            (
                "SELECT '[-3e38]'::vector - '[3e38]'",
                "22003: value out of range: overflow",
            ),
            (
                "SELECT '[3e38]'::vector * '[10]'",
                "22003: value out of range: overflow",
            ),
            (
                "SELECT '[1e-30]'::vector * '[1e-30]'",
                "22003: value out of range: underflow",
            ),
            (
                "SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)",
                "22003: value out of range: overflow",
            ),
            (
                "SELECT subvector('[1,2]'::vector, 3, 1)",
                "22000: vector must have at least 1 dimension",
            ),
            (
                "SELECT ARRAY[[1,2],[3,4]]::vector",
                "22000: array must be 1-D",
            ),
            (
                "SELECT ARRAY[1,NULL]::vector",
                "22004: array must not contain nulls",
            ),
            (
                "SELECT '{}'::real[]::vector",
                "22000: vector must have at least 1 dimension",
            ),
            (
                "SELECT ARRAY['NaN']::real[]::vector",
                "22000: NaN not allowed in vector",
            ),
            (
                "SELECT ARRAY['Infinity']::float8[]::vector",
                "22000: infinite value not allowed in vector",
            ),
            (
                "SELECT array_fill(0, ARRAY[16001])::vector",
                "54000: vector cannot have more than 16000 dimensions",
            ),
        ];
        crate::pg_tests::support::assert_errors(&cases, true);
        let concat = format!("SELECT '[{}]'::vector || '[1]'", vec!["0"; 16000].join(","));
        assert_eq!(
            error_of(&concat),
            "54000: vector cannot have more than 16000 dimensions"
        );
    }

    /// `COPY … FROM` a binary file holding one row with one `typ` column whose field
    /// is `field_hex` (int32 length, then the `vector_send` bytes).
    fn copy_binary(table: &str, typ: &str, field_hex: &str) -> String {
        // PGCOPY signature, flags, header extension length; one tuple of one field;
        // the end-of-data marker.
        let (signature, flags, extension, fields, trailer) = (
            "5047434f50590aff0d0a00",
            "00000000",
            "00000000",
            "0001",
            "ffff",
        );
        let file = format!("{signature}{flags}{extension}{fields}{field_hex}{trailer}");
        Spi::run(&format!("CREATE TABLE {table} (v {typ})")).unwrap();
        let dir = Spi::get_one::<String>("SELECT current_setting('data_directory')")
            .unwrap()
            .unwrap();
        let path = format!("{dir}/{table}.bin");
        // lo_export writes the raw bytes to a server-side file.
        let lo = Spi::get_one::<pg_sys::Oid>(&format!(
            "SELECT lo_from_bytea(0, decode('{file}', 'hex'))"
        ))
        .unwrap()
        .unwrap();
        Spi::run(&format!("SELECT lo_export({}, '{path}')", lo.to_u32())).unwrap();
        error_of(&format!("COPY {table} FROM '{path}' (FORMAT binary)"))
    }

    #[pg_test]
    fn binary_input_errors() {
        let cases = [
            (
                "b_unused",
                "vector",
                "0000000c000200013f8000003f800000",
                "22000: expected unused to be 0, not 1",
            ),
            (
                "b_nan",
                "vector",
                "0000000c000200007fc000003f800000",
                "22000: NaN not allowed in vector",
            ),
            (
                "b_inf",
                "vector",
                "0000000800010000ff800000",
                "22000: infinite value not allowed in vector",
            ),
            (
                "b_dim",
                "vector(2)",
                "00000008000100003f800000",
                "22000: expected 2 dimensions, not 1",
            ),
            (
                "b_zero",
                "vector",
                "0000000400000000",
                "22000: vector must have at least 1 dimension",
            ),
            (
                "b_neg",
                "vector",
                "00000004ffff0000",
                "22000: vector must have at least 1 dimension",
            ),
            (
                "b_short",
                "vector",
                "0000000600020000ffff",
                "08P01: insufficient data left in message",
            ),
            ("b_ok", "vector", "0000000c000200003f800000c0200000", "ok"),
            (
                "h_unused",
                "halfvec",
                "00000008000200013c003c00",
                "22000: expected unused to be 0, not 1",
            ),
            (
                "h_nan",
                "halfvec",
                "0000000800020000fe003c00",
                "22000: NaN not allowed in halfvec",
            ),
            (
                "h_inf",
                "halfvec",
                "0000000600010000fc00",
                "22000: infinite value not allowed in halfvec",
            ),
            (
                "h_dim",
                "halfvec(2)",
                "00000006000100003c00",
                "22000: expected 2 dimensions, not 1",
            ),
            (
                "h_zero",
                "halfvec",
                "0000000400000000",
                "22000: halfvec must have at least 1 dimension",
            ),
            (
                "h_short",
                "halfvec",
                "00000006000200003c00",
                "08P01: insufficient data left in message",
            ),
            ("h_ok", "halfvec", "00000008000200003c00c100", "ok"),
            (
                "s_dim",
                "sparsevec",
                "0000000c000000000000000000000000",
                "22000: sparsevec must have at least 1 dimension",
            ),
            (
                "s_neg",
                "sparsevec",
                "0000000c00000005ffffffff00000000",
                "22000: sparsevec cannot have negative number of elements",
            ),
            (
                "s_nnz",
                "sparsevec",
                "0000000c0000000500003e8100000000",
                "54000: sparsevec cannot have more than 16000 non-zero elements",
            ),
            (
                "s_over",
                "sparsevec",
                "0000000c000000050000000600000000",
                "54000: sparsevec cannot have more elements than dimensions",
            ),
            (
                "s_typmod",
                "sparsevec(4)",
                "00000014000000050000000100000000000000003fc00000",
                "22000: expected 4 dimensions, not 5",
            ),
            (
                "s_unused",
                "sparsevec",
                "00000014000000050000000100000003000000003fc00000",
                "22000: expected unused to be 0, not 3",
            ),
            (
                "s_bounds",
                "sparsevec",
                "00000014000000050000000100000000000000053fc00000",
                "22000: sparsevec index out of bounds",
            ),
            (
                "s_order",
                "sparsevec",
                "0000001c00000005000000020000000000000003000000013fc000003fc00000",
                "22000: sparsevec indices must be in ascending order",
            ),
            (
                "s_dup",
                "sparsevec",
                "0000001c00000005000000020000000000000001000000013fc000003fc00000",
                "22000: sparsevec indices must not contain duplicates",
            ),
            (
                "s_zero",
                "sparsevec",
                "000000140000000500000001000000000000000100000000",
                "22000: binary representation of sparsevec cannot contain zero values",
            ),
            (
                "s_nan",
                "sparsevec",
                "00000014000000050000000100000000000000017fc00000",
                "22000: NaN not allowed in sparsevec",
            ),
            (
                "s_short",
                "sparsevec",
                "0000001000000005000000010000000000000001",
                "08P01: insufficient data left in message",
            ),
            (
                "s_header",
                "sparsevec",
                "000000080000000000000000",
                "08P01: insufficient data left in message",
            ),
            (
                "s_ok",
                "sparsevec",
                "00000014000000050000000100000000000000043fc00000",
                "ok",
            ),
        ];
        for (table, typ, field, expected) in cases {
            assert_eq!(copy_binary(table, typ, field), expected, "{table}");
        }
        assert_eq!(
            Spi::get_one::<String>("SELECT v::text FROM b_ok")
                .unwrap()
                .unwrap(),
            "[1,-2.5]"
        );
        assert_eq!(
            Spi::get_one::<String>("SELECT v::text FROM h_ok")
                .unwrap()
                .unwrap(),
            "[1,-2.5]"
        );
        assert_eq!(
            Spi::get_one::<String>("SELECT v::text FROM s_ok")
                .unwrap()
                .unwrap(),
            "{5:1.5}/5"
        );
    }
}
