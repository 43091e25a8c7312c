#!/usr/bin/env python3
"""Generates the `envguard scan` benchmark corpus: ~50 MB of code, text, JSON and notebooks,
a .env with 1,000 values, and planted secrets listed in planted.json (file, line, kind) so
each scanner's findings can be checked against them. Deterministic (fixed seed).

Two kinds of plant: this project's own values (from the .env: only a scanner that reads the
.env can know them), and synthetic credentials of every provider family the token rules
cover, three of each, written from each provider's published format (none is real, and none
comes from any scanner's own test data). Bait that only looks random (UUIDs, git SHAs,
digests, lockfile integrity hashes, minified JS, documented placeholders, AWS's EXAMPLE keys)
is spread through the files: any finding on it is a false alarm."""

import base64
import json
import os
import random
import string
import sys
import zlib

root = sys.argv[1]
target_mb = float(sys.argv[2]) if len(sys.argv) > 2 else 50
rng = random.Random(42)
ALNUM = string.ascii_letters + string.digits
LETTERS = string.ascii_letters
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
BASE36 = string.digits + string.ascii_lowercase
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def token(n, alphabet=ALNUM):
    return "".join(rng.choice(alphabet) for _ in range(n))


def github(prefix):
    random_part = token(30)
    crc = zlib.crc32(random_part.encode())
    checksum = ""
    for _ in range(6):
        checksum = BASE62[crc % 62] + checksum
        crc //= 62
    return prefix + random_part + checksum


def pem(label):
    body = [token(64, B64) for _ in range(12)] + [token(24, B64) + "=="]
    return [f"-----BEGIN {label}PRIVATE KEY-----", *body, f"-----END {label}PRIVATE KEY-----"]


# Each family: a function giving the planted text, a list of lines (the first holds the
# reported position). Three variants per family, in the forms people write them.
FAMILIES = {
    "aws-access-key-id": [
        lambda: [f"aws_access_key_id = {'AKIA' + token(16, string.ascii_uppercase + '234567')}"],
        lambda: [f"    client = boto3.client('s3', aws_access_key_id='{'AKIA' + token(16, string.ascii_uppercase + '234567')}')"],
        lambda: [f"export AWS_ACCESS_KEY_ID={'ASIA' + token(16, string.ascii_uppercase + '234567')}"],
    ],
    "aws-secret-access-key": [
        lambda: [f"aws_secret_access_key = {token(40, B64)}"],
        lambda: [f"export AWS_SECRET_ACCESS_KEY={token(40, B64)}"],
        lambda: [f'    "SecretAccessKey": "{token(40, B64)}",'],
    ],
    "github": [
        lambda: [f"    gh = Github('{github('ghp_')}')"],
        lambda: [f"GITHUB_TOKEN={github('gho_')}"],
        lambda: [f"    headers = {{'Authorization': 'token {github('ghs_')}'}}"],
    ],
    "gitlab": [
        lambda: [f"    gl = gitlab.Gitlab(url, private_token='glpat-{token(20, URLSAFE)}')"],
        lambda: [f"GITLAB_TOKEN=glpat-{token(27, URLSAFE)}.01{token(7, BASE36)}"],
        lambda: [f"    runner_token = 'glrt-{token(20, URLSAFE)}'"],
    ],
    "huggingface": [
        lambda: [f"    login(token='hf_{token(34, LETTERS)}')"],
        lambda: [f"HF_TOKEN=hf_{token(34, LETTERS)}"],
        lambda: [f"    org_token = 'api_org_{token(34, LETTERS)}'"],
    ],
    "openai": [
        lambda: [f"    client = OpenAI(api_key='sk-proj-{token(74, URLSAFE)}T3BlbkFJ{token(74, URLSAFE)}')"],
        lambda: [f"OPENAI_API_KEY=sk-svcacct-{token(74, URLSAFE)}T3BlbkFJ{token(74, URLSAFE)}"],
        lambda: [f"    admin = 'sk-admin-{token(74, URLSAFE)}T3BlbkFJ{token(74, URLSAFE)}'"],
    ],
    "anthropic": [
        lambda: [f"    client = Anthropic(api_key='sk-ant-api03-{token(93, URLSAFE)}AA')"],
        lambda: [f"ANTHROPIC_API_KEY=sk-ant-api03-{token(93, URLSAFE)}AA"],
        lambda: [f"    admin_key = 'sk-ant-admin01-{token(93, URLSAFE)}AA'"],
    ],
    "sendgrid": [
        lambda: [f"    sg = SendGridAPIClient('SG.{token(22, URLSAFE)}.{token(43, URLSAFE)}')"],
        lambda: [f"SENDGRID_API_KEY=SG.{token(22, URLSAFE)}.{token(43, URLSAFE)}"],
        lambda: [f"    mail_key = \"SG.{token(22, URLSAFE)}.{token(43, URLSAFE)}\""],
    ],
    "twilio-api-key": [
        lambda: [f"    api_key_sid = 'SK{token(32, HEX)}'"],
        lambda: [f"TWILIO_API_KEY=SK{token(32, HEX)}"],
        lambda: [f"    twilio = Client('SK{token(32, HEX)}', secret, account_sid)"],
    ],
    "twilio-auth-token": [
        lambda: [f"TWILIO_AUTH_TOKEN={token(32, HEX)}"],
        lambda: [f"    auth_token = '{token(32, HEX)}'"],
        lambda: [f"    client = Client(account_sid, auth_token=\"{token(32, HEX)}\")"],
    ],
    "databricks": [
        lambda: [f"DATABRICKS_TOKEN=dapi{token(32, HEX)}"],
        lambda: [f"    w = WorkspaceClient(host=host, token='dapi{token(32, HEX)}-2')"],
        lambda: [f"    spark_conf = {{'token': 'dapi{token(32, HEX)}'}}"],
    ],
    "azure-storage": [
        lambda: [f"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={token(86, B64)}==;EndpointSuffix=core.windows.net"],
        lambda: [f"    conn = 'DefaultEndpointsProtocol=https;AccountName=data;AccountKey={token(86, B64)}==;EndpointSuffix=core.windows.net'"],
        lambda: [f"    url = 'https://acct.blob.core.windows.net/data/x.parquet?sv=2022-11-02&sr=b&sp=r&se=2030-01-01T00:00:00Z&sig={token(42, ALNUM)}%2B%3D'"],
    ],
    "perplexity": [
        lambda: [f"PPLX_API_KEY=pplx-{token(48)}"],
        lambda: [f"    client = OpenAI(api_key='pplx-{token(48)}', base_url=PPLX)"],
        lambda: [f"    key = \"pplx-{token(48)}\""],
    ],
    "npm": [
        lambda: [f"//registry.npmjs.org/:_authToken=npm_{token(36)}"],
        lambda: [f"NPM_TOKEN=npm_{token(36)}"],
        lambda: [f"    npm_token = 'npm_{token(36)}'"],
    ],
    "pypi": [
        lambda: [f"password = pypi-AgEIcHlwaS5vcmc{token(120, URLSAFE)}"],
        lambda: [f"TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmc{token(150, URLSAFE)}"],
        lambda: [f"    upload_token = 'pypi-AgEIcHlwaS5vcmc{token(100, URLSAFE)}'"],
    ],
    "notion": [
        lambda: [f"NOTION_TOKEN=ntn_{token(11, string.digits)}{token(35)}"],
        lambda: [f"    notion = Client(auth='ntn_{token(11, string.digits)}{token(35)}')"],
        lambda: [f"    cfg = {{'notion': 'ntn_{token(11, string.digits)}{token(35)}'}}"],
    ],
    "linear": [
        lambda: [f"LINEAR_API_KEY=lin_api_{token(40)}"],
        lambda: [f"    headers = {{'Authorization': 'lin_api_{token(40)}'}}"],
        lambda: [f"    linear = LinearClient('lin_api_{token(40)}')"],
    ],
    "groq": [
        lambda: [f"GROQ_API_KEY=gsk_{token(52)}"],
        lambda: [f"    client = Groq(api_key='gsk_{token(52)}')"],
        lambda: [f"    llm = ChatGroq(model=m, api_key=\"gsk_{token(52)}\")"],
    ],
    "replicate": [
        lambda: [f"REPLICATE_API_TOKEN=r8_{token(37)}"],
        lambda: [f"    client = replicate.Client(api_token='r8_{token(37)}')"],
        lambda: [f"    rep = 'r8_{token(37)}'"],
    ],
    "digitalocean": [
        lambda: [f"DIGITALOCEAN_TOKEN=dop_v1_{token(64, HEX)}"],
        lambda: [f"    manager = digitalocean.Manager(token='dop_v1_{token(64, HEX)}')"],
        lambda: [f"    do_token = \"dop_v1_{token(64, HEX)}\""],
    ],
    "age": [
        lambda: [f"AGE-SECRET-KEY-1{token(58, BECH32)}"],
        lambda: [f"    identity = 'AGE-SECRET-KEY-1{token(58, BECH32)}'"],
        lambda: [f"SOPS_AGE_KEY=AGE-SECRET-KEY-1{token(58, BECH32)}"],
    ],
    "kaggle": [
        lambda: ['{"username":"' + token(8, string.ascii_lowercase) + '","key":"' + token(32, HEX) + '"}'],
        lambda: [f"KAGGLE_KEY={token(32, HEX)}"],
        lambda: [f"    os.environ['KAGGLE_KEY'] = '{token(32, HEX)}'"],
    ],
    "wandb": [
        lambda: [f"WANDB_API_KEY={token(40, HEX)}"],
        lambda: [f"    wandb.login(key='{token(40, HEX)}')"],
        lambda: [f"    os.environ['WANDB_API_KEY'] = '{token(40, HEX)}'"],
    ],
    "cohere": [
        lambda: [f"CO_API_KEY={token(40)}"],
        lambda: [f"    co = cohere.ClientV2(api_key='{token(40)}')"],
        lambda: [f"    co = cohere.Client('{token(40)}')"],
    ],
    "generic-assignment": [
        lambda: [f"export SERVICE_SECRET={token(28)}"],
        lambda: [f"    os.environ['SERVICE_TOKEN'] = '{token(28)}'"],
        lambda: [f"ENV APP_PASSWORD {token(28)}"],
    ],
    "private-key": [
        lambda: pem("RSA "),
        lambda: ['KEY = """' + pem("")[0], *pem("")[1:], '"""'],
        lambda: ["tls:", "  key: |", *("    " + line for line in pem("EC "))],
    ],
    "slack": [
        lambda: [f"    slack = WebClient(token='xoxb-{rng.randint(10**11, 10**12)}-{token(24)}')"],
        lambda: [f"SLACK_BOT_TOKEN=xoxb-{rng.randint(10**11, 10**12)}-{token(24)}"],
        lambda: [f"    hook = 'https://hooks.slack.com/services/T{token(8, string.ascii_uppercase)}/B{token(8, string.ascii_uppercase)}/{token(24)}'"],
    ],
    "stripe": [
        lambda: [f"    stripe.api_key = 'sk_live_{token(24)}'"],
        lambda: [f"STRIPE_SECRET_KEY=sk_live_{token(99)}"],
        lambda: [f"    restricted = 'rk_live_{token(24)}'"],
    ],
    "google": [
        lambda: [f"    maps = googlemaps.Client(key='AIza{token(35, URLSAFE)}')"],
        lambda: [f"GOOGLE_API_KEY=AIza{token(35, URLSAFE)}"],
        lambda: [f"    genai.configure(api_key=\"AIza{token(35, URLSAFE)}\")"],
    ],
}

BAIT = [
    lambda: f"    run_id = '{rng.getrandbits(128):032x}'",
    lambda: f"    request_id = '{token(8, HEX)}-{token(4, HEX)}-4{token(3, HEX)}-a{token(3, HEX)}-{token(12, HEX)}'",
    lambda: f"    api_key_id = '{token(8, HEX)}-{token(4, HEX)}-4{token(3, HEX)}-a{token(3, HEX)}-{token(12, HEX)}'",
    lambda: f"    # fixed in commit {token(40, HEX)}",
    lambda: f"    digest = 'sha256:{token(64, HEX)}'",
    lambda: f"    token_sha256 = '{token(64, HEX)}'",
    lambda: "    api_key = 'YOUR_API_KEY_HERE'",
    lambda: "    OPENAI_API_KEY = 'sk-your-key-here'",
    lambda: "    password = 'changeme'",
    lambda: "    aws_access_key_id = 'AKIAIOSFODNN7EXAMPLE'",
    lambda: "    aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'",
    lambda: "    token = os.environ['GITHUB_TOKEN']",
    lambda: "    secret = get_secret(name, version=2)",
]


def minified_js():
    parts = []
    for _ in range(400):
        parts.append(f"function {token(2, LETTERS)}(e,t){{var n=e.{token(5, LETTERS)}||t.token,r={{key:e.key,secret:t.secret}};return n?r:{rng.randint(0, 999)}}}")
    return ";".join(parts) + "\n"


def package_lock():
    deps = {}
    for _ in range(400):
        name = "-".join(rng.choice(WORDS) for _ in range(2))
        deps[f"node_modules/{name}"] = {
            "version": f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
            "resolved": f"https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz",
            "integrity": "sha512-" + base64.b64encode(rng.randbytes(64)).decode(),
        }
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": deps}, indent=2) + "\n"


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

# Every family's variants, in a fixed shuffled order: planted one per chosen file.
queue = [(family, make) for family, makers in FAMILIES.items() for make in makers]
rng.shuffle(queue)
# The third variant of some families goes into a notebook (a cell source or an output).
notebook_queue = [queue.pop(i) for i in range(len(queue) - 1, -1, -4)]

planted = []
names = list(known)
total = 0
target = int(target_mb * 1024 * 1024)
n = 0


def reported_line(block):
    """The line a finding is expected on: a key block's BEGIN line, else the first."""
    return next((i for i, line in enumerate(block) if "-----BEGIN" in line), 0)


def plant_family(lines, at, family, make, rel):
    block = make()
    lines[at] = "\n".join(block)
    planted.append({"path": rel, "line": at + 1 + reported_line(block), "kind": family, "family": True})


while total < target:
    n += 1
    sub = f"pkg{n % 40:02d}"
    os.makedirs(os.path.join(root, sub), exist_ok=True)
    kind = n % 10
    plant = n % 25 == 0 if kind < 6 else (kind == 9 and (n // 10) % 3 == 0)
    if kind < 6:  # source code
        rel = f"{sub}/mod_{n}.py"
        lines = [code_line() for _ in range(rng.randint(300, 900))]
        if n % 11 == 5:
            for _ in range(3):
                lines[rng.randrange(len(lines))] = rng.choice(BAIT)()
        if plant:
            at = rng.randrange(len(lines))
            what = rng.choice(names)
            lines[at] = f"    password = '{known[what]}'"
            planted.append({"path": rel, "line": at + 1, "kind": what})
        elif n % 7 == 3 and queue:
            family, make = queue.pop()
            plant_family(lines, rng.randrange(len(lines)), family, make, rel)
        text = "\n".join(lines) + "\n"
    elif kind < 8:  # prose
        rel = f"{sub}/notes_{n}.md"
        text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(14)) for _ in range(600)) + "\n"
    elif kind == 8:  # JSON, now and then a lockfile or minified JS
        if n % 100 == 18:
            rel, text = f"{sub}/package-lock_{n}.json", package_lock()
        elif n % 100 == 58:
            rel, text = f"{sub}/bundle_{n}.min.js", minified_js()
        else:
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
        family_plant = None
        if not plant and (n // 10) % 3 == 1 and notebook_queue:
            family, make = notebook_queue.pop()
            block = [line + "\n" for line in make()]
            cell = cells[rng.randrange(20)]
            if len(notebook_queue) % 2:  # printed by the cell
                cell["outputs"][0]["text"][3:3] = block
            else:  # written in the cell
                cell["source"][2:2] = block
            family_plant = (family, block[reported_line(block)].rstrip("\n"))
        text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1, sort_keys=True) + "\n"
        if plant:  # a key printed to a stream output, as the stream line JSON-encodes it
            what = rng.choice(names)
            lines = text.split("\n")
            at = next(i for i, l in enumerate(lines) if '"name": "stdout"' in l) + 3
            lines[at] = f'     "token: {known[what]}\\n",'
            text = "\n".join(lines)
            planted.append({"path": rel, "line": at + 1, "kind": what, "notebook": True})
        if family_plant:
            family, first = family_plant
            needle = json.dumps(first)[1:-1]
            line = text[: text.index(needle)].count("\n") + 1
            planted.append({"path": rel, "line": line, "kind": family, "family": True, "notebook": True})
    with open(os.path.join(root, rel), "w") as f:
        f.write(text)
    total += len(text)

left = len(queue) + len(notebook_queue)
if left:
    sys.exit(f"corpus too small for every family: {left} credentials not planted")
with open(os.path.join(os.path.dirname(root.rstrip("/")), "planted.json"), "w") as f:
    json.dump(planted, f)
print(f"corpus: {total / 1e6:.1f} MB in {n} files, {len(planted)} planted secrets", file=sys.stderr)
