import Foundation

/// Prints one benchmark result line and flushes standard output at once, so that results appear row by row even when
/// the output goes to a file or a pipe (where it is otherwise buffered until the process ends).
func report(_ line: String) {
    print(line)
    fflush(stdout)
}

/// `12.345` for milliseconds: three decimals, for lists of timings.
func milliseconds(_ values: [Double]) -> String {
    values.map { String(format: "%.3f", $0) }.joined(separator: ", ")
}
