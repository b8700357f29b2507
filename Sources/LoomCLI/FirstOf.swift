import Synchronization

/// Resumes a continuation with the first value given, once; later ones are ignored.
final class FirstOf<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    init(_ c: CheckedContinuation<T, Never>) { continuation = Mutex(c) }

    /// Whether this value was the first.
    @discardableResult
    func take(_ value: T) -> Bool {
        let c = continuation.withLock { c in
            defer { c = nil }
            return c
        }
        c?.resume(returning: value)
        return c != nil
    }
}

/// A flag set once: `set()` is true for the first call only.
final class OnceFlag: Sendable {
    private let isSet = Mutex(false)

    func set() -> Bool {
        isSet.withLock { isSet in
            defer { isSet = true }
            return !isSet
        }
    }
}
