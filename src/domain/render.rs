//! Text and diagram renderings of selections, plans and playbooks for people.

use std::fmt::Write as _;

use crate::domain::finding::Finding;
use crate::domain::plan::{ParamValue, Plan, StepState};
use crate::domain::playbook::Playbook;
use crate::domain::select::{Selection, Verdict};

pub fn finding_line(f: &Finding) -> String {
    format!(
        "finding {} ({}), severity {}, account {}, region {}{}",
        f.id,
        f.type_name,
        f.severity,
        f.account_id,
        f.region,
        if f.sample { " [SAMPLE]" } else { "" }
    )
}

pub fn selection(f: &Finding, s: &Selection<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", finding_line(f));
    match s.winner {
        Some(w) => {
            let _ = writeln!(out, "  playbook: {} ({})", w.name, w.file);
        }
        None => {
            let _ = writeln!(
                out,
                "  playbook: none (no playbook matches; firebreak takes no action)"
            );
        }
    }
    for c in &s.candidates {
        let line = match &c.verdict {
            Verdict::Selected { because } => format!("selected: {}", because.join(", ")),
            Verdict::Outranked { by, reason } => format!("outranked by {by}: {reason}"),
            Verdict::NotMatched { reason } => format!("not matched: {reason}"),
            Verdict::Exempt { tag } => format!("exempt: the resource carries tag {tag}"),
        };
        let _ = writeln!(out, "    {:<32} {line}", c.playbook.name);
    }
    out
}

pub fn plan(p: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan: finding {} ({}) in account {} region {}{}",
        p.finding_id,
        p.finding_type,
        p.account_id,
        p.region,
        if p.sample {
            " [SAMPLE: live runs refuse it]"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "playbook: {} ({})", p.playbook, p.playbook_file);
    if let Some(r) = &p.no_containment {
        let _ = writeln!(out, "no containment for this type: {r}");
    }
    if !p.inputs.is_empty() {
        let _ = writeln!(out, "inputs:");
        for (k, v) in &p.inputs {
            let _ = writeln!(out, "  {k} = {v}");
        }
    }
    if p.levels.iter().all(Vec::is_empty) {
        let _ = writeln!(
            out,
            "levels: none: every step is skipped (their reasons below)"
        );
    } else {
        let _ = writeln!(out, "levels (steps in one level run at once):");
        for (i, level) in p.levels.iter().enumerate() {
            let _ = writeln!(out, "  {i}: {}", level.join(", "));
        }
        let _ = writeln!(
            out,
            "critical path: {} ({} steps)",
            p.critical_path.join(" → "),
            p.critical_path.len()
        );
    }
    let _ = writeln!(out, "steps:");
    for s in p.steps() {
        let effect = serde_json::to_value(s.effect)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match &s.state {
            StepState::Planned => {
                let _ = writeln!(out, "  {} [{} {}]", s.id, s.action, effect);
            }
            StepState::Skipped { reason } => {
                let _ = writeln!(
                    out,
                    "  {} [{} {}] SKIPPED: {reason}",
                    s.id, s.action, effect
                );
            }
        }
        if !s.needs.is_empty() {
            let _ = writeln!(out, "      needs: {}", s.needs.join(", "));
        }
        if !s.after.is_empty() {
            let _ = writeln!(out, "      after: {}", s.after.join(", "));
        }
        if let Some(w) = &s.when {
            let _ = writeln!(out, "      when (at run time): {w}");
        }
        for (k, v) in &s.params {
            let v = match v {
                ParamValue::Known(v) => v.to_string(),
                ParamValue::Deferred { deferred } => format!("{deferred} (at run time)"),
            };
            let _ = writeln!(out, "      {k} = {v}");
        }
    }
    out
}

/// Graphviz DOT of a playbook's steps: an edge from each need to the step that needs it.
pub fn dot(pb: &Playbook) -> String {
    let mut out = format!(
        "digraph {} {{\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n",
        quote(&pb.name)
    );
    for s in &pb.steps {
        let mut label = format!("{}\\n{}", escape_dot(&s.id), s.action);
        if let Some(w) = &s.when {
            label.push_str(&format!("\\nwhen: {}", escape_dot(w.text.trim())));
        }
        let style = if s.when.is_some() {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(out, "  {} [label=\"{label}\"{style}];", quote(&s.id));
    }
    for s in &pb.steps {
        for n in &s.needs {
            let _ = writeln!(out, "  {} -> {};", quote(&n.value), quote(&s.id));
        }
        // Order only: dotted.
        for n in &s.after {
            let _ = writeln!(
                out,
                "  {} -> {} [style=dotted];",
                quote(&n.value),
                quote(&s.id)
            );
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart of a playbook's steps.
pub fn mermaid(pb: &Playbook) -> String {
    let mut out = String::from("flowchart TD\n");
    let id = |s: &str| format!("s_{}", s.replace('-', "_"));
    for s in &pb.steps {
        let mut label = format!("{}<br/>{}", s.id, s.action);
        if let Some(w) = &s.when {
            label.push_str(&format!("<br/>when: {}", w.text.trim()));
        }
        let _ = writeln!(out, "  {}[\"{}\"]", id(&s.id), label.replace('"', "#quot;"));
    }
    for s in &pb.steps {
        for n in &s.needs {
            let _ = writeln!(out, "  {} --> {}", id(&n.value), id(&s.id));
        }
        for n in &s.after {
            let _ = writeln!(out, "  {} -.-> {}", id(&n.value), id(&s.id));
        }
    }
    // Steps that run only when their `when` holds are dashed, as in the DOT output.
    let conditional: Vec<String> = pb
        .steps
        .iter()
        .filter(|s| s.when.is_some())
        .map(|s| id(&s.id))
        .collect();
    if !conditional.is_empty() {
        out.push_str("  classDef conditional stroke-dasharray: 5 5\n");
        let _ = writeln!(out, "  class {} conditional", conditional.join(","));
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", escape_dot(s))
}

fn escape_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Text for a terminal: control characters (C0 but newline and tab, DEL, C1) and the Unicode
/// bidirectional controls (U+202A–U+202E, U+2066–U+2069) written as `\u{…}` escapes, so that a
/// finding's ESC, NUL or right-to-left override cannot drive the terminal or disguise a line.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let unsafe_char = (c.is_control() && c != '\n' && c != '\t')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        if unsafe_char {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The most characters of a message a line of human output shows.
pub const BRIEF_CHARS: usize = 300;

/// A message for one line of human output: on one line, and cut after [`BRIEF_CHARS`]
/// characters saying how much is left out (an AWS error can be kilobytes: the emulator lists
/// every service it knows). JSON reports and evidence keep the whole text.
pub fn brief(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let n = one_line.chars().count();
    if n <= BRIEF_CHARS {
        return one_line;
    }
    let cut: String = one_line.chars().take(BRIEF_CHARS).collect();
    format!(
        "{}… ({} more characters: the whole message is in the JSON report and the evidence)",
        cut.trim_end(),
        n - BRIEF_CHARS
    )
}

#[cfg(test)]
mod terminal_tests {
    #[test]
    fn long_messages_are_cut_on_one_line() {
        assert_eq!(super::brief("short\nerror"), "short error");
        let long = "x".repeat(7000);
        let b = super::brief(&long);
        assert!(b.starts_with(&"x".repeat(super::BRIEF_CHARS)));
        assert!(b.contains("6700 more characters"), "{b}");
        assert!(b.chars().count() < 400);
        // Cut between characters, never inside one.
        assert!(super::brief(&"é".repeat(500)).starts_with("éé"));
    }

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(
            super::terminal_safe("a\u{1b}[31mb\u{0}c\u{202e}d\ne\tf"),
            "a\\u{1b}[31mb\\u{0}c\\u{202e}d\ne\tf"
        );
    }
}
