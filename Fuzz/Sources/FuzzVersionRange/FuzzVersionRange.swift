// Fuzz target `version-range`: text -> VersionRange, CapabilityRef and SemanticVersion parsing,
// and matching. The first line is a range (also tried as `name@MAJOR RANGE`); each further line is
// a version, matched against it. Invariants that hold for every input are checked too: a version
// prints as text that parses back to it, a range's text parses to the same comparators, and `<`
// is a strict order consistent with `==`.
import LoomCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let first = lines.first else { return 0 }
    let range = try? VersionRange(first)
    if let range {
        let again = try? VersionRange(range.text)
        precondition(again?.comparators == range.comparators, "a range's text does not parse to the same range")
        _ = range.comparators.map(\.description)
    }
    if let capability = try? CapabilityRef(first) { _ = capability.description }
    if let capability = try? CapabilityRef("fuzz@1 " + first) { _ = capability.description }
    var versions: [SemanticVersion] = []
    for line in lines {
        guard let v = SemanticVersion(line) else { continue }
        precondition(SemanticVersion(v.description) == v, "a version's text does not parse back to it")
        versions.append(v)
        if let range {
            _ = range.contains(v)
            for c in range.comparators { _ = c.admits(v) }
        }
        _ = CapabilityRef(name: "fuzz", major: v.major, range: range ?? .any).isSatisfied(by: v)
    }
    for a in versions {
        precondition(!(a < a), "a version is less than itself")
        for b in versions {
            let lt = a < b, gt = b < a
            precondition(!(lt && gt), "two versions are each less than the other")
            precondition(lt || gt || a == b, "\(a) and \(b) are neither ordered nor equal")
        }
    }
    _ = versions.sorted()
    return 0
}
