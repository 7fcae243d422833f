import StableDiffusion
import TensorCore
import XCTest

/// Inputs that do not fit the model: each a ``UNetInputError`` naming the input.
final class UNetInputTests: XCTestCase {
    func testWrongRanksShapesAndCountsAreNamed() throws {
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-sd1"))
        let context = Tensor(zeros: [2, 3, 12])
        assertInputError(model, Tensor(zeros: [2, 4, 8]), [1], context, "sample")
        assertInputError(model, Tensor(zeros: [2, 8, 8, 3]), [1], context, "sample")
        assertInputError(model, Tensor(zeros: [2, 0, 8, 4]), [1], context, "sample")
        assertInputError(model, Tensor(zeros: [2, 8, 8, 4]), [1, 2, 3], context, "timestep")
        assertInputError(model, Tensor(zeros: [2, 8, 8, 4]), [.nan], context, "timestep")
        assertInputError(model, Tensor(zeros: [2, 8, 8, 4]), [1], Tensor(zeros: [2, 3, 16]), "encoder_hidden_states")
        assertInputError(model, Tensor(zeros: [2, 8, 8, 4]), [1], Tensor(zeros: [1, 3, 12]), "encoder_hidden_states")
        assertInputError(model, Tensor(zeros: [2, 8, 8, 4]), [1], Tensor(zeros: [2, 0, 12]), "encoder_hidden_states")
        assertInputError(model, Tensor(zeros: [2, 8, 8, 4]), [1], Tensor(zeros: [2, 12]), "encoder_hidden_states")
        let textTime = TextTimeConditioning(textEmbeds: Tensor(zeros: [2, 12]), timeIds: Tensor(zeros: [2, 6]))
        assertInputError(model, Tensor(zeros: [2, 8, 8, 4]), [1], context, "text_embeds", textTime: textTime)
    }

    func testSDXLConditioningIsRequiredAndChecked() throws {
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-sdxl"))
        let sample = Tensor(zeros: [1, 8, 8, 4]), context = Tensor(zeros: [1, 2, 16])
        assertInputError(model, sample, [1], context, "text_embeds")
        assertInputError(model, sample, [1], context, "text_embeds",
                         textTime: TextTimeConditioning(textEmbeds: Tensor(zeros: [1, 11]), timeIds: Tensor(zeros: [1, 6])))
        assertInputError(model, sample, [1], context, "time_ids",
                         textTime: TextTimeConditioning(textEmbeds: Tensor(zeros: [1, 12]), timeIds: Tensor(zeros: [1, 5])))
    }

    func testAnyLatentSizeRoundTripsLikeDiffusers() throws {
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-sd1"))
        for (height, width) in [(1, 1), (1, 3), (5, 2), (13, 11)] {
            let out = try model(Tensor(zeros: [1, height, width, 4]), timesteps: [10], encoderHiddenStates: Tensor(zeros: [1, 2, 12]))
            XCTAssertEqual(out.shape, [1, height, width, 4])
        }
    }

    private func assertInputError(_ model: UNet2DConditionModel, _ sample: Tensor, _ timesteps: [Float], _ context: Tensor,
                                  _ input: String, textTime: TextTimeConditioning? = nil,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try model(sample, timesteps: timesteps, encoderHiddenStates: context, textTime: textTime),
                             file: file, line: line) { error in
            XCTAssertEqual((error as? UNetInputError)?.input, input, "\(error)", file: file, line: line)
        }
    }
}
