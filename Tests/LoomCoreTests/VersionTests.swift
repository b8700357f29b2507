import LoomCore
import Testing

@Suite("Versions and capabilities")
struct VersionTests {
    @Test("semantic versions parse strictly and order as the specification says")
    func ordering() throws {
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
                       "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "2.0.0"]
        let versions = try ordered.map { try #require(SemanticVersion($0)) }
        for i in 1..<versions.count { #expect(versions[i - 1] < versions[i], "\(ordered[i - 1]) < \(ordered[i])") }
        #expect(SemanticVersion("1.0.0+build.5") == SemanticVersion("1.0.0"))
        for bad in ["1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "a.b.c", "1.2.3.4", "", "1.2.-3"] {
            #expect(SemanticVersion(bad) == nil, "\(bad) should not parse")
        }
    }

    @Test("ranges: exact, comparators, caret, tilde, partial, any", arguments: [
        ("1.2.3", ["1.2.3"], ["1.2.4", "1.2.2"]),
        ("=1.2.3", ["1.2.3"], ["1.2.4"]),
        (">=1.2 <2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0"]),
        ("^1.2", ["1.2.0", "1.99.0"], ["1.1.0", "2.0.0"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
        ("~1.2", ["1.2.0", "1.2.7"], ["1.3.0"]),
        ("1.2", ["1.2.0", "1.2.5"], ["1.3.0"]),
        ("*", ["0.0.1", "9.9.9"], ["1.0.0-beta"]),
        (">1.2", ["1.3.0"], ["1.2.9"]),
        ("<=1.2", ["1.2.9"], ["1.3.0"]),
        (">=1.2.0-beta.1 <2", ["1.2.0-beta.2", "1.2.0", "1.5.0"], ["1.2.0-alpha", "1.3.0-alpha"]),
    ])
    func ranges(range: String, inside: [String], outside: [String]) throws {
        let r = try VersionRange(range)
        for v in inside { #expect(r.contains(try #require(SemanticVersion(v))), "\(v) in \(range)") }
        for v in outside { #expect(!r.contains(try #require(SemanticVersion(v))), "\(v) not in \(range)") }
    }

    @Test("prereleases do not satisfy a range unless named")
    func prereleaseRule() throws {
        #expect(!(try VersionRange(">=1.0")).contains(SemanticVersion("2.0.0-rc.1")!))
        #expect(!(try VersionRange("^1.0.0")).contains(SemanticVersion("1.5.0-beta")!))
        #expect((try VersionRange("^1.5.0-beta")).contains(SemanticVersion("1.5.0-beta.2")!))
    }

    @Test("bad ranges explain themselves")
    func badRanges() {
        #expect(throws: VersionError.badRange(">=", "'>=' needs a version after it")) { try VersionRange(">=") }
        #expect(throws: VersionError.self) { try VersionRange("^x.y") }
        #expect(throws: VersionError.self) { try VersionRange("1.2.3.4") }
    }

    @Test("capability references: name@MAJOR with an optional range")
    func capabilityRefs() throws {
        let r = try CapabilityRef("text.scan@1 >=1.1")
        #expect(r.name == "text.scan")
        #expect(r.major == 1)
        #expect(r.key == "text.scan@1")
        #expect(r.isSatisfied(by: SemanticVersion(1, 4, 0)))
        #expect(!r.isSatisfied(by: SemanticVersion(1, 0, 5)))
        #expect(!r.isSatisfied(by: SemanticVersion(2, 1, 0)))
        #expect(try CapabilityRef("search@2").description == "search@2")
        do {
            _ = try CapabilityRef("search")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("name@MAJOR"))
        }
        #expect(throws: CapabilityError.self) { try CapabilityRef("Search@1") }
        #expect(throws: CapabilityError.self) { try CapabilityRef("search@one") }
        #expect(throws: CapabilityError.self) { try CapabilityRef("search@1 >=banana") }
    }

    static let max = Int.max
    static let top = "\(Int.max)"

    @Test("ranges whose upper bound is past Int.max admit what they should instead of overflowing", arguments: [
        ("^\(top)", ["\(top).0.0", "\(top).\(top).\(top)"], ["\(max - 1).9.9"]),
        ("^\(top).1", ["\(top).1.0", "\(top).\(top).0"], ["\(top).0.9"]),
        ("^0.\(top)", ["0.\(top).0", "0.\(top).\(top)"], ["1.0.0", "0.\(max - 1).0"]),
        ("^0.0.\(top)", ["0.0.\(top)"], ["0.1.0", "0.0.\(max - 1)"]),
        ("~\(top)", ["\(top).5.0"], ["\(max - 1).0.0"]),
        ("~1.\(top)", ["1.\(top).\(top)"], ["2.0.0"]),
        ("\(top)", ["\(top).0.0", "\(top).\(top).1"], ["1.0.0"]),
        ("1.\(top)", ["1.\(top).7"], ["2.0.0", "1.0.0"]),
        ("<=\(top)", ["\(top).\(top).\(top)", "0.0.0"], []),
        ("<=1.\(top)", ["1.\(top).\(top)"], ["2.0.0"]),
        (">\(top)", [], ["\(top).\(top).\(top)", "1.0.0"]),
        (">1.\(top)", ["2.0.0"], ["1.\(top).\(top)"]),
        ("=\(top)", ["\(top).1.1"], ["1.0.0"]),
    ])
    func rangesAtIntMax(range: String, inside: [String], outside: [String]) throws {
        let r = try VersionRange(range)
        for v in inside { #expect(r.contains(try #require(SemanticVersion(v))), "\(v) in \(range)") }
        for v in outside { #expect(!r.contains(try #require(SemanticVersion(v))), "\(v) not in \(range)") }
    }

    @Test("numbers past Int.max are refused as too large, in versions, ranges and capabilities")
    func numbersPastIntMax() {
        let huge = "9223372036854775808"
        #expect(SemanticVersion("\(huge).0.0") == nil)
        #expect(VersionError.badVersion("1.\(huge).0").description.contains("larger than"))
        #expect(VersionError.badVersion("1.x.0").description.contains("MAJOR.MINOR.PATCH"))
        do {
            _ = try VersionRange("^\(huge)")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("too large"))
        }
        #expect(throws: CapabilityError.self) { try CapabilityRef("search@\(huge)") }
        #expect(throws: CapabilityError.self) { try CapabilityRef("search@1 ^\(huge)") }
    }

    @Test("numeric prerelease identifiers of any length order as numbers")
    func hugePrerelease() throws {
        let a = try #require(SemanticVersion("1.0.0-99999999999999999999"))
        let b = try #require(SemanticVersion("1.0.0-100000000000000000000"))
        let c = try #require(SemanticVersion("1.0.0-alpha"))
        #expect(a < b)
        #expect(!(b < a))
        #expect(b < c)
        #expect(SemanticVersion(1, 0, 0, prerelease: ["2"]) < SemanticVersion(1, 0, 0, prerelease: ["10"]))
    }
}
