import XCTest
@testable import TensorCore

/// One SGEMM test case: operands in padded row-major storage, a run of the code under test, and a check against
/// a double-precision reference with a tolerance relative to the sum of `|a||b|` terms.
struct GEMMProblem {
    let m: Int, n: Int, k: Int
    let transA: Bool, transB: Bool
    let alpha: Float, beta: Float
    let lda: Int, ldb: Int, ldc: Int
    let a: [Float], b: [Float], bias: [Float]?
    private(set) var c: [Float]
    private(set) var initialC: [Float]
    /// The precision ``packB(pool:)`` packs B with; with `.bf16` the reference rounds A and B to bfloat16 first.
    var precision: Precision = .fp32
    /// What the padding columns of C hold; they must still hold it after the product.
    static let sentinel: Float = 12345

    init(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, alpha: Float = 1, beta: Float = 0,
         bias: Bool = false, padding: Int = 0, seed: Int) {
        (self.m, self.n, self.k, self.transA, self.transB, self.alpha, self.beta) = (m, n, k, transA, transB, alpha, beta)
        lda = (transA ? m : k) + padding
        ldb = (transB ? k : n) + padding
        ldc = n + padding
        var generator = SeededGenerator(seed: UInt64(seed))
        let next = { Float.random(in: -1..<1, using: &generator) }
        a = (0..<max(1, (transA ? k : m) * lda)).map { _ in next() }
        b = (0..<max(1, (transB ? n : k) * ldb)).map { _ in next() }
        self.bias = bias ? (0..<n).map { _ in next() } : nil
        let ldc = self.ldc, n = self.n
        c = (0..<max(1, m * ldc)).map { $0 % ldc < n ? next() : GEMMProblem.sentinel }
        initialC = c
    }

    /// Sets every element of C inside the matrix to `value` (the padding keeps the sentinel).
    mutating func fillC(with value: Float) {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = value } }
        initialC = c
    }

    var paddingOfCIsUntouched: Bool {
        (0..<m).allSatisfy { i in (n..<ldc).allSatisfy { c[i * ldc + $0] == GEMMProblem.sentinel } }
    }

    mutating func run(pool: ThreadPool) {
        let (m, n, k, alpha, beta, lda, ldb, ldc, transA, transB) = (self.m, self.n, self.k, self.alpha, self.beta, self.lda, self.ldb, self.ldc, self.transA, self.transB)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                withBias { bias in
                    c.withUnsafeMutableBufferPointer { c in
                        GEMM.sgemm(m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!, lda: lda, transA: transA,
                                   b: b.baseAddress!, ldb: ldb, transB: transB, beta: beta,
                                   c: c.baseAddress!, ldc: ldc, bias: bias, pool: pool)
                    }
                }
            }
        }
    }

    func packB(pool: ThreadPool) -> PackedMatrix {
        b.withUnsafeBufferPointer { PackedMatrix(k: k, n: n, b: $0.baseAddress!, ldb: ldb, transposed: transB,
                                                     precision: precision, pool: pool) }
    }

    mutating func runPacked(pool: ThreadPool) { run(packed: packB(pool: pool), pool: pool) }

    mutating func run(packed: PackedMatrix, pool: ThreadPool) {
        let (m, alpha, beta, lda, ldc, transA) = (self.m, self.alpha, self.beta, self.lda, self.ldc, self.transA)
        a.withUnsafeBufferPointer { a in
            withBias { bias in
                c.withUnsafeMutableBufferPointer { c in
                    GEMM.sgemm(m: m, alpha: alpha, a: a.baseAddress!, lda: lda, transA: transA, b: packed, beta: beta,
                               c: c.baseAddress!, ldc: ldc, bias: bias, pool: pool)
                }
            }
        }
    }

    private func withBias<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let bias else { return body(nil) }
        return bias.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Asserts every element of C against the reference and that C's padding was not written.
    func check(_ label: String, file: StaticString = #filePath, line: UInt = #line) {
        var failures = 0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let x = Double(rounded(transA ? a[p * lda + i] : a[i * lda + p]))
                    let y = Double(rounded(transB ? b[j * ldb + p] : b[p * ldb + j]))
                    sum += x * y
                    magnitude += abs(x * y)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(initialC[i * ldc + j])
                let shift = Double(bias?[j] ?? 0)
                let expected = Double(alpha) * sum + old + shift
                let scale = abs(Double(alpha)) * magnitude + abs(old) + abs(shift)
                let tolerance = 2e-6 * (Double(k) + 1).squareRoot() * scale + 1e-30
                let got = Double(c[i * ldc + j])
                if !(abs(got - expected) <= tolerance) {
                    failures += 1
                    if failures <= 3 {
                        XCTFail("\(label): C[\(i)][\(j)] = \(got), expected \(expected) (tolerance \(tolerance))", file: file, line: line)
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0, "\(label): \(failures) wrong elements", file: file, line: line)
        XCTAssertTrue(paddingOfCIsUntouched, "\(label): wrote C outside the matrix", file: file, line: line)
    }

    /// `x` as the product sees it: itself, or in bfloat16 the nearest bfloat16 value (ties to even).
    private func rounded(_ x: Float) -> Float {
        precision == .bf16 ? GEMMProblem.bfloat16(x) : x
    }

    /// Round to nearest even on the top 16 bits: an independent reference for finite, normal inputs.
    static func bfloat16(_ x: Float) -> Float {
        let bits = x.bitPattern
        let rounded = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000
        return Float(bitPattern: rounded)
    }
}
