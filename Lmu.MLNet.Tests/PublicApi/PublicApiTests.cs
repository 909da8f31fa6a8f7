using System.Reflection;
using System.Text;

namespace Lmu.MLNet.Tests.PublicApi;

/// <summary>
/// The library's public surface, one line per public type and member, compared with the committed baseline
/// (Lmu.MLNet.txt beside this file), so a change to it shows up in review as a change to that file. After an
/// intended change, run the tests with LMU_UPDATE_PUBLIC_API=1 and commit the rewritten baseline.
/// </summary>
[TestClass]
public sealed class PublicApiTests
{
    [TestMethod]
    public void ThePublicSurfaceMatchesTheBaseline()
    {
        var actual = Describe(typeof(Lmu.MLNet.Training.AdamOptimizer).Assembly);
        var baseline = Path.Combine(SourceFolder(), "Lmu.MLNet.txt");
        if (Environment.GetEnvironmentVariable("LMU_UPDATE_PUBLIC_API") == "1")
        {
            File.WriteAllText(baseline, actual);
            Assert.Inconclusive($"Baseline rewritten: {baseline}");
        }

        Assert.IsTrue(File.Exists(baseline), $"No baseline at {baseline}: run once with LMU_UPDATE_PUBLIC_API=1.");
        var expected = File.ReadAllText(baseline).Replace("\r\n", "\n", StringComparison.Ordinal);
        if (expected == actual) return;
        var expectedLines = expected.Split('\n').ToHashSet(StringComparer.Ordinal);
        var actualLines = actual.Split('\n').ToHashSet(StringComparer.Ordinal);
        var added = actualLines.Except(expectedLines).Select(l => "+ " + l);
        var removed = expectedLines.Except(actualLines).Select(l => "- " + l);
        Assert.Fail("The public API changed (if intended, rerun with LMU_UPDATE_PUBLIC_API=1 and commit the baseline):\n" + string.Join("\n", removed.Concat(added).Take(80)));
    }

    /// <summary>Sorted lines: each public type, then its public (and protected) members with their signatures.</summary>
    internal static string Describe(Assembly assembly)
    {
        const BindingFlags Flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes())
        {
            var name = Name(type);
            lines.Add($"{Kind(type)} {name}{Bases(type)}");
            foreach (var member in type.GetMembers(Flags))
            {
                if (Visible(member) && Line(member) is { } line) lines.Add($"{name}::{line}");
            }
        }

        lines.Sort(StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var line in lines) text.Append(line).Append('\n');
        return text.ToString();
    }

    private static bool Visible(MemberInfo m) => m switch
    {
        MethodBase b => (b.IsPublic || b.IsFamily || b.IsFamilyOrAssembly) && !(b is MethodInfo { IsSpecialName: true } mi && (mi.Name.StartsWith("get_", StringComparison.Ordinal) || mi.Name.StartsWith("set_", StringComparison.Ordinal) || mi.Name.StartsWith("add_", StringComparison.Ordinal) || mi.Name.StartsWith("remove_", StringComparison.Ordinal))),
        FieldInfo f => f.IsPublic || f.IsFamily,
        PropertyInfo p => p.GetAccessors(true).Any(a => a.IsPublic || a.IsFamily),
        EventInfo e => e.AddMethod is { } a && (a.IsPublic || a.IsFamily),
        _ => false,
    };

    private static string? Line(MemberInfo m) => m switch
    {
        ConstructorInfo c => $".ctor({Parameters(c)})",
        MethodInfo mi => $"{(mi.IsStatic ? "static " : "")}{mi.Name}{(mi.IsGenericMethod ? "<" + string.Join(",", mi.GetGenericArguments().Select(Name)) + ">" : "")}({Parameters(mi)}) -> {Name(mi.ReturnType)}",
        PropertyInfo p => $"{p.Name} : {Name(p.PropertyType)} {{{(p.GetMethod is { } g && (g.IsPublic || g.IsFamily) ? " get;" : "")}{(p.SetMethod is { } s && (s.IsPublic || s.IsFamily) ? (s.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.Name == "IsExternalInit") ? " init;" : " set;") : "")} }}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}{f.Name} : {Name(f.FieldType)}{(f.IsLiteral ? " = " + f.GetRawConstantValue() : "")}",
        EventInfo e => $"event {e.Name} : {Name(e.EventHandlerType!)}",
        _ => null,
    };

    private static string Parameters(MethodBase m) =>
        string.Join(", ", m.GetParameters().Select(p => $"{(p.IsOut ? "out " : p.ParameterType.IsByRef ? "ref " : "")}{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Kind(Type t) => t.IsInterface ? "interface" : t.IsEnum ? "enum" : t.IsValueType ? "struct" : t.IsSubclassOf(typeof(Delegate)) ? "delegate" : t.IsAbstract && t.IsSealed ? "static class" : t.IsAbstract ? "abstract class" : t.IsSealed ? "sealed class" : "class";

    private static string Bases(Type t)
    {
        var bases = new List<string>();
        if (t.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum)) bases.Add(Name(b));
        bases.AddRange(t.GetInterfaces().Select(Name).Order(StringComparer.Ordinal));
        return bases.Count == 0 ? "" : " : " + string.Join(", ", bases);
    }

    private static string Name(Type t)
    {
        if (t.IsByRef) return Name(t.GetElementType()!);
        if (t.IsArray) return Name(t.GetElementType()!) + "[" + new string(',', t.GetArrayRank() - 1) + "]";
        if (t.IsGenericParameter) return t.Name;
        var name = (t.IsNested ? Name(t.DeclaringType!) + "." : t.Namespace + ".") + (t.Name.IndexOf('`', StringComparison.Ordinal) is var tick and >= 0 ? t.Name[..tick] : t.Name);
        if (Nullable.GetUnderlyingType(t) is { } u) return Name(u) + "?";
        return t.IsGenericType ? name + "<" + string.Join(",", t.GetGenericArguments().Select(Name)) + ">" : name;
    }

    private static string SourceFolder([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
