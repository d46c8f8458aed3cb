// hiodctl — what every command needs from the global options.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

/// The global options, validated once.
struct CommandContext {
  let root: SystemRoot
  let json: Bool
  let numeric: Bool
  /// Snapshot files given with --host, in order.
  let snapshotFiles: [String]

  init(_ invocation: Invocation) throws {
    snapshotFiles = invocation.allValues(.host)
    if let sysroot = invocation.value(.sysroot) {
      guard snapshotFiles.isEmpty else {
        throw UsageError(
          message: "--sysroot and --host cannot be combined",
          hints: ["--sysroot reads a system tree; --host reads snapshots taken with 'hiodctl snapshot'"],
          command: invocation.command)
      }
      root = try SystemRoot(validating: sysroot)
    } else {
      root = .host
    }
    json = invocation.has(.json)
    numeric = invocation.has(.numeric)
  }

  /// The QEMU this host would run (nil: none installed, or answering from snapshots).
  var hostQEMU: HostQEMU? {
    snapshotFiles.isEmpty ? HostQEMUDetector.detect(root: root) : nil
  }

  /// The hosts to answer for: this host (or the --sysroot tree), or each --host snapshot.
  func hosts() throws -> [HostView] {
    if snapshotFiles.isEmpty {
      let inventory = try HostInventory.scan(root, options: .init(resolveNames: !numeric))
      return [HostView(name: nil, file: nil, inventory: inventory, realizer: HostIOMMURealizer(root: root))]
    }
    return try snapshotFiles.map { file in
      let snapshot = try HostSnapshot.load(file)
      return HostView(
        name: snapshot.metadata.hostname, file: file, inventory: snapshot.inventory, realizer: snapshot.realizer)
    }
  }
}

/// One host a command answers for.
struct HostView {
  /// The snapshot's hostname; nil for the live host.
  let name: String?
  /// The snapshot file; nil for the live host.
  let file: String?
  let inventory: HostInventory
  let realizer: HostIOMMURealizer

  /// `aw39-guest (a.json)`, for headings.
  var title: String { [name, file.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ") }

  /// Prints the host's warnings, prefixed with its name when several hosts are read.
  func reportWarnings(among count: Int) {
    let prefix = count > 1 ? "\(name ?? "host"): " : ""
    Output.warnings(inventory.warnings, prefix: prefix)
  }
}
