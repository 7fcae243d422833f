/// Errors from planning or applying a token merge. Each message names the argument or tensor and what is wrong.
public enum ToMeError: Error, Equatable, CustomStringConvertible {
    /// A grid, stride, ratio or count outside what ToMe accepts.
    case invalidArgument(String)
    /// A tensor whose rank or shape does not fit the grid or the plan.
    case shapeMismatch(String)
    /// A metric token with a NaN or infinite element, or whose squared norm overflows `Float`: its cosine
    /// similarity is undefined, so no plan is made. Names the first such token in (batch, token) order.
    case nonFiniteMetric(batch: Int, token: Int, reason: String)

    /// A human-readable description naming the problem.
    public var description: String {
        switch self {
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .shapeMismatch(let message): return "shape mismatch: \(message)"
        case .nonFiniteMetric(let batch, let token, let reason):
            return "metric token \(token) of batch element \(batch) \(reason); cannot compute cosine similarity"
        }
    }
}
