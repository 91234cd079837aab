//! Crate-internal macros.

/// THE one place that generates a causal type's plumbing. A causal type is a newtype
/// `struct Name { inner: Causal<Store> }`; one line `causal_newtype!([generics] Name => Store);`
/// in its own file gives it every capability, each under the bound its store meets:
///
/// * `Lattice`, `Decompose`, `Default`, `From<Causal<Store>>`, `as_causal`, `into_causal`,
///   `context` (any `DotStore`);
/// * `HasContext` (own-dots check), `CheckInvariants`, `Receive` (validated receipt), `Prune`;
/// * with `serde`: `Serialize`, `Deserialize` and `Decode` as its causal pair.
///
/// A new causal type therefore touches its own file (the type, its store, one
/// `causal_newtype!` line, its store's `FoldStore` impl; for a store over a dot function, its
/// `FunPayload` impl and one `fun_dot_store!` line), plus one `mod` line in its family's module
/// and one `pub use` at the root. Nothing else in `src/` lists the causal types or their stores
/// (its tests and fuzz subjects go in `testkit`).
macro_rules! causal_newtype {
    ([$($gen:tt)*] $name:ty => $store:ty) => {
        impl<$($gen)*> $crate::lattice::Lattice for $name
        where
            $store: $crate::causal::DotStore,
        {
            fn bottom() -> Self {
                Self { inner: $crate::causal::Causal::default() }
            }
            fn is_bottom(&self) -> bool {
                $crate::lattice::Lattice::is_bottom(&self.inner)
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

        impl<$($gen)*> $crate::lattice::Decompose for $name
        where
            $store: $crate::causal::DotStore,
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
            $store: $crate::causal::DotStore,
        {
            fn default() -> Self {
                Self { inner: $crate::causal::Causal::default() }
            }
        }

        impl<$($gen)*> $name
        where
            $store: $crate::causal::DotStore,
        {
            /// The causal pair `(store, context)` this value is made of.
            pub fn as_causal(&self) -> &$crate::causal::Causal<$store> {
                &self.inner
            }

            /// Unwraps the causal pair `(store, context)`.
            pub fn into_causal(self) -> $crate::causal::Causal<$store> {
                self.inner
            }

            /// The causal context: every event this value has seen, live or removed.
            pub fn context(&self) -> &$crate::causal::CausalContext {
                &self.inner.context
            }
        }

        impl<$($gen)*> From<$crate::causal::Causal<$store>> for $name {
            fn from(inner: $crate::causal::Causal<$store>) -> Self {
                Self { inner }
            }
        }

        /// As its causal pair: the contiguous prefix of its context, answered with the
        /// optimal delta against it.
        impl<$($gen)*> $crate::sync::Digest for $name
        where
            $store: $crate::causal::DotStore,
        {
            const PARTS: usize = 1;
            fn digest(&self) -> alloc::vec::Vec<$crate::causal::VersionVector> {
                self.inner.digest()
            }
            fn missing(&self, digest: &[$crate::causal::VersionVector]) -> Self {
                Self { inner: self.inner.missing(digest) }
            }
        }

        /// Pruning through its causal pair: the fold re-issues the retired id's live dots under
        /// the heir, the purge forgets the retired id.
        impl<$($gen)*> $crate::prune::Prune for $name
        where
            $store: $crate::prune::FoldStore,
        {
            fn fold(&mut self, retired: $crate::causal::ReplicaId, heir: $crate::causal::ReplicaId) -> Self {
                Self { inner: $crate::prune::Prune::fold(&mut self.inner, retired, heir) }
            }
            fn purge(&mut self, retired: $crate::causal::ReplicaId) {
                $crate::prune::Prune::purge(&mut self.inner, retired);
            }
        }

        /// Its causal context, for [`OwnDotsCheck`](crate::receive::OwnDotsCheck).
        impl<$($gen)*> $crate::receive::HasContext for $name {
            fn causal_context(&self) -> &$crate::causal::CausalContext {
                &self.inner.context
            }
        }

        /// As its causal pair: context canonical, store consistent and within the context.
        impl<$($gen)*> $crate::causal::CheckInvariants for $name
        where
            $store: $crate::causal::DotStore + $crate::causal::CheckInvariants,
        {
            fn check_invariants(&self) -> Result<(), &'static str> {
                self.inner.check_invariants()
            }
        }

        /// As its causal pair: own dots, replicas, timestamps, then payloads.
        impl<$($gen)*> $crate::receive::Receive for $name
        where
            $store: $crate::receive::ReceiveStore,
        {
            fn validate_against(
                &self,
                local: &Self,
                policy: &$crate::receive::ReceivePolicy,
            ) -> Result<(), $crate::error::Error> {
                self.inner.validate_against(&local.inner, policy)
            }
        }

        /// The compact, canonical wire form of its causal pair (see [`wire`](crate::wire)):
        /// equal values encode to the same bytes whatever their history.
        #[cfg(feature = "serde")]
        impl<$($gen)*> serde::Serialize for $name
        where
            $store: $crate::wire::WireStore,
        {
            fn serialize<Z: serde::Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
                self.inner.serialize(s)
            }
        }

        /// Validated as its causal pair: canonical order, every dot in the value's replica table
        /// and context, limits.
        #[cfg(feature = "serde")]
        impl<'de, $($gen)*> serde::Deserialize<'de> for $name
        where
            $store: $crate::wire::WireStore,
        {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::causal::Causal::deserialize(d).map(|inner| Self { inner })
            }
        }

        /// A causal pair: context, then the store.
        #[cfg(feature = "serde")]
        impl<$($gen)*> $crate::wire::Decode for $name
        where
            $store: $crate::wire::WireStore,
        {
            #[inline]
            fn encode_body(&self, out: &mut alloc::vec::Vec<u8>) {
                self.inner.encode_into(out);
            }
            fn decode_prefix<'b>(
                body: &'b [u8],
                cx: &mut $crate::wire::DecodeCx,
            ) -> Result<(Self, &'b [u8]), $crate::error::Error> {
                $crate::causal::Causal::decode_prefix(body, cx).map(|(inner, rest)| (Self { inner }, rest))
            }
            fn decode_body(
                body: &[u8],
                cx: &mut $crate::wire::DecodeCx,
            ) -> Result<Self, $crate::error::Error> {
                $crate::causal::Causal::decode_body(body, cx).map(|inner| Self { inner })
            }
            #[inline]
            fn decode_canonical(
                body: &[u8],
                cx: &mut $crate::wire::DecodeCx,
            ) -> Result<Self, $crate::error::Error> {
                $crate::causal::Causal::decode_wrapped(body, cx, |inner| Self { inner })
            }
        }
    };
}

pub(crate) use causal_newtype;

/// THE one place that generates a dot-function store's plumbing. A store over a dot function is
/// a newtype `struct Store { fun: DotFun<Payload> }` that implements
/// [`FunPayload`](crate::causal::FunPayload) (its payload, the fields its errors name, its
/// optional timestamp, its wire entry and the checked decode of one); one line
/// `fun_dot_store!([generics] Store, wire: Entry);` in its own file (`Entry` its `WireEntry`,
/// spelled out because the public `WireStore::Wire` cannot name a crate-private trait) then gives
/// it:
///
/// * `DotStore` (the causal join of dot functions), the delta-mutator helpers (`FunStore`) and
///   `CheckInvariants`;
/// * `ReceiveStore` (with its seal): every timestamp within the receiver's skew bound, and a dot
///   the receiver holds carries the same payload (else
///   [`Error::ConflictingPayload`](crate::Error::ConflictingPayload) naming `PAYLOAD_FIELD`);
/// * with `serde`: `WireStore`, the entries in dot order, decoded with `max_dots`, canonical
///   order, no dot twice and each payload checked (`WireStore` where the wire entry is serde).
///
/// A new dot-function store touches nothing outside its own file.
macro_rules! fun_dot_store {
    ([$($gen:tt)*] $name:ty, wire: $entry:ty) => {
        impl<$($gen)*> $crate::causal::DotStore for $name {
            fn is_empty(&self) -> bool {
                self.fun.is_empty()
            }
            fn dot_count(&self) -> usize {
                self.fun.len()
            }
            fn for_each_dot(&self, f: &mut dyn FnMut($crate::Dot)) {
                self.fun.iter().for_each(|(d, _)| f(*d));
            }
            fn contains_dot(&self, dot: &$crate::Dot) -> bool {
                self.fun.contains(dot)
            }
            #[inline]
            fn only_dot(&self) -> Option<$crate::Dot> {
                self.fun.only_dot()
            }
            fn join_store(
                &mut self,
                ctx: &$crate::CausalContext,
                other: &Self,
                other_ctx: &$crate::CausalContext,
                log: &mut $crate::DotLog,
            ) -> bool {
                self.fun.join_fun(ctx, &other.fun, other_ctx, log)
            }
            fn retain_dots(&mut self, keep: &mut dyn FnMut(&$crate::Dot) -> bool) {
                self.fun.retain(|d, _| keep(d));
            }
        }

        impl<$($gen)*> $crate::causal::FunStore for $name {
            type V = <Self as $crate::causal::FunPayload>::P;
            fn fun_mut(&mut self) -> &mut $crate::causal::DotFun<Self::V> {
                &mut self.fun
            }
        }

        impl<$($gen)*> $crate::causal::CheckInvariants for $name {
            fn check_invariants(&self) -> Result<(), &'static str> {
                if self.fun.is_sorted() { Ok(()) } else { Err("dot function: dots not strictly sorted") }
            }
        }

        impl<$($gen)*> $crate::causal::sealed::Sealed for $name {}

        /// Every timestamp (if the payload has one) within the skew bound; a dot the receiver
        /// holds carries the same payload.
        impl<$($gen)*> $crate::receive::ReceiveStore for $name {
            fn check_clock(&self, policy: &$crate::ReceivePolicy) -> Result<(), $crate::Error> {
                self.fun
                    .iter()
                    .filter_map(|(d, p)| {
                        <Self as $crate::causal::FunPayload>::timestamp(p).map(|ts| (ts, d.replica()))
                    })
                    .try_for_each(|(ts, writer)| policy.check_timestamp(ts, writer))
            }

            fn check_payloads(&self, local: &Self) -> Result<(), $crate::Error> {
                match self.fun.first_conflict(&local.fun) {
                    Some(_) => Err($crate::Error::ConflictingPayload {
                        field: <Self as $crate::causal::FunPayload>::PAYLOAD_FIELD,
                    }),
                    None => Ok(()),
                }
            }
        }

        /// `[entry]` in dot order (see [`FunPayload`](crate::causal::FunPayload)).
        #[cfg(feature = "serde")]
        impl<$($gen)*> $crate::wire::WireStore for $name
        where
            $entry: serde::Serialize + serde::de::DeserializeOwned,
        {
            type Wire = alloc::vec::Vec<$entry>;

            fn to_wire(&self, table: &$crate::wire::ReplicaTable) -> Self::Wire {
                self.fun.to_wire::<Self>(table)
            }

            fn from_wire(
                wire: Self::Wire,
                table: &$crate::wire::ReplicaTable,
                cx: &mut $crate::wire::DecodeCx,
            ) -> Result<Self, $crate::Error> {
                Ok(Self { fun: $crate::causal::decode_fun::<Self>(wire, table, cx)? })
            }
        }
    };
}

pub(crate) use fun_dot_store;
