import StableDiffusion
import TensorCore
import ToMe

/// One block call's ``MergePlan`` as the model's ``TokenReducer`` (tomesd's `m` and `u`), timing itself into the
/// patch's statistics.
struct MergeReducer: TokenReducer {
    let plan: MergePlan
    let patch: ToMePatch

    func merge(_ tokens: Tensor) throws -> Tensor {
        let start = ProcessMetrics.now()
        let merged = try plan.merge(tokens, pool: patch.pool)
        patch.update { $0.mergeSeconds += ProcessMetrics.seconds(since: start) }
        return merged
    }

    func unmerge(_ tokens: Tensor) throws -> Tensor {
        let start = ProcessMetrics.now()
        let unmerged = try plan.unmerge(tokens, pool: patch.pool)
        patch.update { $0.unmergeSeconds += ProcessMetrics.seconds(since: start) }
        return unmerged
    }
}
