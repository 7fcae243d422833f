/// Errors from planning or applying a token merge. Each names the argument or tensor and says what is wrong.
public enum ToMeError: Error, Equatable, CustomStringConvertible {
    /// A grid, stride, ratio, count or index outside what ToMe accepts: the argument's name and what is wrong.
    case invalidArgument(argument: String, reason: String)
    /// A tensor (or list) whose rank or shape does not fit the grid or the plan: its name and what is wrong.
    case shapeMismatch(tensor: String, reason: String)
    /// A metric token with a NaN or infinite element, or whose squared norm overflows `Float`: its cosine
    /// similarity is undefined, so no plan is made. Names the first such token in (batch, token) order.
    case nonFiniteMetric(batch: Int, token: Int, reason: String)

    /// A human-readable description naming the problem.
    public var description: String {
        switch self {
        case .invalidArgument(let argument, let reason): return "invalid argument: \(argument) \(reason)"
        case .shapeMismatch(let tensor, let reason): return "shape mismatch: \(tensor) \(reason)"
        case .nonFiniteMetric(let batch, let token, let reason):
            return "metric token \(token) of batch element \(batch) \(reason); cannot compute cosine similarity"
        }
    }
}
