//! The operators that only move values: `add` a constant, `move` or `copy` a field, `remove` one.

use super::Operate;
use crate::receiver::stanza::entry::{Entry, Field};
use serde::Deserialize;

/// `add`: `field` gets `value` (a text, number, list or map).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Add {
    field: Field,
    value: serde_norway::Value,
}

pub(super) struct BuiltAdd {
    field: Field,
    value: serde_json::Value,
}

impl Add {
    pub(super) fn build(&self) -> Result<BuiltAdd, String> {
        if let Some(text) = self.value.as_str()
            && text.starts_with("EXPR(")
        {
            return Err(
                "stanza's EXPR() values are not available here; set computed values with the `transform` processor"
                    .to_owned(),
            );
        }
        let value = serde_json::to_value(&self.value).map_err(|e| format!("value: {e}"))?;
        Ok(BuiltAdd {
            field: self.field.clone(),
            value,
        })
    }
}

impl Operate for BuiltAdd {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        self.field.set(entry, self.value.clone())
    }
}

/// `move` and `copy`: `from` and `to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FromTo {
    from: Field,
    to: Field,
}

/// `move`.
pub(super) struct Move(pub(super) FromTo);

impl Operate for Move {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        let value = self
            .0
            .from
            .delete(entry)
            .ok_or_else(|| "the field to move is missing".to_owned())?;
        self.0.to.set(entry, value)
    }
}

/// `copy`.
pub(super) struct Copy(pub(super) FromTo);

impl Operate for Copy {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        let value = self
            .0
            .from
            .get(entry)
            .cloned()
            .ok_or_else(|| "the field to copy is missing".to_owned())?;
        self.0.to.set(entry, value)
    }
}

/// `remove`: `field`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Remove {
    field: Field,
}

impl Operate for Remove {
    fn operate(&self, entry: &mut Entry) -> Result<(), String> {
        self.field
            .delete(entry)
            .map(drop)
            .ok_or_else(|| "the field to remove is missing".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_move_copy_and_go() {
        let mut entry = Entry::new("text".into());
        let add: Add = serde_norway::from_str("{field: attributes.tags, value: [a, 1]}").unwrap();
        add.build().unwrap().operate(&mut entry).unwrap();
        let copy: FromTo = serde_norway::from_str("{from: body, to: attributes.original}").unwrap();
        Copy(copy).operate(&mut entry).unwrap();
        let moved: FromTo =
            serde_norway::from_str("{from: attributes.tags, to: resource.tags}").unwrap();
        Move(moved.clone()).operate(&mut entry).unwrap();
        assert_eq!(entry.attributes, json!({"original": "text"}));
        assert_eq!(entry.resource, json!({"tags": ["a", 1]}));
        assert!(
            Move(moved).operate(&mut entry).is_err(),
            "nothing left to move"
        );
        let remove: Remove = serde_norway::from_str("{field: body}").unwrap();
        remove.operate(&mut entry).unwrap();
        assert!(entry.body.is_null());
        let expr: Add = serde_norway::from_str("{field: body, value: 'EXPR(1+1)'}").unwrap();
        assert!(expr.build().is_err());
    }
}
