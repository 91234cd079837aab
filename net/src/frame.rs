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
