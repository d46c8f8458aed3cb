// hiodctl — one function per contract object gives the value of each of its keys; both
// ways of writing the document come from it: Encodable (JSONEncoder, for documents that
// embed the object) and the streaming writer `hiodctl --json list` uses, which writes
// the same bytes without materialising the document first.
// SPDX-License-Identifier: GPL-2.0-or-later

import FoundationEssentials

/// The value of one key of the contract.
package enum ContractValue {
  case null
  case string(String)
  case integer(Int)
  case boolean(Bool)
  case object(any ContractObject)
  case list([ContractValue])
  /// An object whose keys are data (module names), or whose keys are not in the table.
  case map([(key: String, value: ContractValue)])
  /// An integer above Int.max (a 64-bit register field): JSONEncoder writes it as a
  /// number, and so does the writer.
  case largeInteger(UInt64)

  /// `value`, or null.
  static func optional<T>(_ value: T?, _ wrap: (T) -> ContractValue) -> ContractValue {
    value.map(wrap) ?? .null
  }

  static func string(_ value: String?) -> ContractValue { optional(value, ContractValue.string) }
  static func integer(_ value: Int?) -> ContractValue { optional(value, ContractValue.integer) }
  static func boolean(_ value: Bool?) -> ContractValue { optional(value, ContractValue.boolean) }
  static func object(_ value: (any ContractObject)?) -> ContractValue { optional(value, ContractValue.object) }
  static func objects(_ values: [any ContractObject]) -> ContractValue { .list(values.map(ContractValue.object)) }
  static func strings(_ values: [String]) -> ContractValue { .list(values.map(ContractValue.string)) }
  /// An unsigned register value as a JSON number (JSONEncoder writes one above Int.max).
  static func unsigned(_ value: UInt64) -> ContractValue {
    Int(exactly: value).map(ContractValue.integer) ?? .largeInteger(value)
  }
}

/// An object of the JSON contract: its keys (the table) and each key's value.
package protocol ContractObject: Encodable {
  associatedtype Key: ContractKey
  func value(for key: Key) -> ContractValue
}

extension ContractObject {
  package func encode(to encoder: any Encoder) throws {
    try encodeKeys(to: encoder)
  }

  /// Every key of the table, in the table's order; JSONEncoder sorts them. (An object
  /// that is written as one of several objects calls it for itself.)
  package func encodeKeys(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in Key.allCases {
      try container.encode(EncodableValue(value(for: key)), forKey: key)
    }
  }
}

/// A `ContractValue` as Encodable.
package struct EncodableValue: Encodable {
  let value: ContractValue
  package init(_ value: ContractValue) { self.value = value }

  package func encode(to encoder: any Encoder) throws {
    switch value {
    case .null:
      var single = encoder.singleValueContainer()
      try single.encodeNil()
    case .string(let text):
      var single = encoder.singleValueContainer()
      try single.encode(text)
    case .integer(let number):
      var single = encoder.singleValueContainer()
      try single.encode(number)
    case .boolean(let flag):
      var single = encoder.singleValueContainer()
      try single.encode(flag)
    case .object(let object):
      try object.encode(to: encoder)
    case .list(let items):
      var list = encoder.unkeyedContainer()
      for item in items { try list.encode(EncodableValue(item)) }
    case .largeInteger(let number):
      var single = encoder.singleValueContainer()
      try single.encode(number)
    case .map(let entries):
      var container = encoder.container(keyedBy: NamedKey.self)
      for entry in entries {
        try container.encode(EncodableValue(entry.value), forKey: NamedKey(stringValue: entry.key))
      }
    }
  }
}

/// Writes the contract as JSONEncoder does with `.prettyPrinted, .sortedKeys,
/// .withoutEscapingSlashes` (two-space indentation, `"key" : value`, an empty list as
/// `[` blank line `]`), straight into one byte buffer: no intermediate tree, keys in an
/// order computed once per object type. ContractWriterTests hold the bytes equal to
/// JSONEncoder's on every fixture.
///
/// Not copyable: its bytes are a `ByteBuffer`, a class, which two copies would share
/// and both write into.
package struct ContractJSONWriter: ~Copyable {
  /// What has been written (and not yet handed to a sink).
  private let out: ByteBuffer
  package var bytes: [UInt8] { out.array }
  private var depth = 0
  /// Where a streamed document goes: the bytes written so far are handed over whenever
  /// they reach `flushLength`, at the end of a member, so the document is never whole in
  /// memory (a 4096-function snapshot is 36 MB of JSON; held whole, with the buffer's
  /// doublings, it was most of the command's 101 MiB peak).
  private var sink: ((UnsafeRawBufferPointer) -> Void)?

  /// Bytes held before they go to the sink: a few pipe buffers' worth.
  static let defaultFlushLength = 1 << 16
  private var flushLength = defaultFlushLength

  package init(capacity: Int = 1 << 16) {
    out = ByteBuffer(capacity: capacity)
  }

  /// Writes the document `root` to `sink` a piece at a time, followed by a newline: the
  /// same bytes `document(_:)` returns.
  package static func stream(_ root: some ContractObject, to sink: (UnsafeRawBufferPointer) -> Void) {
    stream(.object(root), flushLength: defaultFlushLength, to: sink)
  }

  /// The same for any value, flushing whenever `flushLength` bytes are held (the tests
  /// make it small, to cut fixture-sized documents into many pieces).
  static func stream(
    _ root: ContractValue, flushLength: Int, to sink: (UnsafeRawBufferPointer) -> Void
  ) {
    // The writer, and so the sink it holds, ends with this call.
    withoutActuallyEscaping(sink) { sink in
      var writer = ContractJSONWriter(capacity: flushLength + (flushLength >> 2))
      writer.sink = sink
      writer.flushLength = flushLength
      writer.write(root)
      writer.out.append(0x0A)
      writer.flush()
    }
  }

  /// Hands what is held to the sink.
  private mutating func flush() {
    guard let sink, out.count > 0 else { return }
    out.withUnsafeBytes(sink)
    out.removeAll()
  }

  /// Flushes if enough is held (between members: any point is as good as another for
  /// the bytes, and this one is cheap to test).
  private mutating func flushIfFull() {
    if sink != nil && out.count >= flushLength { flush() }
  }

  /// The document `root`, followed by nothing (callers add the newline).
  package static func document(_ root: some ContractObject, capacity: Int = 1 << 16) -> [UInt8] {
    var writer = ContractJSONWriter(capacity: capacity)
    writer.write(root)
    return writer.bytes
  }

  /// The document `root` (a value the table does not declare as one object: the
  /// tests' mixed documents).
  package static func document(_ root: ContractValue, capacity: Int = 1 << 16) -> [UInt8] {
    var writer = ContractJSONWriter(capacity: capacity)
    writer.write(root)
    return writer.bytes
  }

  /// `value` as JSONEncoder writes the documents that do not stream: pretty, keys
  /// sorted (Foundation does not keep insertion order, and output must be byte-for-byte
  /// stable for scripts and goldens), slashes as is, and bytes of arguments that were
  /// not UTF-8 as U+FFFD (JSON is UTF-8). The writer writes exactly these bytes.
  package static func encoderBytes(_ value: some Encodable) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return PathBytes.jsonSafe(Array(try encoder.encode(value)))
  }

  mutating func write(_ value: ContractValue) {
    switch value {
    case .null: append("null")
    case .string(let text): writeString(text)
    case .integer(let number): out.appendDecimal(number)
    case .boolean(let flag): append(flag ? "true" : "false")
    case .object(let object): write(object)
    case .largeInteger(let number): out.append(contentsOf: String(number).utf8)
    case .list(let items) where items.count >= Self.parallelListLength && Parallel.threads > 1:
      writeInParallel(items)
    case .list(let items):
      out.append(0x5B)
      writeMembers(count: items.count) { writer, index in writer.write(items[index]) }
      out.append(0x5D)
    case .map(let entries):
      let sorted = entries.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
      out.append(0x7B)
      writeMembers(count: sorted.count) { writer, index in
        writer.writeString(sorted[index].key)
        writer.append(" : ")
        writer.write(sorted[index].value)
      }
      out.append(0x7D)
    }
  }

  mutating func write<Object: ContractObject>(_ object: Object) {
    let keys = Object.Key.sortedKeys
    out.append(0x7B)
    writeMembers(count: keys.cases.count) { writer, index in
      keys.openings.withUnsafeBufferPointer {
        writer.out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[keys.opening(index)]))
      }
      writer.write(object.value(for: keys.cases[index]))
    }
    out.append(0x7D)
  }

  /// Lists at least this long (a host's devices or groups, a snapshot's caps) are
  /// written on several threads.
  static let parallelListLength = 256

  /// A long list written as `writeMembers` writes it, its items on `Parallel.threads`
  /// threads: each item by a writer of its own at the depth it goes to, then the
  /// pieces joined in order. The items are only read: contract values are immutable
  /// snapshots of the host, and computing a key's value changes nothing.
  private mutating func writeInParallel(_ items: [ContractValue]) {
    out.append(0x5B)
    depth += 1
    out.append(0x0A)
    // Streamed, the list goes a batch at a time, so that only one batch's bytes are held;
    // written whole, in one batch.
    let batch = sink == nil ? items.count : max(Self.parallelListLength, 64 * Parallel.threads)
    var first = 0
    while first < items.count {
      let batchEnd = min(first + batch, items.count)
      writeMembersInParallel(items, first..<batchEnd)
      first = batchEnd
    }
    depth -= 1
    out.append(0x0A)
    indent()
    out.append(0x5D)
  }

  /// Members `range` of a list being written (`writeMembers`' lines, commas and
  /// indentation), each written on one of `Parallel.threads` threads.
  private mutating func writeMembersInParallel(_ items: [ContractValue], _ range: Range<Int>) {
    let shared = UncheckedSendable((items: items, depth: depth))
    let pieces = Parallel.map(Array(range), minimumChunk: 64) { chunk in
      var writer = ContractJSONWriter(capacity: 1 << 14)
      writer.depth = shared.value.depth
      var ends: [Int] = []
      for index in chunk {
        writer.write(shared.value.items[index])
        ends.append(writer.out.count)
      }
      return [UncheckedSendable((bytes: writer.bytes, ends: ends))]
    }
    // Item i is bytes[start..<end] of the piece of its chunk.
    var slices: [(piece: Int, start: Int, end: Int)] = []
    slices.reserveCapacity(items.count)
    for (piece, written) in pieces.enumerated() {
      var start = 0
      for end in written.value.ends {
        slices.append((piece, start, end))
        start = end
      }
    }
    for (offset, slice) in slices.enumerated() {
      if range.lowerBound + offset > 0 { append(",\n") }
      indent()
      pieces[slice.piece].value.bytes.withUnsafeBufferPointer {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[slice.start..<slice.end]))
      }
      flushIfFull()
    }
  }

  /// `count` members, each on its own line one level deeper, comma-separated; none is
  /// a blank line, as JSONEncoder prints an empty list or object.
  private mutating func writeMembers(count: Int, _ member: (inout ContractJSONWriter, Int) -> Void) {
    depth += 1
    out.append(0x0A)
    for index in 0..<count {
      if index > 0 { append(",\n") }
      indent()
      member(&self, index)
      flushIfFull()
    }
    depth -= 1
    out.append(0x0A)
    indent()
  }

  private mutating func indent() {
    let count = 2 * depth
    if count <= Self.spaces.count {
      Self.spaces.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<count])) }
    } else {
      out.append(contentsOf: repeatElement(0x20, count: count))
    }
  }

  /// Indentation is copied from here (the contract nests five levels deep).
  private static let spaces = [UInt8](repeating: 0x20, count: 32)

  /// The UTF-8 of `text` (a key or a literal) appended from its contiguous storage.
  private mutating func append(_ text: StaticString) {
    text.withUTF8Buffer { out.append(contentsOf: $0) }
  }

  private mutating func append(_ text: String) {
    var text = text
    text.withUTF8 { out.append(contentsOf: $0) }
  }

  /// A JSON string as JSONEncoder escapes it (quote, backslash, the C0 controls; `/` as
  /// is), with PathBytes' stand-ins for bytes that were not UTF-8 written as U+FFFD.
  mutating func writeString(_ text: String) {
    out.append(0x22)
    // Most strings (addresses, names, hex) need no escape: copied whole, from their
    // contiguous UTF-8 (a byte loop over `utf8` cost twice as much).
    var contiguous = text
    let copied = contiguous.withUTF8 { utf8 in
      guard !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xF4 }) else { return false }
      out.append(contentsOf: utf8)
      return true
    }
    if copied {
      out.append(0x22)
      return
    }
    let start = out.count
    for byte in text.utf8 {
      switch byte {
      case 0x22: out.append(contentsOf: [0x5C, 0x22])
      case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
      case 0x08: out.append(contentsOf: [0x5C, 0x62])
      case 0x0C: out.append(contentsOf: [0x5C, 0x66])
      case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
      case 0x0D: out.append(contentsOf: [0x5C, 0x72])
      case 0x09: out.append(contentsOf: [0x5C, 0x74])
      case 0x00...0x1F:
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
      default: out.append(byte)
      }
    }
    // U+10FF00… (PathBytes' stand-ins) are F4 8F BC..BF xx; JSON gets U+FFFD for each.
    // Only this string's bytes are looked at, not the document written so far.
    if text.utf8.contains(0xF4) {
      let escaped = PathBytes.jsonSafe(out.suffix(from: start))
      out.removeLast(out.count - start)
      out.append(contentsOf: escaped)
    }
    out.append(0x22)
  }

  /// `text` as a JSON string literal, escaped as in documents.
  static func quoted(_ text: String) -> String {
    var writer = ContractJSONWriter(capacity: text.utf8.count + 2)
    writer.writeString(text)
    return String(decoding: writer.bytes, as: UTF8.self)
  }
}

/// The writer's bytes: a growable buffer written with a bounds check and a copy. An
/// `Array.append(contentsOf:)` of a member's few bytes cost about a hundred instructions,
/// and a member is four or five appends (indentation, `"key" : `, the value, `,\n`).
/// Owned by one writer, on one thread.
final class ByteBuffer {
  private var base: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  private(set) var count = 0

  init(capacity: Int) {
    self.capacity = max(capacity, 64)
    base = .allocate(capacity: self.capacity)
  }

  deinit { base.deallocate() }

  /// Everything written, as an array.
  var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

  /// The bytes from `start` on, as an array.
  func suffix(from start: Int) -> [UInt8] { Array(UnsafeBufferPointer(start: base + start, count: count - start)) }

  func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    body(UnsafeRawBufferPointer(start: base, count: count))
  }

  /// Forgets what was written, keeping the storage.
  func removeAll() { count = 0 }

  func removeLast(_ number: Int) {
    precondition(number >= 0 && number <= count)
    count -= number
  }

  func append(_ byte: UInt8) {
    if count == capacity { grow(to: count + 1) }
    base[count] = byte
    count += 1
  }

  func append(contentsOf source: UnsafeBufferPointer<UInt8>) {
    let length = source.count
    guard length > 0, let start = source.baseAddress else { return }
    if capacity - count < length { grow(to: count + length) }
    (base + count).update(from: start, count: length)
    count += length
  }

  /// Anything else (a number's digits, an escape): rare enough to go byte by byte.
  func append(contentsOf source: some Sequence<UInt8>) {
    for byte in source { append(byte) }
  }

  /// `number` in decimal, as `String(number)` writes it: the digits counted, then
  /// written from the last one back.
  func appendDecimal(_ number: Int) {
    if number < 0 { append(UInt8(ascii: "-")) }
    var magnitude = number.magnitude
    var length = 1
    var rest = magnitude / 10
    while rest > 0 {
      rest /= 10
      length += 1
    }
    if capacity - count < length { grow(to: count + length) }
    var position = count + length
    repeat {
      position -= 1
      base[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
      magnitude /= 10
    } while magnitude > 0
    count += length
  }

  /// At least `needed` bytes of storage, doubling (so that appends stay linear).
  private func grow(to needed: Int) {
    let newCapacity = max(capacity * 2, needed)
    let new = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
    new.update(from: base, count: count)
    base.deallocate()
    base = new
    capacity = newCapacity
  }
}
