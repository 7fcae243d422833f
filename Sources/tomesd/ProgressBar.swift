import Foundation

/// Step progress on standard error: a bar redrawn in place on a terminal (`[#####-----] 12/20  3.10 it/s  ETA 4s`),
/// or one plain line per step otherwise (logs, pipes).
struct ProgressBar {
    /// Characters of the bar.
    static let width = 30
    /// Whether standard error is a terminal.
    let interactive = isatty(fileno(stderr)) != 0

    /// Shows step `step` of `total`, `elapsed` seconds after the first step began.
    func update(step: Int, total: Int, elapsed: Double) {
        let rate = elapsed > 0 ? Double(step) / elapsed : 0
        let remaining = rate > 0 ? Double(total - step) / rate : 0
        let figures = String(format: "%d/%d  %.2f it/s  ETA %@", step, total, rate, Self.duration(remaining))
        if interactive {
            let filled = Self.width * step / max(total, 1)
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: Self.width - filled)
            fputs("\r[\(bar)] \(figures)  ", stderr)
            if step == total { fputs("\n", stderr) }
        } else {
            fputs("step \(figures)\n", stderr)
        }
    }

    /// Ends a bar left unfinished (a cancelled run), so that the next message starts on its own line.
    func abandon() {
        if interactive { fputs("\n", stderr) }
    }

    /// `42s`, `3m05s` or `1h02m`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, total % 3600 / 60)
    }
}
