using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet;

/// <summary>
/// Builds <see cref="SchemaShape.Column"/> values for GetOutputSchema. Their constructor is internal in ML.NET 5.0.1
/// (persistence.md), so it is called by reflection; the shape is what ML.NET's own estimators report.
/// </summary>
internal static class SchemaShapes
{
    private static readonly ConstructorInfo ColumnConstructor = typeof(SchemaShape.Column)
        .GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
        .Single(c => c.GetParameters().Length == 5);

    private static readonly MethodInfo CreateMethod = typeof(SchemaShape)
        .GetMethod("Create", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public, [typeof(DataViewSchema)])!;

    /// <summary>The shape of a schema, as ML.NET's internal SchemaShape.Create gives it.</summary>
    public static SchemaShape FromSchema(DataViewSchema schema) => (SchemaShape)CreateMethod.Invoke(null, [schema])!;

    /// <summary>A column shape.</summary>
    public static SchemaShape.Column Column(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, params SchemaShape.Column[] annotations) =>
        (SchemaShape.Column)ColumnConstructor.Invoke([name, kind, itemType, isKey, new SchemaShape(annotations)]);

    /// <summary>The text-vector annotation column (SlotNames or KeyValues).</summary>
    public static SchemaShape.Column TextAnnotation(string kind) =>
        Column(kind, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false);

    /// <summary><paramref name="input"/> with <paramref name="added"/> replacing or appending same-named columns.</summary>
    public static SchemaShape With(SchemaShape input, params SchemaShape.Column[] added)
    {
        var names = added.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(added));
    }
}
