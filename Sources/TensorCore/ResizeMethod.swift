import CKernels

/// How ``Tensor/resizedNHWC(height:width:method:)`` resizes a feature map: the modes of PyTorch's
/// `F.interpolate` (with `align_corners=False`, `antialias=False` and the output size given) and stride-equals-kernel
/// pooling, named as PyTorch and the ToDo reference name them.
public enum ResizeMethod: String, CaseIterable, Sendable {
    /// `F.interpolate(mode="nearest")`: source index `floor(i · in / out)`.
    case nearest
    /// `F.interpolate(mode="nearest-exact")`: source index `floor((i + 0.5) · in / out)` (pixel centres).
    case nearestExact = "nearest-exact"
    /// `F.interpolate(mode="bilinear")`: half-pixel centres, two taps per axis.
    case bilinear
    /// `F.interpolate(mode="bicubic")`: half-pixel centres, four taps per axis (A = −0.75), border clamped.
    case bicubic
    /// `F.interpolate(mode="area")`: adaptive average pooling.
    case area
    /// `F.avg_pool2d` with kernel = stride = `inHeight / height`, no padding.
    case avgPool = "avg_pool"
    /// `F.max_pool2d` with kernel = stride = `inHeight / height`, no padding.
    case maxPool = "max_pool"

    /// The kernels' number for the method.
    var kernelMethod: Int32 {
        switch self {
        case .nearest: return Int32(CK_RESIZE_NEAREST)
        case .nearestExact: return Int32(CK_RESIZE_NEAREST_EXACT)
        case .bilinear: return Int32(CK_RESIZE_BILINEAR)
        case .bicubic: return Int32(CK_RESIZE_BICUBIC)
        case .area: return Int32(CK_RESIZE_AREA)
        case .avgPool: return Int32(CK_RESIZE_AVG_POOL)
        case .maxPool: return Int32(CK_RESIZE_MAX_POOL)
        }
    }

    /// Whether the method pools with a square kernel (whose output size follows from the kernel).
    public var isPooling: Bool { self == .avgPool || self == .maxPool }
}
