namespace Nefele.HostAgent;

/// <summary>hostd cannot start as configured; the message names the setting and what to do.</summary>
public sealed class HostAgentStartupException(string message) : Exception(message);
