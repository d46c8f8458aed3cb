// hiodctl — any Encodable as contract values, for the streaming writer.
// SPDX-License-Identifier: GPL-2.0-or-later

/// Turns a value the key table does not describe yet (the caps document's
/// HostIOMMUDevice, which a snapshot records for every VFIO device) into a
/// `ContractValue`, so that the streaming writer writes it with the escaping and key
/// order it writes everything else with. JSONEncoder took 2.3 million instructions per
/// device for the same bytes: most of a 4096-function snapshot.
///
/// `codingPath` is always empty: none of the contract's encoders reads it, and building
/// it cost an array per key.
///
/// It covers what the contract holds: strings, booleans, null, integers that fit an
/// `Int`, keyed and unkeyed containers. Anything else (a floating-point number, an
/// integer above `Int.max`) throws `Unsupported`, and the writer asks JSONEncoder
/// instead; ContractWriterTests hold both equal.
enum ContractValueEncoder {
  struct Unsupported: Error {}

  static func value(of encodable: any Encodable) throws -> ContractValue {
    let root = Slot()
    try encodable.encode(to: SlotEncoder(slot: root))
    return root.resolved()
  }
}

/// Where one encoded value goes: filled in by whichever container its encoder hands out.
private final class Slot {
  enum State {
    case empty
    case value(ContractValue)
    case object([(key: String, slot: Slot)])
    case list([Slot])
  }
  var state: State = .empty

  func resolved() -> ContractValue {
    switch state {
    case .empty: .map([])  // JSONEncoder writes {} for a value that encoded nothing
    case .value(let value): value
    case .object(let entries): .map(entries.map { ($0.key, $0.slot.resolved()) })
    case .list(let slots): .list(slots.map { $0.resolved() })
    }
  }

  /// A child slot for `key`; a key given twice keeps its last value, as in JSONEncoder.
  func child(forKey key: String) -> Slot {
    let slot = Slot()
    var entries: [(key: String, slot: Slot)] = []
    if case .object(let existing) = state { entries = existing }
    state = .empty  // give up the array's reference before appending (no copy)
    entries.removeAll { $0.key == key }
    entries.append((key, slot))
    state = .object(entries)
    return slot
  }

  func appendChild() -> Slot {
    let slot = Slot()
    var slots: [Slot] = []
    if case .list(let existing) = state { slots = existing }
    state = .empty
    slots.append(slot)
    state = .list(slots)
    return slot
  }

  func makeObject() {
    if case .object = state { return }
    state = .object([])
  }

  func makeList() {
    if case .list = state { return }
    state = .list([])
  }
}

private struct SlotEncoder: Encoder {
  let slot: Slot
  var codingPath: [any CodingKey] { [] }
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    slot.makeObject()
    return KeyedEncodingContainer(KeyedSlots<Key>(slot: slot))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    slot.makeList()
    return UnkeyedSlots(slot: slot)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    SingleSlot(slot: slot)
  }
}

/// The scalar encodings every container shares. The type is compared first (a pointer
/// comparison): trying `as?` casts one after another made failed dynamic casts a tenth
/// of a snapshot, since most values are structs that are none of these.
private func scalar<T: Encodable>(_ value: T) throws -> ContractValue? {
  let type = T.self
  if type == String.self { return .string(value as! String) }
  if type == Bool.self { return .boolean(value as! Bool) }
  if type == Int.self { return .integer(value as! Int) }
  if type == Int8.self { return .integer(Int(value as! Int8)) }
  if type == Int16.self { return .integer(Int(value as! Int16)) }
  if type == Int32.self { return .integer(Int(value as! Int32)) }
  if type == Int64.self { return .integer(Int(value as! Int64)) }
  if type == UInt8.self { return .integer(Int(value as! UInt8)) }
  if type == UInt16.self { return .integer(Int(value as! UInt16)) }
  if type == UInt32.self { return .integer(Int(value as! UInt32)) }
  if type == UInt.self || type == UInt64.self {
    let number = type == UInt.self ? UInt64(value as! UInt) : value as! UInt64
    guard let fitting = Int(exactly: number) else { throw ContractValueEncoder.Unsupported() }
    return .integer(fitting)
  }
  if type == Double.self || type == Float.self { throw ContractValueEncoder.Unsupported() }
  return nil
}

/// Encodes `value` into `slot`: a scalar directly, anything else through its own
/// `encode(to:)` (which is how Optional, Array and the contract's types arrive).
private func encode(_ value: some Encodable, into slot: Slot) throws {
  if let scalar = try scalar(value) {
    slot.state = .value(scalar)
  } else {
    try value.encode(to: SlotEncoder(slot: slot))
  }
}

private struct KeyedSlots<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let slot: Slot
  var codingPath: [any CodingKey] { [] }

  mutating func encodeNil(forKey key: Key) throws {
    slot.child(forKey: key.stringValue).state = .value(.null)
  }

  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
    try encodeGeneric(value, forKey: key)
  }

  private func encodeGeneric(_ value: some Encodable, forKey key: Key) throws {
    try HostIOMMU.encode(value, into: slot.child(forKey: key.stringValue))
  }

  mutating func encode(_ value: Bool, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: String, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: Double, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: Float, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: Int, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: Int8, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: Int16, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: Int32, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: Int64, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: UInt, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: UInt8, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: UInt16, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: UInt32, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }
  mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodeGeneric(value, forKey: key) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
    -> KeyedEncodingContainer<NestedKey>
  {
    let child = slot.child(forKey: key.stringValue)
    child.makeObject()
    return KeyedEncodingContainer(KeyedSlots<NestedKey>(slot: child))
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    let child = slot.child(forKey: key.stringValue)
    child.makeList()
    return UnkeyedSlots(slot: child)
  }

  mutating func superEncoder() -> any Encoder {
    SlotEncoder(slot: slot.child(forKey: "super"))
  }

  mutating func superEncoder(forKey key: Key) -> any Encoder {
    SlotEncoder(slot: slot.child(forKey: key.stringValue))
  }
}

/// The concrete `encode(_:)` overloads the unkeyed and single-value containers must
/// have, each sent to the container's one generic path.
private protocol ForwardsScalars {
  func encodeGeneric(_ value: some Encodable) throws
}

extension ForwardsScalars {
  mutating func encode(_ value: Bool) throws { try encodeGeneric(value) }
  mutating func encode(_ value: String) throws { try encodeGeneric(value) }
  mutating func encode(_ value: Double) throws { try encodeGeneric(value) }
  mutating func encode(_ value: Float) throws { try encodeGeneric(value) }
  mutating func encode(_ value: Int) throws { try encodeGeneric(value) }
  mutating func encode(_ value: Int8) throws { try encodeGeneric(value) }
  mutating func encode(_ value: Int16) throws { try encodeGeneric(value) }
  mutating func encode(_ value: Int32) throws { try encodeGeneric(value) }
  mutating func encode(_ value: Int64) throws { try encodeGeneric(value) }
  mutating func encode(_ value: UInt) throws { try encodeGeneric(value) }
  mutating func encode(_ value: UInt8) throws { try encodeGeneric(value) }
  mutating func encode(_ value: UInt16) throws { try encodeGeneric(value) }
  mutating func encode(_ value: UInt32) throws { try encodeGeneric(value) }
  mutating func encode(_ value: UInt64) throws { try encodeGeneric(value) }
}

private struct UnkeyedSlots: UnkeyedEncodingContainer, ForwardsScalars {
  let slot: Slot
  var codingPath: [any CodingKey] { [] }
  var count: Int {
    if case .list(let slots) = slot.state { return slots.count }
    return 0
  }

  mutating func encodeNil() throws {
    slot.appendChild().state = .value(.null)
  }

  mutating func encode<T: Encodable>(_ value: T) throws {
    try encodeGeneric(value)
  }

  func encodeGeneric(_ value: some Encodable) throws {
    try HostIOMMU.encode(value, into: slot.appendChild())
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
    -> KeyedEncodingContainer<NestedKey>
  {
    let child = slot.appendChild()
    child.makeObject()
    return KeyedEncodingContainer(KeyedSlots<NestedKey>(slot: child))
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
    let child = slot.appendChild()
    child.makeList()
    return UnkeyedSlots(slot: child)
  }

  mutating func superEncoder() -> any Encoder {
    SlotEncoder(slot: slot.appendChild())
  }
}

private struct SingleSlot: SingleValueEncodingContainer, ForwardsScalars {
  let slot: Slot
  var codingPath: [any CodingKey] { [] }

  mutating func encodeNil() throws {
    slot.state = .value(.null)
  }

  mutating func encode<T: Encodable>(_ value: T) throws {
    try encodeGeneric(value)
  }

  func encodeGeneric(_ value: some Encodable) throws {
    try HostIOMMU.encode(value, into: slot)
  }
}
