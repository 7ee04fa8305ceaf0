//! Reading one playbook file: YAML nodes → typed [`Playbook`], collecting every problem.

mod checks;
mod steps;

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::domain::diag::{Code, Diagnostic};
use crate::domain::expr::{self};
use crate::domain::finding::RESOURCE_TYPES;
use crate::domain::retry::parse_duration;
use crate::domain::yaml::{self, Key, Node, Value as Y};

/// Default step timeout; an action that waits for AWS to finish (`ec2.snapshot_volumes` for
/// its snapshots, `rds.make_db_instance_private` for the change) gets longer.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const WAITING_TIMEOUT: Duration = Duration::from_secs(1800);

/// Parses and checks one playbook. The playbook is returned only when it has no errors
/// (warnings allowed); the diagnostics are returned either way.
pub fn load(src: &str, file: &str) -> (Option<Playbook>, Vec<Diagnostic>) {
    let mut cx = Cx {
        file,
        diags: Vec::new(),
    };
    let root = match yaml::parse(src) {
        Ok(n) => n,
        Err(e) => {
            let mut d = Diagnostic::error(Code::YamlSyntax, file, e.pos, e.message);
            if let Some(h) = e.hint {
                d = d.hint(h);
            }
            return (None, vec![d]);
        }
    };
    let pb = cx.playbook(&root, src);
    let ok = !cx.diags.iter().any(Diagnostic::is_error);
    (pb.filter(|_| ok), cx.diags)
}

/// Every playbook found under some paths, and every diagnostic for them.
#[derive(Debug, Default)]
pub struct LoadedSet {
    pub playbooks: Vec<Playbook>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files read (after expanding folders).
    pub files: Vec<String>,
}

impl LoadedSet {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The playbook `name_or_file` names: its `name`, or the file it was read from. The one
    /// lookup every command uses.
    pub fn find(&self, name_or_file: &str) -> Option<&Playbook> {
        self.playbooks
            .iter()
            .find(|p| p.name == name_or_file || Path::new(&p.file) == Path::new(name_or_file))
    }

    /// Why `name_or_file` names no playbook of the set read from `dir`, with the names there.
    pub fn not_found(&self, name_or_file: &str, dir: &Path) -> String {
        let mut names: Vec<&str> = self.playbooks.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        let there = match names.as_slice() {
            [] => "there are none".to_string(),
            n => format!("the playbooks there are {}", n.join(", ")),
        };
        format!(
            "no playbook named `{name_or_file}` in {}\n  hint: {there}; or pass a playbook file",
            dir.display()
        )
    }
}

/// The playbooks of `dir`, every one valid: a missing folder or any error in them is one
/// message (with the errors and a hint) for the command that needed them.
pub fn load_valid(dir: &Path) -> Result<LoadedSet, LoadError> {
    if !dir.exists() {
        return Err(LoadError::NoFolder(format!(
            "{}: no such playbook folder\n  hint: run from the project folder or pass --playbooks DIR",
            dir.display()
        )));
    }
    let set = load_dir(&[dir]);
    if set.has_errors() {
        let mut msg = format!("the playbooks in {} have errors:\n", dir.display());
        for d in set.diagnostics.iter().filter(|d| d.is_error()) {
            msg.push_str(&format!("{d}\n"));
        }
        msg.push_str(
            "  hint: `firebreak validate` lists every problem; fix them before using the playbooks",
        );
        return Err(LoadError::Invalid(msg));
    }
    Ok(set)
}

/// Why [`load_valid`] gave no playbooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The folder is not there (a usage error).
    #[error("{0}")]
    NoFolder(String),
    /// The playbooks have errors, each listed (problems found).
    #[error("{0}")]
    Invalid(String),
}

impl LoadError {
    /// As the error of a command: invalid playbooks are problems found (exit 1), a missing
    /// folder a usage error (exit 2).
    pub fn into_command_error(self) -> anyhow::Error {
        match self {
            LoadError::Invalid(m) => anyhow::Error::new(crate::domain::exit::Problems(m)),
            LoadError::NoFolder(m) => anyhow::anyhow!(m),
        }
    }
}

/// Loads `*.yaml` / `*.yml` files and folders (not recursive into hidden folders), checks each,
/// then checks them as a set. Files are taken in name order so results are stable.
pub fn load_dir(paths: &[impl AsRef<Path>]) -> LoadedSet {
    let mut set = LoadedSet::default();
    let mut files = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            collect_yaml(p, &mut files, &mut set.diagnostics);
        } else {
            files.push(p.to_path_buf());
        }
    }
    files.sort();
    files.dedup();
    for f in files {
        let name = f.display().to_string();
        match std::fs::read_to_string(&f) {
            Ok(src) => {
                let (pb, diags) = load(&src, &name);
                set.diagnostics.extend(diags);
                set.playbooks.extend(pb);
            }
            Err(e) => set.diagnostics.push(
                Diagnostic::error(
                    Code::Unreadable,
                    &name,
                    Pos { line: 1, column: 1 },
                    format!("cannot read: {e}"),
                )
                .hint("check the path and that the file is UTF-8 text"),
            ),
        }
        set.files.push(name);
    }
    set.diagnostics.extend(check_set(&set.playbooks));
    crate::domain::diag::sort(&mut set.diagnostics);
    set
}

fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>, diags: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::error(
                Code::Unreadable,
                &dir.display().to_string(),
                Pos { line: 1, column: 1 },
                format!("cannot read folder: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_dir() && !hidden {
            collect_yaml(&path, out, diags);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// A `match` block outside a playbook (a triage rule's), read with the playbooks' rules and
/// diagnostics.
pub fn parse_match(node: &Node, file: &str) -> (Option<Match>, Vec<Diagnostic>) {
    let mut cx = Cx {
        file,
        diags: Vec::new(),
    };
    let m = cx.matcher(node);
    (m, cx.diags)
}

struct Cx<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

/// A mapping's entries, by key text.
type Entries<'n> = &'n [(Key, Node)];

const PLAYBOOK_KEYS: &[&str] = &[
    "name",
    "description",
    "runbook",
    "priority",
    "match",
    "no_containment",
    "inputs",
    "steps",
];
const MATCH_KEYS: &[&str] = &[
    "types",
    "resource_types",
    "severity",
    "accounts",
    "regions",
    "exempt_tag",
];
const SEVERITY_KEYS: &[&str] = &["min", "max"];
const FILTER_KEYS: &[&str] = &["include", "exclude"];
const NO_CONTAINMENT_KEYS: &[&str] = &["types", "when", "reason"];
const INPUT_KEYS: &[&str] = &["from", "default", "required", "type", "description"];
const STEP_KEYS: &[&str] = &[
    "id",
    "action",
    "with",
    "needs",
    "after",
    "when",
    "retry",
    "timeout",
    "on_failure",
];
const RETRY_KEYS: &[&str] = &[
    "attempts",
    "interval",
    "backoff_rate",
    "max_delay",
    "jitter",
    "errors",
];

impl Cx<'_> {
    fn err(&mut self, code: Code, pos: Pos, msg: impl Into<String>, hint: impl Into<String>) {
        let hint: String = hint.into();
        let mut d = Diagnostic::error(code, self.file, pos, msg);
        if !hint.is_empty() {
            d = d.hint(hint);
        }
        self.diags.push(d);
    }

    fn warn(&mut self, code: Code, pos: Pos, msg: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(code, self.file, pos, msg).hint(hint.into()));
    }

    fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<Entries<'n>> {
        match &node.value {
            Y::Map(entries) => Some(entries),
            _ => {
                self.err(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be a mapping, found {}", node.kind()),
                    "",
                );
                None
            }
        }
    }

    fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            Y::Seq(items) => Some(items),
            _ => {
                self.err(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be a list, found {}", node.kind()),
                    format!("write it as a YAML list: `{what}: [a, b]` or one `- item` per line"),
                );
                None
            }
        }
    }

    /// Reports keys not in `allowed`, with the closest allowed key as a hint.
    fn check_keys(&mut self, entries: Entries<'_>, allowed: &[&str], context: &str) {
        for (k, _) in entries {
            if !allowed.contains(&k.text.as_str()) {
                let hint = match closest(&k.text, allowed) {
                    Some(c) => format!(
                        "did you mean `{c}`? {context} takes: {}",
                        allowed.join(", ")
                    ),
                    None => format!("{context} takes: {}", allowed.join(", ")),
                };
                self.err(
                    Code::UnknownKey,
                    k.pos,
                    format!("unknown key `{}` in {context}", k.text),
                    hint,
                );
            }
        }
    }

    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Y::Str { text, .. } => Some(text.clone()),
            Y::Int(i) => Some(i.to_string()),
            Y::Float(f) => Some(f.to_string()),
            Y::Bool(b) => Some(b.to_string()),
            _ => {
                self.err(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be text, found {}", node.kind()),
                    "",
                );
                None
            }
        }
    }

    fn text_list(&mut self, node: &Node, what: &str) -> Vec<Located<String>> {
        // One text where a list is expected is taken as a list of one.
        if let Y::Str { .. } = node.value {
            return self
                .text(node, what)
                .map(|value| {
                    vec![Located {
                        value,
                        pos: node.pos,
                    }]
                })
                .unwrap_or_default();
        }
        let Some(items) = self.seq(node, what) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| {
                self.text(i, &format!("each entry of {what}"))
                    .map(|value| Located { value, pos: i.pos })
            })
            .collect()
    }

    fn number(&mut self, node: &Node, what: &str) -> Option<f64> {
        match node.value {
            Y::Int(i) => Some(i as f64),
            Y::Float(f) if f.is_finite() => Some(f),
            _ => {
                self.err(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be a number, found {}", node.kind()),
                    "",
                );
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str) -> Option<i64> {
        match node.value {
            Y::Int(i) => Some(i),
            _ => {
                self.err(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be an integer, found {}", node.kind()),
                    "",
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Y::Bool(b) => Some(b),
            _ => {
                self.err(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be true or false, found {}", node.kind()),
                    "",
                );
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = match &node.value {
            Y::Str { text, .. } => text.clone(),
            Y::Int(i) => {
                // Read as seconds, as before, but said: `timeout: 30` could mean anything.
                self.warn(
                    Code::BareDuration,
                    node.pos,
                    format!("{what} `{i}` has no unit; it is read as {i} seconds"),
                    format!("write the unit: {i}s (or 500ms, 5m, 1h)"),
                );
                format!("{i}s")
            }
            _ => {
                self.err(
                    Code::WrongType,
                    node.pos,
                    format!("{what} must be a duration, found {}", node.kind()),
                    "write durations like 500ms, 30s, 5m or 1h",
                );
                return None;
            }
        };
        let d = parse_duration(&text);
        if d.is_none() {
            self.err(
                Code::InvalidValue,
                node.pos,
                format!("`{text}` is not a duration"),
                "write durations like 500ms, 30s, 5m or 1h",
            );
        }
        d
    }

    fn playbook(&mut self, root: &Node, src: &str) -> Option<Playbook> {
        let entries = self.map(root, "a playbook")?;
        self.check_keys(entries, PLAYBOOK_KEYS, "a playbook");
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.text == k)
                .map(|(_, v)| v)
        };
        for required in ["name", "match", "steps"] {
            if get(required).is_none() {
                self.err(
                    Code::MissingField,
                    root.pos,
                    format!("missing required key `{required}`"),
                    "a playbook needs `name`, `match` and `steps`",
                );
            }
        }
        let name = get("name").and_then(|n| {
            let name = self.text(n, "`name`")?;
            if !valid_name(&name, 80) {
                self.err(
                    Code::InvalidValue,
                    n.pos,
                    format!("playbook name `{name}` is not allowed"),
                    "use 1-80 letters, digits, `-` or `_` (it names the state machine too)",
                );
            }
            Some(name)
        });
        let description = get("description")
            .and_then(|d| self.text(d, "`description`"))
            .unwrap_or_default();
        let runbook = get("runbook").and_then(|d| self.text(d, "`runbook`"));
        let priority = get("priority")
            .and_then(|p| self.integer(p, "`priority`"))
            .unwrap_or(0);
        let matcher = get("match").and_then(|m| self.matcher(m));
        let no_containment = get("no_containment")
            .map(|n| self.no_containment(n))
            .unwrap_or_default();
        let inputs = get("inputs").map(|i| self.inputs(i)).unwrap_or_default();
        let steps = get("steps").map(|s| self.steps(s)).unwrap_or_default();
        if let Some(s) = get("steps")
            && steps.is_empty()
            && matches!(&s.value, Y::Seq(items) if items.is_empty())
        {
            self.err(
                Code::MissingField,
                s.pos,
                "`steps` is empty",
                "a playbook needs at least one step",
            );
        }
        self.check_graph(&steps);
        self.check_references(&inputs, &steps);
        self.check_no_containment_references(&no_containment, &inputs);
        Some(Playbook {
            name: name?,
            description,
            runbook,
            file: self.file.to_string(),
            source: src.to_string(),
            priority,
            matcher: matcher?,
            no_containment,
            inputs,
            steps,
            pos: root.pos,
        })
    }

    fn matcher(&mut self, node: &Node) -> Option<Match> {
        let entries = self.map(node, "`match`")?;
        self.check_keys(entries, MATCH_KEYS, "`match`");
        let mut m = Match {
            pos: node.pos,
            types: Vec::new(),
            resource_types: Vec::new(),
            severity_min: 0.0,
            severity_max: f64::INFINITY,
            accounts: Filter::default(),
            regions: Filter::default(),
            exempt_tag: None,
        };
        let mut has_types = false;
        for (k, v) in entries {
            match k.text.as_str() {
                "types" => {
                    has_types = true;
                    m.types = self.text_list(v, "`match.types`");
                    if m.types.is_empty() {
                        self.err(Code::MissingField, v.pos, "`match.types` is empty", "name at least one finding type pattern, e.g. `UnauthorizedAccess:IAMUser/*`");
                    }
                    for t in m.types.clone() {
                        self.check_type_pattern(&t);
                    }
                }
                "resource_types" => {
                    m.resource_types = self
                        .text_list(v, "`match.resource_types`")
                        .into_iter()
                        .map(|l| {
                            if !RESOURCE_TYPES.contains(&l.value.as_str()) {
                                self.warn(
                                    Code::UnknownResourceType,
                                    l.pos,
                                    format!(
                                        "`{}` is not a resource type GuardDuty documents",
                                        l.value
                                    ),
                                    format!("known: {}", RESOURCE_TYPES.join(", ")),
                                );
                            }
                            l.value
                        })
                        .collect();
                }
                "severity" => {
                    if let Some(se) = self.map(v, "`match.severity`") {
                        self.check_keys(se, SEVERITY_KEYS, "`match.severity`");
                        for (sk, sv) in se {
                            let Some(n) = self.number(sv, &format!("`severity.{}`", sk.text))
                            else {
                                continue;
                            };
                            if !(0.0..=10.0).contains(&n) {
                                self.err(
                                    Code::InvalidValue,
                                    sv.pos,
                                    format!("severity {n} is outside 0-10"),
                                    "GuardDuty severities run from 1.0 to 10.0",
                                );
                            }
                            match sk.text.as_str() {
                                "min" => m.severity_min = n,
                                "max" => m.severity_max = n,
                                _ => {}
                            }
                        }
                        if m.severity_min > m.severity_max {
                            self.err(
                                Code::InvalidValue,
                                v.pos,
                                format!(
                                    "severity min {} is above max {}",
                                    m.severity_min, m.severity_max
                                ),
                                "swap them",
                            );
                        }
                    }
                }
                "accounts" => {
                    m.accounts = self.filter(v, "`match.accounts`");
                    for a in m.accounts.include.iter().chain(&m.accounts.exclude) {
                        if !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())) {
                            self.err(
                                Code::InvalidValue,
                                v.pos,
                                format!("`{a}` is not a 12-digit AWS account id"),
                                "quote account ids so YAML keeps leading zeros: '012345678901'",
                            );
                        }
                    }
                }
                "regions" => m.regions = self.filter(v, "`match.regions`"),
                "exempt_tag" => {
                    if let Some(t) = self.text(v, "`match.exempt_tag`") {
                        let (key, value) = match t.split_once('=') {
                            Some((k, v)) => (k.to_string(), Some(v.to_string())),
                            None => (t.clone(), None),
                        };
                        if key.is_empty() {
                            self.err(
                                Code::InvalidValue,
                                v.pos,
                                "`exempt_tag` has an empty key",
                                "write `key` or `key=value`, e.g. firebreak:exempt",
                            );
                        }
                        m.exempt_tag = Some(TagMatch { key, value });
                    }
                }
                _ => {}
            }
        }
        if !has_types {
            self.err(Code::MissingField, node.pos, "`match` has no `types`", "name the finding types this playbook is for, e.g. `types: [\"UnauthorizedAccess:IAMUser/*\"]`");
        }
        Some(m)
    }

    fn check_type_pattern(&mut self, t: &Located<String>) {
        if !crate::domain::finding::KNOWN_TYPES
            .iter()
            .any(|k| expr::wildcard_match(&t.value, k))
        {
            let hint = match closest(&t.value, &crate::domain::finding::KNOWN_TYPES) {
                Some(c) => format!("no current GuardDuty type matches; did you mean `{c}`? (types get renamed: see data/guardduty-finding-types.txt)"),
                None => "no current GuardDuty type matches it (types get renamed: see data/guardduty-finding-types.txt)".to_string(),
            };
            self.warn(
                Code::UnknownFindingType,
                t.pos,
                format!("type pattern `{}` matches no known finding type", t.value),
                hint,
            );
        }
    }

    fn filter(&mut self, node: &Node, what: &str) -> Filter {
        let mut f = Filter::default();
        if let Y::Seq(_) | Y::Str { .. } = node.value {
            f.include = self
                .text_list(node, what)
                .into_iter()
                .map(|l| l.value)
                .collect();
            return f;
        }
        let Some(entries) = self.map(node, what) else {
            return f;
        };
        self.check_keys(entries, FILTER_KEYS, what);
        for (k, v) in entries {
            let list = self
                .text_list(v, &format!("{what}.{}", k.text))
                .into_iter()
                .map(|l| l.value)
                .collect();
            match k.text.as_str() {
                "include" => f.include = list,
                "exclude" => f.exclude = list,
                _ => {}
            }
        }
        f
    }

    /// A `when` condition.
    fn condition(&mut self, w: &Node) -> Option<Condition> {
        let text = self.text(w, "`when`")?;
        match expr::parse_condition(&text) {
            Ok(expr) => Some(Condition {
                text,
                expr,
                pos: w.pos,
            }),
            Err(e) => {
                self.err(
                    Code::ExprSyntax,
                    w.pos,
                    format!("in `when: {text}`: {e}"),
                    "conditions look like finding.resource.accessKeyDetails.userType == 'IAMUser'",
                );
                None
            }
        }
    }

    fn no_containment(&mut self, node: &Node) -> Vec<NoContainment> {
        let Some(items) = self.seq(node, "`no_containment`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(entries) = self.map(item, "each `no_containment` entry") else {
                continue;
            };
            self.check_keys(entries, NO_CONTAINMENT_KEYS, "a `no_containment` entry");
            let mut types = Vec::new();
            let mut reason = None;
            let mut when = None;
            for (k, v) in entries {
                match k.text.as_str() {
                    "types" => {
                        types = self.text_list(v, "`no_containment.types`");
                        for t in types.clone() {
                            self.check_type_pattern(&t);
                        }
                    }
                    "when" => when = self.condition(v),
                    "reason" => reason = self.text(v, "`reason`"),
                    _ => {}
                }
            }
            // A folded YAML block (`reason: >`) ends with a newline, which is not the reason's.
            match reason
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
            {
                Some(reason) if !types.is_empty() => out.push(NoContainment {
                    types: types.into_iter().map(|t| t.value).collect(),
                    when,
                    reason,
                }),
                Some(_) => self.err(
                    Code::MissingField,
                    item.pos,
                    "a `no_containment` entry needs `types`",
                    "list the finding types left uncontained",
                ),
                None => self.err(
                    Code::MissingField,
                    item.pos,
                    "a `no_containment` entry needs a `reason`",
                    "say why these types get no containment",
                ),
            }
        }
        out
    }

    fn inputs(&mut self, node: &Node) -> Vec<Input> {
        let Some(entries) = self.map(node, "`inputs`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            if !valid_ident(&k.text) {
                self.err(
                    Code::InvalidValue,
                    k.pos,
                    format!("input name `{}` is not allowed", k.text),
                    "use letters, digits and `_`, starting with a letter",
                );
            }
            let mut input = Input {
                name: k.text.clone(),
                pos: k.pos,
                ty: Type::String,
                from: None,
                default: None,
                required: false,
                description: String::new(),
            };
            // `name: ${{ expr }}` is short for `name: {from: ${{ expr }}}`.
            if let Y::Str { text, .. } = &v.value {
                input.from = self.template(text, v.pos);
                out.push(input);
                continue;
            }
            let Some(fields) = self.map(v, &format!("input `{}`", k.text)) else {
                continue;
            };
            self.check_keys(fields, INPUT_KEYS, &format!("input `{}`", k.text));
            for (fk, fv) in fields {
                match fk.text.as_str() {
                    "from" => {
                        if let Some(t) = self.text(fv, "`from`") {
                            input.from = self.template(&t, fv.pos);
                        }
                    }
                    "default" => input.default = Some(fv.to_json()),
                    "required" => input.required = self.boolean(fv, "`required`").unwrap_or(false),
                    "description" => {
                        input.description = self.text(fv, "`description`").unwrap_or_default()
                    }
                    "type" => {
                        if let Some(t) = self.text(fv, "`type`") {
                            match parse_type(&t) {
                                Some(ty) => input.ty = ty,
                                None => self.err(
                                    Code::InvalidValue,
                                    fv.pos,
                                    format!("unknown type `{t}`"),
                                    "types: string, integer, boolean, string_list, string_map",
                                ),
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(d) = &input.default
                && input.ty.coerce(d).is_none()
            {
                self.err(
                    Code::ParamType,
                    input.pos,
                    format!(
                        "the default of input `{}` is not {}",
                        input.name,
                        input.ty.describe()
                    ),
                    "",
                );
            }
            if input.from.is_none() && input.default.is_none() {
                self.err(
                    Code::MissingField,
                    input.pos,
                    format!("input `{}` has neither `from` nor `default`", input.name),
                    "bind it from the finding with `from: ${{ finding.… }}` or give a `default`",
                );
            }
            out.push(input);
        }
        out
    }

    fn template(&mut self, text: &str, pos: Pos) -> Option<Template> {
        match Template::parse(text) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(Code::ExprSyntax, pos, format!("in `{text}`: {e}"), "expressions look like ${{ finding.resource.accessKeyDetails.userName }}; text inside needs 'quotes'");
                None
            }
        }
    }
}

fn parse_type(t: &str) -> Option<Type> {
    Some(match t {
        "string" => Type::String,
        "integer" => Type::Integer,
        "boolean" => Type::Boolean,
        "string_list" => Type::StringList,
        "string_map" => Type::StringMap,
        _ => return None,
    })
}

fn valid_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && s.len() <= 64
}

fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The candidate closest to `word` by edit distance, if close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::levenshtein(&word.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
