//! Datagram framing: one tag byte routes membership (foca) and sync traffic on one socket; a
//! sync frame names its sender and recipient and carries one chunk of an encoded message.

use std::collections::{HashMap, VecDeque};

use convergent::ReplicaId;

/// The first byte of a datagram carrying SWIM membership traffic (foca's own packet follows).
pub const TAG_MEMBERSHIP: u8 = 0xF0;
/// The first byte of a datagram carrying one chunk of a sync message.
pub const TAG_SYNC: u8 = 0x5C;

/// Bytes of a sync frame before the chunk: tag, sender id, recipient id, message number (4),
/// chunk index (2), chunk count (2).
pub const SYNC_HEADER: usize = 1 + 16 + 16 + 4 + 2 + 2;

/// The smallest datagram size a node accepts: a header plus 64 bytes of chunk.
pub const MIN_DATAGRAM: usize = SYNC_HEADER + 64;

/// One decoded sync frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFrame<'a> {
    /// The replica that sent it.
    pub sender: ReplicaId,
    /// The replica it is meant for: a node drops frames for any other id (an older incarnation
    /// on the same address, say).
    pub recipient: ReplicaId,
    /// The sender's number for the message this chunk belongs to.
    pub message: u32,
    /// This chunk's position.
    pub index: u16,
    /// The number of chunks of the message.
    pub count: u16,
    /// The chunk.
    pub chunk: &'a [u8],
}

/// Why a sync frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than a header, or a chunk index outside its count.
    Malformed,
    /// The message would be larger than the receiver accepts.
    TooLarge,
}

/// Splits an encoded message into frames of at most `max_datagram` bytes. `O(bytes)`.
///
/// ```
/// use convergent::ReplicaId;
/// use convergent_net::frame::{split, parse_sync, SYNC_HEADER};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let frames = split(a, b, 7, &[9; 300], SYNC_HEADER + 100).unwrap();
/// assert_eq!(frames.len(), 3);
/// let f = parse_sync(&frames[2]).unwrap();
/// assert_eq!((f.sender, f.recipient, f.message, f.index, f.count, f.chunk.len()), (a, b, 7, 2, 3, 100));
/// ```
///
/// # Errors
///
/// [`FrameError::TooLarge`] if it would take more than 65 535 chunks.
pub fn split(
    sender: ReplicaId,
    recipient: ReplicaId,
    message: u32,
    bytes: &[u8],
    max_datagram: usize,
) -> Result<Vec<Vec<u8>>, FrameError> {
    let room = max_datagram.max(MIN_DATAGRAM) - SYNC_HEADER;
    let count = bytes.len().div_ceil(room).max(1);
    let count = u16::try_from(count).map_err(|_| FrameError::TooLarge)?;
    let mut out = Vec::with_capacity(usize::from(count));
    for index in 0..count {
        let start = usize::from(index) * room;
        let chunk = &bytes[start..(start + room).min(bytes.len())];
        let mut f = Vec::with_capacity(SYNC_HEADER + chunk.len());
        f.push(TAG_SYNC);
        f.extend_from_slice(&sender.to_bytes());
        f.extend_from_slice(&recipient.to_bytes());
        f.extend_from_slice(&message.to_le_bytes());
        f.extend_from_slice(&index.to_le_bytes());
        f.extend_from_slice(&count.to_le_bytes());
        f.extend_from_slice(chunk);
        out.push(f);
    }
    Ok(out)
}

/// Reads a sync frame (a datagram starting with [`TAG_SYNC`]). `O(1)`, borrows the chunk.
///
/// # Errors
///
/// [`FrameError::Malformed`] for a short datagram, a wrong tag, a zero count or an index past
/// the count.
///
/// ```
/// use convergent::ReplicaId;
/// use convergent_net::frame::{parse_sync, split, FrameError};
/// let f = split(ReplicaId::from_u128(1), ReplicaId::from_u128(2), 9, b"hi", 1200).unwrap();
/// assert_eq!(parse_sync(&f[0]).unwrap().chunk, b"hi");
/// assert_eq!(parse_sync(&f[0][..10]), Err(FrameError::Malformed));
/// ```
pub fn parse_sync(d: &[u8]) -> Result<SyncFrame<'_>, FrameError> {
    if d.len() < SYNC_HEADER || d[0] != TAG_SYNC {
        return Err(FrameError::Malformed);
    }
    let id = |at: usize| ReplicaId::from_bytes(d[at..at + 16].try_into().expect("16 bytes"));
    let u16_at = |at: usize| u16::from_le_bytes([d[at], d[at + 1]]);
    let f = SyncFrame {
        sender: id(1),
        recipient: id(17),
        message: u32::from_le_bytes(d[33..37].try_into().expect("4 bytes")),
        index: u16_at(37),
        count: u16_at(39),
        chunk: &d[SYNC_HEADER..],
    };
    if f.count == 0 || f.index >= f.count {
        return Err(FrameError::Malformed);
    }
    Ok(f)
}

struct Partial {
    chunks: Vec<Option<Vec<u8>>>,
    missing: usize,
    bytes: usize,
}

/// Reassembles chunked messages, within bounds: at most `per_sender` incomplete messages per
/// sender (the oldest is dropped), at most `max_senders` senders with incomplete messages, and
/// at most `max_bytes` per message (checked from the first chunk: `count × chunk size`).
///
/// A lost chunk loses its message; the sync engine sends it again (its unacknowledged
/// delta-group or snapshot), under a new message number.
///
/// ```
/// use convergent::ReplicaId;
/// use convergent_net::frame::{parse_sync, split, Reassembly, SYNC_HEADER};
///
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let bytes: Vec<u8> = (0..250).map(|i| i as u8).collect();
/// let frames = split(a, b, 1, &bytes, SYNC_HEADER + 100).unwrap();
/// let mut r = Reassembly::new(1 << 20);
/// assert_eq!(r.add(parse_sync(&frames[1]).unwrap()), Ok(None));
/// assert_eq!(r.add(parse_sync(&frames[0]).unwrap()), Ok(None));
/// assert_eq!(r.add(parse_sync(&frames[2]).unwrap()), Ok(Some(bytes)));
/// ```
pub struct Reassembly {
    partial: HashMap<(ReplicaId, u32), Partial>,
    order: VecDeque<(ReplicaId, u32)>,
    max_bytes: usize,
    per_sender: usize,
    max_senders: usize,
}

impl std::fmt::Debug for Reassembly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reassembly").field("incomplete", &self.partial.len()).finish_non_exhaustive()
    }
}

impl Reassembly {
    /// Reassembly of messages of at most `max_bytes`, 4 incomplete per sender, 64 senders.
    ///
    /// ```
    /// use convergent_net::frame::Reassembly;
    /// assert_eq!(Reassembly::new(1 << 20).incomplete(), 0);
    /// ```
    #[must_use]
    pub fn new(max_bytes: usize) -> Self {
        Reassembly {
            partial: HashMap::new(),
            order: VecDeque::new(),
            max_bytes,
            per_sender: 4,
            max_senders: 64,
        }
    }

    /// The number of incomplete messages held.
    ///
    /// ```
    /// use convergent::ReplicaId;
    /// use convergent_net::frame::{parse_sync, split, Reassembly, SYNC_HEADER};
    /// let f = split(ReplicaId::from_u128(1), ReplicaId::from_u128(2), 1, &[0; 300], SYNC_HEADER + 100).unwrap();
    /// let mut r = Reassembly::new(1 << 20);
    /// r.add(parse_sync(&f[0]).unwrap()).unwrap();
    /// assert_eq!(r.incomplete(), 1);
    /// ```
    #[must_use]
    pub fn incomplete(&self) -> usize {
        self.partial.len()
    }

    /// Adds a chunk; returns the whole message once its last chunk arrived. A single-chunk
    /// message is returned at once, without buffering. `O(chunk)`.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLarge`] if the message would exceed `max_bytes`,
    /// [`FrameError::Malformed`] if the chunk disagrees with earlier chunks of its message.
    pub fn add(&mut self, f: SyncFrame<'_>) -> Result<Option<Vec<u8>>, FrameError> {
        if f.count == 1 {
            return Ok(Some(f.chunk.to_vec()));
        }
        if usize::from(f.count).saturating_mul(f.chunk.len().max(1))
            > self.max_bytes.saturating_add(f.chunk.len())
        {
            return Err(FrameError::TooLarge);
        }
        let key = (f.sender, f.message);
        if !self.partial.contains_key(&key) {
            self.make_room(f.sender);
            self.partial.insert(
                key,
                Partial { chunks: vec![None; usize::from(f.count)], missing: usize::from(f.count), bytes: 0 },
            );
            self.order.push_back(key);
        }
        let p = self.partial.get_mut(&key).expect("just inserted");
        if p.chunks.len() != usize::from(f.count) {
            return Err(FrameError::Malformed);
        }
        let slot = &mut p.chunks[usize::from(f.index)];
        if slot.is_none() {
            if p.bytes + f.chunk.len() > self.max_bytes {
                self.forget(key);
                return Err(FrameError::TooLarge);
            }
            p.bytes += f.chunk.len();
            *slot = Some(f.chunk.to_vec());
            p.missing -= 1;
        }
        if p.missing > 0 {
            return Ok(None);
        }
        let p = self.forget(key).expect("present");
        let mut out = Vec::with_capacity(p.bytes);
        for c in p.chunks.into_iter().flatten() {
            out.extend_from_slice(&c);
        }
        Ok(Some(out))
    }

    fn forget(&mut self, key: (ReplicaId, u32)) -> Option<Partial> {
        self.order.retain(|k| *k != key);
        self.partial.remove(&key)
    }

    fn make_room(&mut self, sender: ReplicaId) {
        let mine = self.order.iter().filter(|(s, _)| *s == sender).count();
        if mine >= self.per_sender {
            if let Some(&old) = self.order.iter().find(|(s, _)| *s == sender) {
                self.forget(old);
            }
        }
        let senders: std::collections::HashSet<ReplicaId> = self.order.iter().map(|(s, _)| *s).collect();
        if senders.len() >= self.max_senders && !senders.contains(&sender) {
            if let Some(&old) = self.order.front() {
                self.forget(old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_never_exceed_the_datagram_size_and_reassemble_in_any_order() {
        let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        for len in [0usize, 1, 99, 100, 101, 1000, 5000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let frames = split(a, b, 3, &bytes, SYNC_HEADER + 100).unwrap();
            assert!(frames.iter().all(|f| f.len() <= SYNC_HEADER + 100));
            let mut r = Reassembly::new(1 << 20);
            let mut got = None;
            for f in frames.iter().rev() {
                if let Some(m) = r.add(parse_sync(f).unwrap()).unwrap() {
                    got = Some(m);
                }
            }
            assert_eq!(got, Some(bytes));
            assert_eq!(r.incomplete(), 0);
        }
    }

    #[test]
    fn a_claimed_count_over_the_limit_is_refused_before_buffering() {
        let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let frames = split(a, b, 3, &[0; 1000], SYNC_HEADER + 100).unwrap();
        let mut r = Reassembly::new(500);
        assert_eq!(r.add(parse_sync(&frames[0]).unwrap()), Err(FrameError::TooLarge));
        assert_eq!(r.incomplete(), 0);
    }

    #[test]
    fn incomplete_messages_are_bounded_per_sender() {
        let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let mut r = Reassembly::new(1 << 20);
        for m in 0..100 {
            let frames = split(a, b, m, &[0; 300], SYNC_HEADER + 100).unwrap();
            r.add(parse_sync(&frames[0]).unwrap()).unwrap();
        }
        assert_eq!(r.incomplete(), 4);
    }

    #[test]
    fn short_or_inconsistent_frames_are_refused() {
        assert_eq!(parse_sync(&[TAG_SYNC; 10]), Err(FrameError::Malformed));
        let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let mut f = split(a, b, 1, &[1; 10], 200).unwrap().remove(0);
        f[37] = 5; // index 5 of 1
        assert_eq!(parse_sync(&f), Err(FrameError::Malformed));
    }
}
