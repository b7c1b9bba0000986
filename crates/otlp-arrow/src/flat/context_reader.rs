//! Reading the resource and scope columns of flat rows back, and regrouping the rows into
//! OTLP's `Resource*` and `Scope*` containers.

use arrow::array::{
    Array, AsArray, FixedSizeBinaryArray, ListArray, StringArray, StructArray, UInt32Array,
};
use arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::common::v1::{EntityRef, InstrumentationScope};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::schema::col;
use super::value::AttrsReader;
use crate::Error;

/// Looks a column up by name and type.
pub(crate) fn column<'a, T: 'static>(
    batch: &'a RecordBatch,
    name: &str,
    expected: &'static str,
) -> Result<&'a T, Error> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| Error::MissingColumn(name.to_owned()))?;
    array
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| Error::ColumnType {
            column: name.to_owned(),
            expected,
            actual: array.data_type().to_string(),
        })
}

/// A child of a struct column, looked up by name and type; `parent` names the struct in errors.
pub(crate) fn struct_child<'a, T: 'static>(
    s: &'a StructArray,
    name: &str,
    expected: &'static str,
    parent: &str,
) -> Result<&'a T, Error> {
    let child = s
        .column_by_name(name)
        .ok_or_else(|| Error::MissingColumn(format!("{parent}.{name}")))?;
    child
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| Error::ColumnType {
            column: format!("{parent}.{name}"),
            expected,
            actual: child.data_type().to_string(),
        })
}

/// An id column's value as OTLP holds it: empty for a null.
pub(crate) fn id_vec(array: &FixedSizeBinaryArray, i: usize) -> Vec<u8> {
    if array.is_null(i) {
        Vec::new()
    } else {
        array.value(i).to_vec()
    }
}

/// Reads the resource and scope columns back, and tells where a new container starts.
pub(crate) struct ContextReader<'a> {
    resource_id: &'a UInt32Array,
    scope_id: &'a UInt32Array,
    resource_attributes: AttrsReader<'a>,
    resource_dropped: &'a UInt32Array,
    entity_refs: &'a ListArray,
    resource_schema_url: &'a StringArray,
    scope_name: &'a StringArray,
    scope_version: &'a StringArray,
    scope_attributes: AttrsReader<'a>,
    scope_dropped: &'a UInt32Array,
    scope_schema_url: &'a StringArray,
}

impl<'a> ContextReader<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Result<Self, Error> {
        let attrs = |name: &'a str| -> Result<AttrsReader<'a>, Error> {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| Error::MissingColumn(name.to_owned()))?;
            AttrsReader::new(array.as_ref(), name)
        };
        Ok(Self {
            resource_id: column(batch, col::RESOURCE_ID, "UInt32")?,
            scope_id: column(batch, col::SCOPE_ID, "UInt32")?,
            resource_attributes: attrs(col::RESOURCE_ATTRIBUTES)?,
            resource_dropped: column(batch, col::RESOURCE_DROPPED_ATTRIBUTES_COUNT, "UInt32")?,
            entity_refs: column(batch, col::RESOURCE_ENTITY_REFS, "List<Struct>")?,
            resource_schema_url: column(batch, col::RESOURCE_SCHEMA_URL, "Utf8")?,
            scope_name: column(batch, col::SCOPE_NAME, "Utf8")?,
            scope_version: column(batch, col::SCOPE_VERSION, "Utf8")?,
            scope_attributes: attrs(col::SCOPE_ATTRIBUTES)?,
            scope_dropped: column(batch, col::SCOPE_DROPPED_ATTRIBUTES_COUNT, "UInt32")?,
            scope_schema_url: column(batch, col::SCOPE_SCHEMA_URL, "Utf8")?,
        })
    }

    /// The resource container id of `row`.
    pub(crate) fn resource_id(&self, row: usize) -> u32 {
        self.resource_id.value(row)
    }

    /// The scope container id of `row`.
    pub(crate) fn scope_id(&self, row: usize) -> u32 {
        self.scope_id.value(row)
    }

    /// The resource of `row` and its container's schema URL.
    pub(crate) fn resource(&self, row: usize) -> Result<(Option<Resource>, String), Error> {
        let schema_url = self.resource_schema_url.value(row).to_owned();
        if self.resource_attributes.is_null(row) {
            return Ok((None, schema_url));
        }
        let refs = self.entity_refs.value(row);
        let refs = refs.as_struct_opt().ok_or_else(|| Error::ColumnType {
            column: col::RESOURCE_ENTITY_REFS.to_owned(),
            expected: "List<Struct>",
            actual: refs.data_type().to_string(),
        })?;
        let strings = |name: &str| -> Result<&StringArray, Error> {
            refs.column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| {
                    Error::MissingColumn(format!("{}.{name}", col::RESOURCE_ENTITY_REFS))
                })
        };
        let lists = |name: &str| -> Result<&ListArray, Error> {
            refs.column_by_name(name)
                .and_then(|c| c.as_list_opt::<i32>())
                .ok_or_else(|| {
                    Error::MissingColumn(format!("{}.{name}", col::RESOURCE_ENTITY_REFS))
                })
        };
        let key_list = |list: &ListArray, i: usize| -> Result<Vec<String>, Error> {
            let keys = list.value(i);
            let keys = keys
                .as_string_opt::<i32>()
                .ok_or_else(|| Error::ColumnType {
                    column: col::RESOURCE_ENTITY_REFS.to_owned(),
                    expected: "List<Utf8>",
                    actual: keys.data_type().to_string(),
                })?;
            Ok(keys
                .iter()
                .map(|k| k.unwrap_or_default().to_owned())
                .collect())
        };
        let (schema_urls, kinds) = (strings("schema_url")?, strings("type")?);
        let (id_keys, description_keys) = (lists("id_keys")?, lists("description_keys")?);
        let mut entity_refs = Vec::with_capacity(refs.len());
        for i in 0..refs.len() {
            entity_refs.push(EntityRef {
                schema_url: schema_urls.value(i).to_owned(),
                r#type: kinds.value(i).to_owned(),
                id_keys: key_list(id_keys, i)?,
                description_keys: key_list(description_keys, i)?,
            });
        }
        Ok((
            Some(Resource {
                attributes: self.resource_attributes.get(row)?,
                dropped_attributes_count: self.resource_dropped.value(row),
                entity_refs,
            }),
            schema_url,
        ))
    }

    /// The scope of `row` and its container's schema URL.
    pub(crate) fn scope(
        &self,
        row: usize,
    ) -> Result<(Option<InstrumentationScope>, String), Error> {
        let schema_url = self.scope_schema_url.value(row).to_owned();
        if self.scope_name.is_null(row) {
            return Ok((None, schema_url));
        }
        Ok((
            Some(InstrumentationScope {
                name: self.scope_name.value(row).to_owned(),
                version: self.scope_version.value(row).to_owned(),
                attributes: if self.scope_attributes.is_null(row) {
                    Vec::new()
                } else {
                    self.scope_attributes.get(row)?
                },
                dropped_attributes_count: self.scope_dropped.value(row),
            }),
            schema_url,
        ))
    }
}

/// One step of regrouping flat rows into OTLP containers.
pub(crate) enum Step {
    /// A new `Resource*` container starts, with this resource and schema URL.
    Resource(Option<Resource>, String),
    /// A new `Scope*` container starts in the current resource container.
    Scope(Option<InstrumentationScope>, String),
    /// This row is the next item of the current scope container.
    Item(usize),
}

/// Regroups rows into containers: a new `Resource*` (`Scope*`) container starts where
/// `resource_id` (`scope_id`, or the resource) changes from the row before.
pub(crate) fn regroup(
    reader: &ContextReader<'_>,
    rows: usize,
    mut step: impl FnMut(Step) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut current: Option<(u32, u32)> = None;
    for row in 0..rows {
        let (r, s) = (reader.resource_id(row), reader.scope_id(row));
        let resource_changed = current.is_none_or(|(cr, _)| cr != r);
        if resource_changed {
            let (resource, url) = reader.resource(row)?;
            step(Step::Resource(resource, url))?;
        }
        if resource_changed || current.is_some_and(|(_, cs)| cs != s) {
            let (scope, url) = reader.scope(row)?;
            step(Step::Scope(scope, url))?;
        }
        current = Some((r, s));
        step(Step::Item(row))?;
    }
    Ok(())
}
