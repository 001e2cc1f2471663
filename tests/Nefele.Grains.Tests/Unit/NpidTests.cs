using Nefele.Client;
using Nefele.Grains.Tests.Support;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

public class NpidTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Ids_made_within_one_millisecond_are_unique_well_formed_and_increasing()
    {
        var generator = new NpidGenerator(7, new FrozenTimeProvider(Now));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? previous = null;
        for (var i = 0; i < 100_000; i++)
        {
            var id = generator.Next();
            Assert.Equal(Npid.Length, id.Length);
            Assert.Equal(13, id.Length);
            Assert.True(Npid.IsWellFormed(id), id);
            Assert.True(seen.Add(id), $"duplicate {id} at {i}");
            if (previous is not null)
            {
                Assert.True(string.CompareOrdinal(previous, id) < 0, $"{previous} then {id}");
            }

            previous = id;
        }
    }

    [Fact]
    public void Ids_keep_increasing_when_the_clock_steps_back()
    {
        var clock = new FrozenTimeProvider(Now);
        var generator = new NpidGenerator(1, clock);
        var before = generator.Next();
        clock.Set(Now - TimeSpan.FromSeconds(5));
        var after = generator.Next();
        Assert.True(string.CompareOrdinal(before, after) < 0, $"{before} then {after}");
    }

    [Fact]
    public void Ids_follow_the_clock_forward()
    {
        var clock = new FrozenTimeProvider(Now);
        var generator = new NpidGenerator(1, clock);
        var first = generator.Next();
        clock.Set(Now + TimeSpan.FromMilliseconds(1));
        var second = generator.Next();
        Assert.True(string.CompareOrdinal(first, second) < 0);
    }

    [Fact]
    public void Generators_with_different_ids_never_collide()
    {
        var clock = new FrozenTimeProvider(Now);
        var a = new NpidGenerator(1, clock);
        var b = new NpidGenerator(2, clock);
        var ids = Enumerable.Range(0, 10_000).SelectMany(_ => new[] { a.Next(), b.Next() }).ToArray();
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1024)]
    public void Generator_id_out_of_range_is_refused(int generator) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new NpidGenerator(generator, TimeProvider.System));

    [Fact]
    public void Encode_gives_thirteen_lowercase_characters()
    {
        Assert.Equal("0000000000000", Npid.Encode(0));
        Assert.Equal("fzzzzzzzzzzzz", Npid.Encode(ulong.MaxValue));
        Assert.True(Npid.IsWellFormed(Npid.Encode(ulong.MaxValue)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("000000000000")]
    [InlineData("00000000000000")]
    [InlineData("0000000000O00")]
    [InlineData("00000000000i0")]
    [InlineData("00000000000l0")]
    [InlineData("00000000000u0")]
    [InlineData("000000000000A")]
    [InlineData("000000000000-")]
    [InlineData("0000000000 00")]
    [InlineData("g000000000000")]
    [InlineData("z000000000000")]
    [InlineData("../../etc/pwd")]
    public void IsWellFormed_rejects_bad_shapes(string? text) =>
        Assert.False(Npid.IsWellFormed(text));

    [Theory]
    [InlineData("0000000000000")]
    [InlineData("0abcdefghjkmn")]
    [InlineData("fpqrstvwxyz12")]
    public void IsWellFormed_accepts_good_shapes(string text) =>
        Assert.True(Npid.IsWellFormed(text));
}
