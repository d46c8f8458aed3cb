// hiodctl — a value type's fields kept behind one reference, copied only when written.
// SPDX-License-Identifier: GPL-2.0-or-later

/// `Value` in a heap box shared by every copy until one of them writes (copy on write,
/// as the standard library's Array and String do).
///
/// For value types with many reference-counted fields that are copied far more often
/// than written: the checks copy each finding a dozen times on its way into a report,
/// and a copy of the plain struct retained each of its strings and arrays. Boxed, a copy
/// is one retain (8% of `export`'s instructions on a host with 4096 functions).
struct CopyOnWrite<Value: Hashable & Sendable>: Hashable, Sendable {
  /// @unchecked: `value` is written only through `CopyOnWrite.value`'s accessor, which
  /// first makes the box unique to the writer (`isKnownUniquelyReferenced`), so no box
  /// another thread can see is ever written.
  private final class Box: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
  }

  private var box: Box

  init(_ value: Value) { box = Box(value) }

  var value: Value {
    get { box.value }
    _modify {
      if !isKnownUniquelyReferenced(&box) { box = Box(box.value) }
      yield &box.value
    }
  }

  static func == (lhs: Self, rhs: Self) -> Bool { lhs.box === rhs.box || lhs.box.value == rhs.box.value }

  func hash(into hasher: inout Hasher) { box.value.hash(into: &hasher) }
}
