//! The messages replicas exchange, and their versioned wire form.

use core::fmt;

/// The version of the sync protocol written in every encoded [`Message`] (after the crate's
/// format-version byte) and checked on the way in.
pub const PROTOCOL_VERSION: u8 = 1;

/// One message of the sync protocol between two neighbouring replicas.
///
/// * [`State`](Message::State): state-based anti-entropy (mode [`Mode::FullState`](super::Mode)):
///   the sender's whole state, not acknowledged.
/// * [`Delta`](Message::Delta): a delta-group, the join of the sender's buffered deltas with
///   sequence numbers in `[acked, seq)`; the receiver acknowledges `seq`.
/// * [`Snapshot`](Message::Snapshot): the sender's whole state in place of a delta-group, for a
///   neighbour behind the sender's collected log (or any neighbour of a sender that restarted and
///   lost its buffers); acknowledged like a delta-group.
/// * [`Ack`](Message::Ack): "I hold everything you buffered before `seq`".
///
/// Encoded as `[format version][protocol version][postcard body]`; see
/// [`Message::to_bytes`] and [`Message::from_bytes`].
///
/// # Example
///
/// ```
/// use convergent::sync::Message;
/// use convergent::{EwFlag, ReplicaId};
///
/// let mut f = EwFlag::new();
/// let delta = f.enable(ReplicaId::from_u128(1));
/// let m = Message::Delta { seq: 1, delta };
/// assert_eq!(m.seq(), Some(1));
/// assert!(m.payload().is_some());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Message<L> {
    /// The sender's full state (state-based mode); not acknowledged.
    State {
        /// The state.
        state: L,
    },
    /// A delta-group ending at the sender's sequence number `seq` (exclusive).
    Delta {
        /// The sender's next sequence number when it built the group: acknowledge this.
        seq: u64,
        /// The join of the buffered deltas the receiver has not acknowledged.
        delta: L,
    },
    /// The sender's full state in place of a delta-group; acknowledged like one.
    Snapshot {
        /// The sender's next sequence number: acknowledge this.
        seq: u64,
        /// The full state.
        state: L,
    },
    /// Acknowledges every delta-group or snapshot of the receiver up to `seq`.
    Ack {
        /// The `seq` of the delta-group or snapshot being acknowledged.
        seq: u64,
    },
}

impl<L> Message<L> {
    /// The lattice value carried, if any (`None` for an [`Ack`](Message::Ack)). `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, sync::Message};
    /// assert!(Message::<EwFlag>::Ack { seq: 3 }.payload().is_none());
    /// ```
    pub fn payload(&self) -> Option<&L> {
        match self {
            Message::State { state } | Message::Snapshot { state, .. } => Some(state),
            Message::Delta { delta, .. } => Some(delta),
            Message::Ack { .. } => None,
        }
    }

    /// The sequence number carried, if any (`None` for a [`State`](Message::State)). `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, sync::Message};
    /// assert_eq!(Message::<EwFlag>::Ack { seq: 3 }.seq(), Some(3));
    /// ```
    pub fn seq(&self) -> Option<u64> {
        match self {
            Message::State { .. } => None,
            Message::Delta { seq, .. } | Message::Snapshot { seq, .. } | Message::Ack { seq } => Some(*seq),
        }
    }

    /// The kind of message, for statistics. `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, sync::{Message, MessageKind}};
    /// assert_eq!(Message::<EwFlag>::Ack { seq: 3 }.kind(), MessageKind::Ack);
    /// ```
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::State { .. } => MessageKind::State,
            Message::Delta { .. } => MessageKind::Delta,
            Message::Snapshot { .. } => MessageKind::Snapshot,
            Message::Ack { .. } => MessageKind::Ack,
        }
    }

    /// Protocol entries of metadata as the ICDE 2019 paper counts them: 1 for a message that
    /// carries a sequence number (a delta-group, a snapshot or an ack), 0 for a state-based
    /// message. `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, sync::Message};
    /// assert_eq!(Message::<EwFlag>::Ack { seq: 3 }.metadata_entries(), 1);
    /// assert_eq!(Message::State { state: EwFlag::new() }.metadata_entries(), 0);
    /// ```
    pub fn metadata_entries(&self) -> u64 {
        u64::from(self.seq().is_some())
    }
}

/// The kind of a [`Message`], without its payload.
///
/// ```
/// # use convergent::sync::MessageKind;
/// assert_ne!(MessageKind::Delta, MessageKind::Snapshot);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// [`Message::State`].
    State,
    /// [`Message::Delta`].
    Delta,
    /// [`Message::Snapshot`].
    Snapshot,
    /// [`Message::Ack`].
    Ack,
}

/// Shaped like the protocol: `Delta(seq 4, {..})`, `Ack(4)`.
impl<L: fmt::Debug> fmt::Debug for Message<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::State { state } => f.debug_tuple("State").field(state).finish(),
            Message::Delta { seq, delta } => write!(f, "Delta(seq {seq}, {delta:?})"),
            Message::Snapshot { seq, state } => write!(f, "Snapshot(seq {seq}, {state:?})"),
            Message::Ack { seq } => write!(f, "Ack({seq})"),
        }
    }
}

#[cfg(feature = "serde")]
mod wire_impls {
    use alloc::vec::Vec;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Message, PROTOCOL_VERSION};
    use crate::error::Error;
    use crate::limits::Limits;
    use crate::wire::{self, Decode, DecodeCx};

    /// The body on the wire: a tagged enum, postcard writes the tag as one varint byte.
    #[derive(Serialize)]
    enum BodyRef<'a, L> {
        State(&'a L),
        Delta(u64, &'a L),
        Snapshot(u64, &'a L),
        Ack(u64),
    }

    #[derive(Deserialize)]
    enum Body<L> {
        State(L),
        Delta(u64, L),
        Snapshot(u64, L),
        Ack(u64),
    }

    impl<L> Message<L> {
        fn body(&self) -> BodyRef<'_, L> {
            match self {
                Message::State { state } => BodyRef::State(state),
                Message::Delta { seq, delta } => BodyRef::Delta(*seq, delta),
                Message::Snapshot { seq, state } => BodyRef::Snapshot(*seq, state),
                Message::Ack { seq } => BodyRef::Ack(*seq),
            }
        }
    }

    /// Serialized as `(protocol version, body)`.
    impl<L: Serialize> Serialize for Message<L> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            (PROTOCOL_VERSION, self.body()).serialize(s)
        }
    }

    /// Checks the protocol version; the payload validates itself (every type of this crate
    /// checks its invariants on the way in).
    impl<'de, L: Deserialize<'de>> Deserialize<'de> for Message<L> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let (v, body) = <(u8, Body<L>)>::deserialize(d)?;
            if v != PROTOCOL_VERSION {
                return Err(serde::de::Error::custom(Error::UnsupportedVersion { found: v }));
            }
            Ok(match body {
                Body::State(state) => Message::State { state },
                Body::Delta(seq, delta) => Message::Delta { seq, delta },
                Body::Snapshot(seq, state) => Message::Snapshot { seq, state },
                Body::Ack(seq) => Message::Ack { seq },
            })
        }
    }

    impl<L: Serialize> Message<L> {
        /// Encodes the message: `[format version][protocol version][postcard body]`.
        /// `O(payload)`.
        ///
        /// ```
        /// # use convergent::{EwFlag, sync::Message};
        /// let bytes = Message::<EwFlag>::Ack { seq: 300 }.to_bytes();
        /// assert_eq!(bytes.len(), 5); // two version bytes, the tag, a two-byte varint
        /// ```
        #[must_use]
        pub fn to_bytes(&self) -> Vec<u8> {
            wire::to_bytes(self)
        }

        /// The size of [`to_bytes`](Self::to_bytes) without building it. `O(payload)`.
        ///
        /// ```
        /// # use convergent::{EwFlag, sync::Message};
        /// let m = Message::<EwFlag>::Ack { seq: 3 };
        /// assert_eq!(m.encoded_len(), m.to_bytes().len());
        /// ```
        #[must_use]
        pub fn encoded_len(&self) -> usize {
            wire::encoded_len(self)
        }
    }

    /// Takes one postcard value from the front of `bytes`.
    fn take<'a, T: Deserialize<'a>>(bytes: &'a [u8], field: &'static str) -> Result<(T, &'a [u8]), Error> {
        postcard::take_from_bytes::<T>(bytes).map_err(|_| Error::Malformed { field })
    }

    /// The header first (protocol version, kind, sequence number: checked before the payload is
    /// even looked at), then the payload from the rest with [`Decode::decode_body`], under the
    /// same limits.
    impl<L: Decode> Decode for Message<L> {
        fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
            let (v, rest) = take::<u8>(body, "protocol version")?;
            if v != PROTOCOL_VERSION {
                return Err(Error::UnsupportedVersion { found: v });
            }
            // The enum tag of `Body`: a varint (postcard's variant index).
            let (tag, rest) = take::<u32>(rest, "message.kind")?;
            let max = cx.limits.max_counter;
            let seq = |rest| -> Result<(u64, &[u8]), Error> {
                let (seq, rest) = take::<u64>(rest, "seq")?;
                if seq > max {
                    return Err(Error::CounterOutOfRange { field: "seq", value: seq, max });
                }
                Ok((seq, rest))
            };
            match tag {
                0 => Ok(Message::State { state: L::decode_body(rest, cx)? }),
                1 => {
                    let (seq, rest) = seq(rest)?;
                    Ok(Message::Delta { seq, delta: L::decode_body(rest, cx)? })
                }
                2 => {
                    let (seq, rest) = seq(rest)?;
                    Ok(Message::Snapshot { seq, state: L::decode_body(rest, cx)? })
                }
                3 => match seq(rest)? {
                    (seq, []) => Ok(Message::Ack { seq }),
                    _ => Err(Error::Malformed { field: "bytes.trailing" }),
                },
                _ => Err(Error::Malformed { field: "message.kind" }),
            }
        }
    }

    impl<L: Decode> Message<L> {
        /// Decodes and validates a message written by [`to_bytes`](Self::to_bytes) under
        /// `limits` (all of them, also inside the payload). Never panics. `O(bytes)`.
        ///
        /// The payload type implements [`Decode`]: every type of this crate does, and a lattice
        /// of your own opts in with `impl Decode for MyLattice {}`.
        ///
        /// # Errors
        ///
        /// [`Error::TooLarge`] over `limits.max_bytes`, [`Error::UnsupportedVersion`] for an
        /// unknown format or protocol version, [`Error::CounterOutOfRange`] for a sequence number
        /// above `limits.max_counter`, [`Error::Malformed`] for bytes that do not decode, and
        /// the payload type's own typed validation errors.
        ///
        /// ```
        /// # use convergent::{Error, EwFlag, Limits, sync::Message};
        /// let l = Limits::default();
        /// let m = Message::<EwFlag>::Ack { seq: 3 };
        /// assert_eq!(Message::<EwFlag>::from_bytes(&m.to_bytes(), &l), Ok(m));
        /// assert_eq!(
        ///     Message::<EwFlag>::from_bytes(&[1, 9, 3, 3], &l),
        ///     Err(Error::UnsupportedVersion { found: 9 })
        /// );
        /// ```
        pub fn from_bytes(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
            wire::from_bytes_with(bytes, limits)
        }
    }
}
