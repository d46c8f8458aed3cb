// hiodctl tests — the JSON contract's key table: what the encoder writes for every
// fixture has exactly the table's keys and types, the VM rig's schema file is the table
// rendered, and the man page names every key.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import HostIOMMU

struct ContractSchemaTests {
  static let repository: String = {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(3)
    return components.joined(separator: "/")
  }()

  static let trees = [
    "synthetic/intel-host", "synthetic/no-iommu", "synthetic/noiommu-mode", "synthetic/broken",
    "captured/intel-aw39", "captured/intel-sm", "captured/amd", "captured/virtio", "captured/multifunction",
    "captured/bridge",
  ]

  static var fields: [String: [String: ContractField]] {
    Dictionary(grouping: ContractSchema.keys, by: \.object).mapValues { rows in
      Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0.field) })
    }
  }

  /// A parsed JSON value that keeps booleans and numbers apart.
  enum JSONValue: Decodable {
    case null
    case boolean(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case list([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
      let single = try decoder.singleValueContainer()
      if single.decodeNil() {
        self = .null
      } else if let value = try? single.decode(Bool.self) {
        self = .boolean(value)
      } else if let value = try? single.decode(Int.self) {
        self = .integer(value)
      } else if let value = try? single.decode(Double.self) {
        self = .number(value)
      } else if let value = try? single.decode(String.self) {
        self = .string(value)
      } else if let value = try? single.decode([JSONValue].self) {
        self = .list(value)
      } else {
        self = .object(try single.decode([String: JSONValue].self))
      }
    }
  }

  /// Every problem of `value` against `type`, as "path: problem".
  /// `older`: the document predates keys added since (a committed snapshot), so a key
  /// of the table it lacks is no problem; what it has must still be in the table.
  static func problems(_ value: JSONValue, _ type: ContractType, at path: String, older: Bool = false) -> [String] {
    func problems(_ value: JSONValue, _ type: ContractType, at path: String) -> [String] {
      Self.problems(value, type, at: path, older: older)
    }
    func hex(_ text: String, digits: Int) -> Bool {
      text.count == digits && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
    if case .nullable(let inner) = type {
      if case .null = value { return [] }
      return problems(value, inner, at: path)
    }
    if case .oneOf(let alternatives) = type {
      // The alternative that fits best: none is a fit when each has problems.
      let found = alternatives.map { problems(value, $0, at: path) }
      guard let best = found.min(by: { $0.count < $1.count }) else { return ["\(path): no alternative"] }
      return best.isEmpty ? [] : ["\(path): none of \(alternatives.count) alternatives fits; nearest:"] + best
    }
    switch (type, value) {
    case (_, .null): return ["\(path): null, but the table says \(type)"]
    case (.string, .string), (.integer, .integer), (.boolean, .boolean): return []
    case (.hex64, .string(let text)) where text.hasPrefix("0x") && hex(String(text.dropFirst(2)), digits: 16):
      return []
    case (.hex(let digits), .string(let text)) where hex(text, digits: digits): return []
    case (.pciAddress, .string(let text)) where PCIAddress(text) != nil: return []
    case (.deviceNumber, .string(let text)):
      let parts = text.split(separator: ":")
      return parts.count == 2 && parts.allSatisfy { Int($0) != nil } ? [] : ["\(path): not MAJOR:MINOR: \(text)"]
    case (.choice(let values), .string(let text)):
      return values.contains(text) ? [] : ["\(path): \(text) is none of \(values)"]
    case (.list(let element), .list(let items)):
      return items.enumerated().flatMap { problems($1, element, at: "\(path)[\($0)]") }
    case (.map(let valueType), .object(let object)):
      return object.keys.sorted().flatMap { problems(object[$0]!, valueType, at: "\(path).\($0)") }
    case (.object(let name), .object(let object)):
      guard let table = fields[name] else { return ["\(path): the table has no object \(name)"] }
      var found: [String] = []
      for key in Set(object.keys).symmetricDifference(table.keys).sorted() where !(older && object[key] == nil) {
        found.append(
          "\(path).\(key): \(object[key] == nil ? "in the table, not written" : "written, not in the table")")
      }
      for (key, field) in table.sorted(by: { $0.key < $1.key }) {
        if let member = object[key] { found += problems(member, field.type, at: "\(path).\(key)") }
      }
      return found
    default:
      return ["\(path): \(value) is not \(type)"]
    }
  }

  /// The encoder against the table, on every fixture: the same keys, the declared types.
  @Test(arguments: trees)
  func everyListDocumentMatchesTheTable(_ tree: String) throws {
    let found = try Self.problems(of: ListDocument(try Fixtures.scan(tree)), at: tree)
    #expect(found.isEmpty, "\(found.prefix(20))")
  }

  /// A snapshot of every fixture, every backend recorded (they fail on trees without
  /// /dev/vfio, so both outcomes are written): the caps objects, failures included.
  @Test(arguments: trees)
  func everySnapshotMatchesTheTable(_ tree: String) throws {
    let snapshot = try HostSnapshot.take(Fixtures.root(tree), backends: HostSnapshot.recordedBackends)
    let found = try Self.problems(of: snapshot, at: tree)
    #expect(found.isEmpty, "\(found.prefix(20))")
  }

  /// `document` encoded by JSONEncoder, against its object in the table.
  static func problems<D: ContractDocument>(of document: D, at path: String) throws -> [String] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let value = try JSONDecoder().decode(JSONValue.self, from: try encoder.encode(document))
    return problems(value, .object(D.Key.objectName), at: path)
  }

  /// Every JSON document hiodctl printed in the goldens (caps, check, host, list, pool,
  /// several hosts, errors, --version) and every committed snapshot, against the
  /// document the command prints.
  @Test func everyRecordedDocumentMatchesTheTable() throws {
    let documents = Dictionary(uniqueKeysWithValues: ContractSchema.documents.map { ($0.command, $0.object) })
    let goldens = "\(Self.repository)/Tests/hiodctlTests/Golden"
    var checked: Set<String> = []
    for file in try FileManager.default.contentsOfDirectory(atPath: goldens).sorted() {
      let text = try String(contentsOfFile: "\(goldens)/\(file)", encoding: .utf8)
      guard
        let stdout = text.components(separatedBy: "--- stdout\n").dropFirst().first?
          .components(separatedBy: "--- stderr\n").first, stdout.hasPrefix("{"),
        let commandLine = text.split(separator: "\n").first
      else { continue }
      let words = commandLine.split(separator: " ").map(String.init)
      let value = try JSONDecoder().decode(JSONValue.self, from: Data(stdout.utf8))
      let command = Self.command(words: words, document: value)
      guard let object = documents[command] else {
        // export's other formats are not JSON documents.
        if command == "export" { continue }
        Issue.record("\(file): no document in the table for \(command)")
        continue
      }
      checked.insert(command)
      let found = Self.problems(value, .object(object), at: file)
      #expect(found.isEmpty, "\(found.prefix(20))")
    }
    for directory in ["snapshots", "qemu-oracle/snapshots"] {
      let path = "\(Self.repository)/Tests/Fixtures/\(directory)"
      for file in try FileManager.default.contentsOfDirectory(atPath: path).sorted() where file.hasSuffix(".json") {
        let value = try JSONDecoder().decode(
          JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: "\(path)/\(file)")))
        let found = Self.problems(
          value, .object(HostSnapshot.Key.objectName), at: "\(directory)/\(file)", older: true)
        #expect(found.isEmpty, "\(found.prefix(20))")
      }
    }
    // The goldens hold every kind of document.
    let expected = Set(ContractSchema.documents.map(\.command))
    #expect(checked == expected, "documents no golden shows: \(expected.subtracting(checked).sorted())")
  }

  /// Which document a golden's stdout is: an error's, --version's, or its command's
  /// (over several --host snapshots, the several-hosts form).
  static func command(words: [String], document: JSONValue) -> String {
    if words.contains("export") {
      guard words.contains("ansible") else { return "export" }
      if case .object(let object) = document, object["hostname"] == nil { return AnsibleFacts.failedCommand }
      return AnsibleFacts.command
    }
    if case .object(let object) = document, object["error"] != nil { return ErrorDocument.command }
    if words.contains("--version") { return VersionDocument.command }
    let name = words.first { ["list", "caps", "check", "host", "snapshot"].contains($0) } ?? "?"
    let hostFiles = words.filter { $0 == "--host" }.count
    return hostFiles > 1 ? name + " --host FILE --host FILE" : name
  }

  /// The table is whole: every object a key names is declared, each declared object
  /// is reached from a document, and no two objects share a name.
  @Test func everyObjectIsDeclaredAndReached() {
    let names = ContractSchema.objects.map { $0.objectName }
    #expect(Set(names).count == names.count, "objects declared twice: \(names.sorted())")
    let declared = Set(names)
    func named(_ type: ContractType) -> [String] {
      switch type {
      case .object(let name): [name]
      case .list(let inner), .map(let inner), .nullable(let inner): named(inner)
      case .oneOf(let types): types.flatMap(named)
      default: []
      }
    }
    let rows = Dictionary(grouping: ContractSchema.keys, by: \.object)
    var reached: Set<String> = []
    var queue = ContractSchema.documents.map(\.object)
    while let name = queue.popLast() {
      guard reached.insert(name).inserted else { continue }
      #expect(declared.contains(name), "\(name) is named but not declared in ContractSchema.objects")
      queue += (rows[name] ?? []).flatMap { named($0.field.type) }
    }
    #expect(reached == declared, "declared, never reached: \(declared.subtracting(reached).sorted())")
  }

  /// The validator itself can fail: a document with a key renamed, a type changed and a
  /// key dropped is refused on all three counts.
  @Test func theValidatorRefusesWhatTheTableDoesNot() throws {
    let encoder = JSONEncoder()
    let bytes = try encoder.encode(ListDocument(try Fixtures.scan("synthetic/intel-host")))
    guard case .object(var document) = try JSONDecoder().decode(JSONValue.self, from: bytes),
      case .object(var host) = document["host"]
    else {
      Issue.record("the list document is not an object with a host object")
      return
    }
    host["iommu_group_total"] = host.removeValue(forKey: "iommu_group_count")
    host["sysroot"] = .integer(7)
    host.removeValue(forKey: "hypervisor")
    document["host"] = .object(host)
    let found = Self.problems(.object(document), .object(ListDocument.Key.objectName), at: "doc")
      .joined(separator: "\n")
    #expect(found.contains("doc.host.iommu_group_count: in the table, not written"))
    #expect(found.contains("doc.host.iommu_group_total: written, not in the table"))
    #expect(found.contains("doc.host.sysroot: integer(7) is not string"))
    #expect(found.contains("doc.host.hypervisor: in the table, not written"))
  }

  /// Tests/vm/schema.json, which the rig's check.py validates guest output with, is the
  /// table rendered. RECORD_SCHEMA=1 rewrites it after a change to the table.
  @Test func theRigSchemaIsTheTable() throws {
    let path = "\(Self.repository)/Tests/vm/schema.json"
    let rendered = ContractSchema.rendered()
    if ProcessInfo.processInfo.environment["RECORD_SCHEMA"] != nil {
      try rendered.write(toFile: path, atomically: true, encoding: .utf8)
      return
    }
    let committed = try String(contentsOfFile: path, encoding: .utf8)
    #expect(committed == rendered, "rerun with RECORD_SCHEMA=1 to update \(path)")
    // And it is JSON.
    _ = try JSONDecoder().decode(JSONValue.self, from: Data(rendered.utf8))
  }

  /// The man page's MACHINE-READABLE OUTPUT names every key of the table.
  @Test func theManPageNamesEveryKey() throws {
    let man = try String(contentsOfFile: "\(Self.repository)/man/hiodctl.8", encoding: .utf8)
    let start = try #require(man.range(of: ".SH MACHINE-READABLE OUTPUT"))
    let end = try #require(man.range(of: ".SH EXIT STATUS"))
    // Words as the page shows them: roff's \- is a hyphen, and keys sit between spaces,
    // commas, parentheses and quotes.
    let section = man[start.upperBound..<end.lowerBound].replacingOccurrences(of: "\\-", with: "-")
    let words = Set(
      section.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
    let missing = ContractSchema.keys.filter { !words.contains($0.key) }.map { "\($0.object).\($0.key)" }
    #expect(missing.isEmpty, "keys the man page does not name: \(missing)")
  }
}
