using System.ComponentModel.DataAnnotations;
using Nefele.Client;

namespace Nefele.Placement;

/// <summary>Settings of admission and placement (section "Placement").</summary>
public sealed class PlacementOptions
{
    public const string Section = "Placement";

    /// <summary>How long a reservation holds resources before it must be committed. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReservationLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most tasks one request may ask for. Default and most: <see cref="Validation.Limits.MaxTasksPerRequest"/> (10,000).</summary>
    [Range(1, Validation.Limits.MaxTasksPerRequest)]
    public int MaxTasksPerRequest { get; set; } = Validation.Limits.MaxTasksPerRequest;

    /// <summary>How many nodes admission asks for offers (power of d choices). Default 4.</summary>
    [Range(1, 1024)]
    public int SampleSize { get; set; } = 4;

    /// <summary>
    /// Most nodes one request may ask for offers when <c>spread</c> needs more than
    /// <see cref="SampleSize"/> (d grows to twice the number of tasks, up to this). Default 64.
    /// </summary>
    [Range(1, 4096)]
    public int MaxSampleSize { get; set; } = 64;

    /// <summary>How long a silo keeps its copy of the node directory (labels, devices, hollow nodes). Default 3 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DirectoryCacheTtl { get; set; } = TimeSpan.FromSeconds(3);
}
