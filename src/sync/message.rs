//! The messages replicas exchange, and their versioned wire form.

use core::fmt;

use alloc::vec::Vec;

use crate::causal::{ReplicaId, VersionVector};

/// The version of the message encoding written in every encoded [`Message`] (after the crate's
/// format-version byte) and checked on the way in. Chunks (tags 4 and 5) were added without a
/// new version: an older decoder refuses them as an unknown message kind.
pub const PROTOCOL_VERSION: u8 = 1;

/// The version of the sync protocol between processes: every message travels in an
/// [`Envelope`] naming its sender and recipient. Version 1 was the bare [`Message`]; an envelope
/// decoder refuses it with [`Error::UnsupportedVersion`](crate::Error::UnsupportedVersion)
/// `{ found: 1 }`.
///
/// ```
/// assert_eq!(convergent::sync::ENVELOPE_VERSION, convergent::sync::PROTOCOL_VERSION + 1);
/// ```
pub const ENVELOPE_VERSION: u8 = 2;

/// One message of the sync protocol between two neighbouring replicas.
///
/// * [`State`](Message::State): state-based anti-entropy (mode [`Mode::FullState`](super::Mode)):
///   the sender's whole state, not acknowledged.
/// * [`Delta`](Message::Delta): a delta-group, the join of the sender's buffered deltas with
///   sequence numbers in `[acked, seq)`; the receiver acknowledges `seq`.
/// * [`Snapshot`](Message::Snapshot): the sender's whole state in place of a delta-group, for a
///   neighbour behind the sender's collected log (or any neighbour of a sender that restarted and
///   lost its buffers); acknowledged like a delta-group.
/// * [`Ack`](Message::Ack): "I hold everything you buffered before `seq`". An engine also sends
///   one unasked to a neighbour it (re)connects to, from what it holds of that neighbour: the
///   handshake (see [`SyncEngine::add_neighbour`](super::SyncEngine::add_neighbour)).
/// * [`Chunk`](Message::Chunk): one part of a delta-group or snapshot larger than the engine's
///   message size bound; every part is a valid delta, joined on arrival and acknowledged on its
///   own with [`ChunkAck`](Message::ChunkAck).
/// * [`Digest`](Message::Digest): what the sender holds, as version vectors (see
///   [`SyncEngine::with_digest_handshake`](super::SyncEngine::with_digest_handshake)): the
///   receiver answers with exactly what the sender lacks, as a delta-group, instead of its
///   whole state.
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
    /// Part `index` of `count` of a delta-group or snapshot ending at `seq`, too large for one
    /// message. The part is a join of irreducibles of the group: a valid delta on its own.
    Chunk {
        /// The sequence number of the whole group: once every part is acknowledged, the receiver
        /// holds everything the sender buffered before it.
        seq: u64,
        /// This part's position, `0..count`.
        index: u32,
        /// The number of parts.
        count: u32,
        /// The part.
        part: L,
    },
    /// Acknowledges one part of a chunked group.
    ChunkAck {
        /// The group's `seq`.
        seq: u64,
        /// The part's index.
        index: u32,
    },
    /// What the sender holds ([`Digest::digest`](super::Digest::digest) of its saved state):
    /// the receiver answers with a delta-group of what the sender lacks.
    Digest {
        /// The sender's digest: [`Digest::PARTS`](super::Digest::PARTS) version vectors.
        digest: Vec<VersionVector>,
        /// The sender needs the receiver's digest too (it does not know what the receiver
        /// holds of it).
        asks_back: bool,
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
            Message::Chunk { part, .. } => Some(part),
            Message::Ack { .. } | Message::ChunkAck { .. } | Message::Digest { .. } => None,
        }
    }

    /// The sequence number carried, if any (`None` for a [`State`](Message::State) or a
    /// [`Digest`](Message::Digest)). `O(1)`.
    ///
    /// ```
    /// # use convergent::{EwFlag, sync::Message};
    /// assert_eq!(Message::<EwFlag>::Ack { seq: 3 }.seq(), Some(3));
    /// ```
    pub fn seq(&self) -> Option<u64> {
        match self {
            Message::State { .. } | Message::Digest { .. } => None,
            Message::Delta { seq, .. }
            | Message::Snapshot { seq, .. }
            | Message::Ack { seq }
            | Message::Chunk { seq, .. }
            | Message::ChunkAck { seq, .. } => Some(*seq),
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
            Message::Chunk { .. } => MessageKind::Chunk,
            Message::ChunkAck { .. } => MessageKind::ChunkAck,
            Message::Digest { .. } => MessageKind::Digest,
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
    /// [`Message::Chunk`].
    Chunk,
    /// [`Message::ChunkAck`].
    ChunkAck,
    /// [`Message::Digest`].
    Digest,
}

impl MessageKind {
    /// Every kind, in declaration order (for tables of counters).
    pub const ALL: [MessageKind; 7] = [
        MessageKind::State,
        MessageKind::Delta,
        MessageKind::Snapshot,
        MessageKind::Ack,
        MessageKind::Chunk,
        MessageKind::ChunkAck,
        MessageKind::Digest,
    ];

    /// The position in [`ALL`](Self::ALL). `O(1)`.
    ///
    /// ```
    /// # use convergent::sync::MessageKind;
    /// assert_eq!(MessageKind::ALL[MessageKind::Chunk.index()], MessageKind::Chunk);
    /// ```
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// A [`Message`] with its sender and its recipient: what replicas in different processes
/// exchange (see [`SyncEngine::poll_envelopes`](super::SyncEngine::poll_envelopes) and
/// [`SyncEngine::on_envelope`](super::SyncEngine::on_envelope)).
///
/// The recipient makes stale messages harmless: a replica that lost its disk comes back under a
/// new id, often on the same address, and an engine refuses anything addressed to another id
/// ([`Error::Misaddressed`](crate::Error::Misaddressed)) instead of acknowledging news meant for
/// its predecessor.
///
/// Encoded as `[format version][ENVELOPE_VERSION][from: 16 bytes][to: 16 bytes][message body]`:
/// 32 bytes more than the bare message.
///
/// ```
/// use convergent::sync::{Envelope, Message};
/// use convergent::{EwFlag, ReplicaId};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let e = Envelope { from: a, to: b, message: Message::<EwFlag>::Ack { seq: 3 } };
/// assert_eq!(e.message.seq(), Some(3));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope<L> {
    /// The sending replica.
    pub from: ReplicaId,
    /// The replica it is for.
    pub to: ReplicaId,
    /// The message.
    pub message: Message<L>,
}

/// `a -> b: Delta(seq 4, {..})`.
impl<L: fmt::Debug> fmt::Debug for Envelope<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} -> {:?}: {:?}", self.from, self.to, self.message)
    }
}

/// Shaped like the protocol: `Delta(seq 4, {..})`, `Ack(4)`.
impl<L: fmt::Debug> fmt::Debug for Message<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::State { state } => f.debug_tuple("State").field(state).finish(),
            Message::Delta { seq, delta } => write!(f, "Delta(seq {seq}, {delta:?})"),
            Message::Snapshot { seq, state } => write!(f, "Snapshot(seq {seq}, {state:?})"),
            Message::Ack { seq } => write!(f, "Ack({seq})"),
            Message::Chunk { seq, index, count, part } => {
                write!(f, "Chunk(seq {seq}, {index}/{count}, {part:?})")
            }
            Message::ChunkAck { seq, index } => write!(f, "ChunkAck({seq}, {index})"),
            Message::Digest { digest, asks_back } => {
                write!(f, "Digest({digest:?}{})", if *asks_back { ", asks back" } else { "" })
            }
        }
    }
}

#[cfg(feature = "serde")]
mod wire_impls {
    use alloc::vec::Vec;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{ENVELOPE_VERSION, Envelope, Message, PROTOCOL_VERSION};
    use crate::causal::{ReplicaId, VersionVector};
    use crate::error::Error;
    use crate::limits::Limits;
    use crate::wire::{self, Decode, DecodeCx, Writer};

    /// The body on the wire: a tagged enum, postcard writes the tag as one varint byte.
    #[derive(Serialize)]
    enum BodyRef<'a, L> {
        State(&'a L),
        Delta(u64, &'a L),
        Snapshot(u64, &'a L),
        Ack(u64),
        Chunk(u64, u32, u32, &'a L),
        ChunkAck(u64, u32),
        Digest(bool, &'a [VersionVector]),
    }

    #[derive(Deserialize)]
    enum Body<L> {
        State(L),
        Delta(u64, L),
        Snapshot(u64, L),
        Ack(u64),
        Chunk(u64, u32, u32, L),
        ChunkAck(u64, u32),
        Digest(bool, Vec<VersionVector>),
    }

    impl<L> Body<L> {
        fn into_message(self) -> Message<L> {
            match self {
                Body::State(state) => Message::State { state },
                Body::Delta(seq, delta) => Message::Delta { seq, delta },
                Body::Snapshot(seq, state) => Message::Snapshot { seq, state },
                Body::Ack(seq) => Message::Ack { seq },
                Body::Chunk(seq, index, count, part) => Message::Chunk { seq, index, count, part },
                Body::ChunkAck(seq, index) => Message::ChunkAck { seq, index },
                Body::Digest(asks_back, digest) => Message::Digest { digest, asks_back },
            }
        }
    }

    impl<L> Message<L> {
        fn body(&self) -> BodyRef<'_, L> {
            match self {
                Message::State { state } => BodyRef::State(state),
                Message::Delta { seq, delta } => BodyRef::Delta(*seq, delta),
                Message::Snapshot { seq, state } => BodyRef::Snapshot(*seq, state),
                Message::Ack { seq } => BodyRef::Ack(*seq),
                Message::Chunk { seq, index, count, part } => BodyRef::Chunk(*seq, *index, *count, part),
                Message::ChunkAck { seq, index } => BodyRef::ChunkAck(*seq, *index),
                Message::Digest { digest, asks_back } => BodyRef::Digest(*asks_back, digest),
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
            Ok(body.into_message())
        }
    }

    impl<L: Decode> Message<L> {
        /// Encodes the message: `[format version][protocol version][postcard body]`, the
        /// payload written by its [`Decode::encode_body`].
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

    /// Serialized as `(protocol version, from, to, body)`.
    impl<L: Serialize> Serialize for Envelope<L> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            (ENVELOPE_VERSION, self.from, self.to, self.message.body()).serialize(s)
        }
    }

    /// Checks the protocol version; the payload validates itself.
    impl<'de, L: Deserialize<'de>> Deserialize<'de> for Envelope<L> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let (v, from, to, body) = <(u8, ReplicaId, ReplicaId, Body<L>)>::deserialize(d)?;
            if v != ENVELOPE_VERSION {
                return Err(serde::de::Error::custom(Error::UnsupportedVersion { found: v }));
            }
            Ok(Envelope { from, to, message: body.into_message() })
        }
    }

    /// Version, sender and recipient first, then the message under the same limits.
    impl<L: Decode> Decode for Envelope<L> {
        /// The bytes of the `Serialize` impl, the payload by its own `encode_body`.
        fn encode_body(&self, out: &mut Vec<u8>) {
            let mut w = Writer::new(out);
            w.byte(ENVELOPE_VERSION);
            w.bytes16(&self.from.to_bytes());
            w.bytes16(&self.to.to_bytes());
            put_message(&self.message, out);
        }

        fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
            let (v, rest) = take::<u8>(body, "protocol version")?;
            if v != ENVELOPE_VERSION {
                return Err(Error::UnsupportedVersion { found: v });
            }
            let (from, rest) = take::<ReplicaId>(rest, "envelope.sender")?;
            let (to, rest) = take::<ReplicaId>(rest, "envelope.recipient")?;
            Ok(Envelope { from, to, message: decode_message(rest, cx)? })
        }
    }

    impl<L: Decode> Envelope<L> {
        /// Encodes the envelope: `[format version][protocol version][from][to][body]`.
        /// `O(payload)`.
        ///
        /// ```
        /// # use convergent::{sync::{Envelope, Message}, EwFlag, ReplicaId};
        /// let e = Envelope { from: ReplicaId::from_u128(1), to: ReplicaId::from_u128(2), message: Message::<EwFlag>::Ack { seq: 3 } };
        /// assert_eq!(e.to_bytes().len(), e.message.to_bytes().len() + 32);
        /// ```
        #[must_use]
        pub fn to_bytes(&self) -> Vec<u8> {
            wire::to_bytes(self)
        }
    }

    impl<L: Decode> Envelope<L> {
        /// Decodes and validates an envelope written by [`to_bytes`](Self::to_bytes) under
        /// `limits`. Never panics. `O(bytes)`.
        ///
        /// # Errors
        ///
        /// As [`Message::from_bytes`]; bytes of protocol version 1 (no envelope) are refused with
        /// [`Error::UnsupportedVersion`] `{ found: 1 }`.
        ///
        /// ```
        /// # use convergent::{sync::{Envelope, Message}, Error, EwFlag, Limits, ReplicaId};
        /// let l = Limits::default();
        /// let e = Envelope { from: ReplicaId::from_u128(1), to: ReplicaId::from_u128(2), message: Message::<EwFlag>::Ack { seq: 3 } };
        /// assert_eq!(Envelope::<EwFlag>::from_bytes(&e.to_bytes(), &l), Ok(e));
        /// // A version 1 message: no sender, no recipient.
        /// assert_eq!(Envelope::<EwFlag>::from_bytes(&[1, 1, 3, 3], &l), Err(Error::UnsupportedVersion { found: 1 }));
        /// ```
        pub fn from_bytes(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
            wire::from_bytes_with(bytes, limits)
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
        /// The bytes of the `Serialize` impl, the payload by its own `encode_body`.
        fn encode_body(&self, out: &mut Vec<u8>) {
            Writer::new(out).byte(PROTOCOL_VERSION);
            put_message(self, out);
        }

        fn decode_body(body: &[u8], cx: &mut DecodeCx) -> Result<Self, Error> {
            let (v, rest) = take::<u8>(body, "protocol version")?;
            if v != PROTOCOL_VERSION {
                return Err(Error::UnsupportedVersion { found: v });
            }
            decode_message(rest, cx)
        }
    }

    /// Appends a message after its protocol version: the `BodyRef` of the `Serialize` impl
    /// (postcard: the variant index, then the fields in order), the payload by its
    /// [`Decode::encode_body`].
    fn put_message<L: Decode>(m: &Message<L>, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        let payload = match m {
            Message::State { state } => {
                w.byte(0);
                state
            }
            Message::Delta { seq, delta } => {
                w.byte(1);
                w.varint(*seq);
                delta
            }
            Message::Snapshot { seq, state } => {
                w.byte(2);
                w.varint(*seq);
                state
            }
            Message::Ack { seq } => {
                w.byte(3);
                w.varint(*seq);
                return;
            }
            Message::Chunk { seq, index, count, part } => {
                w.byte(4);
                w.varint(*seq);
                w.varint(u64::from(*index));
                w.varint(u64::from(*count));
                part
            }
            Message::ChunkAck { seq, index } => {
                w.byte(5);
                w.varint(*seq);
                w.varint(u64::from(*index));
                return;
            }
            Message::Digest { digest, asks_back } => {
                w.byte(6);
                w.serde(&(*asks_back, digest));
                return;
            }
        };
        payload.encode_body(out);
    }

    /// A message after its protocol version: kind, sequence number, then the payload.
    fn decode_message<L: Decode>(rest: &[u8], cx: &mut DecodeCx) -> Result<Message<L>, Error> {
        {
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
                4 => {
                    let (seq, rest) = seq(rest)?;
                    let (index, rest) = take::<u32>(rest, "message.chunk-index")?;
                    let (count, rest) = take::<u32>(rest, "message.chunk-count")?;
                    if index >= count {
                        return Err(Error::Malformed { field: "message.chunk-index" });
                    }
                    Ok(Message::Chunk { seq, index, count, part: L::decode_body(rest, cx)? })
                }
                5 => {
                    let (seq, rest) = seq(rest)?;
                    match take::<u32>(rest, "message.chunk-index")? {
                        (index, []) => Ok(Message::ChunkAck { seq, index }),
                        _ => Err(Error::Malformed { field: "bytes.trailing" }),
                    }
                }
                6 => {
                    let (asks_back, rest) = take::<bool>(rest, "message.asks-back")?;
                    let (n, mut rest) = take::<u32>(rest, "message.digest")?;
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    cx.check_len("message.digest", n, super::super::protocol::MAX_DIGEST_PARTS)?;
                    let mut digest = Vec::with_capacity(n);
                    for _ in 0..n {
                        let (vv, r) = VersionVector::decode_prefix(rest, cx)?;
                        digest.push(vv);
                        rest = r;
                    }
                    if !rest.is_empty() {
                        return Err(Error::Malformed { field: "bytes.trailing" });
                    }
                    Ok(Message::Digest { digest, asks_back })
                }
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
