//! Recursive-descent parser over the logos tokens, following the grammar of otelcol's `pkg/ottl`
//! (LANGUAGE.md): `not` binds tightest, then `and`, then `or`; `*` and `/` before `+` and `-`.
//! Errors name what was expected and what was found, at the column where the parse stopped.

use crate::ast::{Arg, BoolExpr, Call, CmpOp, Expr, ExprKind, Key, MathOp, Path, Segment, Span};
use crate::error::{Error, Position, Result};
use crate::lexer::{Spanned, Token, tokenize};

/// Parses `editor(...) [where ...]`.
pub(crate) fn parse_statement(text: &str) -> Result<crate::ast::Statement> {
    let mut parser = Parser::new(text)?;
    let editor = parser.editor()?;
    let condition = if parser.eat(Token::Where) {
        Some(parser.bool_expr()?)
    } else {
        None
    };
    parser.end("`where` or the end of the statement")?;
    Ok(crate::ast::Statement { editor, condition })
}

/// Parses a boolean expression standing alone (a filter condition, a group condition).
pub(crate) fn parse_condition(text: &str) -> Result<BoolExpr> {
    let mut parser = Parser::new(text)?;
    if parser.at_end() {
        return Err(parser.error_here("a condition, found nothing"));
    }
    let expr = parser.bool_expr()?;
    parser.end("`and`, `or` or the end of the condition")?;
    Ok(expr)
}

/// Parses a value expression standing alone (`Concat(["a", "b"], "-")`).
pub(crate) fn parse_value(text: &str) -> Result<Expr> {
    let mut parser = Parser::new(text)?;
    if parser.at_end() {
        return Err(parser.error_here("a value, found nothing"));
    }
    let expr = parser.value()?;
    parser.end("an operator or the end of the expression")?;
    Ok(expr)
}

struct Parser<'s> {
    text: &'s str,
    tokens: Vec<Spanned<'s>>,
    pos: usize,
}

impl<'s> Parser<'s> {
    fn new(text: &'s str) -> Result<Self> {
        Ok(Parser {
            text,
            tokens: tokenize(text)?,
            pos: 0,
        })
    }

    fn peek(&self) -> Option<Token<'s>> {
        self.tokens.get(self.pos).map(|t| t.token)
    }

    fn peek_at(&self, ahead: usize) -> Option<Token<'s>> {
        self.tokens.get(self.pos + ahead).map(|t| t.token)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// The span of the current token, or an empty span at the end of the text.
    fn here(&self) -> Span {
        self.tokens.get(self.pos).map_or(
            Span {
                start: self.text.len(),
                end: self.text.len(),
            },
            |t| Span {
                start: t.start,
                end: t.end,
            },
        )
    }

    fn previous_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.end)
    }

    fn bump(&mut self) -> Option<Spanned<'s>> {
        let token = self.tokens.get(self.pos).copied();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, token: Token<'_>) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end of the text".to_owned(), |t| t.describe())
    }

    fn error_at(&self, offset: usize, message: String) -> Error {
        Error::Syntax {
            text: self.text.to_owned(),
            position: Position::at(self.text, offset),
            message,
        }
    }

    /// "expected X, found Y" at the current token.
    fn expected(&self, what: &str) -> Error {
        self.error_at(
            self.here().start,
            format!("expected {what}, found {}", self.found()),
        )
    }

    fn error_here(&self, message: &str) -> Error {
        self.error_at(self.here().start, format!("expected {message}"))
    }

    fn expect(&mut self, token: Token<'_>, what: &str) -> Result<Span> {
        if self.peek() == Some(token) {
            let span = self.here();
            self.pos += 1;
            Ok(span)
        } else {
            Err(self.expected(what))
        }
    }

    fn end(&self, what: &str) -> Result<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    // ---- statements -------------------------------------------------------------------------

    fn editor(&mut self) -> Result<Call> {
        match self.peek() {
            Some(Token::Lower(_)) if self.peek_at(1) == Some(Token::LParen) => self.call(false),
            Some(Token::Upper(name)) if self.peek_at(1) == Some(Token::LParen) => {
                Err(self.error_at(
                    self.here().start,
                    format!(
                        "expected an editor (a function starting with a lowercase letter, such as `set`), \
                         found the converter `{name}`; converters return values and go inside an editor's arguments"
                    ),
                ))
            }
            Some(Token::Lower(name)) => Err(self.error_at(
                self.here().end,
                format!("expected `(` after the editor name `{name}`, found {}", {
                    self.peek_at(1)
                        .map_or_else(|| "the end of the text".to_owned(), |t| t.describe())
                }),
            )),
            _ => Err(self.expected("an editor invocation such as `set(...)`")),
        }
    }

    /// `name(args)` plus, for converters, `[key]...`. The current token is the name.
    fn call(&mut self, converter: bool) -> Result<Call> {
        let Some(name_token) = self.bump() else {
            return Err(self.expected("a function name"));
        };
        let name = match name_token.token {
            Token::Lower(s) | Token::Upper(s) => s.to_owned(),
            _ => return Err(self.expected("a function name")),
        };
        let name_span = Span {
            start: name_token.start,
            end: name_token.end,
        };
        self.expect(Token::LParen, &format!("`(` after `{name}`"))?;
        let mut args = Vec::new();
        if !self.eat(Token::RParen) {
            loop {
                args.push(self.arg()?);
                if self.eat(Token::Comma) {
                    continue;
                }
                if self.eat(Token::RParen) {
                    break;
                }
                return Err(self.expected(&format!("`,` or `)` after an argument of `{name}`")));
            }
        }
        let keys = if converter { self.keys()? } else { Vec::new() };
        let end = self.previous_end();
        Ok(Call {
            name,
            name_span,
            args,
            keys,
            span: Span {
                start: name_span.start,
                end,
            },
        })
    }

    fn arg(&mut self) -> Result<Arg> {
        if let (Some(Token::Lower(name)), Some(Token::Assign)) = (self.peek(), self.peek_at(1)) {
            let span = self.here();
            self.pos += 2;
            let value = self.value()?;
            return Ok(Arg {
                name: Some((name.to_owned(), span)),
                value,
            });
        }
        if self.peek() == Some(Token::RParen) || self.peek() == Some(Token::Comma) {
            return Err(self.expected("an argument"));
        }
        Ok(Arg {
            name: None,
            value: self.value()?,
        })
    }

    // ---- boolean expressions ----------------------------------------------------------------

    fn bool_expr(&mut self) -> Result<BoolExpr> {
        let mut terms = vec![self.and_expr()?];
        while self.eat(Token::Or) {
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            BoolExpr::Or(terms)
        })
    }

    fn and_expr(&mut self) -> Result<BoolExpr> {
        let mut terms = vec![self.not_expr()?];
        while self.eat(Token::And) {
            terms.push(self.not_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            BoolExpr::And(terms)
        })
    }

    fn not_expr(&mut self) -> Result<BoolExpr> {
        if self.eat(Token::Not) {
            return Ok(BoolExpr::Not(Box::new(self.not_expr()?)));
        }
        self.bool_primary()
    }

    fn bool_primary(&mut self) -> Result<BoolExpr> {
        if self.at_end() {
            return Err(self.error_here("a condition, found the end of the text"));
        }
        // `(` opens either a boolean group or an arithmetic group; try the boolean reading first
        // and keep it unless an operator shows the parentheses belonged to a value.
        if self.peek() == Some(Token::LParen) {
            let start = self.pos;
            self.pos += 1;
            let attempt = match self.bool_expr() {
                Ok(expr) => self.expect(Token::RParen, "`)`").map(|_| expr),
                Err(error) => Err(error),
            };
            match attempt {
                Ok(expr) if !self.at_value_operator() => return Ok(expr),
                Ok(_) => self.pos = start,
                Err(group_error) => {
                    let group_pos = self.pos;
                    self.pos = start;
                    return match self.comparison_or_term() {
                        Ok(expr) => Ok(expr),
                        Err(value_error) => {
                            // Report whichever reading got further into the text.
                            Err(if group_pos >= self.pos {
                                group_error
                            } else {
                                value_error
                            })
                        }
                    };
                }
            }
        }
        self.comparison_or_term()
    }

    fn at_value_operator(&self) -> bool {
        matches!(
            self.peek(),
            Some(
                Token::Eq
                    | Token::NotEq
                    | Token::Lt
                    | Token::Le
                    | Token::Gt
                    | Token::Ge
                    | Token::Plus
                    | Token::Minus
                    | Token::Star
                    | Token::Slash
            )
        )
    }

    fn comparison_or_term(&mut self) -> Result<BoolExpr> {
        let left = self.value()?;
        let op = match self.peek() {
            Some(Token::Eq) => CmpOp::Eq,
            Some(Token::NotEq) => CmpOp::Ne,
            Some(Token::Lt) => CmpOp::Lt,
            Some(Token::Le) => CmpOp::Le,
            Some(Token::Gt) => CmpOp::Gt,
            Some(Token::Ge) => CmpOp::Ge,
            Some(Token::Assign) => {
                return Err(self.error_at(
                    self.here().start,
                    "expected a comparison operator, found `=`; compare with `==`".to_owned(),
                ));
            }
            _ => return Ok(BoolExpr::Term(left)),
        };
        self.pos += 1;
        let right = self.value()?;
        Ok(BoolExpr::Comparison { left, op, right })
    }

    // ---- values -----------------------------------------------------------------------------

    fn value(&mut self) -> Result<Expr> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek() {
                Some(Token::Plus) => MathOp::Add,
                Some(Token::Minus) => MathOp::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.term()?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Math(Box::new(left), op, Box::new(right)),
                span,
            };
        }
    }

    fn term(&mut self) -> Result<Expr> {
        let mut left = self.factor()?;
        loop {
            let op = match self.peek() {
                Some(Token::Star) => MathOp::Mul,
                Some(Token::Slash) => MathOp::Div,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.factor()?;
            let span = left.span.to(right.span);
            left = Expr {
                kind: ExprKind::Math(Box::new(left), op, Box::new(right)),
                span,
            };
        }
    }

    fn factor(&mut self) -> Result<Expr> {
        let here = self.here();
        let Some(token) = self.peek() else {
            return Err(self.error_here("a value, found the end of the text"));
        };
        let literal = |kind| Expr { kind, span: here };
        match token {
            Token::Str(raw) => {
                self.pos += 1;
                Ok(literal(ExprKind::Str(self.unquote(raw, here.start)?)))
            }
            Token::Int(digits) => {
                self.pos += 1;
                Ok(literal(ExprKind::Int(self.int(digits, false, here)?)))
            }
            Token::Float(digits) => {
                self.pos += 1;
                Ok(literal(ExprKind::Float(self.float(digits, false, here)?)))
            }
            Token::Plus | Token::Minus => {
                let negative = token == Token::Minus;
                match self.peek_at(1) {
                    Some(Token::Int(digits)) => {
                        self.pos += 2;
                        let span = here.to(self.span_of_previous());
                        Ok(Expr {
                            kind: ExprKind::Int(self.int(digits, negative, span)?),
                            span,
                        })
                    }
                    Some(Token::Float(digits)) => {
                        self.pos += 2;
                        let span = here.to(self.span_of_previous());
                        Ok(Expr {
                            kind: ExprKind::Float(self.float(digits, negative, span)?),
                            span,
                        })
                    }
                    _ => Err(self.expected("a value")),
                }
            }
            Token::Bytes(hex) => {
                self.pos += 1;
                let digits = hex.get(2..).unwrap_or_default();
                if digits.is_empty() || digits.len() % 2 != 0 {
                    return Err(self.error_at(
                        here.start,
                        format!(
                            "bytes literal `{hex}` needs an even, non-zero number of hex digits"
                        ),
                    ));
                }
                let bytes = hex::decode(digits).map_err(|e| {
                    self.error_at(here.start, format!("bytes literal `{hex}`: {e}"))
                })?;
                Ok(literal(ExprKind::Bytes(bytes)))
            }
            Token::True => {
                self.pos += 1;
                Ok(literal(ExprKind::Bool(true)))
            }
            Token::False => {
                self.pos += 1;
                Ok(literal(ExprKind::Bool(false)))
            }
            Token::Nil => {
                self.pos += 1;
                Ok(literal(ExprKind::Nil))
            }
            Token::LBracket => self.list(),
            Token::LBrace => self.map(),
            Token::LParen => {
                self.pos += 1;
                let inner = self.value()?;
                let close = self.expect(Token::RParen, "`)` to close the parenthesis")?;
                Ok(Expr {
                    kind: inner.kind,
                    span: here.to(close),
                })
            }
            Token::Upper(name) => {
                if self.peek_at(1) == Some(Token::LParen) {
                    let call = self.call(true)?;
                    let span = call.span;
                    Ok(Expr {
                        kind: ExprKind::Converter(call),
                        span,
                    })
                } else {
                    self.pos += 1;
                    Ok(literal(ExprKind::Enum(name.to_owned())))
                }
            }
            Token::Lower(name) => {
                if self.peek_at(1) == Some(Token::LParen) {
                    return Err(self.error_at(
                        here.start,
                        format!(
                            "`{name}(` calls an editor, which cannot be used as a value; \
                             converters (capitalised, such as `Concat`) return values"
                        ),
                    ));
                }
                let path = self.path()?;
                let span = path.span;
                Ok(Expr {
                    kind: ExprKind::Path(path),
                    span,
                })
            }
            Token::Where | Token::And | Token::Or | Token::Not => {
                Err(self.expected("a value (a literal, a path or a converter)"))
            }
            _ => Err(self.expected("a value (a literal, a path or a converter)")),
        }
    }

    fn span_of_previous(&self) -> Span {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(Span::default(), |t| Span {
                start: t.start,
                end: t.end,
            })
    }

    fn int(&self, digits: &str, negative: bool, span: Span) -> Result<i64> {
        let text = if negative {
            format!("-{digits}")
        } else {
            digits.to_owned()
        };
        text.parse::<i64>().map_err(|_| {
            self.error_at(
                span.start,
                format!("integer `{text}` does not fit in 64 bits"),
            )
        })
    }

    fn float(&self, digits: &str, negative: bool, span: Span) -> Result<f64> {
        digits
            .parse::<f64>()
            .map(|f| if negative { -f } else { f })
            .map_err(|e| self.error_at(span.start, format!("number `{digits}`: {e}")))
    }

    fn list(&mut self) -> Result<Expr> {
        let open = self.expect(Token::LBracket, "`[`")?;
        let mut items = Vec::new();
        if !self.eat(Token::RBracket) {
            loop {
                items.push(self.value()?);
                if self.eat(Token::Comma) {
                    continue;
                }
                if self.peek() == Some(Token::RBracket) {
                    self.pos += 1;
                    break;
                }
                return Err(self.expected("`,` or `]` in the list"));
            }
        }
        Ok(Expr {
            kind: ExprKind::List(items),
            span: open.to(self.span_of_previous()),
        })
    }

    fn map(&mut self) -> Result<Expr> {
        let open = self.expect(Token::LBrace, "`{`")?;
        let mut entries = Vec::new();
        if !self.eat(Token::RBrace) {
            loop {
                let here = self.here();
                let key = match self.peek() {
                    Some(Token::Str(raw)) => {
                        self.pos += 1;
                        self.unquote(raw, here.start)?
                    }
                    _ => return Err(self.expected("a string key in the map")),
                };
                self.expect(Token::Colon, "`:` after the map key")?;
                entries.push((key, self.value()?));
                if self.eat(Token::Comma) {
                    continue;
                }
                if self.peek() == Some(Token::RBrace) {
                    self.pos += 1;
                    break;
                }
                return Err(self.expected("`,` or `}` in the map"));
            }
        }
        Ok(Expr {
            kind: ExprKind::Map(entries),
            span: open.to(self.span_of_previous()),
        })
    }

    fn path(&mut self) -> Result<Path> {
        let start = self.here();
        let mut segments = Vec::new();
        loop {
            let here = self.here();
            let name = match self.peek() {
                Some(Token::Lower(name)) => name.to_owned(),
                _ => return Err(self.expected("a path segment (a lowercase name) after `.`")),
            };
            self.pos += 1;
            let keys = self.keys()?;
            segments.push(Segment {
                name,
                keys,
                span: here.to(self.span_of_previous()),
            });
            if !self.eat(Token::Dot) {
                break;
            }
        }
        Ok(Path {
            segments,
            span: start.to(self.span_of_previous()),
        })
    }

    fn keys(&mut self) -> Result<Vec<Key>> {
        let mut keys = Vec::new();
        while self.peek() == Some(Token::LBracket) {
            self.pos += 1;
            let here = self.here();
            let key = match (self.peek(), self.peek_at(1), self.peek_at(2)) {
                (Some(Token::Str(raw)), Some(Token::RBracket), _) => {
                    self.pos += 1;
                    Key::Str(self.unquote(raw, here.start)?, here)
                }
                (Some(Token::Int(digits)), Some(Token::RBracket), _) => {
                    self.pos += 1;
                    Key::Int(self.int(digits, false, here)?, here)
                }
                (Some(Token::Minus), Some(Token::Int(digits)), Some(Token::RBracket)) => {
                    self.pos += 2;
                    Key::Int(self.int(digits, true, here)?, here)
                }
                (Some(Token::RBracket), _, _) => {
                    return Err(
                        self.expected("a key (a string, an integer, a path or a converter)")
                    );
                }
                _ => Key::Expr(Box::new(self.value()?)),
            };
            self.expect(Token::RBracket, "`]` to close the key")?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// Resolves the escapes of a quoted string the way Go's `strconv.Unquote` does.
    fn unquote(&self, raw: &str, offset: usize) -> Result<String> {
        let inner = raw
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(raw);
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, escape)) = chars.next() else {
                break;
            };
            let bad = |what: String| self.error_at(offset + 1 + i, what);
            match escape {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'x' | 'u' | 'U' => {
                    let len = match escape {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let digits: String =
                        (0..len).filter_map(|_| chars.next().map(|c| c.1)).collect();
                    let code = u32::from_str_radix(&digits, 16)
                        .ok()
                        .filter(|_| digits.len() == len)
                        .ok_or_else(|| {
                            bad(format!(
                                "invalid escape `\\{escape}{digits}`: needs {len} hex digits"
                            ))
                        })?;
                    let decoded = char::from_u32(code).ok_or_else(|| {
                        bad(format!(
                            "escape `\\{escape}{digits}` is not a valid character"
                        ))
                    })?;
                    out.push(decoded);
                }
                '0'..='7' => {
                    let mut code = escape.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek().and_then(|(_, c)| c.to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                chars.next();
                            }
                            None => {
                                return Err(bad(
                                    "octal escapes need three digits (`\\ooo`)".to_owned()
                                ));
                            }
                        }
                    }
                    let decoded = char::from_u32(code)
                        .filter(|_| code <= 255)
                        .ok_or_else(|| bad("octal escape above \\377".to_owned()))?;
                    out.push(decoded);
                }
                other => {
                    return Err(bad(format!(
                        "invalid escape `\\{other}` in string; write `\\\\{other}` for a backslash followed by `{other}`"
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_with_condition() {
        let statement =
            parse_statement(r#"set(attributes["x"], "y") where name == "a" and not kind > 1"#)
                .unwrap();
        assert_eq!(statement.editor.name, "set");
        assert_eq!(statement.editor.args.len(), 2);
        let Some(BoolExpr::And(terms)) = statement.condition else {
            panic!("expected and");
        };
        assert!(matches!(terms[1], BoolExpr::Not(_)));
    }

    #[test]
    fn parenthesised_math_inside_a_comparison() {
        let condition = parse_condition("(1 + 2) * 3 == 9").unwrap();
        let BoolExpr::Comparison { left, .. } = condition else {
            panic!("expected comparison, got {condition:?}");
        };
        assert!(matches!(left.kind, ExprKind::Math(_, MathOp::Mul, _)));
    }

    #[test]
    fn parenthesised_boolean_group() {
        let condition = parse_condition(r#"(name == "a" or name == "b") and kind == 2"#).unwrap();
        let BoolExpr::And(terms) = condition else {
            panic!("expected and");
        };
        assert!(matches!(terms[0], BoolExpr::Or(_)));
    }

    #[test]
    fn escapes() {
        let expr = parse_value(r#""a\"b\\c\n\u00e9""#).unwrap();
        assert_eq!(expr.kind, ExprKind::Str("a\"b\\c\né".to_owned()));
        let error = parse_value(r#""\d+""#).unwrap_err();
        assert!(error.to_string().contains("invalid escape"), "{error}");
    }
}
