import Foundation

/// The help texts, written from the command declarations (``Subcommand``, ``CommandOption``) so that they always
/// list what the parser accepts.
extension Subcommand {
    /// `tomesd generate --prompt TEXT --output FILE [options]`: the required options, then `[options]`.
    var usageLine: String {
        let required = options.filter(\.isRequired).map(\.synopsis)
        return (["tomesd", name] + required + ["[options]"]).joined(separator: " ")
    }

    /// The text of `tomesd <command> --help`: usage, details, then every option on its own line with its meaning and
    /// default.
    var help: String {
        var text = "usage: \(usageLine)\n\n\(summary).\n"
        for paragraph in details.components(separatedBy: "\n\n") where !paragraph.isEmpty {
            text += "\n" + HelpLayout.wrap(paragraph, width: HelpLayout.width, indent: "") + "\n"
        }
        text += "\noptions:\n"
        for option in allOptions {
            var description = option.help
            if option.isRequired { description += " (required)" }
            if let value = option.defaultValue { description += " (default: \(value))" }
            text += HelpLayout.entry(option.synopsis, description)
        }
        text += HelpLayout.entry("-h, --help", "show this help and exit")
        return text
    }

    /// The text of `tomesd --help`: the commands with one line each.
    static func overview(_ commands: [Subcommand]) -> String {
        var text = """
            tomesd \(ToolVersion.string): Token Merging (tomesd 0.1.3) for Stable Diffusion, in Swift.

            usage: tomesd <command> [options]
                   tomesd <command> --help    that command's options, their meanings and defaults
                   tomesd --version           print the version

            commands:

            """
        for command in commands { text += HelpLayout.entry(command.name, command.summary, column: 16) }
        text += HelpLayout.entry("version", "print the version (as --version)", column: 16)
        text += "\nEvery command also takes --threads T. Build in release for real work: swift build -c release.\n"
        return text
    }
}

/// Two-column help layout: a name column, then wrapped text.
enum HelpLayout {
    /// Lines are wrapped at this many columns.
    static let width = 100
    /// The description column of the option lists starts here.
    static let optionColumn = 30

    /// `  name    description`, the description wrapped under itself; a name too long for its column puts the
    /// description on the next line.
    static func entry(_ name: String, _ description: String, column: Int = optionColumn) -> String {
        let indent = String(repeating: " ", count: column)
        let body = wrap(description, width: width, indent: indent)
        let head = "  " + name
        if head.count + 2 <= column { return head.padding(toLength: column, withPad: " ", startingAt: 0) + body.dropFirst(column) + "\n" }
        return head + "\n" + body + "\n"
    }

    /// `text` as lines of at most `width` columns (a longer word stands alone), each starting with `indent`.
    static func wrap(_ text: String, width: Int, indent: String) -> String {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count && line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}
