// hiodctl — which device nodes exist, from one listing of their directory.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

/// The names in a few device directories (`/dev/vfio`, `/dev/vfio/devices`), listed once
/// per scan: a host with thousands of groups would otherwise ask access(2) thousands of
/// times. A directory that cannot be listed falls back to asking for each path.
struct DeviceNodeIndex: Sendable {
  private let root: SystemRoot
  /// Directory → the names in it; absent when the directory could not be listed.
  private let listings: [String: Set<String>]

  init(root: SystemRoot, directories: [String]) {
    self.root = root
    var listings: [String: Set<String>] = [:]
    for directory in directories {
      switch root.directoryEntries(directory) {
      case .success(let names): listings[directory] = Set(names)
      case .failure(.noSuchFileOrDirectory), .failure(.notDirectory): listings[directory] = []
      case .failure: break
      }
    }
    self.listings = listings
  }

  /// Whether `absolute` (a host path) exists.
  ///
  /// The path is split at its last `/` byte, as the kernel splits paths (a
  /// Character-wise `lastIndex(of:)` was most of a 4096-function scan's cost here). The
  /// callers' paths are ASCII: group numbers and `vfioN` cdev names.
  func exists(_ absolute: String) -> Bool {
    let bytes = absolute.utf8
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return root.exists(absolute) }
    let directory = String(Substring(bytes[..<slash]))
    guard let names = listings[directory] else { return root.exists(absolute) }
    return names.contains(String(Substring(bytes[bytes.index(after: slash)...])))
  }
}
