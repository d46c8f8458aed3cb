// hiodctl fuzzing — PCIAddress.init?(_:): BDFs from argv, sysfs names and snapshots.
// Checks the value's ranges, that its canonical name parses back to it, and that an input
// already in canonical form is its own name.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = text(data, size)
  guard let address = PCIAddress(input) else { return 0 }
  require(
    address.device < 32 && address.function < 8 && address.domain <= 0x7fff_ffff,
    "\(input.debugDescription) gave out-of-range \(address.domain) \(address.bus) \(address.device) \(address.function)"
  )
  let name = address.description
  require(PCIAddress(name) == address, "\(name) does not parse back to itself")
  require(PCIAddress(Substring(name)) == address, "\(name) as a Substring parses differently")
  // Lower-case, the kernel's zero padding: the input was already the canonical name.
  let isCanonical =
    input.utf8.allSatisfy { !(0x41...0x46).contains($0) } && input.split(separator: ":").count == 3
    && input.split(separator: ":")[0].count == max(4, String(address.domain, radix: 16).count)
  if isCanonical {
    require(name == input, "canonical \(input.debugDescription) prints as \(name)")
  }
  return 0
}
