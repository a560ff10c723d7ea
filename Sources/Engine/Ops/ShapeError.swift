/// A shape that an operation cannot accept, with the operation and the shapes involved.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}

/// Runs a shape check inside an operation: a programmer error, so it stops with the message.
@inline(__always)
func checked<T>(_ body: () throws(ShapeError) -> T) -> T {
    do { return try body() } catch { preconditionFailure(error.description) }
}
