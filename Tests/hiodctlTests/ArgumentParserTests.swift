// hiodctl tests — the table-driven parser: accepted forms and every usage error.
// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import hiodctl

struct ArgumentParserTests {
  struct Accepted: CustomTestStringConvertible, Sendable {
    let arguments: [String]
    let command: String?
    let values: [OptionID: String]
    var positionals: [String] = []
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let accepted: [Accepted] = [
    Accepted(arguments: [], command: nil, values: [:]),
    Accepted(arguments: ["list"], command: "list", values: [:]),
    Accepted(arguments: ["--json", "list"], command: "list", values: [.json: ""]),
    Accepted(arguments: ["list", "--json"], command: "list", values: [.json: ""]),
    Accepted(arguments: ["list", "-s", "00:02.0"], command: "list", values: [.slot: "00:02.0"]),
    Accepted(arguments: ["list", "-s00:02.0"], command: "list", values: [.slot: "00:02.0"]),
    Accepted(arguments: ["list", "--slot=00:02.0"], command: "list", values: [.slot: "00:02.0"]),
    Accepted(arguments: ["list", "--slot", "00:02.0"], command: "list", values: [.slot: "00:02.0"]),
    Accepted(arguments: ["list", "-d", "8086:", "-s", "1", "-s", "2"], command: "list",
             values: [.id: "8086:", .slot: "2"]),
    Accepted(arguments: ["-nh"], command: nil, values: [.numeric: "", .help: ""]),
    Accepted(arguments: ["list", "-ns", "02"], command: "list", values: [.numeric: "", .slot: "02"]),
    Accepted(arguments: ["--sysroot", "/t", "-n", "list", "--vfio"], command: "list",
             values: [.sysroot: "/t", .numeric: "", .vfio: ""]),
    Accepted(arguments: ["--sysroot=/t", "list"], command: "list", values: [.sysroot: "/t"]),
    Accepted(arguments: ["-h", "list"], command: "list", values: [.help: ""]),
    Accepted(arguments: ["--", "list"], command: "list", values: [:]),
  ]

  @Test(arguments: accepted)
  func accepts(_ example: Accepted) throws {
    let invocation = try ArgumentParser.parse(example.arguments)
    #expect(invocation.command == example.command)
    #expect(invocation.values == example.values)
    #expect(invocation.positionals == example.positionals)
  }

  struct Rejected: CustomTestStringConvertible, Sendable {
    let arguments: [String]
    let message: String
    var hints: [String] = []
    var command: String? = nil
    var testDescription: String { arguments.joined(separator: " ") }
  }

  static let rejected: [Rejected] = [
    Rejected(arguments: ["--jsn", "list"], message: "unknown option '--jsn'",
             hints: ["did you mean '--json'?"]),
    Rejected(arguments: ["list", "--vfoi"], message: "unknown option '--vfoi'",
             hints: ["did you mean '--vfio'?"], command: "list"),
    Rejected(arguments: ["--vfio", "list"], message: "unknown option '--vfio'",
             hints: ["'--vfio' is an option of 'list'; put it after the command"]),
    Rejected(arguments: ["--frobnicate"], message: "unknown option '--frobnicate'"),
    Rejected(arguments: ["list", "-x"], message: "unknown option '-x'", command: "list"),
    Rejected(arguments: ["list", "-nx"], message: "unknown option '-x' in '-nx'", command: "list"),
    Rejected(arguments: ["lst"], message: "unknown command 'lst'",
             hints: ["did you mean 'list'?", "commands: list, caps, check, snapshot, export"]),
    Rejected(arguments: ["frobnicate"], message: "unknown command 'frobnicate'",
             hints: ["commands: list, caps, check, snapshot, export"]),
    Rejected(arguments: ["--sysroot"], message: "missing value for '--sysroot DIR'"),
    Rejected(arguments: ["--sysroot", "--json", "list"], message: "missing value for '--sysroot DIR'"),
    Rejected(arguments: ["list", "-s"], message: "missing value for '--slot SLOT'", command: "list"),
    Rejected(arguments: ["list", "--slot="], message: "empty value for '--slot SLOT'", command: "list"),
    Rejected(arguments: ["--json=yes", "list"], message: "option '--json' takes no value"),
    Rejected(arguments: ["list", "foo"], message: "unexpected argument 'foo'",
             hints: ["'list' takes no arguments"], command: "list"),
    Rejected(arguments: ["list", "a", "b"], message: "2 unexpected arguments: 'a', 'b'",
             hints: ["'list' takes no arguments"], command: "list"),
    Rejected(arguments: ["list", "--", "-s"], message: "unexpected argument '-s'",
             hints: ["'list' takes no arguments"], command: "list"),
  ]

  @Test(arguments: rejected)
  func rejects(_ example: Rejected) {
    #expect(throws: UsageError(message: example.message, hints: example.hints, command: example.command)) {
      _ = try ArgumentParser.parse(example.arguments)
    }
  }

  @Test func editDistanceSuggestsOnlyNearMisses() {
    #expect(closest(to: "--jsno", among: ["--json", "--numeric"]) == "--json")
    #expect(closest(to: "--x", among: ["--json", "--numeric"]) == nil)
    #expect(editDistance("kitten", "sitting") == 3)
  }

  @Test func everyOptionSpellingIsUniqueWithinItsScope() {
    for command in OptionTable.commands {
      let spellings = (OptionTable.globalOptions + command.options).flatMap(\.spellings)
      #expect(Set(spellings).count == spellings.count, "duplicate spelling in \(command.name)")
    }
  }
}
