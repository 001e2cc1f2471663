namespace Nefele.Silo.Api;

/// <summary>Body of POST …/processes/{npid}/signal.</summary>
public sealed record SignalBody(int Signal);
