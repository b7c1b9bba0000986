//! `flatten(target, prefix?, depth?, resolve_conflicts?)`: nested maps and lists become
//! dotted top-level keys (`address.street`, `occupants.0`).

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use super::{Args, Build, EditorFn, FunctionDef, ParamKind, optional, required};
use crate::context::TransformContext;
use crate::error::Result;
use crate::program::expr::PathExpr;
use crate::value::key_value;

pub(crate) const FUNCTIONS: &[FunctionDef] = &[FunctionDef {
    name: "flatten",
    params: &[
        required("target", ParamKind::Setter),
        optional("prefix", ParamKind::Str),
        optional("depth", ParamKind::Int),
        optional("resolve_conflicts", ParamKind::Bool),
    ],
    build: Build::Editor(build),
    contexts: None,
    string_fn: None,
}];

struct Flatten {
    target: PathExpr,
    prefix: String,
    depth: u64,
    resolve_conflicts: bool,
}

fn build(args: &mut Args<'_>) -> Result<Box<dyn EditorFn>> {
    let target = args.setter(0)?;
    let prefix = args.opt_str(1).unwrap_or_default();
    let depth = match args.opt_int(2) {
        None => u64::MAX,
        Some(depth) => u64::try_from(depth)
            .map_err(|_| args.error(2, format!("{depth} cannot be negative")))?,
    };
    Ok(Box::new(Flatten {
        target,
        prefix,
        depth,
        resolve_conflicts: args.opt_bool(3).unwrap_or(false),
    }))
}

impl EditorFn for Flatten {
    fn exec(&self, ctx: &mut TransformContext<'_>) -> Result<()> {
        let map = self.target.map_mut(ctx)?;
        let source = std::mem::take(map);
        let mut out = Output {
            result: Vec::with_capacity(source.len()),
            next_suffix: HashMap::new(),
            resolve_conflicts: self.resolve_conflicts,
        };
        out.flatten(source, &self.prefix, 0, self.depth);
        *map = out.result;
        Ok(())
    }
}

struct Output {
    result: Vec<KeyValue>,
    /// With conflict resolution: the suffix the next value for a key gets (`key.0`, `key.1`).
    next_suffix: HashMap<String, usize>,
    resolve_conflicts: bool,
}

impl Output {
    fn flatten(&mut self, map: Vec<KeyValue>, prefix: &str, depth: u64, max_depth: u64) {
        for kv in map {
            let key = if prefix.is_empty() {
                kv.key
            } else {
                format!("{prefix}.{}", kv.key)
            };
            let value = kv.value.unwrap_or_default();
            match value.value {
                Some(any_value::Value::KvlistValue(nested)) if depth < max_depth => {
                    self.flatten(nested.values, &key, depth + 1, max_depth);
                }
                Some(any_value::Value::ArrayValue(list)) if depth < max_depth => {
                    for (i, item) in list.values.into_iter().enumerate() {
                        if self.resolve_conflicts {
                            // Items share their list's key; conflicts number them.
                            self.put(key.clone(), item);
                        } else {
                            self.put(format!("{key}.{i}"), item);
                        }
                    }
                }
                other => self.put(key, AnyValue { value: other }),
            }
        }
    }

    fn put(&mut self, key: String, value: AnyValue) {
        if !self.resolve_conflicts {
            match self.result.iter_mut().find(|kv| kv.key == key) {
                Some(existing) => existing.value = Some(value),
                None => self.result.push(key_value(key, value)),
            }
            return;
        }
        match self.next_suffix.get_mut(&key) {
            Some(next) => {
                let renamed = format!("{key}.{next}");
                *next += 1;
                self.result.push(key_value(renamed, value));
            }
            None => {
                self.next_suffix.insert(key.clone(), 0);
                self.result.push(key_value(key, value));
            }
        }
    }
}
