import Dispatch

/// The executor of one node: a serial dispatch queue of its own.
///
/// Lua runs synchronously for up to its deadline. On the shared cooperative pool (two threads on a
/// two-core machine) two busy nodes would stall every other task of the process; on its own queue a
/// node only ever holds a dispatch worker thread, and the cooperative pool stays free. Nodes run in
/// parallel, one dispatch worker each, as many at once as the machine has cores.
///
/// The node's own work is posted straight onto the queue (``post(_:)``), not through a task: a
/// block costs one enqueue, where a task costs an allocation and a hop through the cooperative
/// pool. Such a block is on the node's executor, and enters the actor with `assumeIsolated`
/// (``checkIsolated()`` tells the runtime so).
final class NodeExecutor: SerialExecutor, Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    /// Runs `body` on the node's queue, after what is queued there now.
    func post(_ body: @escaping @Sendable () -> Void) {
        queue.async(execute: body)
    }

    /// A timer whose handler runs on the node's queue; made suspended (resume it after scheduling).
    func makeTimer() -> any DispatchSourceTimer {
        DispatchSource.makeTimerSource(queue: queue)
    }

    func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
