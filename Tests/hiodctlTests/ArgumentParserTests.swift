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
    Accepted(
      arguments: ["list", "-d", "8086:", "-s", "1", "-s", "2"], command: "list",
      values: [.id: "8086:", .slot: "2"]),
    Accepted(arguments: ["-nh"], command: nil, values: [.numeric: "", .help: ""]),
    Accepted(arguments: ["list", "-ns", "02"], command: "list", values: [.numeric: "", .slot: "02"]),
    Accepted(
      arguments: ["--sysroot", "/t", "-n", "list", "--vfio"], command: "list",
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
    Rejected(
      arguments: ["--jsn", "list"], message: "unknown option '--jsn'",
      hints: ["did you mean '--json'?"]),
    Rejected(
      arguments: ["list", "--vfoi"], message: "unknown option '--vfoi'",
      hints: ["did you mean '--vfio'?"], command: "list"),
    Rejected(
      arguments: ["--vfio", "list"], message: "unknown option '--vfio'",
      hints: ["'--vfio' is an option of 'list'; put it after the command"]),
    Rejected(arguments: ["--frobnicate"], message: "unknown option '--frobnicate'"),
    Rejected(arguments: ["list", "-x"], message: "unknown option '-x'", command: "list"),
    Rejected(arguments: ["list", "-nx"], message: "unknown option '-x' in '-nx'", command: "list"),
    Rejected(
      arguments: ["lst"], message: "unknown command 'lst'",
      hints: ["did you mean 'list'?", "commands: list, caps, check, host, snapshot, export"]),
    Rejected(
      arguments: ["frobnicate"], message: "unknown command 'frobnicate'",
      hints: ["commands: list, caps, check, host, snapshot, export"]),
    Rejected(arguments: ["--sysroot"], message: "missing value for '--sysroot DIR'"),
    Rejected(arguments: ["--sysroot", "--json", "list"], message: "missing value for '--sysroot DIR'"),
    Rejected(arguments: ["list", "-s"], message: "missing value for '--slot SLOT'", command: "list"),
    Rejected(arguments: ["list", "--slot="], message: "empty value for '--slot SLOT'", command: "list"),
    Rejected(arguments: ["--json=yes", "list"], message: "option '--json' takes no value"),
    Rejected(
      arguments: ["list", "foo"], message: "unexpected argument 'foo'",
      hints: ["'list' takes no arguments"], command: "list"),
    Rejected(
      arguments: ["list", "a", "b"], message: "2 unexpected arguments: 'a', 'b'",
      hints: ["'list' takes no arguments"], command: "list"),
    Rejected(
      arguments: ["list", "--", "-s"], message: "unexpected argument '-s'",
      hints: ["'list' takes no arguments"], command: "list"),
    // Issue 12, item 8: a value given twice is refused, not silently the last.
    Rejected(
      arguments: ["check", "--viommu", "intel", "--viommu", "virtio"],
      message: "'--viommu MODEL' given twice ('intel', then 'virtio')",
      hints: ["give it once: hiodctl does not pick one of two values for you"], command: "check"),
    Rejected(
      arguments: ["snapshot", "-o", "a", "--output=b"], message: "'--output FILE' given twice ('a', then 'b')",
      hints: ["give it once: hiodctl does not pick one of two values for you"], command: "snapshot"),
    Rejected(
      arguments: ["--sysroot", "/a", "--sysroot=/b", "list"], message: "'--sysroot DIR' given twice ('/a', then '/b')",
      hints: ["give it once: hiodctl does not pick one of two values for you"]),
    Rejected(
      arguments: ["check", "--aw-bits", "39", "--aw-bits", "39"],
      message: "'--aw-bits N' given twice ('39', then '39')",
      hints: ["give it once: hiodctl does not pick one of two values for you"], command: "check"),
    Rejected(
      arguments: ["-nnn", "list"], message: "'-n' given 3 times: it counts at most twice",
      hints: ["-n shows numeric IDs only; -nn names and numbers, as lspci"]),
    Rejected(
      arguments: ["-n", "--numeric", "-n", "list"], message: "'-n' given 3 times: it counts at most twice",
      hints: ["-n shows numeric IDs only; -nn names and numbers, as lspci"]),
  ]

  @Test(arguments: rejected)
  func rejects(_ example: Rejected) {
    #expect(throws: UsageError(message: example.message, hints: example.hints, command: example.command)) {
      _ = try ArgumentParser.parse(example.arguments)
    }
  }

  /// -s and -d merge as lspci's do; --host collects; -nn counts; a repeated flag is a flag.
  @Test func repeatableOptionsKeepEveryValue() throws {
    let merged = try ArgumentParser.parse(["list", "-s", "00:04", "--slot=.1", "-d", "8086:", "-d", ":10d3"])
    #expect(merged.allValues(.slot) == ["00:04", ".1"])
    #expect(merged.allValues(.id) == ["8086:", ":10d3"])
    let pool = try ArgumentParser.parse(["--host", "a.json", "check", "--host=b.json"])
    #expect(pool.allValues(.host) == ["a.json", "b.json"])
    #expect(try ArgumentParser.parse(["-nn", "list"]).count(.numeric) == 2)
    #expect(try ArgumentParser.parse(["-n", "list"]).count(.numeric) == 1)
    #expect(try ArgumentParser.parse(["list"]).count(.numeric) == 0)
    #expect(try ArgumentParser.parse(["--json", "list", "--json", "--vfio", "--vfio"]).has(.vfio))
    #expect(try ArgumentParser.parse(["check", "--all", "-q", "--quiet"]).has(.quiet))
    #expect(Invocation.asksForJSON(["--jsn", "--json"]) && !Invocation.asksForJSON(["check", "--", "--json"]))
  }

  /// `-` is a value for -o and --host (stdout, stdin), not a forgotten one.
  @Test func dashIsAValue() throws {
    #expect(try ArgumentParser.parse(["snapshot", "-o", "-"]).value(.output) == "-")
    #expect(try ArgumentParser.parse(["--host", "-", "list"]).allValues(.host) == ["-"])
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
