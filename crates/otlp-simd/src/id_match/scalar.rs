//! The scalar twin: one comparison per id, 64 results per bitmap word.

/// Marks the ids of `ids` equal to `wanted` in `bitmap`, whose length the caller has checked.
pub fn matches<const W: usize>(ids: &[[u8; W]], wanted: &[u8; W], bitmap: &mut [u64]) {
    for (word, ids) in bitmap.iter_mut().zip(ids.chunks(64)) {
        let mut bits = 0u64;
        for (bit, id) in ids.iter().enumerate() {
            bits |= u64::from(id == wanted) << bit;
        }
        *word = bits;
    }
}
