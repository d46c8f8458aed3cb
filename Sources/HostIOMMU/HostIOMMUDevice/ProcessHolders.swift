// hiodctl — who holds a VFIO node open (the running QEMU behind an EBUSY).
// SPDX-License-Identifier: GPL-2.0-or-later

/// A process with a descriptor open on a node.
package struct NodeHolder: Hashable, Sendable {
  package var pid: Int
  /// `/proc/<pid>/comm`.
  package var command: String?

  package init(pid: Int, command: String?) {
    self.pid = pid
    self.command = command
  }
}

enum ProcessHolders {
  /// The processes whose `/proc/<pid>/fd/*` point at `node`. `complete` is false when
  /// some processes' descriptors could not be read (another user's, without root).
  static func find(_ node: String, in root: SystemRoot) -> (holders: [NodeHolder], complete: Bool) {
    let (holders, complete) = find(anyOf: [node], in: root)
    return (holders.map(\.holder), complete)
  }

  /// The processes holding any of `nodes`, each with the node it holds.
  static func find(anyOf nodes: [String], in root: SystemRoot)
    -> (holders: [(holder: NodeHolder, node: String)], complete: Bool)
  {
    let wanted = Set(nodes)
    guard case .success(let entries) = root.directoryEntries("/proc") else { return ([], false) }
    var holders: [(holder: NodeHolder, node: String)] = []
    var complete = true
    for entry in entries {
      guard let pid = Int(entry) else { continue }
      guard case .success(let descriptors) = root.directoryEntries("/proc/\(pid)/fd") else {
        complete = false
        continue
      }
      for descriptor in descriptors {
        if case .success(let target) = root.readLink("/proc/\(pid)/fd/\(descriptor)"), wanted.contains(target) {
          let command = root.readText("/proc/\(pid)/comm").ok.map { String($0.trimmingWhitespace()) }
          holders.append((NodeHolder(pid: pid, command: command), target))
          break
        }
      }
    }
    return (holders.sorted { $0.holder.pid < $1.holder.pid }, complete)
  }

  /// Who makes a group node busy: a process holding the group, or one holding a cdev of
  /// one of its devices (an iommufd user, such as QEMU with iommufd=, keeps the group
  /// closed and busy).
  static func describe(group node: String, cdevs: [String], in root: SystemRoot) -> String {
    guard !cdevs.isEmpty else { return describe(node, in: root) }
    let (holders, complete) = find(anyOf: [node] + cdevs, in: root)
    if holders.isEmpty {
      return complete
        ? "no process has \(node) or its devices' cdevs open now (it may have just exited)"
        : """
        run as root to see which process holds \(node) or a cdev of its devices \
        (fuser -v \(([node] + cdevs).joined(separator: " ")))
        """
    }
    return holders.map { holder, held in
      "\(held) is held by pid \(holder.pid)" + (holder.command.map { " (\($0))" } ?? "")
    }.joined(separator: "; ")
  }

  /// "held by pid 4242 (qemu-system-x86)", or how to find out.
  static func describe(_ node: String, in root: SystemRoot) -> String {
    let (holders, complete) = find(node, in: root)
    if holders.isEmpty {
      return complete
        ? "no process has \(node) open now (it may have just exited)"
        : "run as root to see which process holds \(node) (fuser -v \(node))"
    }
    let list = holders.map { holder in
      "pid \(holder.pid)" + (holder.command.map { " (\($0))" } ?? "")
    }.joined(separator: ", ")
    return "\(node) is held by \(list)"
  }
}
