"""python-dotenv's view of a corpus of .env files, for tests/dotenv_differential.rs.

Usage: dotenv_oracle.py DIR COUNT

Reads DIR/<i>.env for i in range(COUNT). Prints one JSON line about this interpreter (its
python-dotenv version and the environment `${...}` falls back to), then one JSON line per
file:

  values     dotenv_values(path) as [name, value-or-null] pairs, in dict order
  warnings   what python-dotenv logged while doing so ("could not parse ...")
  lines      name -> line where its last statement's text starts
  bad        first statement envguard must refuse, if any: "parse" (python skipped it),
             "name" (not a shell name), "ref" (a ${...} whose name is not a shell name),
             "utf8" (the file is not UTF-8), "cancel" (a name without = after a value
             for it, which python then drops), "unassigned_ref" (a ${...} naming a
             variable whose last statement had no =, which python substitutes as empty);
             bad_line is where that statement starts

python-dotenv's own warning line counts from the end of the previous statement (so it
includes blank lines before the statement); bad_line skips that leading whitespace.
"""

import json
import logging
import os
import re
import sys

from dotenv import dotenv_values
from dotenv.parser import parse_stream
from dotenv.variables import _posix_variable
from dotenv.version import __version__

SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


capture = Capture()
logger = logging.getLogger("dotenv.main")
logger.addHandler(capture)
logger.setLevel(logging.WARNING)
logger.propagate = False


def statement_line(binding):
    text = binding.original.string
    leading = text[: len(text) - len(text.lstrip())]
    return binding.original.line + leading.count("\n")


def bad_reference(value):
    return value is not None and any(
        not SHELL_NAME.match(m["name"]) for m in _posix_variable.finditer(value)
    )


def unassigned_reference(value, assigned):
    """A ${NAME} whose NAME python holds as None (its last statement had no =)."""
    return value is not None and any(
        assigned.get(m["name"]) is False for m in _posix_variable.finditer(value)
    )


def examine(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        prefix = raw[: e.start].decode("utf-8")
        line = prefix.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
        try:
            dotenv_values(path)
            raised = False
        except UnicodeDecodeError:
            raised = True
        return {"bad": "utf8", "bad_line": line, "raised": raised}

    capture.messages.clear()
    values = dotenv_values(path)
    result = {
        "values": [[k, v] for k, v in values.items()],
        "warnings": list(capture.messages),
        "lines": {},
    }
    # name -> whether its last statement so far had a value (python's None: False).
    assigned = {}
    with open(path, encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error:
                kind = "parse"
            elif binding.key is None:
                continue
            elif not SHELL_NAME.match(binding.key):
                kind = "name"
            elif bad_reference(binding.value):
                kind = "ref"
            elif unassigned_reference(binding.value, assigned):
                kind = "unassigned_ref"
            elif binding.value is None and assigned.get(binding.key):
                kind = "cancel"
            else:
                result["lines"][binding.key] = statement_line(binding)
                assigned[binding.key] = binding.value is not None
                continue
            if "bad" not in result:
                result["bad"] = kind
                result["bad_line"] = statement_line(binding)
    return result


def main():
    directory, count = sys.argv[1], int(sys.argv[2])
    print(json.dumps({"version": __version__, "environ": dict(os.environ)}))
    for i in range(count):
        print(json.dumps(examine(os.path.join(directory, f"{i}.env"))))


main()
