/// One option of a `tomesd` command, declared once: the parser accepts exactly the declared options, the accessors of
/// ``Arguments`` fall back to the declared default, and `--help` prints the same declarations. Adding an option to a
/// command means adding one `CommandOption` to its list and reading it in its `run`.
struct CommandOption {
    /// The name without the leading `--`.
    let name: String
    /// What the value stands for in the help (`FILE`, `N`); nil for a flag, which takes no value.
    let valueName: String?
    /// The value used when the option is not given, as it would be typed; nil when there is none. The help shows it.
    let defaultValue: String?
    /// Whether the command refuses to run without it.
    let isRequired: Bool
    /// What it does, in one or two plain sentences (shown by `--help`).
    let help: String

    /// An option that takes no value: given or not.
    static func flag(_ name: String, _ help: String) -> CommandOption {
        CommandOption(name: name, valueName: nil, defaultValue: nil, isRequired: false, help: help)
    }

    /// An option followed by a value: `--name VALUE`.
    static func value(_ name: String, _ valueName: String, default defaultValue: String? = nil, required: Bool = false,
                      _ help: String) -> CommandOption {
        CommandOption(name: name, valueName: valueName, defaultValue: defaultValue, isRequired: required, help: help)
    }

    /// Whether a value follows the option on the command line.
    var takesValue: Bool { valueName != nil }

    /// `--name VALUE` or `--name`, as the help and the usage line show it.
    var synopsis: String { "--\(name)" + (valueName.map { " \($0)" } ?? "") }
}
