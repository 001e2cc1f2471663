// hostd drives Linux primitives (fork/exec, cgroups, SO_PEERCRED) and runs nowhere else.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
