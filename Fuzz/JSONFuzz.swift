// libFuzzer target for the JSON readers of a model folder: config.json (UNet, CLIP text, VAE), scheduler_config.json,
// tokenizer.json (with tokenizer_config.json / special_tokens_map.json), vocab.json + merges.txt.
//
// Not part of the SwiftPM package: Scripts/fuzz-json.sh compiles it together with Sources/TensorCore,
// Sources/ImageFiles, Sources/StableDiffusion and Sources/CKernels using `-sanitize=fuzzer,address`. The reader is
// chosen by the environment variable JSON_FUZZ_READER (config, scheduler, tokenizer or vocab), so that each keeps
// its own corpus:
// - config: the input is decoded as a UNet, a CLIP text and a VAE config.json; a UNet config that decodes has its
//   parameter count and a 512² run's activation memory estimated;
// - scheduler: the input is a scheduler_config.json; every scheduler class is built from it for 1, 7 and 50 steps;
// - tokenizer: the input is a tokenizer.json (and, as well, a tokenizer_config.json and special_tokens_map.json);
//   a BPE model that parses becomes a tokenizer that encodes and decodes a prompt (its merges are hostile too);
// - vocab: the input is vocab.json and merges.txt separated by the first NUL byte, then the same tokenizer check.
// Errors are the expected outcome for most inputs; a crash, a hang, a sanitizer report or a leak is a bug.
import Foundation
import StableDiffusion

private enum Reader: String { case config, scheduler, tokenizer, vocab }

private let reader: Reader = {
    let name = ProcessInfo.processInfo.environment["JSON_FUZZ_READER"] ?? ""
    guard let reader = Reader(rawValue: name) else {
        fatalError("fuzz harness: set JSON_FUZZ_READER to config, scheduler, tokenizer or vocab (got '\(name)')")
    }
    return reader
}()

/// A prompt with words, punctuation, digits, a contraction, a special token and non-ASCII letters.
private let prompt = "A photo of an astronaut's horse, 8k <|endoftext|> très détaillé!!"

@_cdecl("LLVMFuzzerTestOneInput")
public func jsonFuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let data = Data(bytes: bytes, count: size)
    switch reader {
    case .config:
        if let unet = try? UNetConfig.decode(data, path: "unet/config.json") {
            _ = unet.minimumParameterCount
            _ = unet.estimatedActivationBytes(batch: 2, height: 64, width: 64, attention: .standard)
        }
        _ = try? CLIPTextConfig.decode(data, path: "text_encoder/config.json").parameterCount
        if let vae = try? VAEConfig.decode(data, path: "vae/config.json") {
            _ = vae.estimatedDecodeActivationBytes(height: 512, width: 512)
        }
    case .scheduler:
        guard let config = try? SchedulerConfig(json: data) else { return 0 }
        for steps in [1, 7, 50] {
            _ = try? SchedulerKind(config: config).make(config: config, steps: steps)
            for preset in SchedulerPreset.allCases { _ = try? preset.make(config: config, steps: steps) }
        }
    case .tokenizer:
        _ = try? TokenizerSettings(tokenizerConfig: data, specialTokensMap: data, fileAddedTokens: [], folder: "tokenizer")
        guard let model = try? CLIPTokenizer.parseTokenizerJSON(data, source: "tokenizer.json") else { return 0 }
        var vocabulary = model.vocabulary
        for (token, id) in model.addedTokens where vocabulary[token.content] == nil { vocabulary[token.content] = id }
        exercise(vocabulary: vocabulary, merges: model.merges)
    case .vocab:
        let split = data.firstIndex(of: 0) ?? data.endIndex
        guard let vocabulary = try? CLIPTokenizer.parseVocabulary(data[..<split], source: "vocab.json") else { return 0 }
        let text = String(decoding: split < data.endIndex ? data[(split + 1)...] : Data(), as: UTF8.self)
        guard let merges = try? CLIPTokenizer.parseMerges(text, source: "merges.txt") else { return 0 }
        exercise(vocabulary: vocabulary, merges: merges)
    }
    return 0
}

/// Builds a tokenizer (CLIP's special tokens; those missing from the vocabulary are added) and encodes and
/// decodes the prompt, checking the encoding's invariants.
private func exercise(vocabulary: [String: Int], merges: [(String, String)]) {
    var vocabulary = vocabulary
    for token in ["<|startoftext|>", "<|endoftext|>"] where vocabulary[token] == nil { vocabulary[token] = vocabulary.count }
    guard let tokenizer = try? CLIPTokenizer(vocabulary: vocabulary, merges: merges, maxLength: 16) else { return }
    let encoded = tokenizer.encode(prompt)
    precondition(encoded.ids.count == 16 && encoded.ids.first == tokenizer.startTokenID, "encode broke its framing")
    precondition(encoded.truncatedIDs.count <= 16, "encode kept too many truncated ids")
    _ = tokenizer.decode(encoded.ids)
    _ = tokenizer.truncatedText(encoded)
}
