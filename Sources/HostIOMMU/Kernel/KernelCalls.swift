// hiodctl — typed ioctl calls on owned descriptors, and ordered teardown.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

extension KernelInterface {
  /// An ioctl whose argument is the uapi struct `argument`, passed by pointer.
  func call<Argument>(
    _ descriptor: borrowing KernelDescriptor, _ request: Int, _ argument: inout Argument
  ) -> Result<Int32, Errno> {
    let raw = descriptor.raw
    return withUnsafeMutableBytes(of: &argument) { bytes in
      // SAFETY: `bytes` spans exactly the struct the request expects and outlives the call.
      ioctl(raw, UInt(request), bytes.baseAddress!)
    }
  }

  /// An ioctl whose argument is an integer passed by value (or none).
  func call(_ descriptor: borrowing KernelDescriptor, _ request: Int, value: Int32 = 0) -> Result<Int32, Errno> {
    ioctl(descriptor.raw, UInt(request), value: value)
  }
}

/// Undo actions for kernel state hiodctl created (an attached container, an IOAS),
/// run in reverse order exactly once, whether the realize succeeded or failed.
struct Teardown {
  private var steps: [(name: String, undo: () -> Result<Int32, Errno>)] = []

  mutating func push(_ name: String, _ undo: @escaping () -> Result<Int32, Errno>) {
    steps.append((name, undo))
  }

  /// Runs every undo step, newest first, and returns the ones that failed. A failure is
  /// reported but does not stop the others: closing the descriptors afterwards makes the
  /// kernel release what is left.
  mutating func run() -> [String] {
    var problems: [String] = []
    while let step = steps.popLast() {
      if case .failure(let errno) = step.undo() {
        problems.append("teardown: \(step.name) failed: \(errno.symbol) (\(errno.description))")
      }
    }
    return problems
  }
}
