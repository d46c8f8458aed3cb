// hiodctl — one JSON document for a command answered over several snapshots.
// SPDX-License-Identifier: GPL-2.0-or-later

/// `{"schema_version": 1, "hosts": [{"name", "file", "<key>": <the command's document>}]}`.
package struct MultiHostDocument<Document: Encodable & Sendable>: Encodable, Sendable {
  package let key: String
  package let hosts: [(name: String?, file: String?, document: Document)]

  package init(key: String, hosts: [(name: String?, file: String?, document: Document)]) {
    self.key = key
    self.hosts = hosts
  }

  typealias Key = NamedKey

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: Key(stringValue: "schema_version"))
    var list = container.nestedUnkeyedContainer(forKey: Key(stringValue: "hosts"))
    for host in hosts {
      var entry = list.nestedContainer(keyedBy: Key.self)
      try entry.encode(host.name, forKey: Key(stringValue: "name"))
      try entry.encode(host.file, forKey: Key(stringValue: "file"))
      try entry.encode(host.document, forKey: Key(stringValue: key))
    }
  }
}
