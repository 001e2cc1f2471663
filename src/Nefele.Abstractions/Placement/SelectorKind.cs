using Nefele.Client;

namespace Nefele.Placement;

public enum SelectorKind
{
    Npid,
    Name,
    Label,
}
