// hiodctl — one JSON document for a command answered over several snapshots, declared
// in the contract's table (ContractKey.swift) once for every command that has one.
// SPDX-License-Identifier: GPL-2.0-or-later

/// `{"schema_version": 1, "hosts": [{"name", "file", "<command>": <its document>}]}`.
package struct MultiHostDocument<Document: ContractDocument & Sendable>: ContractDocument, Sendable {
  package static var command: String { Document.command + " --host FILE --host FILE" }
  package let hosts: [(name: String?, file: String?, document: Document)]

  package init(hosts: [(name: String?, file: String?, document: Document)]) {
    self.hosts = hosts
  }

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case hosts

    package static var objectName: String { "hosts_" + Document.Key.objectName }
    package static var sortedKeys: SortedContractKeys<Key> { SortedContractKeys(Self.self) }
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .hosts: ContractField(.list(.object(Entry.Key.objectName)), "each host's answer, in --host order")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .hosts: .objects(hosts.map { Entry(name: $0.name, file: $0.file, document: $0.document) })
    }
  }

  /// One host: its name, its snapshot, and the command's document for it, under the
  /// command's name.
  package struct Entry: ContractObject {
    let name: String?
    let file: String?
    let document: Document

    package struct Key: ContractKey {
      package enum Role: Sendable { case name, file, document }
      let role: Role
      init(_ role: Role) { self.role = role }

      package var rawValue: String {
        switch role {
        case .name: "name"
        case .file: "file"
        case .document: Document.command
        }
      }
      package init?(rawValue: String) {
        guard let key = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = key
      }
      package var stringValue: String { rawValue }
      package init?(stringValue: String) { self.init(rawValue: stringValue) }
      package var intValue: Int? { nil }
      package init?(intValue: Int) { nil }

      package static var allCases: [Key] { [Key(.name), Key(.file), Key(.document)] }
      package static var objectName: String { "hosts_" + Document.Key.objectName + "_entry" }
      package static var sortedKeys: SortedContractKeys<Key> { SortedContractKeys(Self.self) }
      package var field: ContractField {
        switch role {
        case .name: ContractField(.nullable(.string), "the host's name, from its snapshot")
        case .file: ContractField(.nullable(.string), "the snapshot file (--host)")
        case .document: ContractField(.object(Document.Key.objectName), "what the command answers for this host")
        }
      }
    }

    package func value(for key: Key) -> ContractValue {
      switch key.role {
      case .name: .string(name)
      case .file: .string(file)
      case .document: .object(document)
      }
    }
  }
}
