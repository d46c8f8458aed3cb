// hiodctl tests — where the fixture trees are.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum Fixtures {
  /// `Tests/Fixtures`, found from this source file so tests run from any directory.
  static let directory: String = {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(2)  // HostIOMMUTests/Fixtures.swift
    return components.joined(separator: "/") + "/Fixtures"
  }()

  static func path(_ name: String) -> String { "\(directory)/\(name)" }

  static func root(_ name: String) throws -> SystemRoot {
    try SystemRoot(validating: path(name))
  }

  /// Scans a fixture with names resolved from its own pci.ids.
  static func scan(_ name: String, names: Bool = true) throws -> HostInventory {
    try HostInventory.scan(root(name), options: .init(resolveNames: names))
  }
}
