//! Tuples of lattices are lattices: the product order, joined component by component.
//!
//! `(A, B)`, `(A, B, C)`, ... up to eight components, with every capability of their
//! components: [`Decompose`](crate::Decompose) (the irreducibles of each component, the others
//! bottom), serde and [`Decode`](crate::wire::Decode) (the components back to back, each decoded
//! under the caller's limits, an error naming the component `"0"`, `"1"`, ...), receipt
//! validation (every component against the receiver's, before anything is joined) and the
//! invariant checker. A struct with named fields gets the same from `#[derive(Lattice)]`.

use alloc::vec::Vec;

use crate::lattice::{Decompose, Lattice};

macro_rules! tuple_impls {
    ($(($($T:ident $v:ident $i:tt),+))+) => {$(
        /// The product lattice: bottom is every component's bottom, `join` joins every component
        /// (all of them, whatever the earlier ones did) and `leq` holds component-wise.
        impl<$($T: Lattice + Clone),+> Lattice for ($($T,)+) {
            fn bottom() -> Self {
                ($($T::bottom(),)+)
            }
            fn is_bottom(&self) -> bool {
                $(self.$i.is_bottom())&&+
            }
            fn join_ref(&mut self, other: &Self) -> bool {
                let mut changed = false;
                $(changed |= self.$i.join_ref(&other.$i);)+
                changed
            }
            fn join(&mut self, other: Self) -> bool {
                let mut changed = false;
                $(changed |= self.$i.join(other.$i);)+
                changed
            }
            fn leq(&self, other: &Self) -> bool {
                $(self.$i.leq(&other.$i))&&+
            }
        }

        /// The irreducibles of each component, the other components bottom; the delta
        /// component-wise.
        impl<$($T: Decompose),+> Decompose for ($($T,)+) {
            fn decompose(&self) -> Vec<Self> {
                let mut out = Vec::new();
                $(for part in self.$i.decompose() {
                    let mut one = Self::bottom();
                    one.$i = part;
                    out.push(one);
                })+
                out
            }
            fn irreducible_count(&self) -> usize {
                0usize $(.saturating_add(self.$i.irreducible_count()))+
            }
            fn delta(&self, other: &Self) -> Self {
                ($(self.$i.delta(&other.$i),)+)
            }
        }

        /// Every component against the receiver's, in order; the error is the component's own.
        impl<$($T: crate::Receive + Clone),+> crate::Receive for ($($T,)+) {
            fn validate_against(&self, local: &Self, policy: &crate::ReceivePolicy) -> Result<(), crate::Error> {
                $(self.$i.validate_against(&local.$i, policy)?;)+
                Ok(())
            }
        }

        /// Every component's invariants.
        impl<$($T: crate::causal::CheckInvariants),+> crate::causal::CheckInvariants for ($($T,)+) {
            fn check_invariants(&self) -> Result<(), &'static str> {
                $(self.$i.check_invariants()?;)+
                Ok(())
            }
        }

        /// The components back to back (as serde writes a tuple), each under the caller's limits;
        /// an error is [`Error::InField`](crate::Error::InField) naming the component.
        #[cfg(feature = "serde")]
        impl<$($T: crate::wire::Decode),+> crate::wire::Decode for ($($T,)+) {
            fn decode_prefix<'b>(
                bytes: &'b [u8],
                cx: &mut crate::wire::DecodeCx,
            ) -> Result<(Self, &'b [u8]), crate::Error> {
                $(let ($v, bytes) = $T::decode_prefix(bytes, cx).map_err(|e| e.in_field(stringify!($i)))?;)+
                Ok((($($v,)+), bytes))
            }
        }
    )+};
}

tuple_impls! {
    (A a 0, B b 1)
    (A a 0, B b 1, C c 2)
    (A a 0, B b 1, C c 2, D d 3)
    (A a 0, B b 1, C c 2, D d 3, E e 4)
    (A a 0, B b 1, C c 2, D d 3, E e 4, F f 5)
    (A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6)
    (A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7)
}
