//! The playbook expression language: `${{ … }}` templates and `when` conditions over the finding,
//! the playbook's inputs and earlier steps' outputs. Evaluation yields JSON values and never
//! re-parses them, so text from a finding is always data and can never become syntax.
//!
//! Grammar (whitespace between tokens is free):
//! ```text
//! expr    := or
//! or      := and ( "||" and )*
//! and     := not ( "&&" not )*
//! not     := "!" not | compare
//! compare := primary ( ("==" | "!=" | "<" | "<=" | ">" | ">=") primary )?
//! primary := literal | call | path | "(" expr ")"
//! path    := ident ( "." ident | "[" integer "]" )*     -- roots: finding, inputs, steps
//! call    := ident "(" ( expr ( "," expr )* )? ")"
//! literal := 'text' | "text" | number | true | false | null
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    Path(Path),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Box<Expr>, CmpOp, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The root a path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Finding,
    Inputs,
    Steps,
}

/// One step of a path: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Field(String),
    Index(usize),
}

/// `root.seg.seg[0]…`, with the byte offset where it starts in the expression text.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub root: Root,
    pub segs: Vec<Seg>,
    pub offset: usize,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.root {
            Root::Finding => "finding",
            Root::Inputs => "inputs",
            Root::Steps => "steps",
        })?;
        for s in &self.segs {
            match s {
                Seg::Field(name) => write!(f, ".{name}")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// The built-in functions. A closed set: a playbook cannot define more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Lower,
    Upper,
    Length,
    Join,
    Coalesce,
    Basename,
    Tag,
}

impl Func {
    pub const ALL: &'static [(&'static str, Func, &'static str)] = &[
        (
            "contains",
            Func::Contains,
            "contains(haystack, needle): text contains text, or list contains value",
        ),
        ("startsWith", Func::StartsWith, "startsWith(text, prefix)"),
        ("endsWith", Func::EndsWith, "endsWith(text, suffix)"),
        (
            "matches",
            Func::Matches,
            "matches(text, pattern): `*` matches any run of characters, `?` one",
        ),
        ("lower", Func::Lower, "lower(text)"),
        ("upper", Func::Upper, "upper(text)"),
        ("length", Func::Length, "length(text | list | mapping)"),
        ("join", Func::Join, "join(list, separator)"),
        (
            "coalesce",
            Func::Coalesce,
            "coalesce(a, b, …): the first value that is not null",
        ),
        (
            "basename",
            Func::Basename,
            "basename(text): the part after the last `/` (a role name from an ARN)",
        ),
        (
            "tag",
            Func::Tag,
            "tag(tags, key): the value of `key` in a list of {key, value} tags, or null",
        ),
    ];

    fn by_name(name: &str) -> Option<Func> {
        Func::ALL
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, f, _)| *f)
    }

    fn arity(self) -> (usize, usize) {
        match self {
            Func::Lower | Func::Upper | Func::Length | Func::Basename => (1, 1),
            Func::Coalesce => (1, usize::MAX),
            _ => (2, 2),
        }
    }
}

/// A syntax error at a byte offset of the expression (or template) text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at character {})", offset + 1)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

/// A string with `${{ … }}` parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Expr(Expr),
}

const MAX_EXPR_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;

impl Template {
    /// Parses `text`; text without `${{` is a template of one literal part.
    pub fn parse(text: &str) -> Result<Template, ExprError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut base = 0;
        while let Some(start) = rest.find("${{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let body_start = start + 3;
            let Some(len) = rest[body_start..].find("}}") else {
                return Err(ExprError {
                    offset: base + start,
                    message: "`${{` is not closed by `}}`".into(),
                });
            };
            let body = &rest[body_start..body_start + len];
            let expr = parse_expr_at(body, base + body_start)?;
            parts.push(Part::Expr(expr));
            let consumed = body_start + len + 2;
            base += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// True when the template has at least one expression.
    pub fn is_dynamic(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Expr(_)))
    }

    /// Every path the template reads.
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        for p in &self.parts {
            if let Part::Expr(e) = p {
                e.collect_paths(&mut out);
            }
        }
        out
    }

    /// Evaluates: a template that is exactly one expression yields that expression's value (a
    /// list stays a list); otherwise the parts are joined as text.
    pub fn eval(&self, ctx: &dyn Scope) -> Result<Value, EvalError> {
        match self.parts.as_slice() {
            [Part::Expr(e)] => e.eval(ctx),
            [] => Ok(Value::String(String::new())),
            parts => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        Part::Text(t) => s.push_str(t),
                        Part::Expr(e) => s.push_str(&to_text(&e.eval(ctx)?)),
                    }
                }
                Ok(Value::String(s))
            }
        }
    }
}

/// Parses a condition: either a bare expression or one `${{ … }}`.
pub fn parse_condition(text: &str) -> Result<Expr, ExprError> {
    let trimmed = text.trim();
    if let Some(inner) = trimmed
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        && !inner.contains("${{")
    {
        let offset = text.find("${{").unwrap_or(0) + 3;
        return parse_expr_at(inner, offset);
    }
    parse_expr_at(text, 0)
}

fn parse_expr_at(text: &str, base: usize) -> Result<Expr, ExprError> {
    if text.len() > MAX_EXPR_LEN {
        return Err(ExprError {
            offset: base,
            message: format!("expression longer than {MAX_EXPR_LEN} characters"),
        });
    }
    let tokens = lex(text, base)?;
    let mut p = ExprParser {
        tokens,
        pos: 0,
        depth: 0,
        end: base + text.len(),
    };
    if p.tokens.is_empty() {
        return Err(ExprError {
            offset: base,
            message: "empty expression".into(),
        });
    }
    let e = p.or()?;
    if let Some((tok, off)) = p.tokens.get(p.pos) {
        return Err(ExprError {
            offset: *off,
            message: format!("unexpected {}", tok.describe()),
        });
    }
    Ok(e)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Dot,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Not,
    And,
    Or,
    Cmp(CmpOp),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("name `{s}`"),
            Tok::Str(s) => format!("text '{s}'"),
            Tok::Num(n) => format!("number {n}"),
            Tok::Dot => "`.`".into(),
            Tok::Comma => "`,`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Not => "`!`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Cmp(_) => "a comparison".into(),
        }
    }
}

fn lex(text: &str, base: usize) -> Result<Vec<(Tok, usize)>, ExprError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    let err = |off: usize, message: String| ExprError {
        offset: base + off,
        message,
    };
    while i < chars.len() {
        let (off, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let two = |t: Tok| (t, 2);
        let (tok, width) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('&', Some('&')) => two(Tok::And),
            ('|', Some('|')) => two(Tok::Or),
            ('=', Some('=')) => two(Tok::Cmp(CmpOp::Eq)),
            ('!', Some('=')) => two(Tok::Cmp(CmpOp::Ne)),
            ('<', Some('=')) => two(Tok::Cmp(CmpOp::Le)),
            ('>', Some('=')) => two(Tok::Cmp(CmpOp::Ge)),
            ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
            ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
            ('!', _) => (Tok::Not, 1),
            ('.', _) => (Tok::Dot, 1),
            (',', _) => (Tok::Comma, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            ('=', _) => return Err(err(off, "`=` is not an operator; compare with `==`".into())),
            ('\'' | '"', _) => {
                let quote = c;
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(err(off, "text is not closed by its quote".into())),
                        Some((_, '\\')) => {
                            match chars.get(j + 1) {
                                Some((_, e @ ('\\' | '\'' | '"'))) => s.push(*e),
                                Some((_, 'n')) => s.push('\n'),
                                _ => return Err(err(chars[j].0, "unknown escape in text".into())),
                            }
                            j += 2;
                        }
                        Some((_, ch)) if *ch == quote => break,
                        Some((_, ch)) => {
                            s.push(*ch);
                            j += 1;
                        }
                    }
                }
                out.push((Tok::Str(s), base + off));
                i = j + 1;
                continue;
            }
            (c, _)
                if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) =>
            {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|(_, ch)| ch.is_ascii_digit() || *ch == '.')
                {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |(o, _)| *o);
                let lit = &text[off..end];
                let n = lit
                    .parse::<f64>()
                    .map_err(|_| err(off, format!("`{lit}` is not a number")))?;
                out.push((Tok::Num(n), base + off));
                i = j;
                continue;
            }
            (c, _) if c.is_ascii_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|(_, ch)| ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '-')
                {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |(o, _)| *o);
                out.push((Tok::Ident(text[off..end].to_string()), base + off));
                i = j;
                continue;
            }
            (c, _) => return Err(err(off, format!("unexpected character `{c}`"))),
        };
        out.push((tok, base + off));
        i += width;
    }
    Ok(out)
}

struct ExprParser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
    end: usize,
}

impl ExprParser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, o)| *o)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: Tok) -> Result<(), ExprError> {
        if self.eat(&t) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected {}", t.describe())))
        }
    }

    fn unexpected(&self, what: &str) -> ExprError {
        ExprError {
            offset: self.offset(),
            message: match self.peek() {
                Some(t) => format!("{what}, found {}", t.describe()),
                None => format!("{what}, found the end of the expression"),
            },
        }
    }

    fn nest(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError {
                offset: self.offset(),
                message: format!("expression nested deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.nest()?;
        let mut e = self.and()?;
        while self.eat(&Tok::Or) {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.not()?;
        while self.eat(&Tok::And) {
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.eat(&Tok::Not) {
            self.nest()?;
            let e = Expr::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(e);
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, ExprError> {
        let left = self.primary()?;
        if let Some(Tok::Cmp(op)) = self.peek().cloned() {
            self.pos += 1;
            let right = self.primary()?;
            return Ok(Expr::Compare(Box::new(left), op, Box::new(right)));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let offset = self.offset();
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Expr::Literal(Value::String(s)))
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(Expr::Literal(
                    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                ))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                match name.as_str() {
                    "true" => return Ok(Expr::Literal(Value::Bool(true))),
                    "false" => return Ok(Expr::Literal(Value::Bool(false))),
                    "null" => return Ok(Expr::Literal(Value::Null)),
                    _ => {}
                }
                if self.peek() == Some(&Tok::LParen) {
                    let Some(func) = Func::by_name(&name) else {
                        let names: Vec<_> = Func::ALL.iter().map(|(n, _, _)| *n).collect();
                        return Err(ExprError {
                            offset,
                            message: format!(
                                "unknown function `{name}` (known: {})",
                                names.join(", ")
                            ),
                        });
                    };
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !self.eat(&Tok::RParen) {
                        loop {
                            args.push(self.or()?);
                            if self.eat(&Tok::RParen) {
                                break;
                            }
                            self.expect(Tok::Comma)?;
                        }
                    }
                    let (min, max) = func.arity();
                    if args.len() < min || args.len() > max {
                        return Err(ExprError {
                            offset,
                            message: format!(
                                "`{name}` takes {} argument(s), given {}",
                                if min == max {
                                    min.to_string()
                                } else {
                                    format!("at least {min}")
                                },
                                args.len()
                            ),
                        });
                    }
                    return Ok(Expr::Call(func, args));
                }
                let root = match name.as_str() {
                    "finding" => Root::Finding,
                    "inputs" => Root::Inputs,
                    "steps" => Root::Steps,
                    _ => {
                        return Err(ExprError {
                            offset,
                            message: format!(
                                "unknown name `{name}`: paths start with `finding`, `inputs` or `steps`; text needs quotes"
                            ),
                        });
                    }
                };
                let mut segs = Vec::new();
                loop {
                    if self.eat(&Tok::Dot) {
                        match self.peek().cloned() {
                            Some(Tok::Ident(f)) => {
                                self.pos += 1;
                                segs.push(Seg::Field(f));
                            }
                            _ => return Err(self.unexpected("expected a field name after `.`")),
                        }
                    } else if self.eat(&Tok::LBracket) {
                        match self.peek().cloned() {
                            Some(Tok::Num(n)) if n >= 0.0 && n.fract() == 0.0 && n < 1e6 => {
                                self.pos += 1;
                                segs.push(Seg::Index(n as usize));
                            }
                            Some(Tok::Str(f)) => {
                                self.pos += 1;
                                segs.push(Seg::Field(f));
                            }
                            _ => {
                                return Err(
                                    self.unexpected("expected a list index or quoted field")
                                );
                            }
                        }
                        self.expect(Tok::RBracket)?;
                    } else {
                        break;
                    }
                }
                Ok(Expr::Path(Path { root, segs, offset }))
            }
            _ => Err(self.unexpected("expected a value, a path or `(`")),
        }
    }
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The value depends on a step that has not run yet (planning time).
    #[error("`{0}` is only known when the step has run")]
    Deferred(String),
}

/// What paths resolve against.
pub trait Scope {
    /// The value at `root` (`finding`, `inputs`, `steps`); `None` when not known yet.
    fn root(&self, root: Root) -> Option<&Value>;
}

/// A scope of plain JSON values.
pub struct MapScope<'a> {
    pub finding: &'a Value,
    pub inputs: Option<&'a Value>,
    pub steps: Option<&'a Value>,
}

impl Scope for MapScope<'_> {
    fn root(&self, root: Root) -> Option<&Value> {
        match root {
            Root::Finding => Some(self.finding),
            Root::Inputs => self.inputs,
            Root::Steps => self.steps,
        }
    }
}

impl Expr {
    pub fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Expr::Literal(_) => {}
            Expr::Path(p) => out.push(p),
            Expr::Not(e) => e.collect_paths(out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Compare(a, _, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect_paths(out)),
        }
    }

    /// Every path this expression reads.
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    /// Evaluates; a missing field is `null`, never an error.
    pub fn eval(&self, ctx: &dyn Scope) -> Result<Value, EvalError> {
        Ok(match self {
            Expr::Literal(v) => v.clone(),
            Expr::Path(p) => {
                let Some(mut v) = ctx.root(p.root) else {
                    return Err(EvalError::Deferred(p.to_string()));
                };
                for seg in &p.segs {
                    let next = match (seg, v) {
                        (Seg::Field(f), Value::Object(m)) => m.get(f),
                        (Seg::Index(i), Value::Array(a)) => a.get(*i),
                        _ => None,
                    };
                    match next {
                        Some(n) => v = n,
                        None => return Ok(Value::Null),
                    }
                }
                v.clone()
            }
            Expr::Not(e) => Value::Bool(!truthy(&e.eval(ctx)?)),
            Expr::And(a, b) => Value::Bool(truthy(&a.eval(ctx)?) && truthy(&b.eval(ctx)?)),
            Expr::Or(a, b) => Value::Bool(truthy(&a.eval(ctx)?) || truthy(&b.eval(ctx)?)),
            Expr::Compare(a, op, b) => Value::Bool(compare(&a.eval(ctx)?, *op, &b.eval(ctx)?)),
            Expr::Call(f, args) => {
                let vals = args
                    .iter()
                    .map(|a| a.eval(ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                call(*f, &vals)
            }
        })
    }
}

/// Truthiness for conditions: false, null, 0, "" and empty lists and mappings are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A value as text: strings as they are, null as empty, others as JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
        // GuardDuty sends some numbers as text ("-1" vs -1): compare them as numbers.
        (Value::Number(x), Value::String(y)) => {
            x.as_f64().partial_cmp(&y.trim().parse::<f64>().ok())
        }
        (Value::String(x), Value::Number(y)) => {
            x.trim().parse::<f64>().ok().partial_cmp(&y.as_f64())
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (x, y) => (x == y).then_some(Ordering::Equal),
    };
    match op {
        CmpOp::Eq => ord == Some(Ordering::Equal),
        CmpOp::Ne => ord != Some(Ordering::Equal),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

fn call(f: Func, args: &[Value]) -> Value {
    let text = |i: usize| args.get(i).map(to_text).unwrap_or_default();
    match f {
        Func::Contains => Value::Bool(match args.first() {
            Some(Value::Array(items)) => items.iter().any(|v| compare(v, CmpOp::Eq, &args[1])),
            Some(Value::Null) | None => false,
            Some(_) => text(0).contains(&text(1)),
        }),
        Func::StartsWith => Value::Bool(text(0).starts_with(&text(1))),
        Func::EndsWith => Value::Bool(text(0).ends_with(&text(1))),
        Func::Matches => Value::Bool(wildcard_match(&text(1), &text(0))),
        Func::Lower => Value::String(text(0).to_lowercase()),
        Func::Upper => Value::String(text(0).to_uppercase()),
        Func::Length => Value::from(match args.first() {
            Some(Value::Array(a)) => a.len(),
            Some(Value::Object(o)) => o.len(),
            Some(Value::Null) | None => 0,
            Some(_) => text(0).chars().count(),
        }),
        Func::Join => Value::String(match args.first() {
            Some(Value::Array(a)) => a.iter().map(to_text).collect::<Vec<_>>().join(&text(1)),
            _ => text(0),
        }),
        Func::Coalesce => args
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        Func::Basename => {
            let t = text(0);
            Value::String(t.rsplit('/').next().unwrap_or_default().to_string())
        }
        Func::Tag => match args.first() {
            Some(Value::Array(tags)) => tags
                .iter()
                .find(|t| {
                    t.get("key")
                        .or_else(|| t.get("Key"))
                        .map(to_text)
                        .as_deref()
                        == Some(&text(1))
                })
                .and_then(|t| t.get("value").or_else(|| t.get("Value")).cloned())
                .unwrap_or(Value::Null),
            _ => Value::Null,
        },
    }
}

/// Matches `text` against `pattern`, where `*` is any run of characters and `?` any one
/// character; everything else is literal. Linear time, no backtracking blow-up.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Builds a JSON object from name → value pairs (used for `inputs` and `steps` scopes).
pub fn object(entries: BTreeMap<String, Value>) -> Value {
    Value::Object(entries.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(src: &str, finding: Value) -> Value {
        let e = parse_condition(src).unwrap();
        e.eval(&MapScope {
            finding: &finding,
            inputs: Some(&json!({"x": "y"})),
            steps: None,
        })
        .unwrap()
    }

    #[test]
    fn evaluates_conditions() {
        let f = json!({"severity": 8, "type": "UnauthorizedAccess:IAMUser/TorIPCaller",
            "resource": {"accessKeyDetails": {"userType": "IAMUser"}, "tags": [{"key": "a", "value": "b"}]}});
        assert_eq!(
            eval(
                "finding.resource.accessKeyDetails.userType == 'IAMUser'",
                f.clone()
            ),
            json!(true)
        );
        assert_eq!(
            eval(
                "${{ finding.severity >= 7 && !(finding.type == 'x') }}",
                f.clone()
            ),
            json!(true)
        );
        assert_eq!(
            eval("matches(finding.type, '*:IAMUser/*')", f.clone()),
            json!(true)
        );
        assert_eq!(
            eval("finding.missing.deeper == null", f.clone()),
            json!(true)
        );
        assert_eq!(
            eval("tag(finding.resource.tags, 'a')", f.clone()),
            json!("b")
        );
        assert_eq!(eval("inputs.x", f), json!("y"));
    }

    #[test]
    fn templates_keep_values_as_data() {
        let f = json!({"id": "${{ inputs.x }}", "n": [1, 2]});
        let t = Template::parse("id=${{ finding.id }}").unwrap();
        let scope = MapScope {
            finding: &f,
            inputs: Some(&json!({"x": "secret"})),
            steps: None,
        };
        assert_eq!(t.eval(&scope).unwrap(), json!("id=${{ inputs.x }}"));
        let t = Template::parse("${{ finding.n }}").unwrap();
        assert_eq!(t.eval(&scope).unwrap(), json!([1, 2]));
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let e = Template::parse("a ${{ finding. }}").unwrap_err();
        assert!(e.message.contains("field name"), "{e}");
        assert!(parse_condition("finding.x = 1").is_err());
        assert!(
            parse_condition("bogus(1)")
                .unwrap_err()
                .message
                .contains("unknown function")
        );
        assert!(Template::parse("${{ finding.id").is_err());
        let deep = format!("{}true{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_condition(&deep).is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(
            "UnauthorizedAccess:IAMUser/*",
            "UnauthorizedAccess:IAMUser/TorIPCaller"
        ));
        assert!(wildcard_match("*!DNS", "Trojan:EC2/DropPoint!DNS"));
        assert!(!wildcard_match("*:EC2/*", "Trojan:S3/X"));
        assert!(wildcard_match("a?c", "abc"));
    }
}
