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

    /// The same queue as a task executor (see ``NodeTaskExecutor``).
    func taskExecutor() -> NodeTaskExecutor { NodeTaskExecutor(node: self, queue: queue) }

    func checkIsolated() {
        dispatchPrecondition(condition: .onQueue(queue))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}

/// The node's queue as a task executor: code that mostly talks to one node (a loop feeding it
/// asks, a connection from the hub) runs with `withTaskExecutorPreference(node.taskExecutor)`
/// on the node's own queue, so its asks enter the node with no thread hop either way.
///
/// Its jobs run isolated to the node's serial executor: they are on the node's queue, so nothing
/// else of the node runs meanwhile, and a call into the node's actor goes straight in. Such code
/// holds the node while it runs: it should await the node, not compute at length.
public final class NodeTaskExecutor: TaskExecutor, Sendable {
    private let node: NodeExecutor
    private let queue: DispatchQueue

    init(node: NodeExecutor, queue: DispatchQueue) {
        self.node = node
        self.queue = queue
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let serial = node.asUnownedSerialExecutor(), task = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(isolatedTo: serial, taskExecutor: task) }
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}
