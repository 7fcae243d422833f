import Foundation
import ImageFiles
@testable import StableDiffusion
import TestSupport
import XCTest

/// Prompts far over the 77-token limit cost about as much as one at the limit, with the ids transformers gives
/// (its truncation: the first 75 tokens between the start and end tokens).
final class TokenizerLongPromptTests: XCTestCase {
    private static let full = Result { () throws -> CLIPTokenizer in
        let gzip = try Data(contentsOf: TestFiles.packageFile("Sources/StableDiffusion/Resources/clip_merges.txt.gz"))
        return try CLIPTokenizer(gzippedCLIPMerges: [UInt8](gzip), source: "clip_merges.txt.gz")
    }

    private static let merges = Result { () throws -> [BytePairEncoding.Pair] in
        let text = try Decompression.gzip([UInt8](try Data(contentsOf: TestFiles.packageFile("Sources/StableDiffusion/Resources/clip_merges.txt.gz"))))
        return try CLIPTokenizer.parseMerges(String(decoding: text, as: UTF8.self), source: "clip_merges.txt.gz")
            .map { BytePairEncoding.Pair(left: $0.0, right: $0.1) }
    }

    private static let ranks = Result { () throws -> [BytePairEncoding.Pair: Int] in
        var ranks: [BytePairEncoding.Pair: Int] = [:]
        for (rank, pair) in try merges.get().enumerated() where ranks[pair] == nil { ranks[pair] = rank }
        return ranks
    }

    /// The shortest of `runs` timings of `body`, in seconds. The tests compare two such timings taken in the same
    /// run (so a slow machine or a sanitizer slows both alike) instead of asserting an absolute time.
    private func seconds(runs: Int = 3, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    /// 100 000 characters of words: the same ids as a prompt of the first 200 words (also over the limit), and
    /// a cost within a small multiple of it (tokenising the whole text, as before, took 88 s in a release build).
    func testHundredThousandCharactersOfWordsCostLikeAShortPrompt() throws {
        let tokenizer = try Self.full.get()
        let words = "a photo of an astronaut riding a horse on mars, highly detailed, 8k".split(separator: " ")
        let long = (0..<20_000).map { words[$0 % words.count] }.joined(separator: " ").prefix(100_000)
        let short = (0..<200).map { words[$0 % words.count] }.joined(separator: " ")
        var encoded: TokenizedPrompt?
        let elapsed = seconds { encoded = tokenizer.encode(String(long)) }
        let shortElapsed = seconds { _ = tokenizer.encode(short) }
        let expected = tokenizer.encode(short)
        XCTAssertEqual(encoded?.ids, expected.ids)
        XCTAssertEqual(encoded?.ids.count, 77)
        XCTAssertEqual(encoded?.ids.last, tokenizer.endTokenID, "truncated as transformers: 75 tokens, then the end token")
        XCTAssertEqual(encoded?.truncatedIDs, expected.truncatedIDs)
        XCTAssertEqual(encoded?.truncatedMore, true)
        XCTAssertEqual(tokenizer.truncatedText(try XCTUnwrap(encoded))?.hasSuffix("…"), true)
        // Scanning the whole text once stays (a few dozen times the short prompt here); tokenising all of it cost
        // about 10⁵ times as much.
        XCTAssertLessThan(elapsed, 1_000 * max(shortElapsed, 1e-4),
                          "a long prompt is tokenised only as far as the tokens kept (\(elapsed) s vs \(shortElapsed) s)")
    }

    /// 100 000-character prompts of every kind (words, one word, punctuation and digit runs, accents) encode to
    /// transformers' ids: the first 75 tokens between the start and end tokens (tokenizer/long_prompts.json, from
    /// Scripts/reference/make_pipeline_part_fixtures.py long_prompts).
    func testLongPromptsMatchTransformers() throws {
        struct Case: Decodable { let unit: String; let length: Int; let ids: [Int] }
        struct File: Decodable { let cases: [Case] }
        let tokenizer = try Self.full.get()
        let cases = try Fixtures.json(File.self, "tokenizer/long_prompts.json").cases
        XCTAssertEqual(cases.count, 6)
        for testCase in cases {
            let prompt = String(String(repeating: testCase.unit, count: testCase.length / testCase.unit.count + 1).prefix(testCase.length))
            let encoded = tokenizer.encode(prompt)
            XCTAssertEqual(encoded.ids, testCase.ids, testCase.unit)
            XCTAssertEqual(encoded.truncatedMore, true, testCase.unit)
        }
    }

    /// One word of 100 000 letters (BPE cannot stop early inside a word): merging with a priority queue keeps it
    /// O(n log n) — ten times the letters of a 10 000-letter word cost about ten times as much, where the quadratic
    /// loop cost a hundred times — and its first 75 tokens are those of the same word BPE-encoded by the reference
    /// loop below.
    func testHundredThousandLetterWordIsFast() throws {
        let tokenizer = try Self.full.get()
        let word = String(repeating: "xyzzyq", count: 16_667).prefix(100_000)
        var encoded: TokenizedPrompt?
        let elapsed = seconds(runs: 1) { encoded = tokenizer.encode(String(word)) }
        let tenth = seconds(runs: 2) { _ = tokenizer.encode(String(word.prefix(10_000))) }
        XCTAssertLessThan(elapsed, 40 * max(tenth, 1e-3), "BPE of one long word is O(n log n) (\(elapsed) s vs \(tenth) s)")
        // The queue merges left to right, so a long prefix of the word encodes to the same leading tokens.
        let prefix = String(word.prefix(600))
        let reference = try referenceSymbols(of: prefix)
        let vocabulary = CLIPTokenizer.clipVocabulary(merges: try Self.merges.get().map { ($0.left, $0.right) })
        let referenceIDs = reference.compactMap { vocabulary[$0] }
        XCTAssertEqual(Array(try XCTUnwrap(encoded).ids[1..<60]), Array(referenceIDs.prefix(59)))
    }

    /// The priority-queue BPE gives the same symbols as CLIP's reference loop (merge every occurrence of the
    /// lowest-ranked pair, then look again) on CLIP's merges, for words of many shapes and lengths.
    func testQueueBPEMatchesTheReferenceLoop() throws {
        let encoding = BytePairEncoding(merges: try Self.merges.get())
        var generator = SystemRandomNumberGenerator()
        let alphabets = ["ab", "aeinrst", "abcdefghijklmnopqrstuvwxyz", "!?.,", "éàü日本", "0123456789"]
        for trial in 0..<300 {
            let alphabet = Array(alphabets[trial % alphabets.count])
            let length = Int.random(in: 1...(trial < 250 ? 12 : 200), using: &generator)
            let word = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            XCTAssertEqual(encoding.symbols(of: word), try referenceSymbols(of: word), "word \(word.debugDescription)")
        }
    }

    /// CLIP's `bpe` function as written in its Python code (and in this package before the priority queue).
    private func referenceSymbols(of word: String) throws -> [String] {
        let ranks = try Self.ranks.get()
        var symbols = word.utf8.map { String(BytePairEncoding.byteToScalar[Int($0)]) }
        symbols[symbols.count - 1] += BytePairEncoding.endOfWord
        while symbols.count > 1 {
            var best: (rank: Int, pair: BytePairEncoding.Pair)?
            for i in 0..<symbols.count - 1 {
                let pair = BytePairEncoding.Pair(left: symbols[i], right: symbols[i + 1])
                if let rank = ranks[pair], rank < best?.rank ?? .max { best = (rank, pair) }
            }
            guard let (_, pair) = best else { break }
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == pair.left, symbols[i + 1] == pair.right {
                    merged.append(pair.left + pair.right)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }
}
