#!/usr/bin/env python3
"""Generates the `envguard scan` benchmark corpus: ~50 MB of code, text, JSON and notebooks,
a .env with 1,000 values, and planted secrets listed in planted.json (file, line, kind) so
each scanner's findings can be checked against them. Deterministic (fixed seed)."""

import base64
import json
import os
import random
import string
import sys

root = sys.argv[1]
target_mb = float(sys.argv[2]) if len(sys.argv) > 2 else 50
rng = random.Random(42)
ALNUM = string.ascii_letters + string.digits


def token(n, alphabet=ALNUM):
    return "".join(rng.choice(alphabet) for _ in range(n))


WORDS = ("data value result config client request response user session cache index "
         "handler parse build render update fetch store query filter mapping record").split()


def ident():
    return "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


def code_line():
    kind = rng.randrange(6)
    if kind == 0:
        return f"    {ident()} = {ident()}({ident()}, {rng.randint(0, 999)})"
    if kind == 1:
        return f"    # {' '.join(rng.choice(WORDS) for _ in range(8))}"
    if kind == 2:
        return f"def {ident()}({ident()}, {ident()}=None):"
    if kind == 3:
        return f"    return {ident()}.get('{ident()}', '{token(8)}')"
    if kind == 4:
        return f"    request_id = '{rng.getrandbits(128):032x}'"  # hex bait
    return f"    log.info('{' '.join(rng.choice(WORDS) for _ in range(6))}')"


os.makedirs(root, exist_ok=True)
known = {f"SECRET_{i:04d}": token(rng.randint(20, 40)) for i in range(1000)}
with open(os.path.join(root, ".env"), "w") as f:
    for name, value in known.items():
        f.write(f"{name}={value}\n")
os.chmod(os.path.join(root, ".env"), 0o600)

SHAPES = [
    lambda: ("AKIA" + token(16, string.ascii_uppercase + "234567"), "aws"),
    lambda: ("ghp_" + token(36), "github"),
    lambda: ("sk_live_" + token(24), "stripe"),
    lambda: ("xoxb-" + str(rng.randint(10**9, 10**10)) + "-" + token(24), "slack"),
    lambda: ("AIza" + token(35, ALNUM + "_-"), "google"),
]

planted = []
names = list(known)
files = []  # (relative path, lines) for text files, filled then flushed
total = 0
target = int(target_mb * 1024 * 1024)
n = 0
while total < target:
    n += 1
    sub = f"pkg{n % 40:02d}"
    os.makedirs(os.path.join(root, sub), exist_ok=True)
    kind = n % 10
    plant = n % 25 == 0 if kind < 6 else (kind == 9 and (n // 10) % 3 == 0)
    if kind < 6:  # source code
        rel = f"{sub}/mod_{n}.py"
        lines = [code_line() for _ in range(rng.randint(300, 900))]
        if plant:
            at = rng.randrange(len(lines))
            if n % 50 == 0:
                value, what = SHAPES[n // 50 % len(SHAPES)]()
                lines[at] = f"    key = '{value}'"
            else:
                what = rng.choice(names)
                lines[at] = f"    password = '{known[what]}'"
            planted.append({"path": rel, "line": at + 1, "kind": what})
        text = "\n".join(lines) + "\n"
    elif kind < 8:  # prose
        rel = f"{sub}/notes_{n}.md"
        text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(14)) for _ in range(600)) + "\n"
    elif kind == 8:  # JSON
        rel = f"{sub}/data_{n}.json"
        records = [{"id": str(rng.getrandbits(64)), "name": ident(), "score": rng.random()} for _ in range(800)]
        text = json.dumps({"records": records}, indent=1) + "\n"
    else:  # notebook with an image and text outputs
        rel = f"{sub}/analysis_{n}.ipynb"
        cells = []
        for c in range(20):
            outputs = [{"output_type": "stream", "name": "stdout", "text": [code_line() + "\n" for _ in range(20)]}]
            if c % 7 == 0:
                png = base64.b64encode(rng.randbytes(15000)).decode()
                outputs.append({"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": ["<Figure>"]}})
            cells.append({"cell_type": "code", "execution_count": c, "id": f"c{c}", "metadata": {},
                          "source": [code_line() + "\n" for _ in range(10)], "outputs": outputs})
        text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1, sort_keys=True) + "\n"
        if plant:  # a key printed to a stream output, as the stream line JSON-encodes it
            what = rng.choice(names)
            lines = text.split("\n")
            at = next(i for i, l in enumerate(lines) if '"name": "stdout"' in l) + 3
            lines[at] = f'     "token: {known[what]}\\n",'
            text = "\n".join(lines)
            planted.append({"path": rel, "line": at + 1, "kind": what, "notebook": True})
    with open(os.path.join(root, rel), "w") as f:
        f.write(text)
    total += len(text)

with open(os.path.join(os.path.dirname(root.rstrip("/")), "planted.json"), "w") as f:
    json.dump(planted, f)
print(f"corpus: {total / 1e6:.1f} MB in {n} files, {len(planted)} planted secrets", file=sys.stderr)
