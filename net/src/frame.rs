//! Datagram framing: one tag byte routes membership (foca) and sync traffic on one socket. A
//! sync datagram carries one [`Envelope`](convergent::sync::Envelope): the core protocol names
//! the sender and the recipient, and bounds the payload so that the datagram fits.

/// The first byte of a datagram carrying SWIM membership traffic (foca's own packet follows).
pub const TAG_MEMBERSHIP: u8 = 0xF0;
/// The first byte of a datagram carrying one encoded sync envelope.
pub const TAG_SYNC: u8 = 0x5C;

/// Bytes of a sync datagram around the payload, at most: the tag, the format and protocol
/// versions, two replica ids, and the message header (kind, sequence number, chunk index and
/// count as varints).
pub const SYNC_OVERHEAD: usize = 1 + 2 + 32 + 1 + 10 + 5 + 5;

/// The smallest datagram size a node accepts: the overhead plus 64 bytes of payload.
pub const MIN_DATAGRAM: usize = SYNC_OVERHEAD + 64;

/// The payload bound that keeps a sync datagram within `max_datagram` bytes (an irreducible
/// larger than that still goes alone, in a larger datagram).
///
/// ```
/// use convergent_net::frame::{payload_budget, SYNC_OVERHEAD};
/// assert_eq!(payload_budget(1200), 1200 - SYNC_OVERHEAD);
/// ```
#[must_use]
pub const fn payload_budget(max_datagram: usize) -> usize {
    max_datagram.saturating_sub(SYNC_OVERHEAD)
}

/// The first byte of a datagram carrying one retirement message
/// ([`RetireMessage`](convergent::sync::RetireMessage)): the tag, the sender's and the
/// recipient's replica ids (16 bytes each), then the message's own encoding.
pub const TAG_RETIRE: u8 = 0x5D;

/// Bytes of a retirement datagram before the message: the tag and two replica ids.
pub const RETIRE_HEADER: usize = 1 + 16 + 16;

/// Encodes a retirement datagram from `from` to `to`. `O(message)`.
///
/// ```
/// use convergent::sync::RetireMessage;
/// use convergent::{EwFlag, Limits, ReplicaId};
/// use convergent_net::frame::{decode_retire, encode_retire};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let m = RetireMessage::<EwFlag>::Ack(vec![ReplicaId::from_u128(3)]);
/// let d = encode_retire(a, b, &m);
/// assert_eq!(decode_retire::<EwFlag>(&d, &Limits::default()), Ok((a, b, m)));
/// ```
#[must_use]
pub fn encode_retire<L: convergent::wire::Decode>(
    from: convergent::ReplicaId,
    to: convergent::ReplicaId,
    message: &convergent::sync::RetireMessage<L>,
) -> Vec<u8> {
    let body = message.to_bytes();
    let mut d = Vec::with_capacity(RETIRE_HEADER + body.len());
    d.push(TAG_RETIRE);
    d.extend_from_slice(&from.to_bytes());
    d.extend_from_slice(&to.to_bytes());
    d.extend_from_slice(&body);
    d
}

/// The sender, the recipient and the message of a retirement datagram (tag included), decoded
/// and checked under `limits` (record and id counts, every fold). Never panics. `O(bytes)`.
///
/// # Errors
///
/// [`convergent::Error::Malformed`] (field `frame.retire`) for a datagram shorter than the
/// header or with another tag; the errors of
/// [`RetireMessage::from_bytes`](convergent::sync::RetireMessage::from_bytes).
///
/// ```
/// use convergent::{EwFlag, Error, Limits};
/// use convergent_net::frame::decode_retire;
///
/// let short = [convergent_net::frame::TAG_RETIRE, 1, 2];
/// assert_eq!(decode_retire::<EwFlag>(&short, &Limits::default()), Err(Error::Malformed { field: "frame.retire" }));
/// ```
#[allow(clippy::type_complexity)]
pub fn decode_retire<L: convergent::wire::Decode>(
    datagram: &[u8],
    limits: &convergent::Limits,
) -> Result<
    (convergent::ReplicaId, convergent::ReplicaId, convergent::sync::RetireMessage<L>),
    convergent::Error,
> {
    let bad = convergent::Error::Malformed { field: "frame.retire" };
    let (head, body) = datagram.split_at_checked(RETIRE_HEADER).ok_or(bad.clone())?;
    if head[0] != TAG_RETIRE {
        return Err(bad);
    }
    let id = |b: &[u8]| -> Result<convergent::ReplicaId, convergent::Error> {
        Ok(convergent::ReplicaId::from_bytes(b.try_into().map_err(|_| bad.clone())?))
    };
    let (from, to) = (id(&head[1..17])?, id(&head[17..33])?);
    let message = convergent::sync::RetireMessage::from_bytes(body, limits)?;
    Ok((from, to, message))
}

/// The first byte of a datagram telling the heir that a replica id was replaced on its address
/// (the sender saw it, the heir may have missed it in membership):
/// `[0x5E][from][to][replaced][by][at]`: four ids of 16 bytes, then the address `at` where
/// `replaced` ran: a family byte (4 or 6), 16 address bytes (an IPv4 address in the first 4,
/// the rest zero) and the port (2 bytes, big-endian).
pub const TAG_REPLACED: u8 = 0x5E;

/// Bytes of a replacement notice.
pub const REPLACED_LEN: usize = 1 + 4 * 16 + ADDR_LEN;

/// Bytes of an address in a replacement notice.
const ADDR_LEN: usize = 1 + 16 + 2;

/// What a replacement notice tells: `replaced` lost its state and came back as `by` on the
/// address `at`. Every incarnation on `at` is left out of the choice of `replaced`'s heir (a
/// later one may hold none of its events).
///
/// ```
/// use convergent::ReplicaId;
/// use convergent_net::frame::Replacement;
/// let r = Replacement { replaced: ReplicaId::from_u128(3), by: ReplicaId::from_u128(4), at: "127.0.0.1:9000".parse().unwrap() };
/// assert_eq!(r.at.port(), 9000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// The id that lost its state.
    pub replaced: convergent::ReplicaId,
    /// The id it came back under.
    pub by: convergent::ReplicaId,
    /// The address both ran on.
    pub at: std::net::SocketAddr,
}

/// Encodes a replacement notice: `from` saw the replacement `r`; for `to`, the heir.
///
/// ```
/// use convergent::ReplicaId;
/// use convergent_net::frame::{decode_replaced, encode_replaced, Replacement};
///
/// let ids = [1, 2, 3, 4].map(ReplicaId::from_u128);
/// for at in ["127.0.0.1:9000", "[::1]:9001"] {
///     let r = Replacement { replaced: ids[2], by: ids[3], at: at.parse().unwrap() };
///     let d = encode_replaced(ids[0], ids[1], &r);
///     assert_eq!(decode_replaced(&d), Ok((ids[0], ids[1], r)));
/// }
/// ```
#[must_use]
pub fn encode_replaced(from: convergent::ReplicaId, to: convergent::ReplicaId, r: &Replacement) -> Vec<u8> {
    let mut d = Vec::with_capacity(REPLACED_LEN);
    d.push(TAG_REPLACED);
    for id in [from, to, r.replaced, r.by] {
        d.extend_from_slice(&id.to_bytes());
    }
    let mut ip = [0u8; 16];
    match r.at.ip() {
        std::net::IpAddr::V4(a) => {
            d.push(4);
            ip[..4].copy_from_slice(&a.octets());
        }
        std::net::IpAddr::V6(a) => {
            d.push(6);
            ip = a.octets();
        }
    }
    d.extend_from_slice(&ip);
    d.extend_from_slice(&r.at.port().to_be_bytes());
    d
}

/// Decodes a replacement notice: `(from, to, replacement)`. Never panics. `O(1)`.
///
/// # Errors
///
/// [`convergent::Error::Malformed`] (field `frame.replaced`) for another length or tag, an
/// unknown address family, or an IPv4 address with non-zero padding.
///
/// ```
/// use convergent::Error;
/// use convergent_net::frame::{decode_replaced, TAG_REPLACED};
/// assert_eq!(decode_replaced(&[TAG_REPLACED; 10]), Err(Error::Malformed { field: "frame.replaced" }));
/// ```
pub fn decode_replaced(
    datagram: &[u8],
) -> Result<(convergent::ReplicaId, convergent::ReplicaId, Replacement), convergent::Error> {
    let bad = convergent::Error::Malformed { field: "frame.replaced" };
    if datagram.len() != REPLACED_LEN || datagram[0] != TAG_REPLACED {
        return Err(bad);
    }
    let id = |i: usize| -> Result<convergent::ReplicaId, convergent::Error> {
        let b: [u8; 16] = datagram[1 + 16 * i..17 + 16 * i].try_into().map_err(|_| bad.clone())?;
        Ok(convergent::ReplicaId::from_bytes(b))
    };
    let a = &datagram[1 + 4 * 16..];
    let ip: [u8; 16] = a[1..17].try_into().map_err(|_| bad.clone())?;
    let ip = match a[0] {
        4 if ip[4..].iter().all(|b| *b == 0) => std::net::IpAddr::from([ip[0], ip[1], ip[2], ip[3]]),
        6 => std::net::IpAddr::from(ip),
        _ => return Err(bad),
    };
    let port = u16::from_be_bytes([a[17], a[18]]);
    let at = std::net::SocketAddr::new(ip, port);
    Ok((id(0)?, id(1)?, Replacement { replaced: id(2)?, by: id(3)?, at }))
}
