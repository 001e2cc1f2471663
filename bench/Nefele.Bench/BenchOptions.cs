using Nefele.Client;

namespace Nefele.Bench;

internal sealed record BenchOptions(int GatewayPort, string NativeDir, int N, string Out)
{
    /// <summary>Spawns before measuring, so the node's code paths are compiled and its caches warm (steady state).</summary>
    public int Warmup { get; init; } = 300;

    public static BenchOptions Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != "spawn")
        {
            throw new ArgumentException("usage: nefele-bench spawn --gateway-port P --native DIR [--n 200] [--out FILE]");
        }

        int gateway = NefeleDefaults.GatewayPort, n = 200;
        string native = "native/build", output = "bench/results/spawn.json";
        for (var i = 1; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--gateway-port": gateway = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--native": native = value; break;
                case "--n": n = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--out": output = value; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        if (n < 1)
        {
            throw new ArgumentException("--n must be at least 1");
        }

        return new BenchOptions(gateway, native, n, output);
    }
}
