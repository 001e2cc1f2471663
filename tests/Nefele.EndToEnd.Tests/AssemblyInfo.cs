// Nodes are real processes with real cgroups; running test classes in parallel on 2 cores
// only adds noise. Each class gets its own node.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
