// One node in a network namespace of its own serves every test here; packing and building an app
// beside the other tests would only add noise on 2 cores.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

// Network namespaces, cgroups and signals: Linux only, as is everything here.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
