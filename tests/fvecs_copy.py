#!/usr/bin/env python3
"""Prints the first ROWS vectors of an .fvecs file as COPY text rows `id<TAB>[x,...]`
(ids from 0), for psql's \\copy. Standard library only, so the shell tests need no
virtualenv. Usage: fvecs_copy.py FILE ROWS"""
import struct
import sys


def main():
    path, rows = sys.argv[1], int(sys.argv[2])
    out = sys.stdout
    with open(path, "rb") as f:
        for i in range(rows):
            head = f.read(4)
            if len(head) < 4:
                break
            (dim,) = struct.unpack("<i", head)
            values = struct.unpack(f"<{dim}f", f.read(4 * dim))
            out.write(f"{i}\t[{','.join(repr(v) for v in values)}]\n")


if __name__ == "__main__":
    main()
