#!/usr/bin/env python3
"""check_layers.py - the layering of core/ holds.

  check_layers.py CORE_DIR [LIBWACORE.a]

1. Includes point down: a file in core/<folder>/ includes headers of its own
   folder or of a lower layer only (http > engine > provider, store > base;
   provider and store do not include each other; main.c may include all).
   Inside store/, a backend folder (sqlite/, mem/, ...) includes store/ and
   itself, never another backend.
2. No circles between files: neither through #include (a header that
   includes itself through others) nor, given the static library, through
   calls or data (an object file that uses a symbol of another that uses one
   of its own, directly or around a longer loop).
3. No file in core/ is longer than 800 lines.
Prints every violation and exits 1, or prints a summary and exits 0.
"""
import os
import re
import subprocess
import sys

RANK = {"base": 0, "store": 1, "provider": 1, "engine": 2, "http": 3, "": 4}
MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder(rel):
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else ""


def backend(rel):
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "store" else ""


def unit(rel):
    return re.sub(r"\.(c|h|h\.in)$", "", rel)


def find_cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    core = sys.argv[1]
    lib = sys.argv[2] if len(sys.argv) > 2 else None
    errors = []
    files = []
    for d, _, names in os.walk(core):
        for n in names:
            if n.endswith((".c", ".h", ".h.in")):
                files.append(os.path.relpath(os.path.join(d, n), core))
    known = {unit(f) for f in files} | {"base/defaults"}
    graph = {}
    n_includes = 0
    for rel in sorted(files):
        src = open(os.path.join(core, rel), encoding="utf-8").read()
        if src.count("\n") > MAX_LINES:
            errors.append(f"{rel}: {src.count(chr(10))} lines, over "
                          f"{MAX_LINES}: split it by responsibility")
        me = folder(rel)
        for inc in INCLUDE.findall(src):
            if "/" not in inc or unit(inc) not in known:
                continue  # the public ABI header, or a system one
            n_includes += 1
            them = folder(inc)
            if me and them != me and RANK[them] >= RANK[me]:
                errors.append(f"{rel}: includes {inc}: layer '{them}' "
                              f"is not below '{me}'")
            if backend(inc) and backend(inc) != backend(rel):
                errors.append(f"{rel}: includes {inc}: another store "
                              "backend's internals")
            graph.setdefault(rel, set()).add(inc)
    for comp in find_cycles(graph):
        errors.append("include circle: " + " -> ".join(comp))

    n_calls = 0
    if lib:
        nm = subprocess.run(["nm", "-A", "--defined-only", "-g", lib],
                            capture_output=True, text=True, check=True).stdout
        owner = {}
        for line in nm.splitlines():
            m = re.match(r"[^:]*:([^:]+)\.c\.o:\s*\S+\s+[TDBRC]\s+(\S+)$",
                         line)
            if m:
                owner[m.group(2)] = m.group(1)
        und = subprocess.run(["nm", "-A", "--undefined-only", lib],
                             capture_output=True, text=True,
                             check=True).stdout
        calls = {}
        for line in und.splitlines():
            m = re.match(r"[^:]*:([^:]+)\.c\.o:\s*U\s+(\S+)$", line)
            if m and m.group(2) in owner and owner[m.group(2)] != m.group(1):
                calls.setdefault(m.group(1), set()).add(owner[m.group(2)])
                n_calls += 1
        for comp in find_cycles(calls):
            errors.append("call circle between object files: " +
                          " -> ".join(comp))

    for e in errors:
        print("layering:", e)
    if errors:
        return 1
    print(f"layering: ok: {len(files)} files, {n_includes} includes between "
          f"core files, {n_calls} calls between object files; no upward "
          "include, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
