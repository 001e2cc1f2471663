namespace Nefele.Tracing.Tests;

/// <summary>The test classes that share one node and one receiver (<see cref="TracingFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class OtlpCollection : ICollectionFixture<TracingFixture>
{
    public const string Name = "otlp";
}
