[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// One systemd serves every test and runs its jobs one after another: one class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
