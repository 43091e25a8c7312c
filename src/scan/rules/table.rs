//! The token shapes themselves, kept apart from the engine that runs them so that adding a
//! provider is one entry here and a test, never a change to how text is searched.
//!
//! Each pattern is written from the provider's published format. Where the prefix alone is
//! rare enough to be the evidence (`hf_`, `glpat-`, `AGE-SECRET-KEY-1`), the value needs no
//! randomness test: that test is what made short or letters-only keys slip through. Where a
//! value is too plain to flag alone (32 hex digits), the rule is bound to the keyword that
//! names it. Quotes may be preceded by a backslash everywhere: the walk first tries a
//! notebook's raw JSON, where `"` is written `\"`, and skips the notebook if nothing is found.

/// How a candidate value is judged once its pattern matched.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The shape is the evidence: only documented placeholders are dropped.
    Prefix,
    /// A keyword-bound value of a fixed alphabet: placeholders dropped, hex allowed.
    Keyword,
    /// No fixed shape: the value must also look random, and hex (digests, UUIDs) is excluded.
    Random,
    /// `sk-…`: the `T3BlbkFJ` marker OpenAI puts in its keys is evidence; without it, the
    /// value must look random.
    OpenAi,
    /// `gh?_` + 30 random + 6 checksum characters: the checksum decides.
    GitHub,
    /// Kaggle's `"key"` field is only Kaggle's next to its `"username"`.
    Kaggle,
    /// A `-----BEGIN … PRIVATE KEY-----` block, matched by hand across lines (see `pem`).
    PrivateKey,
    /// Never run: the rule a GitHub token with a failing checksum is reported under.
    Derived,
}

pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    /// Literals any match contains, in the case they are written, each at least four bytes:
    /// the line search then tests four bytes per position and lets few false candidates
    /// through. A rule whose only literal is shorter (`SK`, `SG.`, `hf_`, `r8_`) has none, and
    /// its regex runs over the whole text on its own single-literal search. For a `folded` rule they
    /// are lowercase and looked for in a lowercased copy of the text: keywords in any case,
    /// and lowercase prefixes placed there so that neither pass has more than 32 literals (the
    /// most Teddy's faster "slim" form takes). The regex keeps the rule's own case.
    pub anchors: &'static [&'static str],
    pub folded: bool,
    /// The whole match is what `envguard:allow` and positions refer to; the `secret` (or
    /// `bare`, for an unquoted value) group, if any, is the credential itself.
    pub pattern: &'static str,
    pub check: Check,
}

/// Words that make an assignment a credential's (`DB_PASSWORD=`, `apiKey:`, `X_TOKEN"] =`).
macro_rules! keyword {
    () => {
        r"(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key|private[_-]?key|auth[_-]?key)"
    };
}

/// Between a name and its value: an optional closing quote (`\"` in raw notebook JSON), an
/// optional `]` (`os.environ["X"]`), and an assignment operator.
macro_rules! assign {
    () => {
        r#"(?:\\?["'])?\]?\s{0,4}(?::=|=>|=|:)\s{0,4}"#
    };
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        name: "private key block",
        anchors: &["PRIVATE KEY"],
        folded: false,
        pattern: "",
        check: Check::PrivateKey,
    },
    Rule {
        id: "aws-access-key-id",
        name: "AWS access key id",
        anchors: &["AKIA", "ASIA", "ABIA", "ACCA"],
        folded: false,
        pattern: r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "github-token",
        name: "GitHub token",
        anchors: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        folded: false,
        pattern: r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
        check: Check::GitHub,
    },
    Rule {
        id: "github-token-bad-checksum",
        name: "GitHub-shaped token whose checksum fails (a placeholder, or a typo in a real one)",
        anchors: &[],
        folded: false,
        pattern: "",
        check: Check::Derived,
    },
    Rule {
        id: "anthropic-api-key",
        name: "Anthropic API key",
        anchors: &["sk-ant-"],
        folded: false,
        pattern: r"\b(?P<secret>sk-ant-(?:(?:api|admin)\d\d-)?[A-Za-z0-9_\-]{32,300})",
        check: Check::Prefix,
    },
    Rule {
        id: "openai-api-key",
        name: "OpenAI API key",
        // Every OpenAI key holds `T3BlbkFJ` (base64 of "OpenAI") or one of the three named
        // prefixes; `sk-` alone is too short a literal for the line search.
        anchors: &["sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ"],
        folded: false,
        pattern: r"\b(?P<secret>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{32,300})",
        check: Check::OpenAi,
    },
    Rule {
        id: "huggingface-token",
        name: "Hugging Face token",
        anchors: &[],
        folded: false,
        pattern: r"\b(?P<secret>(?:hf_|api_org_)[A-Za-z]{34})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "gitlab-token",
        name: "GitLab token",
        anchors: &["glpat-", "gldt-", "glrt-", "glcbt-", "glptt-"],
        folded: false,
        // The routable form first: `glpat-` + payload + `.` + 2-character version + 7-character
        // base36 CRC; then the classic 20-character forms.
        pattern: r"\b(?P<secret>glpat-[A-Za-z0-9_\-]{27,300}\.[0-9a-z]{2}\.?[0-9a-z]{7}|(?:glpat|gldt|glrt|glcbt|glptt)-[A-Za-z0-9_\-]{20,300})(?:[^A-Za-z0-9_\-.]|$)",
        check: Check::Prefix,
    },
    Rule {
        id: "sendgrid-api-key",
        name: "SendGrid API key",
        anchors: &[],
        folded: false,
        pattern: r"\b(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
        check: Check::Prefix,
    },
    Rule {
        id: "twilio-api-key",
        name: "Twilio API key",
        anchors: &[],
        folded: false,
        pattern: r"\b(?P<secret>SK[0-9a-fA-F]{32})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "databricks-token",
        name: "Databricks token",
        anchors: &["dapi"],
        folded: true,
        pattern: r"\b(?P<secret>dapi[0-9a-f]{32}(?:-[0-9]{1,2})?)\b",
        check: Check::Prefix,
    },
    Rule {
        id: "azure-storage-key",
        name: "Azure storage account key or SAS signature",
        anchors: &["AccountKey=", "sig="],
        folded: false,
        // A SAS `sig` is the base64 of an HMAC-SHA-256 (43 characters and `=`), URL-encoded.
        pattern: r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)|[?&;]sig=(?P<sas>(?:[A-Za-z0-9+/]|%2[BbFf]){43}(?:%3[Dd]|=))",
        check: Check::Prefix,
    },
    Rule {
        id: "perplexity-api-key",
        name: "Perplexity API key",
        anchors: &["pplx-"],
        folded: true,
        pattern: r"\b(?P<secret>pplx-[A-Za-z0-9]{48})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "npm-token",
        name: "npm access token",
        anchors: &["npm_"],
        folded: true,
        pattern: r"\b(?P<secret>npm_[A-Za-z0-9]{36})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "pypi-token",
        name: "PyPI upload token",
        anchors: &["pypi-AgEIcHlwaS5vcmc"],
        folded: false,
        pattern: r"\b(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,1000})",
        check: Check::Prefix,
    },
    Rule {
        id: "notion-token",
        name: "Notion integration token",
        anchors: &["ntn_"],
        folded: true,
        pattern: r"\b(?P<secret>ntn_[A-Za-z0-9]{40,60})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "linear-api-key",
        name: "Linear API key",
        anchors: &["lin_api_"],
        folded: true,
        pattern: r"\b(?P<secret>lin_api_[A-Za-z0-9]{40})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "groq-api-key",
        name: "Groq API key",
        anchors: &["gsk_"],
        folded: true,
        pattern: r"\b(?P<secret>gsk_[A-Za-z0-9]{48,60})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "replicate-token",
        name: "Replicate API token",
        anchors: &[],
        folded: false,
        pattern: r"\b(?P<secret>r8_[A-Za-z0-9]{30,50})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "digitalocean-token",
        name: "DigitalOcean token",
        anchors: &["dop_v1_"],
        folded: true,
        pattern: r"\b(?P<secret>dop_v1_[0-9a-f]{64})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "age-secret-key",
        name: "age secret key",
        anchors: &["AGE-SECRET-KEY-1"],
        folded: false,
        // Bech32's data alphabet, upper case as age writes it.
        pattern: r"\b(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "slack-token",
        name: "Slack token",
        anchors: &[
            "xoxb-",
            "xoxp-",
            "xoxa-",
            "xoxr-",
            "xoxs-",
            "hooks.slack.com/",
        ],
        folded: true,
        pattern: r"\b(?P<secret>xox[bpars]-[0-9A-Za-z\-]{10,100}|hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,})",
        check: Check::Prefix,
    },
    Rule {
        id: "stripe-key",
        name: "Stripe secret key",
        anchors: &["k_live_", "k_test_"],
        folded: false,
        pattern: r"\b(?P<secret>[rs]k_(?:live|test)_[A-Za-z0-9]{16,200})\b",
        check: Check::Prefix,
    },
    Rule {
        id: "google-api-key",
        name: "Google API key",
        anchors: &["AIza"],
        folded: false,
        pattern: r"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
        check: Check::Prefix,
    },
    Rule {
        id: "jwt",
        name: "JSON Web Token",
        // Header and payload both start `eyJ` (`{"`): the second one follows a dot.
        anchors: &[".eyJ"],
        folded: false,
        pattern: r"\b(?P<secret>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,})",
        check: Check::Prefix,
    },
    Rule {
        id: "database-url-password",
        name: "database URL with a password",
        // The last letter of each scheme, and `://`.
        anchors: &["s://", "l://", "b://", "v://", "p://", "r://"],
        folded: true,
        pattern: r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)://[^\s:@/'\x22]+:(?P<secret>[^\s:@/'\x22]{3,})@",
        check: Check::Prefix,
    },
    Rule {
        id: "aws-secret-access-key",
        name: "AWS secret access key",
        anchors: &["secret_access_key", "secretaccesskey", "secret-access-key"],
        folded: true,
        pattern: concat!(
            r"(?i)secret[_-]?access[_-]?key",
            assign!(),
            r#"\\?["']?(?P<secret>[A-Za-z0-9+/]{40})(?:[^A-Za-z0-9+/=]|$)"#
        ),
        check: Check::Keyword,
    },
    Rule {
        id: "twilio-auth-token",
        name: "Twilio auth token",
        anchors: &["auth_token", "authtoken", "auth-token"],
        folded: true,
        pattern: concat!(
            r"(?i)auth[_-]?token",
            assign!(),
            r#"\\?["']?(?P<secret>[0-9a-f]{32})\b"#
        ),
        check: Check::Keyword,
    },
    Rule {
        id: "kaggle-key",
        name: "Kaggle API key",
        anchors: &["kaggle_key", "\"key"],
        folded: true,
        pattern: r#"(?i)(?:kaggle_key(?:\\?["'])?\]?\s{0,4}(?::=|=>|=|:)|\\?"key\\?"\s{0,4}:)\s{0,4}\\?["']?(?P<secret>[0-9a-f]{32})\b"#,
        check: Check::Kaggle,
    },
    Rule {
        id: "wandb-api-key",
        name: "Weights & Biases API key",
        anchors: &["wandb"],
        folded: true,
        pattern: concat!(
            r"(?i)(?:wandb[_-]?api[_-]?key",
            assign!(),
            r#"|wandb\.login\(\s{0,4}(?:key\s{0,4}=\s{0,4})?)\\?["']?(?P<secret>[0-9a-f]{40})\b"#
        ),
        check: Check::Keyword,
    },
    Rule {
        id: "cohere-api-key",
        name: "Cohere API key",
        anchors: &["co_api_key", "cohere"],
        folded: true,
        pattern: concat!(
            r"(?i)(?:(?:co|cohere)[_-]?api[_-]?key",
            assign!(),
            r#"|cohere\.(?:async)?client(?:v2)?\(\s{0,4}(?:api_key\s{0,4}=\s{0,4})?)\\?["']?(?P<secret>[A-Za-z0-9]{40})\b"#
        ),
        check: Check::Random,
    },
    Rule {
        id: "generic-api-key",
        name: "API key or secret assignment",
        // Each `…key` keyword ends in one of these four-byte forms (`api_key`, `x-api-key`,
        // `apikey`, `accesskey`, `privatekey`, `authkey`).
        anchors: &[
            "_key", "-key", "ikey", "skey", "ekey", "hkey", "secret", "token", "passw",
        ],
        folded: true,
        // Value lengths are checked after the match: a bounded repeat (`{16,200}`) would blow
        // the lazy DFA up into a state per count, and it would fall back to a slow engine.
        // A quoted value; or a bare one running to the end of the line or the next separator
        // (`export X_TOKEN=…`, INI `password = …`, Dockerfile `ENV X_SECRET=…`); or Dockerfile's
        // `ENV NAME value`.
        pattern: concat!(
            r"(?i)",
            keyword!(),
            r"[a-z0-9_\-]{0,20}",
            assign!(),
            r#"(?:\\?["'](?P<secret>[A-Za-z0-9+/=_\-.~]{16,})\\?["']|(?P<bare>[A-Za-z0-9+/=_\-~]{16,})(?:[\s;,\\"]|$))"#,
            // In a notebook's raw JSON the line is `"ENV NAME value\n",`.
            r#"|^\s*"?(?-i:ENV)\s+[A-Za-z0-9_]*"#,
            keyword!(),
            r#"[A-Za-z0-9_]*\s+(?P<env>[A-Za-z0-9+/=_\-~]{16,})(?:\s*$|\\[nr]|")"#
        ),
        check: Check::Random,
    },
];
