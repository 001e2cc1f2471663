using Nefele.Client;
using Nefele.Protocol.V1;
using ProtoEntry = Nefele.Protocol.V1.NameEntry;
using ProtoHolder = Nefele.Protocol.V1.NameHolder;

namespace Nefele.Naming;

/// <summary>A tenant's tables as the control channel carries them to hostd.</summary>
public static class NameTableProto
{
    public static NameTableUpdate ToProto(NameTable table)
    {
        var update = new NameTableUpdate { Tenant = table.Tenant, Version = table.Version };
        update.Names.AddRange(table.Names.Select(ToProto));
        update.Topics.AddRange(table.Topics.Select(ToProto));
        return update;
    }

    public static ProtoEntry ToProto(Client.NameEntry entry)
    {
        var proto = new ProtoEntry { Name = entry.Name };
        proto.Holders.AddRange(entry.Holders.Select(h => new ProtoHolder { Npid = h.Npid, Node = h.Node ?? string.Empty }));
        return proto;
    }

    public static Client.NameEntry FromProto(ProtoEntry entry) => new()
    {
        Name = entry.Name,
        Holders = entry.Holders.Select(h => new Client.NameHolder { Npid = h.Npid, Node = h.Node.Length == 0 ? null : h.Node }).ToArray(),
    };
}
