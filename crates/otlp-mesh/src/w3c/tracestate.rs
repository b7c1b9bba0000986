//! `tracestate`: the list grammar, what happens to members that break it, and how members that
//! `opentelemetry`'s [`TraceState`] cannot hold are still passed on.

use std::collections::HashSet;

use opentelemetry::trace::{TraceId, TraceState};

use crate::Error;

pub(crate) const TRACESTATE: &str = "tracestate";
/// "There can be a maximum of 32 `list-member`s in a `list`."
pub(crate) const MAX_MEMBERS: usize = 32;
/// "Entries larger than `128` characters long SHOULD be removed first."
const LONG_ENTRY: usize = 128;
const MAX_KEY_LEN: usize = 256;
const MAX_VALUE_LEN: usize = 256;

/// What [`crate::W3cTraceContextPropagator`] does with a received `tracestate` list that breaks the
/// grammar. Both are allowed by W3C Trace Context, "A traceparent is Received": "If the tracestate
/// header cannot be parsed the vendor MAY discard the entire header. Invalid tracestate entries MAY
/// also be discarded." Duplicated keys are handled the same way under both (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TraceStatePolicy {
    /// Drop only the members that break the grammar and keep every valid one; a list of more than
    /// 32 valid members is truncated by the specification's rule (entries over 128 characters
    /// first, then from the end). Keeps the most valid context, so it is the default.
    #[default]
    PerMember,
    /// Discard the whole list when any member breaks the grammar or there are more than 32: what
    /// the W3C test suite asserts at `STRICT_LEVEL=2`, for deployments that would rather lose a
    /// list than forward one a peer mangled.
    WholeList,
}

/// Byte classes of the grammar, so each check is one table load per byte.
const KEY_FIRST: u8 = 1;
const KEY_CHAR: u8 = 2;
const VALUE_CHAR: u8 = 4;
const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0x20;
    while byte <= 0x7e {
        if byte != b',' as usize && byte != b'=' as usize {
            table[byte] = VALUE_CHAR;
        }
        byte += 1;
    }
    let mut byte = b'a' as usize;
    while byte <= b'z' as usize {
        table[byte] |= KEY_FIRST | KEY_CHAR;
        byte += 1;
    }
    let mut byte = b'0' as usize;
    while byte <= b'9' as usize {
        table[byte] |= KEY_FIRST | KEY_CHAR;
        byte += 1;
    }
    table[b'_' as usize] |= KEY_CHAR;
    table[b'-' as usize] |= KEY_CHAR;
    table[b'*' as usize] |= KEY_CHAR;
    table[b'/' as usize] |= KEY_CHAR;
    table[b'@' as usize] |= KEY_CHAR;
    table
};

fn all_in(bytes: &[u8], class: u8) -> bool {
    bytes
        .iter()
        .fold(class, |all, &byte| all & CLASSES[usize::from(byte)])
        == class
}

/// Level 2 "Key": `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, with `keychar = lcalpha / DIGIT /
/// "_" / "-" / "*" / "/" / "@"`. (Level 1's tenant/system split at `@` is gone; every Level 1 key is
/// still a Level 2 key.)
pub(crate) fn check_key(key: &str) -> Result<(), Error> {
    let bytes = key.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(bad_member(key, "has an empty key"));
    };
    if CLASSES[usize::from(first)] & KEY_FIRST == 0 {
        return Err(bad_member(
            key,
            "key must start with a lower-case letter or a digit",
        ));
    }
    if bytes.len() > MAX_KEY_LEN {
        return Err(bad_member(key, "key is longer than 256 characters"));
    }
    if !all_in(bytes, KEY_CHAR) {
        return Err(bad_member(
            key,
            "key has a character outside a-z 0-9 _ - * / @",
        ));
    }
    Ok(())
}

/// "Value": `value = 0*255(chr) nblk-chr`, printable ASCII (0x20-0x7E) without `,` and `=`, not
/// ending in a space.
pub(crate) fn check_value(value: &str) -> Result<(), Error> {
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_VALUE_LEN
        || !all_in(bytes, VALUE_CHAR)
        || bytes.last() == Some(&b' ')
    {
        return Err(bad_member(
            value,
            "value must be 1-256 printable characters without `,` or `=`, not ending in a space",
        ));
    }
    Ok(())
}

fn bad_member(part: &str, why: &str) -> Error {
    Error::malformed(TRACESTATE, format!("`{part}`: {why}"))
}

/// One `key=value` member, borrowed from the header.
pub(crate) type Member<'a> = (&'a str, &'a str);

/// The non-empty members of every field, in order, without the spaces and tabs around them. A
/// byte scan: `str::split` and `trim_matches` cost more than the members themselves here.
#[derive(Clone)]
struct RawMembers<'a> {
    fields: std::slice::Iter<'a, &'a str>,
    rest: &'a str,
}

impl<'a> Iterator for RawMembers<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if self.rest.is_empty() {
                self.rest = self.fields.next()?;
                if self.rest.is_empty() {
                    continue;
                }
            }
            let (member, rest) = match self.rest.as_bytes().iter().position(|&b| b == b',') {
                Some(comma) => (
                    self.rest.get(..comma).unwrap_or_default(),
                    // A trailing comma leaves "" here, which the next call skips like an empty field.
                    self.rest.get(comma + 1..).unwrap_or_default(),
                ),
                None => (self.rest, ""),
            };
            self.rest = rest;
            let member = trim_ows(member);
            if !member.is_empty() {
                return Some(member);
            }
        }
    }
}

fn raw_members<'a>(fields: &'a [&'a str]) -> RawMembers<'a> {
    RawMembers {
        fields: fields.iter(),
        rest: "",
    }
}

/// Without the spaces and tabs around it (RFC 9110 `OWS`).
pub(crate) fn trim_ows(text: &str) -> &str {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = text.as_bytes();
    let start = bytes.iter().take_while(|b| ows(b)).count();
    let end = bytes.len() - bytes.iter().rev().take_while(|b| ows(b)).count();
    text.get(start..end.max(start)).unwrap_or_default()
}

fn split_member(member: &str) -> Option<Member<'_>> {
    let equals = member.as_bytes().iter().position(|&b| b == b'=')?;
    Some((member.get(..equals)?, member.get(equals + 1..)?))
}

fn parse_member(member: &str) -> Result<Member<'_>, Error> {
    let (key, value) = split_member(member).ok_or_else(|| bad_member(member, "has no `=`"))?;
    check_key(key)?;
    check_value(value)?;
    Ok((key, value))
}

/// The SDK [`TraceState`] for the received `tracestate` fields under `policy`, plus the members it
/// could not hold. Invalid lists give an empty state under [`TraceStatePolicy::WholeList`].
///
/// Most lists are short, valid and free of repeats; those are validated in one pass with no
/// allocation and handed to `TraceState` straight from the header. Everything else takes
/// [`screen`].
pub(crate) fn trace_state(
    fields: &[&str],
    policy: TraceStatePolicy,
    trace_id: TraceId,
) -> (TraceState, Option<ForeignMembers>) {
    /// Keys remembered for the repeat check; longer lists re-scan the header instead.
    const REMEMBERED: usize = 8;
    let mut keys = [""; REMEMBERED];
    let mut count = 0;
    let mut clean = true;
    for member in raw_members(fields) {
        let Ok((key, _)) = parse_member(member) else {
            clean = false;
            break;
        };
        let repeated = match keys.get(..count) {
            Some(seen) => seen.contains(&key),
            None => raw_members(fields)
                .take(count)
                .any(|earlier| split_member(earlier).is_some_and(|(k, _)| k == key)),
        };
        if repeated || count == MAX_MEMBERS {
            clean = false;
            break;
        }
        if let Some(slot) = keys.get_mut(count) {
            *slot = key;
        }
        count += 1;
    }
    if clean {
        if count == 0 {
            return (TraceState::NONE, None);
        }
        let members = raw_members(fields).filter_map(split_member);
        if let Ok(state) = TraceState::from_key_value(members) {
            return (state, None);
        }
    }
    match screen(fields, policy) {
        Ok(kept) => represent(&kept, trace_id),
        Err(_) => (TraceState::NONE, None),
    }
}

/// Combines every received `tracestate` field in order (W3C: "they MUST be combined into a single
/// header") and applies `policy`. A repeated key keeps its first (left-most, most recently
/// written) member under either policy. `Err` only under [`TraceStatePolicy::WholeList`].
pub(crate) fn screen<'a>(
    fields: &'a [&'a str],
    policy: TraceStatePolicy,
) -> Result<Vec<Member<'a>>, Error> {
    let mut kept: Vec<Member<'a>> = Vec::new();
    // Past the limit a linear repeat check would make a long hostile list quadratic.
    let mut many_keys: Option<HashSet<&'a str>> = None;
    for member in raw_members(fields) {
        let (key, value) = match (parse_member(member), policy) {
            (Ok(member), _) => member,
            (Err(_), TraceStatePolicy::PerMember) => continue,
            (Err(error), TraceStatePolicy::WholeList) => return Err(error),
        };
        let repeated = match &many_keys {
            Some(keys) => keys.contains(key),
            None => kept.iter().any(|(seen, _)| *seen == key),
        };
        if repeated {
            continue;
        }
        if kept.len() == MAX_MEMBERS {
            if policy == TraceStatePolicy::WholeList {
                return Err(Error::malformed(
                    TRACESTATE,
                    format!("more than {MAX_MEMBERS} members"),
                ));
            }
            many_keys.get_or_insert_with(|| kept.iter().map(|(key, _)| *key).collect());
        }
        if let Some(keys) = &mut many_keys {
            keys.insert(key);
        }
        kept.push((key, value));
    }
    truncate_to_limit(&mut kept);
    Ok(kept)
}

/// Level 2 "tracestate Limits": "the vendor MUST truncate whole entries. Entries larger than `128`
/// characters long SHOULD be removed first. Then entries SHOULD be removed starting from the end
/// of `tracestate`." Only as many as needed are removed.
fn truncate_to_limit(members: &mut Vec<Member<'_>>) {
    let Some(mut excess) = members.len().checked_sub(MAX_MEMBERS) else {
        return;
    };
    let mut remove = vec![false; members.len()];
    let long = |(key, value): &Member<'_>| key.len() + 1 + value.len() > LONG_ENTRY;
    for (flag, member) in remove.iter_mut().zip(members.iter()).rev() {
        if excess == 0 {
            break;
        }
        if long(member) {
            *flag = true;
            excess -= 1;
        }
    }
    for flag in remove.iter_mut().rev() {
        if excess == 0 {
            break;
        }
        if !*flag {
            *flag = true;
            excess -= 1;
        }
    }
    let mut removed = remove.into_iter();
    members.retain(|_| !removed.next().unwrap_or(false));
}

/// The full received list, kept beside the span context when `opentelemetry`'s [`TraceState`]
/// refused some of its keys (its check in 0.33 is narrower than Level 2's: it allows one `@` and at
/// most 13 characters after it). Bound to the trace ID it arrived with, so it cannot leak into
/// another trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ForeignMembers {
    trace_id: TraceId,
    /// Every kept member in received order; `true` where `TraceState` holds it too.
    members: Vec<(String, String, bool)>,
}

/// Turns the kept members into an SDK [`TraceState`], plus the members it could not hold.
pub(crate) fn represent(
    kept: &[Member<'_>],
    trace_id: TraceId,
) -> (TraceState, Option<ForeignMembers>) {
    if kept.is_empty() {
        return (TraceState::NONE, None);
    }
    if let Ok(state) = TraceState::from_key_value(kept.iter().copied()) {
        return (state, None);
    }
    let members: Vec<(String, String, bool)> = kept
        .iter()
        .map(|&(key, value)| {
            let representable = TraceState::from_key_value([(key, value)]).is_ok();
            (key.to_owned(), value.to_owned(), representable)
        })
        .collect();
    let state = TraceState::from_key_value(
        members
            .iter()
            .filter(|member| member.2)
            .map(|(key, value, _)| (key.as_str(), value.as_str())),
    )
    .unwrap_or_default();
    (state, Some(ForeignMembers { trace_id, members }))
}

impl ForeignMembers {
    /// No foreign members: masks a stale list from an earlier extraction of the same trace.
    pub(crate) fn none(trace_id: TraceId) -> Self {
        Self {
            trace_id,
            members: Vec::new(),
        }
    }

    pub(crate) fn applies_to(&self, trace_id: TraceId) -> bool {
        self.trace_id == trace_id
    }

    /// The header for `state` (what the span context holds now, possibly mutated since extraction)
    /// with the foreign members put back where they were. Level 2, "Mutating the tracestate Field":
    /// "the order of unmodified key/value pairs MUST be preserved. Modified keys MUST be moved to
    /// the beginning (left) of the list." So each foreign member goes right before the first
    /// unmodified member that followed it on arrival, and the ones that followed every unmodified
    /// member go last.
    pub(crate) fn merge(&self, state: &TraceState) -> String {
        let mut out = String::new();
        let mut written = 0;
        let mut next_foreign = 0;
        let mut write = |out: &mut String, key: &str, value: &str| {
            if written < MAX_MEMBERS {
                if !out.is_empty() {
                    out.push(',');
                }
                out.push_str(key);
                out.push('=');
                out.push_str(value);
                written += 1;
            }
        };
        for (key, value) in state {
            let unmodified_at = self
                .members
                .iter()
                .position(|(k, v, representable)| *representable && k == key && v == value);
            if let Some(position) = unmodified_at {
                for (foreign_key, foreign_value, _) in self
                    .members
                    .iter()
                    .enumerate()
                    .skip(next_foreign)
                    .take_while(|(index, _)| *index < position)
                    .map(|(_, member)| member)
                    .filter(|member| !member.2)
                {
                    write(&mut out, foreign_key, foreign_value);
                }
                next_foreign = next_foreign.max(position);
            }
            write(&mut out, key, value);
        }
        for (key, value, _) in self
            .members
            .iter()
            .skip(next_foreign)
            .filter(|member| !member.2)
        {
            write(&mut out, key, value);
        }
        out
    }
}

/// Writes `state` as a header value in one allocation.
pub(crate) fn header(state: &TraceState) -> String {
    let capacity = state
        .into_iter()
        .map(|(key, value)| key.len() + value.len() + 2)
        .sum();
    let mut out = String::with_capacity(capacity);
    for (key, value) in state {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(header: &str, policy: TraceStatePolicy) -> Option<Vec<(String, String)>> {
        let fields = [header];
        screen(&fields, policy).ok().map(|list| {
            list.iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect()
        })
    }

    #[test]
    fn level_2_keys() {
        for valid in [
            "z".repeat(256),
            format!("{}@{}", "t".repeat(241), "v".repeat(14)),
            format!("{}@v", "t".repeat(242)),
            format!("t@{}", "v".repeat(15)),
            "foo@".to_owned(),
            "foo@@bar".to_owned(),
            "foo@bar@baz".to_owned(),
            "1abc".to_owned(),
        ] {
            assert!(check_key(&valid).is_ok(), "{valid}");
        }
        for invalid in [
            "z".repeat(257),
            "@foo".into(),
            "FOO".into(),
            "foo.bar".into(),
        ] {
            assert!(check_key(&invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn policies_differ_only_on_invalid_and_overlong_lists() {
        use TraceStatePolicy::{PerMember, WholeList};
        let pairs = |list: &[(&str, &str)]| {
            Some(
                list.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        assert_eq!(kept("@foo=1,bar=2", PerMember), pairs(&[("bar", "2")]));
        assert_eq!(kept("@foo=1,bar=2", WholeList), None);
        assert_eq!(kept("foo=1,foo=2", WholeList), pairs(&[("foo", "1")]));
        assert_eq!(kept("foo=1,foo=2", PerMember), pairs(&[("foo", "1")]));
    }

    #[test]
    fn truncation_removes_long_entries_first_then_from_the_end() {
        let mut members: Vec<String> = (1..=33).map(|n| format!("k{n}=v")).collect();
        members[4] = format!("long={}", "x".repeat(130));
        let header = members.join(",");
        let list = kept(&header, TraceStatePolicy::PerMember).unwrap();
        assert_eq!(list.len(), 32);
        assert!(list.iter().all(|(key, _)| key != "long"));
        assert_eq!(list.last().unwrap().0, "k33");

        let header: String = (1..=34)
            .map(|n| format!("k{n}=v"))
            .collect::<Vec<_>>()
            .join(",");
        let list = kept(&header, TraceStatePolicy::PerMember).unwrap();
        assert_eq!(list.len(), 32);
        assert_eq!(list.last().unwrap().0, "k32");
    }

    #[test]
    fn foreign_members_return_to_their_places() {
        let fields = ["a=1,foo@bar@baz=2,b=3,t@vvvvvvvvvvvvvvv=4"];
        let list = screen(&fields, TraceStatePolicy::PerMember).unwrap();
        let (state, foreign) = represent(&list, TraceId::from(1u128));
        let foreign = foreign.unwrap();
        assert_eq!(header(&state), "a=1,b=3");
        assert_eq!(
            foreign.merge(&state),
            "a=1,foo@bar@baz=2,b=3,t@vvvvvvvvvvvvvvv=4"
        );
        // A sampler moved `ot` to the front and updated `b`: unmodified `a` keeps its neighbour.
        let mutated = state
            .insert("b", "9")
            .unwrap()
            .insert("ot", "th:8")
            .unwrap();
        assert_eq!(
            foreign.merge(&mutated),
            "ot=th:8,b=9,a=1,foo@bar@baz=2,t@vvvvvvvvvvvvvvv=4"
        );
    }
}
