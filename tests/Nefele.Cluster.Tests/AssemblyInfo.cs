// One real cluster (three nodes, each in its own network namespace) serves every test, and
// some tests damage a node; they run one at a time, in the order ClusterTests declares.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

// Processes run as unprivileged uids: the tests set file modes (Linux only, as is everything here).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
