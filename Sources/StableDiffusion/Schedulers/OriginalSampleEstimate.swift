/// The clean-sample estimate x₀ of the Euler samplers from a sample at noise level σ and the model output.
struct OriginalSampleEstimate {
    private let prediction: PredictionType
    private let sigma: Float
    /// v-prediction's coefficients: −σ/√(σ² + 1) on the output, 1/(σ² + 1) (as a divisor) on the sample.
    private let outputScale: Float
    private let sampleDivisor: Float

    init(prediction: PredictionType, sigma: Float) {
        self.prediction = prediction
        self.sigma = sigma
        sampleDivisor = sigma * sigma + 1
        outputScale = -sigma / sampleDivisor.squareRoot()
    }

    /// x₀ for one element.
    func callAsFunction(_ sample: Float, _ output: Float) -> Float {
        switch prediction {
        case .epsilon: return sample - sigma * output
        case .vPrediction: return output * outputScale + sample / sampleDivisor
        }
    }
}
