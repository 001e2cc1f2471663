using Nefele.Client;

namespace Nefele.Images;

/// <summary>
/// Admission's part of images: a spec naming an image is pinned to the digest its tag points at,
/// and takes from the image's config what it leaves empty. Before anything is reserved, so an
/// unknown image changes nothing.
/// </summary>
public static class ImageSpecs
{
    /// <summary>The specs as they will run; those without an image are returned as they are.</summary>
    public static IReadOnlyList<ProcessSpec> Resolve(ImageStore store, string tenant, IReadOnlyList<ProcessSpec> tasks)
    {
        if (!tasks.Any(t => t.Image is not null))
        {
            return tasks;
        }

        var resolved = new Dictionary<string, ImageInfo>(StringComparer.Ordinal);
        var result = new ProcessSpec[tasks.Count];
        for (var i = 0; i < tasks.Count; i++)
        {
            var spec = tasks[i];
            if (spec.Image is not { } image)
            {
                result[i] = spec;
                continue;
            }

            var reference = ImageReference.Parse(image);
            if (!resolved.TryGetValue(image, out var info))
            {
                info = store.Resolve(tenant, reference);
                resolved[image] = info;
            }

            result[i] = Apply(spec, reference.Pinned(info.Digest), info.Config);
        }

        return result;
    }

    /// <summary><paramref name="spec"/> pinned to <paramref name="pinned"/>, with what it leaves empty from <paramref name="config"/>.</summary>
    public static ProcessSpec Apply(ProcessSpec spec, ImageReference pinned, ImageConfig config)
    {
        var path = spec.Path;
        var args = spec.Args;
        if (path.Length == 0)
        {
            if (config.Cmd.Count == 0)
            {
                throw NefeleException.Bad($"spawn rejected: image {pinned.Name}:{pinned.Tag} has no command: give the program to run");
            }

            path = config.Cmd[0];
            args = args.Count > 0 ? args : [.. config.Cmd.Skip(1)];
        }

        var env = spec.Env;
        if (config.Env.Count > 0)
        {
            var merged = new Dictionary<string, string>(config.Env, StringComparer.Ordinal);
            foreach (var (key, value) in spec.Env)
            {
                merged[key] = value;
            }

            env = merged;
        }

        return spec with
        {
            Path = path,
            Args = args,
            Env = env,
            Cwd = spec.Cwd ?? config.WorkingDir,
            Image = pinned.ToString(),
        };
    }
}
