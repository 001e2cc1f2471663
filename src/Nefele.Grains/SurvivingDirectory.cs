namespace Nefele;

/// <summary>
/// The grain directory of the grains whose memory must outlive another silo's death: Orleans'
/// strongly consistent distributed directory, which rebuilds a dead silo's share of the directory
/// from the activations the live silos hold. The default directory instead deactivates every
/// activation whose entry was on the dead silo, wherever it runs: an external mailbox came back
/// empty when any other node died. Orleans marks this directory experimental; the grains that need
/// it name it, the others keep the default.
/// </summary>
public static class SurvivingDirectory
{
    /// <summary>The directory's name, for <c>[GrainDirectory(SurvivingDirectory.Name)]</c>.</summary>
    public const string Name = "nefele-surviving";
}
