import Foundation

/// A fast non-cryptographic 64-bit hash of a byte buffer, used to key and verify caches.
///
/// Four independent lanes each absorb every fourth little-endian 64-bit word, so the
/// multiplications overlap in the pipeline (several GB/s); the tail bytes and the length are
/// folded in at the end and a final avalanche spreads every input bit over the result:
///
/// ```
/// lane = rotl(lane ^ (word * K1), 31) * K2            (per word, lane = word index mod 4)
/// h    = mix(rotl(l0,1) + rotl(l1,7) + rotl(l2,12) + rotl(l3,18))
/// h    = mix(h ^ tail bytes ^ length)                  (mix = xor-shift-multiply finaliser)
/// ```
///
/// It detects accidental change (a modified archive, a flipped bit in a cache file); it is not
/// meant to resist deliberate collisions. The value is the same on every platform.
enum Hash64 {
    private static let k1: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let k2: UInt64 = 0xD6E8_FEB8_6659_FD93
    private static let k3: UInt64 = 0xFF51_AFD7_ED55_8CCD

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always) private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 33)) &* k3
        z = (z ^ (z >> 29)) &* k2
        return z ^ (z >> 32)
    }

    /// Hashes `bytes`.
    ///
    /// - Parameter bytes: Any buffer.
    /// - Returns: A 64-bit digest.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let count = bytes.count
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (k1, k2, k3, k1 ^ k2)
        var offset = 0
        while offset + 32 <= count {
            let w0 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            let w1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            let w2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
            let w3 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
            lanes.0 = rotl(lanes.0 ^ (w0 &* k1), 31) &* k2
            lanes.1 = rotl(lanes.1 ^ (w1 &* k1), 31) &* k2
            lanes.2 = rotl(lanes.2 ^ (w2 &* k1), 31) &* k2
            lanes.3 = rotl(lanes.3 ^ (w3 &* k1), 31) &* k2
            offset += 32
        }
        var h = mix(rotl(lanes.0, 1) &+ rotl(lanes.1, 7) &+ rotl(lanes.2, 12) &+ rotl(lanes.3, 18))
        while offset + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            h = rotl(h ^ (word &* k1), 27) &* k2
            offset += 8
        }
        while offset < count {
            h = rotl(h ^ (UInt64(bytes[offset]) &* k3), 11) &* k1
            offset += 1
        }
        return mix(h ^ UInt64(count))
    }

    /// Hashes the bytes of any contiguous collection (`Data`, `[UInt8]`, `[Float]`).
    static func hash<C: ContiguousBytes>(_ value: C) -> UInt64 {
        value.withUnsafeBytes { hash($0) }
    }
}
