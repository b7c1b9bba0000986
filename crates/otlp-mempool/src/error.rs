//! The crate's error type.

/// Why a fixed-capacity builder refused a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A fixed-capacity list is full; the value was not added.
    #[error("the list holds at most {capacity} entries and is full")]
    Full {
        /// The list's capacity.
        capacity: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
