-- pgvec_hnsw 0.1.0 -> 0.2.0 (ALTER EXTENSION pgvec_hnsw UPDATE).
--
-- 0.2.0 builds for PostgreSQL 13 to 18 and adds pgvector's `halfvec` and `sparsevec`
-- types, the Hamming and Jaccard distances on `bit`, `binary_quantize` and the hnsw
-- operator classes of halfvec, bit and sparsevec. No object of 0.1.0
-- changes, but a call with untyped literals only (`l2_distance('[0,0]', '[3,4]')`)
-- now also matches the halfvec overload and is ambiguous, as in pgvector.
-- The statements below are those of the 0.2.0 install script that create the new
-- objects (the functions as pgrx generates them, then the halfvec, bit and sparsevec
-- sections of sql/finalize.sql), written by tools/gen-upgrade-sql.py; tests/upgrade.sh compares
-- an updated database with a fresh one. Indexes built under 0.1.0 keep working: their
-- on-disk format (version 1) is unchanged, and 0.2.0 says version 2 only of indexes
-- whose elements are longer than a page.

CREATE TYPE halfvec;
CREATE TYPE sparsevec;

CREATE FUNCTION array_to_halfvec(integer[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_halfvec_wrapper';
CREATE FUNCTION array_to_halfvec(real[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_halfvec_wrapper';
CREATE FUNCTION array_to_halfvec(double precision[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_halfvec_wrapper';
CREATE FUNCTION array_to_halfvec(numeric[], integer, boolean) RETURNS halfvec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_halfvec_wrapper';

CREATE FUNCTION array_to_sparsevec(integer[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_sparsevec_wrapper';
CREATE FUNCTION array_to_sparsevec(real[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_sparsevec_wrapper';
CREATE FUNCTION array_to_sparsevec(double precision[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_sparsevec_wrapper';
CREATE FUNCTION array_to_sparsevec(numeric[], integer, boolean) RETURNS sparsevec
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'array_to_sparsevec_wrapper';

CREATE  FUNCTION "binary_quantize"(
	"v" halfvec
) RETURNS bit
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_binary_quantize_wrapper';

CREATE  FUNCTION "binary_quantize"(
	"v" vector
) RETURNS bit
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'vector_binary_quantize_wrapper';

CREATE  FUNCTION "cosine_distance"(
	"a" halfvec,
	"b" halfvec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_cosine_distance_wrapper';

CREATE  FUNCTION "cosine_distance"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_cosine_distance_wrapper';

CREATE  FUNCTION "halfvec"(
	"v" halfvec,
	"typmod" INT,
	"_explicit" bool
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_coerce_wrapper';

CREATE  FUNCTION "halfvec_accum"(
	"state_in" double precision[],
	"v" halfvec
) RETURNS double precision[]
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_accum_wrapper';

CREATE  FUNCTION "halfvec_add"(
	"a" halfvec,
	"b" halfvec
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_add_wrapper';

CREATE  FUNCTION "halfvec_avg"(
	"state_in" double precision[]
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_avg_wrapper';

CREATE  FUNCTION "halfvec_cmp"(
	"a" halfvec,
	"b" halfvec
) RETURNS INT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_cmp_wrapper';

CREATE  FUNCTION "halfvec_combine"(
	"a" double precision[],
	"b" double precision[]
) RETURNS double precision[]
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_combine_wrapper';

CREATE  FUNCTION "halfvec_concat"(
	"a" halfvec,
	"b" halfvec
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_concat_wrapper';

CREATE  FUNCTION "halfvec_eq"(
	"a" halfvec,
	"b" halfvec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_eq_wrapper';

CREATE  FUNCTION "halfvec_ge"(
	"a" halfvec,
	"b" halfvec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_ge_wrapper';

CREATE  FUNCTION "halfvec_gt"(
	"a" halfvec,
	"b" halfvec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_gt_wrapper';

CREATE  FUNCTION "halfvec_in"(
	"input" cstring,
	"_typoid" oid,
	"typmod" INT
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_in_wrapper';

CREATE  FUNCTION "halfvec_l2_squared_distance"(
	"a" halfvec,
	"b" halfvec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_l2_squared_distance_wrapper';

CREATE  FUNCTION "halfvec_le"(
	"a" halfvec,
	"b" halfvec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_le_wrapper';

CREATE  FUNCTION "halfvec_lt"(
	"a" halfvec,
	"b" halfvec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_lt_wrapper';

CREATE  FUNCTION "halfvec_mul"(
	"a" halfvec,
	"b" halfvec
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_mul_wrapper';

CREATE  FUNCTION "halfvec_ne"(
	"a" halfvec,
	"b" halfvec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_ne_wrapper';

CREATE  FUNCTION "halfvec_negative_inner_product"(
	"a" halfvec,
	"b" halfvec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_negative_inner_product_wrapper';

CREATE  FUNCTION "halfvec_out"(
	"v" halfvec
) RETURNS cstring
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_out_wrapper';

CREATE  FUNCTION "halfvec_recv"(
	"buf" internal,
	"_typoid" oid,
	"typmod" INT
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_recv_wrapper';

CREATE  FUNCTION "halfvec_send"(
	"v" halfvec
) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_send_wrapper';

CREATE  FUNCTION "halfvec_sub"(
	"a" halfvec,
	"b" halfvec
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_sub_wrapper';

CREATE  FUNCTION "halfvec_to_float4"(
	"v" halfvec,
	"_typmod" INT,
	"_explicit" bool
) RETURNS real[]
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_to_float4_wrapper';

CREATE  FUNCTION "halfvec_to_sparsevec"(
	"v" halfvec,
	"typmod" INT,
	"_explicit" bool
) RETURNS sparsevec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_to_sparsevec_wrapper';

CREATE  FUNCTION "halfvec_to_vector"(
	"v" halfvec,
	"typmod" INT,
	"_explicit" bool
) RETURNS vector
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_to_vector_wrapper';

CREATE  FUNCTION "halfvec_typmod_in"(
	"list" cstring[]
) RETURNS INT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_typmod_in_wrapper';

CREATE  FUNCTION "hamming_distance"(
	"a" bit,
	"b" bit
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'hamming_distance_wrapper';

CREATE  FUNCTION "inner_product"(
	"a" halfvec,
	"b" halfvec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_inner_product_wrapper';

CREATE  FUNCTION "inner_product"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_inner_product_wrapper';

CREATE  FUNCTION "jaccard_distance"(
	"a" bit,
	"b" bit
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'jaccard_distance_wrapper';

CREATE  FUNCTION "l1_distance"(
	"a" halfvec,
	"b" halfvec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_l1_distance_wrapper';

CREATE  FUNCTION "l1_distance"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_l1_distance_wrapper';

CREATE  FUNCTION "l2_distance"(
	"a" halfvec,
	"b" halfvec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_l2_distance_wrapper';

CREATE  FUNCTION "l2_distance"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_l2_distance_wrapper';

CREATE  FUNCTION "l2_norm"(
	"v" halfvec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_l2_norm_wrapper';

CREATE  FUNCTION "l2_norm"(
	"v" sparsevec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_l2_norm_wrapper';

CREATE  FUNCTION "l2_normalize"(
	"v" halfvec
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_l2_normalize_wrapper';

CREATE  FUNCTION "l2_normalize"(
	"v" sparsevec
) RETURNS sparsevec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_l2_normalize_wrapper';

CREATE  FUNCTION "sparsevec"(
	"v" sparsevec,
	"typmod" INT,
	"_explicit" bool
) RETURNS sparsevec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_coerce_wrapper';

CREATE  FUNCTION "sparsevec_cmp"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS INT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_cmp_wrapper';

CREATE  FUNCTION "sparsevec_eq"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_eq_wrapper';

CREATE  FUNCTION "sparsevec_ge"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_ge_wrapper';

CREATE  FUNCTION "sparsevec_gt"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_gt_wrapper';

CREATE  FUNCTION "sparsevec_in"(
	"input" cstring,
	"_typoid" oid,
	"typmod" INT
) RETURNS sparsevec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_in_wrapper';

CREATE  FUNCTION "sparsevec_l2_squared_distance"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_l2_squared_distance_wrapper';

CREATE  FUNCTION "sparsevec_le"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_le_wrapper';

CREATE  FUNCTION "sparsevec_lt"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_lt_wrapper';

CREATE  FUNCTION "sparsevec_ne"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_ne_wrapper';

CREATE  FUNCTION "sparsevec_negative_inner_product"(
	"a" sparsevec,
	"b" sparsevec
) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_negative_inner_product_wrapper';

CREATE  FUNCTION "sparsevec_out"(
	"v" sparsevec
) RETURNS cstring
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_out_wrapper';

CREATE  FUNCTION "sparsevec_recv"(
	"buf" internal,
	"_typoid" oid,
	"typmod" INT
) RETURNS sparsevec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_recv_wrapper';

CREATE  FUNCTION "sparsevec_send"(
	"v" sparsevec
) RETURNS bytea
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_send_wrapper';

CREATE  FUNCTION "sparsevec_to_halfvec"(
	"v" sparsevec,
	"typmod" INT,
	"_explicit" bool
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_to_halfvec_wrapper';

CREATE  FUNCTION "sparsevec_to_vector"(
	"v" sparsevec,
	"typmod" INT,
	"_explicit" bool
) RETURNS vector
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_to_vector_wrapper';

CREATE  FUNCTION "sparsevec_typmod_in"(
	"list" cstring[]
) RETURNS INT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'sparsevec_typmod_in_wrapper';

CREATE  FUNCTION "subvector"(
	"v" halfvec,
	"start" INT,
	"count" INT
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_subvector_wrapper';

CREATE  FUNCTION "vector_dims"(
	"v" halfvec
) RETURNS INT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'halfvec_vector_dims_wrapper';

CREATE  FUNCTION "vector_to_halfvec"(
	"v" vector,
	"typmod" INT,
	"_explicit" bool
) RETURNS halfvec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'vector_to_halfvec_wrapper';

CREATE  FUNCTION "vector_to_sparsevec"(
	"v" vector,
	"typmod" INT,
	"_explicit" bool
) RETURNS sparsevec
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'vector_to_sparsevec_wrapper';

-- The `halfvec` type (IEEE binary16 elements), with pgvector's operators, operator
-- class, aggregates and casts.
CREATE TYPE halfvec (
    INPUT = halfvec_in,
    OUTPUT = halfvec_out,
    TYPMOD_IN = halfvec_typmod_in,
    RECEIVE = halfvec_recv,
    SEND = halfvec_send,
    STORAGE = external
);

CREATE OPERATOR <-> (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = l2_distance, COMMUTATOR = '<->'
);
CREATE OPERATOR <#> (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_negative_inner_product,
    COMMUTATOR = '<#>'
);
CREATE OPERATOR <=> (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = cosine_distance, COMMUTATOR = '<=>'
);
CREATE OPERATOR <+> (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = l1_distance, COMMUTATOR = '<+>'
);

CREATE OPERATOR + (LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_add, COMMUTATOR = +);
CREATE OPERATOR - (LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_sub);
CREATE OPERATOR * (LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_mul, COMMUTATOR = *);
CREATE OPERATOR || (LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_concat);

CREATE OPERATOR < (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR = (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR <> (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR >= (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR > (
    LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS halfvec_ops DEFAULT FOR TYPE halfvec USING btree AS
    OPERATOR 1 <,
    OPERATOR 2 <=,
    OPERATOR 3 =,
    OPERATOR 4 >=,
    OPERATOR 5 >,
    FUNCTION 1 halfvec_cmp(halfvec, halfvec);

CREATE AGGREGATE avg(halfvec) (
    SFUNC = halfvec_accum, STYPE = double precision[], FINALFUNC = halfvec_avg,
    COMBINEFUNC = halfvec_combine, INITCOND = '{0}', PARALLEL = SAFE
);
CREATE AGGREGATE sum(halfvec) (
    SFUNC = halfvec_add, STYPE = halfvec, COMBINEFUNC = halfvec_add, PARALLEL = SAFE
);

CREATE CAST (halfvec AS halfvec)
    WITH FUNCTION halfvec(halfvec, integer, boolean) AS IMPLICIT;
CREATE CAST (halfvec AS vector)
    WITH FUNCTION halfvec_to_vector(halfvec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (vector AS halfvec)
    WITH FUNCTION vector_to_halfvec(vector, integer, boolean) AS IMPLICIT;
CREATE CAST (halfvec AS real[])
    WITH FUNCTION halfvec_to_float4(halfvec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (integer[] AS halfvec)
    WITH FUNCTION array_to_halfvec(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS halfvec)
    WITH FUNCTION array_to_halfvec(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS halfvec)
    WITH FUNCTION array_to_halfvec(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS halfvec)
    WITH FUNCTION array_to_halfvec(numeric[], integer, boolean) AS ASSIGNMENT;

-- Distances on PostgreSQL's `bit(n)`.
CREATE OPERATOR <~> (
    LEFTARG = bit, RIGHTARG = bit, FUNCTION = hamming_distance, COMMUTATOR = '<~>'
);
CREATE OPERATOR <%> (
    LEFTARG = bit, RIGHTARG = bit, FUNCTION = jaccard_distance, COMMUTATOR = '<%>'
);

-- hnsw operator classes of halfvec (stored as binary16 in the index) and bit, under
-- pgvector's names; the metric is read from the type and support function 1.
CREATE OPERATOR CLASS halfvec_l2_ops FOR TYPE halfvec USING hnsw AS
    OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 halfvec_l2_squared_distance(halfvec, halfvec);
CREATE OPERATOR CLASS halfvec_ip_ops FOR TYPE halfvec USING hnsw AS
    OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec);
CREATE OPERATOR CLASS halfvec_cosine_ops FOR TYPE halfvec USING hnsw AS
    OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec),
    FUNCTION 2 l2_norm(halfvec);
CREATE OPERATOR CLASS halfvec_l1_ops FOR TYPE halfvec USING hnsw AS
    OPERATOR 1 <+> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 l1_distance(halfvec, halfvec);
CREATE OPERATOR CLASS bit_hamming_ops FOR TYPE bit USING hnsw AS
    OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
    FUNCTION 1 hamming_distance(bit, bit);
CREATE OPERATOR CLASS bit_jaccard_ops FOR TYPE bit USING hnsw AS
    OPERATOR 1 <%> (bit, bit) FOR ORDER BY float_ops,
    FUNCTION 1 jaccard_distance(bit, bit);

-- The `sparsevec` type (sorted indices and their non-zero values), with pgvector's
-- operators, operator class and casts.
CREATE TYPE sparsevec (
    INPUT = sparsevec_in,
    OUTPUT = sparsevec_out,
    TYPMOD_IN = sparsevec_typmod_in,
    RECEIVE = sparsevec_recv,
    SEND = sparsevec_send,
    STORAGE = external
);

CREATE OPERATOR <-> (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = l2_distance, COMMUTATOR = '<->'
);
CREATE OPERATOR <#> (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_negative_inner_product,
    COMMUTATOR = '<#>'
);
CREATE OPERATOR <=> (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = cosine_distance, COMMUTATOR = '<=>'
);
CREATE OPERATOR <+> (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = l1_distance, COMMUTATOR = '<+>'
);

CREATE OPERATOR < (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR = (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR <> (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR >= (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR > (
    LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS sparsevec_ops DEFAULT FOR TYPE sparsevec USING btree AS
    OPERATOR 1 <,
    OPERATOR 2 <=,
    OPERATOR 3 =,
    OPERATOR 4 >=,
    OPERATOR 5 >,
    FUNCTION 1 sparsevec_cmp(sparsevec, sparsevec);

CREATE CAST (sparsevec AS sparsevec)
    WITH FUNCTION sparsevec(sparsevec, integer, boolean) AS IMPLICIT;
CREATE CAST (sparsevec AS vector)
    WITH FUNCTION sparsevec_to_vector(sparsevec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (vector AS sparsevec)
    WITH FUNCTION vector_to_sparsevec(vector, integer, boolean) AS IMPLICIT;
CREATE CAST (sparsevec AS halfvec)
    WITH FUNCTION sparsevec_to_halfvec(sparsevec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (halfvec AS sparsevec)
    WITH FUNCTION halfvec_to_sparsevec(halfvec, integer, boolean) AS IMPLICIT;
CREATE CAST (integer[] AS sparsevec)
    WITH FUNCTION array_to_sparsevec(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS sparsevec)
    WITH FUNCTION array_to_sparsevec(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS sparsevec)
    WITH FUNCTION array_to_sparsevec(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS sparsevec)
    WITH FUNCTION array_to_sparsevec(numeric[], integer, boolean) AS ASSIGNMENT;

-- hnsw operator classes of sparsevec (at most 1000 non-zero elements per indexed
-- row, as in pgvector), under pgvector's names.
CREATE OPERATOR CLASS sparsevec_l2_ops FOR TYPE sparsevec USING hnsw AS
    OPERATOR 1 <-> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 sparsevec_l2_squared_distance(sparsevec, sparsevec);
CREATE OPERATOR CLASS sparsevec_ip_ops FOR TYPE sparsevec USING hnsw AS
    OPERATOR 1 <#> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 sparsevec_negative_inner_product(sparsevec, sparsevec);
CREATE OPERATOR CLASS sparsevec_cosine_ops FOR TYPE sparsevec USING hnsw AS
    OPERATOR 1 <=> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 sparsevec_negative_inner_product(sparsevec, sparsevec),
    FUNCTION 2 l2_norm(sparsevec);
CREATE OPERATOR CLASS sparsevec_l1_ops FOR TYPE sparsevec USING hnsw AS
    OPERATOR 1 <+> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 l1_distance(sparsevec, sparsevec);
