// hiodctl tests — fixture trees survive a git clone unchanged.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Testing

struct FixtureIntegrityTests {
  /// git does not store empty directories, so a fixture that needs one (a driver
  /// directory a `driver` link resolves to) silently changes in a fresh clone.
  @Test func noFixtureDirectoryIsEmpty() {
    var empty: [String] = []
    func walk(_ path: String) {
      guard let directory = opendir(path) else { return }
      defer { closedir(directory) }
      var entries = 0
      while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) {
          String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        entries += 1
        if entry.pointee.d_type == UInt8(DT_DIR) { walk("\(path)/\(name)") }
      }
      if entries == 0 { empty.append(path) }
    }
    walk(Fixtures.directory)
    #expect(empty.isEmpty, "empty directories git would drop: \(empty)")
  }
}
