#!/usr/bin/env python3
"""Writes the PTX of a gpu.binary (format=isa) from hymir-opt's output.

Usage: extract_ptx.py IN.mlir OUT.ptx
MLIR prints the assembly as a string attribute with non-printable bytes,
quotes and backslashes as \\XX hex escapes; this undoes them.
"""
import re
import sys


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    m = re.search(r'assembly = "((?:[^"\\]|\\[0-9A-Fa-f]{2})*)"', text)
    if not m:
        sys.exit(f"extract_ptx: no gpu.object assembly in {sys.argv[1]}")
    ptx = re.sub(r"\\([0-9A-Fa-f]{2})", lambda e: chr(int(e.group(1), 16)), m.group(1))
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write(ptx)


if __name__ == "__main__":
    main()
