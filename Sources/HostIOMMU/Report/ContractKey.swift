// hiodctl — the JSON contract declared once: every key of an object, with its type, its
// meaning and the schema_version that introduced it, is one case of that object's
// CodingKey enum. The encoder switches over every case (the compiler rejects a key it
// does not write), the decoder reads the same enum, `ContractSchema` renders the table
// as Tests/vm/schema.json for the VM rig, and a test holds the man page's
// MACHINE-READABLE OUTPUT to it.
// SPDX-License-Identifier: GPL-2.0-or-later

/// The JSON type of a contract key's value.
package indirect enum ContractType: Sendable, Equatable {
  case string
  case integer
  case boolean
  /// `"0x"` and 16 lower-case hex digits: 64-bit registers and addresses.
  case hex64
  /// Lower-case hex without `0x`, exactly `digits` long (PCI IDs, as `lspci -n`).
  case hex(digits: Int)
  /// `DDDD:BB:DD.F` (the domain may be wider than 4 digits).
  case pciAddress
  /// `MAJOR:MINOR` of a character device, in decimal.
  case deviceNumber
  /// One of these strings.
  case choice([String])
  /// An object of the contract, by its name in `ContractSchema.objects`.
  case object(String)
  case list(ContractType)
  /// An object whose keys are data (module names), every value of one type.
  case map(ContractType)
  /// The type, or null.
  case nullable(ContractType)
  /// Exactly one of these (objects told apart by their keys, or by a `type` key).
  case oneOf([ContractType])
}

/// One key's declaration: type, meaning, first schema_version.
package struct ContractField: Sendable {
  package let type: ContractType
  package let meaning: String
  package let since: Int

  package init(_ type: ContractType, _ meaning: String, since: Int = 1) {
    self.type = type
    self.meaning = meaning
    self.since = since
  }
}

/// The keys of one object of the JSON contract: the raw value is the key as printed.
package protocol ContractKey: CodingKey, CaseIterable, Sendable, RawRepresentable where RawValue == String {
  /// The object's name in the schema ("device", "group").
  static var objectName: String { get }
  /// This key's type, meaning and first schema_version.
  var field: ContractField { get }
  /// The cases in the order JSONEncoder's `.sortedKeys` writes them (the streaming
  /// writer's order), with the bytes that open each member: `SortedContractKeys(Self.self)`,
  /// stored once per enum.
  static var sortedKeys: SortedContractKeys<Self> { get }
}

/// A whole document of the contract: what `hiodctl --json COMMAND` prints.
package protocol ContractDocument: ContractObject {
  /// The command whose document this is ("list", "caps").
  static var command: String { get }
}

/// `K`'s cases sorted by their key, byte by byte, as JSONEncoder sorts them, and what
/// the streaming writer puts before each one's value, `"key" : `, made once: written key
/// by key (a quote, the key, the separator) it was three appends a member.
package struct SortedContractKeys<K: ContractKey>: Sendable {
  package let cases: [K]
  /// Every member's opening, one after another; case i's is `openings[ends[i - 1]..<ends[i]]`.
  let openings: [UInt8]
  let ends: [Int]

  package init(_: K.Type) {
    cases = K.allCases.sorted { $0.rawValue.utf8.lexicographicallyPrecedes($1.rawValue.utf8) }
    var openings: [UInt8] = []
    var ends: [Int] = []
    for key in cases {
      openings.append(0x22)
      openings.append(contentsOf: key.rawValue.utf8)
      openings.append(contentsOf: "\" : ".utf8)
      ends.append(openings.count)
    }
    self.openings = openings
    self.ends = ends
  }

  /// Where case `index`'s opening is in `openings`.
  func opening(_ index: Int) -> Range<Int> { (index == 0 ? 0 : ends[index - 1])..<ends[index] }
}

/// The choices of a String-backed enum, for `.choice`.
package func choices<T: CaseIterable & RawRepresentable>(of _: T.Type) -> [String] where T.RawValue == String {
  T.allCases.map(\.rawValue)
}

/// The whole table, and its rendering as the schema the VM rig validates guest output
/// against (Tests/vm/schema.json, kept equal to this by ContractSchemaTests).
package enum ContractSchema {
  /// Every object of every document. ContractSchemaTests hold that each object a key
  /// names is here, and that each one here is reached from a document.
  package static let objects: [any ContractKey.Type] = [
    // list (and the snapshot, which embeds it)
    ListDocument.Key.self, HostEntry.Key.self, IOMMUUnit.Key.self, IOMMUUnit.IntelKey.self,
    IOMMUUnit.AMDKey.self, DeviceNode.Key.self, UnsafeInterruptsPolicy.Key.self, Diagnosis.Key.self,
    PortACS.Key.self, DeviceUse.Key.self, DeviceEntry.Key.self, VFIOCdev.Key.self, IOMMUGroup.Key.self,
    GroupMember.Key.self, ReservedRegion.Key.self,
    // caps
    CapsDocument.Key.self, DeviceRealization.Key.self, RealizeAttempt.Key.self, DeviceReset.Key.self,
    RealizeFailure.Key.self, Provenance.Key.self, HostIOMMUDevice.Key.self, SourcedEntry<AWBitsValue>.Key.self,
    SourcedEntry<IOVARangesValue>.Key.self, SourcedEntry<PageSizeMaskValue>.Key.self,
    SourcedEntry<IOMMUTypeValue>.Key.self, SourcedEntry<HardwareCapabilitiesValue>.Key.self,
    SourcedEntry<MaxPASIDLog2Value>.Key.self, GetCapEntry.Key.self, GetCapEntry.Answer.Key.self,
    GetCapEntry.Unsupported.Key.self, GetCapEntry.Unknown.Key.self, VendorEntry.IntelVTd.Key.self,
    VendorEntry.ARMSMMUv3.Key.self, VendorEntry.AMD.Key.self, VendorEntry.Other.Key.self, FieldEntry.Key.self,
    NestingParentProbe.Key.self, LegacyContainerInfo.Key.self, IOMMUFDObjects.Key.self, IOVARange.Key.self,
    // check
    CheckDocument.Key.self, ConfigurationEntry.Key.self, PropertyEntry.Key.self, QEMUErrorEntry.Key.self,
    InvocationEntry.Key.self, VerdictEntry.Key.self, Finding.Key.self, Remedy.Key.self, SuggestionEntry.Key.self,
    PoolCheckDocument.Key.self, PoolHostEntry.Key.self, PoolSuggestionEntry.Key.self,
    PoolHostSuggestionEntry.Key.self,
    // host, errors, --version
    HostDocument.Key.self, ReadinessCheck.Key.self, ErrorDocument.Key.self, ErrorDocument.ErrorKey.self,
    VersionDocument.Key.self,
    // snapshot
    HostSnapshot.Key.self, HostSnapshot.KernelKey.self, HostSnapshot.DeviceKey.self, HostSnapshot.OutcomeKey.self,
    // export --format ansible
    AnsibleFacts.Key.self, AnsibleFacts.Failed.Key.self, AnsibleFacts.IOMMUFact.Key.self,
    AnsibleFacts.DeviceFact.Key.self, AnsibleFacts.ModelFact.Key.self, AnsibleFacts.IntelModelFact.Key.self,
    AnsibleFacts.HostFact.Key.self, AnsibleFacts.CheckFact.Key.self,
    // several --host snapshots
    MultiHostDocument<ListDocument>.Key.self, MultiHostDocument<ListDocument>.Entry.Key.self,
    MultiHostDocument<CapsDocument>.Key.self, MultiHostDocument<CapsDocument>.Entry.Key.self,
    MultiHostDocument<HostDocument>.Key.self, MultiHostDocument<HostDocument>.Entry.Key.self,
  ]

  /// The documents: what each command prints, and the object it is.
  package static let documents: [(command: String, object: String)] = [
    document(ListDocument.self), document(CapsDocument.self), document(CheckDocument.self),
    document(HostDocument.self), document(ErrorDocument.self), document(VersionDocument.self),
    document(HostSnapshot.self), document(PoolCheckDocument.self), document(MultiHostDocument<ListDocument>.self),
    document(MultiHostDocument<CapsDocument>.self), document(MultiHostDocument<HostDocument>.self),
    document(AnsibleFacts.self), (AnsibleFacts.failedCommand, AnsibleFacts.Failed.Key.objectName),
  ]

  private static func document<D: ContractDocument>(_: D.Type) -> (command: String, object: String) {
    (D.command, D.Key.objectName)
  }

  /// Every key of every object, as (object, key, field), in table order.
  package static var keys: [(object: String, key: String, field: ContractField)] {
    objects.flatMap { type in rows(of: type) }
  }

  private static func rows<K: ContractKey>(of _: K.Type) -> [(object: String, key: String, field: ContractField)] {
    K.allCases.map { (K.objectName, $0.rawValue, $0.field) }
  }

  /// The schema as JSON text: objects and keys sorted, two-space indentation, one
  /// trailing newline (what Tests/vm/schema.json holds).
  package static func rendered() -> String {
    var lines = ["{", "  \"documents\": {"]
    lines += documents.sorted { $0.command < $1.command }.enumerated().map { index, document in
      "    \(quoted(document.command)): \(quoted(document.object))" + (index < documents.count - 1 ? "," : "")
    }
    lines.append("  },")
    lines.append("  \"objects\": {")
    let byObject = Dictionary(grouping: keys, by: \.object)
    let names = byObject.keys.sorted()
    for (objectIndex, name) in names.enumerated() {
      lines.append("    \(quoted(name)): {")
      let fields = byObject[name]!.sorted { $0.key < $1.key }
      for (index, row) in fields.enumerated() {
        let comma = index < fields.count - 1 ? "," : ""
        lines.append(
          "      \(quoted(row.key)): {\"meaning\": \(quoted(row.field.meaning)), \"since\": \(row.field.since), "
            + "\"type\": \(render(row.field.type))}\(comma)")
      }
      lines.append("    }" + (objectIndex < names.count - 1 ? "," : ""))
    }
    lines.append("  },")
    lines.append("  \"schema_version\": \(JSONSchema.version)")
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  static func render(_ type: ContractType) -> String {
    switch type {
    case .string: "{\"kind\": \"string\"}"
    case .integer: "{\"kind\": \"integer\"}"
    case .boolean: "{\"kind\": \"boolean\"}"
    case .hex64: "{\"kind\": \"hex64\"}"
    case .hex(let digits): "{\"digits\": \(digits), \"kind\": \"hex\"}"
    case .pciAddress: "{\"kind\": \"pci_address\"}"
    case .deviceNumber: "{\"kind\": \"device_number\"}"
    case .choice(let values): "{\"kind\": \"choice\", \"values\": [\(values.map(quoted).joined(separator: ", "))]}"
    case .object(let name): "{\"kind\": \"object\", \"object\": \(quoted(name))}"
    case .list(let element): "{\"element\": \(render(element)), \"kind\": \"list\"}"
    case .map(let value): "{\"kind\": \"map\", \"value\": \(render(value))}"
    case .nullable(let inner): "{\"kind\": \"nullable\", \"value\": \(render(inner))}"
    case .oneOf(let types): "{\"kind\": \"one_of\", \"values\": [\(types.map(render).joined(separator: ", "))]}"
    }
  }

  static func quoted(_ text: String) -> String { ContractJSONWriter.quoted(text) }
}
