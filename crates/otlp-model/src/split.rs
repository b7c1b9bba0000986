//! Splitting a request at an item boundary, for every signal: whole resources and scopes move, and the resource
//! or scope the boundary falls in is split in two, each half keeping its metadata.

/// How one signal's resource and scope containers are taken apart.
pub(crate) struct Layout<R, S> {
    /// The scopes of a resource (`ResourceSpans::scope_spans`).
    pub(crate) scopes: fn(&mut R) -> &mut Vec<S>,
    /// Items in a scope.
    pub(crate) scope_items: fn(&S) -> usize,
    /// Removes the first `n` items of a scope (fewer than it holds) into a scope of their own.
    pub(crate) split_scope: fn(&mut S, usize) -> S,
}

/// Moves the first `max_items` items of `resources` into a new list.
pub(crate) fn split_front<R: Clone, S>(
    resources: &mut Vec<R>,
    max_items: usize,
    layout: &Layout<R, S>,
) -> Vec<R> {
    let mut remaining = max_items;
    let mut whole = 0;
    for resource in resources.iter_mut() {
        let items: usize = (layout.scopes)(resource)
            .iter()
            .map(layout.scope_items)
            .sum();
        if items > remaining {
            break;
        }
        remaining -= items;
        whole += 1;
    }
    let mut head: Vec<R> = resources.drain(..whole).collect();
    if remaining == 0 {
        return head;
    }
    let Some(boundary) = resources.first_mut() else {
        return head;
    };
    // The boundary falls inside this resource: its head half is a copy of its metadata with the leading scopes.
    let scopes = (layout.scopes)(boundary);
    let mut whole_scopes = 0;
    for scope in scopes.iter() {
        let items = (layout.scope_items)(scope);
        if items > remaining {
            break;
        }
        remaining -= items;
        whole_scopes += 1;
    }
    let mut head_scopes: Vec<S> = scopes.drain(..whole_scopes).collect();
    if remaining > 0
        && let Some(scope) = scopes.first_mut()
    {
        head_scopes.push((layout.split_scope)(scope, remaining));
    }
    let tail_scopes = std::mem::take(scopes);
    let mut head_resource = boundary.clone();
    *(layout.scopes)(boundary) = tail_scopes;
    *(layout.scopes)(&mut head_resource) = head_scopes;
    head.push(head_resource);
    head
}

/// Removes the first `n` elements of `items` into a vector of their own.
pub(crate) fn take_front<T>(items: &mut Vec<T>, n: usize) -> Vec<T> {
    let rest = items.split_off(n.min(items.len()));
    std::mem::replace(items, rest)
}
