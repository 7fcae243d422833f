/// The split of an `height × width` token grid into destinations and sources (tomesd's 2-D random partition).
///
/// The grid is cut into `sy × sx` cells (`sy` rows, `sx` columns) starting at the top left; each of the
/// `(height / sy) · (width / sx)` whole cells has exactly one destination token, the rest of the cell are sources.
/// When `height` or `width` does not divide by `sy` or `sx`, the leftover bottom rows and right columns are always
/// sources. Tokens are numbered row-major (`token = row · width + column`), as in a `[B, N, C]` tensor with
/// `N = height · width`. One partition serves every batch element.
///
/// The destination of a cell is given by its *choice* `k` in `0 ..< sx · sy`, the token at row `k / sx`, column
/// `k % sx` inside the cell (tomesd's `rand_idx`). Choices are 0 (the cell's first token, tomesd's `no_rand`),
/// drawn from a ``SplitMix64`` cell by cell in row-major order, or given explicitly.
public struct Partition: Sendable, Equatable {
    /// Grid height in tokens.
    public let height: Int
    /// Grid width in tokens.
    public let width: Int
    /// Cell width (columns per cell).
    public let sx: Int
    /// Cell height (rows per cell).
    public let sy: Int
    /// The destination choice of each whole cell, row-major over cells (`(height / sy) × (width / sx)` values).
    public let cellChoices: [Int]
    /// Destination tokens, ascending (tomesd's `b_idx`); one per cell.
    public let destinationTokens: [Int32]
    /// Source tokens, ascending (tomesd's `a_idx`).
    public let sourceTokens: [Int32]

    /// Number of tokens, `height · width`.
    public var tokenCount: Int { height * width }

    /// A partition with explicit per-cell choices (each in `0 ..< sx · sy`, row-major over cells).
    /// - Throws: ``ToMeError/invalidArgument(argument:reason:)`` for an empty grid, a stride below 1 or larger than the grid, a
    ///   grid too large for 32-bit token indices, or a wrong number or value of choices.
    public init(height: Int, width: Int, sx: Int, sy: Int, cellChoices: [Int]) throws {
        try Partition.validate(height: height, width: width, sx: sx, sy: sy)
        let cells = MergeGrid.destinationCount(height: height, width: width, sx: sx, sy: sy)
        guard cellChoices.count == cells else {
            throw ToMeError.invalidArgument(argument: "cellChoices", reason: "holds \(cellChoices.count) cell choices "
                + "for a \(height)×\(width) grid with \(sy)×\(sx) cells (\(cells) cells)")
        }
        if let bad = cellChoices.firstIndex(where: { $0 < 0 || $0 >= sx * sy }) {
            throw ToMeError.invalidArgument(argument: "cell choice",
                                            reason: "\(cellChoices[bad]) of cell \(bad) is outside 0..<\(sx * sy)")
        }
        self.height = height
        self.width = width
        self.sx = sx
        self.sy = sy
        self.cellChoices = cellChoices
        (destinationTokens, sourceTokens) = Partition.split(height: height, width: width, sx: sx, sy: sy, cellChoices)
    }

    /// The deterministic partition: every cell's first (top-left) token is its destination (tomesd's `no_rand`).
    public init(height: Int, width: Int, sx: Int, sy: Int) throws {
        try Partition.validate(height: height, width: width, sx: sx, sy: sy)
        try self.init(height: height, width: width, sx: sx, sy: sy,
                      cellChoices: Array(repeating: 0, count: MergeGrid.destinationCount(height: height, width: width, sx: sx, sy: sy)))
    }

    /// A random partition: each cell's choice is `generator.next(below: sx · sy)`, cells in row-major order.
    public init(height: Int, width: Int, sx: Int, sy: Int, using generator: inout SplitMix64) throws {
        try Partition.validate(height: height, width: width, sx: sx, sy: sy)
        let cells = MergeGrid.destinationCount(height: height, width: width, sx: sx, sy: sy)
        var choices = [Int]()
        choices.reserveCapacity(cells)
        for _ in 0..<cells { choices.append(Int(generator.next(below: UInt64(sx * sy)))) }
        try self.init(height: height, width: width, sx: sx, sy: sy, cellChoices: choices)
    }

    private static func validate(height: Int, width: Int, sx: Int, sy: Int) throws {
        guard height >= 1, width >= 1 else {
            throw ToMeError.invalidArgument(argument: "grid",
                                            reason: "\(height)×\(width) is empty; height and width must be at least 1")
        }
        let (tokens, overflow) = height.multipliedReportingOverflow(by: width)
        guard !overflow, tokens <= Int(Int32.max) else {
            throw ToMeError.invalidArgument(argument: "grid",
                                            reason: "\(height)×\(width) has more tokens than 32-bit indices can address")
        }
        guard sx >= 1, sx <= width else {
            throw ToMeError.invalidArgument(argument: "sx", reason: "= \(sx) must be between 1 and the grid width \(width)")
        }
        guard sy >= 1, sy <= height else {
            throw ToMeError.invalidArgument(argument: "sy", reason: "= \(sy) must be between 1 and the grid height \(height)")
        }
    }

    /// Destination and source tokens, both ascending (a stable argsort of tomesd's `idx_buffer`).
    private static func split(height: Int, width: Int, sx: Int, sy: Int, _ choices: [Int]) -> ([Int32], [Int32]) {
        let cellColumns = width / sx
        var isDestination = [Bool](repeating: false, count: height * width)
        for (cell, choice) in choices.enumerated() {
            let row = (cell / cellColumns) * sy + choice / sx
            let column = (cell % cellColumns) * sx + choice % sx
            isDestination[row * width + column] = true
        }
        var destinations = [Int32](), sources = [Int32]()
        destinations.reserveCapacity(choices.count)
        sources.reserveCapacity(height * width - choices.count)
        for token in 0..<(height * width) {
            if isDestination[token] { destinations.append(Int32(token)) } else { sources.append(Int32(token)) }
        }
        return (destinations, sources)
    }
}
