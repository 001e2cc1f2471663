using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>What the image commands share: the image routes (REST only).</summary>
internal static class ImageContext
{
    public static IImageTransport Images(this CommandContext context, string verb) =>
        context.Transport as IImageTransport
            ?? throw new UsageException($"{verb}: not available inside a Nefele process (hostd's socket has no image calls); run it from outside with an API key");
}
