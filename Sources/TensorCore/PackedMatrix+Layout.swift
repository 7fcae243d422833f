extension PackedMatrix {
    /// The packed layout of a `[k×n]` operand for one kernel variant: `k` is cut into slices of at most
    /// ``GEMMBlocking/maxKC`` rows (``GEMMBlocking/maxKCBF16`` for bfloat16); within a slice, column panel `s` (columns `s·nr ..< (s+1)·nr`, zero past `n`)
    /// is a run of `nr × depth` elements. An fp32 panel holds element `(p, j)` at `p·nr + j`; a bfloat16 panel
    /// has its depth padded to even and holds `(p, j)` at `(p/2)·2·nr + 2·j + p%2` (see ck_bgemm.h).
    struct Layout {
        /// The kernel variant the panels are packed for.
        enum Variant {
            case fp32(GEMMKernel)
            case bf16(BF16GEMMKernel)

            /// The active variant of `precision`.
            init(_ precision: Precision) {
                switch precision {
                case .fp32: self = .fp32(.active)
                case .bf16: self = .bf16(.active)
                }
            }

            var nr: Int {
                switch self {
                case .fp32(let kernel): return kernel.nr
                case .bf16(let kernel): return kernel.nr
                }
            }

            var mr: Int {
                switch self {
                case .fp32(let kernel): return kernel.mr
                case .bf16(let kernel): return kernel.mr
                }
            }
        }

        let k: Int
        let n: Int
        let variant: Variant
        /// The `k` ranges summed one after another.
        let slices: [Range<Int>]
        /// Number of `nr`-wide column panels.
        let panelCount: Int
        /// Element offset of each slice, and the total element count last.
        private let sliceStarts: [Int]

        init(k: Int, n: Int, variant: Variant) {
            self.k = k
            self.n = n
            self.variant = variant
            var padded = false
            if case .bf16 = variant { padded = true }
            slices = GEMMBlocking.kSlices(k: k, maxKC: padded ? GEMMBlocking.maxKCBF16 : GEMMBlocking.maxKC)
            let nr = variant.nr
            panelCount = (n + nr - 1) / nr
            var starts = [0]
            for slice in slices {
                let depth = padded ? (slice.count + 1) / 2 * 2 : slice.count
                starts.append(starts.last! + depth * panelCount * nr)
            }
            sliceStarts = starts
        }

        var nr: Int { variant.nr }

        var precision: Precision {
            if case .bf16 = variant { return .bf16 }
            return .fp32
        }

        /// Number of elements (floats or bfloat16 values) the packed panels take.
        var count: Int { sliceStarts.last! }

        /// Number of floats of storage the packed panels take.
        var floatCount: Int {
            precision == .bf16 ? (count + 1) / 2 : count
        }

        /// Element offset of column panel `panel` in slice `slice`.
        func offset(slice: Int, panel: Int) -> Int {
            let depth = (sliceStarts[slice + 1] - sliceStarts[slice]) / max(panelCount * nr, 1)
            return sliceStarts[slice] + panel * nr * depth
        }
    }
}
