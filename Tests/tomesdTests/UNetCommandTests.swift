import Foundation
import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// `tomesd unet --precision`, run as the built executable: a bf16 run of a fixture case within PyTorch's own bf16
/// error of diffusers fp32, and a bad precision refused with status 2.
final class UNetCommandTests: XCTestCase {
    func testPrecisionBF16WithinPyTorchsBF16Error() throws {
        let cases = try SafeTensorsFile(contentsOf: Fixtures.url("unet-sd1/cases.safetensors"))
        let folder = try Fixtures.temporaryDirectory(for: self)
        let inputs = folder.appendingPathComponent("inputs.safetensors"), output = folder.appendingPathComponent("out.safetensors")
        try SafeTensors.write(["sample": try cases.tensor("square.sample"), "timestep": try cases.tensor("square.timestep"),
                               "encoder_hidden_states": try cases.tensor("square.encoder_hidden_states")], to: inputs)
        let run = try runTool(["unet", "--model", Fixtures.url("unet-sd1").path, "--inputs", inputs.path,
                               "--output", output.path, "--precision", "bf16"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let ours = try SafeTensorsFile(contentsOf: output).tensor("sample").scalars
        let expected = try cases.tensor("square.out").scalars
        var difference = 0.0, norm = 0.0
        for (a, e) in zip(ours, expected) {
            difference += Double(a - e) * Double(a - e)
            norm += Double(e) * Double(e)
        }
        let bars = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("bf16_reference.json"))) as? [String: Any]
        let bar = try XCTUnwrap((bars?["unet-sd1"] as? [String: Double])?["square"])
        let error = (difference / norm).squareRoot()
        XCTAssertLessThanOrEqual(error, bar, "bf16 output against diffusers fp32")
        XCTAssertGreaterThan(error, 1e-5, "the run must really be bf16")

        let bad = try runTool(["unet", "--model", Fixtures.url("unet-sd1").path, "--inputs", inputs.path,
                               "--output", folder.appendingPathComponent("never.safetensors").path, "--precision", "int4"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("option --precision expects fp32 or bf16, got 'int4'"), bad.stderr)
    }
}
