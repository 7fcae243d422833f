import CEmbeddedResources
import Foundation
@testable import StableDiffusion
import TestSupport
import XCTest

final class TokenizerTests: XCTestCase {
    private struct Expected: Decodable {
        struct Encodings: Decodable {
            let ids: [[Int]]
            let content: [[Int]]
            let decoded: [String]
            let pad_token_id: Int
        }
        let prompts: [String]
        let full: Encodings
        let sd1_small: Encodings
        let sd2_small: Encodings
        let added_tokens_decoder_small: Encodings
        let saved_by_transformers5: Encodings
    }

    private static let expected = Result { try Fixtures.json(Expected.self, "tokenizer/expected.json") }

    /// CLIP's full tokenizer, built from open_clip's gzip'd merge list the way CLIP builds its vocabulary.
    private static let full = Result { () throws -> CLIPTokenizer in
        let gzip = try Data(contentsOf: TestFiles.packageFile("Sources/StableDiffusion/Resources/clip_merges.txt.gz"))
        return try CLIPTokenizer(gzippedCLIPMerges: [UInt8](gzip), source: "clip_merges.txt.gz")
    }

    private func check(_ tokenizer: CLIPTokenizer, against encodings: Expected.Encodings, _ name: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let prompts = try Self.expected.get().prompts
        XCTAssertEqual(prompts.count, encodings.ids.count)
        XCTAssertEqual(tokenizer.padTokenID, encodings.pad_token_id, "\(name): pad id", file: file, line: line)
        for (index, prompt) in prompts.enumerated() {
            let encoded = tokenizer.encode(prompt)
            XCTAssertEqual(encoded.ids, encodings.ids[index], "\(name): \(prompt.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer.tokenIDs(prompt), encodings.content[index], "\(name): content of \(prompt.debugDescription)", file: file, line: line)
            XCTAssertEqual(encoded.truncatedIDs, Array(encodings.content[index].dropFirst(75)), "\(name): truncated part", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(encodings.content[index]), encodings.decoded[index], "\(name): decode", file: file, line: line)
        }
    }

    /// The merges compiled into the binary (the built-in demo's tokenizer) are the committed .gz byte for byte:
    /// fails when the .gz changed and `Scripts/embed-resources.sh` was not run.
    func testEmbeddedMergesAreTheCommittedFile() throws {
        let file = try Data(contentsOf: TestFiles.packageFile("Sources/StableDiffusion/Resources/clip_merges.txt.gz"))
        let embedded = Data(bytes: tomesd_clip_merges_gz(), count: tomesd_clip_merges_gz_length())
        XCTAssertEqual(embedded.count, file.count)
        XCTAssertTrue(embedded == file, "Sources/CEmbeddedResources/clip_merges.c is stale: run Scripts/embed-resources.sh")
    }

    func testFullCLIPVocabularyMatchesTransformers() throws {
        let tokenizer = try Self.full.get()
        XCTAssertEqual(tokenizer.maxLength, 77)
        XCTAssertEqual(tokenizer.startTokenID, 49406)
        XCTAssertEqual(tokenizer.endTokenID, 49407)
        try check(tokenizer, against: try Self.expected.get().full, "full")
        let longPrompt = try Self.expected.get().prompts.first { $0.hasPrefix("a cat, a cat") }
        XCTAssertFalse(tokenizer.encode(try XCTUnwrap(longPrompt)).truncatedIDs.isEmpty, "the corpus has an over-long prompt")
    }

    /// The same small vocabulary in every file layout: SD 1 (`vocab.json` + `merges.txt` + legacy configs),
    /// SD 2 (padding `!`), transformers 4's `added_tokens_decoder`, and transformers 5's `tokenizer.json`.
    func testFolderLayoutsMatchTransformers() throws {
        let expected = try Self.expected.get()
        for (name, encodings) in [("sd1_small", expected.sd1_small), ("sd2_small", expected.sd2_small),
                                  ("added_tokens_decoder_small", expected.added_tokens_decoder_small),
                                  ("saved_by_transformers5", expected.saved_by_transformers5)] {
            let tokenizer = try CLIPTokenizer(folder: Fixtures.url("tokenizer/\(name)"))
            try check(tokenizer, against: encodings, name)
        }
    }

    /// Every code point's regex class and normalisation agree with the `tokenizers` library's.
    func testUnicodeClassesMatchTokenizersLibrary() throws {
        struct Dump: Decodable {
            let runs: [[RunField]]
            let normalized: [String: String]
        }
        enum RunField: Decodable {
            case bound(Int), kind(String)
            init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let value = try? container.decode(Int.self) { self = .bound(value) } else { self = .kind(try container.decode(String.self)) }
            }
        }
        let dump = try Fixtures.json(Dump.self, "tokenizer/unicode_classes.json")
        var mismatches: [String] = []
        for run in dump.runs {
            guard case .bound(let first) = run[0], case .bound(let last) = run[1], case .kind(let kind) = run[2] else {
                return XCTFail("bad run \(run)")
            }
            for code in first...last {
                guard let scalar = Unicode.Scalar(UInt32(code)) else { continue }  // surrogates ("X")
                let mine = CLIPPreTokenizer.isWhitespace(scalar) ? "S" : CLIPPreTokenizer.isLetter(scalar) ? "L"
                    : CLIPPreTokenizer.isNumber(scalar) ? "N" : "O"
                if mine != kind { mismatches.append("U+\(String(code, radix: 16)): \(kind) there, \(mine) here") }
                let normalized = CLIPPreTokenizer.normalize(String(scalar))
                let reference = dump.normalized[String(code)] ?? String(scalar)
                if !normalized.unicodeScalars.elementsEqual(reference.unicodeScalars) {
                    mismatches.append("U+\(String(code, radix: 16)) normalises differently")
                }
            }
        }
        XCTAssertEqual(dump.runs.count > 100, true)
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(10))")
    }

    func testBytePairEncodingOfKnownWords() throws {
        let tokenizer = try Self.full.get()
        XCTAssertEqual(tokenizer.tokenIDs("a photo"), [320, 1125])
        XCTAssertEqual(CLIPPreTokenizer.words("it's <|endoftext|>ab12!?"), ["it", "'s", "<|", "endoftext", "|>", "ab", "1", "2", "!?"])
    }

    // MARK: Bad input

    func testMissingFiles() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        XCTAssertThrowsError(try CLIPTokenizer(folder: folder)) { error in
            guard case TokenizerError.missingFiles(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, folder.path)
        }
        try Data("{}".utf8).write(to: folder.appendingPathComponent("vocab.json"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: folder), "merges.txt missing") { error in
            guard case TokenizerError.missingFiles = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try CLIPTokenizer(folder: folder.appendingPathComponent("nope"))) { error in
            XCTAssertTrue("\(error)".contains("not a folder"), "\(error)")
        }
    }

    /// Copies the SD 1 fixture folder, lets `edit` damage one file, and expects a `malformed` error naming it.
    private func expectMalformed(_ file: String, _ label: String, edit: (inout String) -> Void,
                                 line: UInt = #line) throws {
        let folder = try Fixtures.temporaryDirectory(for: self).appendingPathComponent("tokenizer")
        try Fixtures.copyResolvingLinks(Fixtures.url("tokenizer/sd1_small"), to: folder)
        let url = folder.appendingPathComponent(file)
        var text = try String(contentsOf: url, encoding: .utf8)
        edit(&text)
        try Data(text.utf8).write(to: url)
        XCTAssertThrowsError(try CLIPTokenizer(folder: folder), label, line: line) { error in
            guard case TokenizerError.malformed(let source, _) = error else { return XCTFail("\(label): \(error)", line: line) }
            XCTAssertTrue(source.hasPrefix(url.path) || source == folder.path, "\(label): \(source)", line: line)
        }
    }

    func testMalformedFiles() throws {
        try expectMalformed("vocab.json", "not JSON") { $0 = "{ not json" }
        try expectMalformed("vocab.json", "ids not integers") { $0 = "{\"a\": \"x\"}" }
        try expectMalformed("vocab.json", "special token missing") { $0 = $0.replacingOccurrences(of: "\"<|endoftext|>\"", with: "\"<|eot|>\"") }
        try expectMalformed("merges.txt", "three tokens on a line") { $0 += "a b c\n" }
        try expectMalformed("merges.txt", "blank line inside") { $0 = $0.replacingOccurrences(of: "\nt h\n", with: "\n\nt h\n") }
        try expectMalformed("merges.txt", "merge of unknown token") { $0 += "\u{4e00} \u{4e01}\n" }
        try expectMalformed("tokenizer_config.json", "broken config") { $0 = "[" }
        try expectMalformed("tokenizer_config.json", "token object without content") {
            $0 = "{\"added_tokens_decoder\": {}, \"pad_token\": {\"normalized\": false}}"
        }
        try expectMalformed("tokenizer_config.json", "model_max_length 1") { $0 = "{\"model_max_length\": 1}" }
        try expectMalformed("special_tokens_map.json", "pad not in vocabulary") { $0 = "{\"pad_token\": \"<pad>\"}" }
        try expectMalformed("special_tokens_map.json", "token neither string nor object") { $0 = "{\"bos_token\": 3}" }
    }

    func testMalformedTokenizerJSON() throws {
        let source = "tokenizer.json"
        let bad = ["{}", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}, \"merges\": []}}",
                   "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}"]
        for text in bad {
            XCTAssertThrowsError(try CLIPTokenizer.parseTokenizerJSON(Data(text.utf8), source: source), text) { error in
                guard case TokenizerError.malformed(let name, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, source)
            }
        }
        let pairs = try CLIPTokenizer.parseTokenizerJSON(Data("{\"model\": {\"vocab\": {}, \"merges\": [[\"a\", \"b\"], \"c d\"]}}".utf8), source: source)
        XCTAssertEqual(pairs.merges.map { [$0.0, $0.1] }, [["a", "b"], ["c", "d"]])
    }

    func testBadGzippedMerges() {
        XCTAssertThrowsError(try CLIPTokenizer(gzippedCLIPMerges: Array("i n\nt h\n".utf8), source: "merges.gz")) { error in
            guard case TokenizerError.malformed(let source, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(source, "merges.gz")
        }
    }

    func testPromptBytes() throws {
        XCTAssertEqual(try PromptText.decode(Array("café 🐱".utf8), source: "--prompt"), "café 🐱")
        XCTAssertThrowsError(try PromptText.decode([0x61, 0x62, 0xff, 0x63], source: "--prompt")) { error in
            XCTAssertEqual(error as? TokenizerError, .invalidUTF8(source: "--prompt", byteOffset: 2))
        }
        XCTAssertThrowsError(try PromptText.decode(Array("é".utf8.prefix(1)), source: "--negative-prompt"))
    }
}
