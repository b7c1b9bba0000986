//! Editors that change a map in place: `delete_key`, `delete_matching_keys`, `keep_keys`,
//! `keep_matching_keys`, `limit`, `truncate_all`, `merge_maps`.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;

use super::{Args, EditorFn, FunctionDef, ParamKind, editor_def, optional, required};
use crate::context::TransformContext;
use crate::error::{Error, Result};
use crate::program::expr::{Expr, PathExpr};
use crate::value::Value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[
    editor_def(
        "delete_key",
        &[
            required("target", ParamKind::Setter),
            required("key", ParamKind::Str),
        ],
        build_delete_key,
    ),
    editor_def(
        "delete_matching_keys",
        &[
            required("target", ParamKind::Setter),
            required("pattern", ParamKind::Str),
        ],
        build_delete_matching_keys,
    ),
    editor_def(
        "keep_keys",
        &[
            required("target", ParamKind::Setter),
            required("keys", ParamKind::StrList),
        ],
        build_keep_keys,
    ),
    editor_def(
        "keep_matching_keys",
        &[
            required("target", ParamKind::Setter),
            required("pattern", ParamKind::Str),
        ],
        build_keep_matching_keys,
    ),
    editor_def(
        "limit",
        &[
            required("target", ParamKind::Setter),
            required("limit", ParamKind::Int),
            required("priority_keys", ParamKind::StrList),
        ],
        build_limit,
    ),
    editor_def(
        "truncate_all",
        &[
            required("target", ParamKind::Setter),
            required("limit", ParamKind::Int),
            optional("utf8_safe", ParamKind::Bool),
            optional("truncation_marker", ParamKind::Str),
        ],
        build_truncate_all,
    ),
    editor_def(
        "merge_maps",
        &[
            required("target", ParamKind::Setter),
            required("source", ParamKind::Getter),
            required("strategy", ParamKind::Str),
        ],
        build_merge_maps,
    ),
];

/// Compiles a regex argument, or reports it as a compile error at the argument.
pub(crate) fn regex_arg(args: &mut Args<'_>, index: usize) -> Result<Regex> {
    let pattern = args.str(index)?;
    Regex::new(&pattern).map_err(|e| args.error(index, format!("invalid regex: {e}")))
}

/// Which keys of a map to drop.
enum KeyRule {
    Is(String),
    Matches(Regex),
    NotIn(Vec<String>),
    NotMatching(Regex),
}

struct RetainKeys {
    target: PathExpr,
    rule: KeyRule,
}

impl EditorFn for RetainKeys {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let map = self.target.map_mut(ctx)?;
        match &self.rule {
            KeyRule::Is(key) => map.retain(|kv| kv.key != *key),
            KeyRule::Matches(re) => map.retain(|kv| !re.is_match(&kv.key)),
            KeyRule::NotIn(keys) => map.retain(|kv| keys.contains(&kv.key)),
            KeyRule::NotMatching(re) => map.retain(|kv| re.is_match(&kv.key)),
        }
        Ok(())
    }
}

fn build_delete_key(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(RetainKeys {
        target: args.setter(0)?,
        rule: KeyRule::Is(args.str(1)?),
    }))
}

fn build_delete_matching_keys(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(RetainKeys {
        target: args.setter(0)?,
        rule: KeyRule::Matches(regex_arg(args, 1)?),
    }))
}

fn build_keep_keys(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(RetainKeys {
        target: args.setter(0)?,
        rule: KeyRule::NotIn(args.str_list(1)?),
    }))
}

fn build_keep_matching_keys(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    Ok(Box::new(RetainKeys {
        target: args.setter(0)?,
        rule: KeyRule::NotMatching(regex_arg(args, 1)?),
    }))
}

/// `limit(target, limit, priority_keys)`: keeps at most `limit` entries; priority keys first,
/// then the others in map order until the limit is reached (otelcol keeps map order too).
struct Limit {
    target: PathExpr,
    limit: usize,
    priority: Vec<String>,
}

fn build_limit(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let target = args.setter(0)?;
    let limit = args.int(1)?;
    let limit =
        usize::try_from(limit).map_err(|_| args.error(1, format!("{limit} cannot be negative")))?;
    let priority = args.str_list(2)?;
    if priority.len() > limit {
        return Err(args.error(
            2,
            format!(
                "{} priority keys cannot fit in a limit of {limit}",
                priority.len()
            ),
        ));
    }
    Ok(Box::new(Limit {
        target,
        limit,
        priority,
    }))
}

impl EditorFn for Limit {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let map = self.target.map_mut(ctx)?;
        if map.len() <= self.limit {
            return Ok(());
        }
        let mut kept = self
            .priority
            .iter()
            .filter(|k| map.iter().any(|kv| kv.key == **k))
            .count();
        map.retain(|kv| {
            if self.priority.contains(&kv.key) {
                return true;
            }
            if kept < self.limit {
                kept += 1;
                return true;
            }
            false
        });
        Ok(())
    }
}

/// `truncate_all(target, limit, utf8_safe?, truncation_marker?)`: string values longer than
/// `limit` bytes are cut (with the marker counted in the limit).
struct TruncateAll {
    target: PathExpr,
    limit: usize,
    marker: String,
}

fn build_truncate_all(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let target = args.setter(0)?;
    let limit = args.int(1)?;
    let limit =
        usize::try_from(limit).map_err(|_| args.error(1, format!("{limit} cannot be negative")))?;
    // The wire types hold valid UTF-8 only, so cuts always land on a character boundary; with
    // `utf8_safe = false` otelcol may split a character, which a Rust string cannot hold.
    let _utf8_safe = args.opt_bool(2).unwrap_or(true);
    let marker = args.opt_str(3).unwrap_or_default();
    if marker.len() > limit {
        return Err(args.error(
            3,
            format!(
                "the marker is {} bytes, longer than the limit of {limit}",
                marker.len()
            ),
        ));
    }
    Ok(Box::new(TruncateAll {
        target,
        limit,
        marker,
    }))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn floor_boundary(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl EditorFn for TruncateAll {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let map = self.target.map_mut(ctx)?;
        for kv in map.iter_mut() {
            if let Some(AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            }) = &mut kv.value
                && s.len() > self.limit
            {
                let kept = floor_boundary(s, self.limit - self.marker.len()).len();
                s.truncate(kept);
                s.push_str(&self.marker);
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Insert,
    Update,
    Upsert,
}

/// `merge_maps(target, source, strategy)`.
struct MergeMaps {
    target: PathExpr,
    source: Expr,
    strategy: Strategy,
}

fn build_merge_maps(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let target = args.setter(0)?;
    let source = args.getter(1)?;
    let strategy = match args.str(2)?.as_str() {
        "insert" => Strategy::Insert,
        "update" => Strategy::Update,
        "upsert" => Strategy::Upsert,
        other => {
            return Err(args.error(
                2,
                format!("\"{other}\" is not a strategy; use \"insert\", \"update\" or \"upsert\""),
            ));
        }
    };
    Ok(Box::new(MergeMaps {
        target,
        source,
        strategy,
    }))
}

impl EditorFn for MergeMaps {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let source: Vec<KeyValue> = match self.source.eval(ctx)? {
            Value::Map(map) => map.into_owned(),
            other => {
                return Err(Error::eval(format!(
                    "merge_maps: `source` must be a map, got {}",
                    other.type_name()
                )));
            }
        };
        let target = self.target.map_mut(ctx)?;
        for kv in source {
            let existing = target.iter_mut().find(|t| t.key == kv.key);
            match (existing, self.strategy) {
                (Some(slot), Strategy::Update | Strategy::Upsert) => slot.value = kv.value,
                (None, Strategy::Insert | Strategy::Upsert) => target.push(kv),
                _ => {}
            }
        }
        Ok(())
    }
}
