// hiodctl fuzzing — AMDExtendedFeatures.parseSysfsFeatures(_:): the text of
// /sys/class/iommu/ivhdN/amd-iommu/features ("%llx" or "%llx:%llx"), and every reading's
// decoded fields. Checks the value count, that the kernel's format of the values parses back,
// the interpretations and their resolution, and the fields' own invariants.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = text(data, size)
  guard let features = AMDExtendedFeatures.parseSysfsFeatures(input) else { return 0 }
  let values = features.values
  require(values.count == 1 || values.count == 2, "\(values.count) values")
  require(features.orderKnown == (values.count == 1), "orderKnown \(features.orderKnown) for \(values.count) values")

  let printed = values.map { String($0, radix: 16) }.joined(separator: ":") + "\n"
  require(
    AMDExtendedFeatures.parseSysfsFeatures(printed) == features, "\(printed.debugDescription) does not parse back")

  let readings = features.interpretations
  require(!readings.isEmpty && readings.count <= values.count, "\(readings.count) readings of \(values.count) values")
  require(Set(readings).count == readings.count, "a reading is listed twice")
  require(readings[0].efr == values[0], "the first reading does not take the first value as EFR")
  if values.count == 1 {
    require(features.unambiguous == readings[0] && readings[0].efr2 == nil, "the EFR-only form is not unambiguous")
  }
  for reading in readings {
    let resolved = features.resolved(knownEFR: reading.efr)
    let matching = readings.filter { $0.efr == reading.efr }
    require(resolved == (matching.count == 1 ? reading : nil), "resolved(knownEFR: \(reading.efr.hex64)) is wrong")

    let fields = reading.fields
    let efrFields = fields.filter { $0.name.hasPrefix("EFR.") }
    let efr2Fields = fields.filter { $0.name.hasPrefix("EFR2.") }
    require(efrFields.count + efr2Fields.count == fields.count, "a field belongs to neither EFR nor EFR2")
    require((reading.efr2 == nil) == efr2Fields.isEmpty, "EFR2 fields without EFR2, or none with it")
    let covered = checkFields(efrFields, of: reading.efr, width: 64, register: "EFR")
    require(reading.undecodedEFRBits == reading.efr & ~covered, "undecodedEFRBits is not EFR minus the fields")
    if let efr2 = reading.efr2 {
      let covered2 = checkFields(efr2Fields, of: efr2, width: 64, register: "EFR2")
      require(reading.undecodedEFR2Bits == efr2 & ~covered2, "undecodedEFR2Bits is not EFR2 minus the fields")
    }
    require(reading.maxPASIDs > 0, "maxPASIDs \(reading.maxPASIDs)")
  }
  return 0
}
