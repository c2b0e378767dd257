#!/usr/bin/env python3
"""The import graph of the workspace's modules, and whether it has a circle.

    python3 scripts/module_graph.py            # fails, naming every circle, if there is one
    python3 scripts/module_graph.py --dot      # the graph in Graphviz's dot language
    python3 scripts/test_module_graph.py       # its own tests, on made-up packages

Each package is checked on its own (the engine cannot import the service: it does not depend
on it), at two levels:

- files: a node per source file (a module); an edge A -> B when A names an item that B
  defines, through `use`, a path in code (`crate::db::videos::claim`, `super::problem::X`,
  `auth::ApiKeys` for a child module), or a re-export it follows to where the item is
  defined. Declaring a child (`mod x;`) is not an edge: the parent owns it. An inherent
  `impl T` in another file than T's adds to T's module what that file defines: an edge from
  T's module to it (as cargo-modules counts it).
- folders: the same edges with every file of a top-level folder (`api/`, `db/`, `media/`, ...)
  taken as one node, so that two folders cannot lean on each other either.

A circle at either level fails the check. Comments and string literals are skipped (a doc
link is not an import); `#[cfg(test)]` code counts like any other.

The rules of path resolution are Rust's for what this code base writes; a path the script
cannot place (an external crate, a local variable's method) is ignored.
"""

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"hls-ladder-server": ROOT / "src", "hls-ladder": ROOT / "crates/hls-ladder/src"}
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments_and_strings(text):
    """The code with comments, string and char literals blanked out (lines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(' ""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or text.startswith("'\\u{", i):
            j = text.find("'", i + 1 + (text[i + 1] == "\\"))
            out.append("' '")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Module:
    """One source file as a module: its path from the crate root, its code, its children."""

    def __init__(self, package_root, file):
        self.file = file
        rel = file.relative_to(package_root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("mod", "lib", "main"):
            parts = parts[:-1]
        self.path = tuple(parts)
        self.code = strip_comments_and_strings(file.read_text())
        self.children = set(re.findall(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", self.code, re.M))
        self.inline = inline_modules(self.code)
        self.reexports = {}  # name -> absolute path of what it re-exports

    @property
    def name(self):
        return "::".join(self.path) or "(crate root)"

    @property
    def folder(self):
        """The top-level module this file belongs to (a folder is one, a file is one)."""
        return self.path[0] if self.path else "(crate root)"


def inline_modules(code):
    """The spans of inline modules (`mod tests { ... }`): (start, end) of their bodies."""
    spans = []
    for m in re.finditer(rf"\bmod\s+{IDENT}\s*\{{", code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        spans.append((m.end(), i))
    return spans


def use_trees(code):
    """Every `use` declaration's paths, braces expanded, as (path, alias, is_pub, offset)."""
    for m in re.finditer(r"(^|[;{}\s])(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", code):
        is_pub = bool(m.group(2))
        for path, alias in expand(re.sub(r"\s+", "", m.group(3))):
            yield path, alias, is_pub, m.start(3)


def expand(tree, prefix=""):
    """`a::{b,c::{d,e}}` -> [a::b, a::c::d, a::c::e], with `as` aliases."""
    brace = tree.find("{")
    if brace < 0:
        alias = None
        if "as" in tree and re.search(r"[A-Za-z0-9_]as[A-Za-z_]", tree):
            # Whitespace was removed: `x as y` became `xasy`; find it in the last segment.
            head, _, last = tree.rpartition("::")
            m = re.fullmatch(rf"({IDENT}?)as({IDENT})", last)
            if m and m.group(1):
                tree, alias = (head + "::" if head else "") + m.group(1), m.group(2)
        yield prefix + tree, alias
        return
    head, body = tree[:brace], tree[brace + 1:tree.rfind("}")]
    depth, start = 0, 0
    for i, c in enumerate(body + ","):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            part = body[start:i]
            start = i + 1
            if part == "self":
                yield prefix + head.rstrip(":"), None
            elif part:
                yield from expand(part, prefix + head)


class Package:
    def __init__(self, root):
        self.modules = {}
        for file in sorted(root.rglob("*.rs")):
            if file.name == "main.rs" and file.parent == root:
                continue  # the binary: a crate of its own that only calls the library
            module = Module(root, file)
            self.modules[module.path] = module
        for module in self.modules.values():
            for path, alias, is_pub, offset in use_trees(module.code):
                if not is_pub:
                    continue
                absolute = self.absolute(module, path.split("::"), offset)
                if absolute:
                    module.reexports[alias or absolute[-1]] = absolute

    def absolute(self, module, segments, offset):
        """A path as written in `module` at `offset`, from the crate root; None if it is not
        ours. Inside an inline module (`mod tests { use super::*; }`) `super` first leaves it,
        staying in the file."""
        here = list(module.path)
        first = segments[0]
        if first == "crate":
            return segments[1:]
        if first in ("super", "self"):
            inline_depth = sum(start <= offset < end for start, end in module.inline)
            while segments and segments[0] in ("super", "self"):
                if segments[0] == "super":
                    if inline_depth:
                        inline_depth -= 1
                    else:
                        here = here[:-1]
                segments = segments[1:]
            if inline_depth:
                return None  # an item of an inline module of this very file
            return here + segments
        if first in module.children:
            return here + segments
        return None

    def resolve(self, segments, seen=()):
        """The module that defines what an absolute path names (following re-exports)."""
        for length in range(len(segments), -1, -1):
            if tuple(segments[:length]) in self.modules:
                module = self.modules[tuple(segments[:length])]
                rest = segments[length:]
                if rest and rest[0] in module.reexports and (module.path, rest[0]) not in seen:
                    target = module.reexports[rest[0]] + rest[1:]
                    return self.resolve(target, seen + ((module.path, rest[0]),))
                return module
        return None

    def edges(self):
        """(from, to) file modules, each once."""
        found = set()
        for module in self.modules.values():
            paths = [(p.split("::"), offset) for p, _, _, offset in use_trees(module.code)]
            # Blanked to the same length, so that offsets still say which inline module holds a path.
            code_without_uses = re.sub(r"(^|[;{}\s])(pub(?:\([^)]*\))?\s+)?use\s+[^;]+;",
                                       lambda m: re.sub(r"\S", " ", m.group(0)), module.code)
            starts = ["crate", "super", "self"] + sorted(module.children)
            pattern = rf"(?<![A-Za-z0-9_:])((?:{'|'.join(starts)})(?:::{IDENT})+)"
            paths += [(m.group(1).split("::"), m.start()) for m in re.finditer(pattern, code_without_uses)]
            # Names a `use` brought in, used in code (`use super::problem;` then `problem::X`)
            # are covered by the `use` itself.
            # `impl T {` (inherent, not `impl Trait for T`) of a type this file does not define.
            defined = set(re.findall(rf"\b(?:struct|enum|type|union)\s+({IDENT})", module.code))
            imported = {}
            for p, alias, _, offset in use_trees(module.code):
                segments = p.split("::")
                imported[alias or segments[-1]] = (segments, offset)
            for m in re.finditer(rf"(?m)^impl(?:<[^>]*>)?\s+({IDENT})(?:<[^>]*>)?\s*\{{", module.code):
                name = m.group(1)
                if name in defined or name not in imported:
                    continue
                segments, offset = imported[name]
                absolute = self.absolute(module, segments, offset)
                owner = absolute and self.resolve(absolute)
                if owner is not None and owner is not module:
                    found.add((owner.path, module.path))
            for segments, offset in paths:
                if segments[-1] == "*":
                    segments = segments[:-1]  # a glob: everything of that module
                absolute = self.absolute(module, segments, offset)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target is None or target is module:
                    continue
                found.add((module.path, target.path))
        return found


def circles(nodes, edges):
    """Strongly connected components with more than one node (Tarjan)."""
    graph = defaultdict(set)
    for a, b in edges:
        if a != b:
            graph[a].add(b)
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return result


def show_circle(component, edges, label):
    inside = sorted((a, b) for a, b in edges if a in component and b in component and a != b)
    lines = [f"  {label(a)} -> {label(b)}" for a, b in inside]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", action="store_true", help="print the file graph as dot")
    parser.add_argument("--package", action="append", metavar="NAME=DIR",
                        help="check this package's sources instead of the workspace's")
    args = parser.parse_args()
    packages = dict(p.split("=", 1) for p in args.package) if args.package else PACKAGES
    failed = False
    for name, root in packages.items():
        root = Path(root)
        package = Package(root)
        edges = package.edges()
        name_of = lambda path: package.modules[path].name  # noqa: E731
        if args.dot:
            print(f'digraph "{name}" {{')
            for a, b in sorted(edges):
                print(f'  "{name_of(a)}" -> "{name_of(b)}";')
            print("}")
            continue
        folder_edges = {(package.modules[a].folder, package.modules[b].folder) for a, b in edges}
        folders = {m.folder for m in package.modules.values()}
        for level, nodes, level_edges, label in (
            ("files", list(package.modules), edges, name_of),
            ("folders", folders, folder_edges, str),
        ):
            found = circles(nodes, level_edges)
            for component in found:
                failed = True
                print(f"{name}: a circle of {len(component)} {level}:")
                print(show_circle(component, level_edges, label))
            if not found:
                print(f"{name}: {len(nodes)} {level}, {len({e for e in level_edges if e[0] != e[1]})} imports, no circle")
    if failed:
        print("error: the modules above import each other in a circle; move what they share "
              "into a module both import", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
