// hiodctl — the one door to the kernel's VFIO and iommufd ABI.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import SystemPackage

/// open, ioctl and close: everything the HostIOMMUDevice backends do to the kernel.
///
/// `LinuxKernel` makes the real calls; unit tests substitute a scripted kernel to reach
/// the error paths the VM rig cannot produce (a looped capability chain, a kernel that
/// keeps growing its answer). Every real behaviour is tested on the rig.
protocol KernelInterface: Sendable {
  /// `open(2)` with `O_CLOEXEC` added.
  func open(_ path: String, flags: Int32) -> Result<Int32, Errno>
  /// `close(2)`. Errors are ignored: the descriptor is gone either way, and retrying a
  /// close after EINTR could close a descriptor another thread just got.
  func close(_ descriptor: Int32)
  /// `ioctl(2)` whose argument is a pointer to a uapi struct or buffer.
  func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Result<Int32, Errno>
  /// `ioctl(2)` whose argument is an integer passed by value (or unused).
  func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32) -> Result<Int32, Errno>
  /// Whether `path` is a character device (a captured fixture tree has plain files).
  func isCharacterDevice(_ path: String) -> Result<Bool, Errno>
}

/// The real kernel.
struct LinuxKernel: KernelInterface {
  func open(_ path: String, flags: Int32) -> Result<Int32, Errno> {
    retryingOnInterrupt { Glibc.open(path, flags | O_CLOEXEC) }
  }

  func close(_ descriptor: Int32) {
    _ = Glibc.close(descriptor)
  }

  func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Result<Int32, Errno> {
    // SAFETY: `argument` points at a struct of the size the request's uapi defines (the
    // callers allocate hiod_uapi.h structs or buffers sized by their argsz/size field).
    retryingOnInterrupt { Glibc.ioctl(descriptor, request, argument) }
  }

  func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32) -> Result<Int32, Errno> {
    retryingOnInterrupt { Glibc.ioctl(descriptor, request, value) }
  }

  func isCharacterDevice(_ path: String) -> Result<Bool, Errno> {
    var status = stat()
    guard stat(path, &status) == 0 else { return .failure(Errno(rawValue: errno)) }
    return .success(status.st_mode & S_IFMT == S_IFCHR)
  }

  /// Runs a syscall, retrying on EINTR, and captures errno right after it fails.
  private func retryingOnInterrupt(_ call: () -> Int32) -> Result<Int32, Errno> {
    while true {
      let result = call()
      if result >= 0 { return .success(result) }
      let error = Errno(rawValue: errno)
      if error != .interrupted { return .failure(error) }
    }
  }
}

/// An open VFIO or iommufd descriptor, closed exactly once when its owner is done.
///
/// Handed out only inside `withDescriptor` scopes, so nesting the scopes fixes the close
/// order: the inner descriptor (a device cdev) closes before the outer one (its iommufd).
struct KernelDescriptor: ~Copyable {
  let raw: Int32
  /// The host path, for messages.
  let path: String
  private let kernel: any KernelInterface

  init(raw: Int32, path: String, kernel: any KernelInterface) {
    self.raw = raw
    self.path = path
    self.kernel = kernel
  }

  deinit {
    kernel.close(raw)
  }
}

extension KernelInterface {
  /// Opens `path` read-write, runs `body` with the descriptor, and closes it whatever
  /// `body` does. `hostPath` is the path people know (`/dev/vfio/2`); `path` is where it
  /// is under --sysroot.
  func withDescriptor<Result>(
    _ path: String, hostPath: String, flags: Int32 = O_RDWR,
    onFailure: (Errno) -> RealizeFailure,
    _ body: (borrowing KernelDescriptor) throws(RealizeFailure) -> Result
  ) throws(RealizeFailure) -> Result {
    let raw: Int32
    switch open(path, flags: flags) {
    case .success(let descriptor): raw = descriptor
    case .failure(let errno): throw onFailure(errno)
    }
    let descriptor = KernelDescriptor(raw: raw, path: hostPath, kernel: self)
    return try body(descriptor)
    // `descriptor` ends here, on return and on throw: deinit closes it.
  }
}
