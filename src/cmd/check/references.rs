//! `check`'s lines about a file's secret-manager references: each reference with its provider
//! and whether its CLI is installed, whether each CLI answers its "who am I", and with
//! `--resolve` whether each reference resolves. Only an allowed file starts a CLI: what an
//! unallowed file names is reported as written, and nothing is run for it.

use super::Report;
use crate::error::Refusal;
use crate::load::dotenv::Binding;
use crate::load::resolve::{self, Finding};

pub(super) fn report(
    path: &std::path::Path,
    bindings: &[Binding],
    untrusted: Option<&Refusal>,
    fetch: bool,
    report: &mut Report,
) {
    if let Some(refusal) = untrusted.filter(|_| fetch) {
        report.warn(
            "references not fetched: the file is not allowed",
            &refusal.fix,
        );
    }
    let allowed = untrusted.is_none();
    for finding in resolve::survey(path, bindings, fetch && allowed) {
        match finding {
            Finding::Ready(line) => report.pass(line),
            Finding::Warning(line, fix) => report.warn(line, fix),
            Finding::Refused(refusal) => report.fail(&refusal),
        }
    }
    // A fetch already answered for its CLI; without one, ask each CLI who is signed in.
    if fetch || !allowed {
        return;
    }
    for probe in resolve::probe(bindings) {
        match probe.answered {
            Ok(()) => report.pass(format!("`{}` is answering (signed in)", probe.program)),
            Err((problem, fix)) => report.warn(
                format!("`{}` is not answering: {problem}", probe.program),
                fix,
            ),
        }
    }
}
