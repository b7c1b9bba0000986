//! The crate's error type: what a kernel rejects in its input.

use crate::isa::Isa;

/// Why a kernel refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A byte that is not an ASCII hex digit (`0-9`, `a-f`, `A-F`) was found; `index` is the
    /// position of the first such byte in the input.
    #[error("invalid hex digit {byte:#04x} at index {index}")]
    InvalidHexDigit {
        /// Position of the first bad byte in the hex input.
        index: usize,
        /// The bad byte itself.
        byte: u8,
    },
    /// An input or output buffer does not have the length the kernel needs.
    #[error("{what}: expected length {expected}, got {actual}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// The length needed.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// Histogram bucket bounds that are not strictly increasing numbers.
    #[error("histogram bounds must be strictly increasing and not NaN; bound {index} is not")]
    UnsortedBounds {
        /// The first bound that is NaN or not greater than its predecessor.
        index: usize,
    },
    /// A kernel was asked to run on an instruction set this CPU does not have (the `*_on`
    /// variants, which take the ISA from the caller instead of detecting it).
    #[error("this CPU cannot run {} kernels", isa.name())]
    UnsupportedIsa {
        /// The instruction set asked for.
        isa: Isa,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that a buffer has exactly the length a kernel needs.
pub(crate) fn expect_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::Length {
            what,
            expected,
            actual,
        })
    }
}
