namespace Nefele.Silo.Api;

/// <summary>Body of POST …/supervisors/{name}/resize: the pool's new size.</summary>
public sealed record ResizeBody(int Size);
