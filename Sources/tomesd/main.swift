import Foundation
import TensorCore

let subcommands: [Subcommand] = [generateCommand, unetCommand, mergeCommand, benchGEMMCommand, benchMergeCommand,
                                 benchUNetCommand, checkCUDACommand]

/// Runs the command line: `tomesd <command> [options]`, `tomesd <command> --help`, `tomesd --help`,
/// `tomesd --version`. Exit codes: 0 done, 1 a bad file or a failed run, 2 a bad command line, 130 Ctrl-C.
func runMain() -> Int32 {
    let words = Array(CommandLine.arguments.dropFirst())
    guard let first = words.first else {
        fputs(Subcommand.overview(subcommands), stderr)
        return 2
    }
    if ["--help", "-h", "help"].contains(first) {
        // `tomesd help generate` is `tomesd generate --help`.
        if first == "help", words.count > 1 { return runMain(Array(words.dropFirst()) + ["--help"]) }
        print(Subcommand.overview(subcommands), terminator: "")
        return 0
    }
    if first == "--version" || first == "version" {
        print("tomesd \(ToolVersion.string)")
        return 0
    }
    return runMain(words)
}

/// Runs the command that `words` names.
func runMain(_ words: [String]) -> Int32 {
    // The benchmarks take what to measure as a second word: `tomesd bench gemm ...`.
    let nameWords = words.first == "bench" && words.count > 1 && !words[1].hasPrefix("-") ? 2 : 1
    let fullName = words.prefix(nameWords).joined(separator: " ")
    if fullName == "bench" {
        // `tomesd bench` or `tomesd bench --help`: which benchmarks there are.
        let benchmarks = subcommands.filter { $0.name.hasPrefix("bench ") }
        let helpRequested = words.contains("--help") || words.contains("-h")
        fputs(Subcommand.overview(benchmarks), helpRequested ? stdout : stderr)
        return helpRequested ? 0 : 2
    }
    guard let command = subcommands.first(where: { $0.name == fullName }) else {
        let known = subcommands.map(\.name) + ["version", "help"]
        let suggestion = ClosestName.find(fullName, among: known).map { " (did you mean '\($0)'?)" } ?? ""
        fputs("tomesd: unknown command '\(fullName)'\(suggestion)\n\n" + Subcommand.overview(subcommands), stderr)
        return 2
    }
    InterruptMonitor.removeTemporaryFilesOnSignals()
    do {
        var arguments = try Arguments(Array(words.dropFirst(nameWords)), options: command.allOptions)
        if arguments.helpRequested {
            print(command.help, terminator: "")
            return 0
        }
        try arguments.checkRequired()
        try applyThreadOptions(&arguments)
        try command.run(&arguments)
        return 0
    } catch let error as UsageError {
        fputs("tomesd \(fullName): \(error)\nusage: \(command.usageLine)   (tomesd \(fullName) --help lists the options)\n",
              stderr)
        return 2
    } catch {
        fputs("tomesd \(fullName): error: \(error)\n", stderr)
        return 1
    }
}

// Line by line even into a file or a pipe: progress and benchmark rows appear as they are made.
setvbuf(stdout, nil, _IOLBF, 0)
exit(runMain())
