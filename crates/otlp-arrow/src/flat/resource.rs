//! The resource and scope columns every flat row carries, and the bookkeeping that
//! repeats them onto each item.
//!
//! A resource (scope) is described once, into a one-row "template" of its columns; each
//! item then only counts itself, and the run of items since the last change gets the
//! template appended `n` times in one go, column by column (or, in a run-encoded context,
//! its attribute maps once, with where the run ends). Reading them back is
//! [`context_reader`](super::context_reader)'s.

use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, Int32Array, RunArray, StructArray};
use arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Int32Type, Schema, SchemaRef, UInt32Type,
};
use arrow::error::ArrowError;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::columns::{BytesCol, ListCol, PrimCol, take_reserved};
use super::schema::{col, list_item};
use super::value::{MapCol, ValueRef, attributes_type};
use crate::Error;

/// `service.name`, promoted to a column of its own.
pub const SERVICE_NAME_KEY: &str = "service.name";

/// What a `ResourceSpans` (`ResourceLogs`, `ResourceMetrics`) says besides its
/// attributes and entity references.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceInfo<'a> {
    /// Whether the `resource` field is set at all.
    pub present: bool,
    /// `Resource.dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// The container's `schema_url`.
    pub schema_url: &'a str,
}

/// What a `ScopeSpans` (`ScopeLogs`, `ScopeMetrics`) says besides the scope's attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeInfo<'a> {
    /// Whether the `scope` field is set at all.
    pub present: bool,
    /// `InstrumentationScope.name`.
    pub name: &'a str,
    /// `InstrumentationScope.version`.
    pub version: &'a str,
    /// `InstrumentationScope.dropped_attributes_count`.
    pub dropped_attributes_count: u32,
    /// The container's `schema_url`.
    pub schema_url: &'a str,
}

/// The resource's and scope's columns besides their attribute maps and entity references:
/// one value per resource or scope, the same on every row under it.
pub(crate) const RUN_COLUMNS: [&str; 7] = [
    col::SERVICE_NAME,
    col::RESOURCE_DROPPED_ATTRIBUTES_COUNT,
    col::RESOURCE_SCHEMA_URL,
    col::SCOPE_NAME,
    col::SCOPE_VERSION,
    col::SCOPE_DROPPED_ATTRIBUTES_COUNT,
    col::SCOPE_SCHEMA_URL,
];

// The fields below are built once and shared, as the schemas are: every batch's finish needs them, and building
// them is a few small allocations each.

/// The item field of a list of strings.
fn utf8_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| Arc::new(Field::new("item", DataType::Utf8, false)))
        .clone()
}

fn entity_ref_fields() -> Fields {
    static FIELDS: OnceLock<Fields> = OnceLock::new();
    FIELDS
        .get_or_init(|| {
            Fields::from(vec![
                Field::new("schema_url", DataType::Utf8, false),
                Field::new("type", DataType::Utf8, false),
                Field::new("id_keys", DataType::List(utf8_item()), false),
                Field::new("description_keys", DataType::List(utf8_item()), false),
            ])
        })
        .clone()
}

fn entity_ref_item() -> FieldRef {
    static ITEM: OnceLock<FieldRef> = OnceLock::new();
    ITEM.get_or_init(|| list_item(entity_ref_fields())).clone()
}

/// The resource and scope fields, in schema order: (leading, trailing). `service_name`
/// leads; the rest trail the signal's own columns.
pub(crate) fn resource_fields() -> (Vec<Field>, Vec<Field>) {
    let ts = DataType::Utf8;
    let leading = vec![Field::new(col::SERVICE_NAME, ts.clone(), true)];
    let trailing = vec![
        Field::new(col::RESOURCE_ATTRIBUTES, attributes_type(), true),
        Field::new(
            col::RESOURCE_DROPPED_ATTRIBUTES_COUNT,
            DataType::UInt32,
            false,
        ),
        Field::new(
            col::RESOURCE_ENTITY_REFS,
            DataType::List(entity_ref_item()),
            false,
        ),
        Field::new(col::RESOURCE_SCHEMA_URL, ts.clone(), false),
        Field::new(col::SCOPE_NAME, ts.clone(), true),
        Field::new(col::SCOPE_VERSION, ts.clone(), true),
        Field::new(col::SCOPE_ATTRIBUTES, attributes_type(), true),
        Field::new(col::SCOPE_DROPPED_ATTRIBUTES_COUNT, DataType::UInt32, false),
        Field::new(col::SCOPE_SCHEMA_URL, ts, false),
        Field::new(col::RESOURCE_ID, DataType::UInt32, false),
        Field::new(col::SCOPE_ID, DataType::UInt32, false),
    ];
    (leading, trailing)
}

/// `Resource.entity_refs` of rows.
#[derive(Debug, Default)]
struct EntityRefsCol {
    rows: ListCol,
    schema_url: BytesCol,
    kind: BytesCol,
    id_keys: ListCol,
    id_key_items: BytesCol,
    description_keys: ListCol,
    description_key_items: BytesCol,
}

impl EntityRefsCol {
    fn push<'k>(
        &mut self,
        schema_url: &str,
        kind: &str,
        id_keys: impl IntoIterator<Item = &'k str>,
        description_keys: impl IntoIterator<Item = &'k str>,
    ) {
        self.schema_url.push(schema_url.as_bytes());
        self.kind.push(kind.as_bytes());
        for key in id_keys {
            self.id_key_items.push(key.as_bytes());
        }
        self.id_keys.close(self.id_key_items.len());
        for key in description_keys {
            self.description_key_items.push(key.as_bytes());
        }
        self.description_keys
            .close(self.description_key_items.len());
    }

    fn close_row(&mut self) {
        self.rows.close(self.schema_url.len());
    }

    fn extend_n(&mut self, other: &Self, n: usize) {
        self.rows.extend_n(&other.rows, n);
        self.schema_url.extend_n(&other.schema_url, n);
        self.kind.extend_n(&other.kind, n);
        self.id_keys.extend_n(&other.id_keys, n);
        self.id_key_items.extend_n(&other.id_key_items, n);
        self.description_keys.extend_n(&other.description_keys, n);
        self.description_key_items
            .extend_n(&other.description_key_items, n);
    }

    fn truncate(&mut self, rows: usize) {
        self.rows.truncate(rows);
        let refs = self.rows.open_start();
        self.schema_url.truncate(refs);
        self.kind.truncate(refs);
        self.id_keys.truncate(refs);
        self.id_key_items.truncate(self.id_keys.open_start());
        self.description_keys.truncate(refs);
        self.description_key_items
            .truncate(self.description_keys.open_start());
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.schema_url.clear();
        self.kind.clear();
        self.id_keys.clear();
        self.id_key_items.clear();
        self.description_keys.clear();
        self.description_key_items.clear();
    }

    fn finish(&mut self) -> Result<ArrayRef, Error> {
        let id_keys = self.id_key_items.finish_utf8(col::RESOURCE_ENTITY_REFS)?;
        let id_keys = self
            .id_keys
            .finish(col::RESOURCE_ENTITY_REFS, utf8_item(), id_keys)?;
        let description_keys = self
            .description_key_items
            .finish_utf8(col::RESOURCE_ENTITY_REFS)?;
        let description_keys = self.description_keys.finish(
            col::RESOURCE_ENTITY_REFS,
            utf8_item(),
            description_keys,
        )?;
        let refs = StructArray::try_new(
            entity_ref_fields(),
            vec![
                self.schema_url.finish_utf8(col::RESOURCE_ENTITY_REFS)?,
                self.kind.finish_utf8(col::RESOURCE_ENTITY_REFS)?,
                id_keys,
                description_keys,
            ],
            None,
        )?;
        self.rows
            .finish(col::RESOURCE_ENTITY_REFS, entity_ref_item(), Arc::new(refs))
    }
}

/// The resource columns of rows (or, as a template, of one resource).
#[derive(Debug, Default)]
struct ResourceCols {
    id: PrimCol<UInt32Type>,
    service_name: BytesCol,
    attributes: MapCol,
    dropped_attributes_count: PrimCol<UInt32Type>,
    entity_refs: EntityRefsCol,
    schema_url: BytesCol,
}

impl ResourceCols {
    /// Appends `other` `n` times, its attributes and [`RUN_COLUMNS`] `run_copies` times.
    fn extend_n(&mut self, other: &Self, n: usize, run_copies: usize) {
        self.id.extend_n(&other.id, n);
        self.service_name.extend_n(&other.service_name, run_copies);
        self.attributes.extend_n(&other.attributes, run_copies);
        self.dropped_attributes_count
            .extend_n(&other.dropped_attributes_count, run_copies);
        self.entity_refs.extend_n(&other.entity_refs, n);
        self.schema_url.extend_n(&other.schema_url, run_copies);
    }

    /// Keeps the first `rows` rows, whose attributes and [`RUN_COLUMNS`] are their first
    /// `runs` values.
    fn truncate(&mut self, rows: usize, runs: usize) {
        self.id.truncate(rows);
        self.service_name.truncate(runs);
        self.attributes.truncate(runs);
        self.dropped_attributes_count.truncate(runs);
        self.entity_refs.truncate(rows);
        self.schema_url.truncate(runs);
    }

    fn clear(&mut self) {
        self.id.clear();
        self.service_name.clear();
        self.attributes.clear();
        self.dropped_attributes_count.clear();
        self.entity_refs.clear();
        self.schema_url.clear();
    }
}

/// The scope columns of rows (or, as a template, of one scope).
#[derive(Debug, Default)]
struct ScopeCols {
    id: PrimCol<UInt32Type>,
    name: BytesCol,
    version: BytesCol,
    attributes: MapCol,
    dropped_attributes_count: PrimCol<UInt32Type>,
    schema_url: BytesCol,
}

impl ScopeCols {
    /// Appends `other` `n` times, its attributes and [`RUN_COLUMNS`] `run_copies` times.
    fn extend_n(&mut self, other: &Self, n: usize, run_copies: usize) {
        self.id.extend_n(&other.id, n);
        self.name.extend_n(&other.name, run_copies);
        self.version.extend_n(&other.version, run_copies);
        self.attributes.extend_n(&other.attributes, run_copies);
        self.dropped_attributes_count
            .extend_n(&other.dropped_attributes_count, run_copies);
        self.schema_url.extend_n(&other.schema_url, run_copies);
    }

    /// Keeps the first `rows` rows, whose attributes and [`RUN_COLUMNS`] are their first
    /// `runs` values.
    fn truncate(&mut self, rows: usize, runs: usize) {
        self.id.truncate(rows);
        self.name.truncate(runs);
        self.version.truncate(runs);
        self.attributes.truncate(runs);
        self.dropped_attributes_count.truncate(runs);
        self.schema_url.truncate(runs);
    }

    fn clear(&mut self) {
        self.id.clear();
        self.name.clear();
        self.version.clear();
        self.attributes.clear();
        self.dropped_attributes_count.clear();
        self.schema_url.clear();
    }
}

/// The finished resource and scope arrays of a batch.
pub(crate) struct ContextArrays {
    pub(crate) leading: Vec<ArrayRef>,
    pub(crate) trailing: Vec<ArrayRef>,
}

/// Resource and scope state of a builder: the templates being described or in force,
/// the rows so far, and the run of items not yet given their resource and scope columns.
#[derive(Debug, Default)]
pub(crate) struct Context {
    resource: ResourceCols,
    scope: ScopeCols,
    /// The first `service.name` of the resource being described, if `has_service_name`; the buffer is kept from
    /// one resource to the next rather than allocated for each.
    service_name: String,
    has_service_name: bool,
    rows_resource: ResourceCols,
    rows_scope: ScopeCols,
    /// Items appended since the templates last changed.
    run: usize,
    /// Where each run of rows ends, when the attribute maps and [`RUN_COLUMNS`] are kept once per run instead
    /// of once per row ([`run_encoded`](Self::run_encoded)).
    run_ends: Option<Vec<i32>>,
    /// The last schema given to [`batch_schema`](Self::batch_schema) and its run-end encoded form, kept because
    /// building that form allocates a dozen fields and every batch asks for it.
    run_schema: Option<(SchemaRef, SchemaRef)>,
    next_resource_id: u32,
    next_scope_id: u32,
}

impl Context {
    /// A context whose batches carry `resource_attributes`, `scope_attributes` and the [`RUN_COLUMNS`] run-end
    /// encoded: one value per run of items under the same resource and scope instead of a copy on every row. A
    /// resource's attributes are most of a row's bytes; a writer that takes the runs
    /// ([`FlatParquetWriter`](super::FlatParquetWriter)) encodes each value once instead of copying, comparing
    /// and re-encoding it per item.
    pub(crate) fn run_encoded() -> Self {
        Self {
            run_ends: Some(Vec::new()),
            ..Self::default()
        }
    }

    fn flush_run(&mut self) {
        if self.run > 0 {
            let copies = match &mut self.run_ends {
                Some(ends) => {
                    // Rows are at most `i32::MAX` per batch: offsets are `i32` everywhere.
                    ends.push((self.rows_resource.id.len() + self.run) as i32);
                    1
                }
                None => self.run,
            };
            self.rows_resource
                .extend_n(&self.resource, self.run, copies);
            self.rows_scope.extend_n(&self.scope, self.run, copies);
            self.run = 0;
        }
    }

    pub(crate) fn begin_resource(&mut self) {
        self.flush_run();
        self.resource.clear();
        self.scope.clear();
        self.has_service_name = false;
    }

    pub(crate) fn resource_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.flush_run();
        self.resource
            .attributes
            .push_entry(key, value, key_strindex)?;
        if let (SERVICE_NAME_KEY, ValueRef::Str(name), false) = (key, value, self.has_service_name)
        {
            self.service_name.clear();
            self.service_name.push_str(name);
            self.has_service_name = true;
        }
        Ok(())
    }

    pub(crate) fn resource_entity_ref<'k>(
        &mut self,
        schema_url: &str,
        kind: &str,
        id_keys: impl IntoIterator<Item = &'k str>,
        description_keys: impl IntoIterator<Item = &'k str>,
    ) {
        self.flush_run();
        self.resource
            .entity_refs
            .push(schema_url, kind, id_keys, description_keys);
    }

    pub(crate) fn end_resource(&mut self, info: ResourceInfo<'_>) {
        self.flush_run();
        let r = &mut self.resource;
        // A template holds exactly one row: a repeated `end_resource` replaces it.
        if r.id.len() > 0 {
            r.clear();
        }
        r.id.push(self.next_resource_id);
        self.next_resource_id = self.next_resource_id.wrapping_add(1);
        if info.present {
            r.service_name.push_opt(
                self.has_service_name
                    .then_some(self.service_name.as_bytes()),
            );
            r.attributes.close_row();
            r.dropped_attributes_count
                .push(info.dropped_attributes_count);
            r.entity_refs.close_row();
        } else {
            // An absent resource has nothing to carry: its open attributes and entity
            // references (there should be none) are dropped.
            r.service_name.push_null();
            r.attributes.close_null_row();
            r.dropped_attributes_count.push(0);
            r.entity_refs.clear();
            r.entity_refs.close_row();
        }
        r.schema_url.push(info.schema_url.as_bytes());
        self.scope.clear();
    }

    pub(crate) fn begin_scope(&mut self) {
        self.flush_run();
        self.scope.clear();
    }

    pub(crate) fn scope_attribute(
        &mut self,
        key: &str,
        value: ValueRef<'_>,
        key_strindex: i32,
    ) -> Result<(), Error> {
        self.flush_run();
        self.scope.attributes.push_entry(key, value, key_strindex)
    }

    pub(crate) fn end_scope(&mut self, info: ScopeInfo<'_>) {
        self.flush_run();
        let s = &mut self.scope;
        if s.id.len() > 0 {
            s.clear();
        }
        s.id.push(self.next_scope_id);
        self.next_scope_id = self.next_scope_id.wrapping_add(1);
        if info.present {
            s.name.push(info.name.as_bytes());
            s.version.push(info.version.as_bytes());
            s.attributes.close_row();
            s.dropped_attributes_count
                .push(info.dropped_attributes_count);
        } else {
            s.name.push_null();
            s.version.push_null();
            s.attributes.close_null_row();
            s.dropped_attributes_count.push(0);
        }
        s.schema_url.push(info.schema_url.as_bytes());
    }

    /// Counts one more item under the current resource and scope (an absent one if the
    /// caller described none).
    #[inline]
    pub(crate) fn item(&mut self) {
        if self.resource.id.len() == 0 {
            self.resource.attributes.discard_open();
            self.end_resource(ResourceInfo::default());
        }
        if self.scope.id.len() == 0 {
            self.scope.attributes.discard_open();
            self.end_scope(ScopeInfo::default());
        }
        self.run += 1;
    }

    /// Rows so far.
    pub(crate) fn rows(&self) -> usize {
        self.rows_resource.id.len() + self.run
    }

    pub(crate) fn finish(&mut self) -> Result<ContextArrays, Error> {
        self.flush_run();
        let ends = self
            .run_ends
            .as_mut()
            .map(|ends| Int32Array::new(take_reserved(ends).into(), None));
        let r = &mut self.rows_resource;
        let s = &mut self.rows_scope;
        let service_name = r.service_name.finish_utf8(col::SERVICE_NAME)?;
        // Every column has a value per run, or per row. arrow checks the run ends once, with the first column; the
        // others share its ends and type, with their own values. `RunArray::try_new` for each would check the same
        // ends again and copy its values array's structure (a dozen allocations for a map) on every batch.
        let first = match &ends {
            Some(ends) => Some(RunArray::<Int32Type>::try_new(ends, &service_name)?),
            None => None,
        };
        let runs = |values: ArrayRef| -> Result<ArrayRef, Error> {
            let Some(first) = &first else {
                return Ok(values);
            };
            if values.len() != first.values().len() {
                return Err(Error::Arrow(ArrowError::InvalidArgumentError(format!(
                    "{} values for {} runs",
                    values.len(),
                    first.values().len()
                ))));
            }
            Ok(Arc::new(first.with_values(values)))
        };
        Ok(ContextArrays {
            leading: vec![match &first {
                Some(first) => Arc::new(first.clone()),
                None => service_name,
            }],
            trailing: vec![
                runs(r.attributes.finish(col::RESOURCE_ATTRIBUTES)?)?,
                runs(r.dropped_attributes_count.finish()?)?,
                r.entity_refs.finish()?,
                runs(r.schema_url.finish_utf8(col::RESOURCE_SCHEMA_URL)?)?,
                runs(s.name.finish_utf8(col::SCOPE_NAME)?)?,
                runs(s.version.finish_utf8(col::SCOPE_VERSION)?)?,
                runs(s.attributes.finish(col::SCOPE_ATTRIBUTES)?)?,
                runs(s.dropped_attributes_count.finish()?)?,
                runs(s.schema_url.finish_utf8(col::SCOPE_SCHEMA_URL)?)?,
                r.id.finish()?,
                s.id.finish()?,
            ],
        })
    }

    /// Drops the rows of a batch that failed to finish, keeping the templates.
    pub(crate) fn clear_rows(&mut self) {
        self.truncate_rows(0);
    }

    /// Keeps the first `rows` rows.
    pub(crate) fn truncate_rows(&mut self, rows: usize) {
        self.flush_run();
        let runs = match &mut self.run_ends {
            Some(ends) => kept_runs(ends, rows),
            None => rows,
        };
        self.rows_resource.truncate(rows, runs);
        self.rows_scope.truncate(rows, runs);
    }

    /// The schema of this context's batches: `schema`, its attribute maps run-end encoded if they are.
    pub(crate) fn batch_schema(&mut self, schema: SchemaRef) -> SchemaRef {
        if self.run_ends.is_none() {
            return schema;
        }
        if let Some((plain, runs)) = &self.run_schema
            && Arc::ptr_eq(plain, &schema)
        {
            return Arc::clone(runs);
        }
        let fields: Vec<FieldRef> = schema
            .fields()
            .iter()
            .map(|field| {
                if runs_in_run_encoded_batches(field.name()) {
                    Arc::new(run_encoded_field(field))
                } else {
                    Arc::clone(field)
                }
            })
            .collect();
        let runs = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        self.run_schema = Some((schema, Arc::clone(&runs)));
        runs
    }
}

/// Whether a run-encoded context's batches carry the column `name` run-end encoded.
pub(crate) fn runs_in_run_encoded_batches(name: &str) -> bool {
    matches!(name, col::RESOURCE_ATTRIBUTES | col::SCOPE_ATTRIBUTES) || RUN_COLUMNS.contains(&name)
}

/// `field` run-end encoded, as [`RunArray::try_new`] types it.
pub(crate) fn run_encoded_field(field: &Field) -> Field {
    let run_ends = Field::new(
        Field::REE_RUN_ENDS_FIELD_DEFAULT_NAME,
        DataType::Int32,
        false,
    );
    let values = Field::new(
        Field::REE_VALUES_FIELD_DEFAULT_NAME,
        field.data_type().clone(),
        true,
    );
    Field::new(
        field.name(),
        DataType::RunEndEncoded(Arc::new(run_ends), Arc::new(values)),
        field.is_nullable(),
    )
    .with_metadata(field.metadata().clone())
}

/// Cuts the runs `ends` to the first `rows` rows and says how many runs are left.
fn kept_runs(ends: &mut Vec<i32>, rows: usize) -> usize {
    let whole = ends.partition_point(|&end| end as usize <= rows);
    let covered = whole.checked_sub(1).map_or(0, |last| ends[last] as usize);
    let kept = if covered < rows && whole < ends.len() {
        ends[whole] = rows as i32;
        whole + 1
    } else {
        whole
    };
    ends.truncate(kept);
    kept
}

impl Context {
    /// Describes a prost resource (the first half of a `Resource*` container).
    pub(crate) fn append_resource(
        &mut self,
        resource: Option<&Resource>,
        schema_url: &str,
    ) -> Result<(), Error> {
        self.begin_resource();
        if let Some(resource) = resource {
            for kv in &resource.attributes {
                self.resource_attribute(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)?;
            }
            for e in &resource.entity_refs {
                self.resource_entity_ref(
                    &e.schema_url,
                    &e.r#type,
                    e.id_keys.iter().map(String::as_str),
                    e.description_keys.iter().map(String::as_str),
                );
            }
        }
        self.end_resource(ResourceInfo {
            present: resource.is_some(),
            dropped_attributes_count: resource.map_or(0, |r| r.dropped_attributes_count),
            schema_url,
        });
        Ok(())
    }

    /// Describes a prost scope.
    pub(crate) fn append_scope(
        &mut self,
        scope: Option<&InstrumentationScope>,
        schema_url: &str,
    ) -> Result<(), Error> {
        self.begin_scope();
        if let Some(scope) = scope {
            for kv in &scope.attributes {
                self.scope_attribute(&kv.key, ValueRef::of(kv.value.as_ref()), kv.key_strindex)?;
            }
        }
        self.end_scope(ScopeInfo {
            present: scope.is_some(),
            name: scope.map_or("", |s| &s.name),
            version: scope.map_or("", |s| &s.version),
            dropped_attributes_count: scope.map_or(0, |s| s.dropped_attributes_count),
            schema_url,
        });
        Ok(())
    }
}

/// The resource and scope methods every flat builder has, delegating to its `ctx`.
macro_rules! context_methods {
    ($item:literal, $container:literal) => {
        #[doc = concat!("Starts describing a resource (a `", $container, "`); the ", $item, "s appended after [`end_resource`](Self::end_resource) belong to it.")]
        pub fn begin_resource(&mut self) {
            self.ctx.begin_resource();
        }

        /// Adds an attribute to the resource being described.
        pub fn resource_attribute(
            &mut self,
            key: &str,
            value: $crate::flat::ValueRef<'_>,
            key_strindex: i32,
        ) -> Result<(), $crate::Error> {
            self.ctx.resource_attribute(key, value, key_strindex)
        }

        /// Adds an entity reference to the resource being described.
        pub fn resource_entity_ref<'k>(
            &mut self,
            schema_url: &str,
            entity_type: &str,
            id_keys: impl IntoIterator<Item = &'k str>,
            description_keys: impl IntoIterator<Item = &'k str>,
        ) {
            self.ctx
                .resource_entity_ref(schema_url, entity_type, id_keys, description_keys);
        }

        /// Ends the resource being described.
        pub fn end_resource(&mut self, info: $crate::flat::ResourceInfo<'_>) {
            self.ctx.end_resource(info);
        }

        /// Starts describing a scope of the current resource.
        pub fn begin_scope(&mut self) {
            self.ctx.begin_scope();
        }

        /// Adds an attribute to the scope being described.
        pub fn scope_attribute(
            &mut self,
            key: &str,
            value: $crate::flat::ValueRef<'_>,
            key_strindex: i32,
        ) -> Result<(), $crate::Error> {
            self.ctx.scope_attribute(key, value, key_strindex)
        }

        #[doc = concat!("Ends the scope being described: the ", $item, "s appended from now on belong to it.")]
        pub fn end_scope(&mut self, info: $crate::flat::ScopeInfo<'_>) {
            self.ctx.end_scope(info);
        }

        #[doc = concat!("Rows (", $item, "s) appended since the last `finish`.")]
        pub fn len(&self) -> usize {
            self.ctx.rows()
        }

        #[doc = concat!("Whether no ", $item, " was appended since the last `finish`.")]
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
    };
}
pub(crate) use context_methods;

#[cfg(test)]
mod tests {
    use super::{Context, kept_runs};
    use crate::flat::traces;
    use std::sync::Arc;

    #[test]
    fn a_run_encoded_schema_is_made_once_per_schema() {
        let mut context = Context::run_encoded();
        let first = context.batch_schema(traces::schema());
        assert!(Arc::ptr_eq(&first, &context.batch_schema(traces::schema())));
        assert!(!Arc::ptr_eq(&first, &traces::schema()));
        let mut plain = Context::default();
        assert!(Arc::ptr_eq(
            &plain.batch_schema(traces::schema()),
            &traces::schema()
        ));
    }

    #[test]
    fn runs_are_cut_where_the_rows_end() {
        let cut = |rows: usize| {
            let mut ends = vec![2, 5, 6, 10];
            let kept = kept_runs(&mut ends, rows);
            assert_eq!(kept, ends.len());
            ends
        };
        assert_eq!(cut(0), Vec::<i32>::new());
        assert_eq!(cut(1), [1]);
        assert_eq!(cut(2), [2]);
        assert_eq!(cut(3), [2, 3]);
        assert_eq!(cut(6), [2, 5, 6]);
        assert_eq!(cut(9), [2, 5, 6, 9]);
        assert_eq!(cut(10), [2, 5, 6, 10]);
        assert_eq!(cut(11), [2, 5, 6, 10]);
    }
}
