import Foundation
import TestSupport
import XCTest

/// `--help`, `-h`, `--version` and misspelled options and commands, on the built executable. The option lists pin
/// the command-line interface: an option may be added, never dropped or renamed.
final class HelpCommandTests: XCTestCase {
    /// Every command and the options its help must list (each on its own line, with a meaning).
    static let commands: [String: [String]] = [
        "generate": ["model", "prompt", "negative-prompt", "width", "height", "steps", "guidance", "seed", "scheduler",
                     "ratio", "max-downsample", "sx", "sy", "no-random", "merge-attention", "no-merge-attention",
                     "merge-cross-attention", "merge-mlp", "latents", "save-initial-latents", "save-latents", "output",
                     "threads"],
        "unet": ["model", "config", "seed", "inputs", "output", "attention", "repeat", "ratio", "max-downsample", "sx",
                 "sy", "no-random", "merge-attention", "no-merge-attention", "merge-cross-attention", "merge-mlp",
                 "threads"],
        "merge": ["input", "key", "height", "width", "sx", "sy", "ratio", "r", "no-random", "seed", "device", "output",
                  "threads"],
        "bench gemm": ["shapes", "repeat", "kernel", "json", "threads"],
        "bench merge": ["grids", "batch", "channels", "ratio", "repeat", "kernel", "device", "json", "threads"],
        "bench unet": ["resolutions", "batch", "ratio", "max-downsample", "steps", "warmup", "columns", "memory-budget",
                       "cpu-time", "json", "threads"],
        "check-cuda": ["device", "fixtures", "large", "bench", "bench-only", "grids", "repeats", "profile", "match-rows",
                       "match-splits", "threads"],
    ]

    /// `tomesd --help` lists every command with a one-line description, on standard output, exit 0.
    func testTopLevelHelpListsEveryCommand() throws {
        for flag in ["--help", "-h", "help"] {
            let run = try runTool([flag])
            XCTAssertEqual(run.status, 0, run.stderr)
            for name in Self.commands.keys.sorted() + ["version"] {
                let line = run.stdout.split(separator: "\n").first { $0.hasPrefix("  \(name) ") }
                XCTAssertNotNil(line, "\(flag): \(name) missing from\n\(run.stdout)")
                XCTAssertGreaterThan(line.map { $0.dropFirst(name.count + 2).trimmingCharacters(in: .whitespaces).count } ?? 0,
                                     10, "\(flag): \(name) has no description")
            }
        }
        let bare = try runTool([])
        XCTAssertEqual(bare.status, 2)
        XCTAssertTrue(bare.stderr.contains("commands:"), bare.stderr)
    }

    /// `tomesd <command> --help` and `-h`: exit 0 (even beside other options, even without the required ones), the
    /// usage line, and each option on its own line with a meaning; defaults shown.
    func testEveryCommandAnswersHelp() throws {
        for (name, options) in Self.commands {
            let words = name.split(separator: " ").map(String.init)
            for flag in ["--help", "-h"] {
                let run = try runTool(words + [flag])
                XCTAssertEqual(run.status, 0, "\(name) \(flag): \(run.stderr)")
                XCTAssertTrue(run.stdout.hasPrefix("usage: tomesd \(name)"), "\(name) \(flag): \(run.stdout)")
                let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                for option in options {
                    let index = lines.firstIndex { $0.hasPrefix("  --\(option) ") || $0 == "  --\(option)" }
                    XCTAssertNotNil(index, "\(name) \(flag): --\(option) not listed on its own line\n\(run.stdout)")
                    guard let index else { continue }
                    // The meaning: after the synopsis on the same line, or on the next (indented) line.
                    let entry = lines[index] + (index + 1 < lines.count ? " " + lines[index + 1] : "")
                    XCTAssertGreaterThan(entry.split(separator: " ").count, 3, "\(name): --\(option) has no meaning")
                }
                XCTAssertTrue(run.stdout.contains("-h, --help"), run.stdout)
                // Each option declared once (a second declaration of a name would never be parsed).
                let listed = lines.filter { $0.hasPrefix("  --") }.map { $0.split(separator: " ")[0] }
                XCTAssertEqual(listed.count, Set(listed).count, "\(name): an option is declared twice: \(listed)")
            }
        }
        let generate = try runTool(["generate", "--width", "64", "--help"])
        XCTAssertEqual(generate.status, 0, generate.stderr)
        // The text as one line: wrapping may split a phrase.
        let text = generate.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for phrase in ["(default: the model's, as diffusers", "1024 for SDXL", "(default: 50)", "(default: 7.5)", "--output FILE", "(required)",
                       "PNDM runs N + 1 UNet evaluations", "--save-latents writes the final latents",
                       "--latents reads the initial noise", "--latents FILE replays the run exactly"] {
            XCTAssertTrue(text.contains(phrase), "generate --help lacks \(phrase)")
        }
        let merge = try runTool(["help", "merge"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertTrue(merge.stdout.contains("--key NAME") && merge.stdout.contains("(default: metric)"), merge.stdout)
        let bench = try runTool(["bench", "--help"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains("bench unet"), bench.stdout)
    }

    /// `tomesd --version` and `tomesd version` print the version, which is the one the README's
    /// `.package(url:from:)` line names.
    func testVersion() throws {
        let run = try runTool(["--version"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let version = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(version.range(of: #"^tomesd [0-9]+\.[0-9]+\.[0-9]+$"#, options: .regularExpression), version)
        XCTAssertEqual(try runTool(["version"]).stdout, run.stdout)
        let readme = try String(contentsOf: TestFiles.packageFile("README.md"), encoding: .utf8)
        let number = version.dropFirst("tomesd ".count)
        XCTAssertTrue(readme.contains("from: \"\(number)\""), "README's .package(url:from:) does not name \(number)")
    }

    /// A misspelled option is named with the closest known one, exit 2, before any missing-option check; a
    /// misspelled command likewise.
    func testMisspellingsAreNamed() throws {
        let cases: [([String], String)] = [
            (["generate", "--prompt", "a cat", "--ouput", "x.png"], "unknown option --ouput (did you mean --output?)"),
            (["generate", "--ouput", "x.png"], "unknown option --ouput (did you mean --output?)"),
            (["generate", "--prompt", "a", "--output", "x.png", "--sed", "1"], "unknown option --sed (did you mean --seed?)"),
            (["merge", "--heigth", "8"], "unknown option --heigth (did you mean --height?)"),
            (["bench", "unet", "--resolution", "64"], "unknown option --resolution (did you mean --resolutions?)"),
            (["unet", "--zzzzzz", "1"], "unknown option --zzzzzz\n"),
            (["generate", "a cat"], "unexpected argument 'a cat'"),
            (["generat", "--prompt", "a"], "unknown command 'generat' (did you mean 'generate'?)"),
        ]
        for (arguments, message) in cases {
            let run = try runTool(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            XCTAssertFalse(run.stderr.contains("missing required"), "\(arguments): \(run.stderr)")
        }
    }
}
