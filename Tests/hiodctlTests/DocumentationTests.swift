// hiodctl tests — the man page documents everything the option table has.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import HostIOMMU
import Testing

@testable import hiodctl

struct DocumentationTests {
  /// man/hiodctl.8 with roff's escaped hyphens turned back into plain ones.
  static let manPage: String = {
    let path = Golden.testsDirectory + "/../man/hiodctl.8"
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.replacingOccurrences(of: "\\-", with: "-")
  }()

  /// Whether `word` occurs in `text` as a whole token: not inside a longer option
  /// (`-s` in `--slot`), key (`cap` in `ecap`) or word.
  static func containsToken(_ text: String, _ word: String) -> Bool {
    let pattern = "(^|[^A-Za-z0-9_.-])" + NSRegularExpression.escapedPattern(for: word) + "($|[^A-Za-z0-9_-])"
    return text.range(of: pattern, options: .regularExpression) != nil
  }

  @Test(arguments: Array(Set(OptionTable.allOptions.map(\.spellings).joined())).sorted())
  func manPageDocumentsOption(_ spelling: String) {
    #expect(Self.containsToken(Self.manPage, spelling), "man/hiodctl.8 lacks \(spelling) as a whole token")
  }

  /// The token test must be able to fail: `-s` inside `--slot` or `--sysroot` is not `-s`.
  @Test func tokensAreWholeWords() {
    #expect(!Self.containsToken("use --slot or --sysroot", "-s"))
    #expect(Self.containsToken("use -s or --slot", "-s"))
    #expect(!Self.containsToken("the ecap register", "cap"))
    #expect(Self.containsToken(".BR cap \" and \" ecap", "cap"))
  }

  /// Every key of every JSON document in the goldens (the output of each --json case) and
  /// in the snapshot fixtures is named in MACHINE-READABLE OUTPUT.
  @Test func manPageDocumentsEveryJSONKey() throws {
    let section = try #require(Self.section("MACHINE-READABLE OUTPUT"))
    var keys: [String: String] = [:]
    func collect(_ value: Any, _ source: String) {
      if let object = value as? [String: Any] {
        for (key, child) in object {
          keys[key] = keys[key] ?? source
          collect(child, source)
        }
      } else if let array = value as? [Any] {
        for child in array { collect(child, source) }
      }
    }
    let goldens = Golden.testsDirectory + "/hiodctlTests/Golden"
    var documents = 0
    for file in try FileManager.default.contentsOfDirectory(atPath: goldens).sorted() {
      let text = try String(contentsOfFile: goldens + "/" + file, encoding: .utf8)
      guard
        let stdout = text.components(separatedBy: "--- stdout\n").dropFirst().first?.components(
          separatedBy: "--- stderr\n"
        ).first,
        stdout.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(stdout.utf8))
      else { continue }
      documents += 1
      collect(object, file)
    }
    for directory in ["snapshots", "qemu-oracle/snapshots"] {
      let path = Golden.testsDirectory + "/Fixtures/" + directory
      for file in try FileManager.default.contentsOfDirectory(atPath: path) where file.hasSuffix(".json") {
        collect(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/" + file))), file)
      }
    }
    #expect(documents > 20, "only \(documents) JSON goldens found")
    // Names the JSON carries as data, not as keys of the contract: backends, vIOMMU
    // models, register fields (named as the VT-d, SMMUv3 and AMD specifications name them)
    // are documented as such, in words.
    let dataKeys: Set = ["legacy", "iommufd", "sysfs", "intel", "virtio", "smmuv3", "amd", "none"]
    for (key, source) in keys.sorted(by: { $0.key < $1.key }) where !dataKeys.contains(key) {
      #expect(Self.containsToken(section, key), "MACHINE-READABLE OUTPUT lacks the key \(key) (from \(source))")
    }
    for key in dataKeys where keys[key] != nil {
      #expect(Self.containsToken(Self.manPage, key), "the man page never names \(key)")
    }
  }

  /// The NFD labels and Prometheus metrics the exports write are in the man page, not
  /// only in README.md.
  @Test func manPageDocumentsEveryLabelAndMetric() throws {
    let section = try #require(Self.section("MACHINE-READABLE OUTPUT"))
    let goldens = Golden.testsDirectory + "/hiodctlTests/Golden"
    var labels: Set<String> = []
    var metrics: Set<String> = []
    for file in try FileManager.default.contentsOfDirectory(atPath: goldens) where file.hasPrefix("export-") {
      let text = try String(contentsOfFile: goldens + "/" + file, encoding: .utf8)
      for line in text.split(separator: "\n") {
        if line.hasPrefix(NFDFeatures.namespace + "/"),
          let name = line.dropFirst(NFDFeatures.namespace.count + 1).split(separator: "=").first
        {
          labels.insert(String(name))
        }
        if line.hasPrefix("# TYPE "), let name = line.split(separator: " ").dropFirst(2).first {
          metrics.insert(String(name))
        }
      }
    }
    #expect(labels.count > 15 && metrics.count > 12)
    for label in labels.sorted() {
      // One label per host check: host.check.<id>, with the ids listed under `host`.
      if label.hasPrefix("host.check.") {
        #expect(Self.containsToken(Self.manPage, String(label.dropFirst(11))), "the man page lacks the check \(label)")
        continue
      }
      #expect(Self.containsToken(section, label), "MACHINE-READABLE OUTPUT lacks the NFD label \(label)")
    }
    for metric in metrics.sorted() {
      #expect(Self.containsToken(section, metric), "MACHINE-READABLE OUTPUT lacks the metric \(metric)")
    }
  }

  /// The text of section `title` (up to the next .SH).
  /// The man page's vIOMMU properties, row by row from the property table: every
  /// spelling a release uses has its own entry (`--NAME`), which names the model's device,
  /// the property as QEMU spells it, its values when it takes a choice, and the releases
  /// that spell it so when not every known release does.
  @Test func manPageDocumentsEveryPropertyRow() throws {
    let start = try #require(Self.manPage.range(of: ".SS vIOMMU properties\n"))
    let rest = Self.manPage[start.upperBound...]
    let section = String(rest[..<(rest.range(of: "\n.PP\n")?.lowerBound ?? rest.endIndex)])
    var entries: [String: String] = [:]
    for entry in section.components(separatedBy: ".TP\n").dropFirst() {
      let words = entry.split { $0 == " " || $0 == "\n" }.map(String.init)
      guard let spelling = words.first(where: { $0.hasPrefix("--") }) else { continue }
      entries[spelling] = entry
    }
    for row in VIOMMUProperties.rows {
      for spelling in row.spellings {
        let entry = try #require(entries["--" + spelling.name], "no entry for --\(spelling.name)")
        #expect(entry.contains(row.model.qemuDevice), "--\(spelling.name) does not name \(row.model.qemuDevice)")
        #expect(Self.containsToken(entry, spelling.name), "--\(spelling.name) does not name the property")
        if case .choice(let values) = row.kind {
          for value in values { #expect(Self.containsToken(entry, value), "--\(spelling.name) lacks \(value)") }
        }
        // From the oldest known release on is every release: no bound to give.
        let from = spelling.span.from.flatMap { $0 == QEMUVersion.oldest ? nil : $0 }
        for bound in [from, spelling.span.through].compactMap({ $0 }) {
          #expect(
            entry.contains(bound.description), "--\(spelling.name): the releases (\(spelling.span)) are not given")
        }
      }
    }
  }

  static func section(_ title: String) -> String? {
    guard let start = manPage.range(of: ".SH \(title)\n") else { return nil }
    let rest = manPage[start.upperBound...]
    return String(rest[..<(rest.range(of: "\n.SH ")?.lowerBound ?? rest.endIndex)])
  }

  /// The --machine examples are one list: help, the error hint, the man page and all
  /// three completions show the same ones.
  @Test func machineExamplesAgreeEverywhere() throws {
    let examples = OptionTable.machineExamples
    let help = try #require(OptionTable.check.options.first { $0.id == .machine }).help
    #expect(help.contains(examples.joined(separator: ", ")))
    let manOption = try #require(
      Self.manPage.range(of: ".BI \\-\\-machine \" TYPE\"").map { String(Self.manPage[$0.lowerBound...].prefix(600)) }
        ?? Self.manPage.range(of: ".BI --machine \" TYPE\"").map { String(Self.manPage[$0.lowerBound...].prefix(600)) })
    for example in examples {
      #expect(Self.containsToken(manOption, example), "man page --machine lacks \(example)")
    }
    for file in Completions.files {
      let text = Completions.contents(file)
      let line = try #require(text.split(separator: "\n").first { $0.contains("pc-q35-9.1") && $0.contains("virt") })
      let offered = Set(line.split(whereSeparator: { " '()\"".contains($0) }).map(String.init)).filter {
        $0.contains("q35") || $0.hasPrefix("virt") || $0.hasPrefix("pc")
      }
      #expect(offered == Set(examples), "\(file): \(offered.sorted())")
    }
  }

  /// Options the command cannot do without are shown without brackets.
  @Test func requiredOptionsAreNotShownAsOptional() {
    #expect(
      OptionTable.check.synopsis.contains(" --viommu MODEL ") && !OptionTable.check.synopsis.contains("[--viommu"))
    #expect(
      OptionTable.export.synopsis.contains(" --format FORMAT ") && !OptionTable.export.synopsis.contains("[--format"))
    #expect(Help.usageLine.contains("--host FILE"))
    #expect(OptionTable.export.options.first { $0.id == .backend }?.help.hasPrefix("sysfs (the default") == true)
  }

  @Test(arguments: OptionTable.commands.map(\.name))
  func manPageDocumentsCommand(_ name: String) {
    #expect(Self.manPage.contains(".B \(name)\n"), "man/hiodctl.8 lacks a COMMANDS entry for \(name)")
  }

  @Test func manPageGroupsOptionsAsHelpDoes() {
    let subsections = Self.manPage.split(separator: "\n").filter { $0.hasPrefix(".SS ") }
      .map { $0.dropFirst(4).lowercased() }
    for group in OptionGroup.allCases {
      #expect(subsections.contains(group.rawValue.lowercased()), "man/hiodctl.8 lacks .SS for \(group.rawValue)")
    }
  }

  @Test func manPageListsEveryExitStatus() {
    for status in Help.exitStatusLines.compactMap({ $0.split(separator: " ").first }) {
      #expect(Self.manPage.contains(".B \(status)\n"), "EXIT STATUS lacks \(status)")
    }
  }
}
