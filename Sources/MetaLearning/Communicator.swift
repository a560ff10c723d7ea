/// The processes that run one meta-training together, and the collective operations they
/// need: everyone's bytes to everyone, and one process's bytes to all.
///
/// Meta-training splits each meta-batch across the processes and gathers every task's
/// outcome on every process, which then reduces them all in task order with the same code as a
/// single process; the processes therefore hold bit-identical meta-parameters at all times.
/// ``SingleProcess`` is the communicator of an ordinary run; the `MessagePassing` module
/// provides one over MPI. Calls are collective: every process makes the same calls in the
/// same order, from one thread.
public protocol Communicator: Sendable {
    /// This process's position, `0..<size`; rank 0 writes the run's files.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }

    /// Every process's `bytes`, in rank order (the lengths may differ).
    ///
    /// - Throws: ``CommunicationError`` when the exchange fails (a peer died, the network failed).
    func allGather(_ bytes: [UInt8]) throws(CommunicationError) -> [[UInt8]]

    /// Rank `root`'s `bytes` on every process (the others' arguments are ignored).
    ///
    /// - Throws: ``CommunicationError`` when the exchange fails.
    func broadcast(_ bytes: [UInt8], from root: Int) throws(CommunicationError) -> [UInt8]
}

/// An ordinary run: one process, nothing to exchange.
public struct SingleProcess: Communicator {
    public var rank: Int { 0 }
    public var size: Int { 1 }

    public init() {}

    public func allGather(_ bytes: [UInt8]) throws(CommunicationError) -> [[UInt8]] { [bytes] }

    public func broadcast(_ bytes: [UInt8], from root: Int) throws(CommunicationError) -> [UInt8] { bytes }
}

/// A collective operation that failed, or processes that no longer agree.
public struct CommunicationError: Error, CustomStringConvertible {
    /// What was being exchanged, e.g. `all-gather of task outcomes`.
    public let operation: String
    /// The reporting process and the number of processes.
    public let rank: Int, size: Int
    /// Why it failed, e.g. the MPI library's error text.
    public let reason: String

    public init(operation: String, rank: Int, size: Int, reason: String) {
        (self.operation, self.rank, self.size, self.reason) = (operation, rank, size, reason)
    }

    /// `rank 1 of 2: all-gather of task outcomes failed: ...`; without the rank when the
    /// processes never got as far as knowing theirs (`size` 0).
    public var description: String {
        (size > 0 ? "rank \(rank) of \(size): " : "") + "\(operation) failed: \(reason)"
    }
}

extension Communicator {
    /// Whether this process writes files and prints progress.
    public var isLeader: Bool { rank == 0 }

    /// The items of `0..<count` this process works on: every `size`-th, starting at `rank`.
    public func share(of count: Int) -> [Int] { Array(stride(from: rank, to: count, by: size)) }

    /// Runs `body` on this process's ``share(of:)`` of `0..<count` and returns every process's
    /// results, in index order.
    ///
    /// Results of other processes travel as bytes (`encode` here, `decode` there); this
    /// process's own results are used as they are, so a value is never rebuilt where it was made.
    ///
    /// - Parameters:
    ///   - what: names the exchange in errors, e.g. `task outcomes`.
    ///   - body: maps the indices of this process's share to one result each, in order.
    /// - Throws: ``CommunicationError`` when the exchange fails or a message does not decode.
    public func distributedMap<T>(_ count: Int, what: String, encode: (T) -> [UInt8],
                                  decode: (_ bytes: [UInt8], _ index: Int) throws -> T,
                                  _ body: ([Int]) -> [T]) throws(CommunicationError) -> [T] {
        let mine = share(of: count)
        let local = body(mine)
        precondition(local.count == mine.count, "distributedMap: \(local.count) results for \(mine.count) items")
        guard size > 1 else { return local }
        let gathered: [[UInt8]]
        do {
            gathered = try allGather(Frames.join(local.map(encode)))
        } catch {
            throw CommunicationError(operation: "all-gather of \(what)", rank: rank, size: size, reason: error.reason)
        }
        var results = [T?](repeating: nil, count: count)
        for (i, value) in zip(mine, local) { results[i] = value }
        for peer in 0..<size where peer != rank {
            let indices = Array(stride(from: peer, to: count, by: size))
            do {
                let frames = try Frames.split(gathered[peer])
                guard frames.count == indices.count else {
                    throw FrameError(reason: "\(frames.count) items, expected \(indices.count)")
                }
                for (i, frame) in zip(indices, frames) { results[i] = try decode(frame, i) }
            } catch {
                throw CommunicationError(operation: "all-gather of \(what)", rank: rank, size: size,
                                         reason: "the message from rank \(peer) is unusable: \(error)")
            }
        }
        return results.map { $0! }
    }

    /// Checks that every process holds the same `value` (a checksum of state that must agree).
    ///
    /// - Throws: ``CommunicationError`` naming the first rank that differs from rank 0.
    public func expectAgreement(on value: UInt64, about what: String) throws(CommunicationError) {
        guard size > 1 else { return }
        let all = try allGather(Frames.bytes(of: value)).map { Frames.value(of: $0) }
        if let peer = all.indices.first(where: { all[$0] != all[0] }) {
            let hex = { (v: UInt64?) in v.map { "0x" + String($0, radix: 16) } ?? "nothing" }
            throw CommunicationError(operation: "agreement on \(what)", rank: rank, size: size,
                                     reason: "rank \(peer) has \(hex(all[peer])), rank 0 has \(hex(all[0]))")
        }
    }

    /// The bytes of a file that only rank 0 reads, on every process: `nil` when rank 0 found no
    /// file at `path`.
    ///
    /// - Parameter read: reads the file on rank 0 (`nil` when it does not exist); its errors
    ///   are thrown on rank 0 only.
    public func leaderFile(_ read: () throws -> [UInt8]?) throws -> [UInt8]? {
        let bytes = isLeader ? try read() : nil
        guard size > 1 else { return bytes }
        let shared = try broadcast(bytes.map { [1] + $0 } ?? [0], from: 0)
        return shared.first == 1 ? Array(shared.dropFirst()) : nil
    }
}

/// Length-prefixed byte strings in one buffer: `u64 count`, then per item `u64 length, bytes`
/// (little-endian).
enum Frames {
    static func join(_ items: [[UInt8]]) -> [UInt8] {
        var out = bytes(of: UInt64(items.count))
        out.reserveCapacity(items.reduce(8) { $0 + 8 + $1.count })
        for item in items {
            out += bytes(of: UInt64(item.count))
            out += item
        }
        return out
    }

    static func split(_ buffer: [UInt8]) throws(FrameError) -> [[UInt8]] {
        var offset = 0
        func next() throws(FrameError) -> Int {
            guard offset + 8 <= buffer.count, let v = value(of: Array(buffer[offset..<(offset + 8)])),
                  v <= UInt64(buffer.count) else { throw FrameError(reason: "truncated at byte \(offset)") }
            offset += 8
            return Int(v)
        }
        let count = try next()
        var items: [[UInt8]] = []
        for _ in 0..<count {
            let n = try next()
            guard offset + n <= buffer.count else { throw FrameError(reason: "item runs past the end at byte \(offset)") }
            items.append(Array(buffer[offset..<(offset + n)]))
            offset += n
        }
        guard offset == buffer.count else { throw FrameError(reason: "\(buffer.count - offset) bytes left over") }
        return items
    }

    static func bytes(of v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    static func value(of bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
}

/// A gathered message that does not split into the expected items.
struct FrameError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
