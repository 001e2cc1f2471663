// Nodes are real processes with real cgroups; running test classes in parallel on 2 cores
// only adds noise. Each class gets its own node.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

// Processes run as unprivileged uids: the tests set file modes (Linux only, as is everything here).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
