//! YAML text → a small tree of nodes that know their line and column.
//! This is the only module that touches a YAML library (saphyr-parser), so it can be swapped
//! without touching the playbook loader; see ARCHITECTURE.md for why this parser was chosen.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column in a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn from_span(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// One YAML node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The YAML 1.2 core-schema values a playbook can contain. Anchors, aliases and tags are refused
/// by the parser (a playbook is configuration, not a graph), so this tree is always finite.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `plain` is false when it was quoted in the source.
    Str {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Keys in source order. Keys are scalars rendered as text (YAML allows other keys; playbooks
    /// do not). Duplicate keys are refused by the parser.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub pos: Pos,
    pub text: String,
}

/// Why a text is not YAML this project accepts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<&'static str>,
}

impl Node {
    /// A short name of the node's kind, for messages ("a mapping", "a string", …).
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node as a JSON value (mapping order kept).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str { text, .. } => J::String(text.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Maximum nesting depth accepted; deeper documents are refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

/// Parses exactly one YAML document (an empty text is `Null`).
pub fn parse(src: &str) -> Result<Node, YamlError> {
    let mut builder = Builder {
        stack: Vec::new(),
        docs: Vec::new(),
    };
    for item in Parser::new_from_str(src) {
        let (event, span) = item.map_err(|e| YamlError {
            pos: Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
            message: format!("YAML syntax error: {}", e.info()),
            hint: Some("check indentation and quoting; strings containing ': ' or '#' need quotes"),
        })?;
        builder.event(event, &span)?;
    }
    let mut docs = builder.docs;
    match docs.len() {
        0 => Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Null,
        }),
        1 => Ok(docs.remove(0)),
        _ => Err(YamlError {
            pos: docs[1].pos,
            message: "more than one YAML document in one file".into(),
            hint: Some("put each playbook in its own file (remove the `---` separator)"),
        }),
    }
}

enum Frame {
    Seq(Node),
    /// A mapping under construction and the key waiting for its value.
    Map(Node, Option<Key>),
}

struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: &Span) -> Result<(), YamlError> {
        let pos = Pos::from_span(span);
        match event {
            Event::Alias(_) => Err(unsupported(pos, "aliases (`*name`)")),
            Event::Scalar(_, _, anchor, _)
            | Event::SequenceStart(anchor, _)
            | Event::MappingStart(anchor, _)
                if anchor != 0 =>
            {
                Err(unsupported(pos, "anchors (`&name`)"))
            }
            Event::Scalar(_, _, _, Some(_))
            | Event::SequenceStart(_, Some(_))
            | Event::MappingStart(_, Some(_)) => Err(unsupported(pos, "tags (`!tag`)")),
            Event::Scalar(text, style, _, None) => {
                let value = if style == ScalarStyle::Plain {
                    resolve_plain(&text)
                } else {
                    Value::Str {
                        text: text.into_owned(),
                        plain: false,
                    }
                };
                self.push_node(Node { pos, value })
            }
            Event::SequenceStart(..) => self.open(Frame::Seq(Node {
                pos,
                value: Value::Seq(Vec::new()),
            })),
            Event::MappingStart(..) => self.open(Frame::Map(
                Node {
                    pos,
                    value: Value::Map(Vec::new()),
                },
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(node)) | Some(Frame::Map(node, None)) => self.push_node(node),
                Some(Frame::Map(_, Some(key))) => Err(YamlError {
                    pos: key.pos,
                    message: format!("key `{}` has no value", key.text),
                    hint: None,
                }),
                None => Ok(()),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => Ok(()),
        }
    }

    fn open(&mut self, frame: Frame) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            let pos = match &frame {
                Frame::Seq(n) | Frame::Map(n, _) => n.pos,
            };
            return Err(YamlError {
                pos,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
                hint: Some("a playbook never needs this depth; flatten the structure"),
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    fn push_node(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                self.docs.push(node);
                Ok(())
            }
            Some(Frame::Seq(seq)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
                Ok(())
            }
            Some(Frame::Map(map, pending)) => match pending.take() {
                Some(key) => {
                    if let Value::Map(entries) = &mut map.value {
                        if let Some((first, _)) = entries.iter().find(|(k, _)| k.text == key.text) {
                            return Err(YamlError {
                                pos: key.pos,
                                message: format!(
                                    "duplicate key `{}` (first defined at line {})",
                                    key.text, first.pos.line
                                ),
                                hint: Some("YAML keeps only one of them; remove or rename one"),
                            });
                        }
                        entries.push((key, node));
                    }
                    Ok(())
                }
                None => {
                    let text = match node.value {
                        Value::Null => String::new(),
                        Value::Bool(b) => b.to_string(),
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Str { text, .. } => text,
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(YamlError {
                                pos: node.pos,
                                message: "a list or mapping used as a mapping key".into(),
                                hint: Some("keys must be plain names"),
                            });
                        }
                    };
                    *pending = Some(Key {
                        pos: node.pos,
                        text,
                    });
                    Ok(())
                }
            },
        }
    }
}

fn unsupported(pos: Pos, what: &str) -> YamlError {
    YamlError {
        pos,
        message: format!("YAML {what} are not supported in playbooks"),
        hint: Some("write the value out in full; playbooks are plain data"),
    }
}

/// Resolves a plain (unquoted) scalar with the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Numbers with a leading zero (account ids such as 012345678901) stay text: reading them
        // as integers would silently drop the zero.
        if !(digits.len() > 1 && digits.starts_with('0'))
            && let Ok(i) = text.parse::<i64>()
        {
            return Value::Int(i);
        }
        return Value::Str {
            text: text.to_string(),
            plain: true,
        };
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let looks_float = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if looks_float && let Ok(f) = text.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str {
        text: text.to_string(),
        plain: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_values() {
        let n = parse("a: 1\nb:\n  - x\n  - 'y'\nc: 012345678901\nd: 4.5\n").unwrap();
        let Value::Map(entries) = n.value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.text, "a");
        assert_eq!(entries[0].1.value, Value::Int(1));
        assert_eq!(entries[1].1.pos.line, 3);
        assert_eq!(entries[1].1.pos.column, 3);
        assert_eq!(
            entries[2].1.value,
            Value::Str {
                text: "012345678901".into(),
                plain: true
            }
        );
        assert_eq!(entries[3].1.value, Value::Float(4.5));
    }

    #[test]
    fn refuses_duplicates_aliases_and_tags() {
        assert!(
            parse("a: 1\na: 2\n")
                .unwrap_err()
                .message
                .contains("duplicate key")
        );
        assert!(
            parse("a: &x 1\nb: *x\n")
                .unwrap_err()
                .message
                .contains("anchors")
        );
        assert!(parse("a: !foo 1\n").unwrap_err().message.contains("tags"));
        assert!(parse("a: [1\n").unwrap_err().message.contains("syntax"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }
}
