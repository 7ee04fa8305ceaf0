//! Diagnostics: one problem found in a playbook (or finding), with its place, a stable code and a
//! hint. Validation collects every diagnostic instead of stopping at the first.

use std::fmt;

use serde::Serialize;

use crate::domain::yaml::Pos;

/// How bad a diagnostic is. Errors make `validate` fail; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Stable diagnostic codes. The number never changes meaning; new problems get new numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    YamlSyntax,
    UnknownKey,
    WrongType,
    MissingField,
    UnknownAction,
    ParamType,
    MissingParam,
    UnknownParam,
    DuplicateStepId,
    UnknownNeed,
    DependencyCycle,
    ExprSyntax,
    UnknownFindingField,
    UnknownInput,
    UnknownStep,
    UnknownOutput,
    OutputWithoutNeeds,
    AmbiguousMatch,
    UnknownFindingType,
    InvalidValue,
    DuplicatePlaybookName,
    UnknownResourceType,
    Unreadable,
    /// A duration written as a bare number (read as seconds).
    BareDuration,
}

impl Code {
    /// `FB` followed by a number: what scripts and docs refer to.
    pub fn id(self) -> &'static str {
        match self {
            Code::YamlSyntax => "FB001",
            Code::UnknownKey => "FB002",
            Code::WrongType => "FB003",
            Code::MissingField => "FB004",
            Code::UnknownAction => "FB005",
            Code::ParamType => "FB006",
            Code::MissingParam => "FB007",
            Code::UnknownParam => "FB008",
            Code::DuplicateStepId => "FB009",
            Code::UnknownNeed => "FB010",
            Code::DependencyCycle => "FB011",
            Code::ExprSyntax => "FB012",
            Code::UnknownFindingField => "FB013",
            Code::UnknownInput => "FB014",
            Code::UnknownStep => "FB015",
            Code::UnknownOutput => "FB016",
            Code::OutputWithoutNeeds => "FB017",
            Code::AmbiguousMatch => "FB018",
            Code::UnknownFindingType => "FB019",
            Code::InvalidValue => "FB020",
            Code::DuplicatePlaybookName => "FB021",
            Code::UnknownResourceType => "FB022",
            Code::Unreadable => "FB023",
            Code::BareDuration => "FB024",
        }
    }

    /// A short kebab-case name shown beside the number.
    pub fn name(self) -> &'static str {
        match self {
            Code::YamlSyntax => "yaml-syntax",
            Code::UnknownKey => "unknown-key",
            Code::WrongType => "wrong-type",
            Code::MissingField => "missing-field",
            Code::UnknownAction => "unknown-action",
            Code::ParamType => "param-type",
            Code::MissingParam => "missing-param",
            Code::UnknownParam => "unknown-param",
            Code::DuplicateStepId => "duplicate-step-id",
            Code::UnknownNeed => "unknown-need",
            Code::DependencyCycle => "dependency-cycle",
            Code::ExprSyntax => "expression-syntax",
            Code::UnknownFindingField => "unknown-finding-field",
            Code::UnknownInput => "unknown-input",
            Code::UnknownStep => "unknown-step",
            Code::UnknownOutput => "unknown-output",
            Code::OutputWithoutNeeds => "output-without-needs",
            Code::AmbiguousMatch => "ambiguous-match",
            Code::UnknownFindingType => "unknown-finding-type",
            Code::InvalidValue => "invalid-value",
            Code::DuplicatePlaybookName => "duplicate-playbook-name",
            Code::UnknownResourceType => "unknown-resource-type",
            Code::Unreadable => "unreadable",
            Code::BareDuration => "bare-duration",
        }
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// One problem, where it is, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(code: Code, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, pos, message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {sev}[{} {}]: {}",
            self.file,
            self.line,
            self.column,
            self.code.id(),
            self.code.name(),
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Sorts diagnostics by file, line, column, then code, so output is stable.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.code, &a.message)
            .cmp(&(&b.file, b.line, b.column, b.code, &b.message))
    });
}
