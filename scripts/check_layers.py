#!/usr/bin/env python3
"""Checks the shared crate's layers and the size of every source file.

The layers are read from the doc comment of shared/src/lib.rs (a numbered list of
backquoted module names, lowest first). For every module file but the unit tests
(`*_test.rs`), each `crate::<module>` it names must be in its own layer or below, and the
modules' imports must form no loop. Every file under shared/src, testkit/src and
functions/*/src must stay under MAX_LINES. Exits 1 naming each breach.
"""
import pathlib
import re
import sys

MAX_LINES = 600
ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT / "shared" / "src"


def layers():
    text = (SHARED / "lib.rs").read_text()
    doc = "\n".join(l[4:] for l in text.splitlines() if l.startswith("//! "))
    section = doc.split("# Layers", 1)[1]
    order, current = {}, None
    for line in section.splitlines():
        m = re.match(r"\s*(\d+)\. ", line)
        if m:
            current = int(m.group(1))
        elif not line.startswith("   "):
            current = None
        if current is not None:
            for name in re.findall(r"`([a-z_]+)`", line.split(":", 1)[-1]):
                order[name] = current
    return order


STRING = re.compile(r'r(#*)"(?:.|\n)*?"\1|"(?:\\.|[^"\\])*"' + r"|'(?:\\.|[^'\\])'")
COMMENT = re.compile(r"//[^\n]*|/\*(?:.|\n)*?\*/")


def code_of(path):
    """The file's code with string and char literals emptied and comments removed."""
    code = STRING.sub('""', path.read_text())
    return re.sub(r"\s*::\s*", "::", COMMENT.sub("", code))


def group_heads(code, start):
    """The first name of each path in the `{...}` group opening at `start`."""
    heads, depth, expect = [], 0, True
    for m in re.finditer(r"[{},]|\w+", code[start:]):
        token = m.group()
        if token == "{":
            depth += 1
            expect = depth == 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                break
        elif token == ",":
            expect = depth == 1
        elif expect:
            heads.append(token)
            expect = False
    return heads


def imports(path):
    """The top-level modules of the shared crate a file names: `crate::` paths and groups,
    and `super::` paths that climb to the crate root."""
    code = code_of(path)
    names = set()
    for m in re.finditer(r"\bcrate::(\{|\w+)", code):
        if m.group(1) == "{":
            names.update(group_heads(code, m.start(1)))
        else:
            names.add(m.group(1))
    here = list(path.relative_to(SHARED).with_suffix("").parts)
    if here[-1] == "mod":
        here = here[:-1]
    for m in re.finditer(r"\b((?:super::)+)(\{|\w+)", code):
        base = here[: len(here) - m.group(1).count("super::")]
        if base:
            continue  # still inside its own top-level module
        if m.group(2) == "{":
            names.update(group_heads(code, m.start(2)))
        else:
            names.add(m.group(2))
    return names


def main():
    problems = []
    order = layers()
    modules = {p.stem for p in SHARED.glob("*.rs") if p.stem != "lib" and not p.stem.endswith("_test")}
    modules |= {p.name for p in SHARED.iterdir() if p.is_dir()}
    for missing in sorted(modules - order.keys()):
        problems.append(f"shared/src/lib.rs: module `{missing}` is in no layer")
    graph = {m: set() for m in modules}
    for path in sorted(SHARED.rglob("*.rs")):
        if path.name == "lib.rs" or path.stem.endswith("_test"):
            continue
        top = path.relative_to(SHARED).parts[0].removesuffix(".rs")
        for name in imports(path) & modules - {top}:
            graph[top].add(name)
            if order.get(name, 0) > order.get(top, 0):
                problems.append(
                    f"{path.relative_to(ROOT)}: `{top}` (layer {order.get(top)}) imports "
                    f"`{name}` (layer {order.get(name)}), a layer above it"
                )
    # A loop among the modules: depth-first search for a back edge.
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                loop = trail[trail.index(nxt):] + [nxt]
                problems.append("import loop: " + " -> ".join(loop))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    sources = list(SHARED.rglob("*.rs")) + list((ROOT / "testkit" / "src").rglob("*.rs"))
    sources += list(ROOT.glob("functions/*/src/**/*.rs"))
    for path in sorted(sources):
        lines = path.read_text().count("\n")
        if lines > MAX_LINES:
            problems.append(f"{path.relative_to(ROOT)}: {lines} lines, over {MAX_LINES}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"layers: {len(modules)} modules in {len(set(order.values()))} layers, no loop, "
          f"no import upwards; every source file under {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
