// hiodctl tests — fixture trees survive a git clone unchanged.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Glibc
import Testing

struct FixtureIntegrityTests {
  /// git does not store empty directories, so a fixture that needs one (a driver
  /// directory a `driver` link resolves to) silently changes in a fresh clone.
  @Test func noFixtureDirectoryIsEmpty() {
    var empty: [String] = []
    var unreadable: [String] = []
    var directories = 0
    func walk(_ path: String) {
      guard let directory = opendir(path) else {
        // A directory that cannot be read is not one that was checked.
        unreadable.append("\(path): \(String(cString: strerror(errno)))")
        return
      }
      defer { closedir(directory) }
      directories += 1
      var entries = 0
      let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
      let typeOffset = MemoryLayout<dirent>.offset(of: \dirent.d_type)!
      while let entry = readdir(directory) {
        // SAFETY: readdir's record holds the name NUL-terminated at d_name, but may end
        // soon after it: glibc's buffer has only the bytes of this record. So the name is
        // read in place up to its NUL, never by copying the 256-byte d_name array.
        let start = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
        let name = String(cString: start)
        if name == "." || name == ".." { continue }
        entries += 1
        // SAFETY: d_type is a byte of the record's header, which every record has whole.
        let type = UnsafeRawPointer(entry).load(fromByteOffset: typeOffset, as: UInt8.self)
        if type == UInt8(DT_DIR) { walk("\(path)/\(name)") }
      }
      if entries == 0 { empty.append(path) }
    }
    walk(Fixtures.directory)
    #expect(unreadable.isEmpty, "fixture directories that cannot be read: \(unreadable)")
    #expect(directories > 100, "the walk saw \(directories) directories under \(Fixtures.directory)")
    #expect(empty.isEmpty, "empty directories git would drop: \(empty)")
  }

  /// A tree without its own pci.ids is named from the machine's database, so its golden
  /// names would change with the machine (a newer pci.ids names QEMU's 1234:1111).
  @Test func everyFixtureTreeCarriesItsOwnPCIIDs() throws {
    var trees: [String] = []
    for kind in ["captured", "synthetic"] {
      for name in try FileManager.default.contentsOfDirectory(atPath: "\(Fixtures.directory)/\(kind)").sorted()
      where FileManager.default.fileExists(atPath: "\(Fixtures.directory)/\(kind)/\(name)/sys/bus/pci") {
        trees.append("\(kind)/\(name)")
      }
    }
    #expect(trees.count >= 12, "found the trees \(trees)")
    let missing = trees.filter {
      !FileManager.default.fileExists(atPath: "\(Fixtures.directory)/\($0)/usr/share/misc/pci.ids")
    }
    #expect(missing.isEmpty, "trees named from the machine's pci.ids: \(missing) (Tests/vm/check.py pci-ids TREE)")
  }
}
