namespace Nefele.Silo.Api;

/// <summary>Answer of GET /healthz once this node's hostd is attached.</summary>
public sealed record Health(string Node, string Status);
