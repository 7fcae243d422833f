import CKernels
import TensorCore

/// SiLU (`x · sigmoid(x)`) of every element, as a new tensor.
func silu(_ x: Tensor) -> Tensor {
    var y = Tensor(uninitialized: x.shape)
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in ck_nn_silu(px.baseAddress!, py.baseAddress!, x.count) }
    }
    return y
}
