// hiodctl tests — the streaming JSON writer writes exactly what JSONEncoder writes
// (pretty, sorted keys, slashes unescaped), which stays the oracle: on every fixture,
// and on strings made of every ASCII byte, non-ASCII text and non-UTF-8 stand-ins.
// SPDX-License-Identifier: GPL-2.0-or-later

import FoundationEssentials
import Testing

@testable import HostIOMMU

struct ContractWriterTests {
  static func encoderBytes(_ value: some Encodable) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return PathBytes.jsonSafe(Array(try encoder.encode(value)))
  }

  @Test(arguments: ContractSchemaTests.trees + ["captured/no-iommu", "captured/intel-aw48"])
  func theWriterWritesWhatJSONEncoderWrites(_ tree: String) throws {
    let document = ListDocument(try Fixtures.scan(tree))
    let streamed = ContractJSONWriter.document(document)
    let encoded = try Self.encoderBytes(document)
    #expect(streamed == encoded, "\(tree): first difference at byte \(firstDifference(streamed, encoded))")
  }

  /// A snapshot with every backend a fixture can realize (sysfs decodes the vendor
  /// registers; legacy fails, which records the failure): the caps objects too.
  @Test(arguments: ContractSchemaTests.trees + ["captured/no-iommu", "captured/intel-aw48"])
  func snapshotsAreWrittenAsJSONEncoderWritesThem(_ tree: String) throws {
    let snapshot = HostSnapshot.take(
      try Fixtures.root(tree), inventory: try Fixtures.scan(tree), backends: HostSnapshot.recordedBackends)
    let streamed = ContractJSONWriter.document(snapshot.contractValue)
    let encoded = try Self.encoderBytes(snapshot)
    #expect(streamed == encoded, "\(tree): first difference at byte \(firstDifference(streamed, encoded))")
  }

  /// Register values above Int.max, empty lists and maps, and nested lists: the same
  /// bytes as JSONEncoder's, at every depth.
  @Test func numbersAndEmptyContainersAreWhatJSONEncoderWrites() throws {
    let value = ContractValue.map([
      ("huge", .unsigned(UInt64.max)), ("small", .unsigned(7)), ("negative", .integer(Int.min)),
      ("empty", .list([])), ("none", .map([])), ("null", .null),
      ("nested", .list([.list([.unsigned(1 << 63), .boolean(false)]), .map([("k", .strings(["a", "b"]))])])),
    ])
    let streamed = ContractJSONWriter.document(value)
    let encoded = try Self.encoderBytes(EncodableValue(value))
    #expect(streamed == encoded, "first difference at byte \(firstDifference(streamed, encoded))")
  }

  /// Integers of every digit count, either sign, at each count's edges (the writer counts
  /// the digits and writes them backwards), into a writer that starts with almost no
  /// room (its buffer grows many times): JSONEncoder's bytes.
  @Test func integersOfEveryLengthAreWhatJSONEncoderWrites() throws {
    var numbers = [0, 1, -1, 9, -9, Int.max, Int.min, Int.min + 1]
    for exponent in 1...18 {
      let power = (0..<exponent).reduce(1) { product, _ in product * 10 }
      numbers += [power, power - 1, power + 1, -power, -(power - 1), -(power + 1)]
    }
    let value = ContractValue.list(numbers.map(ContractValue.integer))
    let streamed = ContractJSONWriter.document(value, capacity: 1)
    let encoded = try Self.encoderBytes(EncodableValue(value))
    #expect(streamed == encoded, "first difference at byte \(firstDifference(streamed, encoded))")
  }

  /// Lists of 256 items or more are written on several threads and joined: the bytes
  /// stay JSONEncoder's, nested lists included.
  @Test func longListsWrittenOnSeveralThreadsAreWhatJSONEncoderWrites() throws {
    try #require(Parallel.threads > 1, "one processor: the threaded writer cannot be exercised here")
    let groups = (0..<700).map { id in
      IOMMUGroup(
        id: id, type: id % 5 == 0 ? nil : "DMA\(id)", name: id % 7 == 0 ? "x\"\\y" : nil,
        members: (0..<(id % 4)).map { GroupMember(name: "0000:00:\($0).\(id % 8)", driver: "drv\(id % 3)") })
    }
    let value = ContractValue.map([
      ("groups", .objects(groups)), ("huge", .list((0..<300).map { .unsigned(UInt64.max - UInt64($0)) })),
      ("nested", .list((0..<260).map { index in .list((0..<(index % 3)).map { .integer($0) }) })),
    ])
    let streamed = ContractJSONWriter.document(value)
    let encoded = try Self.encoderBytes(EncodableValue(value))
    #expect(streamed == encoded, "first difference at byte \(firstDifference(streamed, encoded))")
  }

  /// Streamed (`hiodctl snapshot`, `--json` documents), a document goes out in pieces,
  /// long lists a batch at a time: the pieces joined are the document's bytes, whatever
  /// the flush length. A snapshot with every backend, and long lists on several threads.
  @Test(arguments: [1, 100, 4096])
  func streamedPiecesJoinToTheDocument(_ flushLength: Int) throws {
    let tree = "synthetic/intel-host"
    let snapshot = HostSnapshot.take(
      try Fixtures.root(tree), inventory: try Fixtures.scan(tree), backends: HostSnapshot.recordedBackends)
    let groups = (0..<1500).map { id in
      IOMMUGroup(
        id: id, type: "DMA", name: nil, members: [GroupMember(name: "0000:00:01.\(id % 8)", driver: "d\(id % 3)")])
    }
    let long = ContractValue.map([("groups", .objects(groups)), ("snapshot", snapshot.contractValue)])
    for value in [snapshot.contractValue, long] {
      var pieces: [[UInt8]] = []
      ContractJSONWriter.stream(value, flushLength: flushLength, to: { pieces.append(Array($0)) })
      let whole = ContractJSONWriter.document(value) + [0x0A]
      let joined = pieces.flatMap { $0 }
      let same = joined == whole  // not in the expectation: it would print both documents
      #expect(same, "flush at \(flushLength): first difference at byte \(firstDifference(joined, whole))")
      #expect(pieces.count > whole.count / (flushLength + 1 << 14), "\(pieces.count) pieces of \(whole.count) bytes")
      #expect(pieces.dropLast().allSatisfy { $0.count >= flushLength }, "a piece shorter than the flush length")
    }
  }

  /// A group whose strings hold every ASCII byte, text outside ASCII, and the stand-ins
  /// PathBytes uses for bytes that are not UTF-8.
  @Test func everyCharacterIsEscapedAsJSONEncoderDoes() throws {
    let ascii = String(decoding: (0...0x7F).map { UInt8($0) }, as: UTF8.self)
    let texts = [
      ascii, "é ü ß — “quotes” \u{2028}\u{2029} 🙂 \u{FEFF}", PathBytes.decode([0x61, 0xFF, 0x62, 0xC3]),
      "", "/a/b",
    ]
    for text in texts {
      let group = IOMMUGroup(id: 3, type: text, name: text, members: [GroupMember(name: text, driver: text)])
      let streamed = ContractJSONWriter.document(group)
      let encoded = try Self.encoderBytes(group)
      #expect(streamed == encoded, "\(Array(text.utf8).prefix(16)): byte \(firstDifference(streamed, encoded))")
    }
  }

  /// The writer can be told apart from JSONEncoder: a key order or a spacing change
  /// shows (the comparison above is not vacuous).
  @Test func aDifferenceIsSeen() throws {
    let document = ListDocument(try Fixtures.scan("synthetic/intel-host"))
    var streamed = ContractJSONWriter.document(document)
    let encoded = try Self.encoderBytes(document)
    #expect(streamed == encoded)
    streamed.insert(0x20, at: streamed.count / 2)
    #expect(streamed != encoded)
  }

  func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
  }
}
