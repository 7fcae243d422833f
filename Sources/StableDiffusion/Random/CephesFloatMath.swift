/// The single-precision `log` and `sincos` PyTorch's x86-64 CPU build uses to turn uniforms into normals
/// (`log256_ps` / `sincos256_ps` of ATen's `avx_mathfun.h`, Cephes polynomials), one lane at a time.
///
/// PyTorch compiles those AVX2 intrinsics with GCC, which contracts each multiply feeding a single add into a
/// fused multiply-add; the `addingProduct` calls below sit exactly where GCC put them, which is what makes
/// ``TorchGenerator`` bit-identical to `torch.randn` (checked against recorded values, not assumed).
enum CephesFloatMath {
    /// Natural logarithm for `x > 0` (NaN for `x <= 0`), as `log256_ps`.
    static func log(_ input: Float) -> Float {
        guard input > 0 else { return .nan }
        var x = max(input, Float(bitPattern: 0x0080_0000))  // flush denormals to the smallest normal
        let biasedExponent = Int32(bitPattern: x.bitPattern >> 23)
        x = Float(bitPattern: (x.bitPattern & ~0x7f80_0000) | Float(0.5).bitPattern)  // mantissa in [0.5, 1)
        var e = Float(biasedExponent - 0x7f) + 1
        if x < 0.707106781186547524 {  // x < sqrt(1/2): use 2x - 1 and one less in the exponent
            e -= 1
            x = (x - 1) + x
        } else {
            x -= 1
        }
        let z = x * x
        var y: Float = 7.0376836292E-2
        for coefficient: Float in [-1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
                                   -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1] {
            y = coefficient.addingProduct(y, x)
        }
        y *= x
        y = (e * -2.12194440e-4).addingProduct(y, z)
        y = y.addingProduct(-z, 0.5)
        return (x + y).addingProduct(e, 0.693359375)
    }

    /// Sine and cosine, as `sincos256_ps` (accurate for |x| < 8192; the pipeline passes [0, 2π)).
    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        var sinIsNegative = input.sign == .minus
        var x = abs(input)
        // Octant j = (trunc(x * 4/π) + 1) & ~1, then x reduced by j * π/4 in three parts ("DP1..DP3").
        var octant = Int32(x * 1.27323954473516)
        octant = (octant + 1) & ~1
        let y = Float(octant)
        if octant & 4 != 0 { sinIsNegative.toggle() }
        let cosIsNegative = (~(octant - 2)) & 4 != 0
        let sinUsesSinePolynomial = octant & 2 == 0
        x = x.addingProduct(y, -0.78515625)
        x = x.addingProduct(y, -2.4187564849853515625e-4)
        x = x.addingProduct(y, -3.77489497744594108e-8)

        let z = x * x
        var cosine: Float = 2.443315711809948E-005
        cosine = Float(-1.388731625493765E-003).addingProduct(cosine, z)
        cosine = Float(4.166664568298827E-002).addingProduct(cosine, z)
        cosine *= z
        cosine = (-(z * 0.5)).addingProduct(cosine, z) + 1

        var sine: Float = -1.9515295891E-4
        sine = Float(8.3321608736E-3).addingProduct(sine, z)
        sine = Float(-1.6666654611E-1).addingProduct(sine, z)
        sine *= z
        sine = x.addingProduct(sine, x)

        let sinValue = sinUsesSinePolynomial ? sine : cosine
        let cosValue = sinUsesSinePolynomial ? cosine : sine
        return (sinIsNegative ? -sinValue : sinValue, cosIsNegative ? -cosValue : cosValue)
    }
}
