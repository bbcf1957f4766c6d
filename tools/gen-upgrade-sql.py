#!/usr/bin/env python3
"""Writes sql/pgvec_hnsw--0.1.0--0.2.0.sql from the install script of 0.2.0.

The update must create exactly what a fresh install of 0.2.0 creates beyond 0.1.0
(tests/upgrade.sh compares the two). Rather than keep a second hand-written copy,
this takes the new objects from the install script pgrx generates:

    cargo pgrx schema pg15 --out /tmp/schema.sql
    python3 tools/gen-upgrade-sql.py /tmp/schema.sql           # rewrite the file
    python3 tools/gen-upgrade-sql.py --check /tmp/schema.sql   # exit 1 if it differs

It keeps the header comment of the existing script (every line up to the first
blank line), then writes the shell types of sql/bootstrap.sql that 0.1.0 did not
have, every function pgrx generated whose C symbol 0.1.0's install script
(tests/upgrade/) does not have, and the part of sql/finalize.sql from the line
FINALIZE_FROM on (the new types' definitions, operators, classes and casts).
"""
import pathlib
import re
import sys

FINALIZE_FROM = "-- The `halfvec` type"

repo = pathlib.Path(__file__).resolve().parent.parent
target = repo / "sql" / "pgvec_hnsw--0.1.0--0.2.0.sql"
previous = (repo / "tests" / "upgrade" / "pgvec_hnsw--0.1.0.sql").read_text()
check = sys.argv[1] == "--check"
schema = pathlib.Path(sys.argv[-1]).read_text()

old_symbols = set(re.findall(r"'MODULE_PATHNAME', '(\w+)'", previous))
old_types = set(re.findall(r"^CREATE TYPE (\w+);", previous, re.M))
shells = [
    t
    for t in re.findall(r"^CREATE TYPE (\w+);", (repo / "sql" / "bootstrap.sql").read_text(), re.M)
    if t not in old_types
]

blocks = re.findall(
    r"/\* <begin connected objects> \*/\n(.*?)/\* </end connected objects> \*/", schema, re.S
)
functions = []
for block in blocks:
    lines = block.strip("\n").split("\n")
    symbols = set(re.findall(r"'MODULE_PATHNAME', '(\w+)'", block))
    if not symbols or symbols <= old_symbols:
        continue
    # pgrx starts each function block with `-- FILE:LINE` and `-- rust::path`.
    if not (re.match(r"-- src/\S+:\d+$", lines[0]) and lines[1].startswith("-- pgvec_hnsw::")):
        sys.exit(f"unexpected block header: {lines[:2]}")
    # The Rust type pgrx notes after each SQL type, as a comment ending the line.
    body = [re.sub(r"\s*/\*.*\*/$", "", line).rstrip() for line in lines[2:] if line.strip()]
    functions.append("\n".join(body))
if not functions:
    sys.exit(f"no new functions in {sys.argv[-1]}")

finalize = (repo / "sql" / "finalize.sql").read_text()
header = target.read_text().split("\n\n", 1)[0]
text = (
    header + "\n\n" + "\n".join(f"CREATE TYPE {t};" for t in shells) + "\n\n"
    + "\n\n".join(functions) + "\n\n" + finalize[finalize.index(FINALIZE_FROM):]
)
if check:
    same = target.read_text() == text
    print(f"{target.relative_to(repo)}: {'up to date' if same else 'differs from the install script'}")
    sys.exit(0 if same else 1)
target.write_text(text)
print(f"{target.relative_to(repo)}: {len(shells)} shell types, {len(functions)} function blocks")
