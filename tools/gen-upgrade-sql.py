#!/usr/bin/env python3
"""Writes the body of sql/pgvec_hnsw--0.1.0--0.2.0.sql from the install script.

The update must create exactly what a fresh install of 0.2.0 creates beyond 0.1.0
(tests/upgrade.sh compares the two). Rather than keep a second hand-written copy,
this takes the objects from the install script pgrx generates:

    cargo pgrx schema pg15 --out /tmp/schema.sql
    python3 tools/gen-upgrade-sql.py /tmp/schema.sql

It keeps the header comment of the existing script (every line up to the first
blank line), then writes the shell types, the functions pgrx generated from the
source folders in NEW_SOURCES, and the part of sql/finalize.sql from the line
FINALIZE_FROM on (the new types' definitions, operators, classes and casts).
"""
import pathlib
import re
import sys

NEW_SOURCES = ("src/types/halfvec/", "src/types/bit/")
SHELL_TYPES = ("halfvec",)
FINALIZE_FROM = "-- The `halfvec` type"

repo = pathlib.Path(__file__).resolve().parent.parent
target = repo / "sql" / "pgvec_hnsw--0.1.0--0.2.0.sql"
schema = pathlib.Path(sys.argv[1]).read_text()

blocks = re.findall(
    r"/\* <begin connected objects> \*/\n(.*?)/\* </end connected objects> \*/", schema, re.S
)
functions = []
for block in blocks:
    lines = block.strip("\n").split("\n")
    # pgrx starts each block with `-- FILE:LINE` and `-- rust::path`.
    if not lines[0].startswith(tuple("-- " + s for s in NEW_SOURCES)):
        continue
    body = [re.sub(r"\s*/\*.*?\*/", "", line).rstrip() for line in lines[2:] if line.strip()]
    functions.append("\n".join(body))
if not functions:
    sys.exit(f"no functions from {NEW_SOURCES} in {sys.argv[1]}")

finalize = (repo / "sql" / "finalize.sql").read_text()
header = target.read_text().split("\n\n", 1)[0]
shells = "\n".join(f"CREATE TYPE {t};" for t in SHELL_TYPES)
target.write_text(
    header + "\n\n" + shells + "\n\n" + "\n\n".join(functions) + "\n\n"
    + finalize[finalize.index(FINALIZE_FROM):]
)
print(f"{target.relative_to(repo)}: {len(functions)} function blocks")
