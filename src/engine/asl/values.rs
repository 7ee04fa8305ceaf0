//! The playbook's values in a state machine: the finding fields it reads (bound once under
//! `$.ctx.f`), templates and parameters as paths and intrinsics, and conditions as Choice rules.

use serde_json::{Map, Value, json};

use super::{ALWAYS_PRESENT, Compiler, Val, intrinsic_text};
use crate::domain::expr::{CmpOp, Expr, Func, Part, Path, Root, Seg, Template};
use crate::domain::playbook::{Step, TValue};

impl Compiler<'_> {
    /// Every optional finding field read by an input, a parameter or a condition.
    pub(super) fn collect_fields(&mut self) {
        let mut paths: Vec<Path> = Vec::new();
        for input in &self.pb.inputs {
            if let Some(t) = &input.from {
                paths.extend(t.paths().into_iter().cloned());
            }
        }
        for step in &self.pb.steps {
            for arg in &step.with {
                for t in arg.value.templates() {
                    paths.extend(t.paths().into_iter().cloned());
                }
            }
            if let Some(w) = &step.when {
                let mut out = Vec::new();
                w.expr.collect_paths(&mut out);
                paths.extend(out.into_iter().cloned());
            }
        }
        for w in self
            .pb
            .no_containment
            .iter()
            .filter_map(|n| n.when.as_ref())
        {
            let mut out = Vec::new();
            w.expr.collect_paths(&mut out);
            paths.extend(out.into_iter().cloned());
        }
        for p in paths {
            if p.root != Root::Finding || always_present(&p.segs) {
                continue;
            }
            let display = p.to_string();
            let key: String = display
                .trim_start_matches("finding.")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            self.fields.entry(display).or_insert((key, p.segs.clone()));
        }
    }

    /// The JSONPath of a path in an expression.
    pub(super) fn path(&mut self, step: Option<&str>, p: &Path) -> Option<String> {
        match p.root {
            Root::Finding if always_present(&p.segs) => Some(finding_jsonpath(&p.segs)),
            Root::Finding => {
                let (key, _) = self.fields.get(&p.to_string())?;
                Some(format!("$.ctx.f.{key}"))
            }
            Root::Inputs => {
                let mut s = String::from("$.ctx.inputs");
                push_segs(&mut s, &p.segs);
                Some(s)
            }
            Root::Steps => {
                // steps.<id>.outputs.<name>[…]: every output exists (null unless succeeded).
                let mut s = String::from("$.steps");
                push_segs(&mut s, &p.segs);
                if !matches!(p.segs.get(1), Some(Seg::Field(f)) if f == "outputs") {
                    self.err(
                        step,
                        format!("`{p}` reads a step's own data, not its outputs"),
                        "read `steps.<id>.outputs.<name>`",
                    );
                    return None;
                }
                if let (Some(Seg::Field(id)), Some(Seg::Field(out))) =
                    (p.segs.first(), p.segs.get(2))
                {
                    let producer = self.pb.step(id).map(|s| s.action);
                    if let Some(action) =
                        producer.filter(|a| a.spec().sfn_unavailable().contains(&out.as_str()))
                    {
                        self.err(
                            step,
                            format!("`{p}`: `{action}` cannot give `{out}` in Step Functions"),
                            "read another output, or run this playbook with the local engine",
                        );
                        return None;
                    }
                }
                Some(s)
            }
        }
    }

    /// A template as a value: literal text, one path, or `States.Format` over paths.
    pub(super) fn template(&mut self, step: Option<&str>, t: &Template) -> Option<Val> {
        match t.parts.as_slice() {
            [] => Some(Val::Lit(json!(""))),
            [Part::Text(s)] => Some(Val::Lit(json!(s))),
            [Part::Expr(Expr::Path(p))] => self.path(step, p).map(Val::Path),
            // The part after the last `/`: the text split at every `/`, its last item.
            [Part::Expr(Expr::Call(Func::Basename, args))]
                if matches!(args.as_slice(), [Expr::Path(_)]) =>
            {
                let [Expr::Path(p)] = args.as_slice() else {
                    return None;
                };
                let p = self.path(step, p)?;
                let parts = format!("States.StringSplit({p}, '/')");
                Some(Val::Path(format!(
                    "States.ArrayGetItem({parts}, States.MathAdd(States.ArrayLength({parts}), -1))"
                )))
            }
            [Part::Expr(e)] => {
                self.unsupported_expr(step, e);
                None
            }
            parts => {
                let mut fmt = String::new();
                let mut args = Vec::new();
                for part in parts {
                    match part {
                        Part::Text(s) => fmt.push_str(&intrinsic_text(s)),
                        Part::Expr(Expr::Path(p)) => {
                            fmt.push_str("{}");
                            args.push(self.path(step, p)?);
                        }
                        Part::Expr(e) => {
                            self.unsupported_expr(step, e);
                            return None;
                        }
                    }
                }
                Some(Val::Path(format!(
                    "States.Format('{fmt}', {})",
                    args.join(", ")
                )))
            }
        }
    }

    pub(super) fn unsupported_expr(&mut self, step: Option<&str>, e: &Expr) {
        self.err(
            step,
            format!(
                "the expression `{}` has no Step Functions equivalent",
                expr_text(e)
            ),
            "in values, use plain field references (`${{ finding.x }}`, `${{ inputs.y }}`), text \
             and `basename(finding.x)` in an input; compute other values in an input",
        );
    }

    /// A parameter value (literal data with templates) as an object entry.
    pub(super) fn tvalue(&mut self, step: &str, v: &TValue) -> Option<Val> {
        match v {
            TValue::Literal(v) => Some(Val::Lit(v.clone())),
            TValue::Template(t) => self.template(Some(step), t),
            TValue::List(items) => {
                // A list with dynamic items: States.Array over each item's path.
                let vals: Vec<Val> = items
                    .iter()
                    .map(|i| self.tvalue(step, i))
                    .collect::<Option<_>>()?;
                if vals.iter().all(|v| matches!(v, Val::Lit(_))) {
                    return Some(Val::Lit(Value::Array(
                        vals.into_iter()
                            .filter_map(|v| match v {
                                Val::Lit(v) => Some(v),
                                Val::Path(_) => None,
                            })
                            .collect(),
                    )));
                }
                let args: Vec<String> = vals
                    .iter()
                    .map(|v| match v {
                        Val::Path(p) => p.clone(),
                        Val::Lit(Value::String(s)) => format!("'{}'", intrinsic_text(s)),
                        Val::Lit(other) => other.to_string(),
                    })
                    .collect();
                Some(Val::Path(format!("States.Array({})", args.join(", "))))
            }
            TValue::Map(entries) => {
                // An object with `.$` keys cannot be a `.$` value itself; the caller puts maps
                // as literal objects whose entries may be paths.
                let mut obj = Map::new();
                for (k, v) in entries {
                    self.tvalue(step, v)?.put(&mut obj, k);
                }
                Some(Val::Lit(Value::Object(obj)))
            }
        }
    }

    /// A key/value parameter as a list of `{Key, Value}` objects: the action's own entries
    /// (`Spec::fixed_tags`) first, then the playbook's, minus any it fixes.
    pub(super) fn tag_list(&mut self, step: &Step, given: Option<&TValue>) -> Option<Value> {
        let instance = step
            .with
            .iter()
            .find(|a| a.name == "instance_id")
            .and_then(|a| self.tvalue(&step.id, &a.value));
        // The action's own tags (`Spec::fixed_tags`), as the local engine sets them.
        let fixed: Vec<(String, Val)> = step
            .action
            .spec()
            .fixed_tags
            .iter()
            .filter_map(|(k, v)| {
                let v = match v {
                    crate::domain::catalog::Fixed::FindingId => {
                        Val::Path("$.ctx.finding.id".into())
                    }
                    crate::domain::catalog::Fixed::ExecutionId => {
                        Val::Path("$$.Execution.Name".into())
                    }
                    crate::domain::catalog::Fixed::InstanceId => instance.clone()?,
                };
                Some((k.to_string(), v))
            })
            .collect();
        let mut list: Vec<Value> = Vec::new();
        let mut put = |key: &str, v: Val| {
            let mut o = Map::new();
            o.insert("Key".into(), json!(key));
            v.put(&mut o, "Value");
            list.push(Value::Object(o));
        };
        for (k, v) in &fixed {
            put(k, v.clone());
        }
        match given {
            None => {}
            Some(TValue::Map(entries)) => {
                for (k, v) in entries {
                    if fixed.iter().any(|(f, _)| k.starts_with(f.as_str())) {
                        continue;
                    }
                    let v = self.tvalue(&step.id, v)?;
                    put(k, v);
                }
            }
            Some(TValue::Literal(Value::Object(m))) => {
                for (k, v) in m {
                    if fixed.iter().any(|(f, _)| k.starts_with(f.as_str())) {
                        continue;
                    }
                    put(k, Val::Lit(json!(crate::domain::expr::to_text(v))));
                }
            }
            Some(_) => {
                self.err(
                    Some(&step.id),
                    "a key/value parameter that is not a mapping",
                    "write the tags as a mapping of text to text",
                );
                return None;
            }
        }
        Some(Value::Array(list))
    }

    /// A `when` expression as a Choice rule (true when the condition holds). Its paths are
    /// bound (a missing field is null), so the rule never fails at run time.
    pub(super) fn condition(&mut self, step: Option<&str>, e: &Expr) -> Option<Value> {
        Some(match e {
            Expr::Not(inner) => json!({"Not": self.condition(step, inner)?}),
            Expr::And(a, b) => {
                json!({"And": [self.condition(step, a)?, self.condition(step, b)?]})
            }
            Expr::Or(a, b) => json!({"Or": [self.condition(step, a)?, self.condition(step, b)?]}),
            Expr::Path(p) => truthy(&self.path(step, p)?),
            // Two values equal (or not): of one type, and equal as that type (both null too).
            Expr::Compare(a, op @ (CmpOp::Eq | CmpOp::Ne), b)
                if let (Expr::Path(p), Expr::Path(q)) = (a.as_ref(), b.as_ref()) =>
            {
                let (x, y) = (self.path(step, p)?, self.path(step, q)?);
                let same = |is: &str, equals: &str| {
                    json!({"And": [
                        {"Variable": x, is: true},
                        {"Variable": y, is: true},
                        {"Variable": x, equals: y},
                    ]})
                };
                let eq = json!({"Or": [
                    same("IsString", "StringEqualsPath"),
                    same("IsBoolean", "BooleanEqualsPath"),
                    same("IsNumeric", "NumericEqualsPath"),
                    {"And": [{"Variable": x, "IsNull": true}, {"Variable": y, "IsNull": true}]},
                ]});
                if *op == CmpOp::Ne {
                    json!({"Not": eq})
                } else {
                    eq
                }
            }
            Expr::Compare(a, op, b) => {
                let (path, lit, op) = match (a.as_ref(), b.as_ref()) {
                    (Expr::Path(p), Expr::Literal(v)) => (p, v, *op),
                    (Expr::Literal(v), Expr::Path(p)) => (p, v, flip(*op)),
                    _ => {
                        self.unsupported_condition(step, e);
                        return None;
                    }
                };
                let var = self.path(step, path)?;
                let eq = match lit {
                    Value::String(s) => json!({"Variable": var, "StringEquals": s}),
                    Value::Bool(b) => json!({"Variable": var, "BooleanEquals": b}),
                    Value::Null => json!({"Variable": var, "IsNull": true}),
                    Value::Number(n) => {
                        let key = match op {
                            CmpOp::Eq | CmpOp::Ne => "NumericEquals",
                            CmpOp::Lt => "NumericLessThan",
                            CmpOp::Le => "NumericLessThanEquals",
                            CmpOp::Gt => "NumericGreaterThan",
                            CmpOp::Ge => "NumericGreaterThanEquals",
                        };
                        let rule = json!({"And": [
                            {"Variable": var, "IsNumeric": true},
                            {"Variable": var, key: n},
                        ]});
                        return Some(if op == CmpOp::Ne {
                            json!({"Not": rule})
                        } else {
                            rule
                        });
                    }
                    _ => {
                        self.unsupported_condition(step, e);
                        return None;
                    }
                };
                match op {
                    CmpOp::Eq => eq,
                    CmpOp::Ne => json!({"Not": eq}),
                    _ => {
                        self.unsupported_condition(step, e);
                        return None;
                    }
                }
            }
            Expr::Call(
                f @ (Func::StartsWith | Func::EndsWith | Func::Contains | Func::Matches),
                args,
            ) => {
                let (Some(Expr::Path(p)), Some(Expr::Literal(Value::String(s)))) =
                    (args.first(), args.get(1))
                else {
                    self.unsupported_condition(step, e);
                    return None;
                };
                let pattern = match f {
                    Func::StartsWith => format!("{}*", literal_glob(s)),
                    Func::EndsWith => format!("*{}", literal_glob(s)),
                    Func::Contains => format!("*{}*", literal_glob(s)),
                    _ => match glob(s) {
                        Some(g) => g,
                        None => {
                            self.unsupported_condition(step, e);
                            return None;
                        }
                    },
                };
                let var = self.path(step, p)?;
                json!({"And": [
                    {"Variable": var, "IsString": true},
                    {"Variable": var, "StringMatches": pattern},
                ]})
            }
            _ => {
                self.unsupported_condition(step, e);
                return None;
            }
        })
    }

    pub(super) fn unsupported_condition(&mut self, step: Option<&str>, e: &Expr) {
        self.err(
            step,
            format!("the condition part `{e:?}` has no Step Functions Choice rule"),
            "use field references, comparisons with literals, `==` and `!=` between two fields, \
             startsWith/endsWith/contains/matches with a literal, `!`, `&&` and `||`",
        );
    }
}

/// A JSONPath reference into a finding field from `$.ctx.finding`.
pub(super) fn finding_jsonpath(segs: &[Seg]) -> String {
    let mut s = String::from("$.ctx.finding");
    push_segs(&mut s, segs);
    s
}

pub(super) fn push_segs(s: &mut String, segs: &[Seg]) {
    for seg in segs {
        match seg {
            Seg::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
}

/// A glob for `StringMatches`: the pattern's `*` stays a wildcard, a `\` is escaped.
pub(super) fn glob(pattern: &str) -> Option<String> {
    if pattern.contains('?') {
        return None;
    }
    Some(pattern.replace('\\', "\\\\"))
}

/// A literal as a `StringMatches` pattern (its `*` and `\` escaped).
pub(super) fn literal_glob(text: &str) -> String {
    text.replace('\\', "\\\\").replace('*', "\\*")
}

pub(super) fn always_present(segs: &[Seg]) -> bool {
    matches!(segs, [Seg::Field(f)] if ALWAYS_PRESENT.contains(&f.as_str()))
}

pub(super) fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// `expr::truthy` as a Choice rule: not null, not "", not false, not 0. (Empty lists and maps
/// are truthy here: Choice rules cannot see a list's length.)
pub(super) fn truthy(var: &str) -> Value {
    json!({"And": [
        {"Variable": var, "IsPresent": true},
        {"Variable": var, "IsNull": false},
        {"Not": {"And": [{"Variable": var, "IsString": true}, {"Variable": var, "StringEquals": ""}]}},
        {"Not": {"And": [{"Variable": var, "IsBoolean": true}, {"Variable": var, "BooleanEquals": false}]}},
        {"Not": {"And": [{"Variable": var, "IsNumeric": true}, {"Variable": var, "NumericEquals": 0}]}},
    ]})
}

/// An expression as a playbook writes it, for messages (a condition in full is not needed).
fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Literal(v) => v.to_string(),
        Expr::Path(p) => p.to_string(),
        Expr::Call(f, args) => {
            let name = Func::ALL
                .iter()
                .find(|(_, g, _)| g == f)
                .map_or("?", |(n, _, _)| *n);
            let args: Vec<String> = args.iter().map(expr_text).collect();
            format!("{name}({})", args.join(", "))
        }
        Expr::Not(_) | Expr::And(..) | Expr::Or(..) | Expr::Compare(..) => "a condition".into(),
    }
}
