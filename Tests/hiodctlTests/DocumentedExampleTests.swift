// hiodctl tests — every example command of README.md and the man page, pasted into a
// shell and run on a fixture (issue 12, item 16): `hiodctl` is a wrapper that adds
// `--sysroot FIXTURE` unless the example names its own --sysroot or --host, and moves
// absolute -o paths into a scratch directory. Each example's exit status is asserted, so
// an example that stops parsing (64) or stops working fails here. The crontab and
// systemd lines are checked for what cron and systemd need, and the provisioning script
// is run against every exit status hiodctl has.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

/// One example as a reader would paste it.
struct DocumentedExample: CustomTestStringConvertible, Sendable {
  enum Source: String, Sendable {
    case readme = "README.md"
    case man = "hiodctl.8"
  }
  let source: Source
  /// The shell text: one command, a pipeline, or a few lines.
  let text: String
  /// What the document itself says the status is (`$ echo $?` after a console example).
  var statedStatus: Int32?
  var testDescription: String { "\(source.rawValue): \(text.split(separator: "\n").first ?? "")" }
}

enum DocumentedExamples {
  static let repository = Golden.testsDirectory + "/.."

  /// The fixture each example runs on (relative to Tests/Fixtures) and its exit status
  /// there. Every example in the documents must be listed: a new one fails
  /// `everyExampleIsKnown` until it is.
  static let expectations: [String: (root: String, status: Int32)] = [
    "hiodctl list": ("synthetic/intel-host", 0),
    "hiodctl host": ("captured/no-iommu", 1),
    "hiodctl host -q || echo \"this host cannot assign devices\"": ("captured/no-iommu", 0),
    "hiodctl host -q || exit 1": ("captured/no-iommu", 1),
    "hiodctl caps 0000:00:02.0": ("synthetic/intel-host", 2),
    "hiodctl caps 0000:01:00.0": ("synthetic/intel-host", 2),
    "hiodctl caps 0000:00:03.0": ("captured/intel-aw39", 2),
    "hiodctl caps --backend iommufd 0000:00:03.0": ("captured/intel-aw39", 2),
    "hiodctl check --viommu intel --aw-bits 48 0000:00:02.0": ("captured/intel-aw39", 1),
    "hiodctl check --viommu intel --aw-bits 48 0000:01:00.0": ("synthetic/intel-host", 1),
    "hiodctl list --vfio": ("synthetic/intel-host", 0),
    "hiodctl list -s 00:04 -d 8086:": ("synthetic/intel-host", 0),
    "hiodctl -n list": ("synthetic/intel-host", 0),
    "hiodctl caps --backend legacy 01:00.0": ("synthetic/intel-host", 2),
    "hiodctl --json caps 01:00.0 | jq '.devices[0].host_iommu_device.aw_bits.value'": ("synthetic/intel-host", 0),
    "hiodctl --json caps --backend sysfs 01:00.0 |\n  jq .devices[0].host_iommu_device.aw_bits.value": (
      "synthetic/intel-host", 0
    ),
    "hiodctl check --viommu intel --qemu 9.1 --all": ("synthetic/intel-host", 1),
    "hiodctl check --viommu intel --qemu 10.0 --suggest --all": ("synthetic/intel-host", 1),
    "hiodctl check --viommu intel --x-scalable-mode on --x-flts --all": ("captured/intel-sm", 1),
    "hiodctl check --viommu intel --suggest --all": ("captured/intel-aw48", 2),
    "hiodctl --json list | jq '.groups[] | select(.viable | not) | .blockers'": ("synthetic/intel-host", 0),
    "hiodctl --json list | jq -r '.groups[] | select(.viable | not) | .id'": ("synthetic/intel-host", 0),
    "hiodctl --sysroot ./captured-host list": ("synthetic/intel-host", 0),
    "hiodctl --sysroot ./customer-host list -d 8086:": ("synthetic/intel-host", 0),
    "hiodctl list --help": ("synthetic/intel-host", 0),
    "hiodctl --host customer.json list": ("synthetic/intel-host", 0),
    "hiodctl --host customer.json caps 0000:00:02.0": ("synthetic/intel-host", 0),
    "hiodctl check --host a.json --host b.json --viommu intel --suggest --all": ("synthetic/intel-host", 0),
    "hiodctl snapshot -o host-a.json\nhiodctl --host host-a.json check --viommu intel --all": (
      "synthetic/intel-host", 1
    ),
    """
    hiodctl check --viommu intel --all > /dev/null
    case $? in
      0) ;;
      1) echo "a device would not work" >&2; exit 1 ;;
      2) echo "undecided: run as root, or free the device" >&2 ;;
      *) echo "hiodctl failed" >&2; exit 1 ;;
    esac
    """:
      ("synthetic/intel-host", 1),
    "hiodctl export --format nfd -o /etc/kubernetes/node-feature-discovery/features.d/hiodctl": (
      "synthetic/intel-host", 0
    ),
    "hiodctl export --format prometheus -o /var/lib/node_exporter/textfile/hiodctl.prom": ("synthetic/intel-host", 0),
  ]

  // MARK: Extraction

  static func readme() -> [DocumentedExample] {
    let text = (try? String(contentsOfFile: repository + "/README.md", encoding: .utf8)) ?? ""
    var examples: [DocumentedExample] = []
    var fence: String?
    var lines: [String] = []
    for line in text.components(separatedBy: "\n") {
      if line.hasPrefix("```") {
        if let kind = fence {
          examples += fromFence(kind, lines)
          fence = nil
        } else {
          fence = String(line.dropFirst(3))
          lines = []
        }
        continue
      }
      if fence != nil { lines.append(line) }
    }
    return examples
  }

  /// The hiodctl commands of one fenced block: `sh` lines (without their comments),
  /// `console` lines after `$ ` (with a following `$ echo $?` and its number), the cron
  /// line's command and the systemd ExecStart.
  static func fromFence(_ kind: String, _ lines: [String]) -> [DocumentedExample] {
    var examples: [DocumentedExample] = []
    switch kind {
    case "sh":
      for line in lines {
        let command = line.components(separatedBy: "  #").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if command.hasPrefix("hiodctl ") { examples.append(DocumentedExample(source: .readme, text: command)) }
      }
    case "console":
      for (index, line) in lines.enumerated() where line.hasPrefix("$ hiodctl ") {
        var example = DocumentedExample(source: .readme, text: String(line.dropFirst(2)))
        if index + 2 < lines.count, lines[index + 1] == "$ echo $?", let status = Int32(lines[index + 2]) {
          example.statedStatus = status
        }
        examples.append(example)
      }
    case "cron":
      examples += lines.filter { !$0.isEmpty }.map { DocumentedExample(source: .readme, text: cronCommand($0)) }
    case "ini":
      examples += lines.filter { $0.hasPrefix("ExecStart=") }.map {
        DocumentedExample(source: .readme, text: systemdCommand(String($0.dropFirst("ExecStart=".count))))
      }
    default:
      break
    }
    return examples
  }

  /// The man page's EXAMPLES: each `.RS` … `.RE` block's `.B` lines, de-escaped.
  static func man() -> [DocumentedExample] {
    blocks().compactMap { block in
      let text = block.joined(separator: "\n")
      if text.hasPrefix("*/") { return DocumentedExample(source: .man, text: cronCommand(text)) }
      if text.hasPrefix("ExecStart=") {
        return DocumentedExample(source: .man, text: systemdCommand(String(text.dropFirst("ExecStart=".count))))
      }
      return text.hasPrefix("hiodctl ") ? DocumentedExample(source: .man, text: text) : nil
    }
  }

  /// The EXAMPLES section of the man page's source.
  static var manExamplesSource: String {
    let page = (try? String(contentsOfFile: repository + "/man/hiodctl.8", encoding: .utf8)) ?? ""
    guard let start = page.range(of: ".SH EXAMPLES\n") else { return "" }
    let rest = page[start.upperBound...]
    return String(rest[..<(rest.range(of: "\n.SH ")?.lowerBound ?? rest.endIndex)])
  }

  /// The `.B` lines of every `.RS` block of EXAMPLES, as a shell reads them.
  static func blocks() -> [[String]] {
    var blocks: [[String]] = []
    var current: [String]?
    for line in manExamplesSource.components(separatedBy: "\n") {
      if line == ".RS" {
        current = []
      } else if line == ".RE" {
        if let current, !current.isEmpty { blocks.append(current) }
        current = nil
      } else if current != nil, line.hasPrefix(".B ") {
        current?.append(unescape(String(line.dropFirst(3))))
      }
    }
    return blocks
  }

  /// roff escapes back to what a terminal shows.
  static func unescape(_ text: String) -> String {
    text.replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\(aq", with: "'")
      .replacingOccurrences(of: "\\(dq", with: "\"").replacingOccurrences(of: "\\ ", with: " ")
      .replacingOccurrences(of: "\\&", with: "").replacingOccurrences(of: "\\e", with: "\\")
  }

  /// The command of a line for /etc/cron.d: five time fields, the user, the command.
  static func cronCommand(_ line: String) -> String {
    let fields = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: true)
    return fields.count == 7 ? "#cron " + String(fields[6]) : "#cron-malformed " + line
  }

  static func systemdCommand(_ command: String) -> String { "#systemd " + command }

  static var all: [DocumentedExample] { readme() + man() }
}

struct DocumentedExampleTests {
  /// The examples are found at all (an extraction that finds nothing tests nothing).
  @Test func examplesAreFound() {
    #expect(DocumentedExamples.readme().count >= 20)
    #expect(DocumentedExamples.man().count >= 15)
    #expect(DocumentedExamples.all.contains { $0.text.contains("case $? in") })
  }

  @Test func everyExampleIsKnown() {
    for example in DocumentedExamples.all {
      let key = runnable(example.text).command
      #expect(DocumentedExamples.expectations[key] != nil, "\(example.source.rawValue): no expectation for:\n\(key)")
    }
  }

  /// Lines for cron and systemd must work where those run them: cron (Debian's) has
  /// PATH=/usr/bin:/bin and no continuation lines; ExecStart needs an absolute path.
  @Test(arguments: DocumentedExamples.all.filter { $0.text.hasPrefix("#") })
  func scheduledCommandsWorkWhereTheyRun(_ example: DocumentedExample) {
    #expect(!example.text.hasPrefix("#cron-malformed"), "not 5 time fields, a user and a command: \(example.text)")
    let command = runnable(example.text).original
    #expect(command.hasPrefix("/usr/local/bin/hiodctl "), "cron and systemd need the binary by its path: \(command)")
    #expect(!command.contains("\\"), "cron has no continuation lines: \(command)")
    #expect(!command.contains("\n"))
  }

  @Test(arguments: DocumentedExamples.all)
  func exampleRunsOnAFixture(_ example: DocumentedExample) throws {
    let (command, _) = runnable(example.text)
    guard let expected = DocumentedExamples.expectations[command] else { return }  // everyExampleIsKnown says so
    let outcome = try ExampleShell.run(command, root: expected.root)
    #expect(outcome.status == expected.status, "\(example.testDescription): exit \(outcome.status)\n\(outcome.stderr)")
    #expect(outcome.status != 64, "\(example.testDescription) is a usage error:\n\(outcome.stderr)")
    if let stated = example.statedStatus {
      #expect(stated == expected.status, "the document says \(stated), the fixture gives \(expected.status)")
    }
  }

  /// The provisioning script stops on everything that is not an answer: 1 (a device
  /// would not work), 3 and 64; it carries on (with a message) only for 0 and 2.
  @Test func provisioningScriptStopsOnErrors() throws {
    let script = try #require(DocumentedExamples.man().first { $0.text.contains("case $? in") })
    for (status, stops) in [(0, false), (1, true), (2, false), (3, true), (64, true)] {
      let outcome = try ExampleShell.run(script.text, stubStatus: Int32(status))
      #expect((outcome.status != 0) == stops, "hiodctl exiting \(status): the script exits \(outcome.status)")
    }
  }

  /// Rendered at 80 columns, every example line of the man page is intact: not filled,
  /// wrapped or hyphenated (a pasted command must be the command).
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/mandoc"), "mandoc is not installed"))
  func manExamplesRenderUnbroken() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/mandoc")
    process.arguments = ["-Tascii", "-O", "width=80", DocumentedExamples.repository + "/man/hiodctl.8"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    // -Tascii overstrikes bold text (c\bc); drop that.
    let rendered = String(decoding: data, as: UTF8.self).replacingOccurrences(
      of: ".\u{8}", with: "", options: .regularExpression)
    for block in DocumentedExamples.blocks() {
      for line in block {
        #expect(rendered.contains(line.trimmingCharacters(in: .whitespaces)), "rendered man page breaks: \(line)")
      }
    }
  }

  /// Every example block of the man page ends its paragraph (a missing .PP after .RE runs
  /// the next sentence into the example's indentation).
  @Test func manExampleBlocksAreFollowedByAParagraph() {
    let lines = DocumentedExamples.manExamplesSource.components(separatedBy: "\n")
    for (index, line) in lines.enumerated() where line == ".RE" {
      let next = lines.dropFirst(index + 1).first { !$0.isEmpty } ?? ".PP"
      #expect(next == ".PP", "EXAMPLES: .RE followed by \(next)")
    }
  }

  /// The example as the test shell runs it, and as the document writes it.
  func runnable(_ text: String) -> (command: String, original: String) {
    for prefix in ["#cron ", "#systemd "] where text.hasPrefix(prefix) {
      let original = String(text.dropFirst(prefix.count))
      return (original.replacingOccurrences(of: "/usr/local/bin/hiodctl", with: "hiodctl"), original)
    }
    return (text, text)
  }
}

/// Runs shell text with the wrapper `hiodctl` first on PATH, in a scratch directory
/// holding the files the examples name.
enum ExampleShell {
  /// The wrapper and the stub are checked-in scripts that each run links to: an
  /// executable written here while another test thread forks would be open for writing
  /// in that child until it execs, and running it then fails with ETXTBSY (sh: exit 126;
  /// seen in CI).
  static let scripts = Golden.testsDirectory + "/Fixtures/example-shell"

  struct Outcome {
    var status: Int32
    var stderr: String
  }

  /// `stubStatus`: instead of hiodctl, a stub that exits with it.
  static func run(_ text: String, root: String = "synthetic/intel-host", stubStatus: Int32? = nil) throws -> Outcome {
    let fixtures = Golden.testsDirectory + "/Fixtures"
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hiodctl-example-\(UUID().uuidString)")
      .path
    let manager = FileManager.default
    try manager.createDirectory(atPath: scratch + "/bin", withIntermediateDirectories: true)
    defer { try? manager.removeItem(atPath: scratch) }
    try manager.createSymbolicLink(
      atPath: scratch + "/bin/hiodctl", withDestinationPath: scripts + (stubStatus == nil ? "/hiodctl" : "/stub"))
    // What the examples name: trees captured elsewhere, customers' and pool snapshots.
    try manager.createSymbolicLink(
      atPath: scratch + "/captured-host", withDestinationPath: fixtures + "/synthetic/intel-host")
    try manager.createSymbolicLink(
      atPath: scratch + "/customer-host", withDestinationPath: fixtures + "/synthetic/intel-host")
    for (name, snapshot) in [
      ("customer.json", "v1-intel-aw39.json"), ("a.json", "v1-intel-aw39.json"), ("b.json", "v1-intel-aw48.json"),
    ] {
      try manager.copyItem(atPath: fixtures + "/snapshots/" + snapshot, toPath: scratch + "/" + name)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", text]
    process.currentDirectoryURL = URL(fileURLWithPath: scratch)
    process.environment = [
      "PATH": scratch + "/bin:/usr/bin:/bin", "LC_ALL": "C", "SOURCE_DATE_EPOCH": "1795000000",
      "SCRATCH": scratch + "/out",
      "HIODCTL_REAL": Golden.binary.path, "HIODCTL_EXAMPLE_ROOT": fixtures + "/" + root,
      "HIODCTL_STUB_STATUS": stubStatus.map(String.init) ?? "",
    ]
    process.standardOutput = FileHandle.nullDevice
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let stderr = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Outcome(status: process.terminationStatus, stderr: String(decoding: stderr, as: UTF8.self))
  }
}
