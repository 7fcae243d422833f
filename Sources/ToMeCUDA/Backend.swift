import TensorCore
import ToMe

/// Where the ToMe core computes a merge plan: the CPU kernels, or a CUDA device through the run-time loaded shim.
///
/// Both give the same plan for the same metric, partition and `r` (canonical scores, deterministic ties).
public enum Backend: Sendable, Equatable, CustomStringConvertible {
    /// The CPU kernels (CKernels), threaded over a ``ThreadPool``.
    case cpu
    /// CUDA device `device` (see ``CUDAMergePlan`` to keep tensors on the device).
    case cuda(device: Int)

    /// `cpu` or `cuda:<device>`.
    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .cuda(let device): return "cuda:\(device)"
        }
    }
}

extension BipartiteMatching {
    /// ``plan(metric:partition:r:kernel:pool:)`` on `backend`: the CPU, or a CUDA device (the metric is uploaded,
    /// matched and ranked there, and the plan comes back for merging host tensors).
    /// - Throws: ``ToMeError`` for bad arguments or a non-finite metric, ``CUDAError`` when the device fails.
    public static func plan(metric: Tensor, partition: Partition, r: Int, backend: Backend,
                            pool: ThreadPool = .shared) throws -> MergePlan {
        switch backend {
        case .cpu:
            return try plan(metric: metric, partition: partition, r: r, pool: pool)
        case .cuda(let index):
            try check(r: r)
            let (batch, tokens, _) = try checkMetric(shape: metric.shape, partition)
            if r == 0 { return MergePlan(identityFor: batch, tokenCount: tokens) }
            let device = try CUDADevice(index)
            return try CUDAMergePlan(metric: CUDATensor(metric, device: device), partition: partition, r: r).hostPlan()
        }
    }
}
