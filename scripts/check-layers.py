#!/usr/bin/env python3
"""Checks that src/ keeps its layers: a file includes headers of its own layer
and of the layers below it, never of a layer above (Makefile, LAYERS).
Run by `make test` and `make lint`; prints each offending include."""
import os
import re
import sys

# Each layer and the layers it may include from (besides itself).
ALLOWED = {
    'base': set(),
    'report': {'base'},
    'symbolize': {'base', 'report'},
    'track': {'base'},
    'collect': {'base', 'report', 'symbolize', 'track'},
    'runtime': {'base', 'report', 'symbolize', 'track', 'collect'},
    'cli': {'base', 'report', 'symbolize'},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of_include(src, including_dir, name):
    """The layer of the file an include names, or None outside src/."""
    here = os.path.normpath(os.path.join(including_dir, name))
    path = here if os.path.exists(here) else os.path.normpath(os.path.join(src, name))
    rel = os.path.relpath(path, src)
    if rel.startswith('..') or not os.path.exists(path):
        return None
    return rel.split(os.sep)[0]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(root, 'src')
    bad = 0
    for layer in sorted(os.listdir(src)):
        folder = os.path.join(src, layer)
        if not os.path.isdir(folder):
            continue
        if layer not in ALLOWED:
            print(f'check-layers: src/{layer}/ is no known layer (add it to ALLOWED)')
            bad += 1
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not name.endswith(('.c', '.h', '.def')):
                continue
            text = open(path, encoding='utf-8').read()
            for m in INCLUDE.finditer(text):
                target = layer_of_include(src, folder, m.group(1))
                if target and target != layer and target not in ALLOWED[layer]:
                    line = text.count('\n', 0, m.start()) + 1
                    print(f'src/{layer}/{name}:{line}: includes "{m.group(1)}", '
                          f'from layer {target}, above {layer}')
                    bad += 1
    if bad:
        print(f'check-layers: {bad} include(s) point up a layer')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
