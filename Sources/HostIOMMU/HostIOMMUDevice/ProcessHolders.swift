// hiodctl — who holds a VFIO node open (the running QEMU behind an EBUSY).
// SPDX-License-Identifier: GPL-2.0-or-later

/// A process with a descriptor open on a node.
public struct NodeHolder: Hashable, Sendable {
  public var pid: Int
  /// `/proc/<pid>/comm`.
  public var command: String?

  public init(pid: Int, command: String?) {
    self.pid = pid
    self.command = command
  }
}

enum ProcessHolders {
  /// The processes whose `/proc/<pid>/fd/*` point at `node`. `complete` is false when
  /// some processes' descriptors could not be read (another user's, without root).
  static func find(_ node: String, in root: SystemRoot) -> (holders: [NodeHolder], complete: Bool) {
    guard case .success(let entries) = root.directoryEntries("/proc") else { return ([], false) }
    var holders: [NodeHolder] = []
    var complete = true
    for entry in entries {
      guard let pid = Int(entry) else { continue }
      guard case .success(let descriptors) = root.directoryEntries("/proc/\(pid)/fd") else {
        complete = false
        continue
      }
      for descriptor in descriptors {
        if case .success(node) = root.readLink("/proc/\(pid)/fd/\(descriptor)") {
          let command = root.readText("/proc/\(pid)/comm").ok.map { String($0.trimmingWhitespace()) }
          holders.append(NodeHolder(pid: pid, command: command))
          break
        }
      }
    }
    return (holders.sorted { $0.pid < $1.pid }, complete)
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
