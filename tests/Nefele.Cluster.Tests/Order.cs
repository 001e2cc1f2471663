using Xunit.Abstractions;
using Xunit.Sdk;

namespace Nefele.Cluster.Tests;

/// <summary>Where a test runs among the cluster's tests: harmless ones first, then the ones that damage and restore a node.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OrderAttribute(int order) : Attribute
{
    public int Order { get; } = order;
}

/// <summary>Runs test cases by their <see cref="OrderAttribute"/>, then by name.</summary>
public sealed class ByOrder : ITestCaseOrderer
{
    public const string TypeName = "Nefele.Cluster.Tests.ByOrder";
    public const string Assembly = "Nefele.Cluster.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase =>
        testCases
            .OrderBy(t => t.TestMethod.Method.GetCustomAttributes(typeof(OrderAttribute).AssemblyQualifiedName)
                .Select(a => (int)a.GetConstructorArguments().First()).DefaultIfEmpty(int.MaxValue).First())
            .ThenBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal);
}
