// hiodctl — typed ioctl calls on owned descriptors, and ordered teardown.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

extension KernelInterface {
  /// An ioctl whose argument is the uapi struct `argument`, passed by pointer. A call
  /// interrupted by a signal is made again.
  func call<Argument>(
    _ descriptor: borrowing KernelDescriptor, _ request: Int, _ argument: inout Argument
  ) -> Result<Int32, Errno> {
    // SAFETY: `bytes` spans exactly the struct the request expects (a hiod_uapi.h struct,
    // whose size hiod_uapi.h asserts) and outlives the call.
    withUnsafeMutableBytes(of: &argument) { bytes in
      call(descriptor, request, buffer: bytes)
    }
  }

  /// An ioctl whose argument is a raw buffer the caller sized (a struct followed by the
  /// room its argsz announces, as VFIO_IOMMU_GET_INFO takes).
  func call(
    _ descriptor: borrowing KernelDescriptor, _ request: Int, buffer: UnsafeMutableRawBufferPointer
  ) -> Result<Int32, Errno> {
    Result { () throws(Errno) -> Int32 in
      try Syscall.retryingOnInterrupt { () throws(Errno) -> Int32 in
        // SAFETY: `buffer` is non-empty (the callers pass a struct or a buffer at least
        // its header long) and valid for the whole call.
        try attemptIoctl(descriptor.owned, UInt(request), buffer.baseAddress!)
      }
    }
  }

  /// An ioctl whose argument is an integer passed by value (or none).
  func call(_ descriptor: borrowing KernelDescriptor, _ request: Int, value: Int32 = 0) -> Result<Int32, Errno> {
    Result { () throws(Errno) -> Int32 in
      try Syscall.retryingOnInterrupt { () throws(Errno) -> Int32 in
        try attemptIoctl(descriptor.owned, UInt(request), value: value)
      }
    }
  }
}

/// Undo actions for kernel state hiodctl created (an attached container, an IOAS), run
/// in reverse order exactly once, whether the realize succeeded or failed.
///
/// A step is a value (`Step`, the backend's own enum), not a closure: the descriptors
/// it acts on are lent to `run`, so no descriptor number is kept outside its owner.
struct Teardown<Step> {
  private var steps: [(name: String, step: Step)] = []

  mutating func push(_ name: String, _ step: Step) {
    steps.append((name, step))
  }

  /// Runs every undo step, newest first, and returns the ones that failed. A failure is
  /// reported but does not stop the others: closing the descriptors afterwards makes the
  /// kernel release what is left.
  mutating func run(_ undo: (Step) -> Result<Int32, Errno>) -> [String] {
    var problems: [String] = []
    while let step = steps.popLast() {
      if case .failure(let errno) = undo(step.step) {
        problems.append("teardown: \(step.name) failed: \(errno.symbol) (\(errno.description))")
      }
    }
    return problems
  }
}
