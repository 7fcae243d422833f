import Foundation
import TensorCore

/// A diffusers pipeline folder's `model_index.json`: the pipeline class and, per component, the library and
/// class that saved it (`"unet": ["diffusers", "UNet2DConditionModel"]`; `[null, null]` for an absent one).
struct ModelIndex {
    /// The pipeline classes whose folders this package runs, with the components each needs (each in the
    /// subfolder of its name).
    static let requiredComponents = [
        "StableDiffusionPipeline": ["unet", "vae", "text_encoder", "tokenizer", "scheduler"],
        "StableDiffusionXLPipeline": ["unet", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2",
                                      "scheduler"],
    ]
    /// The pipeline classes whose folders this package runs.
    static var supportedPipelines: [String] { requiredComponents.keys.sorted() }

    /// The pipeline class (`_class_name`).
    let pipelineClass: String
    /// The path of `model_index.json`, for messages.
    let path: String
    /// The class of each component present (absent or null entries are left out).
    let componentClasses: [String: String]
    /// SDXL's `force_zeros_for_empty_prompt` (diffusers' default true): without a negative prompt, guidance's
    /// unconditional embeddings are zeros instead of the encoded empty prompt.
    let forceZerosForEmptyPrompt: Bool

    /// Reads `folder/model_index.json` and checks that every required component is listed and has its subfolder.
    /// - Throws: ``WeightError/missingFile(path:reason:)`` when `folder` does not exist or is not a folder;
    ///   ``PipelineError/missingComponent(folder:component:reason:)`` for a missing index, component or
    ///   subfolder; ``PipelineError/unsupportedPipeline(path:reason:)`` for an unreadable index or another
    ///   pipeline class.
    init(folder: URL) throws {
        try ModelFolder.requireFolder(folder)
        let url = folder.appendingPathComponent("model_index.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PipelineError.missingComponent(folder: folder.path, component: "model_index.json",
                                                 reason: "not a diffusers pipeline folder")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(try RegularFile.contents(atPath: url.path))
        } catch let error as FileReadError {
            throw PipelineError.unsupportedPipeline(path: url.path, reason: "cannot read: \(error.reason)")
        } catch {
            throw PipelineError.unsupportedPipeline(path: url.path, reason: "not readable JSON: \(error)")
        }
        guard case .object(let values) = parsed else {
            throw PipelineError.unsupportedPipeline(path: url.path, reason: "not a JSON object")
        }
        guard case .string(let name)? = values["_class_name"] else {
            throw PipelineError.unsupportedPipeline(path: url.path, reason: "no _class_name")
        }
        guard let required = Self.requiredComponents[name] else {
            throw PipelineError.unsupportedPipeline(
                path: url.path, reason: "pipeline class \(name) is not supported (supported: "
                    + Self.supportedPipelines.joined(separator: ", ") + ")")
        }
        pipelineClass = name
        path = url.path
        var classes: [String: String] = [:]
        for (key, value) in values {
            if case .array(let pair) = value, pair.count == 2, case .string(let className) = pair[1] {
                classes[key] = className
            }
        }
        componentClasses = classes
        switch values["force_zeros_for_empty_prompt"] {
        case nil, .null?: forceZerosForEmptyPrompt = true
        case .bool(let flag)?: forceZerosForEmptyPrompt = flag
        case let other?:
            throw PipelineError.unsupportedPipeline(
                path: url.path, reason: "force_zeros_for_empty_prompt: expected true or false, got \(other)")
        }
        for component in required {
            guard classes[component] != nil else {
                throw PipelineError.missingComponent(folder: folder.path, component: component,
                                                     reason: "model_index.json does not list it")
            }
            var isDirectory: ObjCBool = false
            let subfolder = folder.appendingPathComponent(component)
            guard FileManager.default.fileExists(atPath: subfolder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw PipelineError.missingComponent(folder: folder.path, component: component, reason: "no \(component)/ folder")
            }
        }
    }

    /// Throws unless the folder's pipeline class is `className`.
    /// - Throws: ``PipelineError/unsupportedPipeline(path:reason:)`` naming both classes.
    func require(_ className: String) throws {
        guard pipelineClass == className else {
            throw PipelineError.unsupportedPipeline(
                path: path, reason: "pipeline class \(pipelineClass) is not \(className) (loadTextToImagePipeline(folder:) "
                    + "picks the pipeline from model_index.json)")
        }
    }
}
