/// Errors raised by tensor operations on shapes or arguments a caller supplied.
///
/// Every case carries a message that names the operation (and the tensor, where one has a name) and what is wrong.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// A shape is not what the operation needs (wrong rank, mismatched dimensions, negative sizes...).
    case shapeMismatch(String)
    /// An argument is outside the range the operation accepts.
    case invalidArgument(String)

    /// A human-readable description naming the problem.
    public var description: String {
        switch self {
        case .shapeMismatch(let message): return "shape mismatch: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        }
    }
}
