# envguard's kernel launcher: masks every loaded secret in what the kernel sends, then starts
# ipykernel. Run as `python [-P] -c THIS -f CONNECTION_FILE` by `envguard exec --kernel`, which
# puts the names (never values) to mask in ENVGUARD_MASK_NAMES; values are read from os.environ
# once, here, so the kernel's own environment keeps them and nothing else holds them. Which
# values are too short or too common to mask envguard decides (the rule `exec --mask` and
# `check` follow): a name listed is masked, and so are the lines listed after it
# (`CERT:0:1`, indices among the value's "\n"-separated lines).
#
# Every message a kernel sends (iopub, shell replies, stdin, control, debugger events) is
# packed by jupyter_client's Session.serialize, so masking there covers them all before they
# reach a socket. A safety net, not a boundary: the user's code runs in this process.
import sys

# Before any other import: without -P (Python < 3.11), `-c` puts the working directory (the
# notebook's folder) first on sys.path, where a `json.py` would run instead of the stdlib's.
if sys.path and sys.path[0] == "":
    del sys.path[0]

import base64  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import urllib.parse  # noqa: E402

def _forms(value):
    """The ways a value shows up once printed, displayed or encoded."""
    encoded = value.encode("utf-8", "surrogateescape")
    plain = {value, repr(value)[1:-1], json.dumps(value)[1:-1],
             json.dumps(value, ensure_ascii=False)[1:-1]}
    forms = set(plain)
    for text in plain:
        forms.add(html.escape(text))
        forms.add(html.escape(text, quote=False))
    forms.add(urllib.parse.quote(value, safe=""))
    forms.add(urllib.parse.quote_plus(value, safe=""))
    forms.add(urllib.parse.quote(value))
    for b64 in (base64.b64encode(encoded), base64.urlsafe_b64encode(encoded)):
        b64 = b64.decode("ascii")
        forms.add(b64)
        forms.add(b64.rstrip("="))
    return forms


def _lines(value, indices):
    """The lines envguard listed, split as Rust's `str::lines` does."""
    lines = [line[:-1] if line.endswith("\r") else line for line in value.split("\n")]
    return {lines[int(index)] for index in indices if int(index) < len(lines)}


def _masker():
    names = os.environ.get("ENVGUARD_MASK_NAMES")
    if names is None:
        sys.stderr.write(
            "envguard: this kernel masks secrets but was not started by `envguard exec --kernel`"
            " (fix: start it from Jupyter, or reinstall it with `envguard kernel install --force`)\n"
        )
        sys.exit(1)
    form_to_name = {}
    for entry in filter(None, names.split(",")):
        name, *lines = entry.split(":")
        value = os.environ.get(name)
        if not value:
            continue
        for form in _forms(value) | _lines(value, lines):
            # The longer value's name wins a form two values share.
            if len(value) >= len(form_to_name.get(form, ("", ""))[1]):
                form_to_name[form] = (name, value)
    if not form_to_name:
        return lambda text: text
    # Longest first: an alternation takes the first that matches, so a value is never cut
    # short by another that is its prefix.
    pattern = re.compile(
        "|".join(re.escape(form) for form in sorted(form_to_name, key=len, reverse=True))
    )
    return lambda text: pattern.sub(lambda m: "<masked:%s>" % form_to_name[m.group(0)][0], text)


def _masked(item, mask):
    if isinstance(item, str):
        return mask(item)
    if isinstance(item, dict):
        # Keys too: `{os.environ["API_KEY"]: 1}` displays its key.
        return {_masked(key, mask): _masked_entry(key, value, mask) for key, value in item.items()}
    if isinstance(item, (list, tuple)):
        return [_masked(element, mask) for element in item]
    return item


def _masked_entry(key, value, mask):
    # Raster images are base64 of pixels: left as they are. SVG is text and masked.
    if isinstance(key, str) and key.startswith("image/") and key != "image/svg+xml":
        return value
    return _masked(value, mask)


def _install(mask):
    from jupyter_client import session

    serialize = session.Session.serialize

    def masked_serialize(self, msg, ident=None):
        msg = dict(msg)
        for part in ("content", "metadata"):
            if isinstance(msg.get(part), dict):
                msg[part] = _masked(msg[part], mask)
        return serialize(self, msg, ident)

    session.Session.serialize = masked_serialize


_install(_masker())
del _install, _masker

import runpy  # noqa: E402

runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
