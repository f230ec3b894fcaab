#!/usr/bin/env python3
"""Checks a command's JSON Lines output against docs/json.md.

usage: check_json.py DOCS COMMAND EXIT_CODE OUTPUT_FILE

Every line must parse as a JSON object with a `type`; every field must be documented for
that record type and command (or for "all commands"), every non-optional documented
field must be present, types must match the documented type, and the last line must be
the summary, with `exit_code` equal to EXIT_CODE and `exit_error` exactly when it is not
0. Prints one line of problems and exits 1 on the first failure.
"""
import json
import re
import sys

TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array of strings": list,
    "array of integers": list,
    "array of objects": list,
}


def load_docs(path):
    """{(record type, command or '*'): {field: (python type, optional)}}"""
    tables = {}
    current = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^### (\w[\w-]*) \((.+)\)\s*$", line)
        if m:
            cmds = ["*"] if m.group(2) == "all commands" else [c.strip() for c in m.group(2).split(",")]
            current = [(m.group(1), c) for c in cmds]
            for key in current:
                tables.setdefault(key, {})
            continue
        if line.startswith("## "):
            current = None
        m = re.match(r"^\| `([a-z0-9_.]+)` \| ([^|]+) \|", line)
        if m and current:
            kind = m.group(2).strip()
            optional = kind.endswith(", optional")
            kind = kind.replace(", optional", "")
            if kind not in TYPES:
                sys.exit(f"docs: unknown type '{kind}' for field {m.group(1)}")
            for key in current:
                tables[key][m.group(1)] = (TYPES[kind], optional)
    return tables


def main():
    docs, command, exit_code, output = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tables = load_docs(docs)
    lines = open(output, encoding="utf-8").read().splitlines()
    if not lines:
        sys.exit("no JSON output")
    records = []
    for n, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            sys.exit(f"line {n} is not JSON ({e}): {line}")
        if not isinstance(rec, dict) or "type" not in rec:
            sys.exit(f"line {n} is not an object with a type: {line}")
        records.append(rec)
    for n, rec in enumerate(records, 1):
        t = rec["type"]
        documented = {}
        documented.update(tables.get((t, "*"), {}))
        documented.update(tables.get((t, command), {}))
        if not documented:
            sys.exit(f"line {n}: record type '{t}' is not documented for {command}")
        for field, value in rec.items():
            if field not in documented:
                sys.exit(f"line {n}: field '{field}' of {t} ({command}) is not documented")
            want, _ = documented[field]
            if want is int and isinstance(value, bool) or not isinstance(value, want):
                sys.exit(f"line {n}: field '{field}' of {t} ({command}) is {type(value).__name__}: {value!r}")
        failed_summary = t == "summary" and "exit_error" in rec
        for field, (_, optional) in documented.items():
            if optional or field in rec:
                continue
            if failed_summary and (t, "*") in tables and field not in tables[(t, "*")]:
                continue  # a failed run carries only the common fields for sure
            sys.exit(f"line {n}: documented field '{field}' missing from {t} ({command})")
    last = records[-1]
    if last["type"] != "summary":
        sys.exit(f"last line is not the summary: {lines[-1]}")
    if last["exit_code"] != exit_code:
        sys.exit(f"summary exit_code {last['exit_code']} != process exit code {exit_code}")
    if (exit_code != 0 and exit_code != 3) != ("exit_error" in last):
        sys.exit(f"exit_error must be present exactly on failure (exit {exit_code}): {lines[-1]}")
    if sum(r["type"] == "summary" for r in records) != 1:
        sys.exit("more than one summary")
    if "exit_error" in last and not any(r["type"] == "error" for r in records):
        sys.exit("a failing run has no error record")


if __name__ == "__main__":
    main()
