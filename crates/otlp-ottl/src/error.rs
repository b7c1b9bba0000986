//! The crate's error type: syntax and compile errors point at a line and column of the statement,
//! configuration problems name the key path they were found at.

use std::fmt;

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not OTTL: the grammar expected something else at this position.
    #[error("syntax error at {position}: {message} (in `{text}`)")]
    Syntax {
        /// The statement or condition as written.
        text: String,
        /// Where the parser stopped.
        position: Position,
        /// What was expected and what was found.
        message: String,
    },
    /// The text is OTTL but cannot run here: an unknown path, function or enum, a wrong argument.
    #[error("invalid OTTL at {position}: {message} (in `{text}`)")]
    Compile {
        /// The statement or condition as written.
        text: String,
        /// The start of the offending part.
        position: Position,
        /// What is wrong, with the nearest valid name where there is one.
        message: String,
    },
    /// The context of a statement group cannot be decided.
    #[error("{0}")]
    Context(String),
    /// A statement or condition failed on one item (wrong type, missing value, bad regex input...).
    #[error("{message} (in `{text}`)")]
    Execution {
        /// The statement or condition that failed.
        text: String,
        /// Why it failed.
        message: String,
    },
    /// An expression failed while being evaluated (not yet tied to a statement).
    #[error("{0}")]
    Eval(String),
    /// One configuration problem.
    #[error("{0}")]
    Config(ConfigProblem),
    /// Several configuration problems, all of them.
    #[error("{}", join_problems(.0))]
    InvalidConfig(Vec<ConfigProblem>),
}

/// `pub type Result<T> = std::result::Result<T, Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// A position in a statement: 1-based line and column (in characters), and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Byte offset from the start of the text.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text`.
    pub fn at(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before
            .get(line_start..)
            .map_or(1, |s| s.chars().count() + 1);
        Position {
            offset,
            line,
            column,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 1 {
            write!(f, "column {}", self.column)
        } else {
            write!(f, "line {}, column {}", self.line, self.column)
        }
    }
}

/// One problem in a processor configuration, with the key path where it was found
/// (`trace_statements[0].statements[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Key path inside the component's configuration; empty for the component itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn join_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The configuration problems this error stands for, each with its path; a syntax or compile
    /// error becomes one problem at `path`.
    pub fn into_problems(self, path: &str) -> Vec<ConfigProblem> {
        match self {
            Error::InvalidConfig(problems) => problems,
            Error::Config(problem) => vec![problem],
            other => vec![ConfigProblem::new(path, other.to_string())],
        }
    }

    pub(crate) fn eval(message: impl Into<String>) -> Self {
        Error::Eval(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_lines() {
        let text = "set(name, \"é\")\nwhere x";
        assert_eq!(
            Position::at(text, 0),
            Position {
                offset: 0,
                line: 1,
                column: 1
            }
        );
        // "é" is two bytes but one column.
        let after = text.find('"').map(|i| i + 4).unwrap_or(0);
        assert_eq!(Position::at(text, after).column, 14);
        let second = text.find("where").unwrap_or(0);
        assert_eq!(Position::at(text, second).line, 2);
        assert_eq!(Position::at(text, second).column, 1);
        assert_eq!(Position::at(text, second).to_string(), "line 2, column 1");
    }
}
