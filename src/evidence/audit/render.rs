//! An audit report as text (the terminal) and as one self-contained HTML page.

use super::*;

pub(super) fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

pub(super) fn fmt_time(secs: i64) -> String {
    aws_sdk_s3::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// The text report: failures first, then each execution's timeline and verdict.
pub fn render(r: &AuditReport) -> String {
    let mut out = format!("audit of {}\n", r.target);
    for p in &r.store_problems {
        out.push_str(&format!("  STORE PROBLEM: {p}\n"));
    }
    if r.claims > 0 {
        out.push_str(&format!(
            "  {} claim record(s) of `serve` checked\n",
            r.claims
        ));
    }
    if let Some(line) = index_line(r) {
        out.push_str(&format!("  {line}\n"));
    }
    for e in &r.executions {
        let verdict = if e.passed() { "PASS" } else { "FAIL" };
        out.push_str(&format!(
            "\n{verdict}  execution {} · finding {} · playbook {} · status {} · {} records\n",
            e.execution_id,
            e.finding_id.as_deref().unwrap_or("?"),
            e.playbook.as_deref().unwrap_or("?"),
            e.status.as_deref().unwrap_or("incomplete"),
            e.records
        ));
        for p in &e.problems {
            out.push_str(&format!("  problem: {p}\n"));
        }
        for t in &e.timeline {
            out.push_str(&format!("  {}  {}\n", t.at, t.what));
        }
    }
    if r.executions.is_empty() {
        out.push_str("no executions found\n");
    }
    for n in &r.notes {
        out.push_str(&format!("\nnote: {n}\n"));
    }
    out.push_str(&format!(
        "\nverdict: {} ({} execution(s), {} with problems)\n",
        if r.passed { "PASS" } else { "FAIL" },
        r.executions.len(),
        r.executions.iter().filter(|e| !e.passed()).count()
    ));
    out
}

/// What the index holds, and its head (to give a later audit's `--index-head`).
fn index_line(r: &AuditReport) -> Option<String> {
    let i = r.index.as_ref()?;
    Some(match &i.head {
        Some((seq, sha)) => format!(
            "execution index: {} entr{}, head {seq}:{sha}",
            i.entries,
            if i.entries == 1 { "y" } else { "ies" }
        ),
        None => "execution index: empty".to_string(),
    })
}

/// Prose for HTML: escaped, with `code` spans (the messages are written for a terminal, with
/// backticks) as `<code>`; an unmatched backtick stays as it is.
pub(super) fn prose(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let mut out = String::with_capacity(s.len());
    for (i, part) in parts.iter().enumerate() {
        let closed = i + 1 < parts.len();
        match (i % 2, closed) {
            (1, true) => out.push_str(&format!("<code>{}</code>", esc(part))),
            (1, false) => {
                out.push('`');
                out.push_str(&esc(part));
            }
            _ => out.push_str(&esc(part)),
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) const HTML_STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1b1b1b;padding:0 1em}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}code{font:12px ui-monospace,monospace}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.PASS{color:#fff;background:#1a7f37}.FAIL{color:#fff;background:#cf222e}\
.verdict{display:inline-block;padding:.1em .6em;border-radius:.3em;font-weight:bold}\
tr.failed td,tr.aborted td{background:#ffebe9}tr.skipped td{color:#6e6e6e}ul.problems li{color:#a40e26}";

/// The HTML report: one self-contained page (no scripts, no external resources) with the
/// verdict, the executions (failures first), their problems and timeline tables.
pub fn render_html(r: &AuditReport) -> String {
    let verdict = if r.passed { "PASS" } else { "FAIL" };
    let failing = r.executions.iter().filter(|e| !e.passed()).count();
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>firebreak audit {verdict}: {}</title><style>{HTML_STYLE}</style></head><body>\n\
         <h1>firebreak evidence audit</h1>\n<p><span class=\"verdict {verdict}\">{verdict}</span> \
         <code>{}</code> · {} execution(s), {failing} with problems · firebreak {}</p>\n",
        esc(&r.target),
        esc(&r.target),
        r.executions.len(),
        env!("CARGO_PKG_VERSION"),
    );
    if let Some(line) = index_line(r) {
        o.push_str(&format!("<p>{}</p>\n", esc(&line)));
    }
    if !r.store_problems.is_empty() {
        o.push_str("<h2>Store problems</h2>\n<ul class=\"problems\">\n");
        for p in &r.store_problems {
            o.push_str(&format!("<li>{}</li>\n", prose(p)));
        }
        o.push_str("</ul>\n");
    }
    if !r.notes.is_empty() {
        o.push_str("<h2>What this audit cannot prove</h2>\n<ul>\n");
        for n in &r.notes {
            o.push_str(&format!("<li>{}</li>\n", prose(n)));
        }
        o.push_str("</ul>\n");
    }
    if r.executions.is_empty() {
        o.push_str("<p>No executions found.</p>\n");
    } else {
        o.push_str(
            "<h2>Executions</h2>\n<table><tr><th>Verdict</th><th>Execution</th><th>Finding</th>\
             <th>Account / region</th><th>Playbook</th><th>Status</th><th>Time to contain</th>\
             <th>Records</th><th>Problems</th></tr>\n",
        );
        for e in &r.executions {
            let v = if e.passed() { "PASS" } else { "FAIL" };
            o.push_str(&format!(
                "<tr><td><span class=\"verdict {v}\">{v}</span></td><td><a href=\"#x-{id}\"><code>{id}</code></a></td>\
                 <td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(e.finding_id.as_deref().unwrap_or("?")),
                esc(e.account_id.as_deref().unwrap_or("?")),
                esc(e.region.as_deref().unwrap_or("?")),
                esc(e.playbook.as_deref().unwrap_or("?")),
                esc(e.status.as_deref().unwrap_or("incomplete")),
                e.time_to_contain_ms
                    .map_or_else(|| "—".to_string(), |t| format!("{t} ms")),
                e.records,
                e.problems.len(),
                id = esc(&e.execution_id),
            ));
        }
        o.push_str("</table>\n");
    }
    for e in &r.executions {
        let v = if e.passed() { "PASS" } else { "FAIL" };
        o.push_str(&format!(
            "<h2 id=\"x-{id}\"><span class=\"verdict {v}\">{v}</span> execution <code>{id}</code></h2>\n\
             <p>Evidence at <code>{}</code></p>\n",
            esc(&e.path),
            id = esc(&e.execution_id),
        ));
        if !e.problems.is_empty() {
            o.push_str("<ul class=\"problems\">\n");
            for p in &e.problems {
                o.push_str(&format!("<li>{}</li>\n", prose(p)));
            }
            o.push_str("</ul>\n");
        }
        o.push_str("<table><tr><th>Recorded at (UTC)</th><th>Record</th><th>Outcome</th><th>What happened</th></tr>\n");
        for t in &e.timeline {
            o.push_str(&format!(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&t.outcome),
                esc(&t.at),
                esc(&t.kind),
                esc(&t.outcome),
                prose(&t.what)
            ));
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    /// Issue 16, item 13: messages written with backticks read as code in HTML, escaped.
    #[test]
    fn backticks_become_code() {
        assert_eq!(
            super::prose("run `firebreak audit --sign-key <ALIAS>` again"),
            "run <code>firebreak audit --sign-key &lt;ALIAS&gt;</code> again"
        );
        assert_eq!(super::prose("a ` alone"), "a ` alone");
        assert_eq!(super::prose("<b>"), "&lt;b&gt;");
    }
}
