using System.Linq.Expressions;
using System.Reflection;
using LlmAdapt.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Cli.Tests.DependencyInjection;

/// <summary>
/// Every public <c>Add…</c> extension of every LlmAdapt package, found by reflection (so a new one is covered without
/// editing this test), called twice with the same arguments must leave the service collection as one call left it.
/// The only descriptors a second call may add are the caller's own configure callbacks (<see cref="IConfigureOptions{TOptions}"/>),
/// which, like <c>services.Configure</c>, run in order.
/// </summary>
public sealed class EveryAddExtensionTests
{
    public static TheoryData<string> AddMethods()
    {
        var data = new TheoryData<string>();
        foreach (var method in Discover())
        {
            data.Add(Describe(method));
        }

        return data;
    }

    [Fact]
    public void Discovery_FindsTheExtensionsOfEveryPackage()
    {
        var found = Discover().Select(m => m.DeclaringType!.Assembly.GetName().Name).Distinct().ToList();
        Assert.Contains("LlmAdapt", found);
        Assert.Contains("LlmAdapt.Onnx", found);
        Assert.Contains("LlmAdapt.Training", found);
        Assert.True(Discover().Count >= 15, $"only {Discover().Count} Add… extensions found");
    }

    [Theory]
    [MemberData(nameof(AddMethods))]
    public void CalledTwice_RegistersNothingTwice(string method)
    {
        var target = Discover().Single(m => Describe(m) == method);
        var services = new ServiceCollection();
        var (arguments, passedConfigure) = Arguments(target, services);
        target.Invoke(null, arguments);
        var once = Snapshot(services);

        target.Invoke(null, arguments);
        var twice = Snapshot(services);

        var added = twice.ToList();
        foreach (var entry in once)
        {
            Assert.True(added.Remove(entry), $"{method}: the second call removed or changed {entry}");
        }

        var unexpected = added.Where(a => !(passedConfigure && a.StartsWith("IConfigureOptions`1", StringComparison.Ordinal))).ToList();
        Assert.True(unexpected.Count == 0, $"{method} registered again: {string.Join("; ", unexpected)}");
    }

    private static List<MethodInfo> Discover()
    {
        var directory = AppContext.BaseDirectory;
        var assemblies = Directory.EnumerateFiles(directory, "LlmAdapt*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n is not null && !n.EndsWith(".Tests", StringComparison.Ordinal) && n != "LlmAdapt.Cli" && n != "LlmAdapt.SampleHost")
            .Select(n => Assembly.Load(n!));
        return [.. assemblies
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t.IsAbstract && t.IsSealed)
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name.StartsWith("Add", StringComparison.Ordinal) && m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute), false))
            .Where(m => m.GetParameters()[0].ParameterType is var p && (p == typeof(IServiceCollection) || p == typeof(LlmAdaptBuilder)))
            .Where(m => !m.IsGenericMethodDefinition)
            .OrderBy(Describe, StringComparer.Ordinal)];
    }

    private static string Describe(MethodInfo m)
        => $"{m.DeclaringType!.Name}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})";

    // The arguments both calls get: the collection or a builder from AddLlmAdapt, "x" for names and paths, an empty
    // configuration, defaults for optional parameters and one do-nothing delegate for each required one; and whether a
    // configure callback is among them.
    private static (object?[] Arguments, bool PassedDelegate) Arguments(MethodInfo method, IServiceCollection services)
    {
        var passedDelegate = false;
        var builder = services.AddLlmAdapt();
        var arguments = method.GetParameters().Select((p, i) =>
        {
            if (i == 0)
            {
                return p.ParameterType == typeof(IServiceCollection) ? services : (object)builder;
            }

            if (p.HasDefaultValue)
            {
                return p.DefaultValue;
            }

            if (p.ParameterType == typeof(string))
            {
                return "x";
            }

            if (p.ParameterType == typeof(IConfiguration))
            {
                return new ConfigurationBuilder().Build();
            }

            if (typeof(Delegate).IsAssignableFrom(p.ParameterType))
            {
                passedDelegate = true;
                return DoNothing(p.ParameterType);
            }

            throw new InvalidOperationException($"{Describe(method)}: no test value for a {p.ParameterType} parameter; teach {nameof(EveryAddExtensionTests)} one.");
        }).ToArray();
        return (arguments, passedDelegate);
    }

    private static Delegate DoNothing(Type delegateType)
    {
        var invoke = delegateType.GetMethod("Invoke")!;
        var parameters = invoke.GetParameters().Select(p => Expression.Parameter(p.ParameterType, p.Name)).ToArray();
        Expression body = invoke.ReturnType == typeof(void) ? Expression.Empty() : Expression.Default(invoke.ReturnType);
        return Expression.Lambda(delegateType, body, parameters).Compile();
    }

    private static List<string> Snapshot(IServiceCollection services)
        => [.. services.Select(d =>
            $"{d.ServiceType.Name}<{string.Join(",", d.ServiceType.GenericTypeArguments.Select(a => a.Name))}> key={d.ServiceKey} {d.Lifetime} " +
            $"{(d.IsKeyedService ? d.KeyedImplementationType : d.ImplementationType)?.Name}" +
            $"{(d.IsKeyedService ? d.KeyedImplementationInstance : d.ImplementationInstance)?.GetType().Name}" +
            $"{((d.IsKeyedService ? d.KeyedImplementationFactory is null : d.ImplementationFactory is null) ? string.Empty : " factory")}")];
}
