/// The version of swift-tomesd, printed by `tomesd --version`; the one place it is written down (the README's
/// `.package(url:from:)` line names it too, and a test checks that they agree).
enum ToolVersion {
    static let string = "0.1.0"
}
