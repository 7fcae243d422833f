import CKernels

extension GEMM {
    /// A matrix operand in caller memory: `base` with row stride `ld`, used as stored or transposed.
    struct Operand {
        let base: UnsafePointer<Float>
        let ld: Int
        let transposed: Bool
    }

    /// Packs rows `rows` × depth `depth` of `op(A)` into `mr`-row panels at `destination`
    /// (panel `r`, element `(i, p)` at `r·mr·kc + p·mr + i`; rows past the end are zero).
    static func packA(_ a: Operand, rows: Range<Int>, depth: Range<Int>, mr: Int, into destination: UnsafeMutablePointer<Float>) {
        // op(A)[i, p] is a[i·ld + p], or a[p·ld + i] when transposed.
        packPanels(a.base, ld: a.ld, alongPanelIsContiguous: a.transposed, panelIndices: rows, depth: depth,
                   width: mr, into: destination)
    }

    /// Packs the whole of `op(B)` (`[k×n]`) into `layout`, slice by slice, spreading large matrices over `pool`;
    /// `destination` has room for `layout.floatCount` floats (bfloat16 layouts: two values to a float).
    static func packB(_ b: Operand, layout: PackedMatrix.Layout, into destination: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let nr = layout.nr
        let panelsPerPiece = 16
        let piecesPerSlice = (layout.panelCount + panelsPerPiece - 1) / panelsPerPiece
        let pieces = layout.slices.count * piecesPerSlice
        let packOne = { (piece: Int) in
            let slice = piece / piecesPerSlice
            let firstPanel = (piece % piecesPerSlice) * panelsPerPiece
            let columns = firstPanel * nr ..< min(layout.n, (firstPanel + panelsPerPiece) * nr)
            let depth = layout.slices[slice]
            let offset = layout.offset(slice: slice, panel: firstPanel)
            switch layout.precision {
            case .fp32:
                // op(B)[p, j] is b[p·ld + j], or b[j·ld + p] when transposed.
                packPanels(b.base, ld: b.ld, alongPanelIsContiguous: !b.transposed, panelIndices: columns,
                           depth: depth, width: nr, into: destination + offset)
            case .bf16:
                let start = b.transposed ? columns.lowerBound &* b.ld &+ depth.lowerBound
                                         : depth.lowerBound &* b.ld &+ columns.lowerBound
                let panels = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt16.self) + offset
                ck_bgemm_pack_b(b.base + start, Int64(b.ld), b.transposed ? 1 : 0, Int64(columns.count),
                                Int64(depth.count), Int32(nr), panels)
            }
        }
        if layout.count >= GEMMBlocking.minParallelPackCount {
            pool.parallelFor(pieces, packOne)
        } else {
            for piece in 0..<pieces { packOne(piece) }
        }
    }

    /// Packs `Wᵀ` of the `[n × k]` row-major `weight` into the one-slice bfloat16 `layout` with interleaved halves
    /// (``PackedMatrix/init(interleavingHalvesOf:k:n:ldw:pool:)``): the rows of each panel, half from the first
    /// half of `W` and half from the second, are gathered into a scratch block and packed as one panel.
    static func packInterleavedHalves(_ weight: UnsafePointer<Float>, ldw: Int, layout: PackedMatrix.Layout,
                                      into destination: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let (nr, k) = (layout.nr, layout.k)
        let (width, half) = (nr / 2, layout.n / 2)
        let panels = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt16.self)
        let packPanel = { (panel: Int) in
            ScratchPool.shared.withBuffer(count: nr * k) { rows in
                for row in 0..<width {
                    (rows + row * k).update(from: weight + (panel * width + row) * ldw, count: k)
                    (rows + (width + row) * k).update(from: weight + (half + panel * width + row) * ldw, count: k)
                }
                ck_bgemm_pack_b(rows, Int64(k), 1, Int64(nr), Int64(k), Int32(nr),
                                panels + layout.offset(slice: 0, panel: panel))
            }
        }
        if layout.count >= GEMMBlocking.minParallelPackCount {
            pool.parallelFor(layout.panelCount, packPanel)
        } else {
            for panel in 0..<layout.panelCount { packPanel(panel) }
        }
    }

    /// Copies `source` into `width`-wide panels: panel `s` covers `panelIndices` `s·width ..< (s+1)·width`
    /// (zero past the end) and holds element `(x, p)` at `s·width·kc + p·width + (x - first)`, where element
    /// `(x, p)` is `source[p·ld + x]` when `alongPanelIsContiguous`, otherwise `source[x·ld + p]`.
    private static func packPanels(_ source: UnsafePointer<Float>, ld: Int, alongPanelIsContiguous: Bool,
                                   panelIndices: Range<Int>, depth: Range<Int>, width: Int,
                                   into destination: UnsafeMutablePointer<Float>) {
        let kc = depth.count
        var panel = destination
        for first in stride(from: panelIndices.lowerBound, to: panelIndices.upperBound, by: width) {
            let used = min(width, panelIndices.upperBound - first)
            if alongPanelIsContiguous {
                // Plain loops rather than memmove: a call per 12 or 32 floats costs more than the copy.
                var row = source + (depth.lowerBound &* ld &+ first)
                var line = panel
                for _ in 0..<kc {
                    for x in 0..<used { line[x] = row[x] }
                    for x in used..<width { line[x] = 0 }
                    row += ld
                    line += width
                }
            } else {
                // A transpose of the `used × kc` block (8×8 register tiles), then zeros past the end.
                ck_transpose_f32(source + (first &* ld &+ depth.lowerBound), ld, panel, width, used, kc)
                if used < width {
                    for p in 0..<kc { (panel + (p &* width &+ used)).update(repeating: 0, count: width - used) }
                }
            }
            panel += width * kc
        }
    }
}
