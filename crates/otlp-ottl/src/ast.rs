//! The syntax tree of a statement, a condition or a value, with byte ranges for error messages.
//! It is what the grammar says and nothing more: names are resolved by the compiler.

/// A byte range of the statement text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    pub(crate) fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

/// `editor(args) [where condition]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub(crate) editor: Call,
    pub(crate) condition: Option<BoolExpr>,
}

/// A function invocation: an editor (lowercase) or a converter (capitalised, may be indexed).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) args: Vec<Arg>,
    /// `Split(x, ",")[1]`: keys applied to the converter's result.
    pub(crate) keys: Vec<Key>,
    pub(crate) span: Span,
}

/// One argument, positional or `name = value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Arg {
    pub(crate) name: Option<(String, Span)>,
    pub(crate) value: Expr,
}

/// A boolean expression (the part after `where`, or a whole condition).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BoolExpr {
    Or(Vec<BoolExpr>),
    And(Vec<BoolExpr>),
    Not(Box<BoolExpr>),
    Comparison {
        left: Expr,
        op: CmpOp,
        right: Expr,
    },
    /// A boolean literal or a converter returning a boolean.
    Term(Expr),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// A value: literal, path, converter, list, map, enum or arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub(crate) kind: ExprKind,
    pub(crate) span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// An uppercase identifier: an enum symbol, or a converter name where a function is expected.
    Enum(String),
    List(Vec<Expr>),
    Map(Vec<(String, Expr)>),
    Path(Path),
    Converter(Call),
    Math(Box<Expr>, MathOp, Box<Expr>),
}

/// `resource.attributes["k"]["nested"]`: dot-separated segments, each with optional keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    pub(crate) segments: Vec<Segment>,
    pub(crate) span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    pub(crate) name: String,
    pub(crate) keys: Vec<Key>,
    pub(crate) span: Span,
}

/// What goes between `[` and `]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    Str(String, Span),
    Int(i64, Span),
    /// A path or converter whose value is the key, resolved per item.
    Expr(Box<Expr>),
}

impl Path {
    /// The path as written, without keys: `resource.attributes`.
    pub(crate) fn dotted(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}
