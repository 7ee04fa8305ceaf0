//! Reading one playbook file: YAML nodes → typed [`Playbook`], collecting every problem.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value as J;

use super::*;
use crate::catalog::Action;
use crate::diag::{Code, Diagnostic};
use crate::expr::{self, Root, Seg};
use crate::finding::RESOURCE_TYPES;
use crate::retry::{ErrorClass, Jitter, RetryPolicy, parse_duration};
use crate::yaml::{self, Key, Node, Value as Y};

/// Default step timeout; `ec2.snapshot_volumes` waits for snapshots and gets longer.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(1800);

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
            LoadError::Invalid(m) => anyhow::Error::new(crate::exit::Problems(m)),
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
    crate::diag::sort(&mut set.diagnostics);
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

struct Cx<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

/// A mapping's entries, by key text.
type Entries<'n> = &'n [(Key, Node)];

const PLAYBOOK_KEYS: &[&str] = &[
    "name",
    "description",
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
            Y::Int(i) => format!("{i}s"),
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
        if !crate::finding::KNOWN_TYPES
            .iter()
            .any(|k| expr::wildcard_match(&t.value, k))
        {
            let hint = match closest(&t.value, &crate::finding::KNOWN_TYPES) {
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
            match reason.filter(|r| !r.trim().is_empty()) {
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

    fn steps(&mut self, node: &Node) -> Vec<Step> {
        let Some(items) = self.seq(node, "`steps`") else {
            return Vec::new();
        };
        let mut out: Vec<Step> = Vec::new();
        let mut seen: HashMap<String, Pos> = HashMap::new();
        for item in items {
            let Some(step) = self.step(item) else {
                continue;
            };
            if let Some(first) = seen.get(&step.id) {
                self.err(
                    Code::DuplicateStepId,
                    step.pos,
                    format!(
                        "duplicate step id `{}` (first used at line {})",
                        step.id, first.line
                    ),
                    "step ids must be unique within a playbook",
                );
                continue;
            }
            seen.insert(step.id.clone(), step.pos);
            out.push(step);
        }
        out
    }

    fn step(&mut self, node: &Node) -> Option<Step> {
        let entries = self.map(node, "a step")?;
        self.check_keys(entries, STEP_KEYS, "a step");
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.text == k)
                .map(|(_, v)| v)
        };
        let id = match get("id") {
            Some(v) => {
                let id = self.text(v, "`id`")?;
                if !valid_ident(&id) {
                    self.err(Code::InvalidValue, v.pos, format!("step id `{id}` is not allowed"), "use letters, digits, `_` and `-`, starting with a letter (ids appear in ${{ steps.<id>.outputs… }})");
                }
                id
            }
            None => {
                self.err(
                    Code::MissingField,
                    node.pos,
                    "a step has no `id`",
                    "give every step a unique `id`",
                );
                return None;
            }
        };
        let action = match get("action") {
            Some(v) => {
                let name = self.text(v, "`action`")?;
                match Action::from_name(&name) {
                    Some(a) => Some(a),
                    None => {
                        let names: Vec<&str> = Action::ALL.iter().map(|a| a.spec().name).collect();
                        let hint = match closest(&name, &names) {
                            Some(c) => {
                                format!("did you mean `{c}`? `firebreak actions` lists the catalog")
                            }
                            None => "`firebreak actions` lists the catalog".into(),
                        };
                        self.err(
                            Code::UnknownAction,
                            v.pos,
                            format!("unknown action `{name}` in step `{id}`"),
                            hint,
                        );
                        None
                    }
                }
            }
            None => {
                self.err(
                    Code::MissingField,
                    node.pos,
                    format!("step `{id}` has no `action`"),
                    "name an action from the catalog, e.g. `iam.deactivate_access_key`",
                );
                None
            }
        };
        let with = match (get("with"), action) {
            (Some(w), Some(a)) => self.args(w, a, &id),
            (None, Some(a)) => {
                for p in a.spec().params.iter().filter(|p| p.required) {
                    self.err(
                        Code::MissingParam,
                        node.pos,
                        format!(
                            "step `{id}` ({a}) is missing required parameter `{}`",
                            p.name
                        ),
                        format!("add `with: {{{}: …}}`: {}", p.name, p.doc),
                    );
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        let needs = get("needs")
            .map(|n| self.text_list(n, "`needs`"))
            .unwrap_or_default();
        let when = get("when").and_then(|w| self.condition(w));
        let retry = get("retry").map(|r| self.retry(r)).unwrap_or_default();
        let timeout = get("timeout")
            .and_then(|t| self.duration(t, "`timeout`"))
            .unwrap_or(if action == Some(Action::Ec2SnapshotVolumes) {
                SNAPSHOT_TIMEOUT
            } else {
                DEFAULT_TIMEOUT
            });
        if timeout.is_zero() {
            self.err(
                Code::InvalidValue,
                node.pos,
                "`timeout` must be more than zero",
                "",
            );
        }
        let on_failure = match get("on_failure") {
            None => OnFailure::Continue,
            Some(v) => match self.text(v, "`on_failure`").as_deref() {
                Some("abort") => OnFailure::Abort,
                Some("continue") => OnFailure::Continue,
                Some(other) => {
                    self.err(Code::InvalidValue, v.pos, format!("`on_failure: {other}` is not known"), "use `abort` (start nothing more) or `continue` (skip only dependent steps)");
                    OnFailure::Continue
                }
                None => OnFailure::Continue,
            },
        };
        Some(Step {
            id,
            pos: node.pos,
            action: action?,
            with,
            needs,
            when,
            retry,
            timeout,
            on_failure,
        })
    }

    fn args(&mut self, node: &Node, action: Action, id: &str) -> Vec<Arg> {
        let spec = action.spec();
        let Some(entries) = self.map(node, "`with`") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(param) = spec.param(&k.text) else {
                let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                let hint = match closest(&k.text, &names) {
                    Some(c) => format!("did you mean `{c}`? {action} takes: {}", names.join(", ")),
                    None => format!("{action} takes: {}", names.join(", ")),
                };
                self.err(
                    Code::UnknownParam,
                    k.pos,
                    format!("unknown parameter `{}` for {action} in step `{id}`", k.text),
                    hint,
                );
                continue;
            };
            let Some(value) = self.tvalue(v) else {
                continue;
            };
            match &value {
                TValue::Template(t) if t.is_dynamic() => {
                    let single = t.parts.len() == 1;
                    if !single && param.ty != Type::String {
                        self.err(Code::ParamType, v.pos, format!("parameter `{}` of {action} must be {}, but text mixed with ${{{{ … }}}} is always text", param.name, param.ty.describe()), "use a single ${{ … }} expression for non-text parameters");
                    }
                }
                _ => {
                    let literal = v.to_json();
                    if value.templates().iter().all(|t| !t.is_dynamic())
                        && param.ty.coerce(&literal).is_none()
                    {
                        self.err(
                            Code::ParamType,
                            v.pos,
                            format!(
                                "parameter `{}` of {action} must be {}, found {}",
                                param.name,
                                param.ty.describe(),
                                v.kind()
                            ),
                            param.doc,
                        );
                    }
                }
            }
            out.push(Arg {
                name: k.text.clone(),
                pos: k.pos,
                value,
            });
        }
        for p in spec.params.iter().filter(|p| p.required) {
            if !entries.iter().any(|(k, _)| k.text == p.name) {
                self.err(
                    Code::MissingParam,
                    node.pos,
                    format!(
                        "step `{id}` ({action}) is missing required parameter `{}`",
                        p.name
                    ),
                    format!("{}: {}", p.name, p.doc),
                );
            }
        }
        out
    }

    fn tvalue(&mut self, node: &Node) -> Option<TValue> {
        Some(match &node.value {
            Y::Str { text, .. } => {
                let t = self.template(text, node.pos)?;
                if t.is_dynamic() {
                    TValue::Template(t)
                } else {
                    TValue::Literal(J::String(text.clone()))
                }
            }
            Y::Seq(items) => TValue::List(items.iter().filter_map(|i| self.tvalue(i)).collect()),
            Y::Map(entries) => TValue::Map(
                entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.text.clone(), self.tvalue(v)?)))
                    .collect(),
            ),
            _ => TValue::Literal(node.to_json()),
        })
    }

    fn retry(&mut self, node: &Node) -> RetryPolicy {
        let mut p = RetryPolicy::default();
        if let Y::Bool(false) = node.value {
            p.attempts = 1;
            return p;
        }
        let Some(entries) = self.map(node, "`retry`") else {
            return p;
        };
        self.check_keys(entries, RETRY_KEYS, "`retry`");
        for (k, v) in entries {
            match k.text.as_str() {
                "attempts" => {
                    if let Some(n) = self.integer(v, "`retry.attempts`") {
                        if (1..=20).contains(&n) {
                            p.attempts = n as u32;
                        } else {
                            self.err(
                                Code::InvalidValue,
                                v.pos,
                                format!("`attempts: {n}` is outside 1-20"),
                                "attempts counts every try, the first included",
                            );
                        }
                    }
                }
                "interval" => {
                    p.interval = self.duration(v, "`retry.interval`").unwrap_or(p.interval)
                }
                "max_delay" => {
                    p.max_delay = self.duration(v, "`retry.max_delay`").unwrap_or(p.max_delay)
                }
                "backoff_rate" => {
                    if let Some(n) = self.number(v, "`retry.backoff_rate`") {
                        if (1.0..=10.0).contains(&n) {
                            p.backoff_rate = n;
                        } else {
                            self.err(
                                Code::InvalidValue,
                                v.pos,
                                format!("`backoff_rate: {n}` is outside 1.0-10.0"),
                                "Step Functions accepts 1.0 to 10.0 (2.0 doubles each delay)",
                            );
                        }
                    }
                }
                "jitter" => match self.text(v, "`retry.jitter`").as_deref() {
                    Some("full") => p.jitter = Jitter::Full,
                    Some("none") => p.jitter = Jitter::None,
                    Some(other) => self.err(
                        Code::InvalidValue,
                        v.pos,
                        format!("`jitter: {other}` is not known"),
                        "use `full` or `none`",
                    ),
                    None => {}
                },
                "errors" => {
                    let mut classes = BTreeSet::new();
                    for e in self.text_list(v, "`retry.errors`") {
                        match ErrorClass::parse(&e.value) {
                            Some(cs) => classes.extend(cs.iter().copied()),
                            None => self.err(
                                Code::InvalidValue,
                                e.pos,
                                format!("unknown error class `{}`", e.value),
                                format!("retry can name: {}", ErrorClass::NAMES),
                            ),
                        }
                    }
                    p.errors = classes.into_iter().collect();
                }
                _ => {}
            }
        }
        p
    }

    /// Unknown needs, self-needs and cycles.
    fn check_graph(&mut self, steps: &[Step]) {
        let index: HashMap<&str, usize> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut g: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..steps.len()).map(|i| g.add_node(i)).collect();
        for (i, s) in steps.iter().enumerate() {
            for n in &s.needs {
                match index.get(n.value.as_str()) {
                    Some(&j) if j == i => self.err(
                        Code::DependencyCycle,
                        n.pos,
                        format!("step `{}` needs itself", s.id),
                        "remove it from its own `needs`",
                    ),
                    Some(&j) => {
                        g.update_edge(nodes[j], nodes[i], ());
                    }
                    None => {
                        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
                        let hint = match closest(&n.value, &ids) {
                            Some(c) => format!("did you mean `{c}`?"),
                            None => format!("steps in this playbook: {}", ids.join(", ")),
                        };
                        self.err(
                            Code::UnknownNeed,
                            n.pos,
                            format!(
                                "step `{}` needs `{}`, which is not a step of this playbook",
                                s.id, n.value
                            ),
                            hint,
                        );
                    }
                }
            }
        }
        for scc in petgraph::algo::tarjan_scc(&g) {
            if scc.len() < 2 {
                continue;
            }
            let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
            let Some(&start) = members.iter().min_by_key(|n| g[**n]) else {
                continue;
            };
            // Walk successors inside the component until a node repeats: that is a cycle.
            let mut path = vec![start];
            let mut cur = start;
            while let Some(next) = g
                .neighbors(cur)
                .filter(|n| members.contains(n))
                .min_by_key(|n| g[*n])
            {
                if let Some(at) = path.iter().position(|p| *p == next) {
                    path.drain(..at);
                    path.push(next);
                    break;
                }
                path.push(next);
                cur = next;
            }
            let names: Vec<&str> = path.iter().map(|n| steps[g[*n]].id.as_str()).collect();
            let first = &steps[g[path[0]]];
            self.err(Code::DependencyCycle, first.pos, format!("dependency cycle: {}", names.join(" → ")), "steps run after the steps they need; break the cycle by removing one `needs` entry");
        }
    }

    /// A `no_containment` condition is decided before any step runs: it reads known finding
    /// fields and declared inputs only.
    fn check_no_containment_references(&mut self, rules: &[NoContainment], inputs: &[Input]) {
        for c in rules.iter().filter_map(|r| r.when.as_ref()) {
            for p in c.expr.paths() {
                match p.root {
                    Root::Finding => self.check_finding_path(p, c.pos),
                    Root::Inputs => {
                        let declared = matches!(p.segs.first(), Some(Seg::Field(n)) if inputs.iter().any(|i| &i.name == n));
                        if !declared {
                            self.err(
                                Code::UnknownInput,
                                c.pos,
                                format!("`no_containment` condition reads `{p}`, which is not a declared input"),
                                "declare it under `inputs:`",
                            );
                        }
                    }
                    Root::Steps => self.err(
                        Code::UnknownStep,
                        c.pos,
                        format!("`no_containment` condition reads `{p}`: it is decided before any step runs"),
                        "read the finding or the inputs",
                    ),
                }
            }
        }
    }

    /// Every expression's paths: known finding fields, declared inputs, and outputs of steps that
    /// the reading step (transitively) needs.
    fn check_references(&mut self, inputs: &[Input], steps: &[Step]) {
        let input_names: BTreeSet<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        let by_id: BTreeMap<&str, &Step> = steps.iter().map(|s| (s.id.as_str(), s)).collect();
        for input in inputs {
            if let Some(t) = &input.from {
                for p in t.paths() {
                    match p.root {
                        Root::Finding => self.check_finding_path(p, input.pos),
                        Root::Inputs | Root::Steps => self.err(
                            Code::UnknownInput,
                            input.pos,
                            format!(
                                "input `{}` reads `{p}`: inputs are bound from the finding only",
                                input.name
                            ),
                            "compute it in the step that needs it instead",
                        ),
                    }
                }
            }
        }
        for step in steps {
            let ancestors = ancestors(step, &by_id);
            let mut paths: Vec<(&expr::Path, Pos)> = Vec::new();
            for arg in &step.with {
                for t in arg.value.templates() {
                    paths.extend(t.paths().into_iter().map(|p| (p, arg.pos)));
                }
            }
            if let Some(c) = &step.when {
                paths.extend(c.expr.paths().into_iter().map(|p| (p, c.pos)));
            }
            for (p, pos) in paths {
                match p.root {
                    Root::Finding => self.check_finding_path(p, pos),
                    Root::Inputs => match p.segs.first() {
                        Some(Seg::Field(name)) if input_names.contains(name.as_str()) => {}
                        Some(Seg::Field(name)) => {
                            let names: Vec<&str> = input_names.iter().copied().collect();
                            let hint = match closest(name, &names) {
                                Some(c) => format!("did you mean `inputs.{c}`?"),
                                None if names.is_empty() => {
                                    "this playbook declares no inputs".into()
                                }
                                None => format!("declared inputs: {}", names.join(", ")),
                            };
                            self.err(
                                Code::UnknownInput,
                                pos,
                                format!("`{p}` names an input this playbook does not declare"),
                                hint,
                            );
                        }
                        _ => self.err(
                            Code::UnknownInput,
                            pos,
                            format!("`{p}` must name an input: inputs.<name>"),
                            "",
                        ),
                    },
                    Root::Steps => self.check_step_path(p, pos, step, &by_id, &ancestors),
                }
            }
        }
    }

    fn check_finding_path(&mut self, p: &expr::Path, pos: Pos) {
        if let Err((bad, options)) = finding_field_known(&p.segs) {
            let names: Vec<&str> = options.iter().map(String::as_str).collect();
            let hint = match closest(&bad, &names) {
                Some(c) => format!("did you mean `{c}`?"),
                None if names.is_empty() => {
                    "see data/finding-fields.txt for the fields a finding has".into()
                }
                None => format!("fields here: {}", names.join(", ")),
            };
            self.err(
                Code::UnknownFindingField,
                pos,
                format!("`{p}`: a GuardDuty finding has no field `{bad}` there"),
                hint,
            );
        }
    }

    fn check_step_path(
        &mut self,
        p: &expr::Path,
        pos: Pos,
        step: &Step,
        by_id: &BTreeMap<&str, &Step>,
        ancestors: &BTreeSet<String>,
    ) {
        let (Some(Seg::Field(target)), Some(Seg::Field(outputs)), Some(Seg::Field(output))) =
            (p.segs.first(), p.segs.get(1), p.segs.get(2))
        else {
            self.err(
                Code::UnknownStep,
                pos,
                format!("`{p}` must read a step output: steps.<id>.outputs.<name>"),
                "",
            );
            return;
        };
        let Some(other) = by_id.get(target.as_str()) else {
            let ids: Vec<&str> = by_id.keys().copied().collect();
            let hint = match closest(target, &ids) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("steps: {}", ids.join(", ")),
            };
            self.err(
                Code::UnknownStep,
                pos,
                format!("`{p}` reads step `{target}`, which is not a step of this playbook"),
                hint,
            );
            return;
        };
        if outputs != "outputs" {
            self.err(
                Code::UnknownStep,
                pos,
                format!("`{p}` must read a step output: steps.{target}.outputs.<name>"),
                "",
            );
            return;
        }
        let spec = other.action.spec();
        if spec.output(output).is_none() {
            let names: Vec<&str> = spec.outputs.iter().map(|o| o.name).collect();
            let hint = if names.is_empty() {
                format!("{} has no outputs", other.action)
            } else {
                format!("{} outputs: {}", other.action, names.join(", "))
            };
            self.err(
                Code::UnknownOutput,
                pos,
                format!("`{p}`: {} has no output `{output}`", other.action),
                hint,
            );
            return;
        }
        if target == &step.id {
            self.err(
                Code::OutputWithoutNeeds,
                pos,
                format!("step `{}` reads its own output `{p}`", step.id),
                "a step can read only outputs of steps that ran before it",
            );
        } else if !ancestors.contains(target.as_str()) {
            self.err(
                Code::OutputWithoutNeeds,
                pos,
                format!(
                    "step `{}` reads `{p}` but does not need step `{target}`",
                    step.id
                ),
                format!(
                    "add `{target}` to the `needs` of `{}` so it runs first",
                    step.id
                ),
            );
        }
    }
}

/// Ids of every step `step` needs, directly or through others (cycles tolerated).
fn ancestors(step: &Step, by_id: &BTreeMap<&str, &Step>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = step.needs.iter().map(|n| n.value.as_str()).collect();
    while let Some(id) = stack.pop() {
        if seen.insert(id.to_string())
            && let Some(s) = by_id.get(id)
        {
            stack.extend(s.needs.iter().map(|n| n.value.as_str()));
        }
    }
    seen
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
