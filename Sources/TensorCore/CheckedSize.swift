import Foundation

/// Sizes computed from untrusted numbers (file headers, configuration files, command-line options): products and
/// sums that report overflow instead of trapping, and the machine's memory to compare an estimate with before
/// anything is allocated.
public enum CheckedSize {
    /// The product of `factors`, or nil when a factor is negative or the product overflows `Int`.
    public static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (product, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = product
        }
        return result
    }

    /// The sum of `terms`, or nil when a term is nil or negative or the sum overflows `Int`.
    public static func sum(_ terms: [Int?]) -> Int? {
        var result = 0
        for term in terms {
            guard let term, term >= 0 else { return nil }
            let (sum, overflow) = result.addingReportingOverflow(term)
            guard !overflow else { return nil }
            result = sum
        }
        return result
    }

    /// Bytes of physical memory (`sysconf(_SC_PHYS_PAGES) × page size` on Linux): what no single run can exceed.
    public static let physicalMemoryBytes: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory)

    /// `bytes` for people: "512 MiB", "1.5 GiB", "3.2 TiB".
    public static func describe(bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }
}
