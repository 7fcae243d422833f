import DiffusionPatch
import StableDiffusion
import TensorCore
import ToMe

/// tomesd's benchmark table (its README: resolution × batch; Vanilla, ToMe, ToMe + xFormers) on this machine: an
/// SD 1.5- or SDXL-shaped UNet (``UNetBenchmarkArchitecture``) with seeded random weights (no download), one row per resolution × batch, columns Vanilla (standard attention), ToMe (standard attention, patched) and
/// ToMe + memory-efficient attention (and, on request, unpatched memory-efficient attention), each with the time
/// per UNet step, the speed-up over Vanilla beside the ``UNetFLOPModel``'s prediction, the peak resident memory and
/// the patch's own overhead per step.
///
/// Cells run in order of increasing work. A cell whose predicted peak memory exceeds the budget is not run and
/// reads "OOM", as do cells that ran and exceeded it; the prediction scales the measured activation memory of the
/// largest smaller cell of the same column by batch · tokens (plus the score matrices of standard attention, one
/// per thread).
public final class UNetBenchmark {
    /// The architecture benchmarked.
    public let config: UNetConfig
    /// What to run.
    public let settings: UNetBenchmarkSettings
    private let model: UNet2DConditionModel
    private let flopModel: UNetFLOPModel

    /// A benchmark of `config` (the settings' ``UNetBenchmarkSettings/architecture`` unless given) with weights
    /// drawn from `weightSeed`.
    /// - Throws: ``PatchError/invalidOption(option:reason:)`` for bad settings; ``ConfigError`` for a bad config.
    public init(settings: UNetBenchmarkSettings, config: UNetConfig? = nil, weightSeed: UInt64 = 0) throws {
        let config = config ?? settings.architecture.config
        try settings.validate()
        self.settings = settings
        self.config = config
        model = try UNet2DConditionModel(config: config, seed: weightSeed, precision: settings.precision)
        flopModel = UNetFLOPModel(config: config)
    }

    /// Runs every row, handing each to `report` as soon as it is complete.
    /// - Throws: the model's or the patch's errors.
    @discardableResult
    public func run(report: (UNetBenchmarkRow) -> Void = { _ in }) throws -> [UNetBenchmarkRow] {
        defer {
            removePatch(model)
            removeTokenDownsampling(model)
        }
        var rows: [UNetBenchmarkRow] = []
        for resolution in settings.resolutions.sorted() {
            for batch in settings.batches.sorted() {
                let cells = try settings.columns.map { column in
                    try measure(column, resolution: resolution, batch: batch, measured: rows)
                }
                let row = UNetBenchmarkRow(resolution: resolution, batch: batch, cells: cells)
                rows.append(row)
                report(row)
            }
        }
        return rows
    }

    /// One cell: warm-up steps, then `steps` timed ones (or OOM).
    private func measure(_ column: UNetBenchmarkColumn, resolution: Int, batch: Int,
                         measured rows: [UNetBenchmarkRow]) throws -> UNetBenchmarkCell {
        let latent = resolution / 8
        let options = column.isPatched ? settings.options : nil
        let downsampling = column.isDownsampled ? settings.downsampling : nil
        let flops = flopModel.flops(latentHeight: latent, latentWidth: latent, batch: batch,
                                    contextTokens: settings.contextTokens, options: options, downsampling: downsampling)
        let baseline = ProcessMetrics.residentBytes() ?? 0
        let predicted = predictedPeak(column, resolution: resolution, batch: batch, baseline: baseline, rows: rows)
        var cell = UNetBenchmarkCell(column: column, flops: flops, predictedPeakBytes: predicted, baselineBytes: baseline)
        if let predicted, predicted > settings.memoryBudgetBytes { return cell }

        let inputs = try benchmarkInputs(latent: latent, batch: batch)
        model.attentionImplementation = column.attention
        let patch = try options.map { try applyPatch(model, options: $0) }
        if patch == nil { removePatch(model) }
        let downsamplingPatch = try downsampling.map { try applyTokenDownsampling(model, options: $0) }
        if downsamplingPatch == nil { removeTokenDownsampling(model) }
        ProcessMetrics.resetPeak()
        for _ in 0..<settings.warmup { _ = try inputs.run(model) }
        patch?.resetStatistics()
        downsamplingPatch?.resetStatistics()
        var runs: [Double] = [], cpu: [Double] = []
        for _ in 0..<settings.steps {
            let (start, cpuStart) = (ProcessMetrics.now(), ProcessMetrics.cpuSeconds())
            _ = try inputs.run(model)
            runs.append(ProcessMetrics.seconds(since: start))
            cpu.append(ProcessMetrics.cpuSeconds() - cpuStart)
        }
        cell.peakBytes = ProcessMetrics.peakBytes()
        if let statistics = patch?.statistics {
            cell.overheadSeconds = statistics.overheadSeconds / Double(settings.steps)
            cell.tokensMergedPerStep = statistics.tokensMerged / settings.steps
        }
        if let statistics = downsamplingPatch?.statistics {
            cell.overheadSeconds = statistics.overheadSeconds / Double(settings.steps)
        }
        guard (cell.peakBytes ?? 0) <= settings.memoryBudgetBytes else { return cell }
        cell.stepSeconds = runs
        cell.cpuSeconds = cpu
        return cell
    }

    /// The peak memory `column` is expected to need at `resolution` × `batch`, from the largest measured smaller
    /// cell of the same column; nil when there is none.
    private func predictedPeak(_ column: UNetBenchmarkColumn, resolution: Int, batch: Int, baseline: Int,
                               rows: [UNetBenchmarkRow]) -> Int? {
        let work = { (row: UNetBenchmarkRow) in row.batch * row.resolution * row.resolution }
        let measured = rows.filter { work($0) <= batch * resolution * resolution && $0.cell(column)?.peakBytes != nil }
        guard let reference = measured.max(by: { work($0) < work($1) }), let cell = reference.cell(column),
              let peak = cell.peakBytes else {
            return nil
        }
        let scale = Double(batch * resolution * resolution) / Double(work(reference))
        var predicted = Double(baseline) + Double(max(peak - cell.baselineBytes, 0)) * scale
        if column.attention == .standard {
            let (tokens, referenceTokens) = (Double(resolution * resolution / 64),
                                             Double(reference.resolution * reference.resolution / 64))
            predicted += 4 * Double(ThreadPool.shared.threadCount) * (tokens * tokens - referenceTokens * referenceTokens)
        }
        return Int(predicted)
    }

    /// Seeded inputs for one row: a `[batch, latent, latent, 4]` sample, timestep 500 and a text context (and,
    /// for SDXL's `text_time` conditioning, pooled text embeddings and the time ids of a `8·latent`² image).
    private func benchmarkInputs(latent: Int, batch: Int) throws -> BenchmarkInputs {
        var random = SplitMix64(seed: UInt64(latent * 1000 + batch))
        func uniform(_ shape: [Int]) throws -> Tensor {
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in
                Float(random.next() >> 40) / Float(1 << 23) - 1
            })
        }
        let textTime = try config.textTimeEmbedding.map {
            try TextTimeConditioning(textEmbeds: try uniform([batch, $0.textEmbedsWidth]), imageWidth: latent * 8,
                                     imageHeight: latent * 8)
        }
        return BenchmarkInputs(sample: try uniform([batch, latent, latent, config.inChannels]),
                               context: try uniform([batch, settings.contextTokens, config.crossAttentionDim[0]]),
                               textTime: textTime)
    }
}

/// One row's UNet inputs.
private struct BenchmarkInputs {
    let sample: Tensor
    let context: Tensor
    let textTime: TextTimeConditioning?

    func run(_ model: UNet2DConditionModel) throws -> Tensor {
        try model(sample, timesteps: [500], encoderHiddenStates: context, textTime: textTime)
    }
}
