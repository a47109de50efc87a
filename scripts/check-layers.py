#!/usr/bin/env python3
"""Fails when a lower layer includes a header of a higher one.

The order is the layering of DESIGN: each folder under src/zmesh may include
its own headers and those of the layers listed before it, nothing above.
"""
import pathlib
import re
import sys

ORDER = ["core", "crypto", "wire", "transport", "link", "circuit", "mix", "fec",
         "stream", "discovery", "exit", "service", "client", "node", "control", "app"]
RANK = {name: i for i, name in enumerate(ORDER)}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]zmesh/([a-z_]+)/')


def main(root: pathlib.Path) -> int:
    src = root / "src" / "zmesh"
    errors = []
    checked = 0
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".hpp", ".cpp", ".h"):
            continue
        layer = path.relative_to(src).parts[0]
        if layer not in RANK:
            errors.append(f"{path}: folder '{layer}' is not a known layer {ORDER}")
            continue
        checked += 1
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target not in RANK:
                errors.append(f"{path}:{lineno}: includes unknown layer '{target}'")
            elif RANK[target] > RANK[layer]:
                errors.append(f"{path}:{lineno}: layer '{layer}' includes higher layer '{target}'")
    for e in errors:
        print(e)
    print(f"check-layers: {checked} files, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
