// hiodctl — --help and usage text, generated from the option table.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum Help {
  /// Labels sit in a 26-column field, as swift-argument-parser lays help out.
  static let labelWidth = 26

  static let usageLine =
    "hiodctl [--sysroot DIR | --host FILE...] [--json] [-n|--numeric] <command> [options] [args]"

  static let exitStatusLines = [
    "0   success",
    "1   a check found an incompatible device",
    "2   nothing incompatible, but some verdict is undetermined",
    "3   runtime error (device not found, nothing matched, I/O error)",
    "64  usage error",
  ]

  /// `hiodctl --help`.
  static func topLevel() -> String {
    var lines = [
      "OVERVIEW: check PCI devices for VFIO assignment behind a vIOMMU, before QEMU does",
      "",
      "USAGE: \(usageLine)",
      "",
      "COMMANDS:",
    ]
    for command in OptionTable.commands {
      lines.append(row(command.name, command.summary))
    }
    lines.append("")
    lines += section(OptionGroup.global.rawValue, OptionTable.globalOptions)
    lines.append("EXIT STATUS:")
    lines += exitStatusLines.map { "  " + $0 }
    lines += [
      "",
      "See 'hiodctl <command> --help' for a command's options.",
      "For more details see hiodctl(8).",
    ]
    return lines.joined(separator: "\n")
  }

  /// `hiodctl <command> --help`.
  static func command(_ spec: CommandSpec) -> String {
    var lines = ["OVERVIEW: \(spec.summary)", ""]
    lines += wrap(spec.overview, width: 80, indent: "")
    lines += ["", "USAGE: hiodctl [global options] \(spec.synopsis)"]
    if spec.id == .check {
      lines.append("       hiodctl [global options] check [--qemu VERSION] [--backend BACKEND] [-q] --domain FILE")
      lines.append("       hiodctl [global options] check [--qemu VERSION] [--backend BACKEND] [-q] -- QEMU-ARGV...")
    }
    lines.append("")
    for group in OptionGroup.allCases where group != .global {
      let options = spec.options.filter { $0.group == group }
      if !options.isEmpty { lines += section(group.rawValue, options) }
    }
    lines += section(OptionGroup.global.rawValue, OptionTable.globalOptions)
    if !spec.examples.isEmpty {
      lines.append("EXAMPLES:")
      for example in spec.examples {
        lines.append("  \(example.command)")
        lines.append("      \(example.explanation)")
      }
      lines.append("")
    }
    lines.append("For more details see hiodctl(8).")
    return lines.joined(separator: "\n")
  }

  /// How to run hiodctl on the same input again: `hiodctl`, `hiodctl --sysroot DIR` or
  /// `hiodctl --host FILE` (hints must not send people to the live host when they asked
  /// about a tree or a snapshot).
  static func commandPrefix(sysroot: String?, hosts: [String]) -> String {
    var words = ["hiodctl"]
    if let sysroot { words += ["--sysroot", shellQuoted(sysroot)] }
    for host in hosts { words += ["--host", shellQuoted(host)] }
    return words.joined(separator: " ")
  }

  /// `text` as one shell word: as it is when it is plain, else in single quotes.
  static func shellQuoted(_ text: String) -> String {
    let plain =
      !text.isEmpty
      && text.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
          || "/._-+:,=@%".unicodeScalars.contains($0)
      }
    return plain ? text : "'" + text.replacing("'", with: "'\\''") + "'"
  }

  /// The lines for a usage error: message, hints, and where to read more.
  static func usageError(_ error: UsageError) -> String {
    var lines = ["hiodctl: \(error.message)"]
    lines += error.hints.map { "hint: \($0)" }
    let helpCommand = error.command.map { "hiodctl \($0) --help" } ?? "hiodctl --help"
    lines.append("Try '\(helpCommand)' for more information.")
    return lines.joined(separator: "\n")
  }

  private static func section(_ title: String, _ options: [OptionSpec]) -> [String] {
    [title + ":"] + options.map { row($0.label, $0.help) } + [""]
  }

  /// `  label                   help`, with the help on the next line when the label
  /// does not fit in its field.
  private static func row(_ label: String, _ help: String) -> String {
    let indented = "  " + label
    if indented.count < labelWidth {
      return indented.padding(to: labelWidth) + help
    }
    return indented + "\n" + String(repeating: " ", count: labelWidth) + help
  }

  static func wrap(_ text: String, width: Int, indent: String) -> [String] {
    var lines: [String] = []
    var current = indent
    for word in text.split(separator: " ") {
      if current.count > indent.count && current.count + 1 + word.count > width {
        lines.append(current)
        current = indent
      }
      current += (current.count > indent.count ? " " : "") + word
    }
    if current.count > indent.count { lines.append(current) }
    return lines
  }
}

extension String {
  /// Pads with spaces on the right to at least `width` characters.
  func padding(to width: Int) -> String {
    let length = displayWidth
    return length >= width ? self : self + String(repeating: " ", count: width - length)
  }

  /// Columns the text takes in a terminal, counted in Unicode scalars: exact for the
  /// ASCII that sysfs and pci.ids hold, and far cheaper than counting grapheme
  /// clusters over thousands of table cells. A scalar is a UTF-8 byte that does not
  /// continue the one before (10xxxxxx), and a loop over the bytes costs a quarter of
  /// `unicodeScalars.count`, which decodes each scalar.
  var displayWidth: Int { utf8.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } }
}
