//! A small deterministic random generator (xorshift) for the unit tests' generated
//! inputs: the same seed gives the same cases on every run.

/// Xorshift64 state; the seed must not be zero.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
