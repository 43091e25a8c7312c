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
# reach a socket; Session.send is wrapped too, to hold back a stream's tail that could begin a
# value until the rest comes (_HeldStream). A safety net, not a boundary: the user's code runs
# in this process.
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
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402

# How long a stream's held tail waits for the rest of a value, as src/mask/filter.rs holds a
# long one for `exec --mask`. Unlike a terminal, a kernel needs no short wait for prompts:
# every other message (`input_request`, `status: idle` after the cell) releases the hold at
# once, and ipykernel sends a stream's batches only every `flush_interval` (0.2 s), so a short
# wait would release a value's first characters before the batch holding the rest.
LONG_HOLD = 1.0

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
    return _Masker(form_to_name)


class _Masker:
    """Every form of every value, replaced by `<masked:NAME>`."""

    def __init__(self, form_to_name):
        self._names = form_to_name
        # Longest first: an alternation takes the first that matches, so a value is never cut
        # short by another that is its prefix.
        self._forms = sorted(form_to_name, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(form) for form in self._forms)) if self._forms else None
        )
        self._starts = {form[0] for form in self._forms}
        self._longest = max(map(len, self._forms), default=0)

    def _replace(self, match):
        return "<masked:%s>" % self._names[match.group(0)][0]

    def mask(self, text):
        return self._pattern.sub(self._replace, text) if self._pattern else text

    def split(self, text):
        """(text masked up to a tail that could begin a value, that tail)."""
        if self._pattern is None:
            return text, ""
        out, pos = [], 0
        while True:
            hold = self._hold_start(text, pos)
            found = self._pattern.search(text, pos)
            # A match that starts before the hold is whole: were more text able to lengthen
            # it, its start would begin a proper prefix of a form, and the hold would be there.
            if found is None or found.start() >= hold:
                out.append(text[pos:hold])
                return "".join(out), text[hold:]
            out.append(text[pos:found.start()])
            out.append(self._replace(found))
            pos = found.end()

    def _hold_start(self, text, start):
        for at in range(max(start, len(text) - self._longest + 1), len(text)):
            if text[at] in self._starts:
                tail = text[at:]
                if any(len(form) > len(tail) and form.startswith(tail) for form in self._forms):
                    return at
        return len(text)


class _HeldStream:
    """Stream output that could begin a value, held back from the notebook until the rest of
    the value comes in the next message of the same stream, or until anything else is sent
    (the cell's `status: idle`, its result, its reply), or until its time is up. ipykernel
    sends what a cell printed in batches, so a value printed in two pieces a moment apart
    reaches the notebook as two messages, neither holding the whole value to mask. One tail
    at most is held: a message of another stream releases it first, so outputs keep their
    order."""

    def __init__(self, masker, send):
        self._masker, self._send = masker, send
        self._lock = threading.RLock()
        self._held = None

    def stream(self, session, socket, name, text, parent, ident):
        with self._lock:
            key = (name, parent.get("msg_id") if isinstance(parent, dict) else None)
            held = self._held
            if held is not None and held["key"] != key:
                self.release()
                held = None
            arrived = len(text)
            if held is not None:
                held["timer"].cancel()
                text = held["text"] + text
            self._held = None
            done, tail = self._masker.split(text)
            sent = None
            if done:
                sent = self._send(session, socket, "stream", {"name": name, "text": done},
                                  parent=parent, ident=ident)
            if tail:
                now = time.monotonic()
                # The first hold's clock runs on only while the tail still starts in what was
                # held; a tail that starts in the new text is a new possible value.
                since = held["since"] if held is not None and len(tail) > arrived else now
                wait = max(0.0, since + LONG_HOLD - now)
                timer = threading.Timer(wait, self.release)
                timer.daemon = True
                self._held = {"key": key, "text": tail, "since": since, "timer": timer,
                              "args": (session, socket, name, parent, ident)}
                timer.start()
            return sent

    def release(self):
        """Sends what is held, masked as far as it goes."""
        with self._lock:
            held, self._held = self._held, None
            if held is None:
                return
            held["timer"].cancel()
            session, socket, name, parent, ident = held["args"]
            self._send(session, socket, "stream", {"name": name, "text": self._masker.mask(held["text"])},
                       parent=parent, ident=ident)


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


def _install(masker):
    from jupyter_client import session

    serialize = session.Session.serialize
    send = session.Session.send

    def masked_serialize(self, msg, ident=None):
        msg = dict(msg)
        for part in ("content", "metadata"):
            if isinstance(msg.get(part), dict):
                msg[part] = _masked(msg[part], masker.mask)
        return serialize(self, msg, ident)

    def plain_send(self, socket, msg_type, content, parent=None, ident=None):
        return send(self, socket, msg_type, content=content, parent=parent, ident=ident)

    held = _HeldStream(masker, plain_send)

    def holding_send(self, stream, msg_or_type, content=None, parent=None, ident=None, **rest):
        if isinstance(msg_or_type, dict):
            msg_type = msg_or_type.get("header", {}).get("msg_type")
            body, parent_header = msg_or_type.get("content"), msg_or_type.get("parent_header")
        else:
            msg_type, body, parent_header = msg_or_type, content, parent
        if (msg_type == "stream" and not rest and isinstance(body, dict)
                and isinstance(body.get("text"), str)):
            return held.stream(self, stream, body.get("name"), body["text"], parent_header or {},
                               ident)
        # Anything else comes after what a stream holds: its tail goes first.
        held.release()
        return send(self, stream, msg_or_type, content=content, parent=parent, ident=ident,
                    **rest)

    session.Session.serialize = masked_serialize
    session.Session.send = holding_send


_install(_masker())
del _install, _masker

import runpy  # noqa: E402

runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
