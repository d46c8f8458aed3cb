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
  static func problems(_ value: JSONValue, _ type: ContractType, at path: String) -> [String] {
    func hex(_ text: String, digits: Int) -> Bool {
      text.count == digits && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
    if case .nullable(let inner) = type {
      if case .null = value { return [] }
      return problems(value, inner, at: path)
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
      for key in Set(object.keys).symmetricDifference(table.keys).sorted() {
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
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let bytes = try encoder.encode(ListDocument(try Fixtures.scan(tree)))
    let document = try JSONDecoder().decode(JSONValue.self, from: bytes)
    let found = Self.problems(document, .object(ListDocument.Key.objectName), at: tree)
    #expect(found.isEmpty, "\(found.prefix(20))")
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
