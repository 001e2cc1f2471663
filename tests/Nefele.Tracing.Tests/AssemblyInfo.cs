// One node and one receiver for the whole run; the tests share them one after the other.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

// Processes run as unprivileged uids (Linux only, as is everything here).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
