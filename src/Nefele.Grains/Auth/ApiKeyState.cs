using Nefele.Client;

namespace Nefele.Auth;

[GenerateSerializer]
public sealed class ApiKeyState
{
    [Id(0)] public ApiKeyRecord? Record { get; set; }
}
