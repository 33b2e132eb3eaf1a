#!/usr/bin/env python3
"""Checks that the documents say what the code does, where that can be checked
without running examples (scripts/doc-examples.py runs those):

- every relative link in README.md, CHANGELOG.md and docs/*.md leads to a file
  that exists, and its #anchor to a heading there (GitHub's anchors);
- docs/hooks.md's "Every hooked symbol" lists exactly what the preload
  exports (the symbols of BUILD/libstrays.so, besides the strays_* API), each
  with the symbol versions it exports, and nothing that preload/hooks.def lacks;
- the version in src/base/st.h (STRAYS_VERSION) has an entry in CHANGELOG.md.

usage: check-docs.py [--build DIR]   (exit 1 with one line per problem)
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def documents():
    docs = ["README.md", "CHANGELOG.md"]
    docs += sorted(os.path.join("docs", n) for n in os.listdir(os.path.join(ROOT, "docs"))
                   if n.endswith(".md"))
    return docs


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def anchors(markdown):
    """The anchors GitHub gives the headings: lower case, punctuation out,
    spaces as hyphens, a repeated one numbered -1, -2..."""
    seen, out = {}, set()
    for title in HEADING.findall(FENCE.sub("", markdown)):
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out


def check_links(doc, problems):
    text = CODE_SPAN.sub("", FENCE.sub("", read(doc)))
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if not os.path.exists(os.path.join(ROOT, resolved)):
            problems.append("%s: link to %s: no such file" % (doc, target))
        elif anchor and (not resolved.endswith(".md") or anchor not in anchors(read(resolved))):
            problems.append("%s: link to %s: no heading #%s in %s" % (doc, target, anchor, resolved))


def exported_hooks(build):
    """{symbol: set of versions} the preload defines, besides the API."""
    out = subprocess.run(["nm", "-D", "--defined-only", os.path.join(build, "libstrays.so")],
                         capture_output=True, text=True, check=True).stdout
    hooks = {}
    for line in out.splitlines():
        name = line.split()[-1]
        symbol, _, version = name.replace("@@", "@").partition("@")
        if symbol.startswith("strays_") or symbol.startswith("GLIBC_"):
            continue
        hooks.setdefault(symbol, set())
        if version:
            hooks[symbol].add(version)
    return hooks


def check_hooks(build, problems):
    text = read("docs/hooks.md")
    section = text.split("\n## Every hooked symbol\n", 1)
    if len(section) != 2:
        problems.append("docs/hooks.md: no section \"## Every hooked symbol\"")
        return
    items = re.split(r"\n- ", section[1].split("\n## ", 1)[0])
    listed = {}
    for item in items:
        names = re.findall(r"`(\w+)`", item)
        for name in names:
            if not name.startswith("GLIBC_"):
                listed[name] = item
    declared = set(re.findall(r"\bV?HOOK\(\s*[^,]+,\s*(\w+)",
                              re.sub(r"/\*.*?\*/", "", read("preload/hooks.def"), flags=re.S)))
    for symbol, versions in sorted(exported_hooks(build).items()):
        if symbol not in listed:
            problems.append("docs/hooks.md: %s is hooked (libstrays.so exports it) but not "
                            "listed in \"Every hooked symbol\"" % symbol)
            continue
        for version in sorted(versions - set(re.findall(r"GLIBC_[\d.]+", listed[symbol]))):
            problems.append("docs/hooks.md: %s is hooked in version %s, which its line does "
                            "not name" % (symbol, version))
    for name in sorted(set(listed) - declared):
        problems.append("docs/hooks.md: %s is listed as hooked, but preload/hooks.def has no "
                        "line for it" % name)


def check_changelog(problems):
    version = re.search(r'#define STRAYS_VERSION "([^"]+)"', read("src/base/st.h")).group(1)
    if not re.search(r"^## %s\b" % re.escape(version), read("CHANGELOG.md"), re.M):
        problems.append("CHANGELOG.md: no entry \"## %s\" for the version in src/base/st.h" % version)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    problems = []
    for doc in documents():
        check_links(doc, problems)
    check_hooks(args.build, problems)
    check_changelog(problems)
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
