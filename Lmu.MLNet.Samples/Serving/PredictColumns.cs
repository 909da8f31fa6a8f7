using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The columns <c>predict</c> feeds a model: the ones read from each CSV line (vectors, then an optional sequence
/// length), and defaults for input columns the model asks for but does not score with, such as the text label of the
/// README's <c>MapValueToKey("Label")</c> pipeline (an empty label maps to the missing key). Any other column the model
/// needs is an error naming it. Bound to <see cref="ServingInput"/>'s slots, so rows stream through one SchemaDefinition.
/// </summary>
internal sealed class PredictColumns
{
    private readonly Dictionary<char, int> _used = [];
    private readonly List<(string Column, DataViewType Type, string Member)> _bound = [];

    /// <summary>What each CSV line holds, in order.</summary>
    public List<CsvField> Fields { get; } = [];

    /// <summary>Single columns filled with NaN on every row (a numeric label only a MapValueToKey reads).</summary>
    public List<string> NaNMembers { get; } = [];

    /// <summary>Names of the columns given a default, for the log.</summary>
    public List<string> Defaulted { get; } = [];

    /// <summary>A vector read from <paramref name="width"/> CSV values.</summary>
    public void AddVector(string column, int width)
    {
        var member = Slot('V');
        Fields.Add(new CsvField(column, width, member, IsLength: false));
        _bound.Add((column, new VectorDataViewType(NumberDataViewType.Single, width), member));
    }

    /// <summary>The sequence length, read from one CSV value (checked by <see cref="CsvRowReader"/> as a whole number from 1 to T).</summary>
    public void AddLength(string column, DataViewType type)
    {
        var member = Slot(Prefix(type) ?? throw new InvalidDataException($"Length column '{column}' is {type}; expected Single, Int32, UInt32 or Int64."));
        Fields.Add(new CsvField(column, 1, member, IsLength: true) { LengthType = type });
        _bound.Add((column, type, member));
    }

    /// <summary>
    /// Gives a default to every column of <paramref name="schema"/> that <paramref name="model"/> needs and no CSV field
    /// supplies, or stops with a message when the column feeds the scores.
    /// </summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="schema">Its saved input schema.</param>
    /// <param name="reads">What predict reads, for the message.</param>
    /// <param name="option">The option that names more columns to read (a forecaster's --covariates), or null when there is none.</param>
    public void AddDefaults(ITransformer model, DataViewSchema schema, string reads, string? option = null)
    {
        var supplied = Fields.Select(f => f.Column).ToHashSet(StringComparer.Ordinal);
        var unread = ModelInputs.Required(model, schema).Where(c => !supplied.Contains(c)).ToArray();
        var refused = unread.Where(c => !OnlyKeyed(model, schema, c) || Prefix(schema[c].Type) is null).ToArray();
        if (refused.Length > 0)
        {
            throw new InvalidDataException(
                $"The model also needs the input column(s) {string.Join(", ", refused.Select(c => $"'{c}' ({schema[c].Type})"))}, which predict does not read " +
                $"(it reads {reads}) and cannot fill in, because the scores depend on them. " +
                // The option that reads them, where there is one (found by QA: the message never mentioned --covariates).
                (option is null || !refused.All(c => schema[c].Type is VectorDataViewType)
                    ? "Score this model from code, or with serve."
                    : $"Name the columns the CSV holds after the window with {option}, in their order (missing here: {string.Join(", ", refused)})."));
        }

        foreach (var column in unread)
        {
            var type = schema[column].Type;
            var member = Slot(Prefix(type)!.Value);
            _bound.Add((column, type, member));
            Defaulted.Add(column);
            if (member[0] == 'S')
            {
                NaNMembers.Add(member);
            }
        }
    }

    /// <summary>The SchemaDefinition binding <see cref="ServingInput"/>'s used slots to the model's columns.</summary>
    public SchemaDefinition Definition()
    {
        var definition = SchemaDefinition.Create(typeof(ServingInput));
        var byMember = _bound.ToDictionary(b => b.Member);
        definition.RemoveAll(c => !byMember.ContainsKey(c.MemberName));
        foreach (var c in definition)
        {
            (c.ColumnName, c.ColumnType, _) = byMember[c.MemberName];
        }

        return definition;
    }

    /// <summary>
    /// True when every transformer reading <paramref name="name"/>'s input values is a MapValueToKey and nothing after
    /// it reads the key it makes: then no output depends on the value and a default changes no score.
    /// </summary>
    private static bool OnlyKeyed(ITransformer model, DataViewSchema input, string name)
    {
        var transformers = TransformerElements.Of(model).ToList();
        var schemas = new List<DataViewSchema> { input };
        foreach (var t in transformers)
        {
            schemas.Add(t.GetOutputSchema(schemas[^1]));
        }

        var readers = 0;
        for (var i = 0; i < transformers.Count; i++)
        {
            // Past a transformer that replaced the column, the name no longer holds the input's values.
            if (schemas[i].GetColumnOrNull(name) is not { IsHidden: false } here || here.Type != input[name].Type || !ModelInputs.Needs(transformers[i], schemas[i], name))
            {
                continue;
            }

            if (transformers[i] is not ValueToKeyMappingTransformer)
            {
                return false;
            }

            readers++;
            var made = schemas[i + 1].Where(c => !c.IsHidden && !(schemas[i].GetColumnOrNull(c.Name) is { IsHidden: false } before && before.Type == c.Type)).ToArray();
            for (var j = i + 1; j < transformers.Count; j++)
            {
                if (made.Any(m => schemas[j].GetColumnOrNull(m.Name) is { IsHidden: false } && ModelInputs.Needs(transformers[j], schemas[j], m.Name)))
                {
                    return false;
                }
            }
        }

        return readers > 0;
    }

    private static char? Prefix(DataViewType type) => type switch
    {
        TextDataViewType => 'T',
        NumberDataViewType n when n.RawType == typeof(float) => 'S',
        NumberDataViewType n when n.RawType == typeof(int) => 'I',
        NumberDataViewType n when n.RawType == typeof(uint) => 'U',
        NumberDataViewType n when n.RawType == typeof(long) => 'L',
        _ => null,
    };

    private string Slot(char prefix)
    {
        var index = _used.GetValueOrDefault(prefix);
        if (index >= ServingSlots.Slots)
        {
            throw new NotSupportedException($"predict carries at most {ServingSlots.Slots} input columns of one kind.");
        }

        _used[prefix] = index + 1;
        return $"{prefix}{index}";
    }
}

/// <summary>One input column read from each CSV line.</summary>
/// <param name="Column">The model's column name.</param>
/// <param name="Width">CSV values it takes (1 for a length).</param>
/// <param name="Member">The <see cref="ServingInput"/> slot it is bound to.</param>
/// <param name="IsLength">A sequence length (one whole number) rather than a vector of floats.</param>
internal sealed record CsvField(string Column, int Width, string Member, bool IsLength)
{
    /// <summary>The length column's type (lengths only).</summary>
    public DataViewType? LengthType { get; init; }
}
