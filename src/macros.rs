//! Crate-internal macros.

/// Implements the shared plumbing of a causal newtype `struct Name { inner: Causal<Store> }`:
/// `Lattice`, `Decompose`, `Default`, `as_causal`, `into_causal`, `store_ref`.
macro_rules! causal_newtype {
    ([$($gen:tt)*] $name:ty => $store:ty) => {
        impl<$($gen)*> $crate::Lattice for $name
        where
            $store: $crate::DotStore,
        {
            fn bottom() -> Self {
                Self { inner: $crate::Causal::default() }
            }
            fn is_bottom(&self) -> bool {
                $crate::Lattice::is_bottom(&self.inner)
            }
            fn join_ref(&mut self, other: &Self) -> bool {
                self.inner.join_ref(&other.inner)
            }
            fn join(&mut self, other: Self) -> bool {
                self.inner.join(other.inner)
            }
            fn leq(&self, other: &Self) -> bool {
                self.inner.leq(&other.inner)
            }
        }

        impl<$($gen)*> $crate::Decompose for $name
        where
            $store: $crate::DotStore,
        {
            fn decompose(&self) -> alloc::vec::Vec<Self> {
                self.inner.decompose().into_iter().map(|inner| Self { inner }).collect()
            }
            fn irreducible_count(&self) -> usize {
                self.inner.irreducible_count()
            }
            fn delta(&self, other: &Self) -> Self {
                Self { inner: self.inner.delta(&other.inner) }
            }
        }

        impl<$($gen)*> Default for $name
        where
            $store: $crate::DotStore,
        {
            fn default() -> Self {
                Self { inner: $crate::Causal::default() }
            }
        }

        impl<$($gen)*> $name
        where
            $store: $crate::DotStore,
        {
            /// The causal pair `(store, context)` this value is made of.
            pub fn as_causal(&self) -> &$crate::Causal<$store> {
                &self.inner
            }

            /// Unwraps the causal pair `(store, context)`.
            pub fn into_causal(self) -> $crate::Causal<$store> {
                self.inner
            }

            /// The causal context: every event this value has seen, live or removed.
            pub fn context(&self) -> &$crate::CausalContext {
                &self.inner.context
            }
        }

        impl<$($gen)*> From<$crate::Causal<$store>> for $name {
            fn from(inner: $crate::Causal<$store>) -> Self {
                Self { inner }
            }
        }
    };
}

pub(crate) use causal_newtype;
