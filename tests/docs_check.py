#!/usr/bin/env python3
"""tests/docs_check.py [ROOT]: what the front page and the docs promise a reader who follows them
(Python standard library only). Part of `make test`.

- README.md's API tour (its one ```cpp block) is examples/minimal.cpp, byte for byte, so the
  program shown is the one `make test` compiles and runs.
- Every relative link of README.md, docs/*.md and plot/README.md names a file or directory that
  exists, and a link with #anchor names a heading of its Markdown target (GitHub's anchors:
  lower case, punctuation dropped, spaces to hyphens).
- Every name in backquotes in the second column of README.md's table "For the course's students"
  (an identifier, Type::member, or a path) is defined in mbrl.hpp, mbrl_kernel.hpp, envs/ or
  examples/, or is a file of the repository.
Prints one line per failure and exits 1 if there is any.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
failures = []


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def slug(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(rel):
    found, in_code = set(), False
    for line in read(rel).split("\n"):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def without_code(text):
    """The text without fenced code blocks and inline code (links there are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


# 1. The API tour is examples/minimal.cpp.
blocks = re.findall(r"^```cpp\n(.*?)^```$", read("README.md"), flags=re.S | re.M)
if len(blocks) != 1:
    failures.append("README.md: %d ```cpp blocks, expected one (the API tour)" % len(blocks))
elif blocks[0] != read("examples/minimal.cpp"):
    failures.append("README.md: the API tour is not examples/minimal.cpp as it is")

# 2. Links.
pages = ["README.md", "plot/README.md"] + sorted(
    "docs/" + n for n in os.listdir(os.path.join(ROOT, "docs")) if n.endswith(".md"))
links = 0
for page in pages:
    for target in re.findall(r"\]\(([^)\s]+)\)", without_code(read(page))):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        links += 1
        path, _, anchor = target.partition("#")
        rel = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(os.path.join(ROOT, rel)):
            failures.append("%s: link to a missing file: %s" % (page, target))
        elif anchor and rel.endswith(".md") and anchor not in anchors(rel):
            failures.append("%s: link to a missing heading: %s" % (page, target))

# 3. The students' table names what exists.
readme = read("README.md")
start = readme.find("## For the course's students")
table = [l for l in readme[start:readme.find("\n## ", start + 1)].split("\n") if l.startswith("| `")]
if start < 0 or not table:
    failures.append("README.md: no table under \"For the course's students\"")
sources = "\n".join(read(os.path.join(d, n)) for d in (".", "envs", "examples")
                    for n in sorted(os.listdir(os.path.join(ROOT, d))) if n.endswith((".hpp", ".cpp")))
names = 0
for row in table:
    cells = row.split("|")
    for name in re.findall(r"`([^`]+)`", cells[2] if len(cells) > 2 else ""):
        names += 1
        if "/" in name or name.endswith((".md", ".cpp", ".hpp", ".py", ".sh", ".csv")):
            if name.endswith(".csv") or " " in name:
                continue  # a file a run writes, or a command
            if not os.path.exists(os.path.join(ROOT, name)):
                failures.append("README.md students' table: no file %s" % name)
            continue
        if " " in name:
            continue  # a command
        owner, _, member = name.rpartition("::")
        word = re.escape(member)
        if not re.search(r"(struct|class|using|[\w>&*]) +%s\b *[({<;=]|struct +%s\b|class +%s\b" % (word, word, word), sources):
            failures.append("README.md students' table: %s is defined nowhere" % name)
        elif owner and not re.search(r"struct +%s\b" % re.escape(owner.split("::")[-1]), sources):
            failures.append("README.md students' table: no type %s" % owner)

for f in failures:
    print("docs_check: " + f)
if failures:
    sys.exit(1)
print("docs_check: the API tour is examples/minimal.cpp; %d links of %d pages resolve; the students' table's %d names exist"
      % (links, len(pages), names))
