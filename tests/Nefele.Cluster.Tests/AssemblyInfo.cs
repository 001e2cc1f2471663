// One real cluster (three nodes, each in its own network namespace) serves every test, and
// some tests damage a node; they run one at a time, each from a restored cluster, in any order.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

// Network namespaces, cgroups and Unix file modes: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
