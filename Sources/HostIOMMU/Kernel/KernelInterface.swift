// hiodctl — the one door to the kernel's VFIO and iommufd ABI.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc  // O_RDWR
import SystemPackage

/// open and ioctl: everything the HostIOMMUDevice backends do to the kernel.
///
/// `LinuxKernel` makes the real calls; unit tests substitute a scripted kernel to reach
/// the error paths the VM rig cannot produce (a looped capability chain, a kernel that
/// keeps growing its answer). Every real behaviour is tested on the rig.
///
/// Each requirement is one attempt: EINTR comes back to the caller. The wrappers the
/// backends use (`withDescriptor`, `call`, KernelCalls.swift) retry it, in
/// `Syscall.retryingOnInterrupt`, above this seam, so that the scripted kernel can
/// interrupt a call and see it made again.
protocol KernelInterface: Sendable {
  /// `open(2)` with `O_CLOEXEC` added; the descriptor closes when its owner ends.
  func attemptOpen(_ path: String, flags: Int32) throws(Errno) -> OwnedDescriptor
  /// `ioctl(2)` whose argument is a pointer to a uapi struct or buffer.
  func attemptIoctl(_ descriptor: borrowing OwnedDescriptor, _ request: UInt, _ argument: UnsafeMutableRawPointer)
    throws(Errno) -> Int32
  /// `ioctl(2)` whose argument is an integer passed by value (or unused).
  func attemptIoctl(_ descriptor: borrowing OwnedDescriptor, _ request: UInt, value: Int32) throws(Errno) -> Int32
  /// Whether `path` is a character device (a captured fixture tree has plain files).
  func isCharacterDevice(_ path: String) -> Result<Bool, Errno>
  /// The host page size, `sysconf(_SC_PAGESIZE)`: QEMU's `qemu_real_host_page_size()`,
  /// its page-size fallback in both backends.
  var hostPageSize: Int { get }
}

/// The real kernel.
struct LinuxKernel: KernelInterface {
  func attemptOpen(_ path: String, flags: Int32) throws(Errno) -> OwnedDescriptor {
    try Syscall.open(path, flags, retryOnInterrupt: false)
  }

  func attemptIoctl(_ descriptor: borrowing OwnedDescriptor, _ request: UInt, _ argument: UnsafeMutableRawPointer)
    throws(Errno) -> Int32
  {
    // SAFETY: `argument` points at a struct of the size the request's uapi defines (the
    // callers pass hiod_uapi.h structs, or buffers sized by their argsz/size field).
    try Syscall.ioctl(descriptor, request, argument, retryOnInterrupt: false)
  }

  func attemptIoctl(_ descriptor: borrowing OwnedDescriptor, _ request: UInt, value: Int32) throws(Errno) -> Int32 {
    try Syscall.ioctl(descriptor, request, value: value, retryOnInterrupt: false)
  }

  func isCharacterDevice(_ path: String) -> Result<Bool, Errno> {
    Result { () throws(Errno) -> Bool in try Syscall.fileType(path) == .characterDevice }
  }

  var hostPageSize: Int { Syscall.pageSize }
}

/// An open VFIO or iommufd descriptor, closed exactly once when its owner is done.
///
/// Handed out only inside `withDescriptor` scopes, so nesting the scopes fixes the close
/// order: the inner descriptor (a device cdev) closes before the outer one (its iommufd).
struct KernelDescriptor: ~Copyable {
  let owned: OwnedDescriptor
  /// The host path, for messages.
  let path: String

  /// The descriptor's number, for the ABI fields that carry one: the `iommufd` of
  /// `VFIO_DEVICE_BIND_IOMMUFD` and the container of `VFIO_GROUP_SET_CONTAINER`.
  var numberForKernel: Int32 { owned.rawValue }
}

extension KernelInterface {
  /// Opens `path` read-write, runs `body` with the descriptor, and closes it whatever
  /// `body` does. `hostPath` is the path people know (`/dev/vfio/2`); `path` is where it
  /// is under --sysroot. An open interrupted by a signal is made again.
  func withDescriptor<Result>(
    _ path: String, hostPath: String, flags: Int32 = O_RDWR,
    onFailure: (Errno) -> RealizeFailure,
    _ body: (borrowing KernelDescriptor) throws(RealizeFailure) -> Result
  ) throws(RealizeFailure) -> Result {
    let owned: OwnedDescriptor
    do {
      owned = try Syscall.retryingOnInterrupt { () throws(Errno) -> OwnedDescriptor in
        try attemptOpen(path, flags: flags)
      }
    } catch {
      throw onFailure(error)
    }
    let descriptor = KernelDescriptor(owned: owned, path: hostPath)
    return try body(descriptor)
    // `descriptor` ends here, on return and on throw: its owner closes it.
  }
}
