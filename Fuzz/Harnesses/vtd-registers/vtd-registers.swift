// hiodctl fuzzing — VTdCapability(sysfsText:) and VTdExtendedCapability(sysfsText:): the
// text of /sys/class/iommu/dmarN/intel-iommu/{cap,ecap} ("%llx"), and the decoded fields.
// Checks that the kernel's format of the value parses back, the fields' own invariants, and
// the derived numbers' ranges.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = text(data, size)
  let cap = VTdCapability(sysfsText: input)
  let ecap = VTdExtendedCapability(sysfsText: input)
  require((cap == nil) == (ecap == nil), "cap and ecap read the same text differently")
  guard let cap, let ecap else { return 0 }
  let raw = cap.raw
  require(ecap.raw == raw, "cap and ecap read different values")
  require(VTdCapability(sysfsText: String(raw, radix: 16) + "\n")?.raw == raw, "\(raw.hex64) does not parse back")

  let capCovered = checkFields(cap.fields, of: raw, width: 64, register: "CAP")
  require(cap.undecodedBits == raw & ~capCovered, "CAP undecodedBits is not the register minus the fields")
  require((1...64).contains(cap.mgaw), "MGAW \(cap.mgaw)")
  require(
    cap.supportedAddressWidths.allSatisfy { (30...64).contains($0) }, "SAGAW widths \(cap.supportedAddressWidths)")
  require(cap.numberOfDomains >= 16 && cap.numberOfDomains <= 1 << 18, "ND \(cap.numberOfDomains)")
  require(cap.numberOfFaultRecordingRegisters >= 1, "NFR \(cap.numberOfFaultRecordingRegisters)")

  let ecapCovered = checkFields(ecap.fields, of: raw, width: 64, register: "ECAP")
  require(ecap.undecodedBits == raw & ~ecapCovered, "ECAP undecodedBits is not the register minus the fields")
  require((1...32).contains(ecap.pasidWidth), "PASID width \(ecap.pasidWidth)")
  require(!ecap.registersAllowNesting || ecap.scalableMode, "nesting without scalable mode")
  return 0
}
