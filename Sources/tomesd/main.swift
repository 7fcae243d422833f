import Foundation
import TensorCore

/// One `tomesd` subcommand: its usage line and how to run it.
struct Subcommand {
    let name: String
    let usage: String
    /// Options that take no value.
    let flags: Set<String>
    let run: (inout Arguments) throws -> Void
}

let subcommands: [Subcommand] = [mergeCommand, unetCommand, generateCommand, benchGEMMCommand, benchMergeCommand, benchUNetCommand,
                                 checkCUDACommand]

func printUsage(to stream: UnsafeMutablePointer<FILE> = stderr) {
    var text = "usage: tomesd <command> [options]   (every command also takes --threads T)\n\n"
    for command in subcommands { text += "  tomesd \(command.usage)\n" }
    fputs(text, stream)
}

func runMain() -> Int32 {
    let words = Array(CommandLine.arguments.dropFirst())
    guard let name = words.first, name != "--help", name != "-h", name != "help" else {
        printUsage(to: words.isEmpty ? stderr : stdout)
        return words.isEmpty ? 2 : 0
    }
    // `bench` takes what to measure as a second word: `tomesd bench gemm ...`.
    let nameWords = name == "bench" ? 2 : 1
    let fullName = words.prefix(nameWords).joined(separator: " ")
    guard let command = subcommands.first(where: { $0.name == fullName }) else {
        fputs("tomesd: unknown command '\(fullName)'\n", stderr)
        printUsage()
        return 2
    }
    InterruptMonitor.removeTemporaryFilesOnSignals()
    do {
        var arguments = try Arguments(Array(words.dropFirst(nameWords)), flagNames: command.flags)
        try applyThreadOptions(&arguments)
        try command.run(&arguments)
        return 0
    } catch let error as UsageError {
        fputs("tomesd \(fullName): \(error)\nusage: tomesd \(command.usage)\n", stderr)
        return 2
    } catch {
        fputs("tomesd \(fullName): error: \(error)\n", stderr)
        return 1
    }
}

exit(runMain())
