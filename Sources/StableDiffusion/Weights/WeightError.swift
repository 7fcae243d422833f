/// A problem with model weights: every case names the file or folder, and the tensors involved.
public enum WeightError: Error, Equatable, CustomStringConvertible {
    /// A tensor whose shape in the file differs from the one the configuration implies.
    public struct ShapeMismatch: Equatable, Sendable, CustomStringConvertible {
        /// The tensor's key.
        public let name: String
        /// The shape the model needs.
        public let expected: [Int]
        /// The shape stored in the file.
        public let found: [Int]

        /// A mismatch of `name`: the model needs `expected`, the file has `found`.
        public init(name: String, expected: [Int], found: [Int]) {
            self.name = name
            self.expected = expected
            self.found = found
        }

        /// "name: expected [..], found [..]".
        public var description: String { "\(name): expected \(expected), found \(found)" }
    }

    /// The model folder lacks a file it needs (or is not a folder).
    case missingFile(path: String, reason: String)
    /// The weights do not fit the model: keys missing, keys nobody uses, shapes that differ, or tensors whose
    /// element type cannot be read as floats.
    case mismatch(path: String, missing: [String], unexpected: [String], misshaped: [ShapeMismatch], unreadable: [String])

    /// A human-readable description listing every problem.
    public var description: String {
        switch self {
        case let .missingFile(path, reason):
            return "\(path): \(reason)"
        case let .mismatch(path, missing, unexpected, misshaped, unreadable):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.count) tensor(s): " + missing.joined(separator: ", ")) }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count) tensor(s): " + unexpected.joined(separator: ", ")) }
            if !misshaped.isEmpty {
                parts.append("mis-shaped \(misshaped.count) tensor(s): " + misshaped.map(\.description).joined(separator: "; "))
            }
            if !unreadable.isEmpty { parts.append("unreadable \(unreadable.count) tensor(s): " + unreadable.joined(separator: "; ")) }
            return "\(path): weights do not match the model: " + parts.joined(separator: "; ")
        }
    }
}
