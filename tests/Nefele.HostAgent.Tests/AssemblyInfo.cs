[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Each test starts its own hostd and real processes; on a 2-core machine running them one
// class at a time keeps handshake timings far from their limits.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
